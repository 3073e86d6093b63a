//! The CSV schema: one row type per file, shared by the simulator and the live load generator.
//!
//! | file             | row               | one row per                                  |
//! |------------------|-------------------|----------------------------------------------|
//! | `summary.csv`    | [`SummaryRow`]    | scenario × algorithm × seed                  |
//! | `timeseries.csv` | [`TimeseriesRow`] | scenario × algorithm × seed × 1-second bucket |
//! | `workers.csv`    | [`WorkerRow`]     | scenario × algorithm × seed × worker         |
//! | `decisions.csv`  | [`DecisionRow`]   | switch made by the decision engine           |
//! | `faults.csv`     | [`FaultRow`]      | fault injected into a scenario               |
//!
//! The simulator alone also writes `oracle.csv` and `verdict.csv` (see [`crate::hindsight`]).
//!
//! Columns appear in the order of the struct fields, which is also the order of [`Row::HEADER`]
//! (a test holds the two together). Times are seconds of the run's own clock: virtual time in the
//! simulator, time since the start of the experiment in live runs. Algorithm names are the
//! snake_case names used everywhere else (`round_robin`, `least_connections`, ...).
//!
//! Floats are written with a fixed number of decimals per column (see the `decimals` module):
//! milliseconds, `mean_in_flight` and `t_s` with 3, `error_rate` and `share` with 6,
//! `throughput_rps` with 2. Non-finite values are written as `0`, so a file always reads back.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A row type that has a CSV file of its own.
///
/// The header is spelled out, rather than taken from serde, so that a file with zero rows still
/// gets its header line and so that readers can check a file's columns before the first record.
pub trait Row: Serialize + DeserializeOwned {
    /// The column names, in the order they are written.
    const HEADER: &'static [&'static str];
    /// The conventional file name, e.g. `summary.csv`.
    const FILE_NAME: &'static str;
}

/// Whole-run results of one algorithm on one scenario with one seed (`summary.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Scenario name (also the name of its chart directory).
    pub scenario: String,
    /// Algorithm name, e.g. `least_connections`.
    pub algorithm: String,
    /// Seed of the run.
    pub seed: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed.
    pub errors: u64,
    /// `errors / requests`, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub error_rate: f64,
    /// Completed requests per second.
    #[serde(serialize_with = "crate::decimals::two")]
    pub throughput_rps: f64,
    /// Mean latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub mean_ms: f64,
    /// Median latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub p50_ms: f64,
    /// 90th percentile latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub p90_ms: f64,
    /// 99th percentile latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub p99_ms: f64,
    /// 99.9th percentile latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub p999_ms: f64,
    /// Largest latency, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub max_ms: f64,
    /// Time-averaged number of requests in flight.
    #[serde(serialize_with = "crate::decimals::three")]
    pub mean_in_flight: f64,
    /// Number of algorithm switches the decision engine made.
    pub switches: u64,
}

impl Row for SummaryRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "algorithm",
        "seed",
        "requests",
        "ok",
        "errors",
        "error_rate",
        "throughput_rps",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "mean_in_flight",
        "switches",
    ];
    const FILE_NAME: &'static str = "summary.csv";
}

/// One 1-second bucket of one run (`timeseries.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesRow {
    /// Scenario name.
    pub scenario: String,
    /// Algorithm name the run was configured with (`adaptive` for the decision engine).
    pub algorithm: String,
    /// Seed of the run.
    pub seed: u64,
    /// Start of the bucket `[t_s, t_s + 1)`, whole seconds.
    pub t_s: u64,
    /// Requests completed in the bucket.
    pub requests: u64,
    /// Requests failed in the bucket.
    pub errors: u64,
    /// Median latency in the bucket, ms (meaningless when `requests` is 0).
    #[serde(serialize_with = "crate::decimals::three")]
    pub p50_ms: f64,
    /// 99th percentile latency in the bucket, ms (meaningless when `requests` is 0).
    #[serde(serialize_with = "crate::decimals::three")]
    pub p99_ms: f64,
    /// Time-averaged requests in flight over the bucket.
    #[serde(serialize_with = "crate::decimals::three")]
    pub mean_in_flight: f64,
    /// The algorithm picking at the end of the bucket (differs from `algorithm` under `adaptive`).
    pub active_algorithm: String,
}

