//! What the admin API shows: the status of the pool merged over the shards, and the decision
//! log, as serialisable views.

use super::Shared;
use lb_core::engine::Decision;
use lb_core::stats::LogHistogram;
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

impl Shared {
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
