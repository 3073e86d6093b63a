//! Fixed-decimal float serializers for the CSV columns.
//!
//! `f64`'s default formatting prints the shortest text that reads back to the same bits
//! (`0.30000000000000004`), which makes CSV files noisy and diffs between runs unreadable. Each
//! float column instead names its precision with `#[serde(serialize_with = "...")]`:
//!
//! | helper   | decimals | columns                                      |
//! |----------|----------|----------------------------------------------|
//! | `two`    | 2        | `throughput_rps`                             |
//! | `three`  | 3        | latencies (`*_ms`), `mean_in_flight`, `t_s`  |
//! | `six`    | 6        | `error_rate`, `share`                        |
//!
//! A non-finite value (NaN, ±inf) is written as `0`, with the decimals, so that every cell reads
//! back as a number: an empty cell or `NaN` would break the plain `f64` fields on the way back,
//! and a latency that cannot be computed (no requests) is best shown as no latency. Negative zero
//! (`-0.000`, also what a tiny negative value rounds to) is written as `0.000`.

use serde::Serializer;

/// Formats `value` with exactly `decimals` decimals, mapping non-finite values and negative zero
/// to zero.
pub(crate) fn fixed(value: f64, decimals: usize) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(magnitude) if magnitude.bytes().all(|b| b == b'0' || b == b'.') => {
            magnitude.to_owned()
        }
        _ => text,
    }
}

/// Serializes with 2 decimals.
pub(crate) fn two<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&fixed(*value, 2))
}

/// Serializes with 3 decimals.
pub(crate) fn three<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&fixed(*value, 3))
}

/// Serializes with 6 decimals.
pub(crate) fn six<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&fixed(*value, 6))
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn pads_and_rounds_to_the_requested_decimals() {
        assert_eq!(fixed(1.5, 3), "1.500");
        assert_eq!(fixed(0.1 + 0.2, 6), "0.300000");
        assert_eq!(fixed(1234.5678, 2), "1234.57");
        assert_eq!(fixed(-2.25, 3), "-2.250");
    }

    #[test]
    fn non_finite_values_are_written_as_zero() {
        assert_eq!(fixed(f64::NAN, 3), "0.000");
        assert_eq!(fixed(f64::INFINITY, 2), "0.00");
        assert_eq!(fixed(f64::NEG_INFINITY, 6), "0.000000");
    }

    #[test]
    fn negative_zero_is_written_without_a_sign() {
        assert_eq!(fixed(-0.0, 3), "0.000");
        assert_eq!(fixed(-0.0001, 3), "0.000");
    }
}
