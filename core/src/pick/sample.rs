//! Sampling helpers shared by the random algorithms, kept as free functions (linkerd's
//! `gen_pair`) so they can be property-tested on their own.
//!
//! When every worker is available (the common case) a rank is an index and sampling is O(1);
//! otherwise ranks are mapped to indices by one scan of the pool, with no allocation.

use super::Pool;
use rand::{Rng, RngExt};

/// The index of the `rank`-th available worker (0-based), if there is one.
pub fn nth_available<P: Pool + ?Sized>(pool: &P, rank: usize) -> Option<usize> {
    if pool.available_count() == pool.len() {
        return (rank < pool.len()).then_some(rank);
    }
    (0..pool.len()).filter(|&i| pool.is_available(i)).nth(rank)
}

/// A uniformly random available worker.
pub fn random_available<P: Pool + ?Sized, R: Rng + ?Sized>(pool: &P, rng: &mut R) -> Option<usize> {
    let k = pool.available_count();
    if k == 0 {
        return None;
    }
    nth_available(pool, rng.random_range(0..k))
}

/// Two distinct available workers drawn uniformly without replacement; the second is `None`
/// when only one worker is available.
pub fn two_distinct_available<P: Pool + ?Sized, R: Rng + ?Sized>(
    pool: &P,
    rng: &mut R,
) -> Option<(usize, Option<usize>)> {
    let k = pool.available_count();
    match k {
        0 => None,
        1 => nth_available(pool, 0).map(|a| (a, None)),
        _ => {
            let a = rng.random_range(0..k);
            let mut b = rng.random_range(0..k - 1);
            if b >= a {
                b += 1;
            }
            if k == pool.len() {
                return Some((a, Some(b)));
            }
            let ia = nth_available(pool, a)?;
            let ib = nth_available(pool, b)?;
            Some((ia, Some(ib)))
        }
    }
}
