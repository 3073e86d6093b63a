//! The load generator against real local servers (lb-worker on 127.0.0.1 ephemeral ports).

mod experiment;

use bytes::Bytes;
use indicatif::ProgressBar;
use lb_live::worker::{Fault, WorkerConfig, WorkerState, serve};
use lb_loadgen::client::HttpClient;
use lb_loadgen::open_loop::OpenLoop;
use lb_loadgen::target::Target;
use lb_loadgen::{closed_loop, open_loop, report};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

async fn worker(service_ms: f64, concurrency: u32) -> (SocketAddr, WorkerState) {
    worker_with(lb_core_service(service_ms), concurrency).await
}

async fn worker_with(
    service: lb_live_service::ServiceFile,
    concurrency: u32,
) -> (SocketAddr, WorkerState) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let state = WorkerState::new(WorkerConfig {
        name: "t".into(),
        concurrency,
        service,
        ..WorkerConfig::default()
    })
    .expect("worker");
    tokio::spawn(serve(l, state.clone(), std::future::pending()));
    (addr, state)
}

fn lb_core_service(ms: f64) -> lb_live_service::ServiceFile {
    lb_live_service::ServiceFile::Constant { ms }
}

mod lb_live_service {
    pub use lb_core::scenario::model::ServiceFile;
}

/// Tests that measure timing or load the machine (worker processes) run one at a time: on a
/// 2-core machine, one test's load would show in another's latencies.
static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn target(addr: SocketAddr) -> Arc<Target> {
    Arc::new(Target::new(&format!("http://{addr}/work"), "GET", Bytes::new(), &[]).expect("target"))
}

