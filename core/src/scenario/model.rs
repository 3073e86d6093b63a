//! The scenario file as written: serde structs mirroring the TOML, field for field. Defaults
//! live here; checks of values live in `validate.rs`. Every table refuses unknown fields, so a
//! typo is an error, not a silently ignored setting.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name used in CSVs and charts; defaults to the file name without `.toml`.
    pub name: Option<String>,
    /// One line on what the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Length of the arrival schedule in seconds (exclusive with `requests`).
    pub duration_s: Option<f64>,
    /// Number of measured requests (exclusive with `duration_s`).
    pub requests: Option<u64>,
    /// Seconds at the start whose requests are not counted.
    #[serde(default)]
    pub warmup_s: f64,
    /// Algorithms to run when the command line names none (default: all).
    pub algorithms: Option<Vec<String>>,
    /// How requests arrive.
    pub arrivals: ArrivalsFile,
    /// Balancer settings.
    #[serde(default)]
    pub balancer: BalancerFile,
    /// Decision engine settings (for `adaptive` runs).
    #[serde(default)]
    pub engine: EngineFile,
    /// Worker groups; each group expands into `count` identical workers.
    pub workers: Vec<WorkerGroupFile>,
    /// The fault timeline.
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    /// The script of the `scripted` strategy: algorithm switches at fixed times.
    #[serde(default)]
    pub switches: Vec<SwitchFile>,
}

/// `[arrivals]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalsFile {
    /// `poisson` (default) or `constant`.
    #[serde(default)]
    pub process: ProcessKind,
    /// Requests per second at the start.
    pub rate: f64,
    /// Rate steps: from `at_s` on, the rate is `rate`.
    #[serde(default)]
    pub phases: Vec<PhaseFile>,
    /// On/off bursts on top of the current rate.
    pub bursts: Option<BurstsFile>,
}

/// The arrival process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessKind {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Evenly spaced arrivals.
    Constant,
}

/// `[[arrivals.phases]]`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    /// Start of the phase, seconds.
    pub at_s: f64,
    /// Requests per second from then on.
    pub rate: f64,
}

/// `[arrivals.bursts]`: periods of `on_s` seconds at `on_rate` alternate with `off_s` seconds at
/// the phase's rate (or `off_rate` when given), starting with an off period at `start_s`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstsFile {
    /// First burst starts after this many seconds of `off`.
    #[serde(default)]
    pub start_s: f64,
    /// Length of a burst, seconds.
    pub on_s: f64,
    /// Gap between bursts, seconds.
    pub off_s: f64,
    /// Requests per second during a burst.
    pub on_rate: f64,
    /// Requests per second between bursts (default: the phase's rate).
    pub off_rate: Option<f64>,
}

/// `[balancer]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BalancerFile {
    /// Request timeout in ms (0: none). A timeout counts as an error.
    pub timeout_ms: f64,
    /// Active health checks.
    pub health: HealthFile,
    /// Passive outlier ejection.
    pub outlier: OutlierFile,
    /// Windowed stats.
    pub stats: StatsFile,
    /// Balancer shards (live mode runs one per core); requests are spread over them at random.
    pub shards: u32,
    /// Below this percent of the pool available, route over ejected workers too (0: off).
    pub panic_threshold: u32,
    /// Most requests in flight on one worker; beyond, requests are rejected at once (0: off).
    pub max_in_flight_per_worker: u32,
    /// Most requests in flight in the balancer; beyond, rejected at once (0: off).
    pub max_pending: u32,
}

impl Default for BalancerFile {
    fn default() -> Self {
        BalancerFile {
            timeout_ms: 1000.0,
            health: HealthFile::default(),
            outlier: OutlierFile::default(),
            stats: StatsFile::default(),
            shards: 1,
            panic_threshold: 50,
            max_in_flight_per_worker: 0,
            max_pending: 0,
        }
    }
}

