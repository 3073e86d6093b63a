//! The worker's HTTP face on the data port: routes mapping requests onto the model, and the
//! server loop. Nothing here changes the worker's fault: that is the control listener's job
//! ([`super::control_api`]); `/admin/fault` on the data port is a 404, whatever the method.
//!
//! Every response, errors and 404s included, carries `x-worker: NAME`. Error bodies are JSON
//! `{"error": "..."}` naming what was wrong.

use super::model::WorkerState;
use super::pattern::{MAX_BYTES, PatternBody};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use http_body_util::BodyExt;
use lb_core::scenario::ErrorMode;
use serde_json::json;
use std::future::Future;

/// The header naming the worker on every response.
pub const X_WORKER: HeaderName = HeaderName::from_static("x-worker");

/// The worker's data-port routes (see the module docs of [`crate::worker`]).
pub fn app(state: WorkerState) -> Router {
    let name = state.header().clone();
    let router = Router::new()
        .route("/health", get(health))
        .route("/work", get(work).post(work))
        .route("/echo", get(echo).post(echo))
        .route("/bytes/{n}", get(bytes))
        .route("/admin/fault", any(fault_not_here))
        .route("/stats", get(stats))
        .fallback(not_found)
        .with_state(state);
    with_worker_header(router, name)
}

/// Every response of `router` gets `x-worker: name`.
pub(super) fn with_worker_header(router: Router, name: header::HeaderValue) -> Router {
    router.layer(axum::middleware::map_response(move |mut res: Response| {
        let name = name.clone();
        async move {
            res.headers_mut().insert(X_WORKER, name);
            res
        }
    }))
}

/// Serve `app(state)` on `listener` until `shutdown` completes; then stop accepting, let
/// requests in flight finish, and return. Sockets get `TCP_NODELAY` (latency is what this
/// testbed measures; Nagle's algorithm would add tens of ms to small answers).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WorkerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, app(state), shutdown).await
}

/// Serve `router` on `listener` as [`serve`] does.
pub(super) async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such route; try /work, /health, /echo, /bytes/{n} or /stats",
    )
}

/// `/admin/fault` on the data port: not here, and nothing changes.
async fn fault_not_here() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such route: the fault API is not on the data port (it is on the worker's control \
         listener, --control)",
    )
}

async fn health(State(s): State<WorkerState>) -> Response {
    s.wait_while_hung().await;
    let stats = s.stats();
    let (code, status) = if s.fault().unhealthy {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = json!({
        "status": status,
        "worker": s.name(),
        "in_service": stats.in_service,
        "queued": stats.queued,
    });
    (code, Json(body)).into_response()
}

/// Read a body to its end, counting its bytes without keeping them.
async fn drain(mut body: Body) -> Result<u64, axum::Error> {
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            n += data.len() as u64;
        }
    }
    Ok(n)
}

async fn work(State(s): State<WorkerState>, body: Body) -> Response {
    let body_bytes = match drain(body).await {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("request body: {e}")),
    };
    let out = if s.config().cancel_abandoned {
        s.work().await
    } else {
        // Its own task: if the client goes away, hyper drops this handler but the work goes
        // on, holding its slot to the end (see `WorkerConfig::cancel_abandoned`).
        let worker = s.clone();
        match tokio::spawn(async move { worker.work().await }).await {
            Ok(out) => out,
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("work task failed: {e}"),
                );
            }
        }
    };
    let mut body = json!({
        "worker": s.name(),
        "queue_ms": out.queue_ms,
        "service_ms": out.service_ms,
        "body_bytes": body_bytes,
    });
    match out.failed {
        None => Json(body).into_response(),
        Some(mode) => {
            body["error"] = json!(match mode {
                ErrorMode::Fast => "injected failure (fast)",
                ErrorMode::Slow => "injected failure (slow)",
            });
            body["error_mode"] = json!(mode.name());
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

async fn echo(State(s): State<WorkerState>, req: Request) -> Response {
    s.wait_while_hung().await;
    let (parts, body) = req.into_parts();
    let mut res = Response::new(body);
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
    }
    res
}

async fn bytes(State(s): State<WorkerState>, Path(n): Path<String>) -> Response {
    let len = match n.parse::<u64>() {
        Ok(len) if len <= MAX_BYTES => len,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("n: expected a byte count from 0 to {MAX_BYTES}, got {n:?}"),
            );
        }
    };
    s.wait_while_hung().await;
    let mut res = Response::new(Body::new(PatternBody::new(len)));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    res
}

async fn stats(State(s): State<WorkerState>) -> Response {
    let st = s.stats();
    let mut body = json!(st);
    body["worker"] = json!(s.name());
    Json(body).into_response()
}
