//! A trailing time window as a ring of slices (rotating buckets).
//!
//! The window is cut into `slices` equal sub-windows aligned on multiples of the slice length;
//! slice number `e` covers `[e * len, (e + 1) * len)` and lives in ring slot `e % slices`. Each
//! slot remembers which slice it holds, so rotation is lazy and needs no timer: recording into a
//! slot that still holds an older slice clears it first, and a snapshot simply skips slots whose
//! slice is too old. Slices skipped during a quiet period are thus "cleared" by never being read.
//! Recording is O(1) (a bounds check against the current slice on the fast path, a division
//! otherwise); a snapshot is O(slices * histogram buckets).
//!
//! A snapshot at `now` covers the current, partial slice and the `slices - 1` before it, so it
//! spans between `window - len` and `window` of history; [`WindowSnapshot::span`] says exactly
//! how much (less at start-up), so rates computed from it are right. A response whose slice has
//! already been overwritten (it arrived with a `now` older than the window) is left out.

use super::histogram::LogHistogram;
use crate::time::{Duration, Instant};

/// What a window says about one worker.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowSnapshot {
    /// Responses in the window, failures included.
    pub requests: u64,
    /// Failed responses in the window.
    pub errors: u64,
    /// `errors / requests`, 0 when there were no requests.
    pub error_rate: f64,
    /// Exact mean latency (failures included), `None` when there were no requests.
    pub mean: Option<Duration>,
    /// Exact mean latency of the failures alone, `None` when there were none. A worker whose
    /// failures are much quicker than the pool's responses *fails fast*.
    pub error_mean: Option<Duration>,
    /// Median latency (failures included), from the histogram (within about 3%).
    pub p50: Option<Duration>,
    /// 90th percentile latency.
    pub p90: Option<Duration>,
    /// 99th percentile latency.
    pub p99: Option<Duration>,
    /// How much time the snapshot covers.
    pub span: Duration,
}

impl WindowSnapshot {
    /// Responses per second over the span, 0 when the span is empty.
    pub fn rate_per_sec(&self) -> f64 {
        if self.span.is_zero() {
            0.0
        } else {
            self.requests as f64 / self.span.as_secs_f64()
        }
    }
}

/// One sub-window.
#[derive(Clone, Debug, Default)]
struct Slice {
    /// Which slice this is: it covers `[epoch * len, (epoch + 1) * len)`.
    epoch: u64,
    requests: u64,
    errors: u64,
    latency_sum_ns: u64,
    error_latency_sum_ns: u64,
    latency: LogHistogram,
}

impl Slice {
    fn reset(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.requests = 0;
        self.errors = 0;
        self.latency_sum_ns = 0;
        self.error_latency_sum_ns = 0;
        self.latency.clear();
    }
}

/// Counts, errors and latencies over a trailing window (see the module docs).
#[derive(Clone, Debug)]
pub struct Window {
    slice_ns: u64,
    ring: Vec<Slice>,
    /// When the window started counting; snapshots never span further back.
    since: Instant,
    /// The newest slice recorded into, and its start and slot: the fast path.
    current_epoch: u64,
    current_start: u64,
    current_slot: usize,
}

impl Window {
    /// An empty window of length `window`, cut into `slices` slices (0 acts as 1), starting at
    /// `now`. The slice length is `window / slices` rounded down, and at least 1 ns.
    pub fn new(window: Duration, slices: u32, now: Instant) -> Self {
        let n = slices.max(1);
        let slice_ns = (window.as_nanos() / u64::from(n)).max(1);
        let epoch = now.as_nanos() / slice_ns;
        let slot = (epoch % u64::from(n)) as usize;
        let mut ring = vec![Slice::default(); n as usize];
        ring[slot].epoch = epoch;
        Window {
            slice_ns,
            ring,
            since: now,
            current_epoch: epoch,
            current_start: epoch * slice_ns,
            current_slot: slot,
        }
    }

