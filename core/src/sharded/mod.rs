//! The whole balancer: [`Control`] over one or more [`Balancer`] shards, the one composition
//! that the simulator and live mode both drive.
//!
//! A live balancer serves connections on every core. One core [`Balancer`] behind one lock would
//! make every request wait for that lock, so live mode runs one balancer *shard* per core, as
//! Envoy runs one load balancer per worker thread, and gives each connection to one shard: the
//! request path (pick, response, cancel) touches that shard only. What must be global is
//! [`Control`]'s: the worker table, pool-wide ejection, the decision engine and the algorithm;
//! it applies every change to all shards (see its docs).
//!
//! [`Sharded`] holds a `Control` and its shards in one value, which is how the simulator drives
//! them (`[balancer] shards = N` in a scenario, one by default). Live mode holds the same
//! `Control` and the same `Balancer`s each behind its own lock, and calls the same methods:
//! whatever the simulator shows about this composition is about the object live mode serves
//! with.
//!
//! # What each shard sees
//!
//! - **Least connections, power of two, peak EWMA** compare the in-flight counts and latencies
//!   of the shard's own requests: with two shards, each balances the half of the traffic it
//!   carries (Envoy's per-thread balancers do the same).
//! - **Passive health** counts consecutive failures per shard, but an ejection is pool-wide: the
//!   shard that sees the fifth failure in a row ejects the worker everywhere, once.
//! - **Active health, draining, removal, the algorithm** are the same in every shard.
//! - **The decision engine** sees the pool: the shards' windows merged worker by worker.
//!
//! ```
//! use lb_core::{Algorithm, BalancerConfig, Duration, Instant, Outcome, Sharded};
//! use rand::SeedableRng;
//! use rand_chacha::ChaCha8Rng;
//!
//! let config = BalancerConfig::new(Algorithm::RoundRobin);
//! let mut lb = Sharded::new(config, None, 2, |i| ChaCha8Rng::seed_from_u64(i as u64));
//! let now = Instant::ZERO;
//! let a = lb.add_worker("10.0.0.1:80", 1, (), now).unwrap();
//! let b = lb.add_worker("10.0.0.2:80", 1, (), now).unwrap();
//! // Five failures in a row, all seen by shard 1, eject the worker in both shards, once.
//! for _ in 0..5 {
//!     let w = lb.pick_excluding(1, now, b).unwrap();
//!     lb.on_response(1, w, now, Duration::from_millis(1), Outcome::Error);
//! }
//! assert!(lb.shard(0).is_ejected(a) && lb.shard(1).is_ejected(a));
//! assert_eq!(lb.control().ejections(), 1);
//! assert_eq!(lb.pick(0, now), Some(b));
//! ```

mod control;
mod merge;
mod shards;
mod status;

pub use control::{Control, ControlError};
pub use shards::Shards;
pub use status::{PoolStatus, WorkerStatus};

use crate::balancer::{Balancer, BalancerConfig, Ejection, Outcome};
use crate::engine::{Decision, DecisionEngine, Mode};
use crate::health::{OverloadConfig, PickError};
use crate::pick::Algorithm;
use crate::time::{Duration, Instant};
use crate::worker_id::WorkerId;
use rand::Rng;

/// [`Control`] and its shards in one owner. See the [module docs](self).
#[derive(Debug)]
pub struct Sharded<R, P = ()> {
    control: Control,
    shards: Vec<Balancer<R, P>>,
}

impl<R: Rng, P: Clone> Sharded<R, P> {
    /// `shards` shards (at least one) built with `config`, shard `i` drawing from `rng(i)`, and
    /// `engine` if the pool is to be adaptive (or watched). No workers yet.
    pub fn new(
        config: BalancerConfig,
        engine: Option<DecisionEngine>,
        shards: usize,
        mut rng: impl FnMut(usize) -> R,
    ) -> Self {
        let control = Control::new(config, engine);
        let shards = (0..shards.max(1)).map(|i| control.shard(rng(i))).collect();
        Sharded { control, shards }
    }

