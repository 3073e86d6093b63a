//! What the engine sees at a tick: for each worker, its identity and label, whether it takes
//! traffic, its weight, its requests in flight and its trailing-window numbers. The balancer
//! fills this from its own stats; a test can build one by hand.

use crate::stats::WindowSnapshot;
use crate::time::{Duration, Instant};
use crate::worker_id::WorkerId;
use std::sync::Arc;

/// One worker at one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerObservation {
    /// Which worker.
    pub id: WorkerId,
    /// Its name in decisions (the address live, `w3` in the simulator).
    pub label: Arc<str>,
    /// Healthy, not ejected, not draining.
    pub available: bool,
    /// Configured weight.
    pub weight: u32,
    /// Requests in flight right now.
    pub in_flight: u32,
    /// The trailing window (percentiles may be absent: the engine reads counts and means).
    pub window: WindowSnapshot,
    /// The latency EWMA (time constant `ewma_tau`, 1 s by default): reacts within a second or
    /// two, where the window mean lags by half a window.
    pub latency_ewma: Option<Duration>,
    /// When its newest response was recorded.
    pub last_response: Option<Instant>,
}

impl Default for WorkerObservation {
    fn default() -> Self {
        WorkerObservation {
            id: WorkerId::first(0),
            label: Arc::from("w0"),
            available: false,
            weight: 1,
            in_flight: 0,
            window: WindowSnapshot::default(),
            latency_ewma: None,
            last_response: None,
        }
    }
}

impl WorkerObservation {
    /// Mean requests in flight over the window, by Little's law: responses per second x mean
    /// latency. Smoother than the instantaneous count, which flickers from request to request.
    pub fn mean_in_flight(&self) -> f64 {
        let mean_s = self.window.mean.map_or(0.0, |d| d.as_secs_f64());
        self.window.rate_per_sec() * mean_s
    }

    /// Mean latency in the window, ms.
    pub fn mean_ms(&self) -> Option<f64> {
        self.window.mean.map(|d| d.as_millis_f64())
    }

    /// Current latency, ms: the EWMA when there is one, else the window mean.
    pub fn recent_ms(&self) -> Option<f64> {
        self.latency_ewma
            .map(|d| d.as_millis_f64())
            .or_else(|| self.mean_ms())
    }
}

/// The pool at one tick.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The time of the tick.
    pub now: Instant,
    /// The workers, in pool order.
    pub workers: &'a [WorkerObservation],
}
