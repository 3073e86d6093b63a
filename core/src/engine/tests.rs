//! The conditions at the edges of their thresholds, the stability rules, and properties that
//! must hold whatever the input.

use super::*;
use crate::pick::Algorithm;
use crate::stats::WindowSnapshot;
use crate::time::{Duration, Instant};
use proptest::prelude::*;

const SPAN: Duration = Duration::from_secs(10);

pub(super) fn at(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

/// A worker with `requests` responses of mean `mean_ms`, `errors` of them failures taking
/// `error_ms` each.
pub(super) fn w(requests: u64, mean_ms: f64, errors: u64, error_ms: f64) -> WorkerObservation {
    WorkerObservation {
        available: true,
        weight: 1,
        in_flight: 1,
        window: WindowSnapshot {
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            mean: (requests > 0).then(|| Duration::from_millis_f64(mean_ms)),
            error_mean: (errors > 0).then(|| Duration::from_millis_f64(error_ms)),
            span: SPAN,
            ..Default::default()
        },
        latency_ewma: None,
        last_response: Some(at(1_000)),
        ..Default::default()
    }
}

pub(super) fn ok(mean_ms: f64) -> WorkerObservation {
    w(100, mean_ms, 0, 0.0)
}

/// The defaults, but a slow worker is acted on as soon as it is confirmed (the tests of
/// `slow_persist` set it back).
pub(super) fn cfg() -> EngineConfig {
    EngineConfig {
        slow_persist: Duration::ZERO,
        ..EngineConfig::default()
    }
}

/// Assess `workers`, labelled `w0`, `w1`, ... by position.
pub(super) fn assess_at(workers: &[WorkerObservation], baseline: Option<f64>) -> Assessment {
    let workers: Vec<WorkerObservation> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| WorkerObservation {
            id: crate::WorkerId::first(i as u32),
            label: format!("w{i}").into(),
            ..w.clone()
        })
        .collect();
    assess(
        &Observation {
            now: at(1_000),
            workers: &workers,
        },
        &cfg(),
        baseline,
        &Memory::default(),
    )
}

#[test]
fn prolonged_processing_starts_exactly_at_the_skew_threshold() {
    assert_eq!(cfg().thresholds.latency_skew_enter, 4.0);
    let holds = assess_at(&[ok(10.0), ok(10.0), ok(40.0), ok(10.0)], None);
    let s = holds
        .signal(Condition::ProlongedProcessing)
        .expect("4.0x holds");
    assert_eq!((s.worker, s.value), (Some(2), 4.0));
    assert!(
        s.detail.contains("worker w2 ") && s.detail.contains("4.00x"),
        "{}",
        s.detail
    );
    let below = assess_at(&[ok(10.0), ok(10.0), ok(39.9), ok(10.0)], None);
    assert!(!below.holds(Condition::ProlongedProcessing));
}

#[test]
fn prolonged_processing_reads_the_latency_ewma_when_there_is_one() {
    // Window means are all 10 ms, but worker 1 has just turned slow: its EWMA says 40 ms.
    let mut slow = ok(10.0);
    slow.latency_ewma = Some(Duration::from_millis(40));
    let mut fast = ok(10.0);
    fast.latency_ewma = Some(Duration::from_millis(10));
    let a = assess_at(
        &[fast.clone(), slow.clone(), fast.clone(), fast.clone()],
        None,
    );
    let s = a
        .signal(Condition::ProlongedProcessing)
        .expect("4x by EWMA");
    assert_eq!(s.worker, Some(1));
    assert_eq!(s.value, 4.0);
}

#[test]
fn a_worker_without_enough_samples_or_out_of_rotation_does_not_count() {
    let mut few = w(19, 100.0, 0, 0.0);
    let a = assess_at(&[ok(10.0), ok(10.0), few.clone(), ok(10.0)], None);
    assert!(!a.holds(Condition::ProlongedProcessing));
    few.window.requests = 20;
    let a = assess_at(&[ok(10.0), ok(10.0), few.clone(), ok(10.0)], None);
    assert!(a.holds(Condition::ProlongedProcessing));
    let mut ejected = ok(100.0);
    ejected.available = false;
    let a = assess_at(&[ok(10.0), ok(10.0), ejected.clone(), ok(10.0)], None);
    assert!(!a.holds(Condition::ProlongedProcessing));
}