    /// See [`Control::add_worker`].
    ///
    /// # Errors
    ///
    /// [`ControlError::DuplicateLabel`] when a worker of that name is in the pool already.
    pub fn add_worker(
        &mut self,
        label: &str,
        weight: u32,
        payload: P,
        now: Instant,
    ) -> Result<WorkerId, ControlError> {
        self.control
            .add_worker(&mut self.shards, label, weight, payload, now)
    }

    /// See [`Control::remove_worker`].
    pub fn remove_worker(&mut self, worker: WorkerId) -> bool {
        self.control.remove_worker(&mut self.shards, worker)
    }

    /// See [`Control::set_draining`].
    pub fn set_draining(&mut self, worker: WorkerId, draining: bool) -> bool {
        self.control
            .set_draining(&mut self.shards, worker, draining)
    }

    /// Choose a worker in `shard` for a new request (see [`Balancer::pick`]).
    #[inline]
    pub fn pick(&mut self, shard: usize, now: Instant) -> Option<WorkerId> {
        self.shards[shard].pick(now)
    }

    /// Choose a worker in `shard`, telling "no worker" from "overloaded" (see
    /// [`Balancer::try_pick`]).
    ///
    /// # Errors
    ///
    /// As [`Balancer::try_pick`].
    #[inline]
    pub fn try_pick(&mut self, shard: usize, now: Instant) -> Result<WorkerId, PickError> {
        self.shards[shard].try_pick(now)
    }

    /// See [`Control::set_overload`].
    pub fn set_overload(&mut self, overload: OverloadConfig) {
        self.control.set_overload(&mut self.shards, overload);
    }

    /// Choose a worker in `shard` other than `exclude` (see [`Balancer::pick_excluding`]).
    pub fn pick_excluding(
        &mut self,
        shard: usize,
        now: Instant,
        exclude: WorkerId,
    ) -> Option<WorkerId> {
        self.shards[shard].pick_excluding(now, exclude)
    }

    /// The end of a request that `shard` sent to `worker`. An ejection it causes is applied to
    /// every shard ([`Control::on_ejection`]) and returned.
    #[inline]
    pub fn on_response(
        &mut self,
        shard: usize,
        worker: WorkerId,
        now: Instant,
        latency: Duration,
        outcome: Outcome,
    ) -> Option<Ejection> {
        let e = self.shards[shard].on_response(worker, now, latency, outcome)?;
        self.control.on_ejection(&mut self.shards, e, now);
        Some(e)
    }

    /// A request `shard` sent to `worker` ended without a verdict (see [`Balancer::on_cancel`]).
    pub fn on_cancel(&mut self, shard: usize, worker: WorkerId) {
        self.shards[shard].on_cancel(worker);
    }

    /// See [`Control::on_probe`].
    pub fn on_probe(&mut self, worker: WorkerId, now: Instant, ok: bool) -> Option<bool> {
        self.control.on_probe(&mut self.shards, worker, now, ok)
    }

    /// See [`Control::tick`].
    pub fn tick(&mut self, now: Instant) -> Option<Decision> {
        self.control.tick(&mut self.shards, now)
    }

    /// See [`Control::pin`].
    pub fn pin(&mut self, now: Instant, algorithm: Algorithm) {
        self.control.pin(&mut self.shards, now, algorithm);
    }

    /// See [`Control::set_algorithm`].
    pub fn set_algorithm(&mut self, algorithm: Algorithm) -> Algorithm {
        self.control.set_algorithm(&mut self.shards, algorithm)
    }

    /// See [`Control::set_mode`].
    pub fn set_mode(&mut self, mode: Mode) -> bool {
        self.control.set_mode(mode)
    }

    /// See [`Control::status`].
    pub fn status(&mut self, now: Instant) -> PoolStatus {
        self.control.status(&mut self.shards, now)
    }

    /// The global part.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Shard `i`, to read.
    pub fn shard(&self, i: usize) -> &Balancer<R, P> {
        &self.shards[i]
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The algorithm every shard runs.
    pub fn algorithm(&self) -> Algorithm {
        self.control.algorithm()
    }
}

#[cfg(test)]
mod tests;
