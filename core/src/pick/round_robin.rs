//! `round_robin`: each available worker in turn, in index order.
//!
//! The cursor remembers the last worker picked; the next pick is the first available worker after
//! it. Over N available workers, any N consecutive picks give each worker exactly one request.
//! Unavailable workers are skipped, not counted, so a down worker does not double its
//! neighbour's share.

use super::{Algorithm, Pick, Pool};
use rand::Rng;

/// Round robin over the available workers.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Pick for RoundRobin {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RoundRobin
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, _rng: &mut R) -> Option<usize> {
        let n = pool.len();
        if n == 0 || pool.available_count() == 0 {
            return None;
        }
        let start = self.next % n;
        for k in 0..n {
            let i = (start + k) % n;
            if pool.is_available(i) {
                self.next = i + 1;
                return Some(i);
            }
        }
        None
    }
}
