//! The admin API and `/metrics`, on their own listener: read the balancer's state, pin an
//! algorithm or hand control back to the engine, add, drain and remove workers.
//!
//! Everything is JSON in and out; every error is `{"error": "..."}` with a message that says
//! what was wrong (which field, what was expected) and a 4xx status. Nothing a client sends can
//! make a handler panic.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /admin/status` | | 200 [`Status`] |
//! | `PUT /admin/algorithm` | `{"algorithm":"least_connections"}` | 200 [`Status`], now in manual mode |
//! | `PUT /admin/mode` | `{"mode":"adaptive"}` or `{"mode":"manual"}` | 200 [`Status`] |
//! | `GET /admin/decisions` | | 200 `[`[`DecisionView`]`]`: every switch, engine or operator |
//! | `GET /admin/workers` | | 200 `[`[`WorkerStatus`]`]` |
//! | `POST /admin/workers` | `{"addr":"127.0.0.1:9004","weight":1}` (`weight` optional, >= 1) | 201 [`WorkerStatus`], `Location` |
//! | `GET /admin/workers/{addr}` | | 200 [`WorkerStatus`] |
//! | `POST /admin/workers/{addr}/drain` | | 200 [`WorkerStatus`]: no new requests, in-flight ones finish |
//! | `POST /admin/workers/{addr}/undrain` | | 200 [`WorkerStatus`] |
//! | `DELETE /admin/workers/{addr}` | | 200 [`WorkerStatus`] as it was just before removal |
//! | `GET /metrics` | | 200 OpenMetrics 1.0.0 if `Accept` asks for it, else Prometheus text 0.0.4 (families: [`metrics::FAMILIES`]) |
//!
//! Errors: 400 for a body that is not JSON, has a wrong type or an unknown field, is missing, or
//! comes without `Content-Type: application/json` (axum's own 415 and 422 are folded into 400:
//! to a client they are all "fix your request", and the message says how); 400 for an unknown
//! algorithm (the message lists the valid names), `"adaptive"` given as an algorithm (it is a
//! mode), an unknown mode, a weight of 0 or an address that is not `ip:port`; 401 for a
//! missing or wrong token; 404 for an unknown worker or route; 405 for a wrong method; 409 for a
//! worker already in the pool; 413 for a body over axum's 2 MB limit.
//!
//! # Cross-site requests
//!
//! A request that can change state and carries an `Origin` header naming another origin than
//! the admin API's own (`http://` + its `Host`), or `Sec-Fetch-Site: cross-site`, is refused
//! 403: a web page elsewhere cannot make a browser drain or remove workers. Bodies must be
//! `Content-Type: application/json`, which a plain HTML form cannot send.
//!
//! # Authentication
//!
//! With a token, every request that can change state (any method but `GET` and `HEAD`) needs
//! `Authorization: Bearer <token>`, else 401 with `WWW-Authenticate: Bearer`. Reads stay open,
//! so dashboards and Prometheus need no secret. The token is compared in time that depends only
//! on its length, not on where a guess goes wrong.
//!
//! ```no_run
//! # async fn run(shared: std::sync::Arc<lb_live::balancer::Shared>) -> std::io::Result<()> {
//! use lb_live::balancer::admin;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9100").await?;
//! let app = admin::router(shared, Some("s3cret".to_string()));
//! admin::serve(listener, app, lb_live::shutdown::signal()).await
//! # }
//! ```

use super::conn::{self, ConnStats, Handler, Limits};
use super::state::{DecisionView, Shared, StateError, Status, WorkerStatus};
use super::{metrics, ready};
use axum::Router;
use axum::body::HttpBody;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use lb_core::Algorithm;
use lb_core::engine::{Mode, UnknownMode};
use lb_core::pick::UnknownAlgorithm;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

/// The admin API over `shared`. With `token`, requests that change state need
/// `Authorization: Bearer <token>`; see the [module docs](self) for the routes.
pub fn router(shared: Arc<Shared>, token: Option<String>) -> Router {
    let auth = Auth {
        token: token.map(|t| Arc::from(t.into_bytes())),
    };
    let exposition = Arc::new(metrics::Exposition::new(Arc::clone(&shared)));
    Router::new()
        .route("/admin/status", get(status))
        .route("/admin/algorithm", put(put_algorithm))
        .route("/admin/mode", put(put_mode))
        .route("/admin/decisions", get(decisions))
        .route("/admin/workers", get(list_workers).post(add_worker))
        .route(
            "/admin/workers/{addr}",
            get(get_worker).delete(remove_worker),
        )
        .route("/admin/workers/{addr}/drain", post(drain))
        .route("/admin/workers/{addr}/undrain", post(undrain))
        .route("/livez", get(ready::livez))
        .route("/readyz", get(ready::readyz))
        .route(
            "/metrics",
            get(move |headers: HeaderMap| render_metrics(Arc::clone(&exposition), headers)),
        )
        .route_layer(middleware::from_fn_with_state(auth, require_token))
        .route_layer(middleware::from_fn(same_origin))
        // After the auth layer: a wrong method is answered 405 without asking for the token.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .with_state(shared)
}

