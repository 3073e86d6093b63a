//! The control listener's HTTP face: the fault API, behind an optional bearer token.
//!
//! | route | answer |
//! |---|---|
//! | `GET /admin/fault` | the current fault, every field present (`null` where unset) |
//! | `PUT /admin/fault` | replace the fault; 400 `{"error":"fault: error_rate: ..."}` naming the bad field |
//! | `DELETE /admin/fault` | clear the fault |
//!
//! With a token ([`ControlToken`]) every request, whatever its path or method, needs
//! `Authorization: Bearer TOKEN`; without it the answer is 401 with `WWW-Authenticate: Bearer`
//! and a JSON `{"error": ...}` saying what was missing, and nothing changes. These routes keep
//! answering under a `hang` fault, so the fault can be cleared. Every response carries
//! `x-worker: NAME`.

use super::control::ControlToken;
use super::fault::Fault;
use super::model::WorkerState;
use super::routes::{error, serve_router, with_worker_header};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;

/// The control routes over `state`; with `token`, every request must carry it.
pub fn control_app(state: WorkerState, token: Option<ControlToken>) -> Router {
    let name = state.header().clone();
    let router = Router::new()
        .route(
            "/admin/fault",
            get(get_fault).put(put_fault).delete(delete_fault),
        )
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(token, require_token));
    with_worker_header(router, name)
}

/// Serve [`control_app`] on `listener` until `shutdown` completes (as [`super::serve`] does).
pub async fn serve_control(
    listener: tokio::net::TcpListener,
    state: WorkerState,
    token: Option<ControlToken>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, control_app(state, token), shutdown).await
}

async fn require_token(
    State(token): State<Option<ControlToken>>,
    req: Request,
    next: Next,
) -> Response {
    match token.map(|t| check_bearer(req.headers(), &t)) {
        Some(Err(reason)) => {
            let mut res = error(StatusCode::UNAUTHORIZED, format!("control: {reason}"));
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        }
        _ => next.run(req).await,
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>` (scheme case-insensitive); if not,
/// why.
fn check_bearer(headers: &HeaderMap, token: &ControlToken) -> Result<(), &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("missing Authorization header; send `Authorization: Bearer TOKEN`");
    };
    let bytes = value.as_bytes();
    let Some((scheme, given)) = bytes.split_at_checked(7) else {
        return Err("Authorization is not `Bearer TOKEN`");
    };
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return Err("Authorization is not `Bearer TOKEN`");
    }
    if token.matches(given.trim_ascii()) {
        Ok(())
    } else {
        Err("wrong bearer token")
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such control route; try /admin/fault",
    )
}

async fn get_fault(State(s): State<WorkerState>) -> Response {
    Json(s.fault().to_json()).into_response()
}

async fn put_fault(State(s): State<WorkerState>, body: Bytes) -> Response {
    let fault = match Fault::from_json(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("fault: {e}")),
    };
    if let Err(e) = s.set_fault(fault.clone()) {
        return error(StatusCode::BAD_REQUEST, format!("fault: {e}"));
    }
    tracing::info!(worker = s.name(), fault = %fault.to_json(), "fault set");
    Json(fault.to_json()).into_response()
}

async fn delete_fault(State(s): State<WorkerState>) -> Response {
    s.clear_fault();
    tracing::info!(worker = s.name(), "fault cleared");
    Json(Fault::default().to_json()).into_response()
}
