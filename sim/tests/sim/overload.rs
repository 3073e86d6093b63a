//! Overload must never become an outage: a third of the pool crashes, the rest is overloaded,
//! and once the crashed workers are back the errors per second return to the baseline, under
//! every algorithm (a short version of `experiments/overload.toml`).

use super::*;
use lb_sim::record::Second;

/// Ten 4-slot workers at 75% load; workers 0, 3 and 6 are down from 20 s to 40 s.
fn crash_a_third(extra: &str) -> Scenario {
    let faults: String = [0, 3, 6]
        .iter()
        .map(|w| {
            format!(
                "[[faults]]\nat_s = 20\nworker = {w}\naction = \"down\"\n\
                 [[faults]]\nat_s = 40\nworker = {w}\naction = \"recover\"\n"
            )
        })
        .collect();
    scenario(&format!(
        r#"
        duration_s = {END}
        warmup_s = 2
        [arrivals]
        rate = 750
        [balancer]
        timeout_ms = 1000
        {extra}
        [[workers]]
        count = 10
        concurrency = 4
        service = {{ distribution = "exponential", mean_ms = 40 }}
        {faults}
        "#
    ))
}

const END: u64 = 100;
const RETURN_S: u64 = 40;

fn strategies() -> Vec<Strategy> {
    let mut all: Vec<Strategy> = Algorithm::ALL.iter().map(|&a| a.into()).collect();
    all.push(Strategy::Adaptive);
    all
}

/// The last second (counted from the return) with errors above the pre-fault baseline.
fn recovered_after(series: &[Second]) -> u64 {
    let base = series
        .iter()
        .filter(|s| (2..20).contains(&s.t_s))
        .map(|s| s.errors)
        .max()
        .unwrap_or(0);
    series
        .iter()
        .filter(|s| s.t_s >= RETURN_S && s.t_s + 1 < END && s.errors > base + 2)
        .map(|s| s.t_s + 1 - RETURN_S)
        .max()
        .unwrap_or(0)
}

fn assert_recovers_within(extra: &str, bound_s: u64) {
    let sc = crash_a_third(extra);
    for strategy in strategies() {
        for seed in 1..=2 {
            let r = run(&sc, strategy, seed);
            let after = recovered_after(&r.recorder.series);
            assert!(
                after <= bound_s,
                "{strategy} seed {seed}: errors above baseline {after} s after the return \
                 (bound {bound_s} s)"
            );
        }
    }
}

#[test]
fn with_admission_limits_every_algorithm_recovers_within_15_s() {
    assert_recovers_within("max_in_flight_per_worker = 40", 15);
}