#[test]
fn pool_slowdown_against_the_baseline() {
    let pool = [ok(25.0), ok(25.0), ok(25.0)];
    let s = assess_at(&pool, Some(10.0));
    let sig = s
        .signal(Condition::ProlongedProcessing)
        .expect("2.5x baseline");
    assert_eq!(sig.worker, None);
    assert!(!assess_at(&pool, Some(10.01)).holds(Condition::ProlongedProcessing));
    assert!(!assess_at(&pool, None).holds(Condition::ProlongedProcessing));
}

#[test]
fn elevated_error_rate_for_a_worker_and_for_the_pool() {
    let a = assess_at(&[ok(10.0), w(100, 10.0, 10, 10.0), ok(10.0)], None);
    let s = a.signal(Condition::ElevatedErrorRate).expect("10% holds");
    assert_eq!(s.worker, Some(1));
    let big = w(1000, 10.0, 0, 0.0);
    let a = assess_at(&[big.clone(), w(1000, 10.0, 99, 10.0), big], None);
    assert!(!a.holds(Condition::ElevatedErrorRate), "9.9% does not");
    // Every worker at 6%: no worker above 10%, but the pool above 5%.
    let six = w(100, 10.0, 6, 10.0);
    let a = assess_at(&[six.clone(), six.clone(), six.clone()], None);
    assert_eq!(a.signal(Condition::ElevatedErrorRate).unwrap().worker, None);
    let four = w(100, 10.0, 4, 10.0);
    assert!(
        !assess_at(&[four.clone(), four.clone(), four.clone()], None)
            .holds(Condition::ElevatedErrorRate)
    );
}

#[test]
fn fast_failure_needs_failures_at_most_half_the_median() {
    // Median of means is 10 ms; failures taking 5 ms are exactly 0.5x.
    let a = assess_at(&[ok(10.0), w(100, 9.0, 20, 5.0), ok(10.0)], None);
    assert!(a.holds(Condition::ElevatedErrorRate));
    assert_eq!(a.signal(Condition::FastFailure).unwrap().worker, Some(1));
    let a = assess_at(&[ok(10.0), w(100, 9.0, 20, 5.1), ok(10.0)], None);
    assert!(a.holds(Condition::ElevatedErrorRate));
    assert!(
        !a.holds(Condition::FastFailure),
        "slow failures are not fast"
    );
    // Fast but rare failures are no condition at all.
    let a = assess_at(&[ok(10.0), w(100, 9.0, 9, 0.1), ok(10.0)], None);
    assert!(!a.holds(Condition::FastFailure));
}

#[test]
fn load_imbalance_from_mean_in_flight() {
    // Mean in flight = rate x mean latency = 10/s x latency: 1.0 for 100 ms, 4.5 for 450 ms.
    let mk = |mean_ms: f64| w(100, mean_ms, 0, 0.0);
    // Loads 0.5, 0.5, 2.0 -> mean 1.0 -> skew 2.0: no.
    let a = assess_at(&[mk(50.0), mk(50.0), mk(200.0)], None);
    assert!(!a.holds(Condition::LoadImbalance));
    // Loads 0.5, 0.5, 0.5, 4.5 -> mean 1.5 -> skew 3.0: yes.
    let a = assess_at(&[mk(50.0), mk(50.0), mk(50.0), mk(450.0)], None);
    let s = a.signal(Condition::LoadImbalance).expect("3.0x holds");
    assert_eq!(s.worker, Some(3));
    // The same shape below the floor (0.5 per worker on average) is not judged.
    let a = assess_at(&[mk(5.0), mk(5.0), mk(5.0), mk(45.0)], None);
    assert!(!a.holds(Condition::LoadImbalance));
}

#[test]
fn back_to_normal_needs_every_worker_calm_and_counted() {
    assert!(assess_at(&[ok(10.0), ok(10.0), ok(16.0)], None).holds(Condition::BackToNormal));
    assert!(!assess_at(&[ok(10.0), ok(10.0), ok(16.1)], None).holds(Condition::BackToNormal));
    let two_pct = w(100, 10.0, 2, 10.0);
    let three_pct = w(100, 10.0, 3, 10.0);
    assert!(assess_at(&[ok(10.0), two_pct.clone()], None).holds(Condition::BackToNormal));
    assert!(!assess_at(&[ok(10.0), three_pct.clone()], None).holds(Condition::BackToNormal));
    let quiet = w(5, 10.0, 0, 0.0);
    assert!(!assess_at(&[ok(10.0), ok(10.0), quiet.clone()], None).holds(Condition::BackToNormal));
    assert!(!assess_at(&[], None).holds(Condition::BackToNormal));
}

