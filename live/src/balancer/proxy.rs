//! The data path: a hyper HTTP/1.1 reverse proxy.
//!
//! For each request: ask the core balancer for a worker, forward the request with its body
//! streamed (hop-by-hop headers removed, `X-Forwarded-For` appended), stream the response back
//! with an `x-lb-worker` header naming the worker, and book the outcome (latency to the response
//! head, success, worker error, refused connection or timeout) in core and in the metrics.
//!
//! Connections to workers are pooled and kept alive by hyper's client. A refused connection is
//! retried once on another worker when the method is idempotent and the request has no body (a
//! streamed body cannot be replayed). The balancer answers 503 when no worker is available, 502
//! when the worker fails, 504 when it does not answer within the request timeout, each with a
//! short plain-text reason.

use super::metrics::Answer;
use super::state::{Picked, Shared};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_core::Outcome;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tokio::net::TcpListener;

/// The body type the proxy sends and answers with.
pub type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// The header naming the worker that served a response.
pub const WORKER_HEADER: &str = "x-lb-worker";

/// Timeouts of the data path.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting to a worker.
    pub connect: StdDuration,
    /// From sending the request to the response head.
    pub request: StdDuration,
}

/// The proxy: shared state plus a pooled HTTP client.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    client: Client<HttpConnector, ProxyBody>,
    timeouts: Timeouts,
}

/// Hop-by-hop headers (RFC 9110 section 7.6.1), never forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Remove hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, client: IpAddr) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let prior: Vec<&str> = headers
        .get_all(&xff)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(xff, v);
    }
}

fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

fn plain(status: StatusCode, reason: String) -> Response<ProxyBody> {
    let mut r = Response::new(
        Full::new(Bytes::from(reason + "\n"))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

impl Proxy {
    /// A proxy over `shared` with pooled keep-alive connections to the workers.
    pub fn new(shared: Arc<Shared>, timeouts: Timeouts) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeouts.connect));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(StdDuration::from_secs(30))
            .build(connector);
        Arc::new(Proxy {
            shared,
            client,
            timeouts,
        })
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Handle one client request of a connection assigned to `shard`.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: IpAddr,
        shard: usize,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let start = self.shared.now();
        let resp = self.forward(req, client, shard, start).await;
        // Every response the handler makes, the balancer's own included, is counted once here.
        if let Ok(r) = &resp {
            let latency = self.shared.now().saturating_since(start);
            self.shared.proxy.responded(r.status().as_u16(), latency);
        }
        resp
    }

    /// Forward one request that arrived at `start`, or answer it.
    async fn forward(
        &self,
        req: Request<Incoming>,
        client: IpAddr,
        shard: usize,
        start: lb_core::Instant,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let s = &self.shared;
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        append_forwarded_for(&mut parts.headers, client);
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let retryable = idempotent(&parts.method) && body.is_end_stream();
        let mut body = Some(body.boxed_unsync());
        let mut failed: Option<Picked> = None;

        for attempt in 0..2 {
            let picked = match &failed {
                None => s.pick(shard),
                Some(f) => s.pick_excluding(shard, f.id),
            };
            let Some(picked) = picked else {
                if let Some(f) = failed {
                    // The retry found no other worker: the answer is the first failure.
                    s.proxy.answered(Answer::BadGateway);
                    return Ok(plain(
                        StatusCode::BAD_GATEWAY,
                        format!("502 cannot connect to worker {}", f.authority),
                    ));
                }
                s.proxy.answered(Answer::NoWorker);
                return Ok(plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 no worker available".into(),
                ));
            };
            // Books the request as cancelled if this future is dropped before an outcome is
            // booked (the client went away): the worker must not stay counted in flight.
            let mut booking = Booking {
                shared: s,
                picked: &picked,
                open: true,
            };
            let uri = match Uri::builder()
                .scheme(Scheme::HTTP)
                .authority(picked.authority.clone())
                .path_and_query(path.clone())
                .build()
            {
                Ok(u) => u,
                Err(e) => {
                    return Ok(plain(
                        StatusCode::BAD_REQUEST,
                        format!("400 bad request target: {e}"),
                    ));
                }
            };
            let mut out = Request::new(body.take().unwrap_or_else(empty));
            *out.method_mut() = parts.method.clone();
            *out.uri_mut() = uri;
            // A retry needs the headers again; only then are they copied.
            *out.headers_mut() = if retryable && attempt == 0 {
                parts.headers.clone()
            } else {
                std::mem::take(&mut parts.headers)
            };
            let sent = tokio::time::timeout(self.timeouts.request, self.client.request(out)).await;
            let latency = s.now().saturating_since(start);
            let authority = &picked.authority;
            match sent {
                Ok(Ok(resp)) => {
                    let ok = !resp.status().is_server_error();
                    booking.close(latency, if ok { Outcome::Ok } else { Outcome::Error });
                    let (mut rp, rb) = resp.into_parts();
                    strip_hop_by_hop(&mut rp.headers);
                    rp.headers.insert(
                        HeaderName::from_static(WORKER_HEADER),
                        picked.header.clone(),
                    );
                    return Ok(Response::from_parts(rp, rb.boxed_unsync()));
                }
                Ok(Err(e)) if e.is_connect() => {
                    booking.close(latency, Outcome::Refused);
                    if retryable && attempt == 0 {
                        s.proxy.retried();
                        failed = Some(picked.clone());
                        continue;
                    }
                    s.proxy.answered(Answer::BadGateway);
                    return Ok(plain(
                        StatusCode::BAD_GATEWAY,
                        format!("502 cannot connect to worker {authority}"),
                    ));
                }
                Ok(Err(e)) => {
                    booking.close(latency, Outcome::Error);
                    s.proxy.answered(Answer::BadGateway);
                    return Ok(plain(
                        StatusCode::BAD_GATEWAY,
                        format!("502 worker {authority} failed: {e}"),
                    ));
                }
                Err(_) => {
                    booking.close(latency, Outcome::Timeout);
                    s.proxy.answered(Answer::Timeout);
                    return Ok(plain(
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "504 worker {authority} did not answer within {} ms",
                            self.timeouts.request.as_millis()
                        ),
                    ));
                }
            }
        }
        // Both attempts used (the second always returns above).
        Ok(plain(
            StatusCode::BAD_GATEWAY,
            "502 no worker answered".into(),
        ))
    }
}

