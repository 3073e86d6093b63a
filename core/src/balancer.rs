//! The balancer: pool view + algorithm + health + stats, driven by its caller.
//!
//! The caller (the simulator's event loop, or live mode's proxy and probe tasks) owns time and
//! I/O and tells the balancer what happened:
//!
//! - [`Balancer::pick`] when a request arrives: which worker should take it (or none: 503);
//! - [`Balancer::on_response`] when the worker answered, failed, refused or timed out;
//! - [`Balancer::on_probe`] with each active health-check result;
//! - [`Balancer::tick`] periodically (every second by default) to expire ejections and, in
//!   adaptive mode, let the decision engine look at the pool and switch algorithm.
//!
//! With an [`EngineConfig`] the balancer is *adaptive*: it starts with the engine's baseline
//! algorithm and [`tick`](Balancer::tick) runs the [`DecisionEngine`]. [`Balancer::pin`] is the
//! operator's override (manual mode); [`Balancer::set_mode`] hands control back.
//!
//! A worker is *available* when its active health check says up, outlier detection has not
//! ejected it and it is not draining. Algorithms only ever see available workers as candidates.
//! Per-worker state (in flight, latency estimates, windows, health) belongs to the balancer, so
//! [`Balancer::set_algorithm`] switches algorithm at run time without losing any of it.
//!
//! ```
//! use lb_core::{Algorithm, Balancer, BalancerConfig, Duration, Instant, Outcome};
//! use rand::SeedableRng;
//!
//! let rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let mut lb = Balancer::new(BalancerConfig::new(Algorithm::RoundRobin), &[1, 1, 1], rng, Instant::ZERO);
//! let now = Instant::from_nanos(1_000);
//! let w = lb.pick(now).expect("three healthy workers");
//! assert_eq!(lb.in_flight(w), 1);
//! lb.on_response(w, now + Duration::from_millis(10), Duration::from_millis(10), Outcome::Ok);
//! assert_eq!(lb.in_flight(w), 0);
//! ```

use crate::engine::{Decision, DecisionEngine, EngineConfig, Mode, Observation, WorkerObservation};
use crate::health::{ActiveConfig, ActiveHealth, OutlierConfig, OutlierDetector};
use crate::pick::{Algorithm, AnyPicker, Pick, Pool};
use crate::stats::{StatsConfig, WorkerStats};
use crate::time::{Duration, Instant};
use rand::Rng;

/// A worker's index in the pool.
pub type WorkerId = usize;

/// How a dispatched request ended, as the balancer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The worker answered successfully.
    Ok,
    /// The worker answered with an error (HTTP 5xx).
    Error,
    /// The connection to the worker failed (refused, reset): the worker is down.
    Refused,
    /// The balancer gave up waiting (request timeout).
    Timeout,
}

impl Outcome {
    /// Whether this counts as a success.
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// Everything a balancer needs to know besides its workers.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerConfig {
    /// The algorithm to start with (in adaptive mode: the engine's baseline instead).
    pub algorithm: Algorithm,
    /// The decision engine's settings; `Some` makes the balancer adaptive.
    pub engine: Option<EngineConfig>,
    /// Windowed stats settings.
    pub stats: StatsConfig,
    /// Active health-check thresholds.
    pub active: ActiveConfig,
    /// Passive outlier ejection.
    pub outlier: OutlierConfig,
}

impl BalancerConfig {
    /// Defaults for everything but the algorithm.
    pub fn new(algorithm: Algorithm) -> Self {
        BalancerConfig {
            algorithm,
            engine: None,
            stats: StatsConfig::default(),
            active: ActiveConfig::default(),
            outlier: OutlierConfig::default(),
        }
    }
}

#[derive(Debug)]
struct Worker {
    stats: WorkerStats,
    health: ActiveHealth,
    weight: u32,
    draining: bool,
    available: bool,
}

/// The pool as the algorithms see it at one instant.
struct View<'a> {
    workers: &'a [Worker],
    available: usize,
    now: Instant,
}

