//! Scenarios: the one file format that the simulator and live experiments both read.
//!
//! A scenario is a TOML file describing a pool of workers (concurrency, service-time
//! distribution, speed, errors, network delay), how requests arrive (Poisson or constant, with
//! rate phases and bursts), the balancer's settings, a timeline of faults, and optionally a
//! script of algorithm switches for `scripted` runs (`switches`). The field-by-field
//! reference with defaults and units is `experiments/README.md`.
//!
//! Reading is two steps: `model` deserialises the text (unknown fields are errors), then
//! `validate` checks every value and builds the typed [`Scenario`], with times in core's units.
//! Every error names the file, the field and the reason.
//!
//! ```
//! let text = r#"
//!     duration_s = 10
//!     [arrivals]
//!     rate = 500
//!     [[workers]]
//!     count = 4
//!     service = { distribution = "exponential", mean_ms = 5 }
//! "#;
//! let s = lb_core::scenario::Scenario::from_toml_str(text, "inline.toml").unwrap();
//! assert_eq!(s.workers.len(), 4);
//! assert_eq!(s.name, "inline");
//! ```

mod arrivals;
mod error;
pub mod model;
mod service;
mod switches;
mod validate;

pub use arrivals::{ArrivalSchedule, Arrivals, Bursts};
pub use error::ScenarioError;
pub use model::{ErrorMode, ProcessKind, UnknownErrorMode};
pub use service::{ServiceTime, mean_ms};
pub use validate::engine_from_file;

use crate::balancer::BalancerConfig;
use crate::engine::EngineConfig;
use crate::health::{ActiveConfig, OutlierConfig, OverloadConfig};
use crate::pick::Algorithm;
use crate::stats::StatsConfig;
use crate::strategy::Strategy;
use crate::time::{Duration, Instant};
use std::path::{Path, PathBuf};

/// Why `scripted` cannot run a scenario without `[[switches]]`.
pub(crate) const NO_SCRIPT: &str = "`scripted` runs the scenario's `[[switches]]` and this scenario has none: add `[[switches]]` tables (`{ at_s = 30, algorithm = \"peak_ewma\" }`) or leave `scripted` out";

/// How long a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Arrivals stop at this time.
    Duration(Duration),
    /// Arrivals stop once this many requests after the warm-up have arrived.
    Requests(u64),
}

/// The scenario files named by `paths`: files as given, folders replaced by their `*.toml`
/// files sorted by name (what `lb-sim` and `lb-loadgen experiment` accept on the command line).
///
/// # Errors
///
/// [`ScenarioError::NotFound`] for a path that names nothing, [`ScenarioError::List`] for a
/// folder that cannot be listed, [`ScenarioError::EmptyFolder`] for one without `*.toml` files.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let list = |source| ScenarioError::List {
                path: p.clone(),
                source,
            };
            let mut found = Vec::new();
            for entry in std::fs::read_dir(p).map_err(list)? {
                let path = entry.map_err(list)?.path();
                if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
                    found.push(path);
                }
            }
            if found.is_empty() {
                return Err(ScenarioError::EmptyFolder(p.clone()));
            }
            found.sort();
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(ScenarioError::NotFound(p.clone()));
        }
    }
    Ok(files)
}

/// The seed of worker `index`'s own random numbers in a run with seed `run_seed`.
///
/// A worker draws whether each request fails (on arrival, when its error rate is above 0) and
/// each service time (when the request gets a slot) from one generator of its own,
/// `ChaCha8Rng::seed_from_u64(worker_seed(run_seed, index))`, in the simulator and in a live
/// experiment's worker processes alike. The k-th request a worker takes therefore gets the same
/// draws whichever algorithm sent it there, and in the simulator and live alike (common random
/// numbers): when a live and a simulated run differ, it is not because one worker drew a tail
/// service time the other did not.
pub fn worker_seed(run_seed: u64, index: usize) -> u64 {
    run_seed.wrapping_mul(1_000_003).wrapping_add(index as u64)
}

/// One worker's model.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSpec {
    /// Requests served at once.
    pub concurrency: u32,
    /// Service time at speed 1.
    pub service: ServiceTime,
    /// The distribution as the file gave it (live workers are configured from it).
    pub service_file: model::ServiceFile,
    /// Mean service time at speed 1, ms.
    pub mean_service_ms: f64,
    /// Speed factor (service time is divided by it).
    pub speed: f64,
    /// Weight for weighted algorithms.
    pub weight: u32,
    /// Failure probability.
    pub error_rate: f64,
    /// When failures fail.
    pub error_mode: ErrorMode,
    /// One-way delay between balancer and worker.
    pub network_delay: Duration,
}

/// What a fault does to its worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultAction {
    /// Service times multiplied by this factor.
    Slow(f64),
    /// Failures with this probability and mode.
    Errors(f64, ErrorMode),
    /// Crash: refuses connections, loses work in progress.
    Down,
    /// Back to the configured worker, up.
    Recover,
}

