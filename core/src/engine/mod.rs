//! The adaptive decision engine: it watches the pool and switches the balancing algorithm.
//!
//! At every tick (every second by default; virtual time in the simulator, real time live) the
//! balancer hands the engine an [`Observation`]: each worker's trailing-window numbers (requests,
//! errors, mean latency, latency of failures), requests in flight and availability. The engine
//!
//! 1. evaluates the [conditions](condition): `prolonged_processing`, `elevated_error_rate`,
//!    `fast_failure`, `load_imbalance`, `back_to_normal`, each against thresholds in
//!    [`EngineConfig`];
//! 2. asks its [`Policy`] (by default the measured [`RulePolicy`]) which algorithm fits;
//! 3. applies the stability rules, which no policy can override: at most one switch per
//!    `window` (60 s by default), nothing before `min_samples` responses are in the window,
//!    nothing on evidence older than `max_evidence_age`, a condition must hold `confirm_ticks`
//!    ticks in a row, and going back to the baseline needs the stricter `calm_*` thresholds to
//!    hold for `calm_for` (hysteresis);
//! 4. logs every switch as a [`Decision`] (time, from, to, reason, the numbers).
//!
//! An operator can pin an algorithm ([`Mode::Manual`]: the engine keeps watching but never
//! switches) or hand control back ([`Mode::Adaptive`]).
//!
//! ```
//! use lb_core::engine::{DecisionEngine, EngineConfig, Observation, WorkerObservation};
//! use lb_core::stats::WindowSnapshot;
//! use lb_core::{Algorithm, Duration, Instant};
//!
//! let now = Instant::ZERO + Duration::from_secs(100);
//! let worker = |mean_ms: u64| WorkerObservation {
//!     available: true,
//!     weight: 1,
//!     in_flight: 1,
//!     window: WindowSnapshot {
//!         requests: 100,
//!         mean: Some(Duration::from_millis(mean_ms)),
//!         span: Duration::from_secs(10),
//!         ..Default::default()
//!     },
//!     latency_ewma: Some(Duration::from_millis(mean_ms)),
//!     last_response: Some(now),
//!     ..Default::default()
//! };
//! // Worker 2 is ten times slower than the others.
//! let mut workers = [worker(10), worker(10), worker(100), worker(10)];
//! workers[2].label = "w2".into();
//! let mut engine = EngineConfig { confirm_ticks: 1, ..Default::default() };
//! let mut engine = DecisionEngine::new(engine);
//! let d = engine
//!     .tick(&Observation { now, workers: &workers }, Algorithm::LeastConnections)
//!     .expect("a slow worker makes the engine switch");
//! assert_eq!(d.to, Algorithm::PeakEwma);
//! assert_eq!(d.reason.name(), "prolonged_processing");
//! assert!(d.detail.starts_with("worker w2 latency 100.00 ms"));
//! ```

pub mod condition;
mod config;
#[allow(clippy::module_inception)]
mod engine;
mod log;
mod mode;
mod observation;
pub mod policy;

pub use condition::{Assessment, Condition, Signal, assess};
pub use config::{EngineConfig, Thresholds};
pub use engine::DecisionEngine;
pub use log::{Decision, Reason};
pub use mode::{Mode, UnknownMode};
pub use observation::{Observation, WorkerObservation};
pub use policy::{Context, Policy, Proposal, RulePolicy};

#[cfg(test)]
mod tests;
