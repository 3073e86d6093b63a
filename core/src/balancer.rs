//! One balancer shard: pool view + algorithm + health + stats, driven by its caller.
//!
//! The caller (the simulator's event loop, or live mode's proxy and probe tasks) owns time and
//! I/O and tells the balancer what happened:
//!
//! - [`Balancer::pick`] when a request arrives: which worker should take it (or none: 503);
//! - [`Balancer::on_response`] when the worker answered, failed, refused or timed out; it returns
//!   the [`Ejection`] when that outcome got the worker ejected;
//! - [`Balancer::on_probe`] with each active health-check result;
//! - [`Balancer::tick`] periodically (every second by default) to expire ejections.
//!
//! A `Balancer` is one *shard*. The whole balancer is [`Control`](crate::Control) over one or
//! more shards ([`Sharded`](crate::Sharded) holds both): the decision engine, pool-wide
//! ejection and every change to the pool go through `Control`, which applies them to every
//! shard. A lone `Balancer` has no engine; it runs the algorithm it is given.
//!
//! Workers have stable [`WorkerId`]s: removing one leaves its slot empty and moves nobody, so
//! the algorithms' cursors survive removals. Each worker carries the caller's *label* (its name
//! in every decision and status) and a *payload* `P` (live mode keeps the address, the request
//! URI's authority and the worker's counters there; the simulator keeps nothing).
//!
//! A worker is *available* when its active health check says up, outlier detection has not
//! ejected it and it is not draining. Algorithms only ever see available workers as candidates,
//! except in *panic mode* (see [`OverloadConfig`]): when fewer than `panic_threshold` percent of
//! the workers not draining are available, the candidates are every worker that is up, ejected
//! or not (and none when no worker is up: a 503 beats requests to dead workers). Admission limits, when set, also
//! leave out workers at `max_in_flight_per_worker`; [`Balancer::try_pick`] tells "no worker"
//! from "overloaded" ([`PickError`]).
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
//! assert_eq!(lb.label(w), Some("w0"));
//! ```

use crate::engine::WorkerObservation;
use crate::health::{
    ActiveConfig, ActiveHealth, OutlierConfig, OutlierDetector, OverloadConfig, PickError, Streak,
    Verdict,
};
use crate::pick::{Algorithm, AnyPicker, Pick, Pool};
use crate::stats::{StatsConfig, WorkerStats};
use crate::time::{Duration, Instant};
pub use crate::worker_id::WorkerId;
use rand::Rng;
use std::sync::Arc;

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

    /// What it tells outlier detection about the worker.
    pub fn verdict(self) -> Verdict {
        match self {
            Outcome::Ok => Verdict::Success,
            Outcome::Error | Outcome::Refused => Verdict::Failure,
            Outcome::Timeout => Verdict::Timeout,
        }
    }
}

/// Everything a balancer needs to know besides its workers.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerConfig {
    /// The algorithm to start with (under an adaptive engine: the engine's baseline instead).
    pub algorithm: Algorithm,
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
            stats: StatsConfig::default(),
            active: ActiveConfig::default(),
            outlier: OutlierConfig::default(),
        }
    }
}

/// Outlier detection took a worker out: until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ejection {
    /// The worker.
    pub worker: WorkerId,
    /// When the ejection ends (unless active checks bring it back first).
    pub until: Instant,
}

#[derive(Debug)]
struct Worker<P> {
    /// `Some` while a worker holds this slot.
    payload: Option<P>,
    generation: u32,
    label: Arc<str>,
    stats: WorkerStats,
    health: ActiveHealth,
    weight: u32,
    draining: bool,
    available: bool,
    /// Up and not draining (ejected or not): a candidate in panic mode.
    up: bool,
    /// In the pool and not draining: a candidate in panic mode when no worker is up.
    open: bool,
}

impl<P> Worker<P> {
    fn in_set(&self, set: Candidates) -> bool {
        match set {
            Candidates::Available => self.available,
            Candidates::Up => self.up,
        }
    }
}

/// Which workers are candidates for a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidates {
    /// The available ones (normal operation).
    Available,
    /// Panic mode: every worker up, ejected or not.
    Up,
}

/// The pool as the algorithms see it at one instant.
struct View<'a, P> {
    workers: &'a [Worker<P>],
    set: Candidates,
    /// Candidates below the in-flight limit, `exclude` left out.
    count: usize,
    /// Most in flight on one candidate (`u32::MAX`: no limit).
    cap: u32,
    exclude: Option<usize>,
    now: Instant,
}

