//! `lb-sim`: run scenarios in the simulator and write CSVs and charts.
//!
//! With no arguments it runs every scenario in `experiments/` with every algorithm over 5 seeds
//! into `results/sim/`. `--algorithms ...,oracle` adds the hindsight oracle (and every static
//! algorithm it is made from), `--verdict` the oracle and adaptive and the verdict on adaptive.

use anyhow::bail;
use clap::Parser;
use lb_core::engine::PolicyKind;
use lb_core::scenario::Scenario;
use lb_core::{Algorithm, Strategy};
use lb_sim::{bench, output, runner, stretch};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Deterministic discrete-event simulation of HTTP load-balancing algorithms.
#[derive(Debug, Parser)]
#[command(name = "lb-sim", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    /// Scenario files, or folders of them (every *.toml inside). Default: experiments/
    paths: Vec<PathBuf>,

    /// Algorithms to compare, comma-separated (default: the scenario's list, else every static
    /// algorithm and `adaptive`). Also `scripted` (the scenario's [[switches]]) and `oracle`
    /// (each phase's best static algorithm, in hindsight; brings in every static algorithm).
    #[arg(long, value_delimiter = ',', value_parser = parse_strategy)]
    algorithms: Vec<Strategy>,

    /// Judge adaptive: add every static algorithm, `adaptive` and `oracle` to the runs, write
    /// oracle.csv and verdict.csv, and print the verdict.
    #[arg(long)]
    verdict: bool,

    /// Run seeds 1..=N.
    #[arg(long, default_value_t = 5, conflicts_with = "seed", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,

    /// Run this one seed only.
    #[arg(long)]
    seed: Option<u64>,

    /// Output folder.
    #[arg(long, default_value = "results/sim")]
    out: PathBuf,

    /// Stretch every scenario's timeline by this factor (longer runs, same shape).
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale, allow_negative_numbers = true)]
    scale: f64,

    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,

    /// The decision engine's policy for `adaptive` runs (`rules` or `forecast`), over what each
    /// scenario's `[engine] policy` says.
    #[arg(long, value_parser = parse_policy)]
    policy: Option<PolicyKind>,

    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,

    /// Write CSVs only, no charts.
    #[arg(long)]
    no_charts: bool,

    /// Measure the simulator's speed on the reference workload instead (1M requests, 10
    /// workers, power_of_two unless --algorithms says otherwise).
    #[arg(long)]
    bench: bool,

    /// Repetitions for --bench.
    #[arg(long, default_value_t = 5, requires = "bench")]
    reps: usize,
}

const AFTER_HELP: &str = "\
Strategies beyond the static algorithms:
  adaptive  the decision engine ([engine] in the scenario) switches algorithms as it sees fit
  scripted  the scenario's [[switches]] ({ at_s, algorithm }); an error for a scenario without
  oracle    hindsight: the measured window is cut into phases at every fault and arrival-rate
            change; each phase's best static algorithm on the requests that arrived in it,
            pooled over the seeds (errors first when they differ by more than 0.1 point, else
            p99), runs from the phase's start. Every static algorithm runs for it, asked for or
            not (the missing ones are added just before `oracle`). Writes oracle.csv (the
            schedule) and, with adaptive, verdict.csv (adaptive against the best static
            algorithm and the oracle, and the goals it meets).
The goals, the ranking rule and every column of oracle.csv and verdict.csv:
experiments/README.md, \"The oracle and the verdict\".

Examples:
  lb-sim                                   every scenario in experiments/ into results/sim
  lb-sim experiments/shifting.toml --seeds 3 --verdict --no-charts --out /tmp/verdict
  lb-sim experiments --algorithms least_connections,peak_ewma,adaptive,oracle";

