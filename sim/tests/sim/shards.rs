//! `[balancer] shards = N`: the simulator drives core's sharded composition as live mode does,
//! with pool-wide ejection, and stays deterministic.

use super::*;

fn sharded(shards: u32, faults: &str) -> Scenario {
    scenario(&format!(
        r#"
        duration_s = 60
        [arrivals]
        rate = 800
        [balancer]
        shards = {shards}
        [[workers]]
        count = 6
        concurrency = 4
        service = {{ distribution = "exponential", mean_ms = 5 }}
        {faults}
        "#
    ))
}

/// Worker 2 fails every request at once from 10 s on, and keeps passing health checks.
const FAILING: &str =
    "[[faults]]\nat_s = 10\nworker = 2\naction = \"errors\"\nrate = 1.0\nmode = \"fast\"";

#[test]
fn a_failing_worker_behind_two_shards_costs_no_more_errors_than_behind_one() {
    for alg in [
        Algorithm::RoundRobin,
        Algorithm::LeastConnections,
        Algorithm::PeakEwma,
    ] {
        for seed in 1..=3 {
            let one = run(&sharded(1, FAILING), alg, seed).recorder.errors;
            let two = run(&sharded(2, FAILING), alg, seed).recorder.errors;
            // Five failures in a row eject it for 30 s, then 60 s: 10 errors in the run, however
            // many shards count them.
            assert_eq!(one, 10, "{alg} seed {seed}: one shard");
            assert_eq!(two, one, "{alg} seed {seed}: two shards");
        }
    }
}

#[test]
fn two_shards_give_the_same_bytes_for_the_same_seed_and_spread_the_work() {
    let sc = sharded(2, "");
    let a = run(&sc, Algorithm::LeastConnections, 7);
    let b = run(&sc, Algorithm::LeastConnections, 7);
    assert_eq!(a.recorder.series, b.recorder.series);
    assert_eq!(a.recorder.quantile_ms(0.99), b.recorder.quantile_ms(0.99));
    let one = run(&sharded(1, ""), Algorithm::LeastConnections, 7);
    assert_eq!(a.recorder.answered(), one.recorder.answered());
    assert_ne!(
        a.recorder.series, one.recorder.series,
        "two shards balance differently from one"
    );
    // Each shard balances half of the traffic: the pool's latency is close to one shard's, a
    // little worse (least connections sees only its own shard's requests in flight).
    let (p1, p2) = (one.recorder.quantile_ms(0.99), a.recorder.quantile_ms(0.99));
    assert!(
        p2 >= p1 * 0.9 && p2 <= p1 * 1.5,
        "p99 {p1} with one shard, {p2} with two"
    );
}