impl Pool for View<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.workers.len()
    }
    #[inline]
    fn available_count(&self) -> usize {
        self.available
    }
    #[inline]
    fn is_available(&self, i: usize) -> bool {
        self.workers.get(i).is_some_and(|w| w.available)
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.workers.get(i).map_or(1, |w| w.weight)
    }
    #[inline]
    fn in_flight(&self, i: usize) -> u32 {
        self.workers.get(i).map_or(0, |w| w.stats.in_flight())
    }
    #[inline]
    fn latency_cost(&self, i: usize) -> f64 {
        self.workers
            .get(i)
            .map_or(0.0, |w| w.stats.peak_ewma_ns(self.now))
    }
}

/// The load balancer's brain. `R` is the injected random number generator.
#[derive(Debug)]
pub struct Balancer<R> {
    workers: Vec<Worker>,
    available: usize,
    picker: AnyPicker,
    outlier: OutlierDetector,
    rng: R,
    config: BalancerConfig,
    ejections: u64,
    engine: Option<DecisionEngine>,
    observations: Vec<WorkerObservation>,
}

impl<R: Rng> Balancer<R> {
    /// A balancer over workers with the given weights (a weight of 0 is taken as 1), all
    /// initially healthy, starting at `now`.
    pub fn new(config: BalancerConfig, weights: &[u32], rng: R, now: Instant) -> Self {
        let engine = config.engine.clone().map(DecisionEngine::new);
        let first = engine
            .as_ref()
            .map_or(config.algorithm, |e| e.config().baseline);
        let mut b = Balancer {
            workers: Vec::with_capacity(weights.len()),
            available: 0,
            picker: AnyPicker::new(first),
            outlier: OutlierDetector::new(config.outlier, 0),
            rng,
            config,
            ejections: 0,
            engine,
            observations: Vec::new(),
        };
        for &w in weights {
            b.add_worker(w, now);
        }
        b
    }

    /// Choose a worker for a new request, and count it in flight there. `None` when no worker
    /// is available.
    #[inline]
    pub fn pick(&mut self, now: Instant) -> Option<WorkerId> {
        let view = View {
            workers: &self.workers,
            available: self.available,
            now,
        };
        let w = self.picker.pick(&view, &mut self.rng)?;
        self.workers[w].stats.on_dispatch();
        Some(w)
    }

    /// Like [`pick`](Self::pick), but never `exclude` (a worker that just refused a connection,
    /// when retrying elsewhere). `None` when no other worker is available.
    pub fn pick_excluding(&mut self, now: Instant, exclude: WorkerId) -> Option<WorkerId> {
        let was = self.workers.get(exclude).is_some_and(|w| w.available);
        if was {
            self.workers[exclude].available = false;
            self.available -= 1;
        }
        let picked = self.pick(now);
        if was {
            self.workers[exclude].available = true;
            self.available += 1;
        }
        picked
    }

    /// The end of a request that [`pick`](Self::pick) sent to `worker`, `latency` after it
    /// arrived. Unknown workers are ignored.
    #[inline]
    pub fn on_response(
        &mut self,
        worker: WorkerId,
        now: Instant,
        latency: Duration,
        outcome: Outcome,
    ) {
        let Some(w) = self.workers.get_mut(worker) else {
            return;
        };
        let ok = outcome.is_ok();
        w.stats.on_response(now, latency, ok);
        if self.outlier.on_outcome(worker, ok, now).is_some() {
            self.ejections += 1;
            self.refresh(worker);
        }
    }

