//! A latency histogram with fixed buckets that records without a lock.
//!
//! prometheus-client's own `Histogram` keeps its buckets behind a mutex, taken on every
//! `observe`. The proxy records one observation per request into a worker's histogram from
//! every shard at once, and the live balancer is built so that no lock is shared by every
//! request, so this one is a row of atomics instead: one count per bucket (not cumulative, so
//! an observation touches one bucket) and the sum in nanoseconds. It implements
//! prometheus-client's `EncodeMetric`, so it registers and encodes like any other metric (the
//! encoder makes the buckets cumulative and adds `+Inf`).
//!
//! A scrape reads the atomics one by one while requests go on, so it may see an observation in
//! its bucket before its share of the sum; the count is the sum of the buckets read, so the
//! `+Inf` bucket always equals `_count`.

use lb_core::time::Duration;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the buckets, in seconds (`+Inf` is implicit).
pub const BUCKETS_S: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A handle to one histogram; clones share it.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram(Arc<Buckets>);

#[derive(Debug, Default)]
struct Buckets {
    /// Observations per bucket; index `BUCKETS_S.len()` is the `+Inf` overflow.
    counts: [AtomicU64; BUCKETS_S.len() + 1],
    /// Sum of the observations, nanoseconds.
    sum_ns: AtomicU64,
}

/// What a histogram held when read.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `(upper bound in seconds, observations in that bucket alone)`, ending with `+Inf`.
    pub buckets: [(f64, u64); BUCKETS_S.len() + 1],
    /// Sum of the observations, seconds.
    pub sum_s: f64,
    /// Number of observations.
    pub count: u64,
}

impl LatencyHistogram {
    /// Count one observation of `latency`: two relaxed atomic adds.
    #[inline]
    pub fn observe(&self, latency: Duration) {
        let s = latency.as_secs_f64();
        let i = BUCKETS_S.partition_point(|&bound| bound < s);
        self.0.counts[i].fetch_add(1, Ordering::Relaxed);
        self.0
            .sum_ns
            .fetch_add(latency.as_nanos(), Ordering::Relaxed);
    }

    /// The buckets, sum and count now.
    pub fn snapshot(&self) -> Snapshot {
        let mut buckets = [(f64::INFINITY, 0); BUCKETS_S.len() + 1];
        let mut count = 0;
        for (i, (bound, n)) in buckets.iter_mut().enumerate() {
            if let Some(&b) = BUCKETS_S.get(i) {
                *bound = b;
            }
            *n = self.0.counts[i].load(Ordering::Relaxed);
            count += *n;
        }
        Snapshot {
            buckets,
            sum_s: self.0.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            count,
        }
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let s = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(s.sum_s, s.count, &s.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_holds_them() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(500)); // <= 1 ms
        h.observe(Duration::from_millis(1)); // a bound is inclusive: still <= 1 ms
        h.observe(Duration::from_millis(20)); // <= 25 ms
        h.observe(Duration::from_secs(30)); // only +Inf
        let s = h.snapshot();
        let at = |bound: f64| s.buckets.iter().find(|b| b.0 == bound).map(|b| b.1);
        assert_eq!(at(0.001), Some(2));
        assert_eq!(at(0.0025), Some(0));
        assert_eq!(at(0.025), Some(1));
        assert_eq!(at(f64::INFINITY), Some(1));
        assert_eq!(s.count, 4);
        assert!((s.sum_s - 30.0215).abs() < 1e-9, "sum {}", s.sum_s);
        assert_eq!(s.buckets.len(), BUCKETS_S.len() + 1);
    }

    #[test]
    fn clones_share_one_histogram() {
        let a = LatencyHistogram::default();
        let b = a.clone();
        b.observe(Duration::from_millis(3));
        assert_eq!(a.snapshot().count, 1);
        assert_eq!(LatencyHistogram::default().snapshot().count, 0);
    }
}
