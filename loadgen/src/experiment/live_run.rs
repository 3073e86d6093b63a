//! One algorithm on one scenario, live: fresh worker processes, a balancer, the arrival
//! schedule sent open loop through it, the fault timeline applied on time, and the engine's
//! algorithm sampled once a second.

use super::error::ExperimentError;
use super::faults::apply_timeline;
use crate::client::HttpClient;
use crate::open_loop::{self, Answered, Drive, RunStats, Sending, Sink};
use crate::record::Recorder;
use crate::report::{summary_row, timeseries_rows};
use crate::target::Target;
use crate::worker_process::WorkerPool;
use bytes::Bytes;
use hyper::header::HeaderName;
use indicatif::ProgressBar;
use lb_core::Strategy;
use lb_core::scenario::Scenario;
use lb_live::balancer::config::{ListenSettings, Settings};
use lb_live::balancer::health::HealthSettings;
use lb_live::balancer::server;
use lb_report::{DecisionRow, SummaryRow, TimeseriesRow, WorkerRow};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The response header naming the worker that served (the worker's address).
const WORKER_HEADER: &str = "x-lb-worker";

/// The request timeout when the scenario sets none: an hour, i.e. never in practice.
const NO_TIMEOUT: Duration = Duration::from_secs(3600);

/// Most requests the generator keeps outstanding.
const MAX_IN_FLIGHT: usize = 20_000;

/// The results of one live run, as CSV rows.
#[derive(Debug)]
pub struct LiveRun {
    /// `summary.csv` row.
    pub summary: SummaryRow,
    /// `timeseries.csv` rows.
    pub timeseries: Vec<TimeseriesRow>,
    /// `workers.csv` rows, in scenario order.
    pub workers: Vec<WorkerRow>,
    /// `decisions.csv` rows.
    pub decisions: Vec<DecisionRow>,
    /// What the generator did (sent, late).
    pub sending: Sending,
    /// Requests per second asked for (the schedule's mean rate).
    pub asked_rate: f64,
    /// Faults that could not be applied.
    pub warnings: Vec<String>,
}

fn std_duration(d: lb_core::time::Duration) -> Duration {
    Duration::from_nanos(d.as_nanos())
}

/// The balancer settings for `scenario` under `strategy`, with `workers` in scenario order:
/// listeners on free ports of 127.0.0.1, the scenario's shards, health checks, ejection,
/// timeout and engine.
pub fn settings(scenario: &Scenario, strategy: Strategy, workers: &[SocketAddr]) -> Settings {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let (interval, timeout) = match scenario.balancer.health {
        Some(h) => (std_duration(h.interval), std_duration(h.timeout)),
        // No active checks: one probe at start, then none for a day.
        None => (Duration::from_secs(86_400), Duration::from_secs(1)),
    };
    let request_timeout = scenario.balancer.timeout.map_or(NO_TIMEOUT, std_duration);
    Settings {
        listen: any,
        admin: any,
        strategy,
        workers: workers.iter().copied().zip(scenario.weights()).collect(),
        token: None,
        connect_timeout: Duration::from_secs(1),
        request_timeout,
        // One try per request, as in the simulator: a timeout is never retried.
        per_try_timeout: request_timeout,
        limits: ListenSettings::default(),
        drain_timeout: Duration::from_secs(5),
        health: HealthSettings {
            interval,
            timeout,
            path: "/health".into(),
        },
        balancer: scenario.balancer_config(strategy),
        engine: scenario.engine.clone(),
        shards: scenario.balancer.shards,
        peer: None,
        overload: scenario.balancer.overload,
    }
}

/// Per-worker totals of the measured requests.
#[derive(Debug, Clone, Default)]
struct Totals {
    requests: u64,
    errors: u64,
    latency_sum_us: u128,
}

/// Every answer into the time series (bucketed by when it completed); those due after the warm-up also into the summary and
/// the per-worker totals. The worker is found by the `x-lb-worker` address or, for the
/// balancer's own 502 and 504 answers (which name the worker in their one-line body, `504
/// worker ADDR did not answer ...`), by that address; a 503 for want of a worker counts for
/// none, as in the simulator.
#[derive(Debug)]
struct Collect {
    warmup: Duration,
    all: Recorder,
    measured: Recorder,
    index: HashMap<String, usize>,
    workers: Vec<Totals>,
}

impl Sink for Collect {
    fn take(&mut self, a: Answered) {
        // The time series buckets by completion, as the simulator's does.
        self.all
            .record_at(a.due + a.latency, a.due, a.latency, a.answer);
        if a.due < self.warmup {
            return;
        }
        self.measured.record(a.due, a.latency, a.answer);
        let named = a
            .header
            .or_else(|| a.error_body.as_deref().and_then(worker_named));
        if let Some(w) = named.and_then(|h| self.index.get(&h).copied()) {
            let t = &mut self.workers[w];
            t.requests += 1;
            t.errors += u64::from(!a.answer.is_ok());
            t.latency_sum_us += a.latency.as_micros();
        }
    }
}

/// The address after `worker ` in a balancer's error body.
fn worker_named(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, rest) = text.split_once("worker ")?;
    rest.split_whitespace()
        .next()
        .map(|a| a.trim_end_matches(':').to_string())
}

