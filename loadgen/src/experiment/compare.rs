//! The simulator beside the live run: `lb-loadgen compare` and `experiment --with-sim`.
//!
//! For a scenario whose live rows are in `OUT/summary.csv`, this runs the simulator (the same
//! `lb-sim` code, in-process) on the same scenario for every (algorithm, seed) the live rows
//! hold, and writes:
//!
//! - `OUT/sim/`: the simulator's five CSVs and its own charts, in the same layout as `OUT`;
//! - `OUT/comparison.csv`: one [`ComparisonRow`] per (scenario, algorithm, seed), p50 and p99
//!   from both sides and the live/sim ratios;
//! - `OUT/<scenario>/sim_vs_live_percentiles.png` and `sim_vs_live_p99_over_time.png`, both
//!   drawn by `lb_report::render_comparison`.
//!
//! The simulator is deterministic and takes well under a second here, so the comparison can be
//! redrawn at any time from committed live results (`lb-loadgen compare`), and CI can check
//! that the simulator side has not changed.
//!
//! A ratio of 1 means the simulator predicted the live number exactly. Some distance is
//! expected and explained in `experiments/live/README.md`: loopback hops and the HTTP stack add
//! a fraction of a millisecond to every request, sleeping on a busy 2-core machine overshoots,
//! and the live balancer retries a refused connection where the simulator fails it.

use super::error::ExperimentError;
use super::output::{self, Tables};
use lb_core::Strategy;
use lb_core::scenario::Scenario;
use lb_report::{ReportError, Row, SummaryRow, read_csv};
use lb_sim::runner::Job;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folder, inside the live results folder, that holds the simulator's twin results.
pub const SIM_DIR: &str = "sim";

/// Simulated and live numbers of one algorithm on one scenario and seed (`comparison.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Scenario name.
    pub scenario: String,
    /// Algorithm name (or `adaptive`).
    pub algorithm: String,
    /// Seed of both runs.
    pub seed: u64,
    /// Measured requests, simulated.
    pub sim_requests: u64,
    /// Measured requests, live.
    pub live_requests: u64,
    /// Median latency, simulated, ms.
    #[serde(serialize_with = "three")]
    pub sim_p50_ms: f64,
    /// Median latency, live, ms.
    #[serde(serialize_with = "three")]
    pub live_p50_ms: f64,
    /// `live_p50_ms / sim_p50_ms` (0 when the simulator has 0).
    #[serde(serialize_with = "three")]
    pub p50_ratio: f64,
    /// 99th percentile, simulated, ms.
    #[serde(serialize_with = "three")]
    pub sim_p99_ms: f64,
    /// 99th percentile, live, ms.
    #[serde(serialize_with = "three")]
    pub live_p99_ms: f64,
    /// `live_p99_ms / sim_p99_ms` (0 when the simulator has 0).
    #[serde(serialize_with = "three")]
    pub p99_ratio: f64,
    /// Error rate, simulated, 0..1.
    #[serde(serialize_with = "six")]
    pub sim_error_rate: f64,
    /// Error rate, live, 0..1.
    #[serde(serialize_with = "six")]
    pub live_error_rate: f64,
    /// Engine switches, simulated.
    pub sim_switches: u64,
    /// Engine switches, live.
    pub live_switches: u64,
}

impl Row for ComparisonRow {
    const HEADER: &'static [&'static str] = &[
        "scenario",
        "algorithm",
        "seed",
        "sim_requests",
        "live_requests",
        "sim_p50_ms",
        "live_p50_ms",
        "p50_ratio",
        "sim_p99_ms",
        "live_p99_ms",
        "p99_ratio",
        "sim_error_rate",
        "live_error_rate",
        "sim_switches",
        "live_switches",
    ];
    const FILE_NAME: &'static str = "comparison.csv";
}

fn fixed<S: Serializer>(v: f64, decimals: usize, s: S) -> Result<S::Ok, S::Error> {
    let v = if v.is_finite() { v } else { 0.0 };
    s.serialize_str(&format!("{v:.decimals$}"))
}

fn three<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    fixed(*v, 3, s)
}

fn six<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    fixed(*v, 6, s)
}

/// `live / sim`, or 0 when `sim` is not a positive number.
pub fn ratio(live: f64, sim: f64) -> f64 {
    if sim > 0.0 && sim.is_finite() && live.is_finite() {
        live / sim
    } else {
        0.0
    }
}