/// Limits of the admin listener: a small cap of its own, so a flood of data connections
/// cannot take it down with them, and short client timeouts.
pub const LIMITS: Limits = Limits {
    max_connections: 64,
    header_timeout: std::time::Duration::from_secs(10),
    idle_timeout: std::time::Duration::from_secs(30),
    drain: std::time::Duration::from_secs(5),
};

/// The router as a connection handler.
#[derive(Clone)]
struct Admin(Router);

impl Handler for Admin {
    type Body = axum::body::Body;

    fn call(
        self,
        req: hyper::Request<hyper::body::Incoming>,
        _peer: SocketAddr,
        _conn: usize,
    ) -> impl Future<Output = Response> + Send + 'static {
        let router = self.0;
        async move {
            match router.oneshot(req.map(axum::body::Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
    }
}

/// Serve `router` on `listener` until `shutdown` completes, then finish the requests in
/// progress and return. Connections are capped and timed out as [`LIMITS`] says.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stats = Arc::new(ConnStats::default());
    conn::serve(listener, Admin(router), LIMITS, stats, "admin", shutdown).await;
    Ok(())
}

/// Why an admin request was refused. Each variant knows its HTTP status; the message is the
/// `error` of the JSON answer.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A state-changing request from another origin (403).
    #[error(
        "cross-site request refused: Origin {0:?} is not this admin API; send it without an Origin header (curl does) or from the admin's own origin"
    )]
    CrossSite(String),
    /// The route changes state and the bearer token is missing or wrong (401).
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// The route needs a JSON body and there is none (400).
    #[error("missing request body: expected a JSON object like {example}")]
    MissingBody {
        /// What the body should look like.
        example: &'static str,
    },
    /// The body is not what the route takes: wrong content type, not JSON, a wrong type, an
    /// unknown or missing field (400), or too large to read (413).
    #[error("{}; expected a JSON object like {example}", rejection_text(.rejection))]
    BadJson {
        /// What axum's JSON extractor said.
        rejection: JsonRejection,
        /// What the body should look like.
        example: &'static str,
    },
    /// `algorithm` is not an algorithm name (400).
    #[error("field `algorithm`: {0}")]
    UnknownAlgorithm(#[from] UnknownAlgorithm),
    /// `algorithm` is `adaptive`, which is a mode (400).
    #[error(
        "field `algorithm`: \"adaptive\" is a mode, not an algorithm; to let the engine choose, \
         use PUT /admin/mode with {{\"mode\":\"adaptive\"}}"
    )]
    AdaptiveIsAMode,
    /// `mode` is neither `adaptive` nor `manual` (400).
    #[error("field `mode`: unknown mode {0:?}; expected \"adaptive\" or \"manual\"")]
    UnknownMode(String),
    /// A worker address that is not `ip:port` (400).
    #[error("{place}: {value:?} is not a worker address; expected ip:port, e.g. 127.0.0.1:9004")]
    BadAddr {
        /// Where it came from: the body's field or the path.
        place: &'static str,
        /// What was given.
        value: String,
    },
    /// The path could not be decoded (400).
    #[error("bad path: {0}")]
    BadPath(#[from] PathRejection),
    /// `weight` is 0 (400).
    #[error("field `weight`: must be at least 1, got {0}")]
    BadWeight(u32),
    /// The state refused the change: unknown worker (404), duplicate (409), bad address (400).
    #[error(transparent)]
    State(#[from] StateError),
    /// No such route (404).
    #[error(
        "no route {method} {path}; the admin API lives under /admin (status, algorithm, mode, decisions, workers) and /metrics"
    )]
    NoRoute {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
    },
    /// The route exists but not with this method (405).
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
    },
}

fn rejection_text(r: &JsonRejection) -> String {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            "expected header `Content-Type: application/json`".to_string()
        }
        r => r.body_text(),
    }
}