/// Drive an engine tick by tick over `secs` seconds with the same pool; returns the decisions.
pub(super) fn drive(
    engine: &mut DecisionEngine,
    current: &mut Algorithm,
    from: u64,
    secs: u64,
    pool: &[WorkerObservation],
) -> Vec<Decision> {
    let mut out = Vec::new();
    for t in from..from + secs {
        let mut p = pool.to_vec();
        for (i, x) in p.iter_mut().enumerate() {
            x.last_response = Some(at(t));
            x.id = crate::WorkerId::first(i as u32);
            x.label = format!("w{i}").into();
        }
        if let Some(d) = engine.tick(
            &Observation {
                now: at(t),
                workers: &p,
            },
            *current,
        ) {
            *current = d.to;
            out.push(d);
        }
    }
    out
}

pub(super) fn slow_pool() -> Vec<WorkerObservation> {
    vec![ok(10.0), ok(10.0), ok(100.0), ok(10.0)]
}

pub(super) fn calm_pool() -> Vec<WorkerObservation> {
    vec![ok(10.0); 4]
}

#[test]
fn a_condition_must_hold_confirm_ticks_in_a_row() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    assert!(drive(&mut e, &mut cur, 100, 2, &slow_pool()).is_empty());
    // A calm tick breaks the streak.
    assert!(drive(&mut e, &mut cur, 102, 1, &calm_pool()).is_empty());
    assert!(drive(&mut e, &mut cur, 103, 2, &slow_pool()).is_empty());
    let d = drive(&mut e, &mut cur, 105, 1, &slow_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].from, d[0].to),
        (Algorithm::LeastConnections, Algorithm::PeakEwma)
    );
    assert_eq!(
        d[0].reason,
        Reason::Condition(Condition::ProlongedProcessing)
    );
    assert_eq!(d[0].at, at(105));
}

#[test]
fn at_most_one_switch_per_window_and_the_way_back_needs_calm_for() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    let d = drive(&mut e, &mut cur, 100, 3, &slow_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].at, at(102));
    // Calm from 103 on: calm for 30 s is reached at 133 and the window ends at 162, but going
    // back is a reversal: only once more than two windows have passed since the switch, 223.
    let d = drive(&mut e, &mut cur, 103, 58, &calm_pool());
    assert!(d.is_empty(), "{d:?}");
    let d = drive(&mut e, &mut cur, 161, 61, &calm_pool());
    assert!(
        d.is_empty(),
        "222 s is still within two windows of the switch"
    );
    let d = drive(&mut e, &mut cur, 223, 1, &calm_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].to, d[0].reason.name()),
        (Algorithm::LeastConnections, "back_to_normal")
    );
    assert_eq!(e.log().len(), 2);
}

#[test]
fn back_to_normal_waits_for_calm_for() {
    let config = EngineConfig {
        baseline: Algorithm::RoundRobin,
        ..cfg()
    };
    let mut e = DecisionEngine::new(config);
    let mut cur = Algorithm::PeakEwma;
    // Calm from t=100: the 30 s are complete at 130, and the return confirmed on three ticks.
    assert!(drive(&mut e, &mut cur, 100, 32, &calm_pool()).is_empty());
    let d = drive(&mut e, &mut cur, 132, 1, &calm_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].to, Algorithm::RoundRobin);
}

#[test]
fn nothing_is_decided_without_enough_or_fresh_evidence() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    // 4 workers x 49 responses = 196 < 200.
    let thin: Vec<_> = slow_pool()
        .into_iter()
        .map(|mut x| {
            x.window.requests = 49;
            x
        })
        .collect();
    assert!(drive(&mut e, &mut cur, 100, 10, &thin).is_empty());
    // Plenty of samples, but the newest response is 11 s old.
    let mut e = DecisionEngine::new(cfg());
    for t in 100..110 {
        let mut obs = slow_pool();
        for x in &mut obs {
            x.last_response = Some(at(t));
        }
        let d = e.tick(
            &Observation {
                now: at(t + 11),
                workers: &obs,
            },
            cur,
        );
        assert!(d.is_none());
    }
    // The same evidence 10 s old is still fresh enough.
    let d = drive(&mut e, &mut cur, 200, 3, &slow_pool());
    assert_eq!(d.len(), 1);
}

