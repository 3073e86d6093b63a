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
//! - The time series buckets requests by their due time; the simulator buckets answers by the
//!   time they complete. Requests due before the warm-up are sent and shown in the time series
//!   but left out of `summary.csv` and `workers.csv`, as in the simulator.
//! - The balancer retries a refused connection once on another worker (GET requests): a crashed
//!   worker costs fewer errors than in the simulator.
//!
//! Results go to the `--out` folder in the simulator's layout (five CSVs at the top, charts in a
//! folder per scenario). Rows of other scenarios already there are kept, so running the live
//! scenarios one by one accumulates them.
//!
//! # Layout
//!
//! - [`live_run`]: one algorithm on one scenario (workers, balancer, arrivals, faults).
//! - [`faults`]: the fault timeline, applied to running workers.
//! - [`output`]: CSV rows, merging into an existing folder, the table printed at the end.

pub mod faults;
pub mod live_run;
pub mod output;

use crate::report::progress_bar;
use anyhow::{Context, bail};
use lb_core::scenario::{Length, Scenario};
use lb_core::{Algorithm, Instant, Strategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
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

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Algorithms (empty: the scenario's list, else [`DEFAULT_ALGORITHMS`]).
    pub algorithms: Vec<Strategy>,
    /// Results folder.
    pub out: PathBuf,
    /// Seed of the arrival schedule and of the workers.
    pub seed: u64,
    /// No progress bar.
    pub quiet: bool,
}

/// The due times of `scenario`'s arrivals for `seed`, as the simulator draws them.
pub fn due_times(scenario: &Scenario, seed: u64) -> anyhow::Result<Vec<Duration>> {
    let Length::Duration(length) = scenario.length else {
        bail!(
            "{}: field `requests`: a live experiment runs for a fixed time; give `duration_s` instead",
            scenario.origin
        );
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM_ARRIVALS);
    let mut schedule = scenario.arrivals.schedule(Some(Instant::ZERO + length));
    let mut due = Vec::new();
    while let Some(t) = schedule.next_arrival(&mut rng) {
        due.push(Duration::from_nanos(t.as_nanos()));
    }
    Ok(due)
}

/// Run the experiment: every algorithm in turn, then write and draw the results. Returns the
/// table of results to print.
pub async fn run(opts: &Options) -> anyhow::Result<String> {
    let scenario = Scenario::from_file(&opts.scenario)?;
    let due = due_times(&scenario, opts.seed)?;
    let algorithms = if !opts.algorithms.is_empty() {
        opts.algorithms.clone()
    } else if !scenario.algorithms.is_empty() {
        scenario.algorithms.clone()
    } else {
        DEFAULT_ALGORITHMS.to_vec()
    };
    let length = match scenario.length {
        Length::Duration(d) => d.as_secs_f64(),
        Length::Requests(_) => 0.0,
    };
    let mut tables = output::Tables::default();
    let mut lines = Vec::new();
    for strategy in algorithms {
        if !opts.quiet {
            eprintln!(
                "lb-loadgen: {} with {strategy}: {} requests over {length} s",
                scenario.name,
                due.len()
            );
        }
        let bar = progress_bar(opts.quiet, length);
        let run = live_run::run(
            &scenario,
            strategy,
            opts.seed,
            &due,
            bar.clone(),
            !opts.quiet,
        )
        .await
        .with_context(|| format!("{} with {strategy}", scenario.name))?;
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
        tables.add(run);
    }
    tables.faults = output::fault_rows(&scenario);
    output::merge_into(&opts.out, &scenario.name, tables)?;
    let charts = lb_report::render_dir(&opts.out)?;
    if !opts.quiet {
        eprintln!(
            "lb-loadgen: wrote 5 CSVs and {} charts to {}",
            charts.len(),
            opts.out.display()
        );
    }
    Ok(output::table(&lines))
}
