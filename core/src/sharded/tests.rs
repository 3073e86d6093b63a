//! The composition: pool-wide ejection, stable identities across removals, one engine over
//! the merged shards, and one shard being exactly a lone balancer.

use super::*;
use crate::engine::EngineConfig;
use crate::health::OutlierConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pool(alg: Algorithm, shards: usize, workers: usize) -> Sharded<ChaCha8Rng> {
    let mut lb = Sharded::new(BalancerConfig::new(alg), None, shards, |i| {
        ChaCha8Rng::seed_from_u64(i as u64)
    });
    for i in 0..workers {
        lb.add_worker(&format!("w{i}"), 1, (), Instant::ZERO)
            .unwrap();
    }
    lb
}

/// Requests spread over the shards in turn; worker `bad` fails every request fast. Returns the
/// failures the clients saw before the worker was out of every shard.
fn errors_until_ejected(shards: usize) -> (u64, Sharded<ChaCha8Rng>) {
    let mut lb = pool(Algorithm::RoundRobin, shards, 4);
    let bad = WorkerId::first(2);
    let mut errors = 0;
    for n in 0..1_000u64 {
        let now = Instant::from_nanos(1_000 + n);
        let shard = (n as usize) % shards;
        let w = lb.pick(shard, now).unwrap();
        let outcome = if w == bad {
            Outcome::Error
        } else {
            Outcome::Ok
        };
        errors += u64::from(outcome == Outcome::Error);
        lb.on_response(shard, w, now, ms(1), outcome);
        if (0..shards).all(|s| lb.shard(s).is_ejected(bad)) {
            return (errors, lb);
        }
    }
    panic!("never ejected");
}

#[test]
fn a_failing_worker_behind_two_shards_is_ejected_once_after_no_more_errors_than_behind_one() {
    let (one, lb1) = errors_until_ejected(1);
    let (two, lb2) = errors_until_ejected(2);
    let threshold = u64::from(OutlierConfig::default().consecutive_failures);
    assert_eq!(one, threshold);
    assert_eq!(two, one, "the run of failures is the pool's, not a shard's");
    assert_eq!(lb1.control().ejections(), 1);
    assert_eq!(lb2.control().ejections(), 1);
    let mut lb2 = lb2;
    let status = lb2.status(Instant::from_nanos(5_000));
    assert_eq!(status.ejections, 1);
    assert!(status.workers[2].ejected && !status.workers[2].available);
    assert_eq!(status.available, 3);
}

#[test]
fn two_shards_reporting_one_ejection_count_it_once_and_agree_on_its_end() {
    let mut lb = pool(Algorithm::RoundRobin, 2, 4);
    let w = WorkerId::first(1);
    let t = Instant::from_nanos(10);
    let first = Ejection {
        worker: w,
        until: t + Duration::from_secs(30),
    };
    let late = Ejection {
        worker: w,
        until: t + Duration::from_secs(31),
    };
    assert!(lb.control.on_ejection(&mut lb.shards, first, t));
    assert!(!lb.control.on_ejection(&mut lb.shards, late, t + ms(1)));
    assert_eq!(lb.control().ejections(), 1);
    for s in 0..2 {
        assert!(lb.shard(s).is_ejected(w));
    }
    // Both end at the first report's instant.
    lb.tick(first.until);
    assert!((0..2).all(|s| lb.shard(s).is_available(w)));
    // Once it is over, a new report is a new ejection.
    let again = Ejection {
        worker: w,
        until: first.until + Duration::from_secs(60),
    };
    assert!(lb.control.on_ejection(&mut lb.shards, again, first.until));
    assert_eq!(lb.control().ejections(), 2);
}

#[test]
fn removing_a_worker_in_the_middle_keeps_every_other_workers_state() {
    let mut lb = pool(Algorithm::LeastConnections, 2, 5);
    let t = Instant::from_nanos(1);
    let id = WorkerId::first;
    // Worker 0 busy in shard 1, worker 3 with responses, worker 4 ejected, worker 1 down.
    let busy = lb.pick(1, t).unwrap();
    assert_eq!(busy, id(0));
    for _ in 0..7 {
        lb.on_response(0, id(3), t, ms(4), Outcome::Ok);
    }
    for _ in 0..5 {
        lb.on_response(1, id(4), t, ms(1), Outcome::Refused);
    }
    for _ in 0..3 {
        lb.on_probe(id(1), t, false);
    }
    let before = lb.status(t);
    assert!(lb.remove_worker(id(2)));
    assert!(!lb.remove_worker(id(2)));
    let after = lb.status(t);
    let kept: Vec<_> = before
        .workers
        .iter()
        .filter(|w| w.id != id(2))
        .cloned()
        .collect();
    assert_eq!(after.workers, kept, "nobody else changed");
    assert_eq!(lb.control().label(id(3)), Some("w3"));
    assert_eq!(lb.control().find("w2"), None);
    // The removed worker's slot goes to the next one added, with a new generation; a response
    // still in flight for the removed worker is not booked against it.
    let new = lb.add_worker("w5", 1, (), t).unwrap();
    assert_eq!(new, WorkerId::new(2, 1));
    lb.on_response(0, id(2), t, ms(1), Outcome::Error);
    assert_eq!(lb.shard(0).stats(new).unwrap().total_requests(), 0);
    assert_eq!(lb.control.in_flight(&mut lb.shards, id(0)), Some(1));
}

