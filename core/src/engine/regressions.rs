//! One test per defect the engine v2 fixed (issue 10's list), each on hand-built numbers.

use super::tests::{assess_at, at, calm_pool, cfg, drive, ok, slow_pool, w};
use super::*;
use crate::pick::Algorithm;

#[test]
fn in_a_pool_of_two_a_slow_worker_is_compared_with_the_other_not_with_the_midpoint() {
    // The plain median of 10 and 60 is 35: 60 / 35 = 1.7, under 4. Against the other: 6x.
    let a = assess_at(&[ok(10.0), ok(60.0)], None);
    let s = a.signal(Condition::ProlongedProcessing).expect("holds");
    assert_eq!(s.worker, Some(1));
    assert!((s.value - 6.0).abs() < 1e-9, "{}", s.value);
}

#[test]
fn a_fast_weighted_worker_that_slows_to_just_above_the_median_is_caught_by_its_own_baseline() {
    // Worker 0 is four times faster than the rest (2.5 ms against 10) and carries weight 4.
    let mut calm = vec![ok(2.5), ok(10.0), ok(10.0), ok(10.0), ok(10.0)];
    calm[0].weight = 4;
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert!(drive(&mut e, &mut cur, 100, 20, &calm).is_empty());
    // Slowed 5x: 12.5 ms, 1.25x the others' median, but 5x its own calm latency.
    let mut slowed = calm.clone();
    slowed[0] = ok(12.5);
    slowed[0].weight = 4;
    let d = drive(&mut e, &mut cur, 120, 3, &slowed);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].worker.as_deref(), Some("w0"));
    assert!(d[0].value.is_some_and(|v| v >= 4.0), "{:?}", d[0].value);
}

#[test]
fn a_timing_out_worker_does_not_mask_a_fast_failing_one() {
    // Worker 1 fails 60% after 900 ms (timeouts); worker 2 fails 30% at once.
    let a = assess_at(
        &[
            ok(10.0),
            w(100, 400.0, 60, 900.0),
            w(100, 7.0, 30, 0.1),
            ok(10.0),
            ok(10.0),
        ],
        None,
    );
    let e = a.signal(Condition::ElevatedErrorRate).expect("errors");
    assert_eq!(e.worker, Some(1), "the worst-failing worker");
    let f = a.signal(Condition::FastFailure).expect("fast failure");
    assert_eq!(f.worker, Some(2));
}

#[test]
fn a_confirmed_fault_holds_the_algorithm_instead_of_falling_through_to_back_to_normal() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert_eq!(drive(&mut e, &mut cur, 100, 3, &slow_pool()).len(), 1);
    assert_eq!(cur, Algorithm::PeakEwma);
    // The slow worker stays slow for ten minutes: peak EWMA is what it asks for, so the engine
    // holds, and never reads back_to_normal.
    assert!(drive(&mut e, &mut cur, 103, 600, &slow_pool()).is_empty());
}

#[test]
fn a_starved_or_ejected_suspect_keeps_the_engine_from_going_back() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert_eq!(drive(&mut e, &mut cur, 100, 3, &slow_pool()).len(), 1);
    // Under peak EWMA the slow worker gets 5 responses a window (too few to count), then is
    // ejected: the other three look calm, but w2 has not been seen well.
    let mut starved = slow_pool();
    starved[2] = w(5, 100.0, 0, 0.0);
    assert!(drive(&mut e, &mut cur, 103, 200, &starved).is_empty());
    let mut ejected = slow_pool();
    ejected[2].available = false;
    assert!(drive(&mut e, &mut cur, 303, 100, &ejected).is_empty());
    // Seen well again: back to the baseline, once calm for 30 s (doubled by nothing: no
    // reversal yet) and confirmed.
    let d = drive(&mut e, &mut cur, 403, 40, &calm_pool());
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].to, Algorithm::LeastConnections);
}

#[test]
fn a_suspect_out_of_rotation_for_three_minutes_is_forgotten() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert_eq!(drive(&mut e, &mut cur, 100, 3, &slow_pool()).len(), 1);
    let mut gone = slow_pool();
    gone[2].available = false;
    let d = drive(&mut e, &mut cur, 103, 300, &gone);
    assert_eq!(d.len(), 1, "the pool without it is calm: {d:?}");
    assert!(
        d[0].at >= at(283),
        "not before 180 s out of rotation: {}",
        d[0].at
    );
}

#[test]
fn a_fast_failure_that_ejection_is_handling_is_left_to_ejection() {
    let failing = vec![ok(10.0), w(100, 5.0, 50, 0.1), ok(10.0), ok(10.0)];
    let mut out = failing.clone();
    out[1].available = false;
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    // Ejected until 129 s, then back and failing: within a window of its ejection, hold.
    assert!(drive(&mut e, &mut cur, 100, 30, &out).is_empty());
    assert!(drive(&mut e, &mut cur, 130, 60, &failing).is_empty());
    // Still failing more than a window after its last ejection: round robin.
    let d = drive(&mut e, &mut cur, 190, 10, &failing);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].to, Algorithm::RoundRobin);
}

#[test]
fn a_fast_failure_beside_a_slow_worker_is_not_sent_to_round_robin() {
    // Worker 1 fails half its requests at once; worker 3 is 6x slower than the rest. Round
    // robin would give worker 3 a full share it cannot serve: hold least connections. Without
    // the slow worker, the same failure goes to round robin.
    let mixed = vec![ok(10.0), w(100, 5.0, 50, 0.1), ok(10.0), ok(60.0), ok(10.0)];
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert!(drive(&mut e, &mut cur, 100, 60, &mixed).is_empty());
    assert!(e.last_assessment().holds(Condition::FastFailure));
    let only_failing = vec![ok(10.0), w(100, 5.0, 50, 0.1), ok(10.0), ok(10.0), ok(10.0)];
    let mut e = DecisionEngine::new(cfg());
    let d = drive(&mut e, &mut cur, 100, 10, &only_failing);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].to, Algorithm::RoundRobin);
}

#[test]
fn slow_failures_are_an_elevated_error_rate_that_holds_without_switching() {
    // Worker 1 fails 30% after the full service time: no algorithm routes around it.
    let pool = vec![ok(10.0), w(100, 10.0, 30, 10.0), ok(10.0), ok(10.0)];
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::PeakEwma;
    assert!(drive(&mut e, &mut cur, 100, 300, &pool).is_empty());
    assert!(e.last_assessment().holds(Condition::ElevatedErrorRate));
    assert!(!e.last_assessment().holds(Condition::FastFailure));
}

#[test]
fn a_fault_that_keeps_coming_back_doubles_the_wait_before_each_return() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    let mut t = 100;
    let mut returns = Vec::new();
    // A slow worker 20 s of every 40, for an hour.
    while t < 3_700 {
        for d in drive(&mut e, &mut cur, t, 20, &slow_pool()) {
            returns.push(d);
        }
        for d in drive(&mut e, &mut cur, t + 20, 20, &calm_pool()) {
            returns.push(d);
        }
        t += 40;
    }
    let back: Vec<_> = returns
        .iter()
        .filter(|d| d.to == Algorithm::LeastConnections)
        .collect();
    // 90 cycles, but each return waits longer than the one before (until the cap).
    assert!(back.len() <= 10, "{} returns: {returns:?}", back.len());
    for p in returns.windows(2) {
        if p[1].to == p[0].from {
            assert!(p[1].at - p[0].at > cfg().window.saturating_mul(2), "{p:?}");
        }
    }
}
