//! What a run measures, from the client's side of the balancer.
//!
//! Latency is from a request's arrival at the balancer to its answer: queueing at the worker,
//! network delay and service included. Every answer counts in the latency statistics, errors too
//! (a timeout counts with the timeout as its latency, a 503 for want of a worker with zero), since
//! that is what a client waits; the error rate is reported beside it. Only requests that arrived
//! after the warm-up count in the summary and per-worker numbers; the time series shows every
//! second, warm-up included.
//!
//! Each measured request is also booked in the phase of the run in which it arrived
//! ([`crate::phase`]), for the hindsight oracle.
//!
//! The mean number in flight is the time integral of the balancer's requests-in-flight count over
//! the measured window divided by its length, so Little's law (L = lambda W) can be checked
//! against the other columns.

use crate::phase::Phases;
use hdrhistogram::Histogram;
use lb_core::Instant;
use lb_core::stats::LogHistogram;
use lb_core::time::Duration;

/// Nanoseconds per second.
const NS: u64 = 1_000_000_000;

/// One second of the time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Second {
    /// Start of the second.
    pub t_s: u64,
    /// Answers in this second.
    pub requests: u64,
    /// Failed answers in this second.
    pub errors: u64,
    /// Median latency of this second's answers, ms (0 when none).
    pub p50_ms: f64,
    /// 99th percentile, ms (0 when none).
    pub p99_ms: f64,
    /// Time-averaged requests in flight.
    pub mean_in_flight: f64,
    /// The algorithm at the end of the second.
    pub algorithm: &'static str,
}

/// Per-worker totals over the measured window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerTotals {
    /// Answers for requests sent to this worker.
    pub requests: u64,
    /// Of which failed (errors, refusals, timeouts).
    pub errors: u64,
    /// Sum of their latencies, ns.
    pub latency_sum_ns: u128,
}

/// The recorder of one run.
#[derive(Debug)]
pub struct Recorder {
    warmup: Instant,
    /// End of the measured window, once known.
    measure_end: Option<Instant>,
    /// Balancer-side requests in flight, and when that number last changed.
    in_flight: u64,
    last_change: Instant,
    area_measured: u128,
    /// Requests that arrived after the warm-up.
    pub arrivals: u64,
    /// Of those, answered successfully.
    pub ok: u64,
    /// Of those, failed.
    pub errors: u64,
    latency_sum_ns: u128,
    hist: Histogram<u64>,
    /// Per-worker totals, by worker index.
    pub workers: Vec<WorkerTotals>,
    /// The measured requests by the phase they arrived in.
    phases: Phases,
    // Current second of the time series.
    second: u64,
    sec_requests: u64,
    sec_errors: u64,
    sec_hist: LogHistogram,
    sec_area: u128,
    /// The time series, one entry per second.
    pub series: Vec<Second>,
}

impl Recorder {
    /// A recorder for `workers` workers whose measured window starts at `warmup`.
    pub fn new(workers: usize, warmup: Instant) -> Self {
        Recorder {
            warmup,
            measure_end: None,
            in_flight: 0,
            last_change: Instant::ZERO,
            area_measured: 0,
            arrivals: 0,
            ok: 0,
            errors: 0,
            latency_sum_ns: 0,
            // 1 ns to 1 hour at 3 significant digits.
            hist: Histogram::new_with_bounds(1, 3_600 * NS, 3)
                .expect("constant histogram bounds are valid"),
            workers: vec![WorkerTotals::default(); workers],
            phases: Phases::new(vec![warmup]),
            second: 0,
            sec_requests: 0,
            sec_errors: 0,
            sec_hist: LogHistogram::new(),
            sec_area: 0,
            series: Vec::new(),
        }
    }

    /// Cut the measured window into phases starting at `starts` (sorted, the first at the
    /// warm-up's end; see [`crate::phase::starts`]). Without this, the window is one phase.
    pub fn set_phase_starts(&mut self, starts: Vec<Instant>) {
        self.phases = Phases::new(starts);
    }

    /// The measured requests by phase.
    pub fn phases(&self) -> &Phases {
        &self.phases
    }

    /// End of the measured window, once known.
    pub fn measure_end(&self) -> Option<Instant> {
        self.measure_end
    }

    /// Close the measured window at `end` (the end of the arrival schedule).
    pub fn set_measure_end(&mut self, end: Instant) {
        self.measure_end = Some(end);
    }