    /// A request that [`pick`](Self::pick) sent to `worker` ended without a verdict on the
    /// worker (its client gave up first): it stops counting in flight, and counts nowhere else
    /// (not in the stats window, not for outlier ejection).
    pub fn on_cancel(&mut self, worker: WorkerId) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.stats.on_cancel();
        }
    }

    /// One active health-check result for `worker`. Returns `Some(healthy)` when the worker's
    /// health flipped. A worker that active checks bring back up (after `rise` good probes)
    /// also leaves outlier ejection: it was down, it is back, it starts with a clean slate.
    pub fn on_probe(&mut self, worker: WorkerId, now: Instant, ok: bool) -> Option<bool> {
        let flipped = self.workers.get_mut(worker)?.health.observe(ok);
        if flipped == Some(true) {
            self.outlier.reinstate(worker, now);
        }
        if flipped.is_some() {
            self.refresh(worker);
        }
        flipped
    }

    /// Periodic housekeeping: brings back workers whose ejection expired and, in adaptive mode,
    /// runs the decision engine. Returns the switch the engine made, if any (already applied).
    pub fn tick(&mut self, now: Instant) -> Option<Decision> {
        if self.outlier.tick(now) > 0 {
            for i in 0..self.workers.len() {
                self.refresh(i);
            }
        }
        self.engine.as_ref()?;
        let mut observations = std::mem::take(&mut self.observations);
        self.observe(now, &mut observations);
        let current = self.picker.algorithm();
        let d = self.engine.as_mut().and_then(|engine| {
            engine.tick(
                &Observation {
                    now,
                    workers: &observations,
                },
                current,
            )
        });
        self.observations = observations;
        let d = d?;
        self.set_algorithm(d.to);
        Some(d)
    }

    /// What the decision engine sees of each worker at `now`, written into `out` (cleared
    /// first). Shells that run one engine over several balancers (live mode's shards) merge
    /// these.
    pub fn observe(&self, now: Instant, out: &mut Vec<WorkerObservation>) {
        out.clear();
        out.extend(self.workers.iter().map(|w| WorkerObservation {
            available: w.available,
            weight: w.weight,
            in_flight: w.stats.in_flight(),
            window: w.stats.window_summary(now),
            latency_ewma: w.stats.latency_ewma(),
            last_response: w.stats.last_response(),
        }));
    }

    /// The operator's override: run `algorithm` from now on. In adaptive mode this also puts
    /// the engine in manual mode (it keeps watching but stops switching) and logs the change.
    pub fn pin(&mut self, now: Instant, algorithm: Algorithm) {
        let from = self.picker.algorithm();
        if let Some(e) = self.engine.as_mut() {
            e.pin(now, from, algorithm);
        }
        self.set_algorithm(algorithm);
    }

    /// Hand control to the engine (`Adaptive`) or take it (`Manual`). Returns false when the
    /// balancer has no engine.
    pub fn set_mode(&mut self, mode: Mode) -> bool {
        match self.engine.as_mut() {
            Some(e) => {
                e.set_mode(mode);
                true
            }
            None => false,
        }
    }

    /// Who chooses the algorithm: `Manual` without an engine.
    pub fn mode(&self) -> Mode {
        self.engine.as_ref().map_or(Mode::Manual, |e| e.mode())
    }

    /// The decision engine, in adaptive mode.
    pub fn engine(&self) -> Option<&DecisionEngine> {
        self.engine.as_ref()
    }

    /// Every switch the engine (or an operator, through [`pin`](Self::pin)) made.
    pub fn decisions(&self) -> &[Decision] {
        self.engine.as_ref().map_or(&[], |e| e.log())
    }

    /// Switch algorithm now. Per-worker state (in flight, latency, health) is kept; only the
    /// new algorithm's own cursor starts fresh.
    pub fn set_algorithm(&mut self, algorithm: Algorithm) {
        if self.picker.algorithm() != algorithm {
            self.picker = AnyPicker::new(algorithm);
        }
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.picker.algorithm()
    }

    /// The configuration the balancer was built with.
    pub fn config(&self) -> &BalancerConfig {
        &self.config
    }

    /// Add a worker (healthy, not draining); returns its id.
    pub fn add_worker(&mut self, weight: u32, now: Instant) -> WorkerId {
        self.workers.push(Worker {
            stats: WorkerStats::new(&self.config.stats, now),
            health: ActiveHealth::new(self.config.active, true),
            weight: weight.max(1),
            draining: false,
            available: false,
        });
        self.outlier.add_worker();
        let id = self.workers.len() - 1;
        self.refresh(id);
        id
    }

    /// Stop sending new requests to `worker` (`true`), or take it back (`false`). Requests in
    /// flight finish normally.
    pub fn set_draining(&mut self, worker: WorkerId, draining: bool) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.draining = draining;
            self.refresh(worker);
        }
    }

    /// Remove `worker` from the pool; workers after it move down one index. Returns whether it
    /// existed.
    pub fn remove_worker(&mut self, worker: WorkerId) -> bool {
        if worker >= self.workers.len() {
            return false;
        }
        let w = self.workers.remove(worker);
        if w.available {
            self.available -= 1;
        }
        self.outlier.remove_worker(worker);
        // Cursors and smooth weights are indexed by worker: start the algorithm afresh.
        self.picker = AnyPicker::new(self.picker.algorithm());
        true
    }

    /// Number of workers in the pool.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Number of workers that may take requests now.
    pub fn available_count(&self) -> usize {
        self.available
    }

    /// Whether `worker` may take requests now.
    pub fn is_available(&self, worker: WorkerId) -> bool {
        self.workers.get(worker).is_some_and(|w| w.available)
    }

    /// Whether `worker`'s active health check says up.
    pub fn is_healthy(&self, worker: WorkerId) -> bool {
        self.workers
            .get(worker)
            .is_some_and(|w| w.health.is_healthy())
    }

    /// Whether outlier detection has ejected `worker`.
    pub fn is_ejected(&self, worker: WorkerId) -> bool {
        self.outlier.is_ejected(worker)
    }

    /// Whether `worker` is draining.
    pub fn is_draining(&self, worker: WorkerId) -> bool {
        self.workers.get(worker).is_some_and(|w| w.draining)
    }

    /// Requests in flight on `worker`.
    pub fn in_flight(&self, worker: WorkerId) -> u32 {
        self.workers.get(worker).map_or(0, |w| w.stats.in_flight())
    }

    /// The stats of `worker`.
    pub fn stats(&self, worker: WorkerId) -> Option<&WorkerStats> {
        self.workers.get(worker).map(|w| &w.stats)
    }

    /// The weight of `worker`.
    pub fn weight(&self, worker: WorkerId) -> Option<u32> {
        self.workers.get(worker).map(|w| w.weight)
    }

    /// How many times outlier detection has ejected a worker since the start.
    pub fn ejections(&self) -> u64 {
        self.ejections
    }

    fn refresh(&mut self, i: WorkerId) {
        let ejected = self.outlier.is_ejected(i);
        let Some(w) = self.workers.get_mut(i) else {
            return;
        };
        let now_available = w.health.is_healthy() && !ejected && !w.draining;
        if now_available != w.available {
            w.available = now_available;
            if now_available {
                self.available += 1;
            } else {
                self.available -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn balancer(alg: Algorithm, n: usize) -> Balancer<ChaCha8Rng> {
        Balancer::new(
            BalancerConfig::new(alg),
            &vec![1; n],
            ChaCha8Rng::seed_from_u64(1),
            Instant::ZERO,
        )
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_worker_that_fails_fall_probes_takes_no_traffic_until_rise_good_probes() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::ZERO;
        assert_eq!(lb.on_probe(1, t, false), None);
        assert_eq!(lb.on_probe(1, t, false), None);
        assert_eq!(lb.on_probe(1, t, false), Some(false));
        assert_eq!(lb.available_count(), 2);
        for _ in 0..30 {
            let w = lb.pick(t).unwrap();
            assert_ne!(w, 1);
            lb.on_response(w, t, ms(1), Outcome::Ok);
        }
        assert_eq!(lb.on_probe(1, t, true), None);
        assert_eq!(lb.on_probe(1, t, true), Some(true));
        assert_eq!(lb.available_count(), 3);
    }

    #[test]
    fn consecutive_failures_eject_and_tick_brings_the_worker_back() {
        let mut lb = balancer(Algorithm::RoundRobin, 4);
        let cfg = lb.config().outlier;
        let t = Instant::from_nanos(1);
        for _ in 0..cfg.consecutive_failures {
            lb.on_response(2, t, ms(1), Outcome::Error);
        }
        assert!(lb.is_ejected(2));
        assert!(!lb.is_available(2));
        assert_eq!(lb.ejections(), 1);
        lb.tick(t + (cfg.base_ejection - Duration::from_nanos(1)));
        assert!(lb.is_ejected(2));
        lb.tick(t + cfg.base_ejection);
        assert!(lb.is_available(2));
    }

    #[test]
    fn coming_back_up_after_active_checks_ends_an_ejection() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::from_nanos(1);
        for _ in 0..5 {
            lb.on_response(0, t, ms(1), Outcome::Refused);
        }
        assert!(lb.is_ejected(0));
        // Probes keep failing while it is down; the ejection stays.
        for _ in 0..3 {
            lb.on_probe(0, t, false);
        }
        assert!(lb.is_ejected(0));
        lb.on_probe(0, t, true);
        assert_eq!(lb.on_probe(0, t, true), Some(true));
        assert!(!lb.is_ejected(0));
        assert!(lb.is_available(0));
    }

    #[test]
    fn no_available_worker_means_no_pick() {
        let mut lb = balancer(Algorithm::LeastConnections, 2);
        lb.set_draining(0, true);
        lb.set_draining(1, true);
        assert_eq!(lb.pick(Instant::ZERO), None);
        lb.set_draining(1, false);
        assert_eq!(lb.pick(Instant::ZERO), Some(1));
    }

    #[test]
    fn switching_algorithm_keeps_in_flight_and_latency_state() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::from_nanos(5);
        let a = lb.pick(t).unwrap();
        let b = lb.pick(t).unwrap();
        lb.on_response(b, t + ms(40), ms(40), Outcome::Ok);
        let before = lb.stats(b).unwrap().latency_ewma();
        lb.set_algorithm(Algorithm::LeastConnections);
        assert_eq!(lb.algorithm(), Algorithm::LeastConnections);
        assert_eq!(lb.in_flight(a), 1);
        assert_eq!(lb.stats(b).unwrap().latency_ewma(), before);
        // Least connections now avoids the busy worker.
        let c = lb.pick(t + ms(41)).unwrap();
        assert_ne!(c, a);
    }

    #[test]
    fn removing_a_worker_shifts_ids_and_keeps_counts_right() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        lb.set_draining(0, true);
        assert!(lb.remove_worker(0));
        assert!(!lb.remove_worker(7));
        assert_eq!(lb.worker_count(), 2);
        assert_eq!(lb.available_count(), 2);
        let id = lb.add_worker(3, Instant::ZERO);
        assert_eq!(id, 2);
        assert_eq!(lb.weight(id), Some(3));
        assert_eq!(lb.available_count(), 3);
    }

    #[test]
    fn pick_excluding_never_returns_the_excluded_worker_and_restores_it() {
        let mut lb = balancer(Algorithm::LeastConnections, 3);
        for _ in 0..20 {
            let w = lb.pick_excluding(Instant::ZERO, 1).unwrap();
            assert_ne!(w, 1);
            lb.on_response(w, Instant::ZERO, ms(1), Outcome::Ok);
        }
        assert!(lb.is_available(1));
        assert_eq!(lb.available_count(), 3);
        let mut one = balancer(Algorithm::RoundRobin, 1);
        assert_eq!(one.pick_excluding(Instant::ZERO, 0), None);
        assert_eq!(one.pick_excluding(Instant::ZERO, 5), Some(0));
    }

    #[test]
    fn a_cancelled_request_leaves_in_flight_and_counts_nowhere_else() {
        let mut lb = balancer(Algorithm::LeastConnections, 2);
        let w = lb.pick(Instant::ZERO).unwrap();
        assert_eq!(lb.in_flight(w), 1);
        lb.on_cancel(w);
        assert_eq!(lb.in_flight(w), 0);
        let s = lb.stats(w).unwrap();
        assert_eq!((s.total_requests(), s.total_errors()), (0, 0));
        lb.on_cancel(w);
        assert_eq!(lb.in_flight(w), 0, "never below zero");
        lb.on_cancel(99);
    }

    #[test]
    fn unknown_worker_ids_are_ignored_not_panics() {
        let mut lb = balancer(Algorithm::PowerOfTwo, 2);
        lb.on_response(9, Instant::ZERO, ms(1), Outcome::Ok);
        assert_eq!(lb.on_probe(9, Instant::ZERO, false), None);
        lb.set_draining(9, true);
        assert_eq!(lb.in_flight(9), 0);
        assert!(lb.stats(9).is_none());
    }
}
