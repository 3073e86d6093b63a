//! Integration tests of a balancer pair: the standby mirroring its peer and the readiness
//! routes (in-process, on 127.0.0.1), and a real failover (two `lb-balancer` processes, each
//! in a network namespace of its own, with keepalived moving a virtual address between them;
//! root only, skipped with a message elsewhere).

mod client;
mod keepalived;
mod netns;
mod peer;
mod procs;
mod ready;
mod takeover;

use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::worker::{WorkerConfig, WorkerState, serve};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Start an in-process worker on 127.0.0.1:0 (1 ms service); it runs until the runtime ends.
pub async fn spawn_worker() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let config = WorkerConfig {
        name: format!("w@{addr}"),
        ..WorkerConfig::default()
    };
    let state = WorkerState::new(config).expect("valid worker config");
    tokio::spawn(serve(listener, state, std::future::pending()));
    addr
}

/// Balancer settings on free ports of 127.0.0.1 over `workers`, one shard, with `edit` applied
/// to the flags.
pub fn settings(workers: &[SocketAddr], edit: impl FnOnce(&mut Overrides)) -> Settings {
    let mut flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        workers: workers.iter().map(ToString::to_string).collect(),
        shards: Some(1),
        ..Overrides::default()
    };
    edit(&mut flags);
    Settings::from_parts(ConfigFile::default(), "test", &flags).expect("valid settings")
}

/// A plain-HTTP client that never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

/// Poll `check` every 20 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T>(
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
