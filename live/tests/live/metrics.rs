//! `/metrics` of a real balancer after real traffic: the scrape holds exactly the documented
//! families ([`lb_live::balancer::metrics::FAMILIES`]) with their types and labels, the counts
//! match what the client saw, OpenMetrics is served to Prometheus, and promtool's linter finds
//! nothing to say.

use super::*;
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::metrics::{Desc, FAMILIES};
use lb_live::balancer::server::{Running, start};
use lb_live::worker::Fault;
use prometheus_client::metrics::MetricType;
use prometheus_parse::{Sample, Scrape, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

/// The `Accept` header Prometheus 2.x sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A balancer over one worker, health checks too slow to interfere (every 60 s, fall 10), a
/// 300 ms request timeout, round robin pinned.
async fn balancer(worker: SocketAddr) -> Running {
    let text = "[health]\ninterval_ms = 60000\ntimeout_ms = 100\nrise = 1\nfall = 10\n";
    let file: ConfigFile = toml::from_str(text).expect("test config");
    let flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        algorithm: Some("round_robin".into()),
        workers: vec![worker.to_string()],
        request_timeout_ms: Some(300),
        ..Overrides::default()
    };
    let settings = Settings::from_parts(file, "test", &flags).expect("valid test settings");
    start(settings, 0).await.expect("balancer starts")
}

/// An address on 127.0.0.1 where nothing listens (bound, then closed).
async fn dead_address() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr")
}

/// What the traffic should leave in the counters.
struct Traffic {
    lb: Running,
    worker: SocketAddr,
    dead: SocketAddr,
    /// Responses the client got, by status code.
    codes: BTreeMap<u16, u64>,
}

