//! The balancer's shared state, sharded as Envoy shards its load balancers per worker thread.
//!
//! The core [`Balancer`] is a single-owner state machine (the same code the simulator drives).
//! Rather than one global lock around it, the live balancer runs one core balancer per *shard*
//! (one per core by default), each behind its own mutex, over the same workers. Every client
//! connection is assigned a shard when it is accepted, and all its requests pick and book in that
//! shard only: the proxy path never touches a lock shared by every request, and a shard's lock
//! is held for the O(1) bookkeeping of a pick or a response (an O(N) scan for least
//! connections), never across an await. Counters and histograms for `/metrics` are atomics.
//!
//! What must be global is done off the request path, by the *control* part (its own mutex, taken
//! by the health checker, the engine tick and the admin API; lock order: control, then shards):
//!
//! - health-check results are applied to every shard, so all agree on who is up;
//! - the one [`DecisionEngine`] ticks on the shards' observations merged worker by worker
//!   (counts summed, means weighted), and its switches are applied to every shard;
//! - admin changes (pin, add, drain, remove) are applied to every shard;
//! - status merges the shards (in flight and totals summed, window histograms merged).
//!
//! Each shard sees its own connections' in-flight counts and its own failures, as Envoy's
//! per-thread balancers do: least connections balances within a shard, and passive ejection
//! counts failures per shard (a worker ejected by one shard may still take another's requests).
//!
//! Workers have stable keys: core indexes workers by position, and positions shift when a worker
//! is removed, so every request remembers the key of the worker it went to and the response is
//! booked against whatever position that key has by then (or dropped if the worker is gone).

use super::metrics::{ProxyMetrics, WorkerMetrics};
use hyper::http::HeaderValue;
use hyper::http::uri::Authority;
use lb_core::engine::{
    Decision, DecisionEngine, EngineConfig, Mode, Observation, WorkerObservation,
};
use lb_core::time::{Clock, Duration, SystemClock};
use lb_core::{Algorithm, Balancer, BalancerConfig, Instant, Outcome};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

mod merge;
#[cfg(test)]
mod tests;
mod view;

use merge::merge_observations;
pub use view::{DecisionView, Status, WorkerStatus};

/// A worker's stable id.
pub type WorkerKey = u64;

/// One worker as the live balancer knows it.
#[derive(Debug, Clone)]
pub struct WorkerEntry {
    /// Stable id.
    pub key: WorkerKey,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `addr` as a URI authority, ready to build request URIs.
    pub authority: Authority,
    /// `addr` as a header value, for the `x-lb-worker` response header (built once).
    pub header: HeaderValue,
    /// Its counters and latency histogram.
    pub metrics: Arc<WorkerMetrics>,
}

/// The worker chosen for one request.
#[derive(Debug, Clone)]
pub struct Picked {
    /// The shard that picked it, where the response is booked.
    pub shard: usize,
    /// Its position in the shard when picked: where to look first when booking (positions
    /// shift only when a worker is removed).
    pub index: usize,
    /// Stable id, for booking the response.
    pub key: WorkerKey,
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
}

/// One shard: a core balancer and the worker entries in its index order.
struct Shard {
    lb: Balancer<ChaCha8Rng>,
    workers: Vec<WorkerEntry>,
    /// Requests received by connections of this shard (counted under its lock).
    requests: u64,
    /// Times this shard's lock was taken (counted under it).
    locks: u64,
}

impl Shard {
    fn index_of(&self, key: WorkerKey) -> Option<usize> {
        self.workers.iter().position(|w| w.key == key)
    }

    /// Where `key` is now: at `hint` unless a removal moved it.
    fn locate(&self, key: WorkerKey, hint: usize) -> Option<usize> {
        match self.workers.get(hint) {
            Some(w) if w.key == key => Some(hint),
            _ => self.index_of(key),
        }
    }

    fn picked(&self, shard: usize, i: usize) -> Picked {
        let w = &self.workers[i];
        Picked {
            shard,
            index: i,
            key: w.key,
            authority: w.authority.clone(),
            header: w.header.clone(),
            metrics: Arc::clone(&w.metrics),
        }
    }
}

