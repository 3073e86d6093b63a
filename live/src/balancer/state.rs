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
use lb_core::stats::{LogHistogram, WindowSnapshot};
use lb_core::time::{Clock, Duration, SystemClock};
use lb_core::{Algorithm, Balancer, BalancerConfig, Instant, Outcome};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// One worker in `/admin/status`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerStatus {
    /// Where it listens.
    pub addr: String,
    /// Weight.
    pub weight: u32,
    /// Active health check says up.
    pub healthy: bool,
    /// Ejected by outlier detection.
    pub ejected: bool,
    /// Draining: no new requests.
    pub draining: bool,
    /// Takes new requests.
    pub available: bool,
    /// Requests in flight.
    pub in_flight: u32,
    /// Responses since start.
    pub requests_total: u64,
    /// Failures since start.
    pub errors_total: u64,
    /// Responses in the stats window.
    pub window_requests: u64,
    /// Error rate in the window.
    pub window_error_rate: f64,
    /// Window percentiles, ms (absent without traffic).
    pub p50_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Latency EWMA, ms.
    pub ewma_ms: Option<f64>,
}

/// `/admin/status`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    /// The algorithm in use.
    pub algorithm: String,
    /// `adaptive` or `manual`.
    pub mode: String,
    /// The engine's switch window, seconds.
    pub window_s: f64,
    /// Switches so far (engine and operator).
    pub switches: usize,
    /// Outlier ejections so far.
    pub ejections: u64,
    /// Workers that take requests now.
    pub available: usize,
    /// The workers, in pool order.
    pub workers: Vec<WorkerStatus>,
}

/// One switch in `/admin/decisions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DecisionView {
    /// Seconds since the balancer started.
    pub t_s: f64,
    /// Before.
    pub from: String,
    /// After.
    pub to: String,
    /// The condition, or `manual`.
    pub condition: String,
    /// The numbers.
    pub detail: String,
}

impl From<&Decision> for DecisionView {
    fn from(d: &Decision) -> Self {
        DecisionView {
            t_s: d.at.as_secs_f64(),
            from: d.from.name().to_string(),
            to: d.to.name().to_string(),
            condition: d.reason.name().to_string(),
            detail: d.detail.clone(),
        }
    }
}

fn authority(addr: SocketAddr) -> Result<Authority, StateError> {
    addr.to_string()
        .parse::<Authority>()
        .map_err(|_| StateError::BadAddress(addr))
}