    /// Bring the in-flight integrals and the time series up to `now`, closing any seconds that
    /// ended. `algorithm` is the balancer's algorithm during the elapsed time.
    #[inline]
    pub fn advance(&mut self, now: Instant, algorithm: &'static str) {
        if now <= self.last_change {
            return;
        }
        while now.as_nanos() >= (self.second + 1) * NS {
            let boundary = Instant::from_nanos((self.second + 1) * NS);
            self.integrate(boundary);
            self.close_second(algorithm);
        }
        self.integrate(now);
    }

    fn integrate(&mut self, to: Instant) {
        let from = self.last_change;
        if to <= from {
            return;
        }
        let n = u128::from(self.in_flight);
        self.sec_area += n * u128::from((to - from).as_nanos());
        let lo = from.max(self.warmup);
        let hi = self.measure_end.map_or(to, |e| to.min(e));
        if hi > lo {
            self.area_measured += n * u128::from((hi - lo).as_nanos());
        }
        self.last_change = to;
    }

    fn close_second(&mut self, algorithm: &'static str) {
        let q = |h: &LogHistogram, p: f64| h.quantile(p).map_or(0.0, |ns| ns as f64 / 1e6);
        self.series.push(Second {
            t_s: self.second,
            requests: self.sec_requests,
            errors: self.sec_errors,
            p50_ms: q(&self.sec_hist, 0.5),
            p99_ms: q(&self.sec_hist, 0.99),
            mean_in_flight: self.sec_area as f64 / NS as f64,
            algorithm,
        });
        self.second += 1;
        self.sec_requests = 0;
        self.sec_errors = 0;
        self.sec_area = 0;
        self.sec_hist.clear();
    }

    /// Close the partly elapsed last second (at the end of the run).
    pub fn finish(&mut self, now: Instant, algorithm: &'static str) {
        self.advance(now, algorithm);
        if self.sec_requests > 0 || self.sec_area > 0 {
            self.close_second(algorithm);
        }
    }

    /// A request arrived (call `advance` first).
    #[inline]
    pub fn on_arrival(&mut self, at: Instant) {
        if at >= self.warmup {
            self.arrivals += 1;
        }
    }

    /// A request was dispatched to a worker: one more in flight.
    #[inline]
    pub fn on_dispatch(&mut self) {
        self.in_flight += 1;
    }

    /// A request got its answer (or gave up), `latency` after arriving at `arrival`; `dispatched`
    /// says whether it was counted in flight, `worker` which worker had it.
    #[inline]
    pub fn on_answer(
        &mut self,
        arrival: Instant,
        latency: Duration,
        ok: bool,
        worker: Option<usize>,
        dispatched: bool,
    ) {
        if dispatched {
            self.in_flight -= 1;
        }
        let ns = latency.as_nanos();
        self.sec_requests += 1;
        self.sec_errors += u64::from(!ok);
        self.sec_hist.record(ns);
        if arrival < self.warmup {
            return;
        }
        if ok {
            self.ok += 1;
        } else {
            self.errors += 1;
        }
        self.latency_sum_ns += u128::from(ns);
        self.hist.saturating_record(ns.max(1));
        self.phases.record(arrival, ns, ok);
        if let Some(w) = worker.and_then(|w| self.workers.get_mut(w)) {
            w.requests += 1;
            w.errors += u64::from(!ok);
            w.latency_sum_ns += u128::from(ns);
        }
    }

    /// Answers counted in the summary.
    pub fn answered(&self) -> u64 {
        self.ok + self.errors
    }

    /// Mean latency of the measured answers, ms.
    pub fn mean_ms(&self) -> f64 {
        let n = self.answered();
        if n == 0 {
            0.0
        } else {
            self.latency_sum_ns as f64 / n as f64 / 1e6
        }
    }

    /// Latency at quantile `q` of the measured answers, ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.value_at_quantile(q) as f64 / 1e6
        }
    }

    /// Largest measured latency, ms.
    pub fn max_ms(&self) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.max() as f64 / 1e6
        }
    }

    /// Length of the measured window, seconds.
    pub fn span_s(&self) -> f64 {
        self.measure_end
            .map_or(0.0, |e| (e - self.warmup).as_secs_f64())
    }

    /// Time-averaged requests in flight over the measured window.
    pub fn mean_in_flight(&self) -> f64 {
        let span = self.span_s();
        if span <= 0.0 {
            0.0
        } else {
            self.area_measured as f64 / 1e9 / span
        }
    }
}
