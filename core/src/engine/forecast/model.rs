//! The model a forecast runs on, fitted from one observation of the pool.
//!
//! Each available worker becomes a station with:
//!
//! - a **service-time distribution**: lognormal, its mean the worker's mean latency of
//!   *successful* responses over the window, moved toward its recent latency (EWMA) so that a
//!   fault seconds old already shows, its spread from the window's p99 over p50;
//! - a **capacity** in requests at once, from what the worker holds now (mean in flight by
//!   Little's law, at least the pool's median, times a headroom of 2): above it, a new request's
//!   latency stretches in proportion, as under processor sharing. The engine cannot see a
//!   worker's real slots, so the model assumes a worker can take somewhat more than it does now
//!   and no more: it is cautious about moving load onto a worker;
//! - an **error behaviour**: its failure rate, and how long failures take (fast failures their
//!   measured mean; failures as slow as the service otherwise).
//!
//! A worker without responses in the window gets the pool's median station. Arrivals are Poisson
//! at the rate the pool answered over the window.

use crate::engine::observation::{Observation, WorkerObservation};

/// One worker, as the forecast sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    /// Weight, for the weighted algorithms.
    pub weight: u32,
    /// `ln` of the median service time in ns.
    pub mu: f64,
    /// Lognormal shape.
    pub sigma: f64,
    /// Requests it serves at once before latencies stretch.
    pub capacity: f64,
    /// Probability that a request fails.
    pub error_rate: f64,
    /// How long a failure takes, ns; `None`: as long as a service.
    pub error_ns: Option<f64>,
    /// Its recent latency, ns: the starting point of peak EWMA's estimate.
    pub recent_ns: f64,
}

/// The pool as the forecast sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolModel {
    /// The available workers.
    pub stations: Vec<Station>,
    /// Requests per second.
    pub rate: f64,
}

/// Lognormal shape when the window has no percentiles.
const DEFAULT_SIGMA: f64 = 0.5;
/// Capacity over what a worker holds now.
const HEADROOM: f64 = 2.0;

/// Mean latency of the successful responses in the window, ms.
fn ok_mean_ms(w: &WorkerObservation) -> Option<f64> {
    let n = w.window.requests;
    let e = w.window.errors;
    let mean = w.mean_ms()?;
    if e == 0 {
        return Some(mean);
    }
    if e >= n {
        return None;
    }
    let err = w.window.error_mean.map_or(mean, |d| d.as_millis_f64());
    Some(((mean * n as f64 - err * e as f64) / (n - e) as f64).max(1e-3))
}

/// Lognormal shape from p50 and p99, clamped to a sane range.
fn sigma_of(w: &WorkerObservation) -> f64 {
    match (w.window.p50, w.window.p99) {
        (Some(p50), Some(p99)) if p50.as_nanos() > 0 && p99 > p50 => {
            (p99.as_nanos() as f64 / p50.as_nanos() as f64).ln() / 2.326
        }
        _ => DEFAULT_SIGMA,
    }
    .clamp(0.05, 2.0)
}

/// One worker's station, if it answered anything successfully in the window.
fn station(w: &WorkerObservation) -> Option<Station> {
    let window_ms = ok_mean_ms(w)?;
    // Move toward the recent latency (it includes failures: use it only to scale).
    let recency = match (w.recent_ms(), w.mean_ms()) {
        (Some(r), Some(m)) if m > 0.0 => (r / m).clamp(0.2, 5.0),
        _ => 1.0,
    };
    let mean_ns = window_ms * recency * 1e6;
    let sigma = sigma_of(w);
    let error_ns = w
        .window
        .error_mean
        .map(|d| d.as_nanos() as f64)
        .filter(|e| *e < 0.5 * mean_ns);
    Some(Station {
        weight: w.weight.max(1),
        mu: mean_ns.ln() - sigma * sigma / 2.0,
        sigma,
        capacity: w.mean_in_flight(),
        error_rate: w.window.error_rate.clamp(0.0, 1.0),
        error_ns,
        recent_ns: w.recent_ms().unwrap_or(window_ms) * 1e6,
    })
}

fn median_by(v: &mut [Station], key: impl Fn(&Station) -> f64) -> Option<Station> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| key(a).total_cmp(&key(b)));
    Some(v[v.len() / 2].clone())
}

impl PoolModel {
    /// Fit the model to `obs`; `None` when no available worker answered anything.
    pub fn fit(obs: &Observation<'_>) -> Option<PoolModel> {
        let available: Vec<&WorkerObservation> =
            obs.workers.iter().filter(|w| w.available).collect();
        let fitted: Vec<Option<Station>> = available.iter().map(|w| station(w)).collect();
        let mut known: Vec<Station> = fitted.iter().flatten().cloned().collect();
        let typical = median_by(&mut known, |s| s.mu)?;
        let stations: Vec<Station> = available
            .iter()
            .zip(fitted)
            .map(|(w, s)| {
                s.unwrap_or_else(|| Station {
                    weight: w.weight.max(1),
                    // A worker that only failed keeps its failures.
                    error_rate: w.window.error_rate,
                    error_ns: w.window.error_mean.map(|d| d.as_nanos() as f64),
                    ..typical.clone()
                })
            })
            .collect();
        let mut stations: Vec<Station> = stations;
        // What a worker holds now says little about what it could hold: a worker the running
        // algorithm starves (or one whose failures are quick) holds little. Give each at least
        // the pool's median, with headroom.
        let mut held: Vec<f64> = stations.iter().map(|s| s.capacity).collect();
        held.sort_by(f64::total_cmp);
        let typical_held = held.get(held.len() / 2).copied().unwrap_or(1.0);
        for s in &mut stations {
            s.capacity = (s.capacity.max(typical_held) * HEADROOM).max(1.0);
        }
        let rate: f64 = available.iter().map(|w| w.window.rate_per_sec()).sum();
        (rate > 0.0).then_some(PoolModel { stations, rate })
    }
}
