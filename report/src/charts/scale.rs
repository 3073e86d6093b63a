//! Value axes: linear or log10, with round tick values chosen here rather than by plotters.
//!
//! Log axes are drawn as a linear axis over `log10(value)`: every chart then has the same
//! coordinate type whatever the scale, and the ticks are ours (1-2-5 steps per decade), where
//! plotters' own log ticks vanish when the range holds no power of ten. Latencies are clamped to
//! [`FLOOR_MS`] before they reach a log axis, so zero (an idle bucket, a synthetic all-zero run)
//! sits on the floor of the chart instead of at minus infinity; a log axis always spans at least
//! one decade, so a flat series still gets labelled ticks.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// Smallest latency drawn, ms. Zero and non-finite latencies are drawn here.
pub(crate) const FLOOR_MS: f64 = 0.001;

/// A series whose largest value is at least this many times its smallest is drawn on a log axis.
const LOG_RATIO: f64 = 20.0;

/// `value` clamped to [`FLOOR_MS`]; non-finite values also map to the floor.
pub(crate) fn clamp_ms(value: f64) -> f64 {
    if value.is_finite() && value > FLOOR_MS {
        value
    } else {
        FLOOR_MS
    }
}

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Axis position = value; the axis starts at zero.
    Linear,
    /// Axis position = log10(value clamped to [`FLOOR_MS`]).
    Log,
}

impl Scale {
    /// Linear when the clamped values in `lo..=hi` are within a factor [`LOG_RATIO`] of each
    /// other, log otherwise.
    pub(crate) fn for_values(lo: f64, hi: f64) -> Scale {
        if clamp_ms(hi) / clamp_ms(lo) < LOG_RATIO {
            Scale::Linear
        } else {
            Scale::Log
        }
    }

    /// The axis position of `value`.
    pub(crate) fn position(self, value: f64) -> f64 {
        match self {
            Scale::Linear => value,
            Scale::Log => clamp_ms(value).log10(),
        }
    }

    /// The value at axis position `position`.
    pub(crate) fn value_at(self, position: f64) -> f64 {
        match self {
            Scale::Linear => position,
            Scale::Log => 10f64.powf(position),
        }
    }

    /// An axis showing the values `lo..=hi` (linear axes start at zero).
    pub(crate) fn axis(self, lo: f64, hi: f64) -> Axis {
        match self {
            Scale::Linear => linear_axis(hi),
            Scale::Log => log_axis(lo, hi),
        }
    }
}

/// An axis range and its ticks, in axis positions; also the plotters coordinate of that axis, so
/// the grid and labels land exactly on our ticks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    /// The drawn range.
    pub(crate) range: Range<f64>,
    /// Labelled ticks and bold grid lines.
    pub(crate) bold: Vec<f64>,
    /// Unlabelled light grid lines.
    pub(crate) light: Vec<f64>,
}