/// `[balancer.health]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthFile {
    /// Run active health checks at all.
    pub enabled: bool,
    /// Time between probes of one worker, ms.
    pub interval_ms: f64,
    /// A probe not answered within this many ms fails.
    pub timeout_ms: f64,
    /// Good probes in a row to mark a down worker up.
    pub rise: u32,
    /// Failed probes in a row to mark an up worker down.
    pub fall: u32,
}

impl Default for HealthFile {
    fn default() -> Self {
        HealthFile {
            enabled: true,
            interval_ms: 1000.0,
            timeout_ms: 500.0,
            rise: 2,
            fall: 3,
        }
    }
}

/// `[balancer.outlier]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierFile {
    /// Failures in a row that eject a worker (0: never eject).
    pub consecutive_failures: u32,
    /// First ejection length, ms; the n-th ejection lasts n times this.
    pub base_ejection_ms: f64,
    /// Longest ejection, ms.
    pub max_ejection_ms: f64,
    /// At most this percentage of the pool ejected at once (at least one worker may be).
    pub max_ejection_percent: u32,
}

impl Default for OutlierFile {
    fn default() -> Self {
        OutlierFile {
            consecutive_failures: 5,
            base_ejection_ms: 30_000.0,
            max_ejection_ms: 300_000.0,
            max_ejection_percent: 50,
        }
    }
}

/// `[balancer.stats]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsFile {
    /// Trailing window for percentiles and error rates, seconds.
    pub window_s: f64,
    /// Time constant of the latency EWMA, ms.
    pub ewma_tau_ms: f64,
    /// Decay time constant of the peak EWMA, ms.
    pub peak_ewma_tau_ms: f64,
}

impl Default for StatsFile {
    fn default() -> Self {
        StatsFile {
            window_s: 10.0,
            ewma_tau_ms: 1000.0,
            peak_ewma_tau_ms: 10_000.0,
        }
    }
}

/// `[engine]`: the decision engine of `adaptive` runs. Defaults come from
/// `lb_core::engine::EngineConfig::default()`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineFile {
    /// Seconds between two ticks of the engine.
    pub tick_s: Option<f64>,
    /// At most one switch per this many seconds.
    pub window_s: Option<f64>,
    /// The algorithm for a pool in normal shape.
    pub baseline: Option<String>,
    /// Algorithms the engine may choose.
    pub candidates: Option<Vec<String>>,
    /// Which policy chooses: `rules` or `forecast`.
    pub policy: Option<String>,
    /// Responses needed in the pool's window before any decision.
    pub min_samples: Option<u64>,
    /// Responses a worker needs in its window for its numbers to count.
    pub min_worker_samples: Option<u64>,
    /// Seconds after which evidence is too old to act on.
    pub max_evidence_age_s: Option<f64>,
    /// Ticks in a row a condition must hold.
    pub confirm_ticks: Option<u32>,
    /// Seconds a slow worker must stay slow before the rules move to peak EWMA.
    pub slow_persist_s: Option<f64>,
    /// Seconds of calm before returning to the baseline.
    pub calm_for_s: Option<f64>,
    /// Time constant of the pool's latency baseline, seconds.
    pub baseline_tau_s: Option<f64>,
    /// `prolonged_processing`: worker mean / pool median.
    pub latency_skew: Option<f64>,
    /// `prolonged_processing` on one worker leads to peak EWMA only above this share of requests.
    pub slow_share: Option<f64>,
    /// `prolonged_processing`: pool mean / its baseline.
    pub pool_slowdown: Option<f64>,
    /// `elevated_error_rate`: a worker's error rate.
    pub worker_error_rate: Option<f64>,
    /// `elevated_error_rate`: the pool's error rate.
    pub pool_error_rate: Option<f64>,
    /// `fast_failure`: failure latency / pool median.
    pub fast_failure_ratio: Option<f64>,
    /// `load_imbalance`: a worker's mean in flight / the pool mean.
    pub in_flight_skew: Option<f64>,
    /// `load_imbalance` is judged only above this mean in flight per worker.
    pub in_flight_floor: Option<f64>,
    /// `back_to_normal`: largest latency skew allowed.
    pub calm_latency_skew: Option<f64>,
    /// `back_to_normal`: largest worker error rate allowed.
    pub calm_error_rate: Option<f64>,
    /// `back_to_normal`: largest in-flight skew allowed.
    pub calm_in_flight_skew: Option<f64>,
}