/// A picked request not yet booked: booking it closes it; dropping it open books a cancel.
struct Booking<'a> {
    shared: &'a Shared,
    picked: &'a Picked,
    open: bool,
}

impl Booking<'_> {
    fn close(&mut self, latency: lb_core::time::Duration, outcome: Outcome) {
        self.open = false;
        self.shared.on_response(self.picked, latency, outcome);
        self.picked.metrics.record(
            &self.shared.proxy,
            self.picked.authority.as_str(),
            latency,
            outcome == Outcome::Ok,
        );
    }
}

impl Drop for Booking<'_> {
    fn drop(&mut self) {
        if self.open {
            self.shared.on_cancel(self.picked);
        }
    }
}

/// Accept connections on `listener` and proxy them until `shutdown` completes; then stop
/// accepting and wait (at most `drain`) for requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: StdDuration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shards = proxy.shared.shard_count();
    let mut next_shard = 0usize;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer): (_, SocketAddr) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(StdDuration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let p = Arc::clone(&proxy);
                // Connections take the shards in turn; all requests of one connection stay in
                // its shard.
                let shard = next_shard;
                next_shard = (next_shard + 1) % shards;
                let svc = hyper::service::service_fn(move |req| {
                    Arc::clone(&p).handle(req, peer.ip(), shard)
                });
                let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection from {peer}: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown: requests still in flight after {} s, closing",
            drain.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_named_by_connection_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        append_forwarded_for(&mut h, "::1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1, ::1");
        // Several header lines are joined, none lost.
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
    }

    #[test]
    fn only_idempotent_methods_are_retried() {
        assert!(idempotent(&Method::GET));
        assert!(idempotent(&Method::PUT));
        assert!(!idempotent(&Method::POST));
        assert!(!idempotent(&Method::PATCH));
    }
}