fn client() -> HttpClient {
    HttpClient::new(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_loop_sends_the_asked_rate() {
    let _one_at_a_time = TIMING.lock().await;
    let (addr, _w) = worker(1.0, 64).await;
    let cfg = OpenLoop {
        rate: 400.0,
        duration: Duration::from_secs(3),
        poisson: false,
        seed: 1,
        max_in_flight: 10_000,
    };
    let s = open_loop::run(client(), target(addr), cfg, ProgressBar::hidden()).await;
    assert_eq!(s.sent, 1200);
    assert_eq!(s.recorder.count(), 1200);
    assert_eq!(s.recorder.errors(), 0);
    let achieved = s.achieved_rate();
    assert!(
        (achieved / 400.0 - 1.0).abs() < 0.02,
        "achieved {achieved}/s"
    );
    // Poisson at the same rate: the count is random but close.
    let s = open_loop::run(
        client(),
        target(addr),
        OpenLoop {
            poisson: true,
            ..cfg
        },
        ProgressBar::hidden(),
    )
    .await;
    assert!((1100..=1300).contains(&s.sent), "{}", s.sent);
}

/// Stall the worker from 0.8 s to 1.0 s (hang, then release) while a load runs.
async fn stall(w: WorkerState) {
    tokio::time::sleep(Duration::from_millis(800)).await;
    w.set_fault(Fault::from_json(br#"{"hang": true}"#).expect("fault"))
        .expect("set");
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.clear_fault();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_ms_stall_shows_in_the_open_loop_latencies_but_hides_from_a_closed_loop() {
    let _one_at_a_time = TIMING.lock().await;
    let (addr, w) = worker(1.0, 64).await;
    let cfg = OpenLoop {
        rate: 500.0,
        duration: Duration::from_secs(2),
        poisson: false,
        seed: 1,
        max_in_flight: 10_000,
    };
    let staller = tokio::spawn(stall(w.clone()));
    let open = open_loop::run(client(), target(addr), cfg, ProgressBar::hidden()).await;
    staller.await.expect("stall");
    // Requests due during the stall (about 100 of them at 500/s) waited for its end: the
    // first half of them more than 100 ms, measured from their due times.
    let slow = open.recorder.slower_than(100.0);
    assert!(slow >= 35, "{slow} open-loop requests over 100 ms");
    assert!(
        open.recorder.max_ms() >= 150.0,
        "max {}",
        open.recorder.max_ms()
    );
    // The same stall under a closed loop of 4: only the 4 requests in flight see it.
    let staller = tokio::spawn(stall(w));
    let closed = closed_loop::run(
        client(),
        target(addr),
        4,
        Duration::from_secs(2),
        ProgressBar::hidden(),
    )
    .await;
    staller.await.expect("stall");
    let hidden = closed.recorder.slower_than(100.0);
    assert!(hidden <= 4, "{hidden} closed-loop requests over 100 ms");
    assert!(
        closed.recorder.count() > open.recorder.count(),
        "the closed loop sent more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_loop_keeps_exactly_n_requests_in_flight() {
    let _one_at_a_time = TIMING.lock().await;
    // Exponential service times: the 8 requests finish at different moments. With a constant
    // time they finish together, and a sample can fall in the instant when most of the next
    // requests are still on their way to the worker (seen on CI: [8, 8, 1, 8, ...]).
    let service = lb_live_service::ServiceFile::Exponential { mean_ms: 20.0 };
    let (addr, w) = worker_with(service, 100).await;
    let n = 8;
    let sampler = tokio::spawn(async move {
        let mut seen = Vec::new();
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..15 {
            let s = w.stats();
            seen.push(s.in_service + s.queued);
            tokio::time::sleep(Duration::from_millis(97)).await;
        }
        seen
    });
    let s = closed_loop::run(
        client(),
        target(addr),
        n,
        Duration::from_secs(2),
        ProgressBar::hidden(),
    )
    .await;
    let seen = sampler.await.expect("sampler");
    // Never more than n at the worker; at a sampled instant, one or two may be on the wire
    // between an answer and the next request (about 2% of each request's cycle).
    assert!(
        seen.iter().all(|&k| k <= n as u64 && k + 2 >= n as u64),
        "{seen:?}"
    );
    assert!(
        seen.iter().filter(|&&k| k == n as u64).count() >= 8,
        "{seen:?}"
    );
    let row = report::summary_row(&s, "t", "t");
    assert!(
        (row.mean_in_flight / n as f64 - 1.0).abs() < 0.05,
        "mean in flight {}",
        row.mean_in_flight
    );
    // 8 connections over requests of 20 ms on average for 2 s: about 790 requests (sd ~28).
    assert!((650..=900).contains(&s.sent), "{}", s.sent);
}

#[test]
fn a_dead_target_a_bad_url_and_a_zero_rate_stop_at_once_with_a_clear_message() {
    let bin = env!("CARGO_BIN_EXE_lb-loadgen");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(bin)
            .args(args)
            .output()
            .expect("run");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, e) = run(&["run", "http://127.0.0.1:1/work", "--duration", "1"]);
    assert!(!ok);
    assert!(
        e.contains("does not answer") && e.contains("127.0.0.1:1"),
        "{e}"
    );
    let (ok, e) = run(&["run", "127.0.0.1:8080/work"]);
    assert!(!ok);
    assert!(e.contains("missing scheme"), "{e}");
    let (ok, e) = run(&["run", "http://127.0.0.1:1/", "--rate", "0"]);
    assert!(!ok);
    assert!(e.contains("--rate: must be"), "{e}");
    let (ok, e) = run(&["plot", "/nonexistent-dir"]);
    assert!(!ok);
    assert!(e.contains("summary.csv"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_the_simulator_schema_and_plot_redraws_it() {
    let (addr, _w) = worker(1.0, 16).await;
    let dir = std::env::temp_dir().join(format!("lb-loadgen-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_lb-loadgen");
    let url = format!("http://{addr}/work");
    let out = dir.to_string_lossy().into_owned();
    let o = tokio::process::Command::new(bin)
        .args([
            "run",
            &url,
            "--rate",
            "200",
            "--duration",
            "1",
            "--out",
            &out,
            "--name",
            "demo",
            "--label",
            "round_robin",
        ])
        .output()
        .await
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("requests 200") && text.contains("p99.9"),
        "{text}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.csv")).expect("summary.csv");
    assert!(
        summary.starts_with("scenario,algorithm,seed,requests,ok,errors,error_rate,throughput_rps")
    );
    assert!(
        summary.contains("demo,round_robin,0,200,200,0,"),
        "{summary}"
    );
    let o = tokio::process::Command::new(bin)
        .args(["plot", &out])
        .output()
        .await
        .expect("plot");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("demo/p99_over_time.png").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