/// One row from a live and a simulated summary row of the same scenario, algorithm and seed.
pub fn row(sim: &SummaryRow, live: &SummaryRow) -> ComparisonRow {
    ComparisonRow {
        scenario: live.scenario.clone(),
        algorithm: live.algorithm.clone(),
        seed: live.seed,
        sim_requests: sim.requests,
        live_requests: live.requests,
        sim_p50_ms: sim.p50_ms,
        live_p50_ms: live.p50_ms,
        p50_ratio: ratio(live.p50_ms, sim.p50_ms),
        sim_p99_ms: sim.p99_ms,
        live_p99_ms: live.p99_ms,
        p99_ratio: ratio(live.p99_ms, sim.p99_ms),
        sim_error_rate: sim.error_rate,
        live_error_rate: live.error_rate,
        sim_switches: sim.switches,
        live_switches: live.switches,
    }
}

/// The simulator's rows for `scenario` under every (strategy, seed) in `runs`, in that order.
pub fn simulate(scenario: &Scenario, runs: &[(Strategy, u64)]) -> Tables {
    let jobs: Vec<Job> = runs
        .iter()
        .map(|&(strategy, seed)| Job {
            scenario: 0,
            strategy,
            seed,
        })
        .collect();
    let results: Vec<_> = jobs
        .iter()
        .map(|j| lb_sim::run::run(scenario, j.strategy, j.seed))
        .collect();
    lb_sim::output::tables(std::slice::from_ref(scenario), &jobs, &results)
}

/// Simulate `scenario` for the algorithms and seeds of its live rows in `out/summary.csv`,
/// write the simulator's CSVs into `out/sim` and the comparison rows into
/// `out/comparison.csv` (replacing this scenario's rows, keeping the others), and return the
/// comparison rows. Charts are drawn by [`draw`].
pub fn compare(out: &Path, scenario: &Scenario) -> Result<Vec<ComparisonRow>, ExperimentError> {
    let live_path = out.join(SummaryRow::FILE_NAME);
    let live: Vec<SummaryRow> = read_csv::<SummaryRow>(&live_path)?
        .into_iter()
        .filter(|r| r.scenario == scenario.name)
        .collect();
    if live.is_empty() {
        return Err(ExperimentError::NoLiveRows {
            path: live_path,
            scenario: scenario.name.clone(),
            origin: scenario.origin.clone(),
        });
    }
    let mut runs = Vec::with_capacity(live.len());
    for r in &live {
        let strategy = r
            .algorithm
            .parse::<Strategy>()
            .map_err(|e| ExperimentError::Algorithm {
                path: live_path.clone(),
                name: r.algorithm.clone(),
                reason: e.to_string(),
            })?;
        runs.push((strategy, r.seed));
    }
    let sim = simulate(scenario, &runs);
    let rows: Vec<ComparisonRow> = sim
        .summary
        .iter()
        .zip(&live)
        .map(|(s, l)| row(s, l))
        .collect();
    let sim_dir = out.join(SIM_DIR);
    output::merge_into(&sim_dir, &scenario.name, sim)?;
    output::merge(
        &out.join(ComparisonRow::FILE_NAME),
        &scenario.name,
        |r: &ComparisonRow| &r.scenario,
        rows.clone(),
    )?;
    Ok(rows)
}

/// Draw the simulator's charts in `out/sim` and the sim-vs-live charts in `out`; returns the
/// files written.
pub fn draw(out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let sim_dir = out.join(SIM_DIR);
    let mut files = lb_report::render_dir(&sim_dir)?;
    files.extend(lb_report::render_comparison(out, &sim_dir)?);
    Ok(files)
}

/// The live/sim table printed at the end: p50 and p99 from both sides and their ratios.
pub fn table(rows: &[ComparisonRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:<18} {:>5} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7} {:>8} {:>8} {:>9}",
        "scenario",
        "algorithm",
        "seed",
        "sim p50",
        "live p50",
        "ratio",
        "sim p99",
        "live p99",
        "ratio",
        "sim err%",
        "live err%",
        "switches"
    );
    let means = means(rows);
    let several = means.len() < rows.len();
    for (r, seed) in rows.iter().map(|r| (r, r.seed.to_string())).chain(
        several
            .then_some(())
            .into_iter()
            .flat_map(|()| means.iter().map(|m| (m, "mean".to_string()))),
    ) {
        let _ = writeln!(
            s,
            "{:<22} {:<18} {:>5} {:>9.2} {:>9.2} {:>7.2} {:>9.2} {:>9.2} {:>7.2} {:>8.3} {:>9.3} {:>4}/{:<4}",
            r.scenario,
            r.algorithm,
            seed,
            r.sim_p50_ms,
            r.live_p50_ms,
            r.p50_ratio,
            r.sim_p99_ms,
            r.live_p99_ms,
            r.p99_ratio,
            r.sim_error_rate * 100.0,
            r.live_error_rate * 100.0,
            r.sim_switches,
            r.live_switches
        );
    }
    s.push_str("(ms; ratio = live / sim; switches = sim/live)\n");
    s
}

