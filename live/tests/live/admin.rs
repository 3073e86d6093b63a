//! The admin API over real HTTP: the router on 127.0.0.1:0, a `Shared` over fake worker
//! addresses (nothing is proxied, so nothing listens there), requests with reqwest.

use super::client;
use lb_core::engine::EngineConfig;
use lb_core::{Algorithm, BalancerConfig};
use lb_live::balancer::metrics::FAMILIES;
use lb_live::balancer::{Shared, admin};
use prometheus_parse::{Scrape, Value};
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};
use std::net::SocketAddr;
use std::sync::Arc;

const TOKEN: &str = "s3cret";

/// An admin server on an ephemeral port over workers 127.0.0.1:1, :2 and :3, the engine in
/// adaptive mode. Returns its base URL and the state it serves.
async fn spawn_admin(token: Option<&str>) -> (String, Arc<Shared>) {
    let workers: Vec<(SocketAddr, u32)> = (1..=3)
        .map(|port| (SocketAddr::from(([127, 0, 0, 1], port)), 1))
        .collect();
    let shared = Shared::new(
        BalancerConfig::new(Algorithm::RoundRobin),
        EngineConfig::default(),
        true,
        &workers,
        1,
    )
    .expect("valid workers");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let app = admin::router(Arc::clone(&shared), token.map(str::to_string));
    tokio::spawn(admin::serve(listener, app, std::future::pending()));
    (format!("http://{addr}"), shared)
}

/// A response: status, `Content-Type`, `WWW-Authenticate` and the body parsed as JSON (or
/// `Json::Null` when it is not JSON).
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    content_type: String,
    www_authenticate: Option<String>,
    text: String,
    json: Json,
}

impl Reply {
    fn error(&self) -> &str {
        self.json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {self:?}"))
    }
}

/// Send `method path` with an optional JSON `body` (sent as `application/json`) and an
/// optional bearer token.
async fn call(
    base: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Reply {
    let mut req = client().request(method, format!("{base}{path}"));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    read(req).await
}

async fn read(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.expect("admin server answers");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_string())
    };
    let content_type = header("content-type").unwrap_or_default();
    let www_authenticate = header("www-authenticate");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Json::Null);
    Reply {
        status,
        content_type,
        www_authenticate,
        text,
        json,
    }
}

async fn get(base: &str, path: &str) -> Reply {
    call(base, Method::GET, path, None, None).await
}

fn worker<'a>(status: &'a Json, addr: &str) -> Option<&'a Json> {
    status["workers"]
        .as_array()
        .expect("workers array")
        .iter()
        .find(|w| w["addr"] == addr)
}

#[tokio::test]
async fn status_is_json_with_algorithm_mode_and_every_worker() {
    let (base, _) = spawn_admin(None).await;
    let r = get(&base, "/admin/status").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.content_type.starts_with("application/json"),
        "{}",
        r.content_type
    );
    let s = &r.json;
    assert!(s["algorithm"].is_string());
    assert_eq!(s["mode"], "adaptive");
    assert!(s["window_s"].as_f64().expect("window_s") > 0.0);
    assert_eq!(s["switches"], 0);
    assert_eq!(s["ejections"], 0);
    assert_eq!(s["available"], 3);
    let workers = s["workers"].as_array().expect("workers");
    let addrs: Vec<&str> = workers
        .iter()
        .map(|w| w["addr"].as_str().expect("addr"))
        .collect();
    assert_eq!(addrs, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    for w in workers {
        assert_eq!(w["weight"], 1);
        assert_eq!(w["healthy"], true);
        assert_eq!(w["available"], true);
        assert_eq!(w["draining"], false);
        assert_eq!(w["ejected"], false);
        assert_eq!(w["in_flight"], 0);
        assert_eq!(w["requests_total"], 0);
        assert!(w["p99_ms"].is_null(), "no latency without traffic");
    }
    let list = get(&base, "/admin/workers").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(&list.json, &s["workers"]);
    let decisions = get(&base, "/admin/decisions").await;
    assert_eq!(decisions.status, StatusCode::OK);
    assert_eq!(decisions.json, json!([]));
}

