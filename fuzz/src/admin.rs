//! The balancer's admin API: one request with an arbitrary body to `admin::router`.
//!
//! The input picks the request: byte 0 a route and method from [`ROUTES`], byte 1 flags
//! (bit 0 `Content-Type: application/json`, bit 1 the right bearer token, bit 2 the path is
//! the first line of the rest instead of the route's), the rest is the body. Each input gets a
//! fresh state (worker 127.0.0.1:9001 in the pool, a token set), so inputs do not interact.
//!
//! The module promises that nothing a client sends makes a handler panic and every refusal is
//! a 4xx with a JSON `{"error": "..."}`; the harness checks both: no answer is 5xx, and every
//! answer of 400 or more has a non-empty `error` string.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use lb_core::engine::EngineConfig;
use lb_core::{Algorithm, BalancerConfig};
use lb_live::balancer::{Shared, admin};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The routes an input can pick, with the method each is asked with.
pub const ROUTES: [(&str, &str); 12] = [
    ("PUT", "/admin/algorithm"),
    ("PUT", "/admin/mode"),
    ("POST", "/admin/workers"),
    ("GET", "/admin/status"),
    ("GET", "/admin/workers"),
    ("GET", "/admin/workers/127.0.0.1:9001"),
    ("POST", "/admin/workers/127.0.0.1:9001/drain"),
    ("POST", "/admin/workers/127.0.0.1:9001/undrain"),
    ("DELETE", "/admin/workers/127.0.0.1:9001"),
    ("GET", "/metrics"),
    ("GET", "/admin/decisions"),
    ("PATCH", "/admin/mode"),
];

const TOKEN: &str = "fuzz-token";

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn fresh_state() -> Arc<Shared> {
    let worker: SocketAddr = ([127, 0, 0, 1], 9001).into();
    Shared::new(
        BalancerConfig::new(Algorithm::RoundRobin),
        EngineConfig::default(),
        true,
        &[(worker, 1)],
        1,
    )
    .expect("one valid worker")
}

/// The request `data` describes, or `None` if its path is not a valid URI.
pub fn request(data: &[u8]) -> Option<Request<Body>> {
    let (route, flags, rest) = match data {
        [r, f, rest @ ..] => (*r, *f, rest),
        [r] => (*r, 0, &[][..]),
        [] => return None,
    };
    let (method, route_path) = ROUTES[usize::from(route) % ROUTES.len()];
    let (path, body) = if flags & 4 != 0 {
        let cut = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = std::str::from_utf8(&rest[..cut]).ok()?;
        (line.to_string(), rest.get(cut + 1..).unwrap_or(&[]))
    } else {
        (route_path.to_string(), rest)
    };
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(path);
    if flags & 1 != 0 {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    if flags & 2 != 0 {
        b = b.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    b.body(Body::from(body.to_vec())).ok()
}

/// Send the request `data` describes to a fresh admin router and check the answer.
pub fn run(data: &[u8]) {
    let Some(req) = request(data) else {
        return;
    };
    let what = format!("{} {}", req.method(), req.uri());
    let router = admin::router(fresh_state(), Some(TOKEN.to_string()));
    let (status, body) = runtime().block_on(async move {
        let resp = router.oneshot(req).await.expect("the router is infallible");
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("an in-memory body")
            .to_bytes();
        (status, body)
    });
    check(&what, status, &body);
}

fn check(what: &str, status: StatusCode, body: &[u8]) {
    assert!(
        !status.is_server_error(),
        "{what}: answered {status}: {}",
        String::from_utf8_lossy(body)
    );
    if status.as_u16() >= 400 {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "{what}: {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(body)
            )
        });
        let error = json.get("error").and_then(|e| e.as_str()).unwrap_or("");
        assert!(
            !error.is_empty(),
            "{what}: {status} without an error: {json}"
        );
    }
}
