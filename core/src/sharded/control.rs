//! What is global over the shards: the worker table, pool-wide ejection, the one decision
//! engine and the algorithm every shard runs.
//!
//! Every method that changes the pool takes the shards ([`Shards`]) and applies the change to
//! each of them in order, so they all agree on who is in the pool, who is up, who is ejected
//! and which algorithm runs:
//!
//! - **workers** are added, drained and removed in every shard; each shard gives a new worker
//!   the same [`WorkerId`] (the lowest empty slot), and labels are unique;
//! - **active health** results are booked in every shard;
//! - **passive health**: a worker's failures in a row are one run for the pool (a [`Streak`]
//!   every shard shares), so a dead worker fails no more often before its ejection than behind
//!   one shard; the shard whose failure ends the run ejects it and reports the
//!   [`Ejection`]; [`Control::on_ejection`] ejects it in every other shard until the same
//!   instant, and counts it once (two shards that eject the same worker at the same time are
//!   one ejection);
//! - **the engine** ticks on the shards' observations merged worker by worker (one shard: its
//!   observation as it is), and its switches, like an operator's pin or a script's
//!   [`Control::set_algorithm`], go to every shard.

use super::merge::merge_observations;
use super::shards::Shards;
use super::status::{PoolStatus, WorkerStatus};
use crate::balancer::{Balancer, BalancerConfig, Ejection};
use crate::engine::{Decision, DecisionEngine, Mode, Observation, WorkerObservation};
use crate::health::{OverloadConfig, Streak};
use crate::pick::Algorithm;
use crate::stats::LogHistogram;
use crate::time::{Duration, Instant};
use crate::worker_id::WorkerId;
use rand::Rng;
use std::sync::Arc;

/// Why a change to the pool was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// Labels name workers in decisions and status: they must be unique.
    #[error("a worker named {0} is already in the pool")]
    DuplicateLabel(String),
    /// A pool needs at least one shard to hold its workers.
    #[error("the balancer has no shards")]
    NoShards,
}

#[derive(Debug, Clone)]
struct Entry {
    id: WorkerId,
    label: Arc<str>,
    /// The pool-wide ejection in force, once a shard reported one.
    ejected_until: Option<Instant>,
}

/// The global part of a sharded balancer. See the [module docs](self).
#[derive(Debug)]
pub struct Control {
    config: BalancerConfig,
    /// By slot.
    entries: Vec<Option<Entry>>,
    engine: Option<DecisionEngine>,
    overload: OverloadConfig,
    ejections: u64,
    merged: Vec<WorkerObservation>,
    scratch: Vec<WorkerObservation>,
}

impl Control {
    /// Control over shards built with `config`. With an engine in adaptive mode the pool starts
    /// on the engine's baseline algorithm, otherwise on `config.algorithm` (an engine in manual
    /// mode watches and logs, and can be handed control later).
    pub fn new(mut config: BalancerConfig, engine: Option<DecisionEngine>) -> Self {
        if let Some(e) = engine.as_ref().filter(|e| e.mode() == Mode::Adaptive) {
            config.algorithm = e.config().baseline;
        }
        Control {
            config,
            entries: Vec::new(),
            engine,
            overload: OverloadConfig::default(),
            ejections: 0,
            merged: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// A new, empty shard running the current algorithm, to be given to this control before any
    /// worker is added.
    pub fn shard<R: Rng, P>(&self, rng: R) -> Balancer<R, P> {
        Balancer::empty(self.config.clone(), rng)
    }

    fn entry(&self, id: WorkerId) -> Option<&Entry> {
        self.entries
            .get(id.slot())
            .and_then(Option::as_ref)
            .filter(|e| e.id == id)
    }

    fn entry_mut(&mut self, id: WorkerId) -> Option<&mut Entry> {
        self.entries
            .get_mut(id.slot())
            .and_then(Option::as_mut)
            .filter(|e| e.id == id)
    }

    /// Add a worker named `label` to every shard; it starts healthy and takes traffic at once.
    ///
    /// # Errors
    ///
    /// [`ControlError::DuplicateLabel`] when a worker of that name is in the pool already,
    /// [`ControlError::NoShards`] when `shards` is empty.
    pub fn add_worker<R: Rng, P: Clone, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        label: &str,
        weight: u32,
        payload: P,
        now: Instant,
    ) -> Result<WorkerId, ControlError> {
        if self.find(label).is_some() {
            return Err(ControlError::DuplicateLabel(label.to_string()));
        }
        let label: Arc<str> = Arc::from(label);
        let streak = Streak::new();
        let mut id = None;
        for i in 0..shards.count() {
            let got = shards.with(i, |s| {
                let label = Arc::clone(&label);
                s.add_shared_worker(label, weight, payload.clone(), streak.clone(), now)
            });
            debug_assert!(id.is_none_or(|x| x == got), "every shard gives the same id");
            id = Some(got);
        }
        let id = id.ok_or(ControlError::NoShards)?;
        if self.entries.len() <= id.slot() {
            self.entries.resize(id.slot() + 1, None);
        }
        self.entries[id.slot()] = Some(Entry {
            id,
            label,
            ejected_until: None,
        });
        Ok(id)
    }

    /// Remove `worker` from every shard. Requests in flight to it finish; their responses are
    /// not booked. Returns whether it was in the pool.
    pub fn remove_worker<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        worker: WorkerId,
    ) -> bool {
        if self.entry(worker).is_none() {
            return false;
        }
        for i in 0..shards.count() {
            shards.with(i, |s| s.remove_worker(worker));
        }
        self.entries[worker.slot()] = None;
        true
    }

