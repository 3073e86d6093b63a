//! Everything the balancer knows about one worker's traffic, updated in O(1) per response.

use super::ewma::{Ewma, PeakEwma};
use super::histogram::LogHistogram;
use super::window::{Window, WindowSnapshot};
use crate::time::{Duration, Instant};

/// Windows and time constants for [`WorkerStats`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsConfig {
    /// Percentiles and rates are over this trailing window.
    pub window: Duration,
    /// The window is a ring of this many sub-windows (rotating buckets); 0 acts as 1.
    pub slices: u32,
    /// Time constant of the latency EWMA.
    pub ewma_tau: Duration,
    /// Decay time constant of the peak EWMA (tower's default is 10 s).
    pub peak_ewma_tau: Duration,
    /// What the peak EWMA reports before the first response.
    pub peak_ewma_default: Duration,
}

impl Default for StatsConfig {
    /// A 10 s window in 5 slices, 1 s latency EWMA, 10 s peak EWMA starting at 10 ms.
    fn default() -> Self {
        StatsConfig {
            window: Duration::from_secs(10),
            slices: 5,
            ewma_tau: Duration::from_secs(1),
            peak_ewma_tau: Duration::from_secs(10),
            peak_ewma_default: Duration::from_millis(10),
        }
    }
}

/// One worker's counters, latency estimators and trailing window.
#[derive(Clone, Debug)]
pub struct WorkerStats {
    in_flight: u32,
    total_requests: u64,
    total_errors: u64,
    latency_ewma: Ewma,
    peak_ewma: PeakEwma,
    window: Window,
    last_response: Option<Instant>,
}

impl WorkerStats {
    /// Fresh stats for a worker that joins at `now`. Allocates the window's ring once.
    pub fn new(cfg: &StatsConfig, now: Instant) -> Self {
        WorkerStats {
            in_flight: 0,
            total_requests: 0,
            total_errors: 0,
            latency_ewma: Ewma::new(cfg.ewma_tau),
            peak_ewma: PeakEwma::new(cfg.peak_ewma_tau, cfg.peak_ewma_default),
            window: Window::new(cfg.window, cfg.slices, now),
            last_response: None,
        }
    }

    /// A request was sent to this worker: one more in flight.
    #[inline]
    pub fn on_dispatch(&mut self) {
        self.in_flight = self.in_flight.saturating_add(1);
    }

