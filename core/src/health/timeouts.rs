//! Whose fault is a timeout: one worker's, or the pool's?
//!
//! An error answer (5xx) or a refused connection is the worker's own doing. A timeout is not
//! always: when the pool as a whole gets more work than it can serve, every worker's queue
//! grows and every worker times out, at about the same rate. Ejecting them for it only hands
//! their load to the others, which then time out too; that is how an overload turns into an
//! outage. Envoy's success-rate outlier detection answers the same question by comparing each
//! host's success rate with the pool's (mean minus `stdev_factor` standard deviations): a host
//! is an outlier relative to its peers, not in absolute terms.
//!
//! [`TimeoutShares`] does that comparison online, per response: it counts each worker's
//! responses and timeouts over the last 5 to 10 seconds (two 5-second buckets, rolled by
//! [`TimeoutShares::roll`] from the detector's tick), and a timeout *stands out* when the
//! worker's timeout rate over that span is above twice the median of the workers' rates. The
//! median is robust where Envoy's mean and deviation are not: a pool where four of ten workers
//! are too slow for their share (round robin over mixed hardware) has a median near zero, so
//! those four stand out and are ejected, while a mean-and-deviation test pulled up by the four
//! would excuse them all. A worker that hangs while the others answer stands out at once; seven
//! survivors all timing out, or half a pool timing out while the other half recovers, do not:
//! then it is the pool's load, not a worker. With fewer than 5 workers answering (Envoy's
//! minimum for its test) there is nobody to compare with, and timeouts count as before.
//! Recording is O(1); the test is O(workers log workers) and runs on timeouts only.

use crate::time::{Duration, Instant};

/// Length of one bucket: shares look back between one and two of these.
const BUCKET: Duration = Duration::from_secs(5);
/// A worker's timeout rate stands out above this many times the pool's median rate. The median,
/// not the mean and deviation, because several workers can be bad at once: with four of ten
/// timing out, the mean and deviation are pulled up by the four and nobody stands out, while
/// the median still says what a normal worker does.
const MEDIAN_FACTOR: f64 = 2.0;
/// With fewer workers answering than this there is no pool to compare with (Envoy's
/// `success_rate_minimum_hosts`): timeouts count.
const MIN_WORKERS: f64 = 5.0;

/// Responses and timeouts in one span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Count {
    responses: u64,
    timeouts: u64,
}

impl Count {
    fn add(&mut self, other: Count) {
        self.responses += other.responses;
        self.timeouts += other.timeouts;
    }
}

/// Per-worker timeout counts over the recent past, indexed by slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct TimeoutShares {
    /// (current bucket, previous bucket) per slot.
    slots: Vec<(Count, Count)>,
    bucket_start: Instant,
}

impl TimeoutShares {
    /// One response of the worker in `slot`, timed out or not.
    pub(super) fn record(&mut self, slot: usize, timed_out: bool) {
        if slot >= self.slots.len() {
            self.slots.resize(slot + 1, Default::default());
        }
        let c = Count {
            responses: 1,
            timeouts: u64::from(timed_out),
        };
        self.slots[slot].0.add(c);
    }

    /// Whether `slot`'s timeouts stand out from the rest of the pool's (see the module docs).
    /// O(workers): only timeouts ask.
    pub(super) fn stands_out(&self, slot: usize) -> bool {
        let rate = |(cur, prev): (Count, Count)| {
            let n = cur.responses + prev.responses;
            (n > 0).then(|| (cur.timeouts + prev.timeouts) as f64 / n as f64)
        };
        let Some(mine) = self.slots.get(slot).copied().and_then(rate) else {
            return true;
        };
        let mut rates: Vec<f64> = self.slots.iter().copied().filter_map(rate).collect();
        if (rates.len() as f64) < MIN_WORKERS {
            return true;
        }
        rates.sort_by(f64::total_cmp);
        let n = rates.len();
        let median = if n % 2 == 1 {
            rates[n / 2]
        } else {
            (rates[n / 2 - 1] + rates[n / 2]) / 2.0
        };
        mine > MEDIAN_FACTOR * median
    }

    /// Forget `slot`'s counts (its worker left, or a new one took the slot).
    pub(super) fn clear(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Default::default();
        }
    }

    /// Start a new bucket when the current one is `BUCKET` old at `now` (both are cleared when
    /// two buckets have passed). O(workers), once per bucket.
    pub(super) fn roll(&mut self, now: Instant) {
        if now < self.bucket_start + BUCKET {
            return;
        }
        let idle = now >= self.bucket_start + BUCKET.saturating_mul(2);
        for (cur, prev) in &mut self.slots {
            *prev = if idle { Count::default() } else { *cur };
            *cur = Count::default();
        }
        self.bucket_start = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut TimeoutShares, slot: usize, ok: u32, timeouts: u32) {
        (0..ok).for_each(|_| s.record(slot, false));
        (0..timeouts).for_each(|_| s.record(slot, true));
    }

    #[test]
    fn a_hanging_worker_stands_out_and_an_overloaded_pool_does_not() {
        let mut s = TimeoutShares::default();
        for w in 0..7 {
            feed(&mut s, w, 70, 30);
        }
        assert!((0..7).all(|w| !s.stands_out(w)), "all time out alike");
        feed(&mut s, 7, 0, 20);
        assert!(s.stands_out(7), "only this one times out everything");
        assert!(!s.stands_out(0));
    }

    #[test]
    fn four_slow_workers_of_ten_stand_out_where_mean_and_deviation_would_excuse_them() {
        let mut s = TimeoutShares::default();
        (0..6).for_each(|w| feed(&mut s, w, 100, 0));
        (6..10).for_each(|w| feed(&mut s, w, 50, 50));
        assert!((6..10).all(|w| s.stands_out(w)));
        // Mean 0.2, deviation 0.245: 0.5 is under mean + 1.9 deviations (0.67).
        let rates = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5];
        let mean: f64 = rates.iter().sum::<f64>() / 10.0;
        let dev = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 10.0).sqrt();
        assert!(0.5 < mean + 1.9 * dev);
        // Half the pool timing out alike is the pool's load.
        let mut s = TimeoutShares::default();
        (0..5).for_each(|w| feed(&mut s, w, 100, 0));
        (5..10).for_each(|w| feed(&mut s, w, 50, 50));
        assert!((5..10).all(|w| !s.stands_out(w)));
    }

    #[test]
    fn a_worker_alone_or_unknown_counts_as_before() {
        let mut s = TimeoutShares::default();
        feed(&mut s, 0, 10, 10);
        assert!(s.stands_out(0));
        assert!(s.stands_out(5));
    }

    #[test]
    fn old_buckets_age_out_and_cleared_slots_are_forgotten() {
        let mut s = TimeoutShares::default();
        feed(&mut s, 0, 0, 10);
        (1..5).for_each(|w| feed(&mut s, w, 10, 0));
        assert!(s.stands_out(0));
        let t = Instant::ZERO + BUCKET;
        s.roll(t);
        feed(&mut s, 1, 0, 30);
        feed(&mut s, 2, 0, 30);
        // Worker 0's timeouts are still in the previous bucket: three of five time out.
        assert!(!s.stands_out(1));
        s.roll(t + BUCKET);
        (2..5).for_each(|w| feed(&mut s, w, 10, 0));
        feed(&mut s, 0, 10, 0);
        assert!(s.stands_out(1), "worker 0's timeouts aged out");
        s.clear(1);
        assert_eq!(s.slots[1], Default::default());
        assert!(
            s.stands_out(1),
            "no counts left: judged as an unknown worker"
        );
    }
}
