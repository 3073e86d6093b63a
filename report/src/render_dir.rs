//! Drawing every chart of a results directory.
//!
//! [`render_dir`] reads the CSV files a run wrote and draws, for each scenario found in
//! `summary.csv`, `timeseries.csv` or `workers.csv`:
//!
//! ```text
//! <dir>/<scenario>/latency_percentiles.png
//! <dir>/<scenario>/p99_over_time.png      (the smallest seed of the scenario)
//! <dir>/<scenario>/errors_over_time.png   (the same seed as p99_over_time.png)
//! <dir>/<scenario>/worker_share.png
//! ```
//!
//! [`render_dir`] returns the paths in exactly this order, scenario after scenario in byte order
//! of their names.
//!
//! `summary.csv`, `timeseries.csv` and `workers.csv` are required (every run writes them);
//! `decisions.csv` and `faults.csv` are read when present. Scenario names become directory
//! names, so all of them are checked before anything is drawn: a name that is empty, `.`, or
//! holds `/`, `\`, `..` or a NUL byte is rejected.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::charts::{error_rate_over_time, latency_percentiles, p99_over_time, worker_share};
use crate::csv_io::read_csv;
use crate::error::ReportError;
use crate::schema::{DecisionRow, FaultRow, Row, SummaryRow, TimeseriesRow, WorkerRow};

/// Draws every chart for every scenario of the results in `dir` and returns the paths written:
/// scenarios sorted by name (byte order), and for each the four charts in the order
/// `latency_percentiles.png`, `p99_over_time.png`, `errors_over_time.png`, `worker_share.png`.
/// The two over-time charts show the scenario's smallest seed in `timeseries.csv` (or in
/// `summary.csv` if it has no time series).
///
/// # Errors
///
/// [`ReportError::Missing`] naming the file if a required CSV is absent; the errors of
/// [`read_csv`] for unreadable or malformed files; [`ReportError::ScenarioName`] for a scenario
/// name that cannot be a directory name; [`ReportError::Io`] if a scenario directory cannot be
/// created; [`ReportError::Chart`] if a PNG cannot be written.
pub fn render_dir(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let summary: Vec<SummaryRow> = required(dir)?;
    let timeseries: Vec<TimeseriesRow> = required(dir)?;
    let workers: Vec<WorkerRow> = required(dir)?;
    let decisions: Vec<DecisionRow> = optional(dir)?;
    let faults: Vec<FaultRow> = optional(dir)?;

    let mut scenarios = BTreeSet::new();
    for (file, name) in summary
        .iter()
        .map(|r| (SummaryRow::FILE_NAME, &r.scenario))
        .chain(
            timeseries
                .iter()
                .map(|r| (TimeseriesRow::FILE_NAME, &r.scenario)),
        )
        .chain(workers.iter().map(|r| (WorkerRow::FILE_NAME, &r.scenario)))
    {
        if scenarios.insert(name.as_str()) {
            check_scenario_name(name).map_err(|reason| ReportError::ScenarioName {
                file: dir.join(file),
                name: name.clone(),
                reason,
            })?;
        }
    }

    let mut written = Vec::with_capacity(4 * scenarios.len());
    for scenario in scenarios {
        let out = dir.join(scenario);
        std::fs::create_dir_all(&out).map_err(|source| ReportError::Io {
            path: out.clone(),
            source,
        })?;

        let path = out.join("latency_percentiles.png");
        latency_percentiles(&summary, scenario, &path)?;
        written.push(path);

        let seed = timeseries
            .iter()
            .filter(|r| r.scenario == scenario)
            .map(|r| r.seed)
            .min()
            .or_else(|| {
                summary
                    .iter()
                    .filter(|r| r.scenario == scenario)
                    .map(|r| r.seed)
                    .min()
            })
            .unwrap_or(0);
        let path = out.join("p99_over_time.png");
        p99_over_time(&timeseries, &faults, &decisions, scenario, seed, &path)?;
        written.push(path);

        let path = out.join("errors_over_time.png");
        error_rate_over_time(&timeseries, &faults, &decisions, scenario, seed, &path)?;
        written.push(path);

        let path = out.join("worker_share.png");
        worker_share(&workers, scenario, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// Reads `dir/T::FILE_NAME`, which must exist.
fn required<T: Row>(dir: &Path) -> Result<Vec<T>, ReportError> {
    match optional_file(dir)? {
        Some(rows) => Ok(rows),
        None => Err(ReportError::Missing {
            path: dir.join(T::FILE_NAME),
            needed_by: "render_dir",
        }),
    }
}

/// Reads `dir/T::FILE_NAME`, or no rows if it does not exist.
fn optional<T: Row>(dir: &Path) -> Result<Vec<T>, ReportError> {
    Ok(optional_file(dir)?.unwrap_or_default())
}

/// Reads `dir/T::FILE_NAME`, or `None` if it does not exist.
fn optional_file<T: Row>(dir: &Path) -> Result<Option<Vec<T>>, ReportError> {
    match read_csv(&dir.join(T::FILE_NAME)) {
        Ok(rows) => Ok(Some(rows)),
        Err(ReportError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Why `name` cannot be a directory name, if it cannot.
fn check_scenario_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name == "." {
        Err("is `.`")
    } else if name.contains(['/', '\\']) {
        Err("contains a path separator")
    } else if name.contains("..") {
        Err("contains `..`")
    } else if name.contains('\0') {
        Err("contains a NUL byte")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_scenario_name;

    #[test]
    fn scenario_names_that_escape_the_directory_are_rejected() {
        for bad in [
            "", ".", "..", "a/b", "a\\b", "../x", "x..y", "/abs", "nul\0",
        ] {
            assert!(check_scenario_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["baseline", "slow-worker_3", "fault.x5", "burst 2"] {
            assert!(check_scenario_name(good).is_ok(), "{good:?} rejected");
        }
    }
}