    /// A dispatched request that ended without an answer to judge (its client went away): it
    /// leaves the in-flight count and nothing else.
    pub fn on_cancel(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A response (or a failure) for a dispatched request, received at `now` after `latency`.
    /// Decrements in flight (saturating at 0) and updates the lifetime totals, both EWMAs and the
    /// window. Failures' latencies count like successes' (see the module docs). O(1), no
    /// allocation.
    #[inline]
    pub fn on_response(&mut self, now: Instant, latency: Duration, ok: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.total_requests += 1;
        self.total_errors += u64::from(!ok);
        let ns = latency.as_nanos();
        self.latency_ewma.observe(ns as f64, now);
        self.peak_ewma.observe(ns as f64, now);
        self.window.record(now, ns, ok);
        self.last_response = Some(self.last_response.map_or(now, |t| t.max(now)));
    }

    /// The worker left rotation at `now` (ejected, failed its health checks, drained): its peak
    /// EWMA keeps the estimate it has now instead of decaying while nobody can pick it.
    pub fn leave_rotation(&mut self, now: Instant) {
        self.peak_ewma.settle(now);
    }

    /// The worker is back in rotation at `now`: its peak EWMA resumes from the estimate it
    /// left with (plus whatever the responses still in flight then reported), so a worker that
    /// was ejected for being slow is not taken as the fastest the moment it returns.
    pub fn rejoin_rotation(&mut self, now: Instant) {
        self.peak_ewma.resume(now);
    }

    /// Requests dispatched and not yet answered.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Responses ever received, failures included.
    pub fn total_requests(&self) -> u64 {
        self.total_requests
    }

    /// Failed responses ever received.
    pub fn total_errors(&self) -> u64 {
        self.total_errors
    }

    /// The latency EWMA, `None` before the first response.
    pub fn latency_ewma(&self) -> Option<Duration> {
        self.latency_ewma
            .get()
            .map(|ns| Duration::from_nanos(ns.round() as u64))
    }

    /// The peak EWMA latency at `now`, in nanoseconds (the configured default before the first
    /// response, decaying toward zero while the worker is idle).
    #[inline]
    pub fn peak_ewma_ns(&self, now: Instant) -> f64 {
        self.peak_ewma.get_at(now)
    }

    /// The trailing window at `now`. O(slices * histogram buckets): call it at tick time, not
    /// per request.
    pub fn window(&self, now: Instant) -> WindowSnapshot {
        self.window.snapshot(now)
    }

    /// The latency histogram of the trailing window at `now`.
    pub fn window_histogram(&self, now: Instant) -> LogHistogram {
        self.window.histogram(now)
    }

    /// The trailing window at `now` without percentiles: counts, error rate, means. O(slices).
    pub fn window_summary(&self, now: Instant) -> WindowSnapshot {
        self.window.summary(now)
    }

    /// Time of the newest response recorded, if any.
    pub fn last_response(&self) -> Option<Instant> {
        self.last_response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    fn fresh() -> WorkerStats {
        WorkerStats::new(&StatsConfig::default(), Instant::ZERO)
    }

    #[test]
    fn a_fresh_worker_reports_nothing_but_the_default_peak() {
        let s = fresh();
        assert_eq!(s.in_flight(), 0);
        assert_eq!((s.total_requests(), s.total_errors()), (0, 0));
        assert_eq!(s.latency_ewma(), None);
        assert_eq!(s.peak_ewma_ns(ms(5)), 1e7);
        assert_eq!(s.last_response(), None);
        assert_eq!(s.window(ms(5)).requests, 0);
    }

    #[test]
    fn in_flight_never_underflows() {
        let mut s = fresh();
        s.on_response(ms(1), Duration::from_millis(1), true);
        assert_eq!(s.in_flight(), 0);
        s.on_dispatch();
        s.on_dispatch();
        s.on_response(ms(2), Duration::from_millis(1), true);
        assert_eq!(s.in_flight(), 1);
        s.on_response(ms(3), Duration::from_millis(1), false);
        s.on_response(ms(4), Duration::from_millis(1), false);
        assert_eq!(s.in_flight(), 0);
        assert_eq!((s.total_requests(), s.total_errors()), (4, 2));
    }

    #[test]
    fn failures_count_in_latency_and_in_errors() {
        // A worker that fails fast must look fast *and* failing, not just fast.
        let mut s = fresh();
        s.on_response(ms(0), Duration::from_millis(100), true);
        for i in 1..=10 {
            s.on_response(ms(i * 500), Duration::from_micros(50), false);
        }
        assert!(s.latency_ewma().unwrap() < Duration::from_millis(1));
        let w = s.window(ms(5_000));
        assert_eq!((w.requests, w.errors), (11, 10));
        assert_eq!(w.error_rate, 10.0 / 11.0);
        assert!(w.p50.unwrap() < Duration::from_micros(60));
        assert_eq!(s.total_errors(), 10);
    }

    #[test]
    fn latency_ewma_follows_the_closed_form() {
        let mut s = fresh();
        s.on_response(ms(0), Duration::from_millis(10), true);
        s.on_response(ms(1_000), Duration::from_millis(20), true); // dt = tau = 1 s
        let w = (-1.0f64).exp();
        let want = 1e7 * w + 2e7 * (1.0 - w);
        let got = s.latency_ewma().unwrap().as_nanos() as f64;
        assert!((got - want).abs() <= 1.0);
        // The peak EWMA jumped straight to 20 ms.
        assert_eq!(s.peak_ewma_ns(ms(1_000)), 2e7);
    }

    #[test]
    fn last_response_is_the_newest_even_when_responses_arrive_out_of_order() {
        let mut s = fresh();
        s.on_response(ms(50), Duration::from_millis(1), true);
        s.on_response(ms(20), Duration::from_millis(1), true);
        assert_eq!(s.last_response(), Some(ms(50)));
    }

    #[test]
    fn the_window_forgets_while_the_totals_do_not() {
        let mut s = fresh();
        s.on_response(ms(1_000), Duration::from_millis(3), false);
        assert_eq!(s.window(ms(9_000)).requests, 1);
        let w = s.window(ms(30_000));
        assert_eq!((w.requests, w.errors, w.mean), (0, 0, None));
        assert_eq!((s.total_requests(), s.total_errors()), (1, 1));
    }

    proptest! {
        /// In flight is dispatches minus responses, never below zero, whatever the order.
        #[test]
        fn in_flight_is_a_saturating_count(ops in proptest::collection::vec(any::<bool>(), 0..200)) {
            let mut s = fresh();
            let mut model: u32 = 0;
            for (i, dispatch) in ops.into_iter().enumerate() {
                if dispatch {
                    s.on_dispatch();
                    model += 1;
                } else {
                    s.on_response(ms(i as u64), Duration::from_millis(1), true);
                    model = model.saturating_sub(1);
                }
                prop_assert_eq!(s.in_flight(), model);
            }
        }
    }
}
