//! The worker model and fault timeline behave as documented.

use super::*;

fn pool_with(faults: &str, extra: &str) -> Scenario {
    scenario(&format!(
        r#"
        duration_s = 40
        [arrivals]
        rate = 500
        {extra}
        [[workers]]
        count = 5
        concurrency = 2
        service = {{ distribution = "constant", ms = 10 }}
        {faults}
        "#
    ))
}

#[test]
fn a_crashed_worker_stops_getting_traffic_once_health_checks_or_ejection_see_it() {
    let sc = pool_with(
        "[[faults]]\nat_s = 10\nworker = 1\naction = \"down\"\n\
         [[faults]]\nat_s = 25\nworker = 1\naction = \"recover\"",
        "",
    );
    let r = run(&sc, Algorithm::RoundRobin, 1);
    let series = &r.recorder.series;
    // Errors start at the crash and stop within interval x fall = 3 s (ejection after 5
    // consecutive failures is faster still).
    let errors_in = |from: u64, to: u64| -> u64 {
        series
            .iter()
            .filter(|s| s.t_s >= from && s.t_s < to)
            .map(|s| s.errors)
            .sum()
    };
    assert_eq!(errors_in(0, 10), 0);
    assert!(errors_in(10, 11) > 0, "the crash costs some requests");
    assert_eq!(errors_in(14, 40), 0, "{series:?}");
    // After recovery (health rise 2 at 1 s intervals) it serves again.
    let w1 = &r.recorder.workers[1];
    assert!(w1.requests > 0);
}

#[test]
fn a_timeout_is_an_error_with_the_timeout_as_latency() {
    // Worker 0 becomes 100x slower (1 s per request) with a 200 ms timeout.
    let sc = pool_with(
        "[[faults]]\nat_s = 5\nworker = 0\naction = \"slow\"\nfactor = 100",
        "[balancer]\ntimeout_ms = 200\noutlier = { consecutive_failures = 0 }\nhealth = { enabled = false }",
    );
    let r = run(&sc, Algorithm::RoundRobin, 1);
    assert!(r.recorder.errors > 0);
    assert!(
        (r.recorder.max_ms() - 200.0).abs() < 1.0,
        "max {}",
        r.recorder.max_ms()
    );
    assert_eq!(r.recorder.workers[1].errors, 0);
}

#[test]
fn least_connections_falls_into_the_fast_failure_trap_and_round_robin_does_not() {
    let sc = pool_with(
        "[[faults]]\nat_s = 5\nworker = 2\naction = \"errors\"\nrate = 1.0\nmode = \"fast\"",
        "[balancer]\noutlier = { consecutive_failures = 0 }\nhealth = { enabled = false }",
    );
    let lc = run(&sc, Algorithm::LeastConnections, 1);
    let rr = run(&sc, Algorithm::RoundRobin, 1);
    let share = |r: &lb_sim::run::RunResult| {
        let total: u64 = r.recorder.workers.iter().map(|w| w.requests).sum();
        r.recorder.workers[2].requests as f64 / total as f64
    };
    assert!((share(&rr) - 0.2).abs() < 0.01, "rr share {}", share(&rr));
    assert!(share(&lc) > 0.3, "lc share {}", share(&lc));
    assert!(lc.recorder.errors > rr.recorder.errors);
}

#[test]
fn outlier_ejection_limits_the_damage_of_a_fast_failing_worker() {
    let faults =
        "[[faults]]\nat_s = 5\nworker = 2\naction = \"errors\"\nrate = 1.0\nmode = \"fast\"";
    let without = pool_with(
        faults,
        "[balancer]\noutlier = { consecutive_failures = 0 }\nhealth = { enabled = false }",
    );
    let with = pool_with(faults, "[balancer]\nhealth = { enabled = false }");
    let a = run(&without, Algorithm::LeastConnections, 1);
    let b = run(&with, Algorithm::LeastConnections, 1);
    assert!(
        b.recorder.errors * 10 < a.recorder.errors,
        "with ejection {} errors, without {}",
        b.recorder.errors,
        a.recorder.errors
    );
}

#[test]
fn slow_errors_hold_a_slot_and_fast_errors_do_not() {
    let mk = |mode: &str| {
        scenario(&format!(
            r#"
            duration_s = 20
            [arrivals]
            rate = 80
            [balancer]
            outlier = {{ consecutive_failures = 0 }}
            [[workers]]
            service = {{ distribution = "constant", ms = 10 }}
            error_rate = 0.5
            error_mode = "{mode}"
            "#
        ))
    };
    let fast = run(&mk("fast"), Algorithm::RoundRobin, 1);
    let slow = run(&mk("slow"), Algorithm::RoundRobin, 1);
    // Same arrivals and the same error draws: the error rates match...
    let rate = |r: &lb_sim::run::RunResult| r.recorder.errors as f64 / r.recorder.answered() as f64;
    assert!((rate(&fast) - 0.5).abs() < 0.05);
    // ...but fast errors answer at once (p50 is 0 or 10 ms), slow ones take the service time.
    assert!(fast.recorder.mean_ms() < slow.recorder.mean_ms());
    assert!(
        slow.recorder.quantile_ms(0.25) >= 9.9,
        "{}",
        slow.recorder.quantile_ms(0.25)
    );
}

#[test]
fn network_delay_adds_two_crossings_to_every_request() {
    let sc = scenario(
        r#"
        duration_s = 10
        [arrivals]
        process = "constant"
        rate = 10
        [[workers]]
        service = { distribution = "constant", ms = 5 }
        network_delay_ms = 2
        "#,
    );
    let r = run(&sc, Algorithm::RoundRobin, 1);
    assert!(
        (r.recorder.mean_ms() - 9.0).abs() < 0.05,
        "{}",
        r.recorder.mean_ms()
    );
    assert!((r.recorder.max_ms() - 9.0).abs() < 0.05);
}

#[test]
fn no_available_worker_answers_503_at_once() {
    let sc = scenario(
        r#"
        duration_s = 20
        [arrivals]
        rate = 100
        [balancer.health]
        interval_ms = 100
        fall = 1
        [[workers]]
        service = { distribution = "constant", ms = 1 }
        [[faults]]
        at_s = 5
        worker = 0
        action = "down"
        "#,
    );
    let r = run(&sc, Algorithm::PowerOfTwo, 1);
    // From about 5.1 s on every request is refused by the balancer itself.
    let late: u64 = r
        .recorder
        .series
        .iter()
        .filter(|s| s.t_s >= 6)
        .map(|s| s.errors)
        .sum();
    let total: u64 = r
        .recorder
        .series
        .iter()
        .filter(|s| s.t_s >= 6)
        .map(|s| s.requests)
        .sum();
    assert_eq!(late, total);
    assert!(total > 1000);
}