#[test]
fn fast_failure_leaves_least_connections_for_round_robin_and_blocks_peak_ewma() {
    let pool = vec![ok(10.0), w(100, 5.0, 50, 0.1), ok(10.0), ok(10.0)];
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    let d = drive(&mut e, &mut cur, 100, 3, &pool);
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].to, d[0].reason.name()),
        (Algorithm::RoundRobin, "fast_failure")
    );
    // On round robin the same pool, with a slow worker added, does not send us to peak_ewma.
    let mut both = pool.clone();
    both[3] = ok(100.0);
    assert!(drive(&mut e, &mut cur, 160, 30, &both).is_empty());
    // Different weights: weighted round robin.
    let mut weighted = pool;
    weighted[0].weight = 3;
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::PeakEwma;
    let d = drive(&mut e, &mut cur, 100, 3, &weighted);
    assert_eq!(d[0].to, Algorithm::WeightedRoundRobin);
}

#[test]
fn candidates_limit_the_choice() {
    let config = EngineConfig {
        candidates: vec![Algorithm::RoundRobin],
        ..cfg()
    };
    let mut e = DecisionEngine::new(config);
    let mut cur = Algorithm::LeastConnections;
    assert!(drive(&mut e, &mut cur, 100, 10, &slow_pool()).is_empty());
}

#[test]
fn manual_mode_watches_but_never_switches_and_pins_are_logged() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    let d = e.pin(at(50), cur, Algorithm::Random);
    cur = d.to;
    assert_eq!(e.mode(), Mode::Manual);
    assert_eq!(e.log()[0].reason.name(), "manual");
    assert!(drive(&mut e, &mut cur, 100, 200, &slow_pool()).is_empty());
    assert!(e.last_assessment().holds(Condition::ProlongedProcessing));
    e.set_mode(Mode::Adaptive);
    // Handing control back judges afresh: three confirming ticks, not one.
    assert!(drive(&mut e, &mut cur, 300, 2, &slow_pool()).is_empty());
    let d = drive(&mut e, &mut cur, 302, 1, &slow_pool());
    assert_eq!(d.len(), 1);
}

#[test]
fn a_pin_starts_the_window_again() {
    let mut e = DecisionEngine::new(cfg());
    let mut cur = Algorithm::LeastConnections;
    let d = e.pin(at(100), cur, Algorithm::RoundRobin);
    cur = d.to;
    e.set_mode(Mode::Adaptive);
    // The slow worker would send us to peak_ewma, but not within 60 s of the pin.
    assert!(drive(&mut e, &mut cur, 101, 59, &slow_pool()).is_empty());
    let d = drive(&mut e, &mut cur, 160, 1, &slow_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].to, Algorithm::PeakEwma);
}

#[test]
fn a_slow_worker_must_stay_slow_for_slow_persist_before_peak_ewma() {
    let mut e = DecisionEngine::new(EngineConfig::default());
    let mut cur = Algorithm::LeastConnections;
    // Held 1..=9 ticks: under 10 s.
    assert!(drive(&mut e, &mut cur, 100, 9, &slow_pool()).is_empty());
    let d = drive(&mut e, &mut cur, 109, 3, &slow_pool());
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].at,
        at(111),
        "held 10 s at 109, then confirmed on three ticks"
    );
    // A stall that ends before 10 s never moves the pool.
    let mut e = DecisionEngine::new(EngineConfig::default());
    let mut cur = Algorithm::LeastConnections;
    for k in 0..10 {
        assert!(drive(&mut e, &mut cur, 200 + 15 * k, 8, &slow_pool()).is_empty());
        assert!(drive(&mut e, &mut cur, 208 + 15 * k, 7, &calm_pool()).is_empty());
    }
}

#[test]
fn a_slow_worker_that_serves_under_two_percent_is_left_to_the_running_algorithm() {
    // Worker 2 is ten times slower but gets 4 of 304 responses (1.3%): no switch, but it is a
    // suspect, so the engine does not call the pool calm either.
    let mut pool = vec![ok(10.0), ok(10.0), w(4, 100.0, 0, 0.0), ok(10.0)];
    let config = EngineConfig {
        min_worker_samples: 4,
        ..cfg()
    };
    let mut e = DecisionEngine::new(config.clone());
    let mut cur = Algorithm::PeakEwma;
    assert!(drive(&mut e, &mut cur, 100, 5, &pool).is_empty());
    assert!(e.last_assessment().holds(Condition::ProlongedProcessing));
    // At 8 of 308 (2.6%) the same worker is worth peak EWMA.
    pool[2] = w(8, 100.0, 0, 0.0);
    let mut e = DecisionEngine::new(config);
    let mut cur = Algorithm::LeastConnections;
    let d = drive(&mut e, &mut cur, 100, 3, &pool);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].to, Algorithm::PeakEwma);
}