impl<P> View<'_, P> {
    #[inline]
    fn candidate(&self, i: usize) -> bool {
        self.exclude != Some(i)
            && self
                .workers
                .get(i)
                .is_some_and(|w| w.in_set(self.set) && w.stats.in_flight() < self.cap)
    }
}

impl<P> Pool for View<'_, P> {
    #[inline]
    fn len(&self) -> usize {
        self.workers.len()
    }
    #[inline]
    fn available_count(&self) -> usize {
        self.count
    }
    #[inline]
    fn is_available(&self, i: usize) -> bool {
        self.candidate(i)
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

/// One shard of the load balancer's brain. `R` is the injected random number generator, `P`
/// what the caller keeps with each worker.
#[derive(Debug)]
pub struct Balancer<R, P = ()> {
    workers: Vec<Worker<P>>,
    present: usize,
    available: usize,
    up: usize,
    open: usize,
    /// Requests in flight over all workers.
    pending: u64,
    overload: OverloadConfig,
    picker: AnyPicker,
    outlier: OutlierDetector,
    rng: R,
    config: BalancerConfig,
}

impl<R: Rng> Balancer<R> {
    /// A balancer over workers with the given weights (a weight of 0 is taken as 1), all
    /// initially healthy, starting at `now`. Worker `i` gets `WorkerId::first(i)` and the
    /// label `w{i}`.
    pub fn new(config: BalancerConfig, weights: &[u32], rng: R, now: Instant) -> Self {
        let mut b = Balancer::empty(config, rng);
        for (i, &w) in weights.iter().enumerate() {
            b.add_worker(Arc::from(format!("w{i}")), w, (), now);
        }
        b
    }
}

impl<R: Rng, P> Balancer<R, P> {
    /// A balancer with no workers yet, running `config.algorithm`.
    pub fn empty(config: BalancerConfig, rng: R) -> Self {
        Balancer {
            workers: Vec::new(),
            present: 0,
            available: 0,
            up: 0,
            open: 0,
            pending: 0,
            overload: OverloadConfig::default(),
            picker: AnyPicker::new(config.algorithm),
            outlier: OutlierDetector::new(config.outlier, 0),
            rng,
            config,
        }
    }

    #[inline]
    fn get(&self, id: WorkerId) -> Option<&Worker<P>> {
        self.workers
            .get(id.slot())
            .filter(|w| w.generation == id.generation() && w.payload.is_some())
    }

    #[inline]
    fn get_mut(&mut self, id: WorkerId) -> Option<&mut Worker<P>> {
        self.workers
            .get_mut(id.slot())
            .filter(|w| w.generation == id.generation() && w.payload.is_some())
    }

    #[inline]
    fn id_at(&self, slot: usize) -> WorkerId {
        WorkerId::new(slot as u32, self.workers[slot].generation)
    }

    /// Choose a worker for a new request, and count it in flight there. `None` when no worker
    /// is available or the pool is overloaded ([`try_pick`](Self::try_pick) tells which).
    #[inline]
    pub fn pick(&mut self, now: Instant) -> Option<WorkerId> {
        self.try_pick(now).ok()
    }

    /// Choose a worker for a new request, and count it in flight there.
    ///
    /// # Errors
    ///
    /// [`PickError::NoWorker`] when no worker may take requests, [`PickError::Overloaded`] when
    /// some may but the admission limits (`max_pending`, `max_in_flight_per_worker`) are
    /// reached: shed the request at once.
    #[inline]
    pub fn try_pick(&mut self, now: Instant) -> Result<WorkerId, PickError> {
        self.pick_from(now, None)
    }

    /// Like [`pick`](Self::pick), but never `exclude` (a worker that just refused a connection,
    /// when retrying elsewhere). `None` when no other worker is available.
    pub fn pick_excluding(&mut self, now: Instant, exclude: WorkerId) -> Option<WorkerId> {
        self.try_pick_excluding(now, exclude).ok()
    }

    /// Like [`try_pick`](Self::try_pick), but never `exclude`.
    ///
    /// # Errors
    ///
    /// As [`try_pick`](Self::try_pick).
    pub fn try_pick_excluding(
        &mut self,
        now: Instant,
        exclude: WorkerId,
    ) -> Result<WorkerId, PickError> {
        let slot = self.get(exclude).is_some().then_some(exclude.slot());
        self.pick_from(now, slot)
    }

    /// Whether the balancer is in panic mode now (see [`OverloadConfig`]).
    pub fn in_panic(&self) -> bool {
        self.overload.panics(self.available, self.open)
    }

    /// The admission limits and panic threshold in force.
    pub fn overload(&self) -> &OverloadConfig {
        &self.overload
    }

    /// Set the admission limits and panic threshold (for this shard: see
    /// [`Control::set_overload`](crate::Control::set_overload) for a sharded pool).
    pub fn set_overload(&mut self, overload: OverloadConfig) {
        self.overload = overload;
    }

    /// Requests in flight over all workers.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    fn candidates(&self) -> (Candidates, usize) {
        if !self.in_panic() {
            (Candidates::Available, self.available)
        } else {
            // With no worker up, `up` is 0: no pick, a 503 at once. Active checks failing
            // `fall` times in a row are strong evidence; sending requests to dead workers would
            // only turn a quick 503 into refused connections and timeouts.
            (Candidates::Up, self.up)
        }
    }

    fn pick_from(&mut self, now: Instant, exclude: Option<usize>) -> Result<WorkerId, PickError> {
        let (set, mut count) = self.candidates();
        let excluded = exclude.filter(|&i| self.workers[i].in_set(set));
        count -= usize::from(excluded.is_some());
        if count == 0 {
            return Err(PickError::NoWorker);
        }
        let o = self.overload;
        if o.max_pending > 0 && self.pending >= u64::from(o.max_pending) {
            return Err(PickError::Overloaded);
        }
        let cap = match o.max_in_flight_per_worker {
            0 => u32::MAX,
            n => n,
        };
        let mut view = View {
            workers: &self.workers,
            set,
            count,
            cap,
            exclude: excluded,
            now,
        };
        if cap != u32::MAX {
            view.count = (0..self.workers.len())
                .filter(|&i| view.candidate(i))
                .count();
        }
        if view.count == 0 {
            return Err(PickError::Overloaded);
        }
        let w = self
            .picker
            .pick(&view, &mut self.rng)
            .ok_or(PickError::NoWorker)?;
        self.workers[w].stats.on_dispatch();
        self.pending += 1;
        Ok(self.id_at(w))
    }

    /// The end of a request that [`pick`](Self::pick) sent to `worker`, `latency` after it
    /// arrived. Returns the ejection this outcome caused, if it caused one (already applied
    /// here; [`Control`](crate::Control) applies it to the other shards). Unknown workers
    /// (removed since) are ignored.
    #[inline]
    pub fn on_response(
        &mut self,
        worker: WorkerId,
        now: Instant,
        latency: Duration,
        outcome: Outcome,
    ) -> Option<Ejection> {
        let (available, open) = (self.available, self.open);
        let may_eject = self.overload.may_eject(available, open);
        let w = self.get_mut(worker)?;
        let ok = outcome.is_ok();
        let in_flight = w.stats.in_flight();
        w.stats.on_response(now, latency, ok);
        let done = in_flight - w.stats.in_flight();
        // Ejecting a worker that is not available takes nothing more out of rotation.
        let may_eject = may_eject || !w.available;
        self.pending = self.pending.saturating_sub(u64::from(done));
        let until = self
            .outlier
            .on_verdict(worker.slot(), outcome.verdict(), now, may_eject)?;
        self.refresh(worker.slot(), Some(now));
        Some(Ejection { worker, until })
    }

    /// A request that [`pick`](Self::pick) sent to `worker` ended without a verdict on the
    /// worker (its client gave up first): it stops counting in flight, and counts nowhere else
    /// (not in the stats window, not for outlier ejection).
    pub fn on_cancel(&mut self, worker: WorkerId) {
        if let Some(w) = self.get_mut(worker) {
            let in_flight = w.stats.in_flight();
            w.stats.on_cancel();
            let done = in_flight - w.stats.in_flight();
            self.pending = self.pending.saturating_sub(u64::from(done));
        }
    }

    /// One active health-check result for `worker`. Returns `Some(healthy)` when the worker's
    /// health flipped. A worker that active checks bring back up (after `rise` good probes)
    /// also leaves outlier ejection: it was down, it is back, it starts with a clean slate.
    pub fn on_probe(&mut self, worker: WorkerId, now: Instant, ok: bool) -> Option<bool> {
        let flipped = self.get_mut(worker)?.health.observe(ok);
        if flipped == Some(true) {
            self.outlier.reinstate(worker.slot(), now);
        }
        if flipped.is_some() {
            self.refresh(worker.slot(), Some(now));
        }
        flipped
    }

    /// Eject `worker` until `until` because another shard's evidence did (see
    /// [`OutlierDetector::eject`]). Returns whether it was newly ejected here.
    pub fn eject(&mut self, worker: WorkerId, until: Instant, now: Instant) -> bool {
        if self.get(worker).is_none() {
            return false;
        }
        let newly = self.outlier.eject(worker.slot(), until, now);
        self.refresh(worker.slot(), Some(now));
        newly
    }

    /// Periodic housekeeping: brings back workers whose ejection expired at `now`. Returns how
    /// many came back.
    pub fn tick(&mut self, now: Instant) -> usize {
        let back = self.outlier.tick(now);
        if back > 0 {
            for i in 0..self.workers.len() {
                self.refresh(i, Some(now));
            }
        }
        back
    }

    /// What the decision engine sees of each worker at `now`, in slot order, written into `out`
    /// (cleared first). [`Control`](crate::Control) merges these over the shards.
    pub fn observe(&self, now: Instant, out: &mut Vec<WorkerObservation>) {
        out.clear();
        out.extend(
            self.workers
                .iter()
                .enumerate()
                .filter(|(_, w)| w.payload.is_some())
                .map(|(i, w)| WorkerObservation {
                    id: WorkerId::new(i as u32, w.generation),
                    label: Arc::clone(&w.label),
                    available: w.available,
                    weight: w.weight,
                    in_flight: w.stats.in_flight(),
                    window: w.stats.window_summary(now),
                    latency_ewma: w.stats.latency_ewma(),
                    last_response: w.stats.last_response(),
                }),
        );
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

    /// Add a worker (healthy, not draining) named `label`, carrying `payload`. It takes the
    /// lowest empty slot, or a new one: shards given the same additions and removals in the
    /// same order give every worker the same id.
    pub fn add_worker(
        &mut self,
        label: Arc<str>,
        weight: u32,
        payload: P,
        now: Instant,
    ) -> WorkerId {
        self.add_shared_worker(label, weight, payload, Streak::new(), now)
    }

    /// Like [`add_worker`](Self::add_worker), with the worker's run of failures counted in
    /// `streak`, which other shards share (see [`Streak`]).
    pub fn add_shared_worker(
        &mut self,
        label: Arc<str>,
        weight: u32,
        payload: P,
        streak: Streak,
        now: Instant,
    ) -> WorkerId {
        let slot = self
            .workers
            .iter()
            .position(|w| w.payload.is_none())
            .unwrap_or(self.workers.len());
        let fresh = |generation| Worker {
            payload: Some(payload),
            generation,
            label,
            stats: WorkerStats::new(&self.config.stats, now),
            health: ActiveHealth::new(self.config.active, true),
            weight: weight.max(1),
            draining: false,
            available: false,
            up: false,
            open: false,
        };
        if slot == self.workers.len() {
            self.workers.push(fresh(0));
        } else {
            let generation = self.workers[slot].generation.wrapping_add(1);
            self.workers[slot] = fresh(generation);
        }
        self.present += 1;
        self.outlier.occupy(slot, streak);
        self.picker.forget(slot);
        self.refresh(slot, Some(now));
        self.id_at(slot)
    }

    /// Stop sending new requests to `worker` (`true`), or take it back (`false`). Requests in
    /// flight finish normally. Returns whether the worker exists.
    pub fn set_draining(&mut self, worker: WorkerId, draining: bool) -> bool {
        let Some(w) = self.get_mut(worker) else {
            return false;
        };
        w.draining = draining;
        self.refresh(worker.slot(), None);
        true
    }

    /// Remove `worker` from the pool and hand back its payload; no other worker moves, and
    /// responses still in flight for it are ignored when they come. `None` if it was not in
    /// the pool.
    pub fn remove_worker(&mut self, worker: WorkerId) -> Option<P> {
        let slot = worker.slot();
        let w = self.get_mut(worker)?;
        let payload = w.payload.take();
        let in_flight = w.stats.in_flight();
        self.pending = self.pending.saturating_sub(u64::from(in_flight));
        self.refresh(slot, None);
        self.present -= 1;
        self.outlier.vacate(slot);
        self.picker.forget(slot);
        payload
    }

    /// The workers in the pool, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = WorkerId> + '_ {
        self.workers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.payload.is_some())
            .map(|(i, w)| WorkerId::new(i as u32, w.generation))
    }

    /// Number of workers in the pool.
    pub fn worker_count(&self) -> usize {
        self.present
    }

    /// Number of workers that may take requests now.
    pub fn available_count(&self) -> usize {
        self.available
    }

    /// Whether `worker` is in the pool.
    pub fn contains(&self, worker: WorkerId) -> bool {
        self.get(worker).is_some()
    }

    /// The label `worker` was added with.
    pub fn label(&self, worker: WorkerId) -> Option<&str> {
        self.get(worker).map(|w| &*w.label)
    }

    /// What the caller keeps with `worker`.
    #[inline]
    pub fn payload(&self, worker: WorkerId) -> Option<&P> {
        self.get(worker).and_then(|w| w.payload.as_ref())
    }

    /// Whether `worker` may take requests now.
    pub fn is_available(&self, worker: WorkerId) -> bool {
        self.get(worker).is_some_and(|w| w.available)
    }

    /// Whether `worker`'s active health check says up.
    pub fn is_healthy(&self, worker: WorkerId) -> bool {
        self.get(worker).is_some_and(|w| w.health.is_healthy())
    }

    /// Whether outlier detection has ejected `worker`.
    pub fn is_ejected(&self, worker: WorkerId) -> bool {
        self.get(worker).is_some() && self.outlier.is_ejected(worker.slot())
    }

    /// Whether `worker` is draining.
    pub fn is_draining(&self, worker: WorkerId) -> bool {
        self.get(worker).is_some_and(|w| w.draining)
    }

    /// Requests in flight on `worker`.
    pub fn in_flight(&self, worker: WorkerId) -> u32 {
        self.get(worker).map_or(0, |w| w.stats.in_flight())
    }

    /// The stats of `worker`.
    pub fn stats(&self, worker: WorkerId) -> Option<&WorkerStats> {
        self.get(worker).map(|w| &w.stats)
    }

    /// The weight of `worker`.
    pub fn weight(&self, worker: WorkerId) -> Option<u32> {
        self.get(worker).map(|w| w.weight)
    }

    /// Recomputes whether slot `i` is available. A change at a known `now` also pauses or
    /// resumes the worker's peak-EWMA decay (see [`WorkerStats::leave_rotation`]); a drain, which
    /// comes without a time, leaves the estimate to decay as if the worker had been idle.
    fn refresh(&mut self, i: usize, now: Option<Instant>) {
        let ejected = self.outlier.is_ejected(i);
        let Some(w) = self.workers.get_mut(i) else {
            return;
        };
        let open = w.payload.is_some() && !w.draining;
        let up = open && w.health.is_healthy();
        if open != w.open {
            w.open = open;
            bump(&mut self.open, open);
        }
        if up != w.up {
            w.up = up;
            bump(&mut self.up, up);
        }
        let now_available = up && !ejected;
        if now_available != w.available {
            w.available = now_available;
            if now_available {
                self.available += 1;
            } else {
                self.available -= 1;
            }
            match (now, now_available) {
                (Some(t), true) => w.stats.rejoin_rotation(t),
                (Some(t), false) => w.stats.leave_rotation(t),
                (None, _) => {}
            }
        }
    }
}

