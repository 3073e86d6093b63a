//! `lb-loadgen experiment SCENARIO.toml`: a scenario run for real.
//!
//! For each algorithm asked for, the experiment starts the scenario's workers as real processes
//! on 127.0.0.1 ([`crate::worker_process`]), a real balancer in-process
//! (`lb_live::balancer::server::start`, one shard, like the simulator's single balancer), then
//! sends the scenario's arrival schedule through it, open loop, and applies the fault timeline
//! through the workers' fault API at the scheduled times. The arrival times are the simulator's
//! for the same seed (`ChaCha8Rng` seeded with the seed, stream 1), so a live run and a
//! simulated run see the same requests at the same instants.
//!
//! What differs from the simulator, on purpose or by nature:
//!
//! - `network_delay` is ignored: the balancer and the workers talk over loopback.
//! - Latency is measured by the client, from each request's due time to the end of its answer,
//!   so it includes the generator's own lateness (reported) and the loopback hops.
//! - The time series buckets answers by the second they complete in, as the simulator's does.
//!   Requests due before the warm-up are sent and shown in the time series
//!   but left out of `summary.csv` and `workers.csv`, as in the simulator.
//! - The balancer retries a refused connection once on another worker (GET requests): a crashed
//!   worker costs fewer errors than in the simulator.
//!
//! Results go to the `--out` folder in the simulator's layout (five CSVs at the top, charts in a
//! folder per scenario). Rows of other scenarios already there are kept, so running the live
//! scenarios one by one accumulates them. With `--with-sim` ([`compare`]) the simulator runs the
//! same scenarios too, into `--out/sim`, and the two are drawn on the same axes.
//!
//! # Layout
//!
//! - [`live_run`]: one algorithm on one scenario (workers, balancer, arrivals, faults).
//! - [`faults`]: the fault timeline, applied to running workers.
//! - [`output`]: CSV rows, merging into an existing folder, the table printed at the end.
//! - [`compare`]: the simulator on the same scenario, `comparison.csv`, the live/sim ratios.
//! - [`error`]: [`ExperimentError`], whose messages name the file, scenario or run.

pub mod compare;
pub mod error;
pub mod faults;
pub mod live_run;
pub mod output;

use crate::report::progress_bar;
use lb_core::scenario::{Length, Scenario};
use lb_core::{Algorithm, Instant, Strategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The algorithms run when neither the scenario nor `--algorithms` names any.
pub const DEFAULT_ALGORITHMS: [Strategy; 4] = [
    Strategy::Fixed(Algorithm::RoundRobin),
    Strategy::Fixed(Algorithm::LeastConnections),
    Strategy::Fixed(Algorithm::PeakEwma),
    Strategy::Adaptive,
];

/// The simulator's stream of arrival times (`lb-sim`'s `STREAM_ARRIVALS`).
const STREAM_ARRIVALS: u64 = 1;

pub use error::ExperimentError;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scenario files, or folders of them (every `*.toml` inside, in name order).
    pub scenarios: Vec<PathBuf>,
    /// Algorithms (empty: the scenario's list, else [`DEFAULT_ALGORITHMS`]).
    pub algorithms: Vec<Strategy>,
    /// Results folder.
    pub out: PathBuf,
    /// Seeds, each a run of every algorithm: the arrival schedule and the workers' draws.
    pub seeds: Vec<u64>,
    /// No progress bar.
    pub quiet: bool,
    /// Also run the simulator on the same scenarios and compare ([`compare`]).
    pub with_sim: bool,
}

/// Read every scenario first, so that a malformed one stops the experiment before any run.
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>, ExperimentError> {
    lb_core::scenario::scenario_files(paths)?
        .iter()
        .map(|f| Scenario::from_file(f).map_err(ExperimentError::from))
        .collect()
}

/// How long `scenario` sends: a live run needs `duration_s`, not `requests`.
pub(crate) fn live_length(scenario: &Scenario) -> Result<lb_core::time::Duration, ExperimentError> {
    match scenario.length {
        Length::Duration(d) => Ok(d),
        Length::Requests(_) => Err(ExperimentError::NeedsDuration {
            origin: scenario.origin.clone(),
        }),
    }
}

/// The strategies to run on `scenario`: `--algorithms`, else the scenario's, else
/// [`DEFAULT_ALGORITHMS`].
fn algorithms(opts: &Options, scenario: &Scenario) -> Vec<Strategy> {
    if !opts.algorithms.is_empty() {
        opts.algorithms.clone()
    } else if !scenario.algorithms.is_empty() {
        scenario.algorithms.clone()
    } else {
        DEFAULT_ALGORITHMS.to_vec()
    }
}

