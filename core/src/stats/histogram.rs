//! A small fixed-size log-linear latency histogram, after HdrHistogram.
//!
//! Each power of two from 2^10 ns (about 1 µs) up to 2^37 ns (about 137 s) is cut into 16
//! equal sub-buckets: 27 octaves, 432 `u32` counters, 1.7 KiB, no allocation. Recording a value
//! is a `leading_zeros`, two shifts and an increment, with no floats. Values below 1.024 µs are
//! counted in the first bucket and values above the top in the last one.
//!
//! A bucket `[lo, lo + w)` in octave `[2^k, 2^(k+1))` has width `w = 2^k / 16`, and a quantile is
//! reported as the bucket's midpoint, so within the range the answer is off by at most
//! `(w / 2) / lo <= 1/32`, about 3.1% of the true sample. Quantiles use the nearest-rank
//! definition: `quantile(q)` is the bucket holding the `ceil(q * count)`-th smallest sample.

/// Sub-buckets per power of two, as a bit count (16 sub-buckets).
const SUB_BITS: u32 = 4;
/// The lowest octave: values below `2^MIN_EXP` ns land in the first bucket.
const MIN_EXP: u32 = 10;
/// One past the highest octave: values at or above `2^MAX_EXP` ns land in the last bucket.
const MAX_EXP: u32 = 37;
/// Number of buckets.
const BUCKETS: usize = ((MAX_EXP - MIN_EXP) << SUB_BITS) as usize;

/// Counts of latencies in nanoseconds, in log-linear buckets (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHistogram {
    counts: [u32; BUCKETS],
    total: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LogHistogram {
    /// An empty histogram.
    pub const fn new() -> Self {
        LogHistogram {
            counts: [0; BUCKETS],
            total: 0,
        }
    }

    /// Counts one value of `ns` nanoseconds. O(1), no floats.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let i = bucket_index(ns);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.total += 1;
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `q`-quantile in nanoseconds (the midpoint of the bucket holding the
    /// `ceil(q * count)`-th smallest value), or `None` when empty. `q` is clamped to `[0, 1]`
    /// (NaN counts as 0); `q = 0` gives the smallest value's bucket. O(buckets).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        let mut last = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            seen += u64::from(c);
            last = i;
            if seen >= rank {
                return Some(bucket_midpoint(i));
            }
        }
        // Only reachable if a bucket saturated at u32::MAX: answer with the highest bucket.
        Some(bucket_midpoint(last))
    }

    /// Adds every count of `other` to `self`, as if its values had been recorded here.
    pub fn merge(&mut self, other: &LogHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.counts = [0; BUCKETS];
        self.total = 0;
    }
}

/// The bucket of `ns`: octave from the position of the top bit, sub-bucket from the next four.
#[inline]
fn bucket_index(ns: u64) -> usize {
    let v = ns.clamp(1 << MIN_EXP, (1 << MAX_EXP) - 1);
    let k = 63 - v.leading_zeros(); // MIN_EXP <= k < MAX_EXP
    let sub = (v >> (k - SUB_BITS)) as usize - (1 << SUB_BITS);
    (((k - MIN_EXP) as usize) << SUB_BITS) + sub
}

