//! The rows of a live experiment, merged into a results folder, and the table printed at the
//! end.

use super::error::ExperimentError;
use super::live_run::LiveRun;
use lb_report::{
    DecisionRow, FaultRow, ReportError, Row, SummaryRow, TimeseriesRow, WorkerRow, read_csv,
    write_csv,
};
use std::fmt::Write as _;
use std::path::Path;

/// The five CSVs' rows: the simulator's own type, filled here from live runs.
pub use lb_sim::output::Tables;

/// Append one live run's rows to `t`.
pub fn add(t: &mut Tables, run: LiveRun) {
    t.summary.push(run.summary);
    t.timeseries.extend(run.timeseries);
    t.workers.extend(run.workers);
    t.decisions.extend(run.decisions);
}

/// The scenario's fault timeline as `faults.csv` rows (as the simulator writes them).
pub use lb_sim::output::fault_rows;

/// Replace `scenario`'s rows in `path` (if it exists) by `new`, keeping every other row.
pub fn merge<T: Row>(
    path: &Path,
    scenario: &str,
    name: fn(&T) -> &str,
    new: Vec<T>,
) -> Result<(), ReportError> {
    let mut rows: Vec<T> = if path.is_file() {
        read_csv(path)?
    } else {
        Vec::new()
    };
    rows.retain(|r| name(r) != scenario);
    rows.extend(new);
    write_csv(path, &rows)
}

/// Write `t` into `out` (created if needed) in the simulator's layout, replacing the rows of
/// `scenario` and keeping those of other scenarios.
pub fn merge_into(out: &Path, scenario: &str, t: Tables) -> Result<(), ExperimentError> {
    create_dir(out)?;
    merge(
        &out.join(SummaryRow::FILE_NAME),
        scenario,
        |r: &SummaryRow| &r.scenario,
        t.summary,
    )?;
    merge(
        &out.join(TimeseriesRow::FILE_NAME),
        scenario,
        |r: &TimeseriesRow| &r.scenario,
        t.timeseries,
    )?;
    merge(
        &out.join(WorkerRow::FILE_NAME),
        scenario,
        |r: &WorkerRow| &r.scenario,
        t.workers,
    )?;
    merge(
        &out.join(DecisionRow::FILE_NAME),
        scenario,
        |r: &DecisionRow| &r.scenario,
        t.decisions,
    )?;
    merge(
        &out.join(FaultRow::FILE_NAME),
        scenario,
        |r: &FaultRow| &r.scenario,
        t.faults,
    )?;
    Ok(())
}

/// Create `out` and its parents if needed.
pub fn create_dir(out: &Path) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(out).map_err(|source| ExperimentError::Out {
        path: out.to_path_buf(),
        source,
    })
}

/// One line per run: latencies, errors, the rate sent against the rate asked, engine switches.
pub fn table(runs: &[(SummaryRow, f64, f64, u64)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<24} {:<18} {:>5} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>6} {:>8}",
        "scenario",
        "algorithm",
        "seed",
        "requests",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors%",
        "sent/s",
        "asked/s",
        "late",
        "switches"
    );
    for (r, sent, asked, late) in runs {
        let _ = writeln!(
            s,
            "{:<24} {:<18} {:>5} {:>8} {:>8.2} {:>8.2} {:>9.2} {:>8.3} {:>8.1} {:>8.1} {:>6} {:>8}",
            r.scenario,
            r.algorithm,
            r.seed,
            r.requests,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.error_rate * 100.0,
            sent,
            asked,
            late,
            r.switches
        );
    }
    s
}
