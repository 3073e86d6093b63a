//! Starting and stopping a whole balancer: bind the data and admin listeners (a bad or busy
//! address is an error naming the setting), optionally start local workers in-process, then run
//! the proxy, the health checker, the engine tick and the admin API until shutdown.
//!
//! Both listeners go through [`conn`](super::conn): the data port with the configured client
//! timeouts and connection cap, the admin API with its own small cap, so a flood on one cannot
//! take the other down. Sockets are bound with the configured listen backlog.
//!
//! Shutdown is graceful: the data listener stops accepting, idle connections close at once,
//! requests in flight finish (up to `drain_timeout`), then the other tasks stop.

use super::config::Settings;
use super::conn::{ConnStats, Limits};
use super::proxy::{Proxy, Timeouts};
use super::state::{Shared, StateError};
use super::{admin, health};
use crate::worker::{WorkerConfig, WorkerState};
use lb_core::Strategy;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Why the balancer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound.
    #[error("{setting} {addr}: {error}")]
    Bind {
        /// `--listen` or `--admin`.
        setting: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why (address in use, permission denied...).
        error: std::io::Error,
    },
    /// A worker could not be added.
    #[error("worker: {0}")]
    Worker(#[from] StateError),
    /// A local worker could not be started.
    #[error("--local-workers: {0}")]
    LocalWorker(String),
}

/// A running balancer.
#[derive(Debug)]
pub struct Running {
    /// Where the proxy listens.
    pub data_addr: SocketAddr,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
    /// The shared state (for tests and embedding).
    pub shared: Arc<Shared>,
    /// Addresses and states of the in-process workers (`--local-workers`).
    pub local_workers: Vec<(SocketAddr, WorkerState)>,
    /// Open and refused data connections.
    pub data_conns: Arc<ConnStats>,
    /// Control listener (fault API, 127.0.0.1, no token) of each of `local_workers`, same order.
    pub local_controls: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// Completes once `rx` says stop (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Bind `addr` with a listen backlog of `backlog`.
fn bind(setting: &'static str, addr: SocketAddr, backlog: u32) -> Result<TcpListener, StartError> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    };
    let listen = || {
        let s = socket?;
        s.set_reuseaddr(true)?;
        s.bind(addr)?;
        s.listen(backlog)
    };
    listen().map_err(|error| StartError::Bind {
        setting,
        addr,
        error,
    })
}

/// Serve a local worker's fault API on 127.0.0.1:0 (loopback: no token) until `rx` says stop.
async fn local_control(
    tasks: &mut JoinSet<()>,
    state: WorkerState,
    rx: watch::Receiver<bool>,
) -> Result<SocketAddr, StartError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| StartError::LocalWorker(format!("control: cannot bind 127.0.0.1:0: {e}")))?;
    let addr = l
        .local_addr()
        .map_err(|e| StartError::LocalWorker(e.to_string()))?;
    tasks.spawn(async move {
        if let Err(e) = crate::worker::serve_control(l, state, None, stopped(rx)).await {
            tracing::error!("local worker control {addr}: {e}");
        }
    });
    Ok(addr)
}

/// Start a balancer with `settings`, plus `local_workers` in-process workers (10 ms constant
/// service, concurrency 4) on free ports of 127.0.0.1 added to the pool.
pub async fn start(settings: Settings, local_workers: usize) -> Result<Running, StartError> {
    let backlog = settings.limits.backlog;
    let data = bind("--listen", settings.listen, backlog)?;
    let admin_listener = bind("--admin", settings.admin, backlog)?;
    let data_addr = data.local_addr().unwrap_or(settings.listen);
    let admin_addr = admin_listener.local_addr().unwrap_or(settings.admin);
    let (stop, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let mut workers = settings.workers.clone();
    let mut locals = Vec::new();
    let mut local_controls = Vec::new();
    for i in 0..local_workers {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| StartError::LocalWorker(format!("cannot bind 127.0.0.1:0: {e}")))?;
        let addr = l
            .local_addr()
            .map_err(|e| StartError::LocalWorker(e.to_string()))?;
        let config = WorkerConfig {
            name: format!("local-{i}@{addr}"),
            seed: Some(i as u64 + 1),
            ..WorkerConfig::default()
        };
        let state = WorkerState::new(config).map_err(|e| StartError::LocalWorker(e.to_string()))?;
        let s = state.clone();
        let shutdown = stopped(rx.clone());
        tasks.spawn(async move {
            if let Err(e) = crate::worker::serve(l, s, shutdown).await {
                tracing::error!("local worker {addr}: {e}");
            }
        });
        local_controls.push(local_control(&mut tasks, state.clone(), rx.clone()).await?);
        workers.push((addr, 1));
        locals.push((addr, state));
    }

    let shared = Shared::with_shards(
        settings.balancer.clone(),
        settings.engine.clone(),
        settings.strategy == Strategy::Adaptive,
        &workers,
        0x5eed,
        settings.shards,
    )?;
    shared.set_own_addrs(&[data_addr, admin_addr]);
    shared.set_overload(settings.overload);
    let proxy = Proxy::new(
        Arc::clone(&shared),
        Timeouts {
            connect: settings.connect_timeout,
            request: settings.request_timeout,
            per_try: settings.per_try_timeout,
            body: settings.limits.body_timeout,
        },
    );
    let limits = Limits {
        max_connections: settings.limits.max_connections,
        header_timeout: settings.limits.header_timeout,
        idle_timeout: settings.limits.idle_timeout,
        drain: settings.drain_timeout,
    };
    let data_conns = Arc::new(ConnStats::default());
    let (proxy_done_tx, proxy_done_rx) = watch::channel(false);
    {
        let shutdown = stopped(rx.clone());
        let stats = Arc::clone(&data_conns);
        tasks.spawn(async move {
            super::conn::serve(data, proxy, limits, stats, "proxy", shutdown).await;
            let _ = proxy_done_tx.send(true);
        });
    }
    tasks.spawn(health::run(
        Arc::clone(&shared),
        settings.health.clone(),
        stopped(rx.clone()),
    ));
    let tick = settings.engine.tick.as_nanos();
    tasks.spawn(super::tick::run(
        Arc::clone(&shared),
        std::time::Duration::from_nanos(tick),
        stopped(rx.clone()),
    ));
    if let Some(peer) = settings.peer.clone() {
        let (shared, token) = (Arc::clone(&shared), settings.token.clone());
        tasks.spawn(super::peer::run(shared, peer, token, stopped(rx.clone())));
    }
    let router = admin::router(Arc::clone(&shared), settings.token.clone());
    // The admin API stays up until the proxy has drained, so status can be watched meanwhile.
    let admin_shutdown = stopped(proxy_done_rx);
    tasks.spawn(async move {
        if let Err(e) = admin::serve(admin_listener, router, admin_shutdown).await {
            tracing::error!("admin API: {e}");
        }
    });
    tracing::info!(
        "lb-balancer: proxy on {data_addr}, admin on {admin_addr}, {} workers, {}",
        workers.len(),
        settings.strategy
    );
    Ok(Running {
        data_addr,
        admin_addr,
        shared,
        local_workers: locals,
        data_conns,
        local_controls,
        stop,
        tasks,
    })
}

impl Running {
    /// Stop gracefully: stop accepting, let requests in flight finish, stop every task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Run until `signal` completes, then shut down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        tracing::info!("lb-balancer: shutting down, draining requests in flight");
        self.shutdown().await;
    }
}
