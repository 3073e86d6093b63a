//! The balancer's shared state: core's sharded composition ([`Control`] over [`Balancer`]
//! shards, the very object the simulator drives) with a lock around each part.
//!
//! Each shard (one per core by default) sits behind its own mutex, and every client connection
//! is assigned a shard when it is accepted: all its requests pick and book in that shard only,
//! so the proxy path never touches a lock shared by every request, and a shard's lock is held
//! for the O(1) bookkeeping of a pick or a response (an O(N) scan for least connections), never
//! across an await. [`Control`] sits behind a mutex of its own, taken by the health checker, the
//! engine tick, the admin API and, rarely, a response that got its worker ejected; lock order is
//! control, then one shard at a time. Everything that is logic (pool-wide ejection, the engine
//! over merged observations, applying changes to every shard, merging status) is core's; this
//! module adds only the locks, the clock and what the proxy keeps with each worker (its address
//! as a URI authority and header value, and its counters).
//!
//! Workers are named by their address: it is their label in core, so decisions, status and
//! metrics all say `127.0.0.1:9001`.

use super::metrics::counters::{ProxyMetrics, WorkerMetrics};
use hyper::http::HeaderValue;
use hyper::http::uri::Authority;
use lb_core::engine::{Decision, DecisionEngine, EngineConfig, Mode};
use lb_core::health::{OverloadConfig, PickError};
use lb_core::time::{Clock, Duration, SystemClock};
use lb_core::{
    Algorithm, Balancer, BalancerConfig, Control, ControlError, Instant, Outcome, Shards, WorkerId,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(test)]
mod tests;
mod view;

pub use view::{DecisionView, Status, WorkerStatus};

/// What the proxy keeps with each worker, in every shard.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `addr` as a URI authority, ready to build request URIs.
    pub authority: Authority,
    /// `addr` as a header value, for the `x-lb-worker` response header (built once).
    pub header: HeaderValue,
    /// Its counters and latency histogram.
    pub metrics: Arc<WorkerMetrics>,
}

/// One worker as the live balancer knows it.
#[derive(Debug, Clone)]
pub struct WorkerEntry {
    /// Its stable id in core.
    pub id: WorkerId,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `addr` as a URI authority.
    pub authority: Authority,
    /// Its counters and latency histogram.
    pub metrics: Arc<WorkerMetrics>,
}

/// The worker chosen for one request.
#[derive(Debug, Clone)]
pub struct Picked {
    /// The shard that picked it, where the response is booked.
    pub shard: usize,
    /// Its id, for booking the response.
    pub id: WorkerId,
    /// Where to send it.
    pub authority: Authority,
    /// The worker's address as a header value.
    pub header: HeaderValue,
    /// Where to count it.
    pub metrics: Arc<WorkerMetrics>,
}

/// Why an admin change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    /// No worker has that address.
    #[error("no worker {0}")]
    UnknownWorker(SocketAddr),
    /// A worker with that address is already in the pool.
    #[error("worker {0} is already in the pool")]
    DuplicateWorker(SocketAddr),
    /// The address cannot be used as a URI authority.
    #[error("bad worker address {0}")]
    BadAddress(SocketAddr),
    /// The address can never be a worker (unspecified, multicast, link-local, the balancer).
    #[error("worker address {addr}: {reason}")]
    Unusable {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: &'static str,
    },
}

/// One shard and its counters (counted under its lock, so no counter is shared by every
/// request).
struct Cell {
    lb: Balancer<ChaCha8Rng, Endpoint>,
    /// Requests received by connections of this shard.
    requests: u64,
    /// Times this shard's lock was taken.
    locks: u64,
}

/// Everything the proxy, the health checker, the engine task and the admin API share.
pub struct Shared {
    shards: Vec<Mutex<Cell>>,
    control: Mutex<Control>,
    clock: SystemClock,
    /// The balancer's own listeners: never a worker.
    own: Mutex<Vec<SocketAddr>>,
    /// Balancer-level counters (503, 504, 502, retries, lock contention).
    pub proxy: ProxyMetrics,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// The shards lent to [`Control`] one at a time, each under its lock.
struct Locked<'a>(&'a Shared);

impl Shards<ChaCha8Rng, Endpoint> for Locked<'_> {
    fn count(&self) -> usize {
        self.0.shards.len()
    }

    fn with<T>(&mut self, i: usize, f: impl FnOnce(&mut Balancer<ChaCha8Rng, Endpoint>) -> T) -> T {
        f(&mut self.0.shard(i).lb)
    }
}

fn authority(addr: SocketAddr) -> Result<Authority, StateError> {
    addr.to_string()
        .parse::<Authority>()
        .map_err(|_| StateError::BadAddress(addr))
}

