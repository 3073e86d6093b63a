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
    /// *prolonged processing* on one worker is worth a latency-aware algorithm only when the slow
    /// workers serve at least this share of requests (twice the 1% a p99 is made of): below it
    /// they hardly reach the p99, and the running algorithm is already keeping them out of the
    /// way.
    pub slow_share_enter: f64,
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
            slow_share_enter: 0.02,
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
    /// Which policy chooses the algorithm.
    pub policy: PolicyKind,
    /// A slow worker must stay slow this long before the rules move to peak EWMA: peak EWMA
    /// remembers a slow response for about its decay time (10 s), so a stall shorter than that
    /// is better left to least connections, which uses the worker again the moment it is back.
    pub slow_persist: Duration,
    /// A reversal (going back to the algorithm the last switch left) waits at least
    /// `reversal_windows` windows after that switch, doubled for each reversal not yet forgiven
    /// (at most `2^max_backoff` times): the back-off that keeps A -> B -> A apart.
    pub reversal_windows: u32,
    /// Largest doubling of the reversal wait and of `calm_for` (`2^max_backoff`).
    pub max_backoff: u32,
    /// One past reversal is forgiven after this many windows without a switch.
    pub forgive_windows: u32,
    /// A worker that caused a switch stays suspect until it shows calm numbers again, or until
    /// it has been out of rotation (ejected, down, removed) this long.
    pub forget_unavailable: Duration,
    /// The forecast policy's settings.
    pub forecast: ForecastConfig,
}

/// Which [`Policy`](super::Policy) an engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyKind {
    /// [`RulePolicy`](super::RulePolicy): each condition sends the pool to the algorithm that
    /// won it in the simulator.
    #[default]
    Rules,
    /// [`ForecastPolicy`](super::ForecastPolicy): fit a model of the pool, run every candidate
    /// on it for the next window, switch when the gain beats a margin.
    Forecast,
}

impl PolicyKind {
    /// Every policy.
    pub const ALL: [PolicyKind; 2] = [PolicyKind::Rules, PolicyKind::Forecast];

    /// The stable name (`rules`, `forecast`).
    pub const fn name(self) -> &'static str {
        match self {
            PolicyKind::Rules => "rules",
            PolicyKind::Forecast => "forecast",
        }
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {name:?}; expected one of: rules, forecast")]
pub struct UnknownPolicy {
    /// What was given.
    pub name: String,
}

impl std::str::FromStr for PolicyKind {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyKind::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPolicy { name: s.to_owned() })
    }
}

/// Settings of the forecast policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastConfig {
    /// Requests simulated per candidate and tick (the first quarter warms the algorithm up and
    /// is not scored).
    pub requests: u32,
    /// A candidate must forecast a p99 at least this share below the current algorithm's...
    pub p99_margin: f64,
    /// ...or an error rate at least this much lower (a fraction, 0.002 = 0.2 points).
    pub error_margin: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            requests: 2_000,
            p99_margin: 0.15,
            error_margin: 0.002,
        }
    }
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
            policy: PolicyKind::Rules,
            slow_persist: Duration::from_secs(10),
            reversal_windows: 2,
            max_backoff: 4,
            forgive_windows: 10,
            forget_unavailable: Duration::from_secs(180),
            forecast: ForecastConfig::default(),
        }
    }
}

impl EngineConfig {
    /// Whether the engine may switch to `a`.
    pub fn allows(&self, a: Algorithm) -> bool {
        a == self.baseline || self.candidates.contains(&a)
    }

    /// The algorithms the engine may run: the baseline first, then the candidates in order.
    pub fn allowed(&self) -> Vec<Algorithm> {
        let mut v = vec![self.baseline];
        v.extend(
            self.candidates
                .iter()
                .copied()
                .filter(|a| *a != self.baseline),
        );
        v
    }
}
