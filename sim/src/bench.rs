//! `lb-sim --bench`: how fast the simulator runs.
//!
//! The reference workload: 1,000,000 measured requests, Poisson arrivals at 90% load on 10
//! workers with one slot and exponential 10 ms service, `power_of_two`, no health checks, no
//! timeout. Each repetition runs on one thread; we report the best and median wall time and
//! simulated events per second (heap events plus timeouts processed).

use crate::run::run;
use lb_core::scenario::Scenario;
use lb_core::{Algorithm, Strategy};

/// The reference scenario.
pub const BENCH_SCENARIO: &str = r#"
name = "bench_p2c_1m"
requests = 1000000
[arrivals]
rate = 900
[balancer]
timeout_ms = 0
health = { enabled = false }
[[workers]]
count = 10
service = { distribution = "exponential", mean_ms = 10 }
"#;

/// One repetition's numbers.
#[derive(Debug, Clone, Copy)]
pub struct BenchRun {
    /// Wall time, seconds.
    pub seconds: f64,
    /// Events processed.
    pub events: u64,
    /// Requests answered.
    pub requests: u64,
}

/// Run the reference workload `reps` times with `algorithm`.
pub fn bench(
    algorithm: Algorithm,
    reps: usize,
) -> Result<Vec<BenchRun>, lb_core::scenario::ScenarioError> {
    let sc = Scenario::from_toml_str(BENCH_SCENARIO, "built-in bench scenario")?;
    let mut out = Vec::new();
    for i in 0..reps.max(1) {
        let start = std::time::Instant::now();
        let r = run(&sc, Strategy::Fixed(algorithm), 1 + i as u64);
        let seconds = start.elapsed().as_secs_f64();
        out.push(BenchRun {
            seconds,
            events: r.events,
            requests: r.recorder.answered(),
        });
    }
    Ok(out)
}

/// A report of the repetitions: best and median time, events per second.
pub fn report(algorithm: Algorithm, runs: &[BenchRun]) -> String {
    let mut secs: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
    secs.sort_by(f64::total_cmp);
    let best = secs.first().copied().unwrap_or(0.0);
    let median = secs.get(secs.len() / 2).copied().unwrap_or(0.0);
    let events = runs.first().map_or(0, |r| r.events);
    let requests = runs.first().map_or(0, |r| r.requests);
    format!(
        "{algorithm}: {requests} requests, {events} events, {n} runs on one thread\n  \
         best {best:.3} s, median {median:.3} s\n  \
         {:.1} M events/s, {:.2} M requests/s (best)\n",
        events as f64 / best / 1e6,
        requests as f64 / best / 1e6,
        n = runs.len(),
    )
}

/// The cost of one balancer tick in adaptive mode on `workers` workers (window summaries of every
/// worker, all conditions, the policy): mean microseconds per tick over `ticks` ticks. Worker 0
/// is ten times slower than the rest, so a condition holds on every tick and the forecast policy
/// runs its forecasts (every candidate, `[engine] forecast.requests` requests each) every tick.
pub fn engine_tick(workers: usize, ticks: u32, policy: lb_core::engine::PolicyKind) -> f64 {
    use lb_core::engine::{DecisionEngine, EngineConfig};
    use lb_core::time::Duration;
    use lb_core::{BalancerConfig, Instant, Outcome, Sharded};

    let mut lb = Sharded::new(
        BalancerConfig::new(Algorithm::LeastConnections),
        Some(DecisionEngine::new(EngineConfig {
            policy,
            ..EngineConfig::default()
        })),
        1,
        |_| crate::run::stream(1, 9),
    );
    for i in 0..workers {
        let _ = lb.add_worker(&format!("w{i}"), 1, (), Instant::ZERO);
    }
    // Ten seconds of traffic: 100 responses per worker, worker 0 ten times slower.
    let start = Instant::ZERO + Duration::from_secs(100);
    for k in 0..100 * workers {
        let now = start + Duration::from_millis(k as u64 * 10_000 / (100 * workers) as u64);
        if let Some(w) = lb.pick(0, now) {
            let ms = if w.slot() == 0 { 100 } else { 10 };
            lb.on_response(0, w, now, Duration::from_millis(ms), Outcome::Ok);
        }
    }
    let t0 = start + Duration::from_secs(10);
    let clock = std::time::Instant::now();
    for i in 0..ticks {
        let _ = std::hint::black_box(lb.tick(t0 + Duration::from_micros(u64::from(i))));
    }
    clock.elapsed().as_secs_f64() * 1e6 / f64::from(ticks.max(1))
}