/// What is global: the worker table, the decision engine and the current algorithm.
struct Control {
    workers: Vec<WorkerEntry>,
    next_key: WorkerKey,
    engine: DecisionEngine,
    algorithm: Algorithm,
    merged: Vec<WorkerObservation>,
    scratch: Vec<WorkerObservation>,
}

/// Everything the proxy, the health checker, the engine task and the admin API share.
pub struct Shared {
    shards: Vec<Mutex<Shard>>,
    control: Mutex<Control>,
    clock: SystemClock,
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
        mut config: BalancerConfig,
        engine: EngineConfig,
        adaptive: bool,
        workers: &[(SocketAddr, u32)],
        seed: u64,
        shards: usize,
    ) -> Result<Arc<Self>, StateError> {
        let clock = SystemClock::new();
        let now = clock.now();
        let mut engine = DecisionEngine::new(engine);
        let algorithm = if adaptive {
            engine.config().baseline
        } else {
            engine.set_mode(Mode::Manual);
            config.algorithm
        };
        config.algorithm = algorithm;
        config.engine = None;
        let shards = (0..shards.max(1))
            .map(|i| {
                Mutex::new(Shard {
                    lb: Balancer::new(
                        config.clone(),
                        &[],
                        ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64)),
                        now,
                    ),
                    workers: Vec::new(),
                    requests: 0,
                    locks: 0,
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            shards,
            control: Mutex::new(Control {
                workers: Vec::new(),
                next_key: 1,
                engine,
                algorithm,
                merged: Vec::new(),
                scratch: Vec::new(),
            }),
            clock,
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

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
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

    /// Apply `f` to every shard, in order (call with the control lock held).
    fn each_shard(&self, mut f: impl FnMut(&mut Shard)) {
        for i in 0..self.shards.len() {
            f(&mut self.shard(i));
        }
    }

    /// Now, on the balancer's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Choose a worker for a request of a connection of `shard` (counted in flight there), or
    /// `None` (503).
    #[inline]
    pub fn pick(&self, shard: usize) -> Option<Picked> {
        let now = self.now();
        let mut g = self.shard(shard);
        g.requests += 1;
        let i = g.lb.pick(now)?;
        Some(g.picked(shard, i))
    }

    /// Choose a worker other than `exclude` (retrying after a refused connection).
    pub fn pick_excluding(&self, shard: usize, exclude: WorkerKey) -> Option<Picked> {
        let now = self.now();
        let mut g = self.shard(shard);
        let i = match g.index_of(exclude) {
            Some(x) => g.lb.pick_excluding(now, x)?,
            None => g.lb.pick(now)?,
        };
        Some(g.picked(shard, i))
    }

    /// Book the end of the request `picked` went to.
    #[inline]
    pub fn on_response(&self, picked: &Picked, latency: Duration, outcome: Outcome) {
        let now = self.now();
        let mut g = self.shard(picked.shard);
        if let Some(i) = g.locate(picked.key, picked.index) {
            g.lb.on_response(i, now, latency, outcome);
        }
    }

    /// The request `picked` went to ended without a verdict (the client gave up): it leaves the
    /// in-flight count and nothing else.
    pub fn on_cancel(&self, picked: &Picked) {
        let mut g = self.shard(picked.shard);
        if let Some(i) = g.locate(picked.key, picked.index) {
            g.lb.on_cancel(i);
        }
    }

    /// Book an active health-check result in every shard. Returns `Some(healthy)` when the
    /// worker flipped.
    pub fn on_probe(&self, key: WorkerKey, ok: bool) -> Option<bool> {
        let now = self.now();
        let _c = self.control();
        let mut flipped = None;
        self.each_shard(|s| {
            if let Some(i) = s.index_of(key) {
                flipped = flipped.or(s.lb.on_probe(i, now, ok));
            }
        });
        flipped
    }

    /// Housekeeping in every shard, then the decision engine on the merged observations; returns
    /// the switch made (already applied to every shard), if any.
    pub fn tick(&self) -> Option<Decision> {
        let now = self.now();
        let mut c = self.control();
        let c = &mut *c;
        let mut first = true;
        for i in 0..self.shards.len() {
            let mut g = self.shard(i);
            g.lb.tick(now);
            g.lb.observe(now, &mut c.scratch);
            merge_observations(&mut c.merged, &c.scratch, first);
            first = false;
        }
        let d = c.engine.tick(
            &Observation {
                now,
                workers: &c.merged,
            },
            c.algorithm,
        )?;
        c.algorithm = d.to;
        self.each_shard(|s| s.lb.set_algorithm(d.to));
        Some(d)
    }

    /// Pin `algorithm` (manual mode), as `PUT /admin/algorithm` does.
    pub fn set_algorithm(&self, algorithm: Algorithm) {
        let now = self.now();
        let mut c = self.control();
        let from = c.algorithm;
        c.engine.pin(now, from, algorithm);
        c.algorithm = algorithm;
        self.each_shard(|s| s.lb.set_algorithm(algorithm));
    }

    /// `adaptive` or `manual`, as `PUT /admin/mode` does.
    pub fn set_mode(&self, mode: Mode) {
        self.control().engine.set_mode(mode);
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.control().algorithm
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.control().engine.mode()
    }

    /// Every switch so far.
    pub fn decisions(&self) -> Vec<DecisionView> {
        self.control()
            .engine
            .log()
            .iter()
            .map(DecisionView::from)
            .collect()
    }

    /// The workers, in pool order, for the health checker and metrics.
    pub fn workers(&self) -> Vec<WorkerEntry> {
        self.control().workers.clone()
    }

    /// Add a worker; it starts healthy and takes traffic at once.
    pub fn add_worker(&self, addr: SocketAddr, weight: u32) -> Result<WorkerKey, StateError> {
        let auth = authority(addr)?;
        let now = self.now();
        let mut c = self.control();
        if c.workers.iter().any(|w| w.addr == addr) {
            return Err(StateError::DuplicateWorker(addr));
        }
        let key = c.next_key;
        c.next_key += 1;
        let header =
            HeaderValue::from_str(auth.as_str()).map_err(|_| StateError::BadAddress(addr))?;
        let entry = WorkerEntry {
            key,
            addr,
            authority: auth,
            header,
            metrics: Arc::new(WorkerMetrics::default()),
        };
        self.each_shard(|s| {
            s.lb.add_worker(weight, now);
            s.workers.push(entry.clone());
        });
        c.workers.push(entry);
        Ok(key)
    }

    fn position(c: &Control, addr: SocketAddr) -> Result<usize, StateError> {
        c.workers
            .iter()
            .position(|w| w.addr == addr)
            .ok_or(StateError::UnknownWorker(addr))
    }

    /// Stop (or resume) sending new requests to `addr`; in-flight requests finish.
    pub fn set_draining(&self, addr: SocketAddr, draining: bool) -> Result<(), StateError> {
        let c = self.control();
        let i = Self::position(&c, addr)?;
        self.each_shard(|s| s.lb.set_draining(i, draining));
        Ok(())
    }

    /// Remove `addr` from the pool. Requests in flight to it finish; their responses are not
    /// booked.
    pub fn remove_worker(&self, addr: SocketAddr) -> Result<(), StateError> {
        let mut c = self.control();
        let i = Self::position(&c, addr)?;
        self.each_shard(|s| {
            s.lb.remove_worker(i);
            s.workers.remove(i);
        });
        c.workers.remove(i);
        Ok(())
    }

    /// Requests in flight to `addr` over all shards, if it is in the pool.
    pub fn in_flight(&self, addr: SocketAddr) -> Option<u32> {
        let c = self.control();
        let i = Self::position(&c, addr).ok()?;
        let mut n = 0;
        self.each_shard(|s| n += s.lb.in_flight(i));
        Some(n)
    }
}
