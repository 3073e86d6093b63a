//! Active health checks: every `interval`, probe each worker's health path with a GET; a 2xx
//! within `timeout` is a good probe, anything else (refused, 5xx, timeout) a failed one. The
//! results go to core's rise/fall state machine (`Balancer::on_probe`), which decides when a
//! worker is marked down (`fall` failures in a row) or back up (`rise` good probes in a row),
//! in every shard.

use super::state::Shared;
use bytes::Bytes;
use http_body_util::Empty;
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How to probe.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// Time between two probes of a worker.
    pub interval: Duration,
    /// A probe not answered within this fails.
    pub timeout: Duration,
    /// The path to GET, e.g. `/health`.
    pub path: String,
}

/// Probe every worker every interval until `shutdown` completes.
pub async fn run(
    shared: Arc<Shared>,
    settings: HealthSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(settings.timeout));
    // A fresh connection per probe, as HAProxy does: a pooled keep-alive connection could
    // outlive a worker's listener and make a dead worker look alive.
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector);
    let mut ticker = tokio::time::interval(settings.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = &mut shutdown => return,
        }
        let mut probes = tokio::task::JoinSet::new();
        for w in shared.workers() {
            let client = client.clone();
            let uri = format!("http://{}{}", w.authority, settings.path);
            let timeout = settings.timeout;
            probes.spawn(async move {
                let ok = match uri.parse::<Uri>() {
                    Ok(uri) => matches!(
                        tokio::time::timeout(timeout, client.get(uri)).await,
                        Ok(Ok(r)) if r.status().is_success()
                    ),
                    Err(_) => false,
                };
                (w.id, w.addr, ok)
            });
        }
        while let Some(done) = probes.join_next().await {
            let Ok((id, addr, ok)) = done else { continue };
            match shared.on_probe(id, ok) {
                Some(true) => tracing::info!("worker {addr} is up (health checks passed)"),
                Some(false) => tracing::warn!("worker {addr} is down (health checks failed)"),
                None => {}
            }
        }
    }
}
