//! Liveness and readiness on the admin port, for keepalived's `vrrp_script`, Kubernetes probes
//! and load balancers in front of this one.
//!
//! | route | answer |
//! |---|---|
//! | `GET /livez` | 200 `{"status":"live"}` while the process serves its admin port |
//! | `GET /readyz` | 200 `{"status":"ready","available":N,"workers":M}` when at least one worker takes requests, else 503 `{"error":"...","available":0,"workers":M}` |
//!
//! "Available" is the pool's own view: healthy by the active checks, not ejected, not draining.
//! A balancer with no available worker answers every request 503, so it should not hold a
//! virtual address that another balancer could serve.

use super::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// `GET /livez`.
pub async fn livez() -> Json<serde_json::Value> {
    Json(json!({ "status": "live" }))
}

/// `GET /readyz`.
pub async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let status = shared.status();
    let (available, workers) = (status.available, status.workers.len());
    if available > 0 {
        let body = json!({ "status": "ready", "available": available, "workers": workers });
        return (StatusCode::OK, Json(body)).into_response();
    }
    let error = if workers == 0 {
        "not ready: the pool has no workers (add one with POST /admin/workers)".to_string()
    } else {
        format!(
            "not ready: none of the {workers} workers takes requests (down, ejected or draining; see GET /admin/status)"
        )
    };
    let body = json!({ "error": error, "available": 0, "workers": workers });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