/// `list` with what it needs: with `oracle` (added by `verdict`, with `adaptive`), every static
/// algorithm, the missing ones just before `oracle`.
fn with_needs(mut list: Vec<Strategy>, verdict: bool) -> Vec<Strategy> {
    if verdict {
        for s in [Strategy::Adaptive, Strategy::Oracle] {
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
    if let Some(at) = list.iter().position(|s| *s == Strategy::Oracle) {
        let missing: Vec<Strategy> = Algorithm::ALL
            .into_iter()
            .map(Strategy::Fixed)
            .filter(|s| !list.contains(s))
            .collect();
        list.splice(at..at, missing);
    }
    list
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.trim().parse::<Strategy>().map_err(|e| e.to_string())
}

fn parse_policy(s: &str) -> Result<PolicyKind, String> {
    s.trim().parse::<PolicyKind>().map_err(|e| e.to_string())
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(k) if k.is_finite() && k > 0.0 && k <= 1000.0 => Ok(k),
        Ok(k) => Err(format!("must be a number in (0, 1000], got {k}")),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// The scenario files named by `paths` (folders give their `*.toml` files, sorted by name);
/// none: `experiments/`.
fn scenario_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !paths.is_empty() {
        return Ok(lb_core::scenario::scenario_files(paths)?);
    }
    let default = PathBuf::from("experiments");
    if !default.is_dir() {
        bail!(
            "no scenario given and ./experiments not found: run from the repository root or name scenario files"
        );
    }
    Ok(lb_core::scenario::scenario_files(&[default])?)
}

fn load(
    files: &[PathBuf],
    scale: f64,
    policy: Option<PolicyKind>,
) -> anyhow::Result<Vec<Scenario>> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for f in files {
        let s = Scenario::from_file(f)?;
        if let Some(other) = scenarios.iter().find(|o| o.name == s.name) {
            bail!(
                "{}: scenario name {:?} is also used by {}; names must be unique (they name output rows and folders)",
                f.display(),
                s.name,
                other.origin
            );
        }
        let mut s = stretch::stretch(&s, scale);
        if let Some(p) = policy {
            s.engine.policy = p;
        }
        scenarios.push(s);
    }
    Ok(scenarios)
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    if cli.bench {
        let mut algs = Vec::new();
        for s in &cli.algorithms {
            match s {
                Strategy::Fixed(a) => algs.push(*a),
                Strategy::Adaptive | Strategy::Scripted | Strategy::Oracle => bail!(
                    "--bench measures fixed algorithms; the engine's tick cost is reported with them"
                ),
            }
        }
        if algs.is_empty() {
            algs.push(Algorithm::PowerOfTwo);
        }
        for a in algs {
            let runs = bench::bench(a, cli.reps)?;
            print!("{}", bench::report(a, &runs));
        }
        for policy in PolicyKind::ALL {
            for n in [10, 100, 1000] {
                let ticks = if policy == PolicyKind::Forecast {
                    50
                } else {
                    2_000
                };
                let us = bench::engine_tick(n, ticks, policy);
                println!(
                    "adaptive tick, {policy} policy, on {n} workers (window summaries, conditions, policy): {us:.2} us"
                );
            }
        }
        return Ok(());
    }
    let files = scenario_files(&cli.paths)?;
    let scenarios = load(&files, cli.scale, cli.policy)?;
    let seeds: Vec<u64> = match cli.seed {
        Some(s) => vec![s],
        None => (1..=cli.seeds).collect(),
    };
    let algorithms: Vec<Vec<Strategy>> = scenarios
        .iter()
        .map(|s| {
            let list = if !cli.algorithms.is_empty() {
                cli.algorithms.clone()
            } else if !s.algorithms.is_empty() {
                s.algorithms.clone()
            } else {
                Strategy::ALL.to_vec()
            };
            with_needs(list, cli.verdict)
        })
        .collect();
    for (s, list) in scenarios.iter().zip(&algorithms) {
        for &strategy in list {
            s.check_strategy(strategy)?;
        }
    }
    let jobs = runner::plan(&scenarios, &algorithms, &seeds);
    let threads = cli.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );
    let progress =
        !cli.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !cli.quiet {
        eprintln!(
            "lb-sim: {} scenarios, {} runs on {} threads -> {}",
            scenarios.len(),
            jobs.len(),
            threads,
            cli.out.display()
        );
    }
    let started = std::time::Instant::now();
    let (results, oracles) = runner::run_all(&scenarios, &jobs, threads, progress);
    let mut tables = output::tables(&scenarios, &jobs, &results);
    output::add_hindsight(&mut tables, &scenarios, &oracles);
    let written = output::write(&cli.out, &tables, !cli.no_charts)?;
    if !cli.quiet {
        print!("{}", output::summary_table(&tables.summary));
        if let Some(t) = output::adaptive_table(&tables.summary) {
            print!("\nadaptive against the best static algorithm (means over seeds):\n{t}");
        }
        if let Some(v) = &tables.verdict {
            print!(
                "\nverdict: adaptive against the best static algorithm and the hindsight oracle (means over seeds; oracle.csv, verdict.csv):\n{}",
                lb_sim::verdict::table(v)
            );
        }
        let events: u64 = results.iter().map(|r| r.events).sum();
        eprintln!(
            "lb-sim: {} events in {:.2} s; wrote {} files to {}",
            events,
            started.elapsed().as_secs_f64(),
            written.len(),
            display(&cli.out)
        );
    }
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lb-sim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
