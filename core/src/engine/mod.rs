//! The adaptive decision engine: it watches the pool and switches the balancing algorithm.
//!
//! At every tick (every second by default; virtual time in the simulator, real time live) the
//! balancer hands the engine an [`Observation`]: each worker's trailing-window numbers (requests,
//! errors, mean latency, latency of failures), requests in flight and availability. The engine
//!
//! 1. evaluates the [conditions](condition): `prolonged_processing`, `elevated_error_rate`,
//!    `fast_failure`, `load_imbalance`, `back_to_normal`, each against thresholds in
//!    [`EngineConfig`];
//!    Each worker is also remembered between ticks ([`Memory`]): its own calm latency, and
//!    whether a condition named it and it has not looked well since (a *suspect*);
//! 2. asks its [`Policy`] which algorithm fits: the [`RulePolicy`] (each condition to the
//!    algorithm that won it in the simulator) or the [`ForecastPolicy`] (run every candidate on
//!    a model fitted to the pool, switch on a clear forecast gain), `[engine] policy`;
//! 3. applies the stability rules, which no policy can override: nothing before `min_samples`
//!    responses are in the window, nothing on evidence older than `max_evidence_age`, the same
//!    target proposed on `confirm_ticks` ticks in a row, at most one switch per `window` (60 s
//!    by default), and a reversal (A -> B -> A) no sooner than `reversal_windows` windows after
//!    the switch it undoes, doubled for every recent reversal; going back to the baseline needs
//!    the stricter `calm_*` thresholds to hold for `calm_for` with no suspect left (hysteresis);
//! 4. logs every switch as a [`Decision`] (time, from, to, reason, worker, value, threshold,
//!    the forecast per candidate, and the numbers in words).
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
//! for (i, w) in workers.iter_mut().enumerate() {
//!     w.id = lb_core::WorkerId::first(i as u32);
//!     w.label = format!("w{i}").into();
//! }
//! // Act on the first tick (by default a condition must hold 3 ticks, a slow worker 10 s).
//! let engine = EngineConfig { confirm_ticks: 1, slow_persist: Duration::ZERO, ..Default::default() };
//! let mut engine = DecisionEngine::new(engine);
//! let d = engine
//!     .tick(&Observation { now, workers: &workers }, Algorithm::LeastConnections)
//!     .expect("a slow worker makes the engine switch");
//! assert_eq!(d.to, Algorithm::PeakEwma);
//! assert_eq!(d.reason.name(), "prolonged_processing");
//! assert!(d.detail.starts_with("worker w2 latency 100.00 ms"));
//! assert_eq!(d.worker.as_deref(), Some("w2"));
//! ```

pub mod condition;
mod config;
#[allow(clippy::module_inception)]
mod engine;
pub mod forecast;
mod log;
mod memory;
mod mode;
mod observation;
pub mod policy;

pub use condition::{Assessment, Condition, Signal, assess};
pub use config::{EngineConfig, ForecastConfig, PolicyKind, Thresholds, UnknownPolicy};
pub use engine::DecisionEngine;
pub use forecast::{Forecast, ForecastPolicy};
pub use log::{Decision, Reason};
pub use memory::Memory;
pub use mode::{Mode, UnknownMode};
pub use observation::{Observation, WorkerObservation};
pub use policy::{Context, Policy, Proposal, RulePolicy};

#[cfg(test)]
mod regressions;
#[cfg(test)]
mod tests;