fn worker_strategy() -> impl Strategy<Value = WorkerObservation> {
    (
        any::<bool>(),
        0u64..200,
        1u32..400,
        0u64..100,
        1u32..300,
        1u32..4,
    )
        .prop_map(|(available, requests, mean_ms, err_pct, err_ms, weight)| {
            let errors = requests * err_pct / 100;
            let mut x = w(
                requests,
                f64::from(mean_ms),
                errors,
                f64::from(err_ms) / 10.0,
            );
            x.available = available;
            x.weight = weight;
            x
        })
}

fn ticks() -> impl Strategy<Value = Vec<(u64, Vec<WorkerObservation>)>> {
    prop::collection::vec(
        (1u64..5_000, prop::collection::vec(worker_strategy(), 1..8)),
        1..120,
    )
    .prop_map(|mut steps| {
        for (_, pool) in &mut steps {
            for (i, x) in pool.iter_mut().enumerate() {
                x.id = crate::WorkerId::first(i as u32);
                x.label = format!("w{i}").into();
            }
        }
        steps
    })
}

/// A policy that proposes whatever it is told, tick after tick: the worst a plugged-in policy
/// can do.
#[derive(Debug)]
struct Adversary {
    proposals: Vec<Algorithm>,
    next: usize,
}

impl Policy for Adversary {
    fn name(&self) -> &'static str {
        "adversary"
    }
    fn decide(&mut self, _ctx: &Context<'_>) -> Option<Proposal> {
        let to = *self
            .proposals
            .get(self.next % self.proposals.len().max(1))?;
        self.next += 1;
        Some(Proposal {
            to,
            condition: Condition::LoadImbalance,
            worker: None,
            value: 0.0,
            threshold: 0.0,
            detail: String::new(),
            forecast: Vec::new(),
        })
    }
}

/// Drive `e` over `steps` (fresh evidence at every tick) and check that no switch undoes the
/// previous one within two windows (120 s on the defaults, counted inclusive, as the verdict
/// counts a flap).
fn no_reversal_within_two_windows(
    e: &mut DecisionEngine,
    steps: Vec<(u64, Vec<WorkerObservation>)>,
) -> Result<(), TestCaseError> {
    let two = e.config().window.saturating_mul(2);
    let mut cur = Algorithm::LeastConnections;
    let mut now = at(0);
    let mut last: Option<Decision> = None;
    for (dt_ms, mut pool) in steps {
        now += Duration::from_millis(dt_ms);
        for x in &mut pool {
            x.last_response = Some(now);
        }
        if let Some(d) = e.tick(
            &Observation {
                now,
                workers: &pool,
            },
            cur,
        ) {
            if let Some(l) = &last
                && d.to == l.from
            {
                prop_assert!(
                    d.at - l.at > two,
                    "{} -> {} at {}, back at {}",
                    l.from,
                    l.to,
                    l.at,
                    d.at
                );
            }
            cur = d.to;
            last = Some(d);
        }
    }
    Ok(())
}

