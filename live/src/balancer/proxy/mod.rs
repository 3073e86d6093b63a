//! The data path: a hyper HTTP/1.1 reverse proxy.
//!
//! For each request: check it (one `Host` on HTTP/1.1, no `CONNECT`, no upgrade, not looped
//! back to us: our `Via` entry), ask the core balancer for a worker, forward the request with
//! its body streamed (hop-by-hop headers removed, `X-Forwarded-For` and `Via` appended), stream
//! the response back with an `x-lb-worker` header naming the worker, and book the outcome
//! (latency to the response head, success, worker error, refused connection or timeout) in core
//! and in the metrics.
//!
//! Connections to workers are pooled and kept alive by hyper's client. An idempotent request
//! without a body is retried once on another worker when the first one failed before any
//! response byte arrived (connection refused, closed or reset before the response head, or no
//! head within the per-try timeout), if the retry budget allows. A failure on the client's side
//! (a body that cannot be read, or arrives too slowly) is booked as a cancel, never against the
//! worker, and answered 400 or 408. The balancer answers 503 when no worker is available, 502
//! when the worker fails, 504 when it does not answer in time, 508 for a loop, each with a short
//! plain-text reason.

mod body;
mod budget;
mod headers;

pub use body::{ClientBody, ClientFault, Fault};
pub use budget::RetryBudget;
pub use headers::{append_forwarded_for, append_via, refusal, strip_hop_by_hop, via_contains};

use super::conn::{BoxError, Handler};
use super::metrics::Answer;
use super::state::{Picked, Shared};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use lb_core::Outcome;
use lb_core::health::PickError;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration as StdDuration;

/// The body type the proxy sends and answers with.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// The header naming the worker that served a response.
pub const WORKER_HEADER: &str = "x-lb-worker";

/// Timeouts of the data path.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting to a worker.
    pub connect: StdDuration,
    /// From sending the request to the response head, all tries together.
    pub request: StdDuration,
    /// From sending one try to its response head (at most `request`).
    pub per_try: StdDuration,
    /// Longest gap between two pieces of a client's request body.
    pub body: StdDuration,
}

/// The proxy: shared state plus a pooled HTTP client.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    client: Client<HttpConnector, ProxyBody>,
    timeouts: Timeouts,
    budget: RetryBudget,
    /// This balancer's name in `Via` (`lb-<random hex>`), to detect loops.
    id: String,
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

/// How one try ended, when it did not bring a response.
enum Failed {
    /// No connection could be made: nothing was sent.
    Connect,
    /// The connection closed or reset before a response head.
    Closed(String),
    /// Something else went wrong with the worker.
    Other(String),
    /// No response head within the per-try timeout.
    Timeout,
    /// The client's side failed (its body); not the worker's fault.
    Client(Fault),
}

/// A try that brought no response.
struct TryFailed {
    /// The answer if no retry follows.
    answer: Response<ProxyBody>,
    /// Whether nothing reached the worker that a retry could duplicate.
    retry_safe: bool,
}

/// Why a hyper client error happened, in words a client can act on.
fn classify(e: &hyper_util::client::legacy::Error, fault: &ClientFault) -> Failed {
    if let Some(f) = fault.get() {
        return Failed::Client(f);
    }
    if e.is_connect() {
        return Failed::Connect;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return Failed::Closed(h.to_string());
            }
            return Failed::Other(h.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Failed::Closed(io.to_string());
        }
        source = s.source();
    }
    Failed::Other(e.to_string())
}

/// A number that differs between balancer instances (processes, and proxies in one process).
fn instance_id() -> u64 {
    use std::hash::BuildHasher;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::collections::hash_map::RandomState::new().hash_one((std::process::id(), n))
}