/// One more (`true`) or one fewer in a count.
fn bump(count: &mut usize, more: bool) {
    if more {
        *count += 1;
    } else {
        *count -= 1;
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

    fn id(i: u32) -> WorkerId {
        WorkerId::first(i)
    }

    #[test]
    fn a_worker_that_fails_fall_probes_takes_no_traffic_until_rise_good_probes() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::ZERO;
        assert_eq!(lb.on_probe(id(1), t, false), None);
        assert_eq!(lb.on_probe(id(1), t, false), None);
        assert_eq!(lb.on_probe(id(1), t, false), Some(false));
        assert_eq!(lb.available_count(), 2);
        for _ in 0..30 {
            let w = lb.pick(t).unwrap();
            assert_ne!(w, id(1));
            lb.on_response(w, t, ms(1), Outcome::Ok);
        }
        assert_eq!(lb.on_probe(id(1), t, true), None);
        assert_eq!(lb.on_probe(id(1), t, true), Some(true));
        assert_eq!(lb.available_count(), 3);
    }

    #[test]
    fn consecutive_failures_eject_and_tick_brings_the_worker_back() {
        let mut lb = balancer(Algorithm::RoundRobin, 4);
        let cfg = lb.config().outlier;
        let t = Instant::from_nanos(1);
        for _ in 1..cfg.consecutive_failures {
            assert_eq!(lb.on_response(id(2), t, ms(1), Outcome::Error), None);
        }
        let e = lb.on_response(id(2), t, ms(1), Outcome::Error);
        assert_eq!(
            e,
            Some(Ejection {
                worker: id(2),
                until: t + cfg.base_ejection
            })
        );
        assert!(lb.is_ejected(id(2)));
        assert!(!lb.is_available(id(2)));
        assert_eq!(
            lb.tick(t + (cfg.base_ejection - Duration::from_nanos(1))),
            0
        );
        assert!(lb.is_ejected(id(2)));
        assert_eq!(lb.tick(t + cfg.base_ejection), 1);
        assert!(lb.is_available(id(2)));
    }

    #[test]
    fn coming_back_up_after_active_checks_ends_an_ejection() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::from_nanos(1);
        for _ in 0..5 {
            lb.on_response(id(0), t, ms(1), Outcome::Refused);
        }
        assert!(lb.is_ejected(id(0)));
        // Probes keep failing while it is down; the ejection stays.
        for _ in 0..3 {
            lb.on_probe(id(0), t, false);
        }
        assert!(lb.is_ejected(id(0)));
        lb.on_probe(id(0), t, true);
        assert_eq!(lb.on_probe(id(0), t, true), Some(true));
        assert!(!lb.is_ejected(id(0)));
        assert!(lb.is_available(id(0)));
    }

    #[test]
    fn an_ejection_from_another_shard_takes_the_worker_out_here() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::from_nanos(1);
        let until = t + Duration::from_secs(30);
        assert!(lb.eject(id(1), until, t));
        assert!(!lb.is_available(id(1)));
        assert_eq!(lb.available_count(), 2);
        assert!(!lb.eject(id(1), until, t), "already out");
        assert!(!lb.eject(WorkerId::new(1, 5), until, t), "not this worker");
        assert_eq!(lb.tick(until), 1);
        assert_eq!(lb.available_count(), 3);
    }

    #[test]
    fn a_slow_worker_back_from_ejection_is_not_taken_for_the_fastest() {
        // Worker 1 answered in 400 ms and was ejected for 30 s; the others answer in 20 ms. Had
        // its peak EWMA decayed while it was out (10 s time constant: to 5% of 400 ms, 20 ms),
        // peak EWMA would herd onto it the moment it returns.
        let mut lb = balancer(Algorithm::PeakEwma, 3);
        let t = Instant::from_nanos(1);
        for w in [0, 2] {
            lb.on_response(id(w), t, ms(20), Outcome::Ok);
        }
        lb.on_response(id(1), t, ms(400), Outcome::Ok);
        let until = t + Duration::from_secs(30);
        assert!(lb.eject(id(1), until, t));
        for w in [0, 2] {
            lb.on_response(id(w), until, ms(20), Outcome::Ok);
        }
        assert_eq!(lb.tick(until), 1);
        let back = lb.stats(id(1)).unwrap().peak_ewma_ns(until);
        assert!((back - 4e8).abs() < 1.0, "kept its 400 ms estimate: {back}");
        let picks = (0..20).filter(|_| lb.pick(until) == Some(id(1))).count();
        assert_eq!(
            picks, 0,
            "never chosen over a 20 ms worker with nothing in flight"
        );
    }

    #[test]
    fn no_available_worker_means_no_pick() {
        let mut lb = balancer(Algorithm::LeastConnections, 2);
        assert!(lb.set_draining(id(0), true));
        assert!(lb.set_draining(id(1), true));
        assert_eq!(lb.pick(Instant::ZERO), None);
        lb.set_draining(id(1), false);
        assert_eq!(lb.pick(Instant::ZERO), Some(id(1)));
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
    fn removing_a_worker_moves_no_other_and_its_slot_is_reused_with_a_new_generation() {
        let mut lb = balancer(Algorithm::RoundRobin, 3);
        let t = Instant::from_nanos(1);
        let busy = lb.pick(t).unwrap();
        assert_eq!(busy, id(0));
        for _ in 0..4 {
            lb.on_response(id(2), t, ms(3), Outcome::Error);
        }
        assert_eq!(lb.remove_worker(id(1)), Some(()));
        assert_eq!(lb.remove_worker(id(1)), None);
        assert_eq!(lb.remove_worker(id(7)), None);
        assert_eq!((lb.worker_count(), lb.available_count()), (2, 2));
        // The others keep their ids, counters and failure streaks.
        assert_eq!(lb.in_flight(id(0)), 1);
        assert_eq!(lb.stats(id(2)).unwrap().total_errors(), 4);
        assert!(lb.on_response(id(2), t, ms(3), Outcome::Error).is_some());
        // A stale response for the removed worker counts nowhere.
        assert_eq!(lb.on_response(id(1), t, ms(1), Outcome::Error), None);
        let new = lb.add_worker("w9".into(), 3, (), t);
        assert_eq!(new, WorkerId::new(1, 1));
        assert_eq!((lb.weight(new), lb.label(new)), (Some(3), Some("w9")));
        assert_eq!(lb.stats(new).unwrap().total_requests(), 0);
        assert!(!lb.contains(id(1)));
        assert_eq!(lb.ids().collect::<Vec<_>>(), [id(0), new, id(2)]);
    }

    #[test]
    fn round_robin_keeps_its_turn_across_a_removal() {
        let mut lb = balancer(Algorithm::RoundRobin, 4);
        let t = Instant::ZERO;
        assert_eq!(lb.pick(t), Some(id(0)));
        assert_eq!(lb.pick(t), Some(id(1)));
        lb.remove_worker(id(0));
        // The cursor survives: the turn goes on to 2, not back to the start.
        assert_eq!(lb.pick(t), Some(id(2)));
        assert_eq!(lb.pick(t), Some(id(3)));
        assert_eq!(lb.pick(t), Some(id(1)));
    }

    #[test]
    fn pick_excluding_never_returns_the_excluded_worker_and_restores_it() {
        let mut lb = balancer(Algorithm::LeastConnections, 3);
        for _ in 0..20 {
            let w = lb.pick_excluding(Instant::ZERO, id(1)).unwrap();
            assert_ne!(w, id(1));
            lb.on_response(w, Instant::ZERO, ms(1), Outcome::Ok);
        }
        assert!(lb.is_available(id(1)));
        assert_eq!(lb.available_count(), 3);
        let mut one = balancer(Algorithm::RoundRobin, 1);
        assert_eq!(one.pick_excluding(Instant::ZERO, id(0)), None);
        assert_eq!(one.pick_excluding(Instant::ZERO, id(5)), Some(id(0)));
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
        lb.on_cancel(id(99));
    }

    /// Eject workers `0..k` as another shard would.
    fn eject_first(lb: &mut Balancer<ChaCha8Rng>, k: u32, t: Instant) {
        for w in 0..k {
            lb.eject(id(w), t + Duration::from_secs(30), t);
        }
    }

    #[test]
    fn below_the_panic_threshold_ejected_workers_take_traffic_again() {
        let mut lb = balancer(Algorithm::RoundRobin, 10);
        let t = Instant::from_nanos(1);
        eject_first(&mut lb, 5, t);
        assert!(!lb.in_panic(), "5 of 10 is not below 50%");
        assert!((0..20).all(|_| lb.pick(t).is_some_and(|w| w.slot() >= 5)));
        eject_first(&mut lb, 6, t);
        assert!(lb.in_panic());
        let mut seen = [false; 10];
        for _ in 0..20 {
            seen[lb.pick(t).unwrap().slot()] = true;
        }
        assert!(seen.iter().all(|&s| s), "all ten take traffic: {seen:?}");
        lb.set_overload(OverloadConfig {
            panic_threshold: 0,
            ..OverloadConfig::default()
        });
        assert!(!lb.in_panic(), "0 disables it");
        assert!((0..20).all(|_| lb.pick(t).is_some_and(|w| w.slot() >= 6)));
    }

    #[test]
    fn panic_mode_avoids_workers_that_are_down_and_none_up_means_no_pick() {
        let mut lb = balancer(Algorithm::RoundRobin, 4);
        let t = Instant::from_nanos(1);
        for w in 0..3 {
            for _ in 0..3 {
                lb.on_probe(id(w), t, false);
            }
        }
        assert!(lb.in_panic());
        assert!(
            (0..8).all(|_| lb.pick(t) == Some(id(3))),
            "only the worker up"
        );
        lb.set_draining(id(3), true);
        assert_eq!(lb.try_pick(t), Err(PickError::NoWorker), "none up: no pick");
        assert_eq!(lb.pick_excluding(t, id(0)), None);
    }

    #[test]
    fn ejection_never_takes_the_available_share_below_the_threshold() {
        let mut lb = balancer(Algorithm::RoundRobin, 4);
        let t = Instant::from_nanos(1);
        for w in 0..4 {
            for _ in 0..10 {
                lb.on_response(id(w), t, ms(1), Outcome::Error);
            }
        }
        // max_ejection_percent (50) allows 2; the panic threshold (50) allows 2 too.
        assert_eq!(lb.available_count(), 2);
        let mut lb = balancer(Algorithm::RoundRobin, 10);
        lb.outlier = OutlierDetector::new(
            OutlierConfig {
                max_ejection_percent: 100,
                ..OutlierConfig::default()
            },
            10,
        );
        for w in 0..10 {
            for _ in 0..10 {
                lb.on_response(id(w), t, ms(1), Outcome::Refused);
            }
        }
        assert_eq!(lb.available_count(), 5, "ejection stops at 50% available");
        assert!(!lb.in_panic());
    }

    #[test]
    fn admission_limits_answer_overloaded_not_no_worker() {
        let mut lb = balancer(Algorithm::LeastConnections, 2);
        let t = Instant::from_nanos(1);
        lb.set_overload(OverloadConfig {
            max_in_flight_per_worker: 2,
            ..OverloadConfig::default()
        });
        let picks: Vec<_> = (0..4).map(|_| lb.try_pick(t).unwrap()).collect();
        assert_eq!(lb.try_pick(t), Err(PickError::Overloaded));
        assert_eq!(lb.pending(), 4);
        lb.on_response(picks[0], t, ms(1), Outcome::Ok);
        assert_eq!(lb.try_pick(t), Ok(picks[0]), "room again on that worker");
        lb.on_cancel(picks[1]);
        assert_eq!(lb.pending(), 3);
        lb.set_overload(OverloadConfig {
            max_pending: 3,
            ..OverloadConfig::default()
        });
        assert_eq!(lb.try_pick(t), Err(PickError::Overloaded));
        lb.set_draining(id(0), true);
        lb.set_draining(id(1), true);
        assert_eq!(lb.try_pick(t), Err(PickError::NoWorker));
        lb.remove_worker(id(0));
        assert_eq!(lb.pending(), lb.in_flight(id(1)) as u64);
    }

    #[test]
    fn timeouts_across_the_pool_eject_nobody_but_a_hanging_worker_is_ejected() {
        let mut lb = balancer(Algorithm::RoundRobin, 10);
        let t = Instant::from_nanos(1);
        // Overload: every worker times out alike.
        for _ in 0..20 {
            for w in 0..10 {
                lb.on_response(id(w), t, ms(1000), Outcome::Timeout);
            }
        }
        assert_eq!(lb.available_count(), 10, "overload is not a bad worker");
        // Later, the pool answers and one worker hangs.
        let t = t + Duration::from_secs(11);
        lb.tick(t);
        lb.tick(t + Duration::from_secs(6));
        for _ in 0..5 {
            for w in 1..10 {
                lb.on_response(id(w), t, ms(10), Outcome::Ok);
            }
        }
        let ejected = (0..5).any(|_| {
            lb.on_response(id(0), t, ms(1000), Outcome::Timeout)
                .is_some()
        });
        assert!(ejected && lb.is_ejected(id(0)));
    }

    #[test]
    fn unknown_worker_ids_are_ignored_not_panics() {
        let mut lb = balancer(Algorithm::PowerOfTwo, 2);
        assert_eq!(
            lb.on_response(id(9), Instant::ZERO, ms(1), Outcome::Ok),
            None
        );
        assert_eq!(lb.on_probe(id(9), Instant::ZERO, false), None);
        assert!(!lb.set_draining(id(9), true));
        assert_eq!(lb.in_flight(id(9)), 0);
        assert!(lb.stats(id(9)).is_none());
        assert!(lb.stats(WorkerId::new(0, 1)).is_none(), "wrong generation");
    }
}