impl Row for TimeseriesRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "algorithm",
        "seed",
        "t_s",
        "requests",
        "errors",
        "p50_ms",
        "p99_ms",
        "mean_in_flight",
        "active_algorithm",
    ];
    const FILE_NAME: &'static str = "timeseries.csv";
}

/// What one worker received in one run (`workers.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow {
    /// Scenario name.
    pub scenario: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Seed of the run.
    pub seed: u64,
    /// Worker index, 0-based.
    pub worker: u32,
    /// Requests sent to this worker.
    pub requests: u64,
    /// This worker's fraction of all requests of the run, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub share: f64,
    /// Requests that failed on this worker.
    pub errors: u64,
    /// Mean latency of this worker's requests, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub mean_ms: f64,
}

/// One worker's totals over a run: requests answered, how many failed, and the sum of their
/// latencies in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WorkerTotals {
    /// Requests sent to the worker (answered).
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Sum of their latencies, ms.
    pub latency_sum_ms: f64,
}

impl WorkerRow {
    /// The `workers.csv` rows of one run from each worker's totals (in worker order): shares of
    /// all requests, mean latency (0 for a worker that got nothing).
    pub fn from_totals(
        scenario: &str,
        algorithm: &str,
        seed: u64,
        totals: &[WorkerTotals],
    ) -> Vec<WorkerRow> {
        let all: u64 = totals.iter().map(|t| t.requests).sum();
        totals
            .iter()
            .enumerate()
            .map(|(i, t)| WorkerRow {
                scenario: scenario.to_string(),
                algorithm: algorithm.to_string(),
                seed,
                worker: i as u32,
                requests: t.requests,
                share: if all == 0 {
                    0.0
                } else {
                    t.requests as f64 / all as f64
                },
                errors: t.errors,
                mean_ms: if t.requests == 0 {
                    0.0
                } else {
                    t.latency_sum_ms / t.requests as f64
                },
            })
            .collect()
    }
}

impl Row for WorkerRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "algorithm",
        "seed",
        "worker",
        "requests",
        "share",
        "errors",
        "mean_ms",
    ];
    const FILE_NAME: &'static str = "workers.csv";
}

/// One switch made by the decision engine (`decisions.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// Scenario name.
    pub scenario: String,
    /// Algorithm the run was configured with (typically `adaptive`).
    pub algorithm: String,
    /// Seed of the run.
    pub seed: u64,
    /// When the decision was taken, seconds.
    #[serde(serialize_with = "crate::decimals::three")]
    pub t_s: f64,
    /// Algorithm picking before the decision.
    pub from: String,
    /// Algorithm picking after the decision.
    pub to: String,
    /// The rule that fired, e.g. `p99_spread`.
    pub condition: String,
    /// The worker the condition named (empty when none).
    #[serde(default)]
    pub worker: String,
    /// The measured value that crossed the threshold (empty when none).
    #[serde(default)]
    pub value: String,
    /// The threshold it crossed (empty when none).
    #[serde(default)]
    pub threshold: String,
    /// The forecast per candidate, `algorithm:p99_ms:error_rate` `;`-separated (empty unless
    /// the forecast policy decided).
    #[serde(default)]
    pub forecast: String,
    /// Human-readable evidence for the rule.
    pub detail: String,
}

impl DecisionRow {
    /// A number for the `value` and `threshold` columns: four decimals, empty when absent.
    pub fn number(v: Option<f64>) -> String {
        v.map(|v| format!("{v:.4}")).unwrap_or_default()
    }
}

impl Row for DecisionRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "algorithm",
        "seed",
        "t_s",
        "from",
        "to",
        "condition",
        "worker",
        "value",
        "threshold",
        "forecast",
        "detail",
    ];
    const FILE_NAME: &'static str = "decisions.csv";
}

/// One fault of a scenario's fault timeline (`faults.csv`), so charts can mark faults from the
/// CSV files alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRow {
    /// Scenario name.
    pub scenario: String,
    /// When the fault starts, seconds.
    #[serde(serialize_with = "crate::decimals::three")]
    pub t_s: f64,
    /// Worker index the fault hits.
    pub worker: u32,
    /// Fault kind, e.g. `slow`, `down`, `errors`.
    pub kind: String,
    /// Short parameters of the fault, e.g. `x5`; may be empty.
    pub detail: String,
}

impl Row for FaultRow {
    const HEADER: &'static [&'static str] = &["scenario", "t_s", "worker", "kind", "detail"];
    const FILE_NAME: &'static str = "faults.csv";
}
