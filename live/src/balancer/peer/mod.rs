//! A standby that mirrors its peer: with `--peer http://HOST:PORT` the balancer polls the other
//! balancer's admin API (`GET /admin/status`, with the admin token if one is set) and makes its
//! own workers, mode and pinned algorithm the same, so that when a virtual address moves to it
//! (keepalived, VRRP) it balances over the same pool in the same way.
//!
//! Replication, not a shared store: the admin API already says everything that matters, a
//! standby needs nothing but the address of its peer, and a dead peer leaves the standby with
//! the last state it saw (nothing to lose when the active machine dies with its disk).
//!
//! Who mirrors whom: with `--peer-vip ADDR`, a balancer mirrors only while `ADDR` is not on
//! one of its host's interfaces, i.e. while it is the standby. Both balancers of a pair can
//! then be started the same way, each with the other as its peer: the one holding the
//! address is the source, the other follows, and after a takeover the roles swap by
//! themselves. Without `--peer-vip` a balancer always mirrors (a one-way pair).
//!
//! Changes made on the active less than one poll interval before it dies can be lost.

mod config;
mod plan;

pub use config::{PeerFile, PeerFlags, PeerSettings, settings};
pub use plan::{BadStatus, Change, Member, Snapshot, WireStatus, plan};

use super::state::{Shared, StateError};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{AUTHORIZATION, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;

/// The largest status answer read from a peer.
const MAX_STATUS_BYTES: usize = 4 << 20;

/// Why a poll of the peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// No connection or no answer.
    #[error("GET {uri}: {reason}")]
    Unreachable {
        /// What was asked.
        uri: Uri,
        /// Refused, reset, timed out.
        reason: String,
    },
    /// An answer that is not 200.
    #[error("GET {uri}: answered {status}")]
    Status {
        /// What was asked.
        uri: Uri,
        /// What it answered.
        status: StatusCode,
    },
    /// A 200 whose body is not a balancer's status.
    #[error("GET {uri}: not a balancer status: {reason}")]
    Body {
        /// What was asked.
        uri: Uri,
        /// What is wrong with it.
        reason: String,
    },
}

/// Whether `ip` is an address of this host (a socket can be bound to it).
pub fn is_local(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// What the poller did last, so each change of role or reachability is logged once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Starting,
    Active,
    Mirroring,
    PeerDown,
}

/// Poll the peer every interval and mirror it, until `shutdown` completes.
pub async fn run(
    shared: Arc<Shared>,
    settings: PeerSettings,
    token: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(settings.interval));
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let auth = token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut role = Role::Starting;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = &mut shutdown => return,
        }
        role = poll_once(&shared, &settings, &client, auth.as_ref(), role).await;
    }
}

async fn poll_once(
    shared: &Shared,
    settings: &PeerSettings,
    client: &Client<HttpConnector, Empty<Bytes>>,
    auth: Option<&HeaderValue>,
    was: Role,
) -> Role {
    let uri = &settings.status_uri;
    if let Some(vip) = settings.vip.filter(|ip| is_local(*ip)) {
        if was != Role::Active {
            tracing::info!("peer: {vip} is ours, this balancer is active: not mirroring {uri}");
        }
        return Role::Active;
    }
    let fetched = tokio::time::timeout(settings.interval, fetch(client, uri, auth)).await;
    let result = fetched.unwrap_or_else(|_| {
        Err(PeerError::Unreachable {
            uri: uri.clone(),
            reason: format!("no answer within {} ms", settings.interval.as_millis()),
        })
    });
    match result {
        Ok(peer) => {
            if was != Role::Mirroring {
                tracing::info!("peer: mirroring {uri}");
            }
            mirror(shared, &peer);
            Role::Mirroring
        }
        Err(e) => {
            if was != Role::PeerDown {
                tracing::warn!("peer: {e}; keeping the last state mirrored");
            }
            Role::PeerDown
        }
    }
}

/// The peer's status, checked.
pub async fn fetch(
    client: &Client<HttpConnector, Empty<Bytes>>,
    uri: &Uri,
    auth: Option<&HeaderValue>,
) -> Result<Snapshot, PeerError> {
    let unreachable = |reason: String| PeerError::Unreachable {
        uri: uri.clone(),
        reason,
    };
    let bad_body = |reason: String| PeerError::Body {
        uri: uri.clone(),
        reason,
    };
    let mut req = Request::get(uri.clone());
    if let Some(v) = auth {
        req = req.header(AUTHORIZATION, v.clone());
    }
    let req = req
        .body(Empty::new())
        .map_err(|e| unreachable(e.to_string()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if resp.status() != StatusCode::OK {
        return Err(PeerError::Status {
            uri: uri.clone(),
            status: resp.status(),
        });
    }
    let body = Limited::new(resp.into_body(), MAX_STATUS_BYTES)
        .collect()
        .await
        .map_err(|e| bad_body(format!("reading it: {e}")))?
        .to_bytes();
    let wire: WireStatus = serde_json::from_slice(&body).map_err(|e| bad_body(e.to_string()))?;
    wire.snapshot().map_err(|e| bad_body(e.to_string()))
}

/// Make `shared` mirror `peer`; returns the changes made.
pub fn mirror(shared: &Shared, peer: &Snapshot) -> Vec<Change> {
    let local = Snapshot::of(&shared.status());
    let changes = plan(&local, peer);
    for c in &changes {
        if let Err(e) = apply(shared, *c) {
            tracing::warn!("peer: cannot mirror {c:?}: {e}");
        } else {
            tracing::info!("peer: mirrored {c:?}");
        }
    }
    changes
}

fn apply(shared: &Shared, change: Change) -> Result<(), StateError> {
    match change {
        Change::Add(m) => shared.add_worker(m.addr, m.weight).map(|_| ()),
        Change::Remove(addr) => shared.remove_worker(addr),
        Change::Drain(addr, on) => shared.set_draining(addr, on),
        Change::Pin(algorithm) => {
            shared.set_algorithm(algorithm);
            Ok(())
        }
        Change::Adaptive => {
            shared.set_mode(lb_core::engine::Mode::Adaptive);
            Ok(())
        }
    }
}
