//! `lb-worker`: one worker server with the simulator's worker model (see `lb_live::worker`).
//!
//! Prints `lb-worker NAME listening on ADDR` on stdout once it accepts connections (scripts and
//! tests read that line), then `lb-worker NAME control on ADDR` (or `control off`): where the
//! fault API listens (`--control`, default 127.0.0.1 on a free port). Logs go to stderr,
//! filtered by `RUST_LOG` (default `info`). SIGINT or SIGTERM stops accepting and lets requests
//! in flight finish, for at most [`SHUTDOWN_GRACE`]; a second signal stops at once.

use anyhow::Context;
use clap::Parser;
use lb_live::worker::{
    ConfigError, ControlArgs, ControlSettings, TOKEN_ENV, WorkerArgs, WorkerState, serve,
    serve_control,
};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// How long requests in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A worker server for the load-balancing testbed: K slots, a FIFO queue, drawn service times,
/// injected failures, and a fault API (`PUT /admin/fault`) on its own control listener.
#[derive(Debug, Parser)]
#[command(name = "lb-worker", version)]
struct Args {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:9001", value_name = "ADDR")]
    listen: String,
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    control: ControlArgs,
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

/// A hint for a bind error, after the flag and address.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another process listens there; pick another port, or port 0 for any free one)"
        }
        std::io::ErrorKind::InvalidInput => " (expected HOST:PORT, e.g. 127.0.0.1:9001)",
        _ => "",
    }
}

/// Bind `addr` for `flag`; the error names both.
async fn bind(flag: &str, addr: &str) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("{flag} {addr}: {e}{}", bind_hint(&e)))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("{flag} {addr}: reading the bound address"))?;
    Ok((listener, bound))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // Checked before anything is bound: a refused control setting starts nothing.
    let env_token = std::env::var(TOKEN_ENV).ok();
    let control = args.control.settings(env_token.as_deref())?;
    let (listener, addr) = bind("--listen", &args.listen).await?;
    let control = match control {
        Some(c) => Some((bind("--control", &c.addr.to_string()).await?, c)),
        None => None,
    };
    let config = args.worker.into_config(&addr.to_string());
    let state = WorkerState::new(config).map_err(|e| match e {
        ConfigError::Name(_) => anyhow::anyhow!("--{e}"),
        other => anyhow::anyhow!("invalid worker settings: {other}"),
    })?;
    log_start(&state);
    println!("lb-worker {} listening on {addr}", state.name());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    match control {
        Some(((control_listener, control_addr), ControlSettings { token, .. })) => {
            println!("lb-worker {} control on {control_addr}", state.name());
            tracing::info!(%control_addr, token = token.is_some(), "control listener");
            let (s, shutdown) = (state.clone(), stopped());
            tokio::spawn(async move {
                if let Err(e) = serve_control(control_listener, s, token, shutdown).await {
                    tracing::error!("control listener: {e}");
                }
            });
        }
        None => println!("lb-worker {} control off", state.name()),
    }
    let server = tokio::spawn(serve(listener, state, stopped()));
    serve_until_signal(server, stop_tx).await
}

fn log_start(state: &WorkerState) {
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
}

/// Wait for the data server to end or for a signal; on a signal, tell every server to stop
/// and give requests in flight [`SHUTDOWN_GRACE`].
async fn serve_until_signal(
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_tx: tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
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
