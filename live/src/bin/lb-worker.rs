//! `lb-worker`: one worker server with the simulator's worker model (see `lb_live::worker`).
//!
//! Prints `lb-worker NAME listening on ADDR` on stdout once it accepts connections (scripts and
//! tests read that line); logs go to stderr, filtered by `RUST_LOG` (default `info`). SIGINT or
//! SIGTERM stops accepting and lets requests in flight finish, for at most
//! [`SHUTDOWN_GRACE`]; a second signal stops at once.

use anyhow::Context;
use clap::Parser;
use lb_core::scenario::ErrorMode;
use lb_core::scenario::model::ServiceFile;
use lb_live::worker::{
    ConfigError, DEFAULT_CONCURRENCY, DEFAULT_SERVICE_MS, Fault, MAX_DELAY_MS, SERVICE_SPEC_FORMS,
    WorkerConfig, WorkerState, parse_service_spec, serve,
};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// How long requests in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A worker server for the load-balancing testbed: K slots, a FIFO queue, drawn service times,
/// injected failures, and a fault API (`PUT /admin/fault`).
#[derive(Debug, Parser)]
#[command(name = "lb-worker", version)]
struct Args {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:9001", value_name = "ADDR")]
    listen: String,
    /// Name in answers and the x-worker header [default: the address listened on].
    #[arg(long)]
    name: Option<String>,
    /// Requests served at once; more wait in a FIFO queue.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    concurrency: u32,
    /// Constant service time in ms (same as --service constant:MS) [default: 10].
    #[arg(long, value_name = "MS", value_parser = non_negative, conflicts_with = "service")]
    service_ms: Option<f64>,
    /// Service-time distribution: constant:MS, exponential:MEAN_MS, lognormal:MEDIAN_MS:P99_MS or
    /// pareto:MEAN_MS:SHAPE.
    #[arg(long, value_name = "SPEC", value_parser = service_spec)]
    service: Option<ServiceFile>,
    /// Speed factor: service times are divided by it.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    speed: f64,
    /// Probability that a /work request fails, in [0, 1].
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    error_rate: f64,
    /// When failures answer: fast (at once, no slot) or slow (after the service time).
    #[arg(long, default_value = "fast")]
    error_mode: ErrorMode,
    /// Start-up fault: service times multiplied by this.
    #[arg(long, value_name = "FACTOR", value_parser = positive)]
    slow_factor: Option<f64>,
    /// Start-up fault: fixed delay added to each /work request, ms.
    #[arg(long, value_name = "MS", value_parser = delay)]
    delay_ms: Option<f64>,
    /// Start-up fault: /health answers 503.
    #[arg(long)]
    unhealthy: bool,
    /// Start-up fault: accept requests but never answer (until DELETE /admin/fault).
    #[arg(long)]
    hang: bool,
    /// Seed of the worker's random numbers [default: derived from the name].
    #[arg(long)]
    seed: Option<u64>,
    /// Stop working on a request when its client goes away; by default the work runs to its
    /// end and holds its slot, as in the simulator.
    #[arg(long)]
    cancel_abandoned: bool,
}

fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

fn positive(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number > 0, got {v}"))
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number >= 0, got {v}"))
    }
}

fn probability(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be a number in [0, 1], got {v}"))
    }
}

fn delay(s: &str) -> Result<f64, String> {
    let v = non_negative(s)?;
    if v <= MAX_DELAY_MS {
        Ok(v)
    } else {
        Err(format!("must be at most {MAX_DELAY_MS} ms, got {v}"))
    }
}

fn service_spec(s: &str) -> Result<ServiceFile, String> {
    parse_service_spec(s).map_err(|e| match e {
        lb_live::worker::ServiceSpecError::Form(_) => e.to_string(),
        other => format!("{other} (forms: {SERVICE_SPEC_FORMS})"),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lb-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lb-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " (another process listens there; pick another port, or port 0 for any free one)"
                }
                std::io::ErrorKind::InvalidInput => " (expected HOST:PORT, e.g. 127.0.0.1:9001)",
                _ => "",
            };
            anyhow::anyhow!("--listen {}: {e}{hint}", args.listen)
        })?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("--listen {}: reading the bound address", args.listen))?;
    let service = match (args.service, args.service_ms) {
        (Some(s), _) => s,
        (None, Some(ms)) => ServiceFile::Constant { ms },
        (None, None) => ServiceFile::Constant {
            ms: DEFAULT_SERVICE_MS,
        },
    };
    let config = WorkerConfig {
        name: args.name.unwrap_or_else(|| addr.to_string()),
        concurrency: args.concurrency,
        service,
        speed: args.speed,
        error_rate: args.error_rate,
        error_mode: args.error_mode,
        seed: args.seed,
        fault: Fault {
            slow_factor: args.slow_factor,
            delay_ms: args.delay_ms,
            error_rate: None,
            error_mode: None,
            unhealthy: args.unhealthy,
            hang: args.hang,
        },
        cancel_abandoned: args.cancel_abandoned,
    };
    let state = WorkerState::new(config).map_err(|e| match e {
        ConfigError::Name(_) => anyhow::anyhow!("--{e}"),
        other => anyhow::anyhow!("invalid worker settings: {other}"),
    })?;
    tracing::info!(
        worker = state.name(),
        concurrency = state.config().concurrency,
        service = ?state.config().service,
        speed = state.config().speed,
        error_rate = state.config().error_rate,
        error_mode = state.config().error_mode.name(),
        seed = state.config().effective_seed(),
        fault = %state.fault().to_json(),
        "starting"
    );
    println!("lb-worker {} listening on {addr}", state.name());

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    }));
    tokio::pin!(server);
    tokio::select! {
        joined = &mut server => return joined.context("server task")?.context("serving"),
        () = lb_live::shutdown::signal() => {}
    }
    tracing::info!(
        "shutting down: no new connections, waiting up to {} s for requests in flight (signal again to stop now)",
        SHUTDOWN_GRACE.as_secs()
    );
    let _ = stop_tx.send(true);
    tokio::select! {
        joined = &mut server => joined.context("server task")?.context("serving")?,
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after {} s; stopping", SHUTDOWN_GRACE.as_secs());
        }
        () = lb_live::shutdown::signal() => tracing::warn!("second signal; stopping now"),
    }
    Ok(())
}
