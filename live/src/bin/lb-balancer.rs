//! `lb-balancer`: the live HTTP load balancer.
//!
//! ```text
//! lb-balancer --local-workers 3                         # a whole stack on one command
//! lb-balancer --worker 127.0.0.1:9001 --worker 127.0.0.1:9002 --algorithm adaptive
//! lb-balancer --config balancer.toml --token secret
//! lb-balancer --worker 10.200.0.1:9001 --peer http://10.200.0.11:9090 --peer-vip 10.200.0.100
//! ```

use anyhow::Context;
use clap::Parser;
use lb_live::balancer::config::{Overrides, Settings};
use lb_live::balancer::peer::PeerFlags;
use lb_live::balancer::server;
use std::path::PathBuf;
use std::process::ExitCode;

/// A real HTTP load balancer driven by lb-core: the algorithms, health checks and decision
/// engine of the simulator, on real time.
#[derive(Debug, Parser)]
#[command(name = "lb-balancer", version, about)]
struct Cli {
    /// A TOML configuration file (see the README's Live mode section).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data port address [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Admin API and /metrics address [default: 127.0.0.1:8081].
    #[arg(long)]
    admin: Option<String>,
    /// A worker address; repeat for more.
    #[arg(long = "worker")]
    workers: Vec<String>,
    /// An algorithm name, or `adaptive` for the decision engine [default: round_robin].
    #[arg(long)]
    algorithm: Option<String>,
    /// Start this many workers in this process on free ports (10 ms service, 4 slots each).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    local_workers: u16,
    /// Bearer token required by admin routes that change state (or the LB_ADMIN_TOKEN
    /// environment variable).
    #[arg(long)]
    token: Option<String>,
    /// The decision engine's switch window, seconds [default: 60].
    #[arg(long)]
    window_s: Option<f64>,
    /// The decision engine's policy: `rules` or `forecast` [default: rules].
    #[arg(long)]
    policy: Option<String>,
    /// Time between health probes of a worker, ms [default: 1000].
    #[arg(long)]
    health_interval_ms: Option<u64>,
    /// Longest wait for a worker's response head, ms [default: 10000].
    #[arg(long)]
    request_timeout_ms: Option<u64>,
    /// Core balancer shards; client connections are spread over them [default: one per core].
    #[arg(long)]
    shards: Option<usize>,
    /// Longest wait for one try of a retryable request, ms [default: 5000, at most the request
    /// timeout].
    #[arg(long)]
    per_try_timeout_ms: Option<u64>,
    /// A client's request head must arrive within this, ms [default: 60000].
    #[arg(long)]
    header_timeout_ms: Option<u64>,
    /// A kept-alive client connection with no request closes after this, ms [default: 75000].
    #[arg(long)]
    idle_timeout_ms: Option<u64>,
    /// Longest gap between two pieces of a request body (then 408), ms [default: 60000].
    #[arg(long)]
    body_timeout_ms: Option<u64>,
    /// Most open data connections; beyond, accepted and closed [default: from the descriptor
    /// limit, at most 4096].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Listen backlog of the data and admin sockets [default: 1024].
    #[arg(long)]
    backlog: Option<u32>,
    /// Allow an admin address reachable from other hosts without a token (not recommended).
    #[arg(long)]
    admin_insecure: bool,
    /// The other balancer of a pair (its admin API, http://HOST:PORT): mirror its workers,
    /// mode and pinned algorithm.
    #[arg(long, value_name = "URL")]
    peer: Option<String>,
    /// Mirror the peer only while this virtual address is not on this host (while standby).
    #[arg(long, value_name = "IP", requires = "peer")]
    peer_vip: Option<String>,
    /// Time between two polls of the peer, ms [default: 500].
    #[arg(long, value_name = "MS", requires = "peer")]
    peer_interval_ms: Option<u64>,
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let flags = Overrides {
        listen: cli.listen,
        admin: cli.admin,
        algorithm: cli.algorithm,
        workers: cli.workers,
        token: cli.token.or_else(|| std::env::var("LB_ADMIN_TOKEN").ok()),
        window_s: cli.window_s,
        policy: cli.policy,
        health_interval_ms: cli.health_interval_ms,
        request_timeout_ms: cli.request_timeout_ms,
        shards: cli.shards,
        per_try_timeout_ms: cli.per_try_timeout_ms,
        header_timeout_ms: cli.header_timeout_ms,
        idle_timeout_ms: cli.idle_timeout_ms,
        body_timeout_ms: cli.body_timeout_ms,
        max_connections: cli.max_connections,
        backlog: cli.backlog,
        admin_insecure: cli.admin_insecure,
        peer: PeerFlags {
            url: cli.peer,
            vip: cli.peer_vip,
            interval_ms: cli.peer_interval_ms,
        },
    };
    let settings = Settings::load(cli.config.as_deref(), &flags)?;
    if settings.workers.is_empty() && cli.local_workers == 0 {
        anyhow::bail!(
            "no workers: give --worker ADDR (repeatable), [[workers]] in --config, or --local-workers N"
        );
    }
    let running = server::start(settings, usize::from(cli.local_workers))
        .await
        .context("cannot start")?;
    println!(
        "lb-balancer listening on {} (admin {})",
        running.data_addr, running.admin_addr
    );
    for ((addr, _), control) in running.local_workers.iter().zip(&running.local_controls) {
        println!("local worker on {addr} (control {control})");
    }
    running.run_until(lb_live::shutdown::signal()).await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lb-balancer: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lb-balancer: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