#[tokio::test]
async fn put_algorithm_pins_it_in_manual_mode_and_logs_a_manual_decision() {
    let (base, shared) = spawn_admin(None).await;
    let body = r#"{"algorithm":"peak_ewma"}"#;
    let r = call(&base, Method::PUT, "/admin/algorithm", Some(body), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["algorithm"], "peak_ewma");
    assert_eq!(r.json["mode"], "manual");
    assert_eq!(r.json["switches"], 1);
    assert_eq!(shared.algorithm(), Algorithm::PeakEwma);

    let d = get(&base, "/admin/decisions").await.json;
    let d = d.as_array().expect("decisions array");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["to"], "peak_ewma");
    assert_eq!(d[0]["condition"], "manual");
    assert!(d[0]["from"].is_string() && d[0]["t_s"].is_number() && d[0]["detail"].is_string());
}

#[tokio::test]
async fn put_mode_switches_between_adaptive_and_manual() {
    let (base, _) = spawn_admin(None).await;
    let pin = r#"{"algorithm":"least_connections"}"#;
    call(&base, Method::PUT, "/admin/algorithm", Some(pin), None).await;
    let r = call(
        &base,
        Method::PUT,
        "/admin/mode",
        Some(r#"{"mode":"adaptive"}"#),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["mode"], "adaptive");
    assert_eq!(get(&base, "/admin/status").await.json["mode"], "adaptive");
    let r = call(
        &base,
        Method::PUT,
        "/admin/mode",
        Some(r#"{"mode":"manual"}"#),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["mode"], "manual");
    assert_eq!(r.json["algorithm"], "least_connections");
}

#[tokio::test]
async fn writes_need_the_bearer_token_and_reads_do_not() {
    let (base, shared) = spawn_admin(Some(TOKEN)).await;
    let writes: [(Method, &str, Option<&str>); 6] = [
        (
            Method::PUT,
            "/admin/algorithm",
            Some(r#"{"algorithm":"random"}"#),
        ),
        (Method::PUT, "/admin/mode", Some(r#"{"mode":"manual"}"#)),
        (
            Method::POST,
            "/admin/workers",
            Some(r#"{"addr":"127.0.0.1:4"}"#),
        ),
        (Method::POST, "/admin/workers/127.0.0.1:1/drain", None),
        (Method::POST, "/admin/workers/127.0.0.1:1/undrain", None),
        (Method::DELETE, "/admin/workers/127.0.0.1:1", None),
    ];
    for (method, path, body) in &writes {
        for token in [None, Some("wrong"), Some("s3cre"), Some("s3cret2")] {
            let r = call(&base, method.clone(), path, *body, token).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}"
            );
            assert_eq!(r.error(), "missing or wrong bearer token");
            assert_eq!(r.www_authenticate.as_deref(), Some("Bearer"));
        }
    }
    // Nothing changed.
    let s = get(&base, "/admin/status").await;
    assert_eq!(s.json["mode"], "adaptive");
    assert_eq!(s.json["workers"].as_array().map(Vec::len), Some(3));
    assert!(shared.decisions().is_empty());

    // Reads need no token.
    for path in [
        "/admin/status",
        "/admin/workers",
        "/admin/decisions",
        "/metrics",
    ] {
        assert_eq!(get(&base, path).await.status, StatusCode::OK, "{path}");
    }
    // A wrong scheme is refused too.
    let basic = client()
        .put(format!("{base}/admin/mode"))
        .header("authorization", format!("Basic {TOKEN}"))
        .header("content-type", "application/json")
        .body(r#"{"mode":"manual"}"#);
    assert_eq!(read(basic).await.status, StatusCode::UNAUTHORIZED);

    // The right token works on every write.
    for (method, path, body) in &writes {
        let r = call(&base, method.clone(), path, *body, Some(TOKEN)).await;
        assert!(
            r.status.is_success(),
            "{method} {path}: {} {}",
            r.status,
            r.text
        );
    }
}

#[tokio::test]
async fn bad_requests_get_400_saying_what_was_wrong() {
    let (base, shared) = spawn_admin(None).await;
    let put = |path: &'static str, body: &'static str| {
        let base = base.clone();
        async move { call(&base, Method::PUT, path, Some(body), None).await }
    };
    let cases: [(&str, &str, &[&str]); 9] = [
        (
            "/admin/algorithm",
            r#"{"algorithm":"#,
            &[
                "parse the request body as JSON",
                r#"{"algorithm":"least_connections"}"#,
            ],
        ),
        (
            "/admin/algorithm",
            "[1, 2]",
            &["expected", r#"{"algorithm":"least_connections"}"#],
        ),
        (
            "/admin/algorithm",
            r#"{"algorithm":"random","force":true}"#,
            &["unknown field `force`"],
        ),
        (
            "/admin/algorithm",
            r#"{"algorithm":3}"#,
            &["algorithm", "invalid type"],
        ),
        ("/admin/algorithm", r#"{}"#, &["missing field `algorithm`"]),
        (
            "/admin/algorithm",
            r#"{"algorithm":"fastest"}"#,
            &[
                "field `algorithm`",
                "\"fastest\"",
                "round_robin",
                "weighted_round_robin",
                "random",
                "least_connections",
                "power_of_two",
                "peak_ewma",
            ],
        ),
        (
            "/admin/algorithm",
            r#"{"algorithm":"adaptive"}"#,
            &["is a mode", "PUT /admin/mode"],
        ),
        (
            "/admin/mode",
            r#"{"mode":"auto"}"#,
            &["field `mode`", "\"auto\"", "adaptive", "manual"],
        ),
        (
            "/admin/mode",
            r#"{"mode":"adaptive","extra":1}"#,
            &["unknown field `extra`"],
        ),
    ];
    for (path, body, needles) in cases {
        let r = put(path, body).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            r.text
        );
        assert!(
            r.content_type.starts_with("application/json"),
            "{}",
            r.content_type
        );
        for n in needles {
            assert!(
                r.error().contains(n),
                "{path} {body}: {:?} lacks {n:?}",
                r.error()
            );
        }
    }

    // No body at all.
    let r = call(&base, Method::PUT, "/admin/mode", None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.error().contains("missing request body"), "{}", r.error());
    assert!(
        r.error().contains(r#"{"mode":"adaptive"}"#),
        "{}",
        r.error()
    );
    // A body but the wrong content type, or none: 400, not axum's 415.
    for content_type in [Some("text/plain"), None] {
        let mut req = client()
            .put(format!("{base}/admin/mode"))
            .body(r#"{"mode":"manual"}"#);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = read(req).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{content_type:?}: {}",
            r.text
        );
        assert!(
            r.error().contains("Content-Type: application/json"),
            "{}",
            r.error()
        );
    }

    // Worker addresses and weights.
    let post = |body: &'static str| {
        let base = base.clone();
        async move { call(&base, Method::POST, "/admin/workers", Some(body), None).await }
    };
    let r = post(r#"{"addr":"localhost:9004"}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.error().contains("field `addr`") && r.error().contains("\"localhost:9004\""),
        "{}",
        r.error()
    );
    assert!(r.error().contains("ip:port"), "{}", r.error());
    let r = post(r#"{"addr":"127.0.0.1:9004","weight":0}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.error().contains("field `weight`"), "{}", r.error());
    let r = post(r#"{"addr":"127.0.0.1:9004","weight":-1}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.error().contains("weight"), "{}", r.error());
    let r = call(
        &base,
        Method::POST,
        "/admin/workers/not-an-addr/drain",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.error().contains("\"not-an-addr\""), "{}", r.error());

    // Nothing changed.
    assert!(shared.decisions().is_empty());
    assert_eq!(shared.workers().len(), 3);
}

#[tokio::test]
async fn workers_are_added_drained_undrained_and_removed() {
    let (base, _) = spawn_admin(None).await;
    let new = r#"{"addr":"127.0.0.1:9004","weight":3}"#;
    let r = call(&base, Method::POST, "/admin/workers", Some(new), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["addr"], "127.0.0.1:9004");
    assert_eq!(r.json["weight"], 3);
    assert_eq!(r.json["available"], true);
    let s = get(&base, "/admin/status").await.json;
    assert_eq!(s["available"], 4);
    assert_eq!(worker(&s, "127.0.0.1:9004").expect("added")["weight"], 3);
    let one = get(&base, "/admin/workers/127.0.0.1:9004").await;
    assert_eq!(
        (one.status, &one.json["addr"]),
        (StatusCode::OK, &json!("127.0.0.1:9004"))
    );

    // Weight defaults to 1; the same address again is a conflict.
    let r = call(
        &base,
        Method::POST,
        "/admin/workers",
        Some(r#"{"addr":"127.0.0.1:9005"}"#),
        None,
    )
    .await;
    assert_eq!(
        (r.status, &r.json["weight"]),
        (StatusCode::CREATED, &json!(1))
    );
    let r = call(&base, Method::POST, "/admin/workers", Some(new), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.error().contains("127.0.0.1:9004"), "{}", r.error());

    let r = call(
        &base,
        Method::POST,
        "/admin/workers/127.0.0.1:9004/drain",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.json["draining"], &r.json["available"]),
        (&json!(true), &json!(false))
    );
    let s = get(&base, "/admin/status").await.json;
    let w = worker(&s, "127.0.0.1:9004").expect("still there");
    assert_eq!(
        (&w["draining"], &w["available"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(s["available"], 4);

    let r = call(
        &base,
        Method::POST,
        "/admin/workers/127.0.0.1:9004/undrain",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.json["draining"], &r.json["available"]),
        (&json!(false), &json!(true))
    );

    let r = call(
        &base,
        Method::DELETE,
        "/admin/workers/127.0.0.1:9004",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["addr"], "127.0.0.1:9004");
    let s = get(&base, "/admin/status").await.json;
    assert!(worker(&s, "127.0.0.1:9004").is_none());
    assert_eq!(s["workers"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn unknown_workers_and_routes_are_404_and_wrong_methods_405() {
    let (base, _) = spawn_admin(None).await;
    for (method, path) in [
        (Method::POST, "/admin/workers/127.0.0.1:9999/drain"),
        (Method::POST, "/admin/workers/127.0.0.1:9999/undrain"),
        (Method::DELETE, "/admin/workers/127.0.0.1:9999"),
        (Method::GET, "/admin/workers/127.0.0.1:9999"),
    ] {
        let r = call(&base, method.clone(), path, None, None).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.error(), "no worker 127.0.0.1:9999");
    }
    let r = get(&base, "/admin/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("/admin/nothing"), "{}", r.error());
    let r = call(&base, Method::DELETE, "/admin/status", None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.error().contains("DELETE"), "{}", r.error());
}

#[tokio::test]
async fn metrics_parse_and_hold_every_family() {
    let (base, shared) = spawn_admin(None).await;
    let w = shared.workers();
    let first = w[0].addr.to_string();
    let record = |ms, ok| {
        w[0].metrics.record(
            &shared.proxy,
            &first,
            lb_core::Duration::from_millis(ms),
            ok,
        )
    };
    record(7, true);
    record(70, false);
    call(
        &base,
        Method::PUT,
        "/admin/algorithm",
        Some(r#"{"algorithm":"power_of_two"}"#),
        None,
    )
    .await;

    let r = get(&base, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let scrape = Scrape::parse(r.text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    // Without traffic through the proxy every family is still described (the families test
    // in `metrics.rs` checks samples after traffic).
    for d in FAMILIES {
        if cfg!(target_os = "linux") || !d.name.starts_with("process_") {
            assert!(scrape.docs.contains_key(d.name), "no HELP for {}", d.name);
        }
    }
    let value = |metric: &str, label: (&str, &str)| {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1))
            .unwrap_or_else(|| panic!("no {metric} {label:?}"));
        match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(b) => b.last().map_or(f64::NAN, |b| b.count),
            v => panic!("{v:?}"),
        }
    };
    assert_eq!(
        value("lb_worker_requests_total", ("worker", "127.0.0.1:1")),
        2.0
    );
    assert_eq!(
        value("lb_worker_errors_total", ("worker", "127.0.0.1:1")),
        1.0
    );
    assert_eq!(
        value(
            "lb_worker_request_duration_seconds",
            ("worker", "127.0.0.1:1")
        ),
        2.0
    );
    assert_eq!(value("lb_worker_healthy", ("worker", "127.0.0.1:3")), 1.0);
    // A worker that never answered shows zeros, not nothing.
    assert_eq!(
        value("lb_worker_requests_total", ("worker", "127.0.0.1:3")),
        0.0
    );
    assert_eq!(
        value(
            "lb_worker_request_duration_seconds",
            ("worker", "127.0.0.1:3")
        ),
        0.0
    );
    assert_eq!(value("lb_algorithm", ("algorithm", "power_of_two")), 1.0);
    assert_eq!(value("lb_algorithm", ("algorithm", "round_robin")), 0.0);
    assert_eq!(value("lb_mode", ("mode", "manual")), 1.0);
}

#[tokio::test]
async fn serve_returns_after_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let shared = Shared::new(
        BalancerConfig::new(Algorithm::RoundRobin),
        EngineConfig::default(),
        false,
        &[],
        1,
    )
    .expect("empty pool");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(admin::serve(
        listener,
        admin::router(shared, None),
        async move {
            let _ = stopped.await;
        },
    ));
    let _ = stop.send(());
    let done = tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("serve returns within 5 s");
    done.expect("task").expect("serve ok");
}