/// Per scenario and algorithm, in first-seen order: the mean of each side over the seeds, and
/// the ratio of the means (switches summed).
pub fn means(rows: &[ComparisonRow]) -> Vec<ComparisonRow> {
    let mut groups: Vec<(ComparisonRow, u32)> = Vec::new();
    for r in rows {
        match groups
            .iter_mut()
            .find(|(g, _)| g.scenario == r.scenario && g.algorithm == r.algorithm)
        {
            Some((g, n)) => {
                *n += 1;
                g.sim_requests += r.sim_requests;
                g.live_requests += r.live_requests;
                g.sim_p50_ms += r.sim_p50_ms;
                g.live_p50_ms += r.live_p50_ms;
                g.sim_p99_ms += r.sim_p99_ms;
                g.live_p99_ms += r.live_p99_ms;
                g.sim_error_rate += r.sim_error_rate;
                g.live_error_rate += r.live_error_rate;
                g.sim_switches += r.sim_switches;
                g.live_switches += r.live_switches;
            }
            None => groups.push((r.clone(), 1)),
        }
    }
    groups
        .into_iter()
        .map(|(g, n)| {
            let n = f64::from(n);
            let (sim_p50_ms, live_p50_ms) = (g.sim_p50_ms / n, g.live_p50_ms / n);
            let (sim_p99_ms, live_p99_ms) = (g.sim_p99_ms / n, g.live_p99_ms / n);
            ComparisonRow {
                sim_p50_ms,
                live_p50_ms,
                p50_ratio: ratio(live_p50_ms, sim_p50_ms),
                sim_p99_ms,
                live_p99_ms,
                p99_ratio: ratio(live_p99_ms, sim_p99_ms),
                sim_error_rate: g.sim_error_rate / n,
                live_error_rate: g.live_error_rate / n,
                ..g
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(alg: &str, p50: f64, p99: f64) -> SummaryRow {
        SummaryRow {
            scenario: "s".into(),
            algorithm: alg.into(),
            seed: 1,
            requests: 100,
            ok: 99,
            errors: 1,
            error_rate: 0.01,
            throughput_rps: 10.0,
            mean_ms: p50,
            p50_ms: p50,
            p90_ms: p99,
            p99_ms: p99,
            p999_ms: p99,
            max_ms: p99,
            mean_in_flight: 1.0,
            switches: 0,
        }
    }

    #[test]
    fn ratios_are_live_over_sim_and_zero_without_a_simulated_value() {
        let r = row(&summary("x", 10.0, 40.0), &summary("x", 12.5, 100.0));
        assert!((r.p50_ratio - 1.25).abs() < 1e-12);
        assert!((r.p99_ratio - 2.5).abs() < 1e-12);
        assert_eq!(ratio(5.0, 0.0), 0.0);
        assert_eq!(ratio(f64::NAN, 1.0), 0.0);
        let t = table(std::slice::from_ref(&r));
        assert!(t.contains("1.25") && t.contains("2.50"), "{t}");
        assert!(!t.contains("mean"), "one seed, no mean rows: {t}");
        // Two seeds: means of each side, and the ratio of the means.
        let other = ComparisonRow {
            seed: 2,
            sim_p50_ms: 30.0,
            live_p50_ms: 27.5,
            ..r.clone()
        };
        let m = means(&[r.clone(), other.clone()]);
        assert_eq!(m.len(), 1);
        assert!((m[0].sim_p50_ms - 20.0).abs() < 1e-12);
        assert!((m[0].live_p50_ms - 20.0).abs() < 1e-12);
        assert!((m[0].p50_ratio - 1.0).abs() < 1e-12);
        assert!(table(&[r, other]).contains("mean"));
    }

    #[test]
    fn comparison_rows_round_trip_through_csv() {
        let dir = std::env::temp_dir().join(format!("lb-compare-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(ComparisonRow::FILE_NAME);
        let r = row(&summary("x", 10.0, 40.0), &summary("x", 12.5, 100.0));
        lb_report::write_csv(&path, std::slice::from_ref(&r)).expect("write");
        let back: Vec<ComparisonRow> = read_csv(&path).expect("read");
        assert_eq!(back, vec![r]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
