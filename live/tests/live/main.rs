//! Integration tests of live mode: real servers on 127.0.0.1 with ephemeral ports.
//!
//! One test binary for the crate; each area is a module. Shared helpers live here.

mod admin;
mod balancer;
mod control;
mod engine;
mod hardening;
mod metrics;
mod overload;
mod worker;

use lb_live::worker::{ControlToken, WorkerConfig, WorkerState, serve, serve_control};
use std::net::SocketAddr;

/// Start a worker with `config` on 127.0.0.1:0 in the background; returns its address and state.
/// The server runs until the test's runtime ends.
pub async fn spawn_worker(config: WorkerConfig) -> (SocketAddr, WorkerState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let state = WorkerState::new(config).expect("valid worker config");
    tokio::spawn(serve(listener, state.clone(), std::future::pending()));
    (addr, state)
}

/// [`spawn_worker`], plus its control listener (the fault API) on another port of 127.0.0.1,
/// asking for `token` if given; returns the data address, the control address and the state.
pub async fn spawn_controlled(
    config: WorkerConfig,
    token: Option<&str>,
) -> (SocketAddr, SocketAddr, WorkerState) {
    let (addr, state) = spawn_worker(config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let control = listener.local_addr().expect("local addr");
    let token = token.map(|t| ControlToken::new(t).expect("valid token"));
    let served = serve_control(listener, state.clone(), token, std::future::pending());
    tokio::spawn(served);
    (addr, control, state)
}

/// A plain-HTTP client that never uses a proxy (tests talk to 127.0.0.1 only).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}
