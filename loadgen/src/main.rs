//! `lb-loadgen`: drive an HTTP target in open or closed loop; run a scenario live; redraw charts
//! from CSVs.
//!
//! ```text
//! lb-loadgen run http://127.0.0.1:8080/work --rate 500 --duration 10
//! lb-loadgen run http://127.0.0.1:8080/work --closed --connections 64 --duration 10
//! lb-loadgen experiment experiments/live --seeds 3 --with-sim --out results/live
//! lb-loadgen compare experiments/live --out results/live
//! lb-loadgen plot results/sim
//! ```

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use lb_core::Strategy;
use lb_live::worker::{ControlArgs, WorkerArgs};
use lb_loadgen::client::HttpClient;
use lb_loadgen::experiment::{self, Options};
use lb_loadgen::open_loop::OpenLoop;
use lb_loadgen::report::progress_bar;
use lb_loadgen::target::Target;
use lb_loadgen::worker_process::serve_child;
use lb_loadgen::{closed_loop, open_loop, report};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Load generator and experiment runner of the load-balancing testbed.
#[derive(Debug, Parser)]
#[command(name = "lb-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive an HTTP target (open loop at a rate by default; --closed for N connections).
    Run(Box<RunArgs>),
    /// Redraw every chart from the CSVs in a results folder (from lb-sim or lb-loadgen; with a
    /// `sim/` twin from `--with-sim`, its charts and the sim-vs-live charts too).
    Plot {
        /// The folder holding summary.csv, timeseries.csv, workers.csv (decisions.csv and
        /// faults.csv if present).
        dir: PathBuf,
    },
    /// Run scenario files live: worker processes, a real balancer per algorithm, the
    /// scenario's arrivals and faults; CSVs and charts in the simulator's layout.
    Experiment(ExperimentArgs),
    /// Run the simulator beside live results already in a folder (from `experiment`): its CSVs
    /// into OUT/sim, comparison.csv, sim-vs-live charts, and the live/sim ratios printed.
    Compare {
        /// Scenario files, or folders of them (every *.toml inside).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// The live results folder.
        #[arg(long, default_value = "results/live")]
        out: PathBuf,
    },
    /// One scenario worker (started by `experiment`; exits when its stdin closes).
    #[command(hide = true)]
    Worker(WorkerCommand),
}

#[derive(Debug, clap::Args)]
struct ExperimentArgs {
    /// Scenario files, or folders of them (every *.toml inside, in name order); the
    /// simulator's format, with `duration_s`, not `requests`.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// Algorithms to run, comma-separated [default: the scenario's `algorithms`, else
    /// round_robin,least_connections,peak_ewma,adaptive].
    #[arg(long, value_delimiter = ',', value_parser = parse_strategy)]
    algorithms: Vec<Strategy>,
    /// Results folder: five CSVs at the top, charts in a folder per scenario. Rows of other
    /// scenarios already there are kept.
    #[arg(long, default_value = "results/live")]
    out: PathBuf,
    /// Seed of the arrival schedule (the simulator's for the same seed) and of the workers'
    /// draws.
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
    seed: u64,
    /// Run seeds 1..=N instead (every algorithm N times), as `lb-sim --seeds` does.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: Option<u64>,
    /// No progress bar and no progress lines, the table only.
    #[arg(long, short)]
    quiet: bool,
    /// Also run the simulator on the same scenarios and seed (into OUT/sim), draw sim and live
    /// on the same axes and print the live/sim ratio of p50 and p99 per algorithm.
    #[arg(long)]
    with_sim: bool,
}

/// `lb-loadgen worker`: the flags of `lb-worker` (one [`WorkerArgs`] and one [`ControlArgs`]
/// for both), but the address is required and bound the way [`serve_child`] does, and the
/// control token is not read from the environment.
#[derive(Debug, clap::Args)]
struct WorkerCommand {
    /// Address to listen on (port 0: any free port).
    #[arg(long)]
    listen: SocketAddr,
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    control: ControlArgs,
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.trim().parse::<Strategy>().map_err(|e| e.to_string())
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The target URL, http://host:port/path.
    url: String,
    /// Requests per second (open loop).
    #[arg(long, default_value_t = 100.0, conflicts_with = "closed")]
    rate: f64,
    /// Poisson arrivals at the rate instead of evenly spaced ones.
    #[arg(long, conflicts_with = "closed")]
    poisson: bool,
    /// Closed loop: each connection sends its next request when the last one answered.
    #[arg(long)]
    closed: bool,
    /// Concurrent connections (closed loop).
    #[arg(long, default_value_t = 16, requires = "closed", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    /// How long to send, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Request body from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Extra header `Name: value`; repeat for more.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// A request not answered within this many ms is an error.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Most requests outstanding at once (open loop); beyond it sends go out late.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_in_flight: u64,
    /// Seed of the Poisson schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write summary.csv and timeseries.csv (the simulator's schema) into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Scenario name in the CSVs.
    #[arg(long, default_value = "run")]
    name: String,
    /// Algorithm column in the CSVs (what the target runs).
    #[arg(long, default_value = "target")]
    label: String,
    /// No progress bar, summary only.
    #[arg(long, short)]
    quiet: bool,
}

