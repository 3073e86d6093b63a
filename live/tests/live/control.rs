//! The worker's control listener over real HTTP on 127.0.0.1: the fault API is there and only
//! there, a token guards it when set, and nothing sent to the data port (directly or through a
//! balancer) changes a worker's fault.

use super::{client, spawn_controlled};
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::server::start;
use lb_live::worker::WorkerConfig;
use serde_json::Value;
use std::net::SocketAddr;

const HANG: &str = r#"{"hang": true}"#;

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

async fn json(res: reqwest::Response) -> Value {
    let text = res.text().await.expect("response body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn named(name: &str) -> WorkerConfig {
    WorkerConfig {
        name: name.into(),
        ..WorkerConfig::default()
    }
}

#[tokio::test]
async fn the_data_port_answers_404_to_every_fault_method_and_changes_nothing() {
    let (addr, _, state) = spawn_controlled(named("data"), None).await;
    let c = client();
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let res = c
            .request(method.clone(), url(addr, "/admin/fault"))
            .body(HANG)
            .send()
            .await
            .expect("request to the data port");
        assert_eq!(res.status(), 404, "{method}");
        assert_eq!(res.headers()["x-worker"], "data");
        let msg = json(res).await["error"].as_str().unwrap_or("").to_string();
        assert!(msg.contains("control listener"), "{method}: {msg}");
    }
    assert!(state.fault().is_none(), "{:?}", state.fault());
    let res = c.get(url(addr, "/work")).send().await.expect("/work");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_fault_put_through_the_balancer_is_a_404_and_the_worker_keeps_serving() {
    let file: ConfigFile = toml::from_str("").expect("empty config");
    let flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let settings = Settings::from_parts(file, "test", &flags).expect("valid settings");
    let lb = start(settings, 1).await.expect("balancer starts");
    let (_, state) = &lb.local_workers[0];
    let c = client();
    let through = url(lb.data_addr, "/admin/fault");
    // More attempts than it takes to eject a failing worker (5): none may count against it.
    for _ in 0..8 {
        let res = c.put(&through).body(HANG).send().await.expect("PUT");
        assert_eq!(res.status(), 404);
        let res = c.delete(&through).send().await.expect("DELETE");
        assert_eq!(res.status(), 404);
    }
    assert!(state.fault().is_none(), "{:?}", state.fault());
    for _ in 0..5 {
        let res = c
            .get(url(lb.data_addr, "/work"))
            .send()
            .await
            .expect("/work");
        assert_eq!(res.status(), 200);
    }
    // The worker's own control listener does take it.
    let res = c
        .put(url(lb.local_controls[0], "/admin/fault"))
        .body(r#"{"slow_factor": 2}"#)
        .send()
        .await
        .expect("PUT on the control listener");
    assert_eq!(res.status(), 200);
    assert_eq!(state.fault().slow_factor, Some(2.0));
    lb.shutdown().await;
}

#[tokio::test]
async fn with_a_token_a_control_request_without_it_is_401_and_changes_nothing() {
    let (_, ctl, state) = spawn_controlled(named("tok"), Some("s3cret")).await;
    let c = client();
    let fault = url(ctl, "/admin/fault");
    let cases: [(Option<&str>, &str); 5] = [
        (None, "missing Authorization header"),
        (Some("Bearer wrong"), "wrong bearer token"),
        (Some("Bearer s3cret-and-more"), "wrong bearer token"),
        (Some("Basic czNjcmV0"), "not `Bearer TOKEN`"),
        (Some("s3cret"), "not `Bearer TOKEN`"),
    ];
    for (auth, reason) in cases {
        for method in [reqwest::Method::PUT, reqwest::Method::GET] {
            let mut req = c.request(method.clone(), &fault).body(HANG);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.expect("control request");
            assert_eq!(res.status(), 401, "{method} {auth:?}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            assert_eq!(res.headers()["x-worker"], "tok");
            let msg = json(res).await["error"].as_str().unwrap_or("").to_string();
            assert!(msg.contains(reason), "{auth:?}: {msg}");
        }
    }
    // Unknown paths ask for the token too (no probing without it).
    let res = c.get(url(ctl, "/nope")).send().await.expect("GET /nope");
    assert_eq!(res.status(), 401);
    assert!(state.fault().is_none(), "{:?}", state.fault());
}

#[tokio::test]
async fn with_the_token_the_fault_is_applied_and_cleared() {
    let (_, ctl, state) = spawn_controlled(named("tok2"), Some("s3cret")).await;
    let c = client();
    let fault = url(ctl, "/admin/fault");
    let res = c
        .put(&fault)
        .header("authorization", "bearer s3cret")
        .body(r#"{"slow_factor": 3, "unhealthy": true}"#)
        .send()
        .await
        .expect("PUT with token");
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["slow_factor"], 3.0);
    assert_eq!(state.fault().slow_factor, Some(3.0));
    assert!(state.fault().unhealthy);
    let got = c
        .get(&fault)
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("GET with token");
    assert_eq!(json(got).await["unhealthy"], true);
    let res = c
        .delete(&fault)
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("DELETE with token");
    assert_eq!(res.status(), 200);
    assert!(state.fault().is_none());
    // With the token, an unknown path is a plain 404.
    let res = c
        .get(url(ctl, "/work"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("GET /work on control");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn without_a_token_the_loopback_control_listener_is_open() {
    let (_, ctl, state) = spawn_controlled(named("open"), None).await;
    let res = client()
        .put(url(ctl, "/admin/fault"))
        .body(r#"{"delay_ms": 5}"#)
        .send()
        .await
        .expect("PUT");
    assert_eq!(res.status(), 200);
    assert_eq!(state.fault().delay_ms, Some(5.0));
}