impl Proxy {
    /// A proxy over `shared` with pooled keep-alive connections to the workers.
    pub fn new(shared: Arc<Shared>, timeouts: Timeouts) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeouts.connect));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(StdDuration::from_secs(30))
            .build(connector);
        Arc::new(Proxy {
            shared,
            client,
            timeouts,
            budget: RetryBudget::new(0.2, 10),
            id: format!("lb-{:016x}", instance_id()),
        })
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// This balancer's name in `Via` headers.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Handle one client request of a connection assigned to `shard`.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: IpAddr,
        shard: usize,
    ) -> Response<ProxyBody> {
        let start = self.shared.now();
        let resp = self.forward(req, client, shard, start).await;
        // Every response the handler makes, the balancer's own included, is counted once here.
        let latency = self.shared.now().saturating_since(start);
        self.shared.proxy.responded(resp.status().as_u16(), latency);
        resp
    }

    /// Forward one request that arrived at `start`, or answer it.
    async fn forward(
        &self,
        req: Request<Incoming>,
        client: IpAddr,
        shard: usize,
        start: lb_core::Instant,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = req.into_parts();
        if let Some((code, reason)) = refusal(&parts.method, parts.version, &parts.headers) {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
            return plain(status, reason);
        }
        if via_contains(&parts.headers, &self.id) {
            return plain(
                StatusCode::LOOP_DETECTED,
                "508 loop detected: this request already went through this balancer (a worker address points back at it)".into(),
            );
        }
        strip_hop_by_hop(&mut parts.headers);
        append_forwarded_for(&mut parts.headers, client);
        append_via(&mut parts.headers, &self.id);
        self.budget.deposit();
        let retryable = idempotent(&parts.method) && body.is_end_stream();
        let fault = ClientFault::default();
        let body = ClientBody::new(body, self.timeouts.body, fault.clone()).boxed_unsync();
        self.tries(parts, body, retryable, fault, shard, start)
            .await
    }

    /// Send the request to one worker, and to another if the first failed retry-safely.
    async fn tries(
        &self,
        mut parts: Parts,
        body: ProxyBody,
        retryable: bool,
        fault: ClientFault,
        shard: usize,
        start: lb_core::Instant,
    ) -> Response<ProxyBody> {
        let s = &self.shared;
        let mut body = Some(body);
        let mut failed: Option<(Picked, Response<ProxyBody>)> = None;
        let deadline = tokio::time::Instant::now() + self.timeouts.request;
        loop {
            let picked = match &failed {
                None => match s.try_pick(shard) {
                    Err(PickError::Overloaded) => return self.shed(),
                    r => r.ok(),
                },
                Some((f, _)) => s.pick_excluding(shard, f.id),
            };
            let Some(picked) = picked else {
                if let Some((_, first)) = failed {
                    // The retry found no other worker: the answer is the first failure.
                    return self.give_up(first);
                }
                s.proxy.answered(Answer::NoWorker);
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 no worker available".into(),
                );
            };
            let last = failed.is_some() || !retryable;
            let out = match self.request_to(&picked, &mut parts, body.take(), last) {
                Ok(r) => r,
                Err(why) => return plain(StatusCode::BAD_REQUEST, why),
            };
            // A request that cannot be retried gets the whole request timeout in one try.
            let try_deadline = if last {
                deadline
            } else {
                deadline.min(tokio::time::Instant::now() + self.timeouts.per_try)
            };
            match self
                .one_try(&picked, out, &fault, start, (try_deadline, deadline))
                .await
            {
                Ok(resp) => return resp,
                Err(f) => {
                    if f.retry_safe && !last && self.budget.try_withdraw() {
                        s.proxy.retried();
                        failed = Some((picked, f.answer));
                        continue;
                    }
                    return self.give_up(f.answer);
                }
            }
        }
    }

    /// The immediate answer to a request admission control sheds: 503 with `Retry-After`, so
    /// that clients back off instead of queueing behind work that would time out anyway.
    fn shed(&self) -> Response<ProxyBody> {
        self.shared.proxy.answered(Answer::Overloaded);
        let mut r = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 overloaded: every worker is at its in-flight limit; retry later".into(),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }

    /// Answer with a failed try's answer, counted by reason.
    fn give_up(&self, answer: Response<ProxyBody>) -> Response<ProxyBody> {
        match answer.status() {
            StatusCode::BAD_GATEWAY => self.shared.proxy.answered(Answer::BadGateway),
            StatusCode::GATEWAY_TIMEOUT => self.shared.proxy.answered(Answer::Timeout),
            _ => {}
        }
        answer
    }

    /// The request to send to `picked`; the headers are copied only if a retry may need them.
    fn request_to(
        &self,
        picked: &Picked,
        parts: &mut Parts,
        body: Option<ProxyBody>,
        last: bool,
    ) -> Result<Request<ProxyBody>, String> {
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(picked.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| format!("400 bad request target: {e}"))?;
        let mut out = Request::new(body.unwrap_or_else(empty));
        *out.method_mut() = parts.method.clone();
        *out.uri_mut() = uri;
        *out.headers_mut() = if last {
            std::mem::take(&mut parts.headers)
        } else {
            parts.headers.clone()
        };
        Ok(out)
    }

    /// One try to `picked`. On failure: the answer to give if no retry follows, the 502 reason
    /// a retry would quote, and whether the failure is safe to retry.
    async fn one_try(
        &self,
        picked: &Picked,
        out: Request<ProxyBody>,
        fault: &ClientFault,
        start: lb_core::Instant,
        (try_deadline, deadline): (tokio::time::Instant, tokio::time::Instant),
    ) -> Result<Response<ProxyBody>, Box<TryFailed>> {
        let s = &self.shared;
        // Books the request as cancelled if this future is dropped before an outcome is
        // booked (the client went away): the worker must not stay counted in flight.
        let mut booking = Booking {
            shared: s,
            picked,
            open: true,
        };
        let sent = tokio::time::timeout_at(try_deadline, self.client.request(out)).await;
        let latency = s.now().saturating_since(start);
        let authority = &picked.authority;
        let failure = match sent {
            Ok(Ok(resp)) => {
                let ok = !resp.status().is_server_error();
                booking.close(latency, if ok { Outcome::Ok } else { Outcome::Error });
                let (mut rp, rb) = resp.into_parts();
                strip_hop_by_hop(&mut rp.headers);
                rp.headers.insert(
                    HeaderName::from_static(WORKER_HEADER),
                    picked.header.clone(),
                );
                return Ok(Response::from_parts(
                    rp,
                    rb.map_err(BoxError::from).boxed_unsync(),
                ));
            }
            Ok(Err(e)) => classify(&e, fault),
            Err(_) => match fault.get() {
                Some(f) => Failed::Client(f),
                // The worker may be waiting for the rest of the body: the client is too slow.
                None if !fault.body_done() => {
                    let waited = s.now().saturating_since(start).as_nanos();
                    Failed::Client(Fault::Slow(StdDuration::from_nanos(waited)))
                }
                None => Failed::Timeout,
            },
        };
        let (answer, retry_safe) = self.word(&mut booking, latency, failure, authority, deadline);
        Err(Box::new(TryFailed { answer, retry_safe }))
    }

    /// Book the failure in `booking`; the answer and whether a retry is safe.
    fn word(
        &self,
        booking: &mut Booking<'_>,
        latency: lb_core::time::Duration,
        failure: Failed,
        authority: &hyper::http::uri::Authority,
        deadline: tokio::time::Instant,
    ) -> (Response<ProxyBody>, bool) {
        let bad_gateway = |why: String| plain(StatusCode::BAD_GATEWAY, why);
        match failure {
            Failed::Client(f) => {
                booking.cancel();
                let (status, why) = match f {
                    Fault::Read(e) => (
                        StatusCode::BAD_REQUEST,
                        format!("400 the request body could not be read: {e}"),
                    ),
                    Fault::Slow(t) => (
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "408 the request body did not arrive in time ({} ms)",
                            t.as_millis()
                        ),
                    ),
                };
                (plain(status, why), false)
            }
            Failed::Connect => {
                booking.close(latency, Outcome::Refused);
                (
                    bad_gateway(format!("502 cannot connect to worker {authority}")),
                    true,
                )
            }
            Failed::Closed(e) => {
                booking.close(latency, Outcome::Error);
                let why =
                    format!("502 connection to worker {authority} closed before a response ({e})");
                (bad_gateway(why), true)
            }
            Failed::Other(e) => {
                booking.close(latency, Outcome::Error);
                (
                    bad_gateway(format!("502 worker {authority} failed: {e}")),
                    false,
                )
            }
            Failed::Timeout => {
                booking.close(latency, Outcome::Timeout);
                let total = tokio::time::Instant::now() >= deadline;
                let ms = if total {
                    self.timeouts.request
                } else {
                    self.timeouts.per_try
                };
                let why = format!(
                    "504 worker {authority} did not answer within {} ms",
                    ms.as_millis()
                );
                (plain(StatusCode::GATEWAY_TIMEOUT, why), !total)
            }
        }
    }
}

impl Handler for Arc<Proxy> {
    type Body = ProxyBody;

    fn call(
        self,
        req: Request<Incoming>,
        peer: SocketAddr,
        conn: usize,
    ) -> impl Future<Output = Response<ProxyBody>> + Send + 'static {
        // Connections take the shards in turn; all requests of one connection stay in its shard.
        let shard = conn % self.shared.shard_count();
        self.handle(req, peer.ip(), shard)
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

    /// The request ended by the client's doing: it leaves the in-flight count, nothing else.
    fn cancel(&mut self) {
        self.open = false;
        self.shared.on_cancel(self.picked);
    }
}

impl Drop for Booking<'_> {
    fn drop(&mut self) {
        if self.open {
            self.shared.on_cancel(self.picked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_methods_are_retried() {
        assert!(idempotent(&Method::GET));
        assert!(idempotent(&Method::PUT));
        assert!(!idempotent(&Method::POST));
        assert!(!idempotent(&Method::PATCH));
    }
}