/// Merge one shard's observations into the running merge (`first`: the merge is empty).
fn merge_observations(merged: &mut Vec<WorkerObservation>, o: &[WorkerObservation], first: bool) {
    if first {
        merged.clear();
        merged.extend_from_slice(o);
        return;
    }
    for (m, x) in merged.iter_mut().zip(o) {
        let (a, b) = (m.window, x.window);
        let requests = a.requests + b.requests;
        let errors = a.errors + b.errors;
        let weighted = |p: Option<lb_core::time::Duration>,
                        np: u64,
                        q: Option<lb_core::time::Duration>,
                        nq: u64| {
            let total = np + nq;
            if total == 0 {
                return p.or(q);
            }
            let ns = p.map_or(0.0, |d| d.as_nanos() as f64) * np as f64
                + q.map_or(0.0, |d| d.as_nanos() as f64) * nq as f64;
            Some(lb_core::time::Duration::from_nanos(
                (ns / total as f64) as u64,
            ))
        };
        m.window = WindowSnapshot {
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            mean: weighted(a.mean, a.requests, b.mean, b.requests),
            error_mean: weighted(a.error_mean, a.errors, b.error_mean, b.errors),
            p50: None,
            p90: None,
            p99: None,
            span: a.span.max(b.span),
        };
        m.latency_ewma = weighted(m.latency_ewma, a.requests, x.latency_ewma, b.requests);
        m.available |= x.available;
        m.in_flight += x.in_flight;
        m.last_response = m.last_response.max(x.last_response);
    }
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

    /// Everything `/admin/status` shows, merged over the shards.
    pub fn status(&self) -> Status {
        let now = self.now();
        let c = self.control();
        let n = c.workers.len();
        let mut rows: Vec<WorkerStatus> = c
            .workers
            .iter()
            .map(|w| WorkerStatus {
                addr: w.addr.to_string(),
                weight: 1,
                healthy: true,
                ejected: false,
                draining: false,
                available: false,
                in_flight: 0,
                requests_total: 0,
                errors_total: 0,
                window_requests: 0,
                window_error_rate: 0.0,
                p50_ms: None,
                p90_ms: None,
                p99_ms: None,
                ewma_ms: None,
            })
            .collect();
        let mut hist: Vec<LogHistogram> = vec![LogHistogram::new(); n];
        let mut errors = vec![0u64; n];
        let mut ewma_sum = vec![(0.0f64, 0u64); n];
        let (mut ejections, mut available) = (0u64, 0usize);
        self.each_shard(|s| {
            ejections += s.lb.ejections();
            for (i, r) in rows.iter_mut().enumerate() {
                let Some(stats) = s.lb.stats(i) else { continue };
                let win = stats.window_summary(now);
                r.weight = s.lb.weight(i).unwrap_or(1);
                r.healthy = s.lb.is_healthy(i);
                r.draining = s.lb.is_draining(i);
                r.ejected |= s.lb.is_ejected(i);
                r.available |= s.lb.is_available(i);
                r.in_flight += s.lb.in_flight(i);
                r.requests_total += stats.total_requests();
                r.errors_total += stats.total_errors();
                r.window_requests += win.requests;
                errors[i] += win.errors;
                hist[i].merge(&stats.window_histogram(now));
                if let Some(e) = stats.latency_ewma() {
                    ewma_sum[i].0 += e.as_millis_f64() * win.requests.max(1) as f64;
                    ewma_sum[i].1 += win.requests.max(1);
                }
            }
        });
        for (i, r) in rows.iter_mut().enumerate() {
            if r.window_requests > 0 {
                r.window_error_rate = errors[i] as f64 / r.window_requests as f64;
            }
            let q = |p: f64| hist[i].quantile(p).map(|ns| ns as f64 / 1e6);
            r.p50_ms = q(0.5);
            r.p90_ms = q(0.9);
            r.p99_ms = q(0.99);
            r.ewma_ms = (ewma_sum[i].1 > 0).then(|| ewma_sum[i].0 / ewma_sum[i].1 as f64);
            available += usize::from(r.available);
        }
        Status {
            algorithm: c.algorithm.name().to_string(),
            mode: c.engine.mode().name().to_string(),
            window_s: c.engine.config().window.as_secs_f64(),
            switches: c.engine.log().len(),
            ejections,
            available,
            workers: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_shards(n: usize) -> Arc<Shared> {
        let workers: Vec<(SocketAddr, u32)> = (1..=n)
            .map(|i| (format!("127.0.0.1:{i}").parse().unwrap(), 1))
            .collect();
        Shared::with_shards(
            BalancerConfig::new(Algorithm::RoundRobin),
            EngineConfig::default(),
            false,
            &workers,
            1,
            2,
        )
        .unwrap()
    }

    #[test]
    fn shards_pick_independently_and_status_sums_them() {
        let s = two_shards(3);
        let a = s.pick(0).unwrap();
        let b = s.pick(1).unwrap();
        assert_eq!((a.shard, b.shard), (0, 1));
        // Each shard runs its own round robin: both start at the first worker.
        assert_eq!(a.key, b.key);
        let st = s.status();
        assert_eq!(st.workers[0].in_flight, 2);
        s.on_response(&a, Duration::from_millis(10), Outcome::Ok);
        s.on_response(&b, Duration::from_millis(30), Outcome::Error);
        let st = s.status();
        assert_eq!(st.workers[0].in_flight, 0);
        assert_eq!(st.workers[0].requests_total, 2);
        assert_eq!(st.workers[0].errors_total, 1);
        assert_eq!(st.workers[0].window_requests, 2);
        assert_eq!(st.workers[0].window_error_rate, 0.5);
        assert!(st.workers[0].p99_ms.unwrap() > 25.0);
    }

    #[test]
    fn health_and_admin_changes_reach_every_shard() {
        let s = two_shards(2);
        let k = s.workers()[1].key;
        for _ in 0..3 {
            s.on_probe(k, false);
        }
        for shard in 0..2 {
            for _ in 0..4 {
                let p = s.pick(shard).unwrap();
                assert_ne!(p.key, k, "shard {shard} picked a down worker");
                s.on_response(&p, Duration::from_millis(1), Outcome::Ok);
            }
        }
        s.set_algorithm(Algorithm::LeastConnections);
        assert_eq!(s.status().algorithm, "least_connections");
        for i in 0..2 {
            assert_eq!(s.shard(i).lb.algorithm(), Algorithm::LeastConnections);
        }
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        s.add_worker(addr, 2).unwrap();
        s.set_draining(addr, true).unwrap();
        for i in 0..2 {
            assert_eq!(s.shard(i).lb.worker_count(), 3);
            assert!(s.shard(i).lb.is_draining(2));
        }
        s.remove_worker(addr).unwrap();
        assert_eq!(s.status().workers.len(), 2);
        assert_eq!(s.remove_worker(addr), Err(StateError::UnknownWorker(addr)));
    }

    #[test]
    fn merged_observations_sum_counts_and_weight_means() {
        let obs = |requests: u64, errors: u64, mean_ms: u64| WorkerObservation {
            available: requests > 0,
            weight: 1,
            in_flight: 1,
            window: WindowSnapshot {
                requests,
                errors,
                mean: Some(Duration::from_millis(mean_ms)),
                error_mean: (errors > 0).then(|| Duration::from_millis(1)),
                span: Duration::from_secs(10),
                ..WindowSnapshot::default()
            },
            latency_ewma: Some(Duration::from_millis(mean_ms)),
            last_response: None,
        };
        let mut m = Vec::new();
        merge_observations(&mut m, &[obs(100, 10, 10)], true);
        merge_observations(&mut m, &[obs(300, 0, 30)], false);
        let w = &m[0];
        assert_eq!(
            (w.window.requests, w.window.errors, w.in_flight),
            (400, 10, 2)
        );
        assert_eq!(w.window.error_rate, 10.0 / 400.0);
        assert_eq!(w.window.mean, Some(Duration::from_millis(25)));
        assert_eq!(w.window.error_mean, Some(Duration::from_millis(1)));
        assert_eq!(w.latency_ewma, Some(Duration::from_millis(25)));
        assert!(w.available);
    }
}
