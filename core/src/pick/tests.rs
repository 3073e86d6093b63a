//! Unit and property tests for every algorithm.

use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn counts(p: &mut AnyPicker, pool: &PoolSnapshot, picks: usize, seed: u64) -> Vec<usize> {
    let mut r = rng(seed);
    let mut c = vec![0; pool.len()];
    for _ in 0..picks {
        c[p.pick(pool, &mut r).expect("a worker is available")] += 1;
    }
    c
}

/// A pool from a bit mask of availability, with optional per-worker values.
fn pool_from(avail: &[bool], in_flight: &[u32], weights: &[u32]) -> PoolSnapshot {
    PoolSnapshot {
        workers: avail
            .iter()
            .enumerate()
            .map(|(i, &a)| WorkerView {
                available: a,
                weight: weights.get(i).copied().unwrap_or(1),
                in_flight: in_flight.get(i).copied().unwrap_or(0),
                latency_ns: 1e6 * (1 + i) as f64,
            })
            .collect(),
    }
}

#[test]
fn round_robin_gives_each_worker_exactly_one_of_every_n_consecutive_picks() {
    for n in 1..=9 {
        let pool = PoolSnapshot::uniform(n);
        let mut p = AnyPicker::new(Algorithm::RoundRobin);
        let mut r = rng(1);
        // Start mid-cycle, then check several windows of N consecutive picks.
        for _ in 0..(n / 2) {
            p.pick(&pool, &mut r);
        }
        for _ in 0..5 {
            let mut seen = vec![0; n];
            for _ in 0..n {
                seen[p.pick(&pool, &mut r).unwrap()] += 1;
            }
            assert_eq!(seen, vec![1; n], "n = {n}");
        }
    }
}

#[test]
fn round_robin_skips_an_unavailable_worker_without_doubling_a_neighbour() {
    let pool = pool_from(&[true, false, true, true], &[], &[]);
    let c = counts(&mut AnyPicker::new(Algorithm::RoundRobin), &pool, 300, 1);
    assert_eq!(c, vec![100, 0, 100, 100]);
}

#[test]
fn smooth_weighted_round_robin_matches_nginx_sequence() {
    // nginx's documented example: weights a=5, b=1, c=1 give a a b a c a a.
    let pool = pool_from(&[true; 3], &[], &[5, 1, 1]);
    let mut p = AnyPicker::new(Algorithm::WeightedRoundRobin);
    let mut r = rng(1);
    let seq: Vec<usize> = (0..7).map(|_| p.pick(&pool, &mut r).unwrap()).collect();
    assert_eq!(seq, vec![0, 0, 1, 0, 2, 0, 0]);
}

#[test]
fn least_connections_picks_the_fewest_in_flight() {
    let pool = pool_from(&[true; 4], &[3, 1, 0, 2], &[]);
    let mut p = AnyPicker::new(Algorithm::LeastConnections);
    assert_eq!(p.pick(&pool, &mut rng(1)), Some(2));
}

#[test]
fn least_connections_ties_rotate_instead_of_piling_on_index_zero() {
    let pool = PoolSnapshot::uniform(5);
    let c = counts(
        &mut AnyPicker::new(Algorithm::LeastConnections),
        &pool,
        500,
        1,
    );
    assert_eq!(c, vec![100; 5]);
}

#[test]
fn least_connections_honours_weights() {
    // Worker 1 has twice the weight: 3 in flight on it costs (3+1)/2 = 2 < (2+1)/1 = 3.
    let pool = pool_from(&[true, true], &[2, 3], &[1, 2]);
    let mut p = AnyPicker::new(Algorithm::LeastConnections);
    assert_eq!(p.pick(&pool, &mut rng(1)), Some(1));
}

#[test]
fn power_of_two_never_picks_the_most_loaded_of_three() {
    // Any two distinct draws out of three include a worker with fewer in flight than worker 0.
    let pool = pool_from(&[true; 3], &[9, 1, 2], &[]);
    let c = counts(&mut AnyPicker::new(Algorithm::PowerOfTwo), &pool, 3000, 7);
    assert_eq!(c[0], 0);
    // Worker 1 wins against both others: it is picked whenever drawn (2 of 3 pairs).
    assert!((1900..2100).contains(&c[1]), "{c:?}");
}

#[test]
fn peak_ewma_prefers_the_lower_latency_times_in_flight() {
    // Worker 0: 1 ms x (0 + 1); worker 1: 2 ms x (0 + 1): worker 0 wins every pair.
    let pool = pool_from(&[true, true], &[0, 0], &[]);
    let c = counts(&mut AnyPicker::new(Algorithm::PeakEwma), &pool, 100, 3);
    assert_eq!(c, vec![100, 0]);
    // With 2 in flight worker 0 costs 3 ms, worker 1 still 2 ms.
    let pool = pool_from(&[true, true], &[2, 0], &[]);
    let c = counts(&mut AnyPicker::new(Algorithm::PeakEwma), &pool, 100, 3);
    assert_eq!(c, vec![0, 100]);
}