#[test]
fn labels_are_unique() {
    let mut lb = pool(Algorithm::RoundRobin, 2, 2);
    let e = lb.add_worker("w1", 1, (), Instant::ZERO).unwrap_err();
    assert_eq!(e, ControlError::DuplicateLabel("w1".into()));
    assert_eq!(e.to_string(), "a worker named w1 is already in the pool");
    assert_eq!(lb.control().len(), 2);
}

#[test]
fn probes_draining_and_pins_reach_every_shard() {
    let mut lb = pool(Algorithm::RoundRobin, 3, 3);
    let w = WorkerId::first(1);
    let t = Instant::ZERO;
    for _ in 0..3 {
        lb.on_probe(w, t, false);
    }
    assert!((0..3).all(|s| !lb.shard(s).is_healthy(w)));
    assert!(lb.set_draining(WorkerId::first(0), true));
    assert!((0..3).all(|s| lb.shard(s).is_draining(WorkerId::first(0))));
    lb.pin(t, Algorithm::PeakEwma);
    assert!((0..3).all(|s| lb.shard(s).algorithm() == Algorithm::PeakEwma));
    assert_eq!(lb.algorithm(), Algorithm::PeakEwma);
    assert!(!lb.set_mode(Mode::Adaptive), "no engine to hand control to");
    assert!(lb.decisions_are_empty());
}

#[test]
fn a_scripts_switch_reaches_every_shard_and_leaves_the_engine_alone() {
    let engine = DecisionEngine::new(EngineConfig::default());
    let mut lb: Sharded<ChaCha8Rng> = Sharded::new(
        BalancerConfig::new(Algorithm::RoundRobin),
        Some(engine),
        2,
        |i| ChaCha8Rng::seed_from_u64(i as u64),
    );
    let before = lb.algorithm();
    assert_eq!(lb.set_algorithm(Algorithm::PowerOfTwo), before);
    assert!((0..2).all(|s| lb.shard(s).algorithm() == Algorithm::PowerOfTwo));
    assert_eq!(
        lb.control().mode(),
        Mode::Adaptive,
        "still the engine's to run"
    );
    assert!(lb.decisions_are_empty(), "a script logs its own switches");
}

impl<R: Rng, P: Clone> Sharded<R, P> {
    fn decisions_are_empty(&self) -> bool {
        self.control().decisions().is_empty()
    }
}

#[test]
fn one_engine_over_the_merged_shards_switches_every_shard_and_names_the_worker() {
    let engine = EngineConfig {
        slow_persist: Duration::ZERO,
        confirm_ticks: 1,
        ..EngineConfig::default()
    };
    let mut lb = Sharded::new(
        BalancerConfig::new(Algorithm::RoundRobin),
        Some(DecisionEngine::new(engine)),
        2,
        |i| ChaCha8Rng::seed_from_u64(i as u64),
    );
    for i in 0..4 {
        lb.add_worker(&format!("10.0.0.{i}:80"), 1, (), Instant::ZERO)
            .unwrap();
    }
    assert_eq!(lb.algorithm(), Algorithm::LeastConnections, "the baseline");
    // Worker 2 answers ten times slower than the rest; each shard sees half the traffic.
    let mut now = Instant::from_nanos(1);
    for n in 0..300u64 {
        now = Instant::ZERO + Duration::from_millis(n * 10);
        let shard = (n % 2) as usize;
        for w in lb.shard(shard).ids().collect::<Vec<_>>() {
            let latency = if w.slot() == 2 { ms(100) } else { ms(10) };
            lb.on_response(shard, w, now, latency, Outcome::Ok);
        }
    }
    let d = lb.tick(now).expect("a slow worker makes the engine switch");
    assert_eq!(d.to, Algorithm::PeakEwma);
    assert!(
        d.detail.starts_with("worker 10.0.0.2:80 latency"),
        "{}",
        d.detail
    );
    assert!((0..2).all(|s| lb.shard(s).algorithm() == Algorithm::PeakEwma));
    assert_eq!(lb.control().decisions().len(), 1);
}

#[test]
fn one_shard_is_exactly_a_lone_balancer() {
    for alg in Algorithm::ALL {
        let config = BalancerConfig::new(alg);
        let mut lone = Balancer::new(
            config.clone(),
            &[1, 2, 3, 1],
            ChaCha8Rng::seed_from_u64(9),
            Instant::ZERO,
        );
        let mut one = Sharded::new(config, None, 1, |_| ChaCha8Rng::seed_from_u64(9));
        for (i, w) in [1, 2, 3, 1].into_iter().enumerate() {
            one.add_worker(&format!("w{i}"), w, (), Instant::ZERO)
                .unwrap();
        }
        for n in 0..500u64 {
            let now = Instant::from_nanos(n * 1_000);
            let a = lone.pick(now);
            let b = one.pick(0, now);
            assert_eq!(a, b, "{alg} pick {n}");
            if let Some(w) = a
                && n % 3 == 0
            {
                let outcome = if w.slot() == 1 {
                    Outcome::Error
                } else {
                    Outcome::Ok
                };
                lone.on_response(w, now, ms(n % 17), outcome);
                one.on_response(0, w, now, ms(n % 17), outcome);
            }
        }
    }
}