    /// Records one response of `latency_ns` at `now`. O(1), no allocation.
    #[inline]
    pub fn record(&mut self, now: Instant, latency_ns: u64, ok: bool) {
        let t = now.as_nanos();
        let slot = if t.wrapping_sub(self.current_start) < self.slice_ns {
            self.current_slot
        } else {
            match self.rotate(t) {
                Some(slot) => slot,
                None => return,
            }
        };
        let s = &mut self.ring[slot];
        s.requests += 1;
        s.errors += u64::from(!ok);
        s.latency_sum_ns = s.latency_sum_ns.saturating_add(latency_ns);
        if !ok {
            s.error_latency_sum_ns = s.error_latency_sum_ns.saturating_add(latency_ns);
        }
        s.latency.record(latency_ns);
    }

    /// Finds (clearing if needed) the slot for time `t` outside the current slice, or `None` if
    /// that slice has already been overwritten by a newer one.
    #[cold]
    fn rotate(&mut self, t: u64) -> Option<usize> {
        let epoch = t / self.slice_ns;
        let slot = (epoch % self.ring.len() as u64) as usize;
        let s = &mut self.ring[slot];
        if s.epoch > epoch {
            return None;
        }
        if s.epoch < epoch {
            s.reset(epoch);
        }
        if epoch > self.current_epoch {
            self.current_epoch = epoch;
            self.current_start = epoch * self.slice_ns;
            self.current_slot = slot;
        }
        Some(slot)
    }

    /// The window as seen at `now`: the slice holding `now` and the `slices - 1` before it.
    pub fn snapshot(&self, now: Instant) -> WindowSnapshot {
        self.collect(now, true)
    }

    /// Like [`snapshot`](Self::snapshot) without the percentiles (left `None`): counts, rates
    /// and means only, O(slices) instead of O(slices * buckets). What the decision engine reads.
    pub fn summary(&self, now: Instant) -> WindowSnapshot {
        self.collect(now, false)
    }

    /// The latency histogram of the window at `now` (the slices merged), for merging windows of
    /// several balancers exactly.
    pub fn histogram(&self, now: Instant) -> LogHistogram {
        let newest = now.as_nanos() / self.slice_ns;
        let oldest = newest.saturating_sub(self.ring.len() as u64 - 1);
        let mut h = LogHistogram::new();
        for s in &self.ring {
            if (oldest..=newest).contains(&s.epoch) && s.requests > 0 {
                h.merge(&s.latency);
            }
        }
        h
    }

