//! Lock-free counters for `/metrics`: per worker (requests, errors, a latency histogram) and
//! for the proxy itself (requests, 502/503/504 answers, retries). Recorded by the proxy outside
//! the core lock; rendered in the Prometheus text exposition format by [`render`].
//!
//! # What `/metrics` shows
//!
//! Counters come from the atomics here; gauges (in flight, healthy, available, ejected,
//! draining, the active algorithm and mode) are read from [`Shared::status`] at scrape time, so
//! a scrape costs one short hold of the core lock. The algorithm and the mode are one sample
//! per possible value, 1 for the active one and 0 for the others
//! (`lb_algorithm{algorithm="peak_ewma"} 1`), so a switch shows as a step in a graph and
//! `lb_algorithm == 1` picks the current one.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `lb_requests_total` | counter | |
//! | `lb_proxy_responses_total` | counter | `reason`: `no_worker` (503), `timeout` (504), `bad_gateway` (502) |
//! | `lb_retries_total` | counter | |
//! | `lb_state_lock_acquired_total`, `lb_state_lock_contended_total` | counter | |
//! | `lb_worker_requests_total`, `lb_worker_errors_total` | counter | `worker` |
//! | `lb_worker_request_duration_seconds` | histogram ([`BUCKETS_S`]) | `worker` |
//! | `lb_worker_in_flight`, `lb_worker_healthy`, `lb_worker_available`, `lb_worker_ejected`, `lb_worker_draining` | gauge | `worker` |
//! | `lb_algorithm` | gauge | `algorithm` |
//! | `lb_mode` | gauge | `mode` |
//! | `lb_switches_total`, `lb_ejections_total` | counter | |
//!
//! The `worker` label is the worker's address (`worker="127.0.0.1:9001"`). The text follows
//! the exposition format 0.0.4: `# HELP` and `# TYPE` once per family before its samples,
//! label values escaped (`\\`, `\"`, `\n`), histogram buckets cumulative and ending with
//! `le="+Inf"` equal to `_count`.

use super::state::{Shared, WorkerStatus};
use lb_core::Algorithm;
use lb_core::engine::Mode;
use lb_core::time::Duration;
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram buckets, in seconds (`+Inf` is implicit).
pub const BUCKETS_S: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One worker's counters.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    /// Responses (any outcome).
    pub requests: AtomicU64,
    /// Failed responses (5xx, refused, timeout).
    pub errors: AtomicU64,
    /// Non-cumulative bucket counts; index `BUCKETS_S.len()` is the `+Inf` overflow.
    buckets: [AtomicU64; BUCKETS_S.len() + 1],
    /// Sum of latencies, nanoseconds.
    sum_ns: AtomicU64,
}

impl WorkerMetrics {
    /// Count one response of `latency`.
    #[inline]
    pub fn record(&self, latency: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let s = latency.as_secs_f64();
        let i = BUCKETS_S
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(BUCKETS_S.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(latency.as_nanos(), Ordering::Relaxed);
    }

    /// Cumulative bucket counts (one per bound, then `+Inf`), the sum in seconds and the count.
    pub fn histogram(&self) -> (Vec<u64>, f64, u64) {
        let mut acc = 0;
        let cumulative: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Ordering::Relaxed);
                acc
            })
            .collect();
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (cumulative, sum, acc)
    }
}

/// Counters of the proxy itself. (Requests received and lock takes are counted per shard,
/// under the shard's lock, so that no counter is shared by every request: see
/// `Shared::shard_totals`.)
#[derive(Debug, Default)]
pub struct ProxyMetrics {
    /// Answered 503: no worker available.
    pub no_worker: AtomicU64,
    /// Answered 504: the worker did not answer in time.
    pub timeouts: AtomicU64,
    /// Answered 502: the worker failed (refused, reset, bad response).
    pub bad_gateway: AtomicU64,
    /// Connection failures retried on another worker.
    pub retries: AtomicU64,
    /// Times a request found its shard's lock taken and had to wait for it.
    pub lock_contended: AtomicU64,
}

