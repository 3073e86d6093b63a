//! Admission control on real sockets: beyond the in-flight limit a request gets an immediate
//! 503 with `Retry-After`, the worker is neither ejected nor charged, and it serves again as
//! soon as its requests in flight finish.

use super::*;
use lb_core::scenario::model::ServiceFile;
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::server::start;
use lb_live::worker::WorkerConfig;
use std::time::Instant;

fn settings(worker: SocketAddr) -> Settings {
    let text = "[overload]\nmax_in_flight_per_worker = 2\n[health]\ninterval_ms = 100\n";
    let file: ConfigFile = toml::from_str(text).expect("test config");
    let flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        workers: vec![worker.to_string()],
        shards: Some(1),
        request_timeout_ms: Some(5000),
        ..Overrides::default()
    };
    Settings::from_parts(file, "test", &flags).expect("valid test settings")
}

#[tokio::test]
async fn beyond_the_in_flight_limit_requests_get_503_with_retry_after_at_once() {
    let config = WorkerConfig {
        concurrency: 8,
        service: ServiceFile::Constant { ms: 600.0 },
        ..WorkerConfig::default()
    };
    let (worker, _) = spawn_worker(config).await;
    let lb = start(settings(worker), 0).await.expect("start");
    let url = format!("http://{}/work", lb.data_addr);
    let c = client();
    let sent: Vec<_> = (0..6)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            tokio::spawn(async move {
                let r = c.get(&url).send().await.expect("answer");
                let retry = r.headers().get("retry-after").cloned();
                let status = r.status().as_u16();
                (
                    status,
                    retry,
                    r.text().await.unwrap_or_default(),
                    Instant::now(),
                )
            })
        })
        .collect();
    let (mut served, mut shed) = (Vec::new(), Vec::new());
    for h in sent {
        let (status, retry, body, done) = h.await.expect("task");
        match status {
            200 => served.push(done),
            503 => {
                assert_eq!(retry.as_ref().map(|v| v.as_bytes()), Some(&b"1"[..]));
                assert!(body.contains("overloaded"), "{body}");
                shed.push(done);
            }
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert_eq!((served.len(), shed.len()), (2, 4), "two in flight at most");
    // Shed at once: every 503 came back while both admitted requests were still being served.
    let first_served = served.iter().min().expect("two served");
    assert!(
        shed.iter().all(|t| t < first_served),
        "a 503 waited for the worker"
    );
    let st = lb.shared.status();
    assert!(
        st.workers.iter().all(|w| w.available && !w.ejected),
        "{st:?}"
    );
    // The limit frees up as requests finish: the worker serves again.
    let r = c.get(&url).send().await.expect("answer");
    assert_eq!(r.status(), 200);
    lb.shutdown().await;
}
