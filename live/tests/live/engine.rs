//! The README's live demo as a test: three in-process workers (10 ms, 4 slots), the engine on
//! its defaults but for a 10 s window, one persistent `slow_factor: 10` fault, set as the README
//! does, by `PUT /admin/fault` on the worker's control listener. The engine must
//! switch once and stay while the fault lasts: before engine v2 it went least_connections ->
//! peak_ewma -> least_connections -> peak_ewma in 34 s.

use super::*;
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::server::{Running, start};
use std::time::{Duration, Instant};

fn demo_settings() -> Settings {
    let file: ConfigFile = toml::from_str("[engine]\nwindow_s = 10").expect("config");
    let flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        algorithm: Some("adaptive".into()),
        ..Overrides::default()
    };
    Settings::from_parts(file, "test", &flags).expect("valid settings")
}

/// Closed-loop load from `concurrency` clients for `length` (bounded by time, not by count).
async fn load_for(c: &reqwest::Client, lb: &Running, length: Duration, concurrency: usize) {
    let url = format!("http://{}/work", lb.data_addr);
    let until = Instant::now() + length;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (c, url) = (c.clone(), url.clone());
        set.spawn(async move {
            while Instant::now() < until {
                let r = c.get(&url).send().await.expect("request");
                assert_eq!(r.status().as_u16(), 200);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("client task");
    }
}

async fn decisions(c: &reqwest::Client, lb: &Running) -> Vec<serde_json::Value> {
    let url = format!("http://{}/admin/decisions", lb.admin_addr);
    let body = c
        .get(url)
        .send()
        .await
        .expect("decisions")
        .text()
        .await
        .expect("body");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_persistent_slow_worker_gives_one_switch_and_no_return() {
    let lb = start(demo_settings(), 3).await.expect("balancer starts");
    let c = client();
    load_for(&c, &lb, Duration::from_secs(6), 8).await;
    assert!(
        decisions(&c, &lb).await.is_empty(),
        "a healthy pool is left alone"
    );
    let (slow, state) = &lb.local_workers[0];
    let res = c
        .put(format!("http://{}/admin/fault", lb.local_controls[0]))
        .body(r#"{"slow_factor": 10}"#)
        .send()
        .await
        .expect("PUT /admin/fault on the control listener");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(state.fault().slow_factor, Some(10.0));
    load_for(&c, &lb, Duration::from_secs(45), 8).await;
    let d = decisions(&c, &lb).await;
    assert_eq!(
        d.len(),
        1,
        "one switch, and no return while the fault lasts: {d:?}"
    );
    assert_eq!(d[0]["from"], "least_connections", "{d:?}");
    assert_eq!(d[0]["to"], "peak_ewma", "{d:?}");
    assert_eq!(d[0]["condition"], "prolonged_processing", "{d:?}");
    assert_eq!(d[0]["worker"], slow.to_string(), "{d:?}");
    assert!(d[0]["value"].as_f64().is_some_and(|v| v >= 4.0), "{d:?}");
    assert_eq!(lb.shared.algorithm(), lb_core::Algorithm::PeakEwma);
    lb.shutdown().await;
}