/// `[[workers]]`: a group of identical workers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerGroupFile {
    /// How many workers this group makes.
    #[serde(default = "one")]
    pub count: u32,
    /// Requests served at once; more wait in a FIFO queue.
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Service time distribution at speed 1.
    pub service: ServiceFile,
    /// Speed factor: service times are divided by it (2.0 = twice as fast).
    #[serde(default = "one_f")]
    pub speed: f64,
    /// Weight for weighted algorithms.
    #[serde(default = "one")]
    pub weight: u32,
    /// Probability that a request fails.
    #[serde(default)]
    pub error_rate: f64,
    /// Whether errors come at once (`fast`) or after the service time (`slow`).
    #[serde(default)]
    pub error_mode: ErrorMode,
    /// One-way network delay between balancer and worker, ms.
    #[serde(default)]
    pub network_delay_ms: f64,
}

fn one() -> u32 {
    1
}

fn one_f() -> f64 {
    1.0
}

/// When a failing request fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMode {
    /// At once, without taking a slot: the worker looks fast and idle.
    #[default]
    Fast,
    /// After the service time, holding a slot like a real request.
    Slow,
}

impl ErrorMode {
    /// Every mode.
    pub const ALL: [ErrorMode; 2] = [ErrorMode::Fast, ErrorMode::Slow];

    /// `fast` or `slow`: the spelling of scenario files, command lines and the worker's API.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorMode::Fast => "fast",
            ErrorMode::Slow => "slow",
        }
    }
}

impl fmt::Display for ErrorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`ErrorMode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error mode {name:?}; expected one of: {}", ErrorMode::ALL.map(ErrorMode::name).join(", "))]
pub struct UnknownErrorMode {
    /// The name that was given.
    pub name: String,
}

impl FromStr for ErrorMode {
    type Err = UnknownErrorMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownErrorMode {
                name: s.to_string(),
            })
    }
}

/// `service = { distribution = "...", ... }`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceFile {
    /// Always `ms`.
    Constant {
        /// Service time, ms.
        ms: f64,
    },
    /// Exponential with mean `mean_ms`.
    Exponential {
        /// Mean, ms.
        mean_ms: f64,
    },
    /// Log-normal given by its median and 99th percentile.
    Lognormal {
        /// Median, ms.
        median_ms: f64,
        /// 99th percentile, ms (greater than the median).
        p99_ms: f64,
    },
    /// Pareto (heavy tail) with mean `mean_ms` and tail index `shape` (> 1).
    Pareto {
        /// Mean, ms.
        mean_ms: f64,
        /// Tail index alpha; smaller is heavier.
        shape: f64,
    },
}

/// `[[faults]]`: something that happens to one worker at a time. Which of `factor`, `rate` and
/// `mode` apply depends on `action`; validation rejects the others.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// When, seconds from the start.
    pub at_s: f64,
    /// Which worker (0-based index over all groups, in file order).
    pub worker: u32,
    /// `slow`, `errors`, `down` or `recover`.
    pub action: FaultKind,
    /// For `slow`: service times multiplied by this (> 0; 5.0 = five times slower).
    pub factor: Option<f64>,
    /// For `errors`: failure probability in [0, 1].
    pub rate: Option<f64>,
    /// For `errors`: `fast` (default) or `slow`.
    pub mode: Option<ErrorMode>,
}

/// `[[switches]]`: from `at_s` on, a `scripted` run balances with `algorithm`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchFile {
    /// When, seconds from the start.
    pub at_s: f64,
    /// A static algorithm's name (`round_robin`, ...; not `adaptive`).
    pub algorithm: String,
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Service times multiplied by `factor`.
    Slow,
    /// Requests fail with probability `rate`, `fast` or `slow`.
    Errors,
    /// The worker crashes: connections refused, work in progress lost.
    Down,
    /// Back to the worker's configured self, up.
    Recover,
}