    /// Stop (or resume) sending new requests to `worker`, in every shard. Returns whether it is
    /// in the pool.
    pub fn set_draining<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        worker: WorkerId,
        draining: bool,
    ) -> bool {
        if self.entry(worker).is_none() {
            return false;
        }
        for i in 0..shards.count() {
            shards.with(i, |s| s.set_draining(worker, draining));
        }
        true
    }

    /// One active health-check result, booked in every shard. Returns `Some(healthy)` when the
    /// worker's health flipped. Coming back up ends a pool-wide ejection.
    pub fn on_probe<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        worker: WorkerId,
        now: Instant,
        ok: bool,
    ) -> Option<bool> {
        self.entry(worker)?;
        let mut flipped = None;
        for i in 0..shards.count() {
            flipped = flipped.or(shards.with(i, |s| s.on_probe(worker, now, ok)));
        }
        if flipped == Some(true)
            && let Some(e) = self.entry_mut(worker)
        {
            e.ejected_until = None;
        }
        flipped
    }

    /// A shard ejected a worker on its own evidence: eject it in every shard until the same
    /// instant. Returns whether this was a new ejection (counted); a report for a worker already
    /// ejected pool-wide (another shard saw it at the same time) only aligns the shards on the
    /// ejection in force.
    pub fn on_ejection<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        ejection: Ejection,
        now: Instant,
    ) -> bool {
        let Some(e) = self.entry_mut(ejection.worker) else {
            return false;
        };
        let (until, new) = match e.ejected_until {
            Some(until) if until > now => (until, false),
            _ => (ejection.until, true),
        };
        e.ejected_until = Some(until);
        if new {
            self.ejections += 1;
        }
        for i in 0..shards.count() {
            shards.with(i, |s| s.eject(ejection.worker, until, now));
        }
        new
    }

    /// Housekeeping in every shard (expired ejections end), then the decision engine on the
    /// merged observations. Returns the switch made, already applied to every shard.
    pub fn tick<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        now: Instant,
    ) -> Option<Decision> {
        let watch = self.engine.is_some();
        for i in 0..shards.count() {
            let scratch = &mut self.scratch;
            shards.with(i, |s| {
                s.tick(now);
                if watch {
                    s.observe(now, scratch);
                }
            });
            if watch {
                merge_observations(&mut self.merged, &self.scratch, i == 0);
            }
        }
        let engine = self.engine.as_mut()?;
        let obs = Observation {
            now,
            workers: &self.merged,
        };
        let d = engine.tick(&obs, self.config.algorithm)?;
        self.apply(shards, d.to);
        Some(d)
    }

    /// The operator's override: run `algorithm` from now on. With an engine this also puts it
    /// in manual mode (it keeps watching but stops switching) and logs the change.
    pub fn pin<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        now: Instant,
        algorithm: Algorithm,
    ) {
        let from = self.config.algorithm;
        if let Some(e) = self.engine.as_mut() {
            e.pin(now, from, algorithm);
        }
        self.apply(shards, algorithm);
    }

    /// Run `algorithm` in every shard from now on, the way the engine's switches are applied,
    /// but without the engine: it is neither consulted nor told, and nothing is logged. This is
    /// a script's switch (the simulator's `scripted` and `oracle` runs, which log their own).
    /// Returns the algorithm before.
    pub fn set_algorithm<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        algorithm: Algorithm,
    ) -> Algorithm {
        let from = self.config.algorithm;
        self.apply(shards, algorithm);
        from
    }

    fn apply<R: Rng, P, S: Shards<R, P> + ?Sized>(&mut self, shards: &mut S, to: Algorithm) {
        self.config.algorithm = to;
        for i in 0..shards.count() {
            shards.with(i, |s| s.set_algorithm(to));
        }
    }

    /// Hand control to the engine (`Adaptive`) or take it (`Manual`). Returns false when there
    /// is no engine.
    pub fn set_mode(&mut self, mode: Mode) -> bool {
        match self.engine.as_mut() {
            Some(e) => {
                e.set_mode(mode);
                true
            }
            None => false,
        }
    }

    /// The algorithm every shard runs.
    pub fn algorithm(&self) -> Algorithm {
        self.config.algorithm
    }

    /// Who chooses the algorithm: `Manual` without an engine.
    pub fn mode(&self) -> Mode {
        self.engine.as_ref().map_or(Mode::Manual, |e| e.mode())
    }

    /// The decision engine, if there is one.
    pub fn engine(&self) -> Option<&DecisionEngine> {
        self.engine.as_ref()
    }

    /// Set the panic threshold and admission limits for the pool, in every shard: each shard
    /// enforces its share of the limits ([`OverloadConfig::per_shard`]). Shards given to this
    /// control later should get [`shard_overload`](Self::shard_overload).
    pub fn set_overload<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &mut self,
        shards: &mut S,
        overload: OverloadConfig,
    ) {
        self.overload = overload;
        let each = overload.per_shard(shards.count());
        for i in 0..shards.count() {
            shards.with(i, |s| s.set_overload(each));
        }
    }

    /// The panic threshold and admission limits of the pool.
    pub fn overload(&self) -> &OverloadConfig {
        &self.overload
    }

    /// One shard's share of the pool's limits, with `shards` shards.
    pub fn shard_overload(&self, shards: usize) -> OverloadConfig {
        self.overload.per_shard(shards)
    }

    /// Every switch the engine (or an operator) made.
    pub fn decisions(&self) -> &[Decision] {
        self.engine.as_ref().map_or(&[], |e| e.log())
    }

    /// Outlier ejections so far, each counted once.
    pub fn ejections(&self) -> u64 {
        self.ejections
    }

    /// The workers, in pool (slot) order, with their labels.
    pub fn workers(&self) -> impl Iterator<Item = (WorkerId, &str)> + '_ {
        self.entries.iter().flatten().map(|e| (e.id, &*e.label))
    }

    /// Number of workers in the pool.
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether the pool has no workers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The worker named `label`.
    pub fn find(&self, label: &str) -> Option<WorkerId> {
        self.entries
            .iter()
            .flatten()
            .find(|e| &*e.label == label)
            .map(|e| e.id)
    }

    /// The name of `worker`.
    pub fn label(&self, worker: WorkerId) -> Option<&str> {
        self.entry(worker).map(|e| &*e.label)
    }

    /// Requests in flight to `worker` over all shards, if it is in the pool.
    pub fn in_flight<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &self,
        shards: &mut S,
        worker: WorkerId,
    ) -> Option<u32> {
        self.entry(worker)?;
        let mut n = 0;
        for i in 0..shards.count() {
            n += shards.with(i, |s| s.in_flight(worker));
        }
        Some(n)
    }

    /// The pool merged over the shards, as an operator sees it at `now`.
    pub fn status<R: Rng, P, S: Shards<R, P> + ?Sized>(
        &self,
        shards: &mut S,
        now: Instant,
    ) -> PoolStatus {
        let mut rows: Vec<WorkerStatus> = self
            .entries
            .iter()
            .flatten()
            .map(|e| WorkerStatus {
                id: e.id,
                label: Arc::clone(&e.label),
                weight: 1,
                healthy: true,
                ejected: false,
                draining: false,
                available: false,
                in_flight: 0,
                requests_total: 0,
                errors_total: 0,
                window_requests: 0,
                window_errors: 0,
                window_latency: LogHistogram::new(),
                latency_ewma: None,
            })
            .collect();
        let mut ewma = vec![(0.0f64, 0u64); rows.len()];
        for i in 0..shards.count() {
            shards.with(i, |s| {
                for (r, e) in rows.iter_mut().zip(&mut ewma) {
                    merge_worker(r, e, s, now);
                }
            });
        }
        for (r, (sum, n)) in rows.iter_mut().zip(ewma) {
            r.latency_ewma = (n > 0).then(|| Duration::from_nanos((sum / n as f64) as u64));
        }
        let engine = self.engine.as_ref();
        PoolStatus {
            algorithm: self.config.algorithm,
            mode: self.mode(),
            window: engine.map_or(Duration::ZERO, |e| e.config().window),
            switches: engine.map_or(0, |e| e.log().len()),
            ejections: self.ejections,
            available: rows.iter().filter(|r| r.available).count(),
            workers: rows,
        }
    }
}

/// Add one shard's view of a worker to its status row (`ewma`: the running weighted sum of the
/// shards' latency EWMAs, ns, and its weight).
fn merge_worker<R: Rng, P>(
    r: &mut WorkerStatus,
    ewma: &mut (f64, u64),
    s: &Balancer<R, P>,
    now: Instant,
) {
    let Some(stats) = s.stats(r.id) else { return };
    let win = stats.window_summary(now);
    r.weight = s.weight(r.id).unwrap_or(1);
    r.healthy = s.is_healthy(r.id);
    r.draining = s.is_draining(r.id);
    r.ejected |= s.is_ejected(r.id);
    r.available |= s.is_available(r.id);
    r.in_flight += s.in_flight(r.id);
    r.requests_total += stats.total_requests();
    r.errors_total += stats.total_errors();
    r.window_requests += win.requests;
    r.window_errors += win.errors;
    r.window_latency.merge(&stats.window_histogram(now));
    if let Some(e) = stats.latency_ewma() {
        let w = win.requests.max(1);
        ewma.0 += e.as_nanos() as f64 * w as f64;
        ewma.1 += w;
    }
}