/// The due times of `scenario`'s arrivals for `seed`, as the simulator draws them.
pub fn due_times(scenario: &Scenario, seed: u64) -> Result<Vec<Duration>, ExperimentError> {
    let length = live_length(scenario)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM_ARRIVALS);
    let mut schedule = scenario.arrivals.schedule(Some(Instant::ZERO + length));
    let mut due = Vec::new();
    while let Some(t) = schedule.next_arrival(&mut rng) {
        due.push(Duration::from_nanos(t.as_nanos()));
    }
    Ok(due)
}

/// Run the experiment: every scenario, every algorithm in turn, then write and draw the
/// results (and, with `with_sim`, the simulator's and the comparison). Returns the tables to
/// print. A failed run stops the experiment, but the scenarios finished before it are already
/// written to `--out`.
pub async fn run(opts: &Options) -> Result<String, ExperimentError> {
    let scenarios = load_scenarios(&opts.scenarios)?;
    for sc in &scenarios {
        live_length(sc)?;
        if let Some(s) = algorithms(opts, sc).into_iter().find(|s| s.is_schedule()) {
            return Err(ExperimentError::SimOnly {
                origin: sc.origin.clone(),
                algorithm: s.name().to_string(),
            });
        }
    }
    let mut printed = String::new();
    let mut compared = Vec::new();
    for scenario in &scenarios {
        printed.push_str(&run_one(opts, scenario).await?);
        if opts.with_sim {
            compared.extend(compare::compare(&opts.out, scenario)?);
        }
    }
    let mut charts = lb_report::render_dir(&opts.out)?;
    if opts.with_sim {
        charts.extend(compare::draw(&opts.out)?);
        printed.push('\n');
        printed.push_str(&compare::table(&compared));
    }
    if !opts.quiet {
        eprintln!(
            "lb-loadgen: wrote the CSVs and {} charts to {}",
            charts.len(),
            opts.out.display()
        );
    }
    Ok(printed)
}

/// `lb-loadgen compare`: the simulator beside live results already in `out`, for `paths`
/// (scenario files or folders). Returns the table to print.
pub fn compare_only(paths: &[PathBuf], out: &Path) -> Result<String, ExperimentError> {
    let scenarios = load_scenarios(paths)?;
    let mut rows = Vec::new();
    for scenario in &scenarios {
        rows.extend(compare::compare(out, scenario)?);
    }
    compare::draw(out)?;
    Ok(compare::table(&rows))
}

/// One scenario live, every algorithm and seed (seeds inner, as `lb-sim` orders its runs); its
/// rows merged into `--out`.
async fn run_one(opts: &Options, scenario: &Scenario) -> Result<String, ExperimentError> {
    let algorithms = algorithms(opts, scenario);
    let length = live_length(scenario)?.as_secs_f64();
    let mut schedules = Vec::with_capacity(opts.seeds.len());
    for &seed in &opts.seeds {
        schedules.push((seed, due_times(scenario, seed)?));
    }
    let mut tables = output::Tables::default();
    let mut lines = Vec::new();
    for strategy in algorithms {
        for (seed, due) in &schedules {
            if !opts.quiet {
                eprintln!(
                    "lb-loadgen: {} with {strategy}, seed {seed}: {} requests over {length} s",
                    scenario.name,
                    due.len()
                );
            }
            let bar = progress_bar(opts.quiet, length);
            let run = live_run::run(scenario, strategy, *seed, due, bar.clone(), !opts.quiet)
                .await
                .map_err(|e| ExperimentError::Run {
                    scenario: scenario.name.clone(),
                    algorithm: format!("{strategy} (seed {seed})"),
                    source: Box::new(e),
                })?;
            bar.finish_and_clear();
            for w in &run.warnings {
                eprintln!("lb-loadgen: warning: {w}");
            }
            let secs = run.sending.elapsed.as_secs_f64().max(1e-9);
            lines.push((
                run.summary.clone(),
                run.sending.sent as f64 / secs,
                run.asked_rate,
                run.sending.late,
            ));
            output::add(&mut tables, run);
        }
    }
    tables.faults = output::fault_rows(scenario);
    output::merge_into(&opts.out, &scenario.name, tables)?;
    Ok(output::table(&lines))
}