async fn run(a: Box<RunArgs>) -> anyhow::Result<()> {
    if !(a.duration.is_finite() && a.duration > 0.0 && a.duration <= 86_400.0) {
        bail!(
            "--duration: must be a number of seconds in (0, 86400], got {}",
            a.duration
        );
    }
    let rate_ok = a.rate.is_finite() && a.rate > 0.0 && a.rate <= 10_000_000.0;
    if !a.closed && !rate_ok {
        bail!(
            "--rate: must be a number of requests per second in (0, 10000000], got {}",
            a.rate
        );
    }
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => Bytes::from(b.clone()),
        (None, Some(f)) => {
            Bytes::from(std::fs::read(f).with_context(|| format!("--body-file {}", f.display()))?)
        }
        (None, None) => Bytes::new(),
    };
    let target = Arc::new(Target::new(&a.url, &a.method, body, &a.headers)?);
    let timeout = Duration::from_millis(a.timeout_ms);
    target
        .preflight(timeout.min(Duration::from_secs(3)))
        .await?;
    let client = HttpClient::new(timeout);
    let duration = Duration::from_secs_f64(a.duration);
    let bar = progress_bar(a.quiet, a.duration);
    let stats = if a.closed {
        closed_loop::run(
            client,
            target,
            a.connections as usize,
            duration,
            bar.clone(),
        )
        .await
    } else {
        let cfg = OpenLoop {
            rate: a.rate,
            duration,
            poisson: a.poisson,
            seed: a.seed,
            max_in_flight: a.max_in_flight as usize,
        };
        open_loop::run(client, target, cfg, bar.clone()).await
    };
    bar.finish_and_clear();
    print!("{}", report::summary(&stats));
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
        lb_report::write_csv(
            &out.join("summary.csv"),
            &[report::summary_row(&stats, &a.name, &a.label)],
        )?;
        lb_report::write_csv(
            &out.join("timeseries.csv"),
            &report::timeseries_rows(&stats, &a.name, &a.label),
        )?;
        // No per-worker view from outside the target: an empty workers.csv keeps the folder
        // drawable by `lb-loadgen plot`.
        lb_report::write_csv::<lb_report::WorkerRow>(&out.join("workers.csv"), &[])?;
        eprintln!(
            "lb-loadgen: wrote summary.csv, timeseries.csv and workers.csv to {}",
            out.display()
        );
    }
    Ok(())
}

/// Every chart of `dir`; with a simulator twin in `dir/sim`, its charts and the comparisons too.
fn plot(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut files = lb_report::render_dir(dir)?;
    if dir
        .join(experiment::compare::SIM_DIR)
        .join("summary.csv")
        .is_file()
    {
        files.extend(experiment::compare::draw(dir)?);
    }
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}

fn in_runtime(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(work),
        Err(e) => Err(anyhow::anyhow!("cannot start the runtime: {e}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plot { dir } => plot(&dir),
        Command::Run(args) => in_runtime(run(args)),
        Command::Experiment(a) => in_runtime(async move {
            let opts = Options {
                scenarios: a.scenarios,
                algorithms: a.algorithms,
                out: a.out,
                seeds: a.seeds.map_or_else(|| vec![a.seed], |n| (1..=n).collect()),
                quiet: a.quiet,
                with_sim: a.with_sim,
            };
            print!("{}", experiment::run(&opts).await?);
            Ok(())
        }),
        Command::Compare { scenarios, out } => experiment::compare_only(&scenarios, &out)
            .map(|table| print!("{table}"))
            .map_err(anyhow::Error::from),
        Command::Worker(a) => {
            in_runtime(async move { Ok(serve_child(a.listen, a.worker, a.control).await?) })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lb-loadgen: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