impl AdminError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::CrossSite(_) => StatusCode::FORBIDDEN,
            AdminError::BadJson {
                rejection: JsonRejection::BytesRejection(r),
                ..
            } if r.status().is_client_error() => r.status(),
            AdminError::State(StateError::UnknownWorker(_)) | AdminError::NoRoute { .. } => {
                StatusCode::NOT_FOUND
            }
            AdminError::State(StateError::DuplicateWorker(_)) => StatusCode::CONFLICT,
            AdminError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = axum::Json(serde_json::json!({ "error": self.to_string() }));
        if status == StatusCode::UNAUTHORIZED {
            let challenge = [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))];
            (status, challenge, body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

type Answer<T> = Result<axum::Json<T>, AdminError>;

// ---- authentication ----

#[derive(Clone)]
struct Auth {
    token: Option<Arc<[u8]>>,
}

async fn require_token(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    let read_only = req.method() == Method::GET || req.method() == Method::HEAD;
    match &auth.token {
        Some(token) if !read_only && !bearer_matches(req.headers(), token) => {
            AdminError::Unauthorized.into_response()
        }
        _ => next.run(req).await,
    }
}

/// Refuse a state-changing request sent from another origin by a browser.
async fn same_origin(req: Request, next: Next) -> Response {
    let read_only = req.method() == Method::GET || req.method() == Method::HEAD;
    if read_only {
        return next.run(req).await;
    }
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") {
            return AdminError::CrossSite(format!("(Sec-Fetch-Site: {site})")).into_response();
        }
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let own = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(|host| format!("http://{host}"));
        if own.as_deref() != Some(origin.as_str()) {
            return AdminError::CrossSite(origin).into_response();
        }
    }
    next.run(req).await
}

/// Whether the `Authorization` header is `Bearer <expected>` (scheme case-insensitive).
fn bearer_matches(headers: &HeaderMap, expected: &[u8]) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    match value.as_bytes().split_at_checked(7) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"Bearer ") => {
            constant_time_eq(token.trim_ascii(), expected)
        }
        _ => false,
    }
}

/// `given == expected`, in time that depends only on `expected.len()`: every byte of the
/// expected token is compared, whatever the first difference.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let len_differs = u8::from(given.len() != expected.len());
    let diff = expected
        .iter()
        .enumerate()
        .fold(len_differs, |acc, (i, e)| {
            acc | (e ^ given.get(i).copied().unwrap_or(0))
        });
    diff == 0
}

// ---- JSON bodies ----

/// A JSON body of type `T`, with every way to get it wrong mapped to an [`AdminError`].
struct JsonBody<T>(T);

