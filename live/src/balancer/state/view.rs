//! What the admin API shows: the status of the pool merged over the shards, and the decision
//! log, as serialisable views.

use super::{Locked, Shared};
use lb_core::engine::Decision;
use serde::Serialize;

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
    /// The worker the condition named (its address), if one.
    pub worker: Option<String>,
    /// The measured value that crossed the threshold.
    pub value: Option<f64>,
    /// The threshold it crossed.
    pub threshold: Option<f64>,
    /// The forecast per candidate (`algorithm:p99_ms:error_rate`, `;`-separated; empty unless
    /// the forecast policy decided).
    pub forecast: String,
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
            worker: d.worker.as_deref().map(str::to_string),
            value: d.value,
            threshold: d.threshold,
            forecast: d.forecast_field(),
            detail: d.detail.clone(),
        }
    }
}

impl Shared {
    /// Everything `/admin/status` shows, merged over the shards (by core's
    /// [`Control::status`](lb_core::Control::status)).
    pub fn status(&self) -> Status {
        let now = self.now();
        let p = self.control().status(&mut Locked(self), now);
        Status {
            algorithm: p.algorithm.name().to_string(),
            mode: p.mode.name().to_string(),
            window_s: p.window.as_secs_f64(),
            switches: p.switches,
            ejections: p.ejections,
            available: p.available,
            workers: p.workers.iter().map(WorkerStatus::from).collect(),
        }
    }
}

impl From<&lb_core::sharded::WorkerStatus> for WorkerStatus {
    fn from(w: &lb_core::sharded::WorkerStatus) -> Self {
        let q = |p: f64| w.window_latency.quantile(p).map(|ns| ns as f64 / 1e6);
        WorkerStatus {
            addr: w.label.to_string(),
            weight: w.weight,
            healthy: w.healthy,
            ejected: w.ejected,
            draining: w.draining,
            available: w.available,
            in_flight: w.in_flight,
            requests_total: w.requests_total,
            errors_total: w.errors_total,
            window_requests: w.window_requests,
            window_error_rate: w.window_error_rate(),
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            ewma_ms: w.latency_ewma.map(|d| d.as_millis_f64()),
        }
    }
}
