//! The balancer's shared state: the core [`Balancer`] (algorithm, health, stats, decision
//! engine) and the worker table, behind one mutex, plus lock-free metrics.
//!
//! The mutex guards the core state machine, which is single-owner by design (it is the same code
//! the simulator drives). It is held only for the O(1) bookkeeping of a pick or a response (an
//! O(N) scan for least connections), never across an await, and the proxy takes it twice per
//! request. Counters and latency histograms for `/metrics` are atomics outside the lock.
//!
//! Workers have stable ids: core indexes workers by position, and positions shift when a worker
//! is removed, so every request remembers the id of the worker it went to and the response is
//! booked against whatever position that id has by then (or dropped if the worker is gone).

use super::metrics::{ProxyMetrics, WorkerMetrics};
use hyper::http::uri::Authority;
use lb_core::engine::{Decision, EngineConfig, Mode};
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
    /// Its counters and latency histogram.
    pub metrics: Arc<WorkerMetrics>,
}

/// The worker chosen for one request.
#[derive(Debug, Clone)]
pub struct Picked {
    /// Stable id, for booking the response.
    pub key: WorkerKey,
    /// Where to send it.
    pub authority: Authority,
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

struct Inner {
    lb: Balancer<ChaCha8Rng>,
    workers: Vec<WorkerEntry>,
    next_key: WorkerKey,
}

impl Inner {
    fn index_of(&self, key: WorkerKey) -> Option<usize> {
        self.workers.iter().position(|w| w.key == key)
    }
}

/// Everything the proxy, the health checker, the engine task and the admin API share.
pub struct Shared {
    inner: Mutex<Inner>,
    clock: SystemClock,
    /// Balancer-level counters (503, 504, 502, retries).
    pub proxy: ProxyMetrics,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
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

impl Shared {
    /// A balancer over `workers` (address, weight). `adaptive` starts the engine in adaptive
    /// mode; otherwise the engine watches in manual mode with `algorithm` pinned.
    pub fn new(
        mut config: BalancerConfig,
        engine: EngineConfig,
        adaptive: bool,
        workers: &[(SocketAddr, u32)],
        seed: u64,
    ) -> Result<Arc<Self>, StateError> {
        let clock = SystemClock::new();
        let now = clock.now();
        let pinned = config.algorithm;
        config.engine = Some(engine);
        let mut lb = Balancer::new(config, &[], ChaCha8Rng::seed_from_u64(seed), now);
        if !adaptive {
            lb.set_mode(Mode::Manual);
            lb.set_algorithm(pinned);
        }
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                lb,
                workers: Vec::new(),
                next_key: 1,
            }),
            clock,
            proxy: ProxyMetrics::default(),
        });
        for &(addr, weight) in workers {
            shared.add_worker(addr, weight)?;
        }
        Ok(shared)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        use std::sync::TryLockError;
        use std::sync::atomic::Ordering::Relaxed;
        self.proxy.lock_acquired.fetch_add(1, Relaxed);
        // Count contention, so `/metrics` shows whether this one lock ever matters. A panic
        // while holding it cannot leave core torn in a way that matters more than stopping the
        // proxy would: keep serving.
        match self.inner.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.proxy.lock_contended.fetch_add(1, Relaxed);
                self.inner.lock().unwrap_or_else(|p| p.into_inner())
            }
        }
    }

    /// Now, on the balancer's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Choose a worker for a request (counted in flight), or `None` (503).
    #[inline]
    pub fn pick(&self) -> Option<Picked> {
        let now = self.now();
        let mut g = self.lock();
        let i = g.lb.pick(now)?;
        let w = &g.workers[i];
        Some(Picked {
            key: w.key,
            authority: w.authority.clone(),
            metrics: Arc::clone(&w.metrics),
        })
    }

    /// Choose a worker other than `exclude` (retrying after a refused connection).
    pub fn pick_excluding(&self, exclude: WorkerKey) -> Option<Picked> {
        let now = self.now();
        let mut g = self.lock();
        let i = match g.index_of(exclude) {
            Some(x) => g.lb.pick_excluding(now, x)?,
            None => g.lb.pick(now)?,
        };
        let w = &g.workers[i];
        Some(Picked {
            key: w.key,
            authority: w.authority.clone(),
            metrics: Arc::clone(&w.metrics),
        })
    }

    /// Book the end of a request sent to `key`.
    #[inline]
    pub fn on_response(&self, key: WorkerKey, latency: Duration, outcome: Outcome) {
        let now = self.now();
        let mut g = self.lock();
        if let Some(i) = g.index_of(key) {
            g.lb.on_response(i, now, latency, outcome);
        }
    }

    /// Book an active health-check result. Returns `Some(healthy)` when the worker flipped.
    pub fn on_probe(&self, key: WorkerKey, ok: bool) -> Option<bool> {
        let now = self.now();
        let mut g = self.lock();
        let i = g.index_of(key)?;
        g.lb.on_probe(i, now, ok)
    }

    /// Housekeeping and the decision engine; returns the switch made, if any.
    pub fn tick(&self) -> Option<Decision> {
        let now = self.now();
        self.lock().lb.tick(now)
    }

    /// Pin `algorithm` (manual mode), as `PUT /admin/algorithm` does.
    pub fn set_algorithm(&self, algorithm: Algorithm) {
        let now = self.now();
        self.lock().lb.pin(now, algorithm);
    }

    /// `adaptive` or `manual`, as `PUT /admin/mode` does.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().lb.set_mode(mode);
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.lock().lb.algorithm()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.lock().lb.mode()
    }

    /// Every switch so far.
    pub fn decisions(&self) -> Vec<DecisionView> {
        self.lock()
            .lb
            .decisions()
            .iter()
            .map(DecisionView::from)
            .collect()
    }

    /// The workers (key, address), for the health checker and metrics.
    pub fn workers(&self) -> Vec<WorkerEntry> {
        self.lock().workers.clone()
    }

    /// Add a worker; it starts healthy and takes traffic at once.
    pub fn add_worker(&self, addr: SocketAddr, weight: u32) -> Result<WorkerKey, StateError> {
        let auth = authority(addr)?;
        let now = self.now();
        let mut g = self.lock();
        if g.workers.iter().any(|w| w.addr == addr) {
            return Err(StateError::DuplicateWorker(addr));
        }
        let key = g.next_key;
        g.next_key += 1;
        g.lb.add_worker(weight, now);
        g.workers.push(WorkerEntry {
            key,
            addr,
            authority: auth,
            metrics: Arc::new(WorkerMetrics::default()),
        });
        Ok(key)
    }

    /// Stop (or resume) sending new requests to `addr`; in-flight requests finish.
    pub fn set_draining(&self, addr: SocketAddr, draining: bool) -> Result<(), StateError> {
        let mut g = self.lock();
        let i = g
            .workers
            .iter()
            .position(|w| w.addr == addr)
            .ok_or(StateError::UnknownWorker(addr))?;
        g.lb.set_draining(i, draining);
        Ok(())
    }

    /// Remove `addr` from the pool. Requests in flight to it finish; their responses are not
    /// booked.
    pub fn remove_worker(&self, addr: SocketAddr) -> Result<(), StateError> {
        let mut g = self.lock();
        let i = g
            .workers
            .iter()
            .position(|w| w.addr == addr)
            .ok_or(StateError::UnknownWorker(addr))?;
        g.lb.remove_worker(i);
        g.workers.remove(i);
        Ok(())
    }

    /// Requests in flight to `addr` (for draining), if it is in the pool.
    pub fn in_flight(&self, addr: SocketAddr) -> Option<u32> {
        let g = self.lock();
        let i = g.workers.iter().position(|w| w.addr == addr)?;
        Some(g.lb.in_flight(i))
    }

    /// Everything `/admin/status` shows.
    pub fn status(&self) -> Status {
        let now = self.now();
        let g = self.lock();
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis_f64());
        let workers = g
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let stats = g.lb.stats(i);
                let win = stats.map(|s| s.window(now)).unwrap_or_default();
                WorkerStatus {
                    addr: w.addr.to_string(),
                    weight: g.lb.weight(i).unwrap_or(1),
                    healthy: g.lb.is_healthy(i),
                    ejected: g.lb.is_ejected(i),
                    draining: g.lb.is_draining(i),
                    available: g.lb.is_available(i),
                    in_flight: g.lb.in_flight(i),
                    requests_total: stats.map_or(0, |s| s.total_requests()),
                    errors_total: stats.map_or(0, |s| s.total_errors()),
                    window_requests: win.requests,
                    window_error_rate: win.error_rate,
                    p50_ms: ms(win.p50),
                    p90_ms: ms(win.p90),
                    p99_ms: ms(win.p99),
                    ewma_ms: ms(stats.and_then(|s| s.latency_ewma())),
                }
            })
            .collect();
        Status {
            algorithm: g.lb.algorithm().name().to_string(),
            mode: g.lb.mode().name().to_string(),
            window_s: g
                .lb
                .engine()
                .map_or(0.0, |e| e.config().window.as_secs_f64()),
            switches: g.lb.decisions().len(),
            ejections: g.lb.ejections(),
            available: g.lb.available_count(),
            workers,
        }
    }
}
