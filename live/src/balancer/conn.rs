//! Serving HTTP/1.1 connections with limits: the data port and the admin API both go through
//! here, so a slow or idle client cannot hold a descriptor for long and a flood of connections
//! cannot starve the other listener.
//!
//! - **Cap**: at most `max_connections` open at once; beyond it a connection is accepted and
//!   closed at once (the kernel backlog does not fill, the client learns quickly).
//! - **Header timeout**: a request head (the first or a later one) must arrive in full within
//!   `header_timeout` (hyper's `header_read_timeout`, with a timer).
//! - **Idle timeout**: a kept-alive connection with no request in progress is closed after
//!   `idle_timeout`.
//! - **Shutdown**: connections with no request in progress (idle, or still sending a head) are
//!   closed at once; those with a request in progress finish it, then close, within `drain`.
//!
//! A request is "in progress" from the moment hyper hands it to the service until the response
//! body has been sent (or dropped): the service is wrapped so that a guard travels inside the
//! response body.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The error type of bodies served here.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for a complete request head.
    pub header_timeout: Duration,
    /// Longest a kept-alive connection may sit with no request in progress.
    pub idle_timeout: Duration,
    /// Longest wait at shutdown for requests in progress.
    pub drain: Duration,
}

/// Connections turned away because the cap was reached, per listener (for tests and logs).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Accepted and closed at once (over the cap).
    pub refused: AtomicU64,
    /// Open now.
    pub open: AtomicUsize,
}

/// What one connection knows about itself: requests in progress and when the last one ended.
#[derive(Debug)]
struct Activity {
    busy: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_since(&self) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*self.last.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Marks a request in progress until dropped (it lives inside the response body).
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Self {
        a.busy.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(a))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body carrying the [`Busy`] guard of its request.
struct Guarded<B> {
    inner: B,
    _busy: Busy,
}

impl<B> Body for Guarded<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request handler: from a request and the peer's address to a response.
pub trait Handler: Clone + Send + Sync + 'static {
    /// The response body.
    type Body: Body<Data = Bytes, Error: Into<BoxError>> + Send + Unpin + 'static;
    /// Answer one request.
    fn call(
        self,
        req: Request<Incoming>,
        peer: SocketAddr,
        conn: usize,
    ) -> impl Future<Output = Response<Self::Body>> + Send + 'static;
}

/// Accept connections on `listener` and serve them with `handler` under `limits` until
/// `shutdown` completes; then close idle connections, let requests in progress finish (at most
/// `limits.drain`) and return.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: H,
    limits: Limits,
    stats: Arc<ConnStats>,
    name: &'static str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut next = 0usize;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!("{name}: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    // Over the cap: accept and close at once.
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (h, st, rx) = (handler.clone(), Arc::clone(&stats), stop_rx.clone());
                let id = next;
                next = next.wrapping_add(1);
                conns.spawn(async move {
                    st.open.fetch_add(1, Ordering::Relaxed);
                    one(stream, peer, id, h, limits, rx).await;
                    st.open.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{name}: shutdown: requests still in progress after {} ms, closing",
            limits.drain.as_millis()
        );
        conns.shutdown().await;
    }
}

/// Serve one connection until it ends, idles out, or shutdown finds it idle.
async fn one<H: Handler>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    id: usize,
    handler: H,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        busy: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let a = Arc::clone(&activity);
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = Busy::new(&a);
        let fut = handler.clone().call(req, peer, id);
        async move {
            let resp = fut.await;
            let (parts, body) = resp.into_parts();
            Ok::<_, std::convert::Infallible>(Response::from_parts(
                parts,
                Guarded {
                    inner: body,
                    _busy: busy,
                }
                .boxed_unsync(),
            ))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = http.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let idle_deadline = activity
            .idle_since()
            .map(|t| t + limits.idle_timeout)
            .unwrap_or_else(|| Instant::now() + limits.idle_timeout);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection from {peer}: {e}");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    if activity.idle_since().is_some() {
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(idle_deadline.into()) => {
                if let Some(t) = activity.idle_since() {
                    if t.elapsed() >= limits.idle_timeout || stopping {
                        return;
                    }
                }
            }
        }
    }
}