impl FaultAction {
    /// `slow`, `errors`, `down`, `recover`.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Slow(_) => "slow",
            FaultAction::Errors(..) => "errors",
            FaultAction::Down => "down",
            FaultAction::Recover => "recover",
        }
    }

    /// The fault's parameters in short (`x5` for slow, `50% fast` for errors, empty otherwise).
    pub fn detail(&self) -> String {
        match self {
            FaultAction::Slow(f) => format!("x{f}"),
            FaultAction::Errors(r, m) => format!("{}% {}", r * 100.0, m.name()),
            FaultAction::Down | FaultAction::Recover => String::new(),
        }
    }
}

/// A fault on the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// When.
    pub at: Instant,
    /// Which worker.
    pub worker: usize,
    /// What.
    pub action: FaultAction,
}

/// A switch of a `scripted` run: from `at` on, the pool balances with `algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// When.
    pub at: Instant,
    /// The algorithm from then on.
    pub algorithm: Algorithm,
}

/// Active health-check settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthCheck {
    /// Time between probes of one worker.
    pub interval: Duration,
    /// A probe slower than this fails.
    pub timeout: Duration,
    /// Rise/fall thresholds.
    pub thresholds: ActiveConfig,
}

/// Balancer settings of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BalancerSettings {
    /// Request timeout (None: wait forever).
    pub timeout: Option<Duration>,
    /// Active health checks (None: off).
    pub health: Option<HealthCheck>,
    /// Passive outlier ejection.
    pub outlier: OutlierConfig,
    /// Panic threshold and admission limits, for the whole pool.
    pub overload: OverloadConfig,
    /// Windowed stats.
    pub stats: StatsConfig,
    /// Balancer shards, at least one (see `lb_core::sharded`).
    pub shards: usize,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name used in outputs.
    pub name: String,
    /// One line on what it shows.
    pub description: String,
    /// Where it was read from (for messages).
    pub origin: String,
    /// How long it runs.
    pub length: Length,
    /// Requests arriving before this are not counted.
    pub warmup: Duration,
    /// Strategies named in the file (empty: the caller's choice).
    pub algorithms: Vec<Strategy>,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Balancer settings.
    pub balancer: BalancerSettings,
    /// Decision engine settings, used by `adaptive` runs.
    pub engine: EngineConfig,
    /// The workers, groups expanded, in file order.
    pub workers: Vec<WorkerSpec>,
    /// The fault timeline, sorted by time (ties keep file order).
    pub faults: Vec<Fault>,
    /// The script of `scripted` runs, in strictly increasing time order (empty: no script).
    pub switches: Vec<Switch>,
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Validate scenario text; `origin` names it in messages and gives the default name.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let file: model::ScenarioFile = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: origin.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        validate::validate(file, origin)
    }

    /// The balancer configuration this scenario asks for, for `strategy` (under `adaptive`, the
    /// engine's baseline algorithm; the engine itself is [`engine_for`](Self::engine_for);
    /// under `scripted` or `oracle`, [`script_start`](Self::script_start)).
    pub fn balancer_config(&self, strategy: Strategy) -> BalancerConfig {
        let algorithm = match strategy {
            Strategy::Fixed(a) => a,
            Strategy::Adaptive => self.engine.baseline,
            Strategy::Scripted | Strategy::Oracle => self.script_start(),
        };
        BalancerConfig {
            algorithm,
            stats: self.balancer.stats,
            active: self
                .balancer
                .health
                .map_or(ActiveConfig::default(), |h| h.thresholds),
            outlier: self.balancer.outlier,
        }
    }

    /// The decision engine's settings for `strategy`: `Some` for `adaptive` only.
    pub fn engine_for(&self, strategy: Strategy) -> Option<EngineConfig> {
        (strategy == Strategy::Adaptive).then(|| self.engine.clone())
    }

    /// The algorithm a run following [`switches`](Self::switches) starts on: the first
    /// switch's when it is at time 0, else the engine's baseline (`least_connections` by default).
    pub fn script_start(&self) -> Algorithm {
        match self.switches.first() {
            Some(s) if s.at == Instant::ZERO => s.algorithm,
            _ => self.engine.baseline,
        }
    }

    /// Whether this scenario can run `strategy`: `scripted` needs `[[switches]]`.
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Invalid`] on field `switches` for `scripted` without a script.
    pub fn check_strategy(&self, strategy: Strategy) -> Result<(), ScenarioError> {
        if strategy == Strategy::Scripted && self.switches.is_empty() {
            return Err(ScenarioError::Invalid {
                path: self.origin.clone().into(),
                field: "switches".into(),
                reason: NO_SCRIPT.into(),
            });
        }
        Ok(())
    }

    /// Weights of the workers, in order.
    pub fn weights(&self) -> Vec<u32> {
        self.workers.iter().map(|w| w.weight).collect()
    }

    /// Worker `i`'s label in decisions and outputs: `w{i}`.
    pub fn worker_label(i: usize) -> String {
        format!("w{i}")
    }

    /// Offered load at the base rate: arrival rate x mean service time / total capacity.
    pub fn base_utilisation(&self) -> f64 {
        let capacity: f64 = self
            .workers
            .iter()
            .map(|w| f64::from(w.concurrency) * w.speed / (w.mean_service_ms / 1e3))
            .sum();
        self.arrivals.rate / capacity
    }
}

#[cfg(test)]
mod switch_tests;
#[cfg(test)]
mod tests;