    fn collect(&self, now: Instant, percentiles: bool) -> WindowSnapshot {
        let newest = now.as_nanos() / self.slice_ns;
        let oldest = newest.saturating_sub(self.ring.len() as u64 - 1);
        let mut snap = WindowSnapshot::default();
        let mut sum_ns = 0u64;
        let mut error_sum_ns = 0u64;
        let mut latency = percentiles.then(LogHistogram::new);
        for s in &self.ring {
            if (oldest..=newest).contains(&s.epoch) && s.requests > 0 {
                snap.requests += s.requests;
                snap.errors += s.errors;
                sum_ns = sum_ns.saturating_add(s.latency_sum_ns);
                error_sum_ns = error_sum_ns.saturating_add(s.error_latency_sum_ns);
                if let Some(h) = latency.as_mut() {
                    h.merge(&s.latency);
                }
            }
        }
        let start = Instant::from_nanos(oldest * self.slice_ns).max(self.since);
        snap.span = now - start;
        if snap.requests > 0 {
            snap.error_rate = snap.errors as f64 / snap.requests as f64;
            snap.mean = Some(Duration::from_nanos(sum_ns / snap.requests));
            snap.error_mean = error_sum_ns
                .checked_div(snap.errors)
                .map(Duration::from_nanos);
            if let Some(h) = &latency {
                let q = |q| h.quantile(q).map(Duration::from_nanos);
                snap.p50 = q(0.5);
                snap.p90 = q(0.9);
                snap.p99 = q(0.99);
            }
        }
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    /// 10 s in 5 slices of 2 s, starting at 0.
    fn ten_by_five() -> Window {
        Window::new(Duration::from_secs(10), 5, Instant::ZERO)
    }

    #[test]
    fn forgets_data_older_than_the_window_and_keeps_recent() {
        let mut w = ten_by_five();
        w.record(ms(1_000), 1_000_000, true); // slice 0: [0, 2 s)
        w.record(ms(9_000), 1_000_000, true); // slice 4: [8, 10 s)
        assert_eq!(w.snapshot(ms(9_999)).requests, 2);
        // At 10 s slice 5 starts and slice 0 leaves the window.
        let s = w.snapshot(ms(10_000));
        assert_eq!(s.requests, 1);
        assert_eq!(w.snapshot(ms(17_999)).requests, 1);
        assert_eq!(w.snapshot(ms(18_000)).requests, 0);
    }

    #[test]
    fn a_response_exactly_on_a_slice_boundary_starts_the_new_slice() {
        let mut w = ten_by_five();
        w.record(ms(1_999), 1_000_000, true); // slice 0
        w.record(ms(2_000), 1_000_000, true); // slice 1, not the tail of slice 0
        assert_eq!(w.snapshot(ms(9_999)).requests, 2);
        assert_eq!(w.snapshot(ms(10_000)).requests, 1);
        assert_eq!(w.snapshot(ms(12_000)).requests, 0);
    }

    #[test]
    fn a_quiet_period_longer_than_the_window_clears_everything() {
        let mut w = ten_by_five();
        for i in 0..100 {
            w.record(ms(i * 100), 2_000_000, false);
        }
        // Slot 0 holds slice 0 and is reused by slice 50 (100 s): it must be cleared first.
        w.record(ms(100_000), 3_000_000, true);
        let s = w.snapshot(ms(100_000));
        assert_eq!((s.requests, s.errors), (1, 0));
        assert_eq!(s.mean, Some(Duration::from_millis(3)));
    }

    #[test]
    fn snapshot_error_rate_and_mean_are_exact() {
        let mut w = ten_by_five();
        for i in 0..20u64 {
            w.record(ms(100 + i * 300), (i + 1) * 1_000_000, i % 3 != 0);
        }
        let s = w.snapshot(ms(6_500));
        assert_eq!(s.requests, 20);
        assert_eq!(s.errors, 7);
        assert_eq!(s.error_rate, 7.0 / 20.0);
        assert_eq!(s.mean, Some(Duration::from_micros(10_500)));
        let p50 = s.p50.unwrap().as_nanos() as f64;
        assert!((p50 - 10e6).abs() / 10e6 <= 1.0 / 32.0);
        let p99 = s.p99.unwrap().as_nanos() as f64;
        assert!((p99 - 20e6).abs() / 20e6 <= 1.0 / 32.0);
    }

    #[test]
    fn empty_window_has_zero_rate_and_no_latency() {
        let w = ten_by_five();
        let s = w.snapshot(ms(5_000));
        assert_eq!(s.requests, 0);
        assert_eq!(s.error_rate, 0.0);
        assert_eq!((s.mean, s.p50, s.p90, s.p99), (None, None, None, None));
        assert_eq!(s.rate_per_sec(), 0.0);
    }

    #[test]
    fn span_counts_from_start_then_from_the_oldest_live_slice() {
        let w = Window::new(Duration::from_secs(10), 5, ms(1_000));
        assert_eq!(w.snapshot(ms(1_000)).span, Duration::ZERO);
        assert_eq!(w.snapshot(ms(4_000)).span, Duration::from_secs(3));
        // At 25 s the live slices are 8..=12, from 16 s.
        assert_eq!(w.snapshot(ms(25_000)).span, Duration::from_secs(9));
        assert_eq!(w.snapshot(ms(26_000)).span, Duration::from_secs(8));
    }

    #[test]
    fn rate_is_requests_over_span() {
        let mut w = ten_by_five();
        for i in 0..40 {
            w.record(ms(i * 100), 1_000_000, true);
        }
        let s = w.snapshot(ms(4_000));
        assert_eq!(s.span, Duration::from_secs(4));
        assert_eq!(s.rate_per_sec(), 10.0);
    }

    #[test]
    fn late_responses_go_to_their_own_slice_or_are_dropped() {
        let mut w = ten_by_five();
        w.record(ms(9_000), 1_000_000, true);
        // 3 s late but still inside the window: counted (in slice 3).
        w.record(ms(6_000), 1_000_000, false);
        assert_eq!(w.snapshot(ms(9_000)).requests, 2);
        assert_eq!(w.snapshot(ms(9_000)).errors, 1);
        w.record(ms(21_000), 1_000_000, true); // slice 10 overwrites slot 0
        // From before the window: slot 0 now holds a newer slice, so it is dropped.
        w.record(ms(1_000), 1_000_000, true);
        assert_eq!(w.snapshot(ms(21_000)).requests, 1);
    }

    #[test]
    fn zero_slices_and_zero_window_do_not_panic() {
        let mut w = Window::new(Duration::ZERO, 0, Instant::ZERO);
        w.record(ms(1), 5, true);
        assert_eq!(w.snapshot(ms(1)).requests, 1);
        assert_eq!(w.snapshot(Instant::from_nanos(1_000_001)).requests, 0);
    }

    proptest! {
        /// With responses in time order, the window holds exactly the responses whose slice is
        /// one of the `slices` newest at `now`.
        #[test]
        fn matches_a_reference_that_keeps_everything(
            slices in 1u32..8,
            steps in proptest::collection::vec((0u64..3_000, 0u64..50_000_000, any::<bool>()), 0..200),
            later in 0u64..20_000,
        ) {
            let window = Duration::from_secs(10);
            let slice_ns = window.as_nanos() / u64::from(slices);
            let mut w = Window::new(window, slices, Instant::ZERO);
            let mut all = Vec::new();
            let mut now = Instant::ZERO;
            for (dt_ms, lat, ok) in steps {
                now += Duration::from_millis(dt_ms);
                w.record(now, lat, ok);
                all.push((now, lat, ok));
            }
            now += Duration::from_millis(later);
            let newest = now.as_nanos() / slice_ns;
            let live: Vec<_> = all
                .iter()
                .filter(|(t, _, _)| t.as_nanos() / slice_ns + u64::from(slices) > newest)
                .collect();
            let s = w.snapshot(now);
            prop_assert_eq!(s.requests, live.len() as u64);
            prop_assert_eq!(s.errors, live.iter().filter(|r| !r.2).count() as u64);
            if !live.is_empty() {
                let sum: u64 = live.iter().map(|r| r.1).sum();
                prop_assert_eq!(s.mean, Some(Duration::from_nanos(sum / live.len() as u64)));
            }
            prop_assert!(s.span <= window);
        }
    }

    #[test]
    fn error_latency_is_tracked_apart_and_summary_skips_percentiles() {
        let mut w = ten_by_five();
        w.record(ms(100), 10_000_000, true);
        w.record(ms(200), 30_000_000, true);
        w.record(ms(300), 1_000_000, false);
        let full = w.snapshot(ms(500));
        let sum = w.summary(ms(500));
        assert_eq!(full.mean, Some(Duration::from_nanos(41_000_000 / 3)));
        assert_eq!(full.error_mean, Some(Duration::from_millis(1)));
        assert!(full.p50.is_some());
        assert_eq!(
            (sum.requests, sum.errors, sum.mean, sum.error_mean),
            (3, 1, full.mean, full.error_mean)
        );
        assert_eq!((sum.p50, sum.p90, sum.p99), (None, None, None));
        let mut ok_only = ten_by_five();
        ok_only.record(ms(100), 5, true);
        assert_eq!(ok_only.summary(ms(200)).error_mean, None);
    }
}
