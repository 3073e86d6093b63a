//! The worker server over real HTTP on 127.0.0.1: routes, queueing, faults, shutdown, binary.
//!
//! Timing assertions are lower bounds only (a sleep never ends early); upper bounds are seconds
//! wide, so a loaded machine does not make these tests flaky.

use super::{client, spawn_controlled, spawn_worker};
use lb_core::scenario::ErrorMode;
use lb_core::scenario::model::ServiceFile;
use lb_live::worker::{WorkerConfig, WorkerState, pattern_byte, serve};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn config(name: &str, concurrency: u32, service_ms: f64) -> WorkerConfig {
    WorkerConfig {
        name: name.to_string(),
        concurrency,
        service: ServiceFile::Constant { ms: service_ms },
        ..WorkerConfig::default()
    }
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

async fn json(res: reqwest::Response) -> Value {
    let text = res.text().await.expect("response body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn put_fault(ctl: SocketAddr, body: &str) -> reqwest::Response {
    client()
        .put(url(ctl, "/admin/fault"))
        .body(body.to_string())
        .send()
        .await
        .expect("PUT /admin/fault")
}

/// Poll `cond` on the worker's counters every millisecond, for at most 5 s.
async fn wait_until(
    state: &WorkerState,
    what: &str,
    cond: impl Fn(&lb_live::worker::Stats) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond(&state.stats()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            state.stats()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn health_is_ok_then_unhealthy_then_ok_again() {
    let (addr, ctl, _) = spawn_controlled(config("h1", 4, 10.0), None).await;
    let c = client();
    let res = c.get(url(addr, "/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-worker"], "h1");
    let body = json(res).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["worker"], "h1");
    assert_eq!(body["in_service"], 0);
    assert_eq!(body["queued"], 0);

    assert_eq!(put_fault(ctl, r#"{"unhealthy": true}"#).await.status(), 200);
    let res = c.get(url(addr, "/health")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(json(res).await["status"], "unhealthy");
    let fault = json(c.get(url(ctl, "/admin/fault")).send().await.unwrap()).await;
    assert_eq!(fault["unhealthy"], true);
    assert_eq!(fault["slow_factor"], Value::Null);

    let res = c.delete(url(ctl, "/admin/fault")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = c.get(url(addr, "/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["status"], "ok");
}

#[tokio::test]
async fn work_answers_json_with_the_worker_header() {
    let (addr, _) = spawn_worker(config("w1", 4, 10.0)).await;
    let c = client();
    let res = c.get(url(addr, "/work")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-worker"], "w1");
    let body = json(res).await;
    assert_eq!(body["worker"], "w1");
    assert_eq!(body["service_ms"], 10.0);
    assert_eq!(body["body_bytes"], 0);
    assert!(body["queue_ms"].as_f64().unwrap() >= 0.0);

    let res = c
        .post(url(addr, "/work"))
        .body(vec![7u8; 12_345])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["body_bytes"], 12_345);

    let stats = json(c.get(url(addr, "/stats")).send().await.unwrap()).await;
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["ok"], 2);
    assert_eq!(stats["errors"], 0);
    assert_eq!(stats["in_service"], 0);

    // Unknown routes also say who answered.
    let res = c.get(url(addr, "/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-worker"], "w1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slot_serves_requests_in_arrival_order() {
    const SERVICE_MS: f64 = 20.0;
    let (addr, ctl, state) = spawn_controlled(config("fifo", 1, SERVICE_MS), None).await;
    // The first request holds the slot for 10 service times, so the others queue behind it.
    put_fault(ctl, r#"{"slow_factor": 10}"#).await;
    let c = client();
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Per request: sent at, seen arrived at (the server's arrival lies between the two).
    let mut window = Vec::new();
    for k in 0..5u64 {
        let sent = Instant::now();
        let req = c.get(url(addr, "/work")).send();
        tasks.push(tokio::spawn(async move { json(req.await.unwrap()).await }));
        // Send the next one only once this one has arrived: arrival order is k.
        wait_until(&state, "the request to arrive", |s| {
            s.ok + s.in_service + s.queued == k + 1
        })
        .await;
        window.push((sent, Instant::now()));
        if k == 0 {
            // In service means its service time is drawn: the slow factor applied to it only.
            wait_until(&state, "the first in service", |s| s.in_service == 1).await;
            c.delete(url(ctl, "/admin/fault")).send().await.unwrap();
        }
    }
    let mut queue = Vec::new();
    for t in tasks {
        queue.push(t.await.unwrap()["queue_ms"].as_f64().unwrap());
    }
    // One slot, five sleeps of at least 20 ms one after the other.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    // FIFO: request k starts at least one service time after request k - 1. Its start is its
    // arrival plus its queue_ms, and each arrival is known to lie within its window; the check
    // below follows from FIFO whatever the machine's load (wide windows only weaken it).
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for k in 1..5 {
        let latest_start_k = ms(window[k].1 - started) + queue[k];
        let earliest_start_prev = ms(window[k - 1].0 - started) + queue[k - 1];
        assert!(
            latest_start_k >= earliest_start_prev + SERVICE_MS - 0.5,
            "request {k} started too early: queue_ms {queue:?}"
        );
    }
    // On a quiet machine the four queued requests report increasing queue_ms; the last waited
    // for most of the first one's 200 ms plus the three before it.
    println!("queue_ms in arrival order: {queue:?}");
    assert_eq!(state.stats().ok, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_errors_answer_at_once_without_a_slot() {
    let (addr, ctl, state) = spawn_controlled(config("fast", 1, 1000.0), None).await;
    let c = client();
    // A normal request takes the only slot for 1 s.
    let normal = tokio::spawn(c.get(url(addr, "/work")).send());
    wait_until(&state, "the normal request in service", |s| {
        s.in_service == 1
    })
    .await;

    put_fault(ctl, r#"{"error_rate": 1.0, "error_mode": "fast"}"#).await;
    let res = c.get(url(addr, "/work")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["x-worker"], "fast");
    // Answered while the slot is still busy: it never queued for it.
    assert!(!normal.is_finished(), "the fast error waited for the slot");
    assert_eq!(state.stats().in_service, 1);
    let body = json(res).await;
    assert_eq!(body["error_mode"], "fast");
    assert_eq!(body["queue_ms"], 0.0);
    assert_eq!(body["service_ms"], 0.0);

    c.delete(url(ctl, "/admin/fault")).send().await.unwrap();
    let res = normal.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    // The slow-down of the failing request did not delay the normal one.
    let body = json(res).await;
    assert!(body["queue_ms"].as_f64().unwrap() < 500.0, "{body}");
    let s = state.stats();
    assert_eq!((s.ok, s.errors), (1, 1));
}

#[tokio::test]
async fn slow_errors_hold_a_slot_for_the_service_time() {
    let mut cfg = config("slow", 1, 100.0);
    cfg.error_rate = 1.0;
    cfg.error_mode = ErrorMode::Slow;
    let (addr, _) = spawn_worker(cfg).await;
    let t = Instant::now();
    let res = client().get(url(addr, "/work")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    let body = json(res).await;
    assert_eq!(body["error_mode"], "slow");
    assert_eq!(body["service_ms"], 100.0);
}

#[tokio::test]
async fn slow_factor_multiplies_the_service_time() {
    let (addr, ctl, _) = spawn_controlled(config("sf", 4, 10.0), None).await;
    assert_eq!(put_fault(ctl, r#"{"slow_factor": 5}"#).await.status(), 200);
    let t = Instant::now();
    let res = client().get(url(addr, "/work")).send().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(50),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(json(res).await["service_ms"], 50.0);
}

#[tokio::test]
async fn delay_adds_to_each_work_request() {
    let (addr, ctl, _) = spawn_controlled(config("delay", 4, 10.0), None).await;
    put_fault(ctl, r#"{"delay_ms": 60}"#).await;
    let t = Instant::now();
    let res = client().get(url(addr, "/work")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(70),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_answers_nothing_until_cleared() {
    let (addr, ctl, state) = spawn_controlled(config("hang", 4, 10.0), None).await;
    assert_eq!(put_fault(ctl, r#"{"hang": true}"#).await.status(), 200);
    let c = client();
    for path in ["/work", "/health"] {
        let err = c
            .get(url(addr, path))
            .timeout(Duration::from_millis(300))
            .send()
            .await
            .expect_err("a hung worker answered");
        assert!(err.is_timeout(), "{path}: {err}");
    }
    // A hung request waiting when the fault is cleared is released.
    let waiting = tokio::spawn(c.get(url(addr, "/work")).send());
    wait_until(&state, "a hung request", |s| s.hung >= 1).await;
    let res = c.delete(url(ctl, "/admin/fault")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(waiting.await.unwrap().unwrap().status(), 200);
    let res = c.get(url(addr, "/work")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// A client that gives up after 50 ms on a 400 ms request, then what the worker is doing.
async fn abandon_one(cancel_abandoned: bool) -> (WorkerState, lb_live::worker::Stats) {
    let (addr, state) = spawn_worker(WorkerConfig {
        cancel_abandoned,
        ..config("abandon", 1, 400.0)
    })
    .await;
    let err = client()
        .get(url(addr, "/work"))
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .expect_err("answered within 50 ms");
    assert!(err.is_timeout(), "{err}");
    // Give the worker time to see the connection close (it is on this runtime).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = state.stats();
    (state, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_work_runs_to_its_end_unless_told_to_stop() {
    // Default, as in the simulator: the work goes on and holds its slot, then counts as served.
    let (state, stats) = abandon_one(false).await;
    assert_eq!(stats.in_service, 1, "{stats:?}");
    wait_until(&state, "the abandoned request to finish", |s| {
        s.ok == 1 && s.in_service == 0
    })
    .await;
    // --cancel-abandoned: the slot is free as soon as the client is gone.
    let (_, stats) = abandon_one(true).await;
    assert_eq!((stats.in_service, stats.ok), (0, 0), "{stats:?}");
}

async fn get_fault(ctl: SocketAddr) -> Value {
    json(
        client()
            .get(url(ctl, "/admin/fault"))
            .send()
            .await
            .expect("GET /admin/fault"),
    )
    .await
}

#[tokio::test]
async fn bad_faults_are_refused_naming_the_field_and_the_reason() {
    let (_, ctl, _) = spawn_controlled(config("bad", 4, 10.0), None).await;
    // A fault in force: a refused PUT must leave it as it was.
    assert_eq!(put_fault(ctl, r#"{"slow_factor": 3}"#).await.status(), 200);
    let before = get_fault(ctl).await;
    let cases = [
        ("{", &["invalid JSON"][..]),
        (r#"{"slow_factor": NaN}"#, &["invalid JSON"]),
        ("[]", &["JSON object", "slow_factor, delay_ms"]),
        (
            r#"{"slowfactor": 2}"#,
            &["unknown field `slowfactor`", "slow_factor"],
        ),
        (r#"{"hang": true, "extra": 1}"#, &["unknown field `extra`"]),
        (r#"{"error_rate": 1.5}"#, &["error_rate:", "[0, 1]", "1.5"]),
        (
            r#"{"error_rate": -0.1}"#,
            &["error_rate:", "[0, 1]", "-0.1"],
        ),
        (r#"{"slow_factor": -2}"#, &["slow_factor:", "> 0", "-2"]),
        (r#"{"slow_factor": 0}"#, &["slow_factor:", "> 0"]),
        (r#"{"delay_ms": -1}"#, &["delay_ms:", "-1"]),
        (r#"{"delay_ms": 3600001}"#, &["delay_ms:", "3600000"]),
        (r#"{"delay_ms": "soon"}"#, &["delay_ms:", "string"]),
        (
            r#"{"error_mode": "maybe"}"#,
            &["error_mode:", "maybe", "fast", "slow"],
        ),
        (r#"{"error_mode": 1}"#, &["error_mode:", "integer"]),
        (r#"{"hang": "yes"}"#, &["hang:", "boolean"]),
        (r#"{"unhealthy": 1}"#, &["unhealthy:", "boolean"]),
    ];
    for (body, needles) in cases {
        let res = put_fault(ctl, body).await;
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(res.headers()["x-worker"], "bad");
        let msg = json(res).await["error"].as_str().unwrap().to_string();
        assert!(msg.starts_with("fault: "), "{body}: {msg}");
        for needle in needles {
            assert!(msg.contains(needle), "{body}: {msg} lacks {needle:?}");
        }
    }
    assert_eq!(
        get_fault(ctl).await,
        before,
        "a refused fault changed the fault"
    );
    assert_eq!(before["slow_factor"], 3.0);
}

#[tokio::test]
async fn a_fault_round_trips_and_null_means_unset() {
    let (_, ctl, _) = spawn_controlled(config("rt", 4, 10.0), None).await;
    let full = r#"{"slow_factor": 5, "delay_ms": 1.5, "error_rate": 0.25,
                   "error_mode": "slow", "unhealthy": true, "hang": false}"#;
    let res = put_fault(ctl, full).await;
    assert_eq!(res.status(), 200);
    let answered = json(res).await;
    assert_eq!(answered["slow_factor"], 5.0);
    assert_eq!(answered["delay_ms"], 1.5);
    assert_eq!(answered["error_rate"], 0.25);
    assert_eq!(answered["error_mode"], "slow");
    assert_eq!(answered["unhealthy"], true);
    assert_eq!(answered["hang"], false);
    // What GET answers can be sent back as is.
    let got = get_fault(ctl).await;
    assert_eq!(got, answered);
    assert_eq!(put_fault(ctl, &got.to_string()).await.status(), 200);
    assert_eq!(get_fault(ctl).await, answered);
    // PUT replaces the whole fault: fields left out or null are unset.
    let res = put_fault(ctl, r#"{"error_rate": null, "delay_ms": 2}"#).await;
    assert_eq!(res.status(), 200);
    let got = get_fault(ctl).await;
    assert_eq!(got["delay_ms"], 2.0);
    for unset in ["slow_factor", "error_rate", "error_mode"] {
        assert_eq!(got[unset], Value::Null, "{unset}: {got}");
    }
    assert_eq!(got["unhealthy"], false);
    // DELETE clears it.
    let res = client()
        .delete(url(ctl, "/admin/fault"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(get_fault(ctl).await["delay_ms"], Value::Null);
}

#[tokio::test]
async fn echo_and_bytes_move_a_mebibyte_intact() {
    let (addr, _) = spawn_worker(config("io", 4, 10.0)).await;
    let c = client();
    let payload: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(131) ^ (i >> 9)) as u8)
        .collect();
    let res = c
        .post(url(addr, "/echo"))
        .header("content-type", "application/x-test")
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-test");
    assert_eq!(res.headers()["x-worker"], "io");
    let back = res.bytes().await.unwrap();
    assert!(back[..] == payload[..], "echo changed the body");

    let res = c.get(url(addr, "/bytes/1048576")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), Some(1 << 20));
    let got = res.bytes().await.unwrap();
    assert_eq!(got.len(), 1 << 20);
    assert!(got.iter().zip(0..).all(|(&b, i)| b == pattern_byte(i)));

    for bad in ["/bytes/67108865", "/bytes/abc", "/bytes/-1"] {
        let res = c.get(url(addr, bad)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let msg = json(res).await["error"].as_str().unwrap().to_string();
        assert!(msg.starts_with("n:"), "{bad}: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_request_in_flight_finish() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = WorkerState::new(config("grace", 1, 500.0)).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let in_flight = tokio::spawn(client().get(url(addr, "/work")).send());
    wait_until(&state, "the request in service", |s| s.in_service == 1).await;
    stop.send(()).unwrap();
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["worker"], "grace");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned after shutdown")
        .unwrap()
        .unwrap();
}

mod binary {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::process::Command;

    fn worker_cmd(args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lb-worker"));
        cmd.args(args)
            .env("RUST_LOG", "warn")
            .env_remove(lb_live::worker::TOKEN_ENV)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn fails(args: &[&str]) -> (i32, String) {
        let out = tokio::time::timeout(Duration::from_secs(10), worker_cmd(args).output())
            .await
            .expect("lb-worker exits")
            .unwrap();
        let code = out.status.code().expect("exit code");
        assert_ne!(code, 0, "lb-worker {args:?} succeeded");
        (code, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    #[tokio::test]
    async fn prints_its_address_and_serves_health() {
        let mut child = worker_cmd(&["--listen", "127.0.0.1:0", "--name", "bin-w"])
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("ready line within 10 s")
        .unwrap();
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("lb-worker bin-w listening on ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .parse()
            .unwrap();
        let res = client().get(url(addr, "/health")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(json(res).await["worker"], "bin-w");
        child.kill().await.unwrap();
    }

    type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

    /// The child's stdout, line by line.
    fn stdout_lines(child: &mut tokio::process::Child) -> Lines {
        tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines()
    }

    /// The next line, within 10 s.
    async fn next_line(lines: &mut Lines) -> String {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("a line within 10 s")
            .expect("reading stdout")
            .expect("a line before the end")
    }

    /// The address after `prefix` on the next line.
    async fn addr_after(lines: &mut Lines, prefix: &str) -> SocketAddr {
        let line = next_line(lines).await;
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}..., got {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    /// Read the two start-up lines of `child`: `lb-worker NAME listening on ADDR`, then
    /// `lb-worker NAME control on ADDR`.
    async fn ready_lines(
        child: &mut tokio::process::Child,
        name: &str,
    ) -> (SocketAddr, SocketAddr) {
        let mut lines = stdout_lines(child);
        let data = addr_after(&mut lines, &format!("lb-worker {name} listening on ")).await;
        let control = addr_after(&mut lines, &format!("lb-worker {name} control on ")).await;
        (data, control)
    }

    #[tokio::test]
    async fn the_fault_api_is_on_the_control_port_behind_the_token_from_the_environment() {
        let mut child = worker_cmd(&["--listen", "127.0.0.1:0", "--name", "ctl-w"])
            .env(lb_live::worker::TOKEN_ENV, "from-env")
            .spawn()
            .unwrap();
        let (addr, control) = ready_lines(&mut child, "ctl-w").await;
        assert!(control.ip().is_loopback(), "{control}");
        assert_ne!(addr, control);
        let c = client();
        let body = r#"{"hang": true}"#;
        let res = c
            .put(url(addr, "/admin/fault"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "the data port took a fault");
        let res = c
            .put(url(control, "/admin/fault"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let res = c.get(url(addr, "/work")).send().await.unwrap();
        assert_eq!(res.status(), 200, "a refused fault was applied");
        let res = c
            .put(url(control, "/admin/fault"))
            .bearer_auth("from-env")
            .body(r#"{"unhealthy": true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = c.get(url(addr, "/health")).send().await.unwrap();
        assert_eq!(res.status(), 503);
        child.kill().await.unwrap();
    }

    #[tokio::test]
    async fn control_off_prints_so_and_serves_no_fault_api() {
        let mut child = worker_cmd(&[
            "--listen",
            "127.0.0.1:0",
            "--name",
            "off-w",
            "--control",
            "off",
        ])
        .spawn()
        .unwrap();
        let mut lines = stdout_lines(&mut child);
        let addr = addr_after(&mut lines, "lb-worker off-w listening on ").await;
        assert_eq!(next_line(&mut lines).await, "lb-worker off-w control off");
        let res = client()
            .delete(url(addr, "/admin/fault"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        child.kill().await.unwrap();
    }

    #[tokio::test]
    async fn a_control_address_off_loopback_without_token_is_refused() {
        // Refused before anything is bound: nothing listens on 0.0.0.0 in this test.
        let (code, err) = fails(&["--listen", "127.0.0.1:0", "--control", "0.0.0.0:0"]).await;
        assert_eq!(code, 1);
        assert!(err.contains("--control 0.0.0.0:0"), "{err}");
        assert!(err.contains("not a loopback address"), "{err}");
        assert!(err.contains("--control-token"), "{err}");
        let (_, err) = fails(&["--listen", "127.0.0.1:0", "--control-token", ""]).await;
        assert!(err.contains("--control-token: must not be empty"), "{err}");
        let (_, err) = fails(&["--listen", "127.0.0.1:0", "--control", "nowhere"]).await;
        assert!(
            err.contains("--control") && err.contains("IP:PORT"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }

    #[tokio::test]
    async fn control_port_in_use_names_the_flag() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let (code, err) = fails(&["--listen", "127.0.0.1:0", "--control", &addr]).await;
        assert_eq!(code, 1);
        assert!(err.contains(&format!("--control {addr}")), "{err}");
        assert!(err.to_lowercase().contains("in use"), "{err}");
    }

    #[tokio::test]
    async fn bad_service_spec_names_the_flag() {
        let (_, err) = fails(&["--listen", "127.0.0.1:0", "--service", "lognormal:40:8"]).await;
        assert!(err.contains("--service"), "{err}");
        assert!(err.contains("p99_ms"), "{err}");
        let (_, err) = fails(&["--listen", "127.0.0.1:0", "--service", "gamma:3"]).await;
        assert!(
            err.contains("--service") && err.contains("exponential:MEAN_MS"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn port_in_use_names_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let (code, err) = fails(&["--listen", &addr]).await;
        assert_eq!(code, 1);
        assert!(err.contains(&format!("--listen {addr}")), "{err}");
        assert!(err.to_lowercase().contains("in use"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
