//! The simulator against queueing theory it did not write: M/M/1, GI/M/1 and Little's law.

use super::*;

fn relative_error(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

/// `n` single-slot workers with exponential service of mean `mean_ms`, Poisson arrivals at
/// `rate`, `requests` measured requests, no health checks or timeouts to disturb the queue.
fn mm1_pool(n: u32, mean_ms: f64, rate: f64, requests: u64) -> Scenario {
    scenario(&format!(
        r#"
        requests = {requests}
        warmup_s = 5
        [arrivals]
        rate = {rate}
        [balancer]
        timeout_ms = 0
        health = {{ enabled = false }}
        outlier = {{ consecutive_failures = 0 }}
        [[workers]]
        count = {n}
        service = {{ distribution = "exponential", mean_ms = {mean_ms} }}
        "#
    ))
}

#[test]
fn mm1_mean_time_in_system_is_one_over_mu_minus_lambda() {
    // mu = 100/s, lambda = 50/s: W = 1 / (mu - lambda) = 20 ms.
    let sc = mm1_pool(1, 10.0, 50.0, 400_000);
    let rs = runs(&sc, Algorithm::RoundRobin, 5);
    let mean = pooled_mean_ms(&rs);
    assert!(
        relative_error(mean, 20.0) < 0.02,
        "mean {mean} ms, theory 20 ms"
    );
    // The sojourn time of M/M/1 is exponential with rate mu - lambda: check two quantiles too.
    for r in &rs {
        let p50 = r.recorder.quantile_ms(0.5);
        let p99 = r.recorder.quantile_ms(0.99);
        let (t50, t99) = (20.0 * 2f64.ln(), 20.0 * 100f64.ln());
        assert!(relative_error(p50, t50) < 0.03, "p50 {p50} vs {t50}");
        assert!(relative_error(p99, t99) < 0.05, "p99 {p99} vs {t99}");
    }
}

#[test]
fn random_over_n_workers_gives_each_an_mm1_queue() {
    // Random splitting of a Poisson stream gives each of 8 workers Poisson arrivals at
    // lambda / 8 = 60/s with mu = 100/s: W = 1 / (100 - 60) = 25 ms, per worker and overall.
    let sc = mm1_pool(8, 10.0, 480.0, 400_000);
    let rs = runs(&sc, Algorithm::Random, 5);
    let mean = pooled_mean_ms(&rs);
    assert!(
        relative_error(mean, 25.0) < 0.02,
        "mean {mean} ms, theory 25 ms"
    );
    for w in 0..8 {
        let (n, sum): (u64, f64) = rs.iter().fold((0, 0.0), |(n, s), r| {
            let t = &r.recorder.workers[w];
            (n + t.requests, s + t.latency_sum_ns as f64 / 1e6)
        });
        let per = sum / n as f64;
        assert!(relative_error(per, 25.0) < 0.05, "worker {w}: {per} ms");
    }
}

/// The root sigma in (0, 1) of sigma = A*(mu (1 - sigma)) for Erlang-k interarrivals with
/// per-worker rate lambda: A*(s) = (k lambda / (k lambda + s))^k.
fn gim1_sigma(k: f64, lambda: f64, mu: f64) -> f64 {
    let mut s: f64 = 0.5;
    for _ in 0..10_000 {
        s = (k * lambda / (k * lambda + mu * (1.0 - s))).powf(k);
    }
    s
}

#[test]
fn round_robin_over_n_workers_gives_each_an_erlang_n_gim1_queue() {
    // Round robin over n workers hands each worker every n-th arrival of a Poisson stream:
    // Erlang-n interarrival times, so each worker is an E_n/M/1 queue with
    // W = 1 / (mu (1 - sigma)).
    let (n, mu, lambda) = (10.0, 100.0, 70.0);
    let sigma = gim1_sigma(n, lambda, mu);
    let want = 1e3 / (mu * (1.0 - sigma));
    let sc = mm1_pool(10, 10.0, lambda * n, 600_000);
    let mean = pooled_mean_ms(&runs(&sc, Algorithm::RoundRobin, 5));
    eprintln!("round robin, E10/M/1 at rho 0.7: mean {mean:.3} ms, theory {want:.3} ms");
    assert!(
        relative_error(mean, want) < 0.02,
        "mean {mean} ms, E10/M/1 theory {want:.3} ms"
    );
}

#[test]
fn littles_law_holds_on_every_algorithm() {
    let sc = mm1_pool(10, 10.0, 800.0, 200_000);
    for alg in Algorithm::ALL {
        for r in runs(&sc, alg, 2) {
            let rec = &r.recorder;
            let lambda = rec.answered() as f64 / rec.span_s();
            let l = rec.mean_in_flight();
            let lw = lambda * rec.mean_ms() / 1e3;
            eprintln!("Little {alg}: L {l:.4}, lambda W {lw:.4}");
            assert!(
                relative_error(l, lw) < 0.02,
                "{alg}: L = {l}, lambda W = {lw}"
            );
        }
    }
}

#[test]
fn at_90_percent_load_random_beats_nothing_and_least_connections_beats_all() {
    // Mean latency order on 10 M/M/1 workers at 90% load:
    // random (M/M/1: 100 ms) > round_robin (E10/M/1: 56.6 ms) > power_of_two (about 26 ms)
    // > least_connections (join the shortest queue).
    let sc = mm1_pool(10, 10.0, 900.0, 300_000);
    let mean = |a| pooled_mean_ms(&runs(&sc, a, 3));
    let random = mean(Algorithm::Random);
    let rr = mean(Algorithm::RoundRobin);
    let p2c = mean(Algorithm::PowerOfTwo);
    let lc = mean(Algorithm::LeastConnections);
    eprintln!(
        "90% load means: random {random:.2}, round_robin {rr:.2}, power_of_two {p2c:.2}, least_connections {lc:.2}"
    );
    assert!(
        random > rr && rr > p2c && p2c > lc,
        "random {random:.1} > round_robin {rr:.1} > power_of_two {p2c:.1} > least_connections {lc:.1}"
    );
    // And the two ends agree with theory.
    assert!(relative_error(random, 100.0) < 0.1, "random {random}");
    let sigma = gim1_sigma(10.0, 90.0, 100.0);
    let rr_theory = 1e3 / (100.0 * (1.0 - sigma));
    assert!(
        relative_error(rr, rr_theory) < 0.05,
        "rr {rr} vs {rr_theory}"
    );
}
