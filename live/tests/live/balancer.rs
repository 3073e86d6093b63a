//! The live balancer end to end: real workers and a real balancer on 127.0.0.1 ephemeral ports,
//! real HTTP requests, bounded in count and time.

use super::*;
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::server::{Running, start};
use lb_live::worker::{Fault, WorkerConfig};
use std::collections::HashMap;
use std::time::Duration;

/// Settings for a balancer on ephemeral ports over `workers`, with `algorithm`, fast health
/// checks (every 100 ms, rise 2, fall 3) and the engine tuned by `engine_toml`.
fn settings(workers: &[SocketAddr], algorithm: &str, engine_toml: &str) -> Settings {
    let text = format!(
        "[health]\ninterval_ms = 100\ntimeout_ms = 100\nrise = 2\nfall = 3\n[engine]\n{engine_toml}"
    );
    let file: ConfigFile = toml::from_str(&text).expect("test config");
    let flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        algorithm: Some(algorithm.into()),
        workers: workers.iter().map(|a| a.to_string()).collect(),
        request_timeout_ms: Some(1000),
        ..Overrides::default()
    };
    Settings::from_parts(file, "test", &flags).expect("valid test settings")
}

async fn balancer(workers: &[SocketAddr], algorithm: &str) -> Running {
    start(settings(workers, algorithm, ""), 0)
        .await
        .expect("balancer starts")
}

fn url(r: &Running, path: &str) -> String {
    format!("http://{}{}", r.data_addr, path)
}

fn admin(r: &Running, path: &str) -> String {
    format!("http://{}{}", r.admin_addr, path)
}

async fn workers(n: usize, service_ms: f64) -> Vec<(SocketAddr, lb_live::worker::WorkerState)> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(
            spawn_worker(WorkerConfig {
                name: format!("w{i}"),
                service: lb_core::scenario::model::ServiceFile::Constant { ms: service_ms },
                ..WorkerConfig::default()
            })
            .await,
        );
    }
    v
}

async fn served_by(c: &reqwest::Client, u: &str) -> (u16, String) {
    let r = c.get(u).send().await.expect("request");
    let who = r
        .headers()
        .get("x-lb-worker")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (r.status().as_u16(), who)
}

async fn put_json(c: &reqwest::Client, u: &str, body: &str) -> reqwest::Response {
    c.put(u)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin request")
}

async fn status(c: &reqwest::Client, r: &Running) -> serde_json::Value {
    let t = c
        .get(admin(r, "/admin/status"))
        .send()
        .await
        .expect("status")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&t).expect("status is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_gives_each_of_three_workers_a_third_of_300_requests() {
    let ws = workers(3, 1.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let lb = balancer(&addrs, "round_robin").await;
    let c = client();
    let mut count: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let (code, who) = served_by(&c, &url(&lb, "/work")).await;
        assert_eq!(code, 200);
        *count.entry(who).or_default() += 1;
    }
    assert_eq!(count.len(), 3, "{count:?}");
    for (w, n) in &count {
        assert!((99..=101).contains(n), "{w}: {n} of 300");
    }
    lb.shutdown().await;
}

