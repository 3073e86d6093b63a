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
//! worker's timeout rate over that span is above the mean of the workers' rates plus 1.9 of their
//! standard deviations, Envoy's test turned round. A worker that hangs (every request times out
//! while the others answer) stands out at once, and so do two of ten; seven survivors all timing
//! out, or half a pool timing out while the other half recovers, do not: then it is the pool's
//! load, not a worker. With fewer than 5 workers answering (Envoy's minimum too) there is nobody to compare with, and
//! timeouts count as before. Recording is O(1); the test is O(workers) and runs on timeouts only.

use crate::time::{Duration, Instant};

/// Length of one bucket: shares look back between one and two of these.
const BUCKET: Duration = Duration::from_secs(5);
/// A worker's timeout rate stands out above the pool's mean plus this many standard deviations
/// (Envoy's `success_rate_stdev_factor`, 1900 thousandths).
const STDEV_FACTOR: f64 = 1.9;
/// With fewer workers answering than this there is no pool to compare with (Envoy's
/// `success_rate_minimum_hosts`): timeouts count. Below 5 a single worker could never stand out,
/// since one of `n` values is at most `sqrt(n - 1)` deviations above the mean.
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
    fn sub(&mut self, other: Count) {
        self.responses -= other.responses;
        self.timeouts -= other.timeouts;
    }
}

/// Per-worker and pool-wide timeout counts over the recent past, indexed by slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct TimeoutShares {
    /// (current bucket, previous bucket) per slot.
    slots: Vec<(Count, Count)>,
    /// Sum over slots, both buckets.
    total: Count,
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
        self.total.add(c);
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
        let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
        for r in self.slots.iter().copied().filter_map(rate) {
            n += 1.0;
            sum += r;
            sq += r * r;
        }
        if n < MIN_WORKERS {
            return true;
        }
        let mean = sum / n;
        let stdev = (sq / n - mean * mean).max(0.0).sqrt();
        mine > mean + STDEV_FACTOR * stdev
    }

    /// Forget `slot`'s counts (its worker left, or a new one took the slot).
    pub(super) fn clear(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            let (cur, prev) = std::mem::take(s);
            self.total.sub(cur);
            self.total.sub(prev);
        }
    }

    /// Start a new bucket when the current one is `BUCKET` old at `now` (both are cleared when
    /// two buckets have passed). O(workers), once per bucket.
    pub(super) fn roll(&mut self, now: Instant) {
        if now < self.bucket_start + BUCKET {
            return;
        }
        let idle = now >= self.bucket_start + BUCKET.saturating_mul(2);
        self.total = Count::default();
        for (cur, prev) in &mut self.slots {
            *prev = if idle { Count::default() } else { *cur };
            *cur = Count::default();
            self.total.add(*prev);
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
    fn a_worker_alone_or_unknown_counts_as_before() {
        let mut s = TimeoutShares::default();
        feed(&mut s, 0, 10, 10);
        assert!(s.stands_out(0));
        assert!(s.stands_out(5));
    }

    #[test]
    fn old_buckets_age_out_and_cleared_slots_leave_the_total() {
        let mut s = TimeoutShares::default();
        feed(&mut s, 0, 0, 10);
        (1..5).for_each(|w| feed(&mut s, w, 10, 0));
        assert!(s.stands_out(0));
        let t = Instant::ZERO + BUCKET;
        s.roll(t);
        feed(&mut s, 1, 0, 30);
        // Worker 0's timeouts are still in the previous bucket: two of five time out.
        assert!(!s.stands_out(1));
        s.roll(t + BUCKET);
        (2..5).for_each(|w| feed(&mut s, w, 10, 0));
        feed(&mut s, 0, 10, 0);
        assert!(s.stands_out(1), "worker 0's timeouts aged out");
        s.clear(1);
        let sum = s.slots.iter().fold(Count::default(), |mut a, &(c, p)| {
            a.add(c);
            a.add(p);
            a
        });
        assert_eq!(s.total, sum);
    }
}
