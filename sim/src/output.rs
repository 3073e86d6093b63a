//! Turning run results into the shared CSV schema (`lb-report`), the charts, and the summary
//! table printed on stdout; with the oracle, also `oracle.csv` and `verdict.csv`.

use crate::oracle::Hindsight;
use crate::run::RunResult;
use crate::runner::Job;
use lb_core::Strategy;
use lb_core::scenario::Scenario;
use lb_report::schema::{
    DecisionRow, FaultRow, SummaryRow, TimeseriesRow, WorkerRow, WorkerTotals,
};
use lb_report::{OracleRow, VerdictRow};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// All rows of a set of runs.
#[derive(Debug, Default)]
pub struct Tables {
    /// summary.csv
    pub summary: Vec<SummaryRow>,
    /// timeseries.csv
    pub timeseries: Vec<TimeseriesRow>,
    /// workers.csv
    pub workers: Vec<WorkerRow>,
    /// faults.csv
    pub faults: Vec<FaultRow>,
    /// decisions.csv
    pub decisions: Vec<DecisionRow>,
    /// oracle.csv, when the oracle ran.
    pub oracle: Option<Vec<OracleRow>>,
    /// verdict.csv, when adaptive and the oracle ran.
    pub verdict: Option<Vec<VerdictRow>>,
}

/// Add the oracle's schedules (`oracles`, from [`crate::runner::run_all`]) and, when adaptive
/// ran beside it, the verdict. Nothing without oracles.
pub fn add_hindsight(t: &mut Tables, scenarios: &[Scenario], oracles: &[(usize, Hindsight)]) {
    if oracles.is_empty() {
        return;
    }
    let rows: Vec<OracleRow> = oracles
        .iter()
        .flat_map(|(s, h)| crate::oracle::rows(&scenarios[*s].name, &h.phases))
        .collect();
    let verdict = crate::verdict::rows(&t.summary, &t.decisions, &rows);
    t.verdict = (!verdict.is_empty()).then_some(verdict);
    t.oracle = Some(rows);
}

/// Build the rows, in job order.
pub fn tables(scenarios: &[Scenario], jobs: &[Job], results: &[RunResult]) -> Tables {
    let mut t = Tables::default();
    for (job, r) in jobs.iter().zip(results) {
        let sc = &scenarios[job.scenario];
        let rec = &r.recorder;
        let alg = job.strategy.name().to_string();
        let span = rec.span_s();
        let answered = rec.answered();
        t.summary.push(SummaryRow {
            scenario: sc.name.clone(),
            algorithm: alg.clone(),
            seed: job.seed,
            requests: rec.arrivals,
            ok: rec.ok,
            errors: rec.errors,
            error_rate: if answered == 0 {
                0.0
            } else {
                rec.errors as f64 / answered as f64
            },
            throughput_rps: if span > 0.0 {
                rec.ok as f64 / span
            } else {
                0.0
            },
            mean_ms: rec.mean_ms(),
            p50_ms: rec.quantile_ms(0.5),
            p90_ms: rec.quantile_ms(0.9),
            p99_ms: rec.quantile_ms(0.99),
            p999_ms: rec.quantile_ms(0.999),
            max_ms: rec.max_ms(),
            mean_in_flight: rec.mean_in_flight(),
            switches: r.decisions.len() as u64,
        });
        for s in &rec.series {
            t.timeseries.push(TimeseriesRow {
                scenario: sc.name.clone(),
                algorithm: alg.clone(),
                seed: job.seed,
                t_s: s.t_s,
                requests: s.requests,
                errors: s.errors,
                p50_ms: s.p50_ms,
                p99_ms: s.p99_ms,
                mean_in_flight: s.mean_in_flight,
                active_algorithm: s.algorithm.to_string(),
            });
        }
        for d in &r.decisions {
            t.decisions.push(DecisionRow {
                scenario: sc.name.clone(),
                algorithm: alg.clone(),
                seed: job.seed,
                t_s: d.at.as_secs_f64(),
                from: d.from.name().to_string(),
                to: d.to.name().to_string(),
                condition: d.reason.name().to_string(),
                worker: d.worker.as_deref().unwrap_or_default().to_string(),
                value: DecisionRow::number(d.value),
                threshold: DecisionRow::number(d.threshold),
                forecast: d.forecast_field(),
                detail: d.detail.clone(),
            });
        }
        let totals: Vec<WorkerTotals> = rec
            .workers
            .iter()
            .map(|w| WorkerTotals {
                requests: w.requests,
                errors: w.errors,
                latency_sum_ms: w.latency_sum_ns as f64 / 1e6,
            })
            .collect();
        t.workers
            .extend(WorkerRow::from_totals(&sc.name, &alg, job.seed, &totals));
    }
    for sc in scenarios {
        t.faults.extend(fault_rows(sc));
    }
    t
}

/// `scenario`'s fault timeline as `faults.csv` rows (the live experiment writes the same).
pub fn fault_rows(scenario: &Scenario) -> Vec<FaultRow> {
    scenario
        .faults
        .iter()
        .map(|f| FaultRow {
            scenario: scenario.name.clone(),
            t_s: f.at.as_secs_f64(),
            worker: f.worker as u32,
            kind: f.action.kind().to_string(),
            detail: f.action.detail(),
        })
        .collect()
}

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output folder could not be created.
    #[error("cannot create output folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV or a chart could not be written.
    #[error(transparent)]
    Report(#[from] lb_report::ReportError),
}