/// Send `total` requests with `concurrency` at a time; returns the count per worker.
async fn load(
    c: &reqwest::Client,
    u: &str,
    total: usize,
    concurrency: usize,
) -> HashMap<String, usize> {
    let mut set = tokio::task::JoinSet::new();
    let per = total / concurrency;
    for _ in 0..concurrency {
        let c = c.clone();
        let u = u.to_string();
        set.spawn(async move {
            let mut m: HashMap<String, usize> = HashMap::new();
            for _ in 0..per {
                let (code, who) = served_by(&c, &u).await;
                assert_eq!(code, 200, "served by {who}");
                *m.entry(who).or_default() += 1;
            }
            m
        });
    }
    let mut all: HashMap<String, usize> = HashMap::new();
    while let Some(m) = set.join_next().await {
        for (k, v) in m.expect("load task") {
            *all.entry(k).or_default() += v;
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_sends_a_slowed_worker_clearly_fewer_requests_than_round_robin() {
    let ws = workers(3, 5.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    ws[0]
        .1
        .set_fault(Fault::from_json(br#"{"slow_factor": 8}"#).expect("fault"))
        .expect("set");
    let c = client();
    let slow = addrs[0].to_string();
    let mut shares = Vec::new();
    for alg in ["round_robin", "least_connections"] {
        let lb = balancer(&addrs, alg).await;
        let m = load(&c, &url(&lb, "/work"), 240, 8).await;
        let n = m.get(&slow).copied().unwrap_or(0);
        shares.push(n);
        lb.shutdown().await;
    }
    // Round robin gives it a third (80); least connections far fewer.
    assert!((78..=82).contains(&shares[0]), "round robin: {}", shares[0]);
    assert!(
        shares[1] * 2 < shares[0],
        "least connections {} vs round robin {}",
        shares[1],
        shares[0]
    );
}

/// A worker in its own process (the `lb-worker` binary), killable like a real one.
struct WorkerProcess {
    child: std::process::Child,
    addr: SocketAddr,
}

impl WorkerProcess {
    fn start(listen: &str) -> WorkerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lb-worker"))
            .args(["--listen", listen, "--name", "victim", "--service-ms", "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start lb-worker");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        WorkerProcess { child, addr }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_marked_down_no_request_fails_and_it_comes_back() {
    let ws = workers(2, 1.0).await;
    let mut victim = WorkerProcess::start("127.0.0.1:0");
    let vaddr = victim.addr;
    let addrs = vec![ws[0].0, ws[1].0, vaddr];
    let lb = balancer(&addrs, "round_robin").await;
    let c = client();
    assert_eq!(load(&c, &url(&lb, "/work"), 30, 3).await.len(), 3);

    // Kill the process under load: every request still succeeds (a refused connection is
    // retried on another worker), and health checks mark it down.
    victim.kill();
    let killed_at = std::time::Instant::now();
    let mut down_after = None;
    for _ in 0..300 {
        let (code, _) = served_by(&c, &url(&lb, "/work")).await;
        assert_eq!(code, 200);
        if status(&c, &lb).await["workers"][2]["healthy"] == false {
            down_after = Some(killed_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let down_after = down_after.expect("the dead worker is marked down");
    // interval x fall = 300 ms, plus one probe timeout and scheduling slack.
    assert!(
        down_after < Duration::from_millis(1500),
        "marked down after {down_after:?}"
    );
    let m = load(&c, &url(&lb, "/work"), 60, 3).await;
    assert!(!m.contains_key(&vaddr.to_string()), "{m:?}");

    // Restart it on the same address: rise = 2 good probes bring it back.
    let _again = WorkerProcess::start(&vaddr.to_string());
    let mut back = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if status(&c, &lb).await["workers"][2]["available"] == true {
            back = true;
            break;
        }
    }
    assert!(back, "the restarted worker is taken back");
    let m = load(&c, &url(&lb, "/work"), 60, 3).await;
    assert!(m.contains_key(&vaddr.to_string()), "{m:?}");
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_algorithm_applies_to_the_next_request() {
    let ws = workers(3, 1.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let lb = balancer(&addrs, "round_robin").await;
    let c = client();
    let r = put_json(
        &c,
        &admin(&lb, "/admin/algorithm"),
        r#"{"algorithm":"least_connections"}"#,
    )
    .await;
    assert_eq!(
        r.status().as_u16(),
        200,
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_eq!(lb.shared.algorithm(), lb_core::Algorithm::LeastConnections);
    let s = status(&c, &lb).await;
    assert_eq!(s["algorithm"], "least_connections");
    assert_eq!(s["mode"], "manual");
    let (code, _) = served_by(&c, &url(&lb, "/work")).await;
    assert_eq!(code, 200);
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_adaptive_mode_slowing_a_worker_makes_the_engine_switch() {
    let ws = workers(4, 5.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let engine = "tick_s = 0.2\nwindow_s = 2\nmin_samples = 50\nmin_worker_samples = 5\nconfirm_ticks = 2\nmax_evidence_age_s = 2\nslow_persist_s = 0.4";
    let lb = start(settings(&addrs, "adaptive", engine), 0)
        .await
        .expect("start");
    let c = client();
    assert_eq!(status(&c, &lb).await["mode"], "adaptive");
    ws[1]
        .1
        .set_fault(Fault::from_json(br#"{"slow_factor": 10}"#).expect("fault"))
        .expect("set");
    let mut switched = false;
    for _ in 0..20 {
        load(&c, &url(&lb, "/work"), 80, 8).await;
        let t = c
            .get(admin(&lb, "/admin/decisions"))
            .send()
            .await
            .expect("decisions")
            .text()
            .await
            .expect("body");
        let d: serde_json::Value = serde_json::from_str(&t).expect("JSON");
        if let Some(first) = d.as_array().and_then(|a| a.first()) {
            assert_eq!(first["condition"], "prolonged_processing", "{d}");
            assert_eq!(first["from"], "least_connections");
            assert_eq!(first["to"], "peak_ewma");
            switched = true;
            break;
        }
    }
    assert!(switched, "the engine switched within the bounded load");
    assert_eq!(lb.shared.algorithm(), lb_core::Algorithm::PeakEwma);
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_worker_down_is_503_and_a_hanging_worker_is_504() {
    let ws = workers(1, 1.0).await;
    let lb = balancer(&[ws[0].0], "round_robin").await;
    let c = client();
    ws[0]
        .1
        .set_fault(Fault::from_json(br#"{"hang": true}"#).expect("fault"))
        .expect("set");
    let r = c.get(url(&lb, "/work")).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 504);
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("did not answer within 1000 ms")
    );
    // Unhealthy: after fall (3) failed probes the only worker is down.
    ws[0].1.clear_fault();
    ws[0]
        .1
        .set_fault(Fault::from_json(br#"{"unhealthy": true}"#).expect("fault"))
        .expect("set");
    let mut got = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = c.get(url(&lb, "/work")).send().await.expect("request");
        got = r.status().as_u16();
        if got == 503 {
            assert!(
                r.text()
                    .await
                    .unwrap_or_default()
                    .contains("no worker available")
            );
            break;
        }
    }
    assert_eq!(got, 503);
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mib_body_goes_through_intact_both_ways() {
    let ws = workers(2, 1.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let lb = balancer(&addrs, "round_robin").await;
    let c = client();
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 31 % 251) as u8).collect();
    let r = c
        .post(url(&lb, "/echo"))
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().contains_key("x-lb-worker"));
    let back = r.bytes().await.expect("body");
    assert_eq!(back.len(), body.len());
    assert!(back.as_ref() == body.as_slice(), "echoed body differs");
    let r = c.get(url(&lb, "/bytes/1048576")).send().await.expect("get");
    assert_eq!(r.bytes().await.expect("body").len(), 1024 * 1024);
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let ws = workers(1, 400.0).await;
    let lb = balancer(&[ws[0].0], "round_robin").await;
    let c = client();
    let u = url(&lb, "/work");
    let inflight = tokio::spawn(async move { c.get(u).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let data = lb.data_addr;
    lb.shutdown().await;
    assert_eq!(
        inflight.await.expect("task").expect("request completed"),
        200
    );
    // And the listener is gone.
    assert!(tokio::net::TcpStream::connect(data).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_worker_finishes_its_request_and_gets_no_new_ones() {
    let ws = workers(2, 300.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let lb = balancer(&addrs, "round_robin").await;
    let c = client();
    // The first request of a fresh connection goes to the first worker (round robin).
    let u = url(&lb, "/work");
    let c2 = c.clone();
    let slow = tokio::spawn(async move { served_by(&c2, &u).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let target = addrs[0].to_string();
    let r = c
        .post(admin(&lb, &format!("/admin/workers/{target}/drain")))
        .send()
        .await
        .expect("drain");
    assert_eq!(r.status().as_u16(), 200);
    let (code, who) = slow.await.expect("task");
    assert_eq!(
        (code, who.as_str()),
        (200, target.as_str()),
        "the in-flight request finished"
    );
    let m = load(&c, &url(&lb, "/work"), 4, 2).await;
    assert!(!m.contains_key(&target), "{m:?}");
    let r = c
        .delete(admin(&lb, &format!("/admin/workers/{target}")))
        .send()
        .await
        .expect("remove");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        status(&c, &lb).await["workers"].as_array().map(Vec::len),
        Some(1)
    );
    lb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_give_up_leave_no_request_counted_in_flight() {
    let ws = workers(2, 1.0).await;
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let mut s = settings(&addrs, "least_connections", "");
    s.shards = 1;
    let lb = start(s, 0).await.expect("start");
    ws[0]
        .1
        .set_fault(Fault::from_json(br#"{"delay_ms": 2000}"#).expect("fault"))
        .expect("set");
    // Impatient clients: each gives up after 200 ms, before the slow worker answers.
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    for _ in 0..6 {
        let _ = impatient.get(url(&lb, "/work")).send().await;
    }
    ws[0].1.clear_fault();
    let c = client();
    let mut settled = false;
    for _ in 0..50 {
        let st = status(&c, &lb).await;
        if st["workers"][0]["in_flight"] == 0 && st["workers"][1]["in_flight"] == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        settled,
        "abandoned requests stay counted: {}",
        status(&c, &lb).await
    );
    // And least connections shares the work again.
    let m = load(&c, &url(&lb, "/work"), 40, 1).await;
    assert_eq!(m.len(), 2, "{m:?}");
    lb.shutdown().await;
}

/// Four workers, the third failing every request at once; requests alternate between two
/// clients, each on its own keep-alive connection (so with two shards, each connection in its
/// own shard). Returns the 5xx answers seen in 60 requests and the status afterwards.
async fn failures_behind(shards: usize) -> (usize, serde_json::Value) {
    let mut ws = Vec::new();
    for i in 0..4 {
        ws.push(
            spawn_worker(WorkerConfig {
                name: format!("w{i}"),
                service: lb_core::scenario::model::ServiceFile::Constant { ms: 1.0 },
                error_rate: if i == 2 { 1.0 } else { 0.0 },
                error_mode: lb_core::scenario::ErrorMode::Fast,
                ..WorkerConfig::default()
            })
            .await,
        );
    }
    let addrs: Vec<SocketAddr> = ws.iter().map(|w| w.0).collect();
    let mut s = settings(&addrs, "round_robin", "");
    s.shards = shards;
    let lb = start(s, 0).await.expect("balancer starts");
    let clients = [client(), client()];
    let mut errors = 0;
    for n in 0..60 {
        let (code, _) = served_by(&clients[n % 2], &url(&lb, "/work")).await;
        errors += usize::from(code >= 500);
    }
    let st = status(&clients[0], &lb).await;
    lb.shutdown().await;
    (errors, st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_behind_two_shards_is_ejected_once_after_no_more_errors_than_one() {
    let (one, st1) = failures_behind(1).await;
    let (two, st2) = failures_behind(2).await;
    // Five failures in a row eject it (the default), then no request goes to it.
    assert_eq!(one, 5, "{st1}");
    assert_eq!(two, one, "two shards count one run of failures: {st2}");
    for st in [&st1, &st2] {
        assert_eq!(st["ejections"], 1, "{st}");
        assert_eq!(st["workers"][2]["ejected"], true, "{st}");
        assert_eq!(st["available"], 3, "{st}");
    }
}
