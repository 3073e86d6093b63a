//! `power_of_two`: the power of two random choices (Mitzenmacher, 2001). Draw two distinct
//! available workers at random and send the request to the one with fewer in flight.
//!
//! Two choices instead of one turn the maximum queue length from `log n / log log n` into
//! `log log n`, at the cost of two random draws and no scan: O(1) per pick, and no herd behaviour
//! when many balancers share a pool. Ties go to the first draw, which is itself random.

use super::{Algorithm, Pick, Pool, two_distinct_available};
use rand::Rng;

/// Power of two choices on requests in flight.
#[derive(Debug, Clone, Copy, Default)]
pub struct PowerOfTwo;

impl Pick for PowerOfTwo {
    fn algorithm(&self) -> Algorithm {
        Algorithm::PowerOfTwo
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, rng: &mut R) -> Option<usize> {
        let (a, b) = two_distinct_available(pool, rng)?;
        Some(match b {
            Some(b) if pool.in_flight(b) < pool.in_flight(a) => b,
            _ => a,
        })
    }
}
