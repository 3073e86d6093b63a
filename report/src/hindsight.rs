//! The simulator's hindsight files, beside the five shared ones: `oracle.csv`, the hindsight
//! oracle's schedule, and `verdict.csv`, adaptive judged against the best static algorithm and
//! the oracle. Only `lb-sim` writes them (a live run cannot rerun the past with every
//! algorithm), and only when asked for `oracle`; see `experiments/README.md`.
//!
//! | file          | row            | one row per                      |
//! |---------------|----------------|----------------------------------|
//! | `oracle.csv`  | [`OracleRow`]  | scenario × phase                 |
//! | `verdict.csv` | [`VerdictRow`] | scenario                         |
//!
//! Decimals follow the shared schema: milliseconds and `*_s` with 3, error rates with 6, ratios
//! with 3, switches per seed with 2. Goals are `pass`, `fail`, or `n/a` (goal b for a scenario
//! that never shifts).

use crate::schema::Row;
use serde::{Deserialize, Serialize};

/// One phase of a scenario's oracle schedule: from `phase_start_s` to `phase_end_s`, the static
/// algorithm that did best on the requests that arrived in it, pooled over all seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleRow {
    /// Scenario name.
    pub scenario: String,
    /// Start of the phase (the warm-up's end or a change point), seconds.
    #[serde(serialize_with = "crate::decimals::three")]
    pub phase_start_s: f64,
    /// End of the phase (the next change point, or the end of the measured window), seconds.
    #[serde(serialize_with = "crate::decimals::three")]
    pub phase_end_s: f64,
    /// The winner: the static algorithm the oracle runs in this phase.
    pub algorithm: String,
    /// The winner's 99th percentile latency in this phase, pooled over seeds, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub p99_ms: f64,
    /// The winner's error rate in this phase, pooled over seeds, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub error_rate: f64,
}

impl Row for OracleRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "phase_start_s",
        "phase_end_s",
        "algorithm",
        "p99_ms",
        "error_rate",
    ];
    const FILE_NAME: &'static str = "oracle.csv";
}

/// Adaptive on one scenario against the best static algorithm and the oracle, means over seeds,
/// with the goals it meets (`verdict.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRow {
    /// Scenario name.
    pub scenario: String,
    /// The best static algorithm over the whole run.
    pub best_static: String,
    /// Its p99, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub best_static_p99_ms: f64,
    /// Its error rate, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub best_static_error_rate: f64,
    /// Adaptive's p99, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub adaptive_p99_ms: f64,
    /// Adaptive's error rate, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub adaptive_error_rate: f64,
    /// The oracle's p99, ms.
    #[serde(serialize_with = "crate::decimals::three")]
    pub oracle_p99_ms: f64,
    /// The oracle's error rate, 0..1.
    #[serde(serialize_with = "crate::decimals::six")]
    pub oracle_error_rate: f64,
    /// Adaptive's p99 over the best static algorithm's.
    #[serde(serialize_with = "crate::decimals::three")]
    pub adaptive_vs_best_static_p99: f64,
    /// Adaptive's p99 over the oracle's.
    #[serde(serialize_with = "crate::decimals::three")]
    pub adaptive_vs_oracle_p99: f64,
    /// Whether the scenario changes inside the measured window (the oracle has more than one
    /// phase).
    pub shifts: bool,
    /// Adaptive's quick reversals (A -> B -> A), counted over all seeds.
    pub flaps: u64,
    /// Adaptive's switches per seed.
    #[serde(serialize_with = "crate::decimals::two")]
    pub switches_per_seed: f64,
    /// Goal (a), no worse than the best static algorithm: `pass` or `fail`.
    pub goal_a: String,
    /// Goal (b), better than every static algorithm and close to the oracle where conditions
    /// shift: `pass`, `fail`, or `n/a`.
    pub goal_b: String,
    /// Goal (c), no flaps: `pass` or `fail`.
    pub goal_c: String,
    /// Every goal that applies passes: `pass` or `fail`.
    pub all_goals: String,
}

impl Row for VerdictRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "best_static",
        "best_static_p99_ms",
        "best_static_error_rate",
        "adaptive_p99_ms",
        "adaptive_error_rate",
        "oracle_p99_ms",
        "oracle_error_rate",
        "adaptive_vs_best_static_p99",
        "adaptive_vs_oracle_p99",
        "shifts",
        "flaps",
        "switches_per_seed",
        "goal_a",
        "goal_b",
        "goal_c",
        "all_goals",
    ];
    const FILE_NAME: &'static str = "verdict.csv";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_header<T: Row>(row: &T) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_owned()
    }

    #[test]
    fn header_constants_follow_the_field_order_and_rows_read_back() {
        let oracle = OracleRow {
            scenario: "s".into(),
            phase_start_s: 10.0,
            phase_end_s: 30.0,
            algorithm: "peak_ewma".into(),
            p99_ms: 41.5,
            error_rate: 0.001,
        };
        assert_eq!(serde_header(&oracle), OracleRow::HEADER.join(","));
        let verdict = VerdictRow {
            scenario: "s".into(),
            best_static: "least_connections".into(),
            best_static_p99_ms: 40.0,
            best_static_error_rate: 0.0,
            adaptive_p99_ms: 40.5,
            adaptive_error_rate: 0.0,
            oracle_p99_ms: 39.0,
            oracle_error_rate: 0.0,
            adaptive_vs_best_static_p99: 1.0125,
            adaptive_vs_oracle_p99: 1.038,
            shifts: true,
            flaps: 0,
            switches_per_seed: 2.0,
            goal_a: "pass".into(),
            goal_b: "fail".into(),
            goal_c: "pass".into(),
            all_goals: "fail".into(),
        };
        assert_eq!(serde_header(&verdict), VerdictRow::HEADER.join(","));
        let dir = std::env::temp_dir().join(format!("lb-report-hindsight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(VerdictRow::FILE_NAME);
        crate::write_csv(&path, std::slice::from_ref(&verdict)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with(",1.012,1.038,true,0,2.00,pass,fail,pass,fail\n"),
            "{text}"
        );
        let back: Vec<VerdictRow> = crate::read_csv(&path).unwrap();
        assert_eq!(back[0].shifts, verdict.shifts);
        assert_eq!(back[0].goal_b, "fail");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