impl Axis {
    /// `count` categories at positions `0..count`, each half a unit wide on either side; every
    /// `label_every`-th category is labelled.
    pub(crate) fn categories(count: usize, label_every: usize) -> Axis {
        Axis {
            range: -0.5..count as f64 - 0.5,
            bold: (0..count)
                .step_by(label_every.max(1))
                .map(|i| i as f64)
                .collect(),
            light: Vec::new(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// A linear axis from zero to a round number at or above `hi`, with 4 to 10 round ticks.
pub(crate) fn linear_axis(hi: f64) -> Axis {
    stepped_axis(hi, 5.0)
}

/// A time axis from zero to a round number at or above `hi`, with finer steps than
/// [`linear_axis`] (7 to 16 ticks), so that a run fills the width: 31 s ends at 35, not 40.
pub(crate) fn time_axis(hi: f64) -> Axis {
    stepped_axis(hi, 8.0)
}

/// From zero to the first multiple of the 1-2-5 step at or above `hi / divisions` that is at
/// or above `hi`.
fn stepped_axis(hi: f64, divisions: f64) -> Axis {
    let hi = if hi.is_finite() && hi > 0.0 { hi } else { 1.0 };
    let step = round_step(hi / divisions);
    let count = (hi / step - 1e-9).ceil().max(1.0) as u32;
    let bold: Vec<f64> = (0..=count).map(|i| f64::from(i) * step).collect();
    let light = (0..count)
        .map(|i| (f64::from(i) + 0.5) * step)
        .collect::<Vec<_>>();
    Axis {
        range: 0.0..f64::from(count) * step,
        bold,
        light,
    }
}

/// The 1-2-5 step at or above `raw`.
fn round_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// A log10 axis around `lo..=hi` (clamped to the floor): padded a little, widened to at least
/// one decade, and with both ends snapped outwards to 1-2-5 values so that the top and bottom
/// are labelled. Ticks sit at 1, 2 and 5 times powers of ten (only powers of ten beyond four
/// decades).
fn log_axis(lo: f64, hi: f64) -> Axis {
    let (mut start, mut end) = (clamp_ms(lo).log10(), clamp_ms(hi).log10());
    if end < start {
        std::mem::swap(&mut start, &mut end);
    }
    let pad = (0.06 * (end - start)).max(0.03);
    (start, end) = (snap_down(start - pad), snap_up(end + pad));
    if end - start < 1.0 {
        let middle = (start + end) / 2.0;
        (start, end) = (snap_down(middle - 0.5), snap_up(middle + 0.5));
    }
    let decades = start.floor() as i32..=end.ceil() as i32;
    let ticks = |multipliers: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|exponent| multipliers.iter().map(move |m| log_of(*m, exponent)))
            .filter(|position| (start - 1e-9..=end + 1e-9).contains(position))
            .collect()
    };
    let many_decades = end - start > 4.0;
    let bold = if many_decades {
        ticks(&[1.0])
    } else {
        ticks(&NICE)
    };
    let light = if many_decades {
        ticks(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    } else {
        ticks(&[3.0, 4.0, 6.0, 7.0, 8.0, 9.0])
    };
    Axis {
        range: start..end,
        bold,
        light,
    }
}

/// The mantissas of round values on a log axis.
const NICE: [f64; 3] = [1.0, 2.0, 5.0];

/// `log10(multiplier * 10^exponent)`.
fn log_of(multiplier: f64, exponent: i32) -> f64 {
    multiplier.log10() + f64::from(exponent)
}

/// The largest log10 of a 1-2-5 value at or below `position`.
fn snap_down(position: f64) -> f64 {
    let exponent = position.floor() as i32;
    NICE.iter()
        .map(|m| log_of(*m, exponent))
        .filter(|candidate| *candidate <= position + 1e-9)
        .fold(f64::from(exponent), f64::max)
}

/// The smallest log10 of a 1-2-5 value at or above `position`.
fn snap_up(position: f64) -> f64 {
    let exponent = position.floor() as i32;
    NICE.iter()
        .map(|m| log_of(*m, exponent))
        .chain([f64::from(exponent + 1)])
        .filter(|candidate| *candidate >= position - 1e-9)
        .fold(f64::INFINITY, f64::min)
}

/// A tick label: up to 6 decimals, trailing zeros trimmed (`0.001`, `2.5`, `1000`).
pub(crate) fn format_number(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(scale: Scale, axis: &Axis) -> Vec<String> {
        axis.bold
            .iter()
            .map(|p| format_number(scale.value_at(*p)))
            .collect()
    }

    #[test]
    fn log_axis_over_a_narrow_range_still_has_labelled_ticks() {
        let axis = Scale::Log.axis(3.0, 4.0);
        assert!(axis.range.end - axis.range.start >= 1.0);
        assert!(labels(Scale::Log, &axis).contains(&"2".to_owned()));
        assert!(labels(Scale::Log, &axis).contains(&"5".to_owned()));
    }

    #[test]
    fn all_zero_latencies_sit_on_the_floor_of_a_finite_log_axis() {
        let axis = Scale::Log.axis(0.0, 0.0);
        assert!(axis.range.start.is_finite() && axis.range.end.is_finite());
        assert!(axis.range.contains(&Scale::Log.position(0.0)));
        assert!(labels(Scale::Log, &axis).contains(&"0.001".to_owned()));
    }

    #[test]
    fn log_axis_ends_on_labelled_round_values() {
        let axis = Scale::Log.axis(2.0, 40.0);
        assert_eq!(labels(Scale::Log, &axis), ["1", "2", "5", "10", "20", "50"]);
        assert_eq!(format_number(Scale::Log.value_at(axis.range.end)), "50");
    }

    #[test]
    fn wide_log_axes_label_powers_of_ten_only() {
        let axis = Scale::Log.axis(0.01, 10_000.0);
        assert_eq!(
            labels(Scale::Log, &axis),
            ["0.01", "0.1", "1", "10", "100", "1000", "10000"]
        );
    }

    #[test]
    fn linear_axis_starts_at_zero_and_ends_on_a_round_tick() {
        let axis = linear_axis(37.0);
        assert_eq!(axis.range, 0.0..40.0);
        assert_eq!(labels(Scale::Linear, &axis), ["0", "10", "20", "30", "40"]);
        let flat = linear_axis(0.0);
        assert!(flat.range.end > 0.0);
        // A 30 s run's last partial second ends at 31 s: the time axis stops at 35.
        let time = time_axis(31.0);
        assert_eq!(time.range, 0.0..35.0);
        assert_eq!(time_axis(600.0).range, 0.0..600.0);
        assert!(time_axis(f64::NAN).range.end > 0.0);
    }

    #[test]
    fn scale_is_log_only_for_wide_ranges() {
        assert_eq!(Scale::for_values(5.0, 50.0), Scale::Linear);
        assert_eq!(Scale::for_values(5.0, 500.0), Scale::Log);
        assert_eq!(Scale::for_values(0.0, 0.0), Scale::Linear);
    }
}