/// Start a balancer over one worker and send it 20 good requests, then one each that ends in
/// 504 (the worker hangs), 503 (it is draining) and 502 (the only other worker refuses
/// connections, and the retry finds no one else).
async fn traffic() -> Traffic {
    let (worker, state) = spawn_worker(WorkerConfig {
        name: "w".into(),
        service: lb_core::scenario::model::ServiceFile::Constant { ms: 1.0 },
        ..WorkerConfig::default()
    })
    .await;
    let lb = balancer(worker).await;
    let c = client();
    let work = format!("http://{}/work", lb.data_addr);
    let admin = |path: &str| format!("http://{}{path}", lb.admin_addr);
    let mut codes = BTreeMap::new();
    let mut get = async |want: u16| {
        let got = c
            .get(&work)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16();
        assert_eq!(got, want);
        *codes.entry(got).or_insert(0) += 1;
    };
    for _ in 0..20 {
        get(200).await;
    }
    state
        .set_fault(Fault::from_json(br#"{"hang": true}"#).expect("fault"))
        .expect("set");
    get(504).await;
    state.clear_fault();
    let drain = c.post(admin(&format!("/admin/workers/{worker}/drain")));
    assert!(drain.send().await.expect("drain").status().is_success());
    get(503).await;
    let dead = dead_address().await;
    let add = c
        .post(admin("/admin/workers"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"addr":"{dead}"}}"#));
    assert_eq!(add.send().await.expect("add").status().as_u16(), 201);
    get(502).await;
    Traffic {
        lb,
        worker,
        dead,
        codes,
    }
}

/// `GET /metrics`, with `accept` if given: content type and body.
async fn scrape(lb: &Running, accept: Option<&str>) -> (String, String) {
    let mut req = client().get(format!("http://{}/metrics", lb.admin_addr));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let r = req.send().await.expect("scrape");
    assert_eq!(r.status().as_u16(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (ct, r.text().await.expect("body"))
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses")
}

/// The families expected on this platform (`process_*` only on Linux).
fn documented() -> Vec<&'static Desc> {
    FAMILIES
        .iter()
        .copied()
        .filter(|d| cfg!(target_os = "linux") || !d.name.starts_with("process_"))
        .collect()
}

/// The documented family a sample belongs to (a histogram's `_sum` and `_count` included).
fn family_of(metric: &str) -> Option<&'static Desc> {
    FAMILIES.iter().copied().find(|d| {
        metric == d.name
            || (d.kind == MetricType::Histogram
                && [format!("{}_sum", d.name), format!("{}_count", d.name)]
                    .contains(&metric.to_string()))
    })
}

fn number(s: &Sample) -> f64 {
    match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(b) => b.last().map_or(f64::NAN, |b| b.count),
        v => panic!("{}: {v:?}", s.metric),
    }
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let s = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .unwrap_or_else(|| panic!("no sample {metric} {labels:?}"));
    number(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_holds_exactly_the_documented_families_with_their_types_and_labels() {
    let t = traffic().await;
    let (content_type, text) = scrape(&t.lb, None).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let scrape = parse(&text);

    let want: BTreeSet<&str> = documented().iter().map(|d| d.name).collect();
    let got: BTreeSet<&str> = scrape.docs.keys().map(String::as_str).collect();
    assert_eq!(
        got.difference(&want).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "scraped but not in FAMILIES"
    );
    assert_eq!(
        want.difference(&got).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "in FAMILIES but not scraped"
    );
    for d in documented() {
        assert_eq!(scrape.docs[d.name], d.help, "help of {}", d.name);
        assert!(
            scrape.samples.iter().any(|s| s.metric == d.name),
            "no sample of {} after traffic",
            d.name
        );
    }
    for s in &scrape.samples {
        let d = family_of(&s.metric).unwrap_or_else(|| panic!("{} is in no family", s.metric));
        let labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = d.labels.iter().copied().collect();
        assert_eq!(labels, want, "labels of {}", s.metric);
        if s.metric == d.name {
            let type_ok = match d.kind {
                MetricType::Counter => matches!(s.value, Value::Counter(_)),
                MetricType::Gauge | MetricType::Info => matches!(s.value, Value::Gauge(_)),
                MetricType::Histogram => matches!(s.value, Value::Histogram(_)),
                MetricType::Unknown => false,
            };
            assert!(type_ok, "{} is not a {:?}: {:?}", s.metric, d.kind, s.value);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_match_what_the_client_saw() {
    let t = traffic().await;
    let (_, text) = scrape(&t.lb, None).await;
    let scrape = parse(&text);
    let total: u64 = t.codes.values().sum();
    assert_eq!(total, 23);

    for (code, n) in &t.codes {
        let code = code.to_string();
        let got = value(&scrape, "lb_responses_total", &[("code", &code)]);
        assert_eq!(got, *n as f64, "code {code}");
    }
    let coded = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "lb_responses_total")
        .count();
    assert_eq!(coded, t.codes.len(), "codes the client never saw");
    assert_eq!(value(&scrape, "lb_requests_total", &[]), total as f64);
    let duration = value(&scrape, "lb_request_duration_seconds_count", &[]);
    assert_eq!(duration, total as f64);
    for (reason, n) in [("no_worker", 1.0), ("timeout", 1.0), ("bad_gateway", 1.0)] {
        let got = value(&scrape, "lb_proxy_responses_total", &[("reason", reason)]);
        assert_eq!(got, n, "{reason}");
    }
    assert_eq!(value(&scrape, "lb_retries_total", &[]), 1.0);

    let (w, dead) = (t.worker.to_string(), t.dead.to_string());
    let of = |metric: &str, worker: &str| value(&scrape, metric, &[("worker", worker)]);
    // 20 answered and one timed out; the dead worker refused its one request.
    assert_eq!(of("lb_worker_requests_total", &w), 21.0);
    assert_eq!(of("lb_worker_errors_total", &w), 1.0);
    assert_eq!(of("lb_worker_request_duration_seconds", &w), 21.0);
    assert_eq!(of("lb_worker_requests_total", &dead), 1.0);
    assert_eq!(of("lb_worker_errors_total", &dead), 1.0);
    assert_eq!(of("lb_worker_draining", &w), 1.0);
    assert_eq!(of("lb_worker_available", &w), 0.0);
    assert_eq!(of("lb_worker_available", &dead), 1.0);
    assert_eq!(of("lb_worker_in_flight", &w), 0.0);
    let algorithm = |a: &str| value(&scrape, "lb_algorithm", &[("algorithm", a)]);
    assert_eq!(algorithm("round_robin"), 1.0);
    assert_eq!(algorithm("least_connections"), 0.0);
    assert_eq!(value(&scrape, "lb_mode", &[("mode", "manual")]), 1.0);
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(value(&scrape, "lb_build_info", &version), 1.0);
    // Two per request at least (pick and response; the 503 takes one).
    assert!(value(&scrape, "lb_state_lock_acquired_total", &[]) >= 2.0 * 22.0 + 1.0);
    if cfg!(target_os = "linux") {
        assert!(value(&scrape, "process_open_fds", &[]) >= 3.0);
        let max = value(&scrape, "process_max_fds", &[]);
        assert!(max >= value(&scrape, "process_open_fds", &[]));
        assert!(value(&scrape, "process_resident_memory_bytes", &[]) > 0.0);
        assert!(value(&scrape, "process_start_time_seconds", &[]) > 1e9);
        assert!(value(&scrape, "process_cpu_seconds_total", &[]) >= 0.0);
    }
    t.lb.shutdown().await;
}

/// Prometheus asks for OpenMetrics and gets it: every documented family under its OpenMetrics
/// name (counters without `_total`, the info family without `_info`), `# UNIT` where the name
/// has a unit, and `# EOF` at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_gets_open_metrics() {
    let t = traffic().await;
    let (content_type, text) = scrape(&t.lb, Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);
    let types: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    let units: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# UNIT "))
        .collect();
    let mut want_types = BTreeSet::new();
    let mut want_units = BTreeSet::new();
    for d in documented() {
        let (base, unit) = d.parts();
        let name = match unit {
            Some(u) => format!("{base}_{}", u.as_str()),
            None => base.to_string(),
        };
        want_types.insert(format!("{name} {}", d.kind.as_str()));
        if let Some(u) = unit {
            want_units.insert(format!("{name} {}", u.as_str()));
        }
    }
    let want_types: BTreeSet<&str> = want_types.iter().map(String::as_str).collect();
    let want_units: BTreeSet<&str> = want_units.iter().map(String::as_str).collect();
    assert_eq!(types, want_types);
    assert_eq!(units, want_units);
    assert!(text.contains("\nlb_requests_total 23\n"), "{text}");
    assert!(
        text.contains("\nlb_responses_total{code=\"200\"} 20\n"),
        "{text}"
    );
    t.lb.shutdown().await;
}

/// How to reach promtool: `None` (after saying so) when it is not installed and this is not
/// CI; in CI (`CI` set) a missing promtool fails the test.
fn promtool() -> Option<Command> {
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => Some(Command::new("promtool")),
        other => {
            let why = match other {
                Ok(out) => format!("`promtool --version` exited with {}", out.status),
                Err(e) => format!("cannot run promtool: {e}"),
            };
            let fix = "install Debian's prometheus package (apt-get install -y --no-install-recommends prometheus), as .ci/run does";
            if std::env::var_os("CI").is_some() {
                panic!("{why}; CI must lint /metrics with promtool: {fix}");
            }
            eprintln!("skipping the promtool check: {why}; to run it, {fix}");
            None
        }
    }
}

/// `promtool check metrics`, Prometheus' own parser and linter (names, `_total` on counters
/// only, base units, help on every family), on a scrape after traffic of every kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_nothing_to_complain_about() {
    let Some(mut promtool) = promtool() else {
        return;
    };
    let t = traffic().await;
    let (_, text) = scrape(&t.lb, None).await;
    t.lb.shutdown().await;
    let out = tokio::task::spawn_blocking(move || {
        let mut child = promtool
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promtool");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write the scrape to promtool");
        child.wait_with_output().expect("promtool finishes")
    })
    .await
    .expect("task");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics ({}):\n{said}",
        out.status
    );
}