/// A request body type and what it looks like, for error messages.
trait Example {
    const EXAMPLE: &'static str;
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned + Example,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AdminError> {
        let example = T::EXAMPLE;
        // No body at all (no Content-Length or `Content-Length: 0`): say so, rather than
        // "wrong content type" or "EOF while parsing".
        if req.body().size_hint().exact() == Some(0) {
            return Err(AdminError::MissingBody { example });
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(AdminError::BadJson { rejection, example }),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlgorithmBody {
    algorithm: String,
}

impl Example for AlgorithmBody {
    const EXAMPLE: &'static str = r#"{"algorithm":"least_connections"}"#;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

impl Example for ModeBody {
    const EXAMPLE: &'static str = r#"{"mode":"adaptive"}"#;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWorker {
    addr: String,
    #[serde(default)]
    weight: Option<u32>,
}

impl Example for NewWorker {
    const EXAMPLE: &'static str = r#"{"addr":"127.0.0.1:9004","weight":1}"#;
}

fn parse_addr(place: &'static str, value: &str) -> Result<SocketAddr, AdminError> {
    value.parse().map_err(|_| AdminError::BadAddr {
        place,
        value: value.to_string(),
    })
}

/// The `{addr}` of a worker route.
fn path_addr(path: Result<Path<String>, PathRejection>) -> Result<SocketAddr, AdminError> {
    let Path(raw) = path?;
    parse_addr("path segment {addr}", &raw)
}

fn worker_status(shared: &Shared, addr: SocketAddr) -> Result<WorkerStatus, AdminError> {
    let addr_s = addr.to_string();
    let found = shared
        .status()
        .workers
        .into_iter()
        .find(|w| w.addr == addr_s);
    Ok(found.ok_or(StateError::UnknownWorker(addr))?)
}

// ---- handlers ----

async fn status(State(shared): State<Arc<Shared>>) -> axum::Json<Status> {
    axum::Json(shared.status())
}

async fn put_algorithm(
    State(shared): State<Arc<Shared>>,
    JsonBody(body): JsonBody<AlgorithmBody>,
) -> Answer<Status> {
    if body.algorithm == Mode::Adaptive.name() {
        return Err(AdminError::AdaptiveIsAMode);
    }
    let algorithm: Algorithm = body.algorithm.parse()?;
    shared.set_algorithm(algorithm);
    tracing::info!(%algorithm, "admin: algorithm pinned (manual mode)");
    Ok(axum::Json(shared.status()))
}

async fn put_mode(
    State(shared): State<Arc<Shared>>,
    JsonBody(body): JsonBody<ModeBody>,
) -> Answer<Status> {
    let mode: Mode = body
        .mode
        .parse()
        .map_err(|UnknownMode { name }| AdminError::UnknownMode(name))?;
    shared.set_mode(mode);
    tracing::info!(mode = mode.name(), "admin: mode set");
    Ok(axum::Json(shared.status()))
}

async fn decisions(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<DecisionView>> {
    axum::Json(shared.decisions())
}

async fn list_workers(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<WorkerStatus>> {
    axum::Json(shared.status().workers)
}

async fn add_worker(
    State(shared): State<Arc<Shared>>,
    JsonBody(body): JsonBody<NewWorker>,
) -> Result<Response, AdminError> {
    let addr = parse_addr("field `addr`", &body.addr)?;
    let weight = body.weight.unwrap_or(1);
    if weight == 0 {
        return Err(AdminError::BadWeight(weight));
    }
    shared.add_worker(addr, weight)?;
    tracing::info!(%addr, weight, "admin: worker added");
    let worker = worker_status(&shared, addr)?;
    // An IPv6 address's brackets are not allowed as such in a path.
    let location = format!("/admin/workers/{addr}")
        .replace('[', "%5B")
        .replace(']', "%5D");
    let mut response = (StatusCode::CREATED, axum::Json(worker)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn get_worker(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<WorkerStatus> {
    let addr = path_addr(path)?;
    Ok(axum::Json(worker_status(&shared, addr)?))
}

async fn drain(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<WorkerStatus> {
    set_draining(&shared, path_addr(path)?, true)
}

async fn undrain(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<WorkerStatus> {
    set_draining(&shared, path_addr(path)?, false)
}

fn set_draining(shared: &Shared, addr: SocketAddr, draining: bool) -> Answer<WorkerStatus> {
    shared.set_draining(addr, draining)?;
    tracing::info!(%addr, draining, "admin: worker draining changed");
    Ok(axum::Json(worker_status(shared, addr)?))
}

async fn remove_worker(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<WorkerStatus> {
    let addr = path_addr(path)?;
    let last = worker_status(&shared, addr)?;
    shared.remove_worker(addr)?;
    tracing::info!(%addr, in_flight = last.in_flight, "admin: worker removed");
    Ok(axum::Json(last))
}

async fn render_metrics(exposition: Arc<metrics::Exposition>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = metrics::Format::negotiate(accept);
    match exposition.render(format) {
        Ok(text) => {
            let content_type = HeaderValue::from_static(format.content_type());
            ([(header::CONTENT_TYPE, content_type)], text).into_response()
        }
        Err(_) => {
            tracing::error!("/metrics: encoding the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn no_route(method: Method, uri: Uri) -> AdminError {
    AdminError::NoRoute {
        method,
        path: uri.path().to_string(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> AdminError {
    AdminError::MethodNotAllowed {
        method,
        path: uri.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_needs_every_byte_and_the_length() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3creT", b"s3cret"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"s3crets", b"s3cret"));
        assert!(!constant_time_eq(b"", b"s3cret"));
        // A NUL byte past the end of a short guess must not count as a match.
        assert!(!constant_time_eq(b"a", b"a\0"));
    }

    #[test]
    fn bearer_header_is_parsed_with_a_case_insensitive_scheme() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(v).expect("header"),
            );
            bearer_matches(&h, b"tok")
        };
        assert!(with("Bearer tok"));
        assert!(with("bearer tok"));
        assert!(!with("Basic tok"));
        assert!(!with("Bearer"));
        assert!(!with("Bearer tok2"));
        assert!(!bearer_matches(&HeaderMap::new(), b"tok"));
    }

    #[test]
    fn errors_map_to_their_status() {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let cases = [
            (AdminError::Unauthorized, 401),
            (AdminError::UnknownMode("x".into()), 400),
            (AdminError::AdaptiveIsAMode, 400),
            (AdminError::BadWeight(0), 400),
            (AdminError::State(StateError::UnknownWorker(addr)), 404),
            (AdminError::State(StateError::DuplicateWorker(addr)), 409),
            (AdminError::State(StateError::BadAddress(addr)), 400),
        ];
        for (e, code) in cases {
            assert_eq!(e.status().as_u16(), code, "{e}");
        }
    }
}