/// Put `e` in manual mode and drive it over `steps` (fresh evidence at every tick): it must
/// never switch, nor log anything.
fn never_switches_in_manual_mode(
    e: &mut DecisionEngine,
    steps: Vec<(u64, Vec<WorkerObservation>)>,
) -> Result<(), TestCaseError> {
    e.set_mode(Mode::Manual);
    let mut now = at(0);
    for (dt_ms, mut pool) in steps {
        now += Duration::from_millis(dt_ms);
        for x in &mut pool {
            x.last_response = Some(now);
        }
        let d = e.tick(
            &Observation {
                now,
                workers: &pool,
            },
            Algorithm::Random,
        );
        prop_assert!(d.is_none());
    }
    prop_assert!(e.log().is_empty());
    Ok(())
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_two_switches_within_one_window(steps in ticks(), window_s in 1u64..120) {
        let config = EngineConfig { window: Duration::from_secs(window_s), confirm_ticks: 1, ..cfg() };
        let mut e = DecisionEngine::new(config);
        let mut cur = Algorithm::RoundRobin;
        let mut now = at(0);
        let mut last: Option<Instant> = None;
        for (dt_ms, mut pool) in steps {
            now += Duration::from_millis(dt_ms);
            for x in &mut pool { x.last_response = Some(now); }
            if let Some(d) = e.tick(&Observation { now, workers: &pool }, cur) {
                if let Some(l) = last {
                    prop_assert!(d.at - l >= Duration::from_secs(window_s), "{l} then {}", d.at);
                }
                prop_assert!(d.from != d.to);
                last = Some(d.at);
                cur = d.to;
            }
        }
    }

    #[test]
    fn no_decision_before_min_samples(steps in ticks(), min in 1u64..2_000) {
        let config = EngineConfig { min_samples: min, confirm_ticks: 1, ..cfg() };
        let mut e = DecisionEngine::new(config);
        let mut cur = Algorithm::PowerOfTwo;
        let mut now = at(0);
        for (dt_ms, mut pool) in steps {
            now += Duration::from_millis(dt_ms);
            for x in &mut pool { x.last_response = Some(now); }
            let samples: u64 = pool.iter().filter(|x| x.available).map(|x| x.window.requests).sum();
            if let Some(d) = e.tick(&Observation { now, workers: &pool }, cur) {
                prop_assert!(samples >= min, "decided on {samples} < {min}");
                cur = d.to;
            }
        }
    }

    #[test]
    fn no_policy_reverses_a_switch_within_two_windows(
        steps in ticks(),
        proposals in prop::collection::vec(algorithm(), 1..6),
        window_s in 1u64..120,
        confirm in 1u32..4,
    ) {
        let config = EngineConfig { window: Duration::from_secs(window_s), confirm_ticks: confirm, min_samples: 1, ..cfg() };
        let mut e = DecisionEngine::with_policy(config, Box::new(Adversary { proposals, next: 0 }));
        no_reversal_within_two_windows(&mut e, steps)?;
    }

    #[test]
    fn the_rule_and_forecast_policies_never_reverse_within_two_windows(
        steps in ticks(),
        window_s in 1u64..120,
        forecast in any::<bool>(),
    ) {
        let policy = if forecast { PolicyKind::Forecast } else { PolicyKind::Rules };
        let config = EngineConfig {
            window: Duration::from_secs(window_s),
            confirm_ticks: 1,
            min_samples: 1,
            calm_for: Duration::from_secs(1),
            slow_persist: Duration::ZERO,
            policy,
            forecast: ForecastConfig { requests: 200, ..Default::default() },
            ..cfg()
        };
        let mut e = DecisionEngine::new(config);
        no_reversal_within_two_windows(&mut e, steps)?;
    }

    #[test]
    fn nothing_is_decided_on_stale_evidence(
        steps in ticks(),
        proposals in prop::collection::vec(algorithm(), 1..6),
        age_s in 11u64..1_000,
    ) {
        let config = EngineConfig { confirm_ticks: 1, min_samples: 1, ..cfg() };
        let mut e = DecisionEngine::with_policy(config, Box::new(Adversary { proposals, next: 0 }));
        let mut now = at(2_000);
        for (dt_ms, mut pool) in steps {
            now += Duration::from_millis(dt_ms);
            let old = Instant::ZERO + Duration::from_nanos(now.as_nanos() - age_s * 1_000_000_000);
            for x in &mut pool { x.last_response = Some(old); }
            let d = e.tick(&Observation { now, workers: &pool }, Algorithm::Random);
            prop_assert!(d.is_none());
        }
    }

    #[test]
    fn manual_mode_never_switches_whatever_the_policy(
        steps in ticks(),
        proposals in prop::collection::vec(algorithm(), 1..6),
    ) {
        let config = EngineConfig { confirm_ticks: 1, min_samples: 1, window: Duration::from_secs(1), ..cfg() };
        let mut e = DecisionEngine::with_policy(config, Box::new(Adversary { proposals, next: 0 }));
        never_switches_in_manual_mode(&mut e, steps)?;
    }

    #[test]
    fn manual_mode_never_switches(steps in ticks()) {
        let mut e = DecisionEngine::new(EngineConfig { confirm_ticks: 1, window: Duration::from_secs(1), ..cfg() });
        never_switches_in_manual_mode(&mut e, steps)?;
    }
}
