//! `/livez` and `/readyz` on the admin port: ready while at least one worker takes requests.

use crate::{client, settings, spawn_worker};
use lb_live::balancer::server;
use reqwest::StatusCode;

async fn get(url: String) -> (StatusCode, serde_json::Value) {
    let resp = client().get(url).send().await.expect("admin answers");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).expect("JSON"))
}

#[tokio::test]
async fn readyz_is_503_with_a_reason_when_no_worker_takes_requests() {
    let w = spawn_worker().await;
    let b = server::start(settings(&[w], |_| {}), 0)
        .await
        .expect("starts");
    let base = format!("http://{}", b.admin_addr);
    let (code, body) = get(format!("{base}/livez")).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("live"))
    );
    let (code, body) = get(format!("{base}/readyz")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        (body["available"].as_u64(), body["workers"].as_u64()),
        (Some(1), Some(1))
    );

    b.shared.set_draining(w, true).expect("known worker");
    let (code, body) = get(format!("{base}/readyz")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("none of the 1 workers takes requests"),
        "{body}"
    );
    // Still live: the process serves, it just has nothing to balance over.
    assert_eq!(get(format!("{base}/livez")).await.0, StatusCode::OK);

    b.shared.remove_worker(w).expect("known worker");
    let (code, body) = get(format!("{base}/readyz")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no workers"),
        "{body}"
    );
    b.shutdown().await;
}