/// The midpoint of bucket `i`, in nanoseconds.
fn bucket_midpoint(i: usize) -> u64 {
    let k = MIN_EXP + (i >> SUB_BITS) as u32;
    let sub = (i & ((1 << SUB_BITS) - 1)) as u64;
    let lo = ((1 << SUB_BITS) + sub) << (k - SUB_BITS);
    lo + (1 << (k - SUB_BITS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The documented bound on relative error, inside the covered range.
    const BOUND: f64 = 1.0 / 32.0;

    /// The nearest-rank quantile of sorted samples, the definition the histogram follows.
    fn exact(sorted: &[u64], q: f64) -> u64 {
        let n = sorted.len() as u64;
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        sorted[(rank - 1) as usize]
    }

    fn check_quantiles(samples: &mut [u64]) {
        let mut h = LogHistogram::new();
        for &s in samples.iter() {
            h.record(s);
        }
        samples.sort_unstable();
        for q in [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
            let want = exact(samples, q) as f64;
            let got = h.quantile(q).unwrap() as f64;
            let err = (got - want).abs() / want;
            assert!(err <= BOUND, "q={q}: got {got}, exact {want}, error {err}");
        }
    }

    #[test]
    fn quantiles_of_uniform_samples_are_within_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut samples: Vec<u64> = (0..100_000)
            .map(|_| rng.random_range(1_000_000..50_000_000))
            .collect();
        check_quantiles(&mut samples);
    }

    #[test]
    fn quantiles_of_exponential_samples_are_within_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        // Exponential with a 5 ms mean, shifted by 50 µs so every sample is in range.
        let mut samples: Vec<u64> = (0..100_000)
            .map(|_| {
                let u: f64 = rng.random();
                50_000 + (-(1.0 - u).ln() * 5e6) as u64
            })
            .collect();
        check_quantiles(&mut samples);
    }

    #[test]
    fn empty_histogram_has_no_quantiles() {
        let h = LogHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.quantile(0.0), None);
        assert!(h.is_empty());
        assert_eq!(h.count(), 0);
    }

    #[test]
    fn q_is_clamped_and_nan_is_the_minimum() {
        let mut h = LogHistogram::new();
        h.record(2_000);
        h.record(1_000_000);
        assert_eq!(h.quantile(-3.0), h.quantile(0.0));
        assert_eq!(h.quantile(7.0), h.quantile(1.0));
        assert_eq!(h.quantile(f64::NAN), h.quantile(0.0));
        assert!(h.quantile(0.0).unwrap() < 3_000);
        assert!(h.quantile(1.0).unwrap() > 900_000);
        // Exactly half the samples: the median is the lower one (nearest rank 1 of 2).
        assert!(h.quantile(0.5).unwrap() < 3_000);
        assert!(h.quantile(0.5000001).unwrap() > 900_000);
    }

    #[test]
    fn out_of_range_values_land_in_the_end_buckets() {
        let mut h = LogHistogram::new();
        h.record(0);
        h.record(1);
        assert_eq!(h.quantile(1.0), Some(bucket_midpoint(0)));
        assert_eq!(bucket_midpoint(0), 1024 + 32);
        h.clear();
        h.record(u64::MAX);
        let top = h.quantile(0.5).unwrap();
        assert_eq!(top, bucket_midpoint(BUCKETS - 1));
        assert!(top < 1 << MAX_EXP && top > (1 << MAX_EXP) - (1 << (MAX_EXP - 5)));
    }

    #[test]
    fn bucket_edges_are_exact() {
        // First and last value of a bucket share it; the next value starts the next bucket.
        assert_eq!(bucket_index(1023), 0);
        assert_eq!(bucket_index(1024), 0);
        assert_eq!(bucket_index(1024 + 63), 0);
        assert_eq!(bucket_index(1024 + 64), 1);
        assert_eq!(bucket_index(2047), 15);
        assert_eq!(bucket_index(2048), 16);
        assert_eq!(bucket_index((1 << 37) - 1), BUCKETS - 1);
        for i in 0..BUCKETS {
            assert_eq!(bucket_index(bucket_midpoint(i)), i);
        }
    }

    #[test]
    fn clear_forgets_everything() {
        let mut h = LogHistogram::new();
        for v in [5_000, 6_000, 7_000_000] {
            h.record(v);
        }
        h.clear();
        assert_eq!(h, LogHistogram::new());
    }

    proptest! {
        /// Every quantile of every in-range sample set is within the documented 1/32.
        #[test]
        fn quantile_error_is_bounded(
            mut samples in proptest::collection::vec(1024u64..(1 << 37), 1..200),
            q in 0.0f64..=1.0,
        ) {
            let mut h = LogHistogram::new();
            for &s in &samples {
                h.record(s);
            }
            samples.sort_unstable();
            let want = exact(&samples, q) as f64;
            let got = h.quantile(q).unwrap() as f64;
            prop_assert!((got - want).abs() / want <= BOUND, "got {} want {}", got, want);
        }

        /// Merging two histograms equals recording all their values in one.
        #[test]
        fn merge_equals_recording_all(
            a in proptest::collection::vec(any::<u64>(), 0..100),
            b in proptest::collection::vec(any::<u64>(), 0..100),
        ) {
            let (mut ha, mut hb, mut all) = (LogHistogram::new(), LogHistogram::new(), LogHistogram::new());
            for &v in &a { ha.record(v); all.record(v); }
            for &v in &b { hb.record(v); all.record(v); }
            ha.merge(&hb);
            prop_assert_eq!(ha.count(), (a.len() + b.len()) as u64);
            prop_assert_eq!(ha, all);
        }

        /// Quantiles never decrease as `q` grows.
        #[test]
        fn quantile_is_monotone(
            samples in proptest::collection::vec(any::<u64>(), 1..100),
            q1 in 0.0f64..=1.0,
            q2 in 0.0f64..=1.0,
        ) {
            let mut h = LogHistogram::new();
            for &s in &samples { h.record(s); }
            let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            prop_assert!(h.quantile(lo) <= h.quantile(hi));
        }
    }
}