/// Write the CSVs into `out` (created if needed) and, unless `charts` is false, draw the charts.
/// Returns the files written.
pub fn write(out: &Path, t: &Tables, charts: bool) -> Result<Vec<PathBuf>, OutputError> {
    std::fs::create_dir_all(out).map_err(|source| OutputError::Folder {
        path: out.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let mut put = |name: &str, r: Result<(), lb_report::ReportError>| -> Result<(), OutputError> {
        r?;
        written.push(out.join(name));
        Ok(())
    };
    put(
        "summary.csv",
        lb_report::write_csv(&out.join("summary.csv"), &t.summary),
    )?;
    put(
        "timeseries.csv",
        lb_report::write_csv(&out.join("timeseries.csv"), &t.timeseries),
    )?;
    put(
        "workers.csv",
        lb_report::write_csv(&out.join("workers.csv"), &t.workers),
    )?;
    put(
        "faults.csv",
        lb_report::write_csv(&out.join("faults.csv"), &t.faults),
    )?;
    put(
        "decisions.csv",
        lb_report::write_csv(&out.join("decisions.csv"), &t.decisions),
    )?;
    if let Some(rows) = &t.oracle {
        put(
            "oracle.csv",
            lb_report::write_csv(&out.join("oracle.csv"), rows),
        )?;
    }
    if let Some(rows) = &t.verdict {
        put(
            "verdict.csv",
            lb_report::write_csv(&out.join("verdict.csv"), rows),
        )?;
    }
    if charts {
        written.extend(lb_report::render_dir(out)?);
    }
    Ok(written)
}

/// The table printed after a run: one line per scenario and algorithm, averaged over seeds.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<24} {:<22} {:>5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "scenario",
        "algorithm",
        "seeds",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors%",
        "ok/s"
    );
    let mut i = 0;
    while i < rows.len() {
        let key = (&rows[i].scenario, &rows[i].algorithm);
        let group: Vec<&SummaryRow> = rows[i..]
            .iter()
            .take_while(|r| (&r.scenario, &r.algorithm) == key)
            .collect();
        let n = group.len() as f64;
        let avg = |f: fn(&SummaryRow) -> f64| group.iter().map(|r| f(r)).sum::<f64>() / n;
        let _ = writeln!(
            s,
            "{:<24} {:<22} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.3} {:>9.1}",
            key.0,
            key.1,
            group.len(),
            avg(|r| r.mean_ms),
            avg(|r| r.p50_ms),
            avg(|r| r.p99_ms),
            avg(|r| r.p999_ms),
            avg(|r| r.error_rate * 100.0),
            avg(|r| r.throughput_rps),
        );
        i += group.len();
    }
    s
}

/// When `adaptive` ran: per scenario, adaptive against the best static algorithm on p99 and on
/// error rate (means over seeds), and how many switches the engine made per run.
pub fn adaptive_table(rows: &[SummaryRow]) -> Option<String> {
    if !rows.iter().any(|r| r.algorithm == "adaptive") {
        return None;
    }
    // (scenario, algorithm) -> (sum p99, sum error rate, sum switches, runs), in row order.
    let mut groups: Vec<((String, String), [f64; 4])> = Vec::new();
    for r in rows {
        let key = (r.scenario.clone(), r.algorithm.clone());
        let i = match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                groups.push((key, [0.0; 4]));
                groups.len() - 1
            }
        };
        let g = &mut groups[i].1;
        g[0] += r.p99_ms;
        g[1] += r.error_rate;
        g[2] += r.switches as f64;
        g[3] += 1.0;
    }
    let mut scenarios: Vec<&String> = Vec::new();
    for ((s, _), _) in &groups {
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | adaptive p99 ms | best static p99 ms | adaptive errors % | best static errors % | switches per run |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for s in scenarios {
        let mean = |g: &[f64; 4], i: usize| g[i] / g[3];
        let Some((_, a)) = groups
            .iter()
            .find(|((sc, al), _)| sc == s && al == "adaptive")
        else {
            continue;
        };
        let is_static = |al: &str| al.parse::<Strategy>().is_ok_and(|st| st.fixed().is_some());
        let statics: Vec<&((String, String), [f64; 4])> = groups
            .iter()
            .filter(|((sc, al), _)| sc == s && is_static(al))
            .collect();
        let best = |i: usize| {
            statics
                .iter()
                .map(|(k, g)| (mean(g, i), k.1.as_str()))
                .min_by(|x, y| x.0.total_cmp(&y.0))
        };
        let cell = |b: Option<(f64, &str)>, scale: f64, digits: usize| {
            b.map_or_else(
                || "-".to_string(),
                |(v, name)| format!("{:.*} ({name})", digits, v * scale),
            )
        };
        let _ = writeln!(
            out,
            "| {s} | {:.2} | {} | {:.3} | {} | {:.1} |",
            mean(a, 0),
            cell(best(0), 1.0, 2),
            mean(a, 1) * 100.0,
            cell(best(1), 100.0, 3),
            mean(a, 2),
        );
    }
    Some(out)
}
