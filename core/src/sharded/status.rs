//! The pool as an operator sees it, merged over the shards: per worker, health, ejection,
//! draining, in flight and totals summed, the trailing window's histograms merged (so its
//! percentiles are the pool's, not an average of the shards'), and what the engine is doing.

use crate::engine::Mode;
use crate::pick::Algorithm;
use crate::stats::LogHistogram;
use crate::time::Duration;
use crate::worker_id::WorkerId;
use std::sync::Arc;

/// One worker, merged over the shards.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerStatus {
    /// Which worker.
    pub id: WorkerId,
    /// Its name (the address live, `w3` in the simulator).
    pub label: Arc<str>,
    /// Weight.
    pub weight: u32,
    /// Active health checks say up.
    pub healthy: bool,
    /// Ejected by outlier detection.
    pub ejected: bool,
    /// Draining: no new requests.
    pub draining: bool,
    /// Takes new requests in some shard.
    pub available: bool,
    /// Requests in flight, all shards.
    pub in_flight: u32,
    /// Responses since it joined.
    pub requests_total: u64,
    /// Failures since it joined.
    pub errors_total: u64,
    /// Responses in the trailing window.
    pub window_requests: u64,
    /// Failures in the trailing window.
    pub window_errors: u64,
    /// The trailing window's latencies, nanoseconds.
    pub window_latency: LogHistogram,
    /// Latency EWMA, weighted over the shards by their window responses.
    pub latency_ewma: Option<Duration>,
}

impl WorkerStatus {
    /// Error rate in the trailing window (0 without responses).
    pub fn window_error_rate(&self) -> f64 {
        if self.window_requests == 0 {
            0.0
        } else {
            self.window_errors as f64 / self.window_requests as f64
        }
    }
}

/// The whole pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStatus {
    /// The algorithm in use.
    pub algorithm: Algorithm,
    /// Who chooses it.
    pub mode: Mode,
    /// The engine's switch window (zero without an engine).
    pub window: Duration,
    /// Switches so far (engine and operator).
    pub switches: usize,
    /// Outlier ejections so far, each counted once however many shards it took out.
    pub ejections: u64,
    /// Workers that take requests now.
    pub available: usize,
    /// The workers, in pool (slot) order.
    pub workers: Vec<WorkerStatus>,
}