/// The Prometheus text exposition (format 0.0.4) of everything `shared` counts; see the
/// [module docs](self) for the families.
pub fn render(shared: &Shared) -> String {
    let mut out = Exposition::default();
    // Writing into a `String` cannot fail.
    let _ = write_all(shared, &mut out);
    out.text
}

fn write_all(shared: &Shared, out: &mut Exposition) -> fmt::Result {
    let p = &shared.proxy;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // The worker table and the status are two snapshots: a worker added or removed between
    // them has counters but no gauges in this scrape, never a wrong gauge.
    let entries = shared.workers();
    let status = shared.status();
    let workers: Vec<(String, &WorkerMetrics, Option<&WorkerStatus>)> = entries
        .iter()
        .map(|e| {
            let addr = e.addr.to_string();
            let st = status.workers.iter().find(|w| w.addr == addr);
            (addr, &*e.metrics, st)
        })
        .collect();

    out.family(
        "lb_requests_total",
        "Requests received on the proxy port.",
        "counter",
    )?;
    let (requests, locks) = shared.shard_totals();
    out.sample("lb_requests_total", &[], requests)?;
    out.family(
        "lb_proxy_responses_total",
        "Answers made by the balancer itself: no_worker (503), timeout (504), bad_gateway (502).",
        "counter",
    )?;
    for (reason, c) in [
        ("no_worker", &p.no_worker),
        ("timeout", &p.timeouts),
        ("bad_gateway", &p.bad_gateway),
    ] {
        out.sample("lb_proxy_responses_total", &[("reason", reason)], load(c))?;
    }
    out.family(
        "lb_retries_total",
        "Connection failures retried on another worker.",
        "counter",
    )?;
    out.sample("lb_retries_total", &[], load(&p.retries))?;
    out.family(
        "lb_state_lock_acquired_total",
        "Times the core balancer state's lock was taken (twice per proxied request).",
        "counter",
    )?;
    out.sample("lb_state_lock_acquired_total", &[], locks)?;
    out.family(
        "lb_state_lock_contended_total",
        "Times the core state's lock was already held and the taker had to wait.",
        "counter",
    )?;
    out.sample(
        "lb_state_lock_contended_total",
        &[],
        load(&p.lock_contended),
    )?;

    out.family(
        "lb_worker_requests_total",
        "Responses from each worker (any outcome).",
        "counter",
    )?;
    for (addr, m, _) in &workers {
        out.sample(
            "lb_worker_requests_total",
            &[("worker", addr)],
            load(&m.requests),
        )?;
    }
    out.family(
        "lb_worker_errors_total",
        "Failed responses from each worker (5xx, refused, timeout).",
        "counter",
    )?;
    for (addr, m, _) in &workers {
        out.sample(
            "lb_worker_errors_total",
            &[("worker", addr)],
            load(&m.errors),
        )?;
    }
    let h = "lb_worker_request_duration_seconds";
    out.family(
        h,
        "Latency of each worker's responses, seconds.",
        "histogram",
    )?;
    for (addr, m, _) in &workers {
        let (cumulative, sum, count) = m.histogram();
        let bounds = BUCKETS_S.iter().map(|b| b.to_string());
        for (le, n) in bounds.chain(["+Inf".to_string()]).zip(&cumulative) {
            out.sample(&format!("{h}_bucket"), &[("worker", addr), ("le", &le)], *n)?;
        }
        out.sample(&format!("{h}_sum"), &[("worker", addr)], F64(sum))?;
        out.sample(&format!("{h}_count"), &[("worker", addr)], count)?;
    }

    type Gauge = fn(&WorkerStatus) -> u64;
    let gauges: [(&str, &str, Gauge); 5] = [
        (
            "lb_worker_in_flight",
            "Requests in flight to each worker.",
            |w| u64::from(w.in_flight),
        ),
        (
            "lb_worker_healthy",
            "1 if the active health check says the worker is up.",
            |w| u64::from(w.healthy),
        ),
        (
            "lb_worker_available",
            "1 if the worker takes new requests (healthy, not ejected, not draining).",
            |w| u64::from(w.available),
        ),
        (
            "lb_worker_ejected",
            "1 if outlier detection has ejected the worker.",
            |w| u64::from(w.ejected),
        ),
        (
            "lb_worker_draining",
            "1 if the worker is draining (no new requests).",
            |w| u64::from(w.draining),
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, help, "gauge")?;
        for (addr, _, st) in &workers {
            if let Some(st) = st {
                out.sample(name, &[("worker", addr)], value(st))?;
            }
        }
    }

    out.family(
        "lb_algorithm",
        "1 for the balancing algorithm in use, 0 for the others.",
        "gauge",
    )?;
    for a in Algorithm::ALL {
        let active = u64::from(a.name() == status.algorithm);
        out.sample("lb_algorithm", &[("algorithm", a.name())], active)?;
    }
    out.family(
        "lb_mode",
        "1 for the engine's mode (adaptive: it switches; manual: an operator pinned the algorithm).",
        "gauge",
    )?;
    for m in [Mode::Adaptive, Mode::Manual] {
        let active = u64::from(m.name() == status.mode);
        out.sample("lb_mode", &[("mode", m.name())], active)?;
    }
    out.family(
        "lb_switches_total",
        "Algorithm switches (engine and operator).",
        "counter",
    )?;
    out.sample("lb_switches_total", &[], status.switches as u64)?;
    out.family(
        "lb_ejections_total",
        "Workers ejected by outlier detection.",
        "counter",
    )?;
    out.sample("lb_ejections_total", &[], status.ejections)?;
    Ok(())
}

