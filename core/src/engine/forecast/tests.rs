//! The forecast on hand-built pools: it must see what the simulator measures.

use super::*;
use crate::engine::observation::{Observation, WorkerObservation};
use crate::stats::WindowSnapshot;
use crate::time::{Duration, Instant};

fn worker(mean_ms: f64, rate: f64, errors: f64, error_ms: f64) -> WorkerObservation {
    let span = Duration::from_secs(10);
    let requests = (rate * 10.0) as u64;
    let e = (requests as f64 * errors) as u64;
    let mean = Duration::from_millis_f64(
        (mean_ms * (requests - e) as f64 + error_ms * e as f64) / requests as f64,
    );
    WorkerObservation {
        available: true,
        in_flight: 1,
        window: WindowSnapshot {
            requests,
            errors: e,
            error_rate: e as f64 / requests as f64,
            mean: Some(mean),
            error_mean: (e > 0).then(|| Duration::from_millis_f64(error_ms)),
            p50: Some(Duration::from_millis_f64(mean_ms * 0.8)),
            p90: None,
            p99: Some(Duration::from_millis_f64(mean_ms * 4.0)),
            span,
        },
        latency_ewma: Some(mean),
        last_response: Some(Instant::ZERO + Duration::from_secs(100)),
        ..Default::default()
    }
}

fn run_all(workers: &[WorkerObservation]) -> Vec<Forecast> {
    let obs = Observation {
        now: Instant::ZERO + Duration::from_secs(100),
        workers,
    };
    let model = PoolModel::fit(&obs).expect("a model");
    Algorithm::ALL
        .iter()
        .map(|a| forecast(&model, *a, 4_000, 7))
        .collect()
}

fn of(f: &[Forecast], a: Algorithm) -> Forecast {
    *f.iter().find(|x| x.algorithm == a).expect("forecast")
}

#[test]
fn a_slow_worker_is_best_avoided_by_peak_ewma_and_worst_by_round_robin() {
    let mut ws = vec![worker(10.0, 140.0, 0.0, 0.0); 10];
    ws[3] = worker(50.0, 140.0, 0.0, 0.0);
    let f = run_all(&ws);
    eprintln!("{f:?}");
    let pe = of(&f, Algorithm::PeakEwma);
    let rr = of(&f, Algorithm::RoundRobin);
    assert!(pe.p99_ms < 0.7 * rr.p99_ms, "{f:?}");
}

#[test]
fn a_fast_failing_worker_gets_fewer_requests_under_round_robin_than_least_connections() {
    let mut ws = vec![worker(10.0, 140.0, 0.0, 0.0); 10];
    ws[4] = worker(10.0, 140.0, 0.5, 0.1);
    let f = run_all(&ws);
    eprintln!("{f:?}");
    let rr = of(&f, Algorithm::RoundRobin);
    let lc = of(&f, Algorithm::LeastConnections);
    assert!(rr.error_rate + 0.01 < lc.error_rate, "{f:?}");
    assert!((rr.error_rate - 0.05).abs() < 0.02, "{f:?}");
}

#[test]
fn a_pool_slowing_as_one_gives_no_candidate_a_clear_gain() {
    let ws = vec![worker(30.0, 140.0, 0.0, 0.0); 10];
    let f = run_all(&ws);
    eprintln!("{f:?}");
    let m = ForecastConfig::default();
    let lc = of(&f, Algorithm::LeastConnections);
    let b = best(&f, &m).expect("best");
    assert!(!beats(b, &lc, &m), "{f:?}");
}

#[test]
fn the_same_seed_gives_the_same_forecast() {
    let mut ws = vec![worker(10.0, 140.0, 0.0, 0.0); 5];
    ws[1] = worker(40.0, 140.0, 0.2, 1.0);
    assert_eq!(run_all(&ws), run_all(&ws));
}

#[test]
fn margins_decide_what_beats_what() {
    let m = ForecastConfig::default();
    let f = |p99_ms, error_rate| Forecast {
        algorithm: Algorithm::RoundRobin,
        p99_ms,
        error_rate,
    };
    assert!(beats(&f(80.0, 0.0), &f(100.0, 0.0), &m));
    assert!(!beats(&f(90.0, 0.0), &f(100.0, 0.0), &m));
    assert!(beats(&f(120.0, 0.01), &f(100.0, 0.02), &m));
    assert!(!beats(&f(50.0, 0.02), &f(100.0, 0.01), &m));
}
