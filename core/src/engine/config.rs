//! The engine's settings: how often it looks, how long it waits between switches, how much
//! evidence it wants, and the threshold of every condition. Defaults are the values the rule
//! policy was tuned with in the simulator (see `experiments/README.md` and the README's
//! adaptive section for the measurements behind them).

use crate::pick::Algorithm;
use crate::time::Duration;

/// Thresholds of the conditions. Each `*_enter` value starts a condition; the matching `calm_*`
/// value, always stricter, is what "back to normal" requires: that gap is the hysteresis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// *prolonged processing*: a worker's mean latency at least this many times the pool median.
    pub latency_skew_enter: f64,
    /// *prolonged processing*: the pool's mean latency at least this many times its own baseline.
    pub pool_slowdown_enter: f64,
    /// *elevated error rate*: a worker failing at least this share of its requests.
    pub worker_error_enter: f64,
    /// *elevated error rate*: the pool failing at least this share of requests.
    pub pool_error_enter: f64,
    /// A failing worker counts as *failing fast* when its mean latency is at most this share of
    /// the pool median.
    pub fast_failure_ratio: f64,
    /// *load imbalance*: a worker's mean requests in flight at least this many times the pool mean.
    pub in_flight_skew_enter: f64,
    /// *load imbalance* is only judged when the pool's mean in flight per worker is at least this.
    pub in_flight_floor: f64,
    /// *back to normal*: every worker's latency within this many times the median...
    pub calm_latency_skew: f64,
    /// ...every worker's error rate at most this...
    pub calm_error_rate: f64,
    /// ...and in-flight skew at most this.
    pub calm_in_flight_skew: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            latency_skew_enter: 4.0,
            pool_slowdown_enter: 2.5,
            worker_error_enter: 0.10,
            pool_error_enter: 0.05,
            fast_failure_ratio: 0.5,
            in_flight_skew_enter: 3.0,
            in_flight_floor: 0.5,
            calm_latency_skew: 1.6,
            calm_error_rate: 0.02,
            calm_in_flight_skew: 1.8,
        }
    }
}

/// Everything the decision engine needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// How often the shell (simulator or live balancer) calls the engine's tick.
    pub tick: Duration,
    /// At most one switch per window.
    pub window: Duration,
    /// The algorithm for a pool in normal shape: where the engine starts and returns.
    pub baseline: Algorithm,
    /// The algorithms the engine may choose from (the baseline is always allowed).
    pub candidates: Vec<Algorithm>,
    /// No decision before the pool's stats window holds this many responses.
    pub min_samples: u64,
    /// A worker's own numbers count only with at least this many responses in its window.
    pub min_worker_samples: u64,
    /// No decision unless some worker answered within this time (stale evidence decides nothing).
    pub max_evidence_age: Duration,
    /// A condition must hold on this many consecutive ticks before it causes a switch.
    pub confirm_ticks: u32,
    /// The pool must be calm this long before the engine goes back to the baseline.
    pub calm_for: Duration,
    /// Time constant of the pool's latency baseline (updated only while the pool is calm).
    pub baseline_tau: Duration,
    /// Thresholds of the conditions.
    pub thresholds: Thresholds,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tick: Duration::from_secs(1),
            window: Duration::from_secs(60),
            baseline: Algorithm::LeastConnections,
            candidates: Algorithm::ALL.to_vec(),
            min_samples: 200,
            min_worker_samples: 20,
            max_evidence_age: Duration::from_secs(10),
            confirm_ticks: 3,
            calm_for: Duration::from_secs(30),
            baseline_tau: Duration::from_secs(120),
            thresholds: Thresholds::default(),
        }
    }
}

impl EngineConfig {
    /// Whether the engine may switch to `a`.
    pub fn allows(&self, a: Algorithm) -> bool {
        a == self.baseline || self.candidates.contains(&a)
    }
}