/// A sample value as the exposition format spells it (`+Inf`, `-Inf`, `NaN` for the special
/// floats; Rust's `Display` for the rest, which never uses an exponent).
struct F64(f64);

impl fmt::Display for F64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

/// The text being built.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// `# HELP` and `# TYPE` of a family; call once, before its samples.
    fn family(&mut self, name: &str, help: &str, kind: &str) -> fmt::Result {
        self.text.push_str("# HELP ");
        self.text.push_str(name);
        self.text.push(' ');
        escape_help(help, &mut self.text);
        writeln!(self.text, "\n# TYPE {name} {kind}")
    }

    /// One sample line: `name{label="value",...} value`.
    fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl fmt::Display,
    ) -> fmt::Result {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(k);
                self.text.push_str("=\"");
                escape_label_value(v, &mut self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        writeln!(self.text, " {value}")
    }
}

/// Append `value` escaped as a label value: backslash, double quote and newline become `\\`,
/// `\"` and `\n`.
fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Append `help` escaped as `# HELP` text: backslash and newline become `\\` and `\n`.
fn escape_help(help: &str, out: &mut String) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::BalancerConfig;
    use lb_core::engine::EngineConfig;
    use prometheus_parse::{Sample, Scrape, Value};
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::Arc;

    const W1: &str = "127.0.0.1:9001";
    const W2: &str = "127.0.0.1:9002";

    fn shared() -> Arc<Shared> {
        let addrs: Vec<(SocketAddr, u32)> = [W1, W2]
            .iter()
            .map(|a| (a.parse().expect("test address"), 1))
            .collect();
        Shared::new(
            BalancerConfig::new(Algorithm::RoundRobin),
            EngineConfig::default(),
            false,
            &addrs,
            1,
        )
        .expect("valid workers")
    }

    fn metrics_of(shared: &Shared, addr: &str) -> Arc<WorkerMetrics> {
        let e = shared
            .workers()
            .into_iter()
            .find(|w| w.addr.to_string() == addr);
        Arc::clone(&e.expect("worker in pool").metrics)
    }

    fn parse(text: &str) -> Scrape {
        Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("valid exposition")
    }

    fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("no sample {metric} {labels:?}"))
    }

    fn number(s: &Sample) -> f64 {
        match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            ref v => panic!("{} is not a number: {v:?}", s.metric),
        }
    }

    #[test]
    fn render_reads_back_counters_histograms_and_gauges() {
        let shared = shared();
        let m1 = metrics_of(&shared, W1);
        m1.record(Duration::from_micros(500), true); // <= 1 ms
        m1.record(Duration::from_millis(20), true); // <= 25 ms
        m1.record(Duration::from_millis(20), false);
        m1.record(Duration::from_secs(30), false); // only in +Inf
        for _ in 0..7 {
            if let Some(p) = shared.pick(0) {
                shared.on_cancel(&p);
            }
        }
        shared.proxy.timeouts.fetch_add(2, Ordering::Relaxed);
        shared.proxy.retries.fetch_add(1, Ordering::Relaxed);
        shared.set_algorithm(Algorithm::LeastConnections);
        shared
            .set_draining(W2.parse().expect("addr"), true)
            .expect("known worker");

        let text = render(&shared);
        let scrape = parse(&text);

        assert_eq!(number(find(&scrape, "lb_requests_total", &[])), 7.0);
        let resp = |r| number(find(&scrape, "lb_proxy_responses_total", &[("reason", r)]));
        assert_eq!(
            (resp("no_worker"), resp("timeout"), resp("bad_gateway")),
            (0.0, 2.0, 0.0)
        );
        assert_eq!(number(find(&scrape, "lb_retries_total", &[])), 1.0);
        let w1 = [("worker", W1)];
        assert_eq!(number(find(&scrape, "lb_worker_requests_total", &w1)), 4.0);
        assert_eq!(number(find(&scrape, "lb_worker_errors_total", &w1)), 2.0);
        assert!(matches!(
            find(&scrape, "lb_worker_requests_total", &w1).value,
            Value::Counter(_)
        ));

        let Value::Histogram(buckets) =
            &find(&scrape, "lb_worker_request_duration_seconds", &w1).value
        else {
            panic!("not a histogram")
        };
        assert_eq!(buckets.len(), BUCKETS_S.len() + 1);
        for (b, bound) in buckets.iter().zip(BUCKETS_S) {
            assert_eq!(b.less_than, bound);
        }
        let counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
        assert!(
            counts.windows(2).all(|w| w[0] <= w[1]),
            "cumulative: {counts:?}"
        );
        let at = |le: f64| buckets.iter().find(|b| b.less_than == le).map(|b| b.count);
        assert_eq!(at(0.001), Some(1.0));
        assert_eq!(at(0.01), Some(1.0));
        assert_eq!(at(0.025), Some(3.0));
        assert_eq!(at(10.0), Some(3.0));
        let last = buckets.last().expect("buckets");
        assert_eq!(last.less_than, f64::INFINITY);
        let count = number(find(
            &scrape,
            "lb_worker_request_duration_seconds_count",
            &w1,
        ));
        assert_eq!((last.count, count), (4.0, 4.0));
        let sum = number(find(&scrape, "lb_worker_request_duration_seconds_sum", &w1));
        assert!((sum - 30.0405).abs() < 1e-9, "sum {sum}");
        assert!(text.contains(&format!(
            "lb_worker_request_duration_seconds_bucket{{worker=\"{W2}\",le=\"+Inf\"}} 0\n"
        )));

        let w2 = [("worker", W2)];
        assert_eq!(number(find(&scrape, "lb_worker_healthy", &w2)), 1.0);
        assert_eq!(number(find(&scrape, "lb_worker_draining", &w2)), 1.0);
        assert_eq!(number(find(&scrape, "lb_worker_available", &w2)), 0.0);
        assert_eq!(number(find(&scrape, "lb_worker_available", &w1)), 1.0);
        assert_eq!(number(find(&scrape, "lb_worker_ejected", &w1)), 0.0);
        assert_eq!(number(find(&scrape, "lb_worker_in_flight", &w1)), 0.0);

        for a in Algorithm::ALL {
            let v = number(find(&scrape, "lb_algorithm", &[("algorithm", a.name())]));
            let want = if a == Algorithm::LeastConnections {
                1.0
            } else {
                0.0
            };
            assert_eq!(v, want, "{a}");
        }
        assert_eq!(number(find(&scrape, "lb_mode", &[("mode", "manual")])), 1.0);
        assert_eq!(
            number(find(&scrape, "lb_mode", &[("mode", "adaptive")])),
            0.0
        );
        assert_eq!(number(find(&scrape, "lb_switches_total", &[])), 1.0);
        assert_eq!(number(find(&scrape, "lb_ejections_total", &[])), 0.0);
    }

    /// prometheus-parse is lenient, so check the layout rules it does not: every family has
    /// exactly one HELP then one TYPE, before its samples, and its samples are contiguous;
    /// counters end in `_total`.
    #[test]
    fn each_family_has_one_help_and_type_before_contiguous_samples() {
        let shared = shared();
        metrics_of(&shared, W1).record(Duration::from_millis(3), true);
        let text = render(&shared);
        assert!(text.ends_with('\n'));
        let mut seen = HashSet::new();
        let mut current: Option<(String, String)> = None; // (family, type)
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().expect("name").to_string();
                assert!(seen.insert(name.clone()), "family {name} twice");
                let ty = lines.next().expect("TYPE after HELP");
                let kind = ty
                    .strip_prefix(&format!("# TYPE {name} "))
                    .unwrap_or_else(|| panic!("expected TYPE of {name}, got {ty}"));
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{kind}");
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "{name}");
                }
                current = Some((name, kind.to_string()));
            } else {
                let (family, kind) = current.as_ref().expect("sample before any HELP");
                let metric = line.split(['{', ' ']).next().expect("metric");
                let ok = if kind == "histogram" {
                    ["_bucket", "_sum", "_count"]
                        .map(|s| format!("{family}{s}"))
                        .contains(&metric.to_string())
                } else {
                    metric == family
                };
                assert!(ok, "{metric} under family {family}");
            }
        }
        for f in [
            "lb_requests_total",
            "lb_proxy_responses_total",
            "lb_retries_total",
            "lb_state_lock_acquired_total",
            "lb_state_lock_contended_total",
            "lb_worker_requests_total",
            "lb_worker_errors_total",
            "lb_worker_request_duration_seconds",
            "lb_worker_in_flight",
            "lb_worker_healthy",
            "lb_worker_available",
            "lb_worker_ejected",
            "lb_algorithm",
            "lb_mode",
            "lb_switches_total",
            "lb_ejections_total",
        ] {
            assert!(seen.contains(f), "missing family {f}");
        }
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut out = String::new();
        escape_label_value("a\\b\"c\nd:9001", &mut out);
        assert_eq!(out, r#"a\\b\"c\nd:9001"#);

        let mut e = Exposition::default();
        e.family("x_total", "Help with a \\ and a\nnewline.", "counter")
            .expect("write");
        e.sample("x_total", &[("worker", "say \"hi\"\n"), ("k", "v")], 3)
            .expect("write");
        assert_eq!(
            e.text,
            "# HELP x_total Help with a \\\\ and a\\nnewline.\n\
             # TYPE x_total counter\n\
             x_total{worker=\"say \\\"hi\\\"\\n\",k=\"v\"} 3\n"
        );
    }

    #[test]
    fn special_floats_use_the_exposition_spelling() {
        assert_eq!(F64(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(F64(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(F64(f64::NAN).to_string(), "NaN");
        assert_eq!(F64(0.0025).to_string(), "0.0025");
        assert_eq!(F64(1e-9).to_string(), "0.000000001");
    }
}