impl Shared {
    /// A balancer over `workers` (address, weight) with one shard. `adaptive` starts the engine
    /// in adaptive mode; otherwise the engine watches in manual mode with `config.algorithm`
    /// pinned.
    pub fn new(
        config: BalancerConfig,
        engine: EngineConfig,
        adaptive: bool,
        workers: &[(SocketAddr, u32)],
        seed: u64,
    ) -> Result<Arc<Self>, StateError> {
        Self::with_shards(config, engine, adaptive, workers, seed, 1)
    }

    /// Like [`new`](Self::new) with `shards` shards (at least one).
    pub fn with_shards(
        config: BalancerConfig,
        engine: EngineConfig,
        adaptive: bool,
        workers: &[(SocketAddr, u32)],
        seed: u64,
        shards: usize,
    ) -> Result<Arc<Self>, StateError> {
        let mut engine = DecisionEngine::new(engine);
        if !adaptive {
            engine.set_mode(Mode::Manual);
        }
        let control = Control::new(config, Some(engine));
        let shards = (0..shards.max(1))
            .map(|i| {
                let rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64));
                Mutex::new(Cell {
                    lb: control.shard(rng),
                    requests: 0,
                    locks: 0,
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            shards,
            control: Mutex::new(control),
            clock: SystemClock::new(),
            own: Mutex::new(Vec::new()),
            proxy: ProxyMetrics::default(),
        });
        for &(addr, weight) in workers {
            shared.add_worker(addr, weight)?;
        }
        Ok(shared)
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Cell> {
        use std::sync::TryLockError;
        use std::sync::atomic::Ordering::Relaxed;
        let m = &self.shards[i % self.shards.len()];
        // Count contention, so `/metrics` shows whether a shard lock ever matters. A panic while
        // holding it cannot leave core torn in a way that matters more than stopping the proxy
        // would: keep serving.
        let mut g = match m.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.proxy.lock_contended.fetch_add(1, Relaxed);
                m.lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        g.locks += 1;
        g
    }

    /// Requests received and shard-lock takes, summed over the shards (for `/metrics`).
    pub fn shard_totals(&self) -> (u64, u64) {
        let mut totals = (0, 0);
        for i in 0..self.shards.len() {
            let g = self.shard(i);
            totals.0 += g.requests;
            totals.1 += g.locks;
        }
        totals
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Now, on the balancer's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    fn picked(cell: &Cell, shard: usize, id: WorkerId) -> Option<Picked> {
        let e = cell.lb.payload(id)?;
        Some(Picked {
            shard,
            id,
            authority: e.authority.clone(),
            header: e.header.clone(),
            metrics: Arc::clone(&e.metrics),
        })
    }

    /// Choose a worker for a request of a connection of `shard` (counted in flight there), or
    /// `None` (503).
    #[inline]
    pub fn pick(&self, shard: usize) -> Option<Picked> {
        let now = self.now();
        let shard = shard % self.shards.len();
        let mut g = self.shard(shard);
        g.requests += 1;
        let id = g.lb.pick(now)?;
        Self::picked(&g, shard, id)
    }

    /// Like [`pick`](Self::pick), telling apart an empty pool (`NoWorker`) from admission
    /// control shedding the request (`Overloaded`: the in-flight limits are reached).
    ///
    /// # Errors
    ///
    /// [`PickError`] when no worker may take the request.
    pub fn try_pick(&self, shard: usize) -> Result<Picked, PickError> {
        let now = self.now();
        let shard = shard % self.shards.len();
        let mut g = self.shard(shard);
        g.requests += 1;
        let id = g.lb.try_pick(now)?;
        Self::picked(&g, shard, id).ok_or(PickError::NoWorker)
    }

    /// The panic threshold and admission limits, in every shard (each enforces its share).
    pub fn set_overload(&self, overload: OverloadConfig) {
        self.control().set_overload(&mut Locked(self), overload);
    }

    /// Choose a worker other than `exclude` (retrying after a refused connection).
    pub fn pick_excluding(&self, shard: usize, exclude: WorkerId) -> Option<Picked> {
        let now = self.now();
        let shard = shard % self.shards.len();
        let mut g = self.shard(shard);
        let id = g.lb.pick_excluding(now, exclude)?;
        Self::picked(&g, shard, id)
    }

    /// Book the end of the request `picked` went to. If that got the worker ejected, the
    /// ejection goes to every shard (core's [`Control::on_ejection`]).
    #[inline]
    pub fn on_response(&self, picked: &Picked, latency: Duration, outcome: Outcome) {
        let now = self.now();
        let ejection = self
            .shard(picked.shard)
            .lb
            .on_response(picked.id, now, latency, outcome);
        if let Some(e) = ejection {
            let mut c = self.control();
            if c.on_ejection(&mut Locked(self), e, now) {
                let name = c.label(e.worker).unwrap_or("?");
                let secs = e.until.saturating_since(now).as_secs_f64();
                tracing::warn!("worker {name} ejected for {secs:.0} s (consecutive failures)");
            }
        }
    }

    /// The request `picked` went to ended without a verdict (the client gave up): it leaves the
    /// in-flight count and nothing else.
    pub fn on_cancel(&self, picked: &Picked) {
        self.shard(picked.shard).lb.on_cancel(picked.id);
    }

    /// Book an active health-check result in every shard. Returns `Some(healthy)` when the
    /// worker flipped.
    pub fn on_probe(&self, id: WorkerId, ok: bool) -> Option<bool> {
        let now = self.now();
        self.control().on_probe(&mut Locked(self), id, now, ok)
    }

    /// Housekeeping in every shard, then the decision engine on the merged observations; returns
    /// the switch made (already applied to every shard), if any.
    pub fn tick(&self) -> Option<Decision> {
        let now = self.now();
        self.control().tick(&mut Locked(self), now)
    }

    /// Pin `algorithm` (manual mode), as `PUT /admin/algorithm` does.
    pub fn set_algorithm(&self, algorithm: Algorithm) {
        let now = self.now();
        self.control().pin(&mut Locked(self), now, algorithm);
    }

    /// `adaptive` or `manual`, as `PUT /admin/mode` does.
    pub fn set_mode(&self, mode: Mode) {
        self.control().set_mode(mode);
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.control().algorithm()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.control().mode()
    }

    /// Every switch so far.
    pub fn decisions(&self) -> Vec<DecisionView> {
        self.control()
            .decisions()
            .iter()
            .map(DecisionView::from)
            .collect()
    }

    /// The workers, in pool order, for the health checker and metrics.
    pub fn workers(&self) -> Vec<WorkerEntry> {
        let c = self.control();
        let g = self.shard(0);
        c.workers()
            .filter_map(|(id, _)| {
                let e = g.lb.payload(id)?;
                Some(WorkerEntry {
                    id,
                    addr: e.addr,
                    authority: e.authority.clone(),
                    metrics: Arc::clone(&e.metrics),
                })
            })
            .collect()
    }

    /// Record the balancer's own listen addresses: [`add_worker`](Self::add_worker) refuses
    /// them from now on.
    pub fn set_own_addrs(&self, own: &[SocketAddr]) {
        *self.own.lock().unwrap_or_else(|p| p.into_inner()) = own.to_vec();
    }

    /// Add a worker; it starts healthy and takes traffic at once. An address that can never be
    /// a worker (see [`unusable_worker`](super::config::unusable_worker)) is refused.
    pub fn add_worker(&self, addr: SocketAddr, weight: u32) -> Result<WorkerId, StateError> {
        let own = self.own.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(reason) = super::config::unusable_worker(addr, &own) {
            return Err(StateError::Unusable { addr, reason });
        }
        let auth = authority(addr)?;
        let header =
            HeaderValue::from_str(auth.as_str()).map_err(|_| StateError::BadAddress(addr))?;
        let endpoint = Endpoint {
            addr,
            authority: auth,
            header,
            metrics: Arc::new(WorkerMetrics::default()),
        };
        let now = self.now();
        self.control()
            .add_worker(&mut Locked(self), &addr.to_string(), weight, endpoint, now)
            .map_err(|e| match e {
                ControlError::DuplicateLabel(_) => StateError::DuplicateWorker(addr),
                ControlError::NoShards => StateError::BadAddress(addr),
            })
    }

    fn id_of(c: &Control, addr: SocketAddr) -> Result<WorkerId, StateError> {
        c.find(&addr.to_string())
            .ok_or(StateError::UnknownWorker(addr))
    }

    /// Stop (or resume) sending new requests to `addr`; in-flight requests finish.
    pub fn set_draining(&self, addr: SocketAddr, draining: bool) -> Result<(), StateError> {
        let mut c = self.control();
        let id = Self::id_of(&c, addr)?;
        c.set_draining(&mut Locked(self), id, draining);
        Ok(())
    }

    /// Remove `addr` from the pool. Requests in flight to it finish; their responses are not
    /// booked. No other worker's state changes.
    pub fn remove_worker(&self, addr: SocketAddr) -> Result<(), StateError> {
        let mut c = self.control();
        let id = Self::id_of(&c, addr)?;
        c.remove_worker(&mut Locked(self), id);
        Ok(())
    }

    /// Requests in flight to `addr` over all shards, if it is in the pool.
    pub fn in_flight(&self, addr: SocketAddr) -> Option<u32> {
        let c = self.control();
        let id = Self::id_of(&c, addr).ok()?;
        c.in_flight(&mut Locked(self), id)
    }
}