/// Run `scenario` with `strategy`: `due` are its arrival offsets (from [`super::due_times`]).
pub async fn run(
    scenario: &Scenario,
    strategy: Strategy,
    seed: u64,
    due: &[Duration],
    progress: ProgressBar,
    verbose: bool,
) -> Result<LiveRun, ExperimentError> {
    let length = std_duration(super::live_length(scenario)?);
    let warmup = std_duration(scenario.warmup);
    let mut pool = WorkerPool::start(&scenario.workers, seed).await?;
    let addrs = pool.addrs();
    let running = server::start(settings(scenario, strategy, &addrs), 0).await?;
    let shared = Arc::clone(&running.shared);
    if verbose {
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        eprintln!(
            "lb-loadgen: workers on {}; balancer on {} (admin {})",
            list.join(", "),
            running.data_addr,
            running.admin_addr
        );
    }
    let target = Arc::new(Target::new(
        &format!("http://{}/work", running.data_addr),
        "GET",
        Bytes::new(),
        &[],
    )?);
    let client_timeout =
        scenario.balancer.timeout.map_or(NO_TIMEOUT, std_duration) + Duration::from_secs(5);

    // Time zero of the run; the balancer's clock started a little earlier.
    let start = Instant::now();
    let offset_s = shared.now().as_secs_f64();
    let samples: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let sampler = {
        let (shared, samples) = (Arc::clone(&shared), Arc::clone(&samples));
        tokio::spawn(async move {
            for k in 1u64.. {
                tokio::time::sleep_until(start + Duration::from_secs(k)).await;
                let name = shared.algorithm().name();
                samples.lock().unwrap_or_else(|p| p.into_inner()).push(name);
            }
        })
    };
    let collect = Collect {
        warmup,
        all: Recorder::default(),
        measured: Recorder::default(),
        index: addrs
            .iter()
            .enumerate()
            .map(|(i, a)| (a.to_string(), i))
            .collect(),
        workers: vec![Totals::default(); addrs.len()],
    };
    let drive = Drive {
        start,
        until: length,
        max_in_flight: MAX_IN_FLIGHT,
        read_header: Some(HeaderName::from_static(WORKER_HEADER)),
    };
    let ((collect, sending), warnings) = tokio::join!(
        open_loop::drive(
            HttpClient::new(client_timeout),
            target,
            due.iter().copied(),
            drive,
            collect,
            progress,
        ),
        apply_timeline(&mut pool, &scenario.faults, start),
    );
    sampler.abort();
    let final_algorithm = shared.algorithm().name();
    let decisions = shared.decisions();
    running.shutdown().await;
    drop(pool);

    let name = scenario.name.as_str();
    let alg = strategy.name();
    let span = length.saturating_sub(warmup);
    let measured = RunStats {
        recorder: collect.measured,
        sent: sending.sent,
        late: sending.late,
        max_lateness: sending.max_lateness,
        elapsed: span,
        target_rate: None,
    };
    let summary = SummaryRow {
        seed,
        switches: decisions.len() as u64,
        ..summary_row(&measured, name, alg)
    };
    let all = RunStats {
        recorder: collect.all,
        ..measured
    };
    let samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let timeseries = timeseries_rows(&all, name, alg)
        .into_iter()
        .map(|r| TimeseriesRow {
            seed,
            active_algorithm: samples
                .get(r.t_s as usize)
                .copied()
                .unwrap_or(final_algorithm)
                .to_string(),
            ..r
        })
        .collect();
    let totals: Vec<lb_report::schema::WorkerTotals> = collect
        .workers
        .iter()
        .map(|w| lb_report::schema::WorkerTotals {
            requests: w.requests,
            errors: w.errors,
            latency_sum_ms: w.latency_sum_us as f64 / 1e3,
        })
        .collect();
    let workers = WorkerRow::from_totals(name, alg, seed, &totals);
    let decisions = decisions
        .into_iter()
        .map(|d| DecisionRow {
            scenario: name.into(),
            algorithm: alg.into(),
            seed,
            t_s: (d.t_s - offset_s).max(0.0),
            from: d.from,
            to: d.to,
            condition: d.condition,
            worker: d.worker.unwrap_or_default(),
            value: DecisionRow::number(d.value),
            threshold: DecisionRow::number(d.threshold),
            forecast: d.forecast,
            detail: d.detail,
        })
        .collect();
    Ok(LiveRun {
        summary,
        timeseries,
        workers,
        decisions,
        sending,
        asked_rate: due.len() as f64 / length.as_secs_f64().max(1e-9),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balancer_gets_the_scenarios_settings_and_shards() {
        let text = "duration_s = 5\n[arrivals]\nrate = 10\n[balancer]\ntimeout_ms = 250\n\
                    [balancer.health]\ninterval_ms = 200\ntimeout_ms = 50\nrise = 1\nfall = 4\n\
                    [engine]\nwindow_s = 7\n[[workers]]\ncount = 2\nweight = 3\n\
                    service = { distribution = \"constant\", ms = 10 }\n";
        let sc = Scenario::from_toml_str(text, "t.toml").expect("scenario");
        let addrs: Vec<SocketAddr> = vec![
            "127.0.0.1:7001".parse().expect("addr"),
            "127.0.0.1:7002".parse().expect("addr"),
        ];
        let s = settings(&sc, Strategy::Adaptive, &addrs);
        assert_eq!(s.workers, vec![(addrs[0], 3), (addrs[1], 3)]);
        assert_eq!((s.listen.port(), s.admin.port(), s.shards), (0, 0, 1));
        assert_eq!(s.request_timeout, Duration::from_millis(250));
        assert_eq!(s.health.interval, Duration::from_millis(200));
        assert_eq!(s.health.timeout, Duration::from_millis(50));
        assert_eq!((s.balancer.active.rise, s.balancer.active.fall), (1, 4));
        assert_eq!(s.engine.window, lb_core::time::Duration::from_secs(7));
        assert_eq!(s.balancer.algorithm, sc.engine.baseline);
    }

    #[test]
    fn the_balancers_error_bodies_name_the_worker() {
        for body in [
            "504 worker 127.0.0.1:4000 did not answer within 1000 ms",
            "502 cannot connect to worker 127.0.0.1:4000",
            "502 worker 127.0.0.1:4000 failed: connection reset",
        ] {
            assert_eq!(
                worker_named(body.as_bytes()).as_deref(),
                Some("127.0.0.1:4000"),
                "{body}"
            );
        }
        // A 503 names no address: the lookup by address finds nothing.
        assert!(
            worker_named(b"503 no worker available")
                .is_none_or(|a| a.parse::<std::net::SocketAddr>().is_err())
        );
        assert_eq!(worker_named(b"500 boom"), None);
    }
}