#[test]
fn random_is_close_to_uniform() {
    let pool = PoolSnapshot::uniform(4);
    let c = counts(&mut AnyPicker::new(Algorithm::Random), &pool, 40_000, 11);
    for x in c {
        // 10,000 expected, sd ~ 87: 5 sd.
        assert!((9_560..10_440).contains(&x), "{x}");
    }
}

#[test]
fn every_algorithm_returns_none_on_an_empty_or_all_down_pool() {
    for a in Algorithm::ALL {
        let mut p = AnyPicker::new(a);
        assert_eq!(p.pick(&PoolSnapshot::default(), &mut rng(1)), None, "{a}");
        let down = pool_from(&[false; 3], &[], &[]);
        assert_eq!(p.pick(&down, &mut rng(1)), None, "{a}");
        assert_eq!(p.algorithm(), a);
    }
}

#[test]
fn two_distinct_available_maps_ranks_past_holes() {
    let pool = pool_from(&[false, true, false, true], &[], &[]);
    let mut r = rng(5);
    for _ in 0..100 {
        let (a, b) = two_distinct_available(&pool, &mut r).unwrap();
        let b = b.unwrap();
        assert_ne!(a, b);
        assert!(a == 1 || a == 3);
        assert!(b == 1 || b == 3);
    }
    let single = pool_from(&[false, true], &[], &[]);
    assert_eq!(two_distinct_available(&single, &mut r), Some((1, None)));
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

proptest! {
    #[test]
    fn nothing_unavailable_is_ever_picked(
        alg in algorithm(),
        avail in prop::collection::vec(any::<bool>(), 0..12),
        in_flight in prop::collection::vec(0u32..20, 12),
        weights in prop::collection::vec(1u32..6, 12),
        seed in any::<u64>(),
    ) {
        let pool = pool_from(&avail, &in_flight, &weights);
        let mut p = AnyPicker::new(alg);
        let mut r = rng(seed);
        for _ in 0..50 {
            match p.pick(&pool, &mut r) {
                Some(i) => prop_assert!(pool.is_available(i), "{alg} picked unavailable {i}"),
                None => prop_assert_eq!(pool.available_count(), 0),
            }
        }
    }

    #[test]
    fn weighted_round_robin_honours_weights_exactly_over_a_cycle(
        weights in prop::collection::vec(1u32..8, 1..8),
        warmup in 0usize..20,
    ) {
        let pool = pool_from(&vec![true; weights.len()], &[], &weights);
        let mut p = AnyPicker::new(Algorithm::WeightedRoundRobin);
        let mut r = rng(0);
        for _ in 0..warmup {
            p.pick(&pool, &mut r);
        }
        let cycle: u32 = weights.iter().sum();
        let mut seen = vec![0u32; weights.len()];
        for _ in 0..cycle {
            seen[p.pick(&pool, &mut r).unwrap()] += 1;
        }
        prop_assert_eq!(seen, weights);
    }

    #[test]
    fn round_robin_is_exact_over_any_window_of_available_workers(
        avail in prop::collection::vec(any::<bool>(), 1..10),
        warmup in 0usize..20,
    ) {
        let pool = pool_from(&avail, &[], &[]);
        let k = pool.available_count();
        prop_assume!(k > 0);
        let mut p = AnyPicker::new(Algorithm::RoundRobin);
        let mut r = rng(0);
        for _ in 0..warmup {
            p.pick(&pool, &mut r);
        }
        let mut seen = vec![0; avail.len()];
        for _ in 0..k {
            seen[p.pick(&pool, &mut r).unwrap()] += 1;
        }
        for (i, &a) in avail.iter().enumerate() {
            prop_assert_eq!(seen[i], usize::from(a));
        }
    }

    #[test]
    fn two_distinct_draws_are_distinct_and_available(
        avail in prop::collection::vec(any::<bool>(), 0..12),
        seed in any::<u64>(),
    ) {
        let pool = pool_from(&avail, &[], &[]);
        let mut r = rng(seed);
        match two_distinct_available(&pool, &mut r) {
            None => prop_assert_eq!(pool.available_count(), 0),
            Some((a, None)) => {
                prop_assert_eq!(pool.available_count(), 1);
                prop_assert!(pool.is_available(a));
            }
            Some((a, Some(b))) => {
                prop_assert!(a != b);
                prop_assert!(pool.is_available(a) && pool.is_available(b));
            }
        }
    }
}
