//! Drawing every chart of a results directory, and the charts that compare a live results
//! directory with its simulator twin.
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
//!
//! [`render_comparison`] reads a live results directory `L` and the simulator's run of the same
//! scenarios and seeds (typically `L/sim`), and draws, for each scenario in both `summary.csv`
//! files:
//!
//! ```text
//! L/<scenario>/sim_vs_live_percentiles.png
//! L/<scenario>/sim_vs_live_p99_over_time.png   (the smallest live seed of the scenario)
//! ```
//!
//! in this order, scenario after scenario in byte order. `summary.csv` and `timeseries.csv` are
//! required in both directories; `decisions.csv` and `faults.csv` are read from `L` when
//! present. Scenario names are checked as for [`render_dir`].

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::charts::{
    error_rate_over_time, latency_percentiles, p99_over_time, sim_vs_live_p99_over_time,
    sim_vs_live_percentiles, worker_share,
};
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
    const NEEDED_BY: &str = "render_dir";
    let summary: Vec<SummaryRow> = required(dir, NEEDED_BY)?;
    let timeseries: Vec<TimeseriesRow> = required(dir, NEEDED_BY)?;
    let workers: Vec<WorkerRow> = required(dir, NEEDED_BY)?;
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

        let seed = smallest_seed(&timeseries, &summary, scenario);
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

/// For every scenario with rows in both `live_dir/summary.csv` and `sim_dir/summary.csv`
/// (the simulator's twin of a live run, typically `live_dir/sim`), draws the simulator next to
/// the live run and returns the paths written: scenarios sorted by name (byte order), and for
/// each `<live_dir>/<scenario>/sim_vs_live_percentiles.png` then
/// `<live_dir>/<scenario>/sim_vs_live_p99_over_time.png`. The over-time chart shows the
/// scenario's smallest live seed in `live_dir/timeseries.csv` (or in `live_dir/summary.csv` if
/// it has no time series), with the faults and switches of `live_dir`.
///
/// `summary.csv` and `timeseries.csv` are required in both directories; `decisions.csv` and
/// `faults.csv` are read from `live_dir` when present. Scenario names are checked as in
/// [`render_dir`] before anything is drawn.
///
/// # Errors
///
/// As [`render_dir`]: [`ReportError::Missing`] naming the file if a required CSV is absent;
/// the errors of [`read_csv`]; [`ReportError::ScenarioName`]; [`ReportError::Io`] if a
/// scenario directory cannot be created; [`ReportError::Chart`] if a PNG cannot be written.
pub fn render_comparison(live_dir: &Path, sim_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    const NEEDED_BY: &str = "render_comparison";
    let live_summary: Vec<SummaryRow> = required(live_dir, NEEDED_BY)?;
    let live_timeseries: Vec<TimeseriesRow> = required(live_dir, NEEDED_BY)?;
    let sim_summary: Vec<SummaryRow> = required(sim_dir, NEEDED_BY)?;
    let sim_timeseries: Vec<TimeseriesRow> = required(sim_dir, NEEDED_BY)?;
    let decisions: Vec<DecisionRow> = optional(live_dir)?;
    let faults: Vec<FaultRow> = optional(live_dir)?;

    let in_sim: BTreeSet<&str> = sim_summary.iter().map(|r| r.scenario.as_str()).collect();
    let scenarios: BTreeSet<&str> = live_summary
        .iter()
        .map(|r| r.scenario.as_str())
        .filter(|name| in_sim.contains(name))
        .collect();
    for name in &scenarios {
        check_scenario_name(name).map_err(|reason| ReportError::ScenarioName {
            file: live_dir.join(SummaryRow::FILE_NAME),
            name: (*name).to_owned(),
            reason,
        })?;
    }

    let mut written = Vec::with_capacity(2 * scenarios.len());
    for scenario in scenarios {
        let out = live_dir.join(scenario);
        std::fs::create_dir_all(&out).map_err(|source| ReportError::Io {
            path: out.clone(),
            source,
        })?;

        let path = out.join("sim_vs_live_percentiles.png");
        sim_vs_live_percentiles(&sim_summary, &live_summary, scenario, &path)?;
        written.push(path);

        let seed = smallest_seed(&live_timeseries, &live_summary, scenario);
        let path = out.join("sim_vs_live_p99_over_time.png");
        sim_vs_live_p99_over_time(
            &sim_timeseries,
            &live_timeseries,
            &faults,
            &decisions,
            scenario,
            seed,
            &path,
        )?;
        written.push(path);
    }
    Ok(written)
}

/// The smallest seed of `scenario` in `timeseries`, or in `summary` if it has no time series
/// (0 if neither has rows).
fn smallest_seed(timeseries: &[TimeseriesRow], summary: &[SummaryRow], scenario: &str) -> u64 {
    timeseries
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
        .unwrap_or(0)
}

/// Reads `dir/T::FILE_NAME`, which must exist for `needed_by`.
fn required<T: Row>(dir: &Path, needed_by: &'static str) -> Result<Vec<T>, ReportError> {
    match optional_file(dir)? {
        Some(rows) => Ok(rows),
        None => Err(ReportError::Missing {
            path: dir.join(T::FILE_NAME),
            needed_by,
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
