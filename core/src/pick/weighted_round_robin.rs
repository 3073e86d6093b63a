//! `weighted_round_robin`: nginx's smooth weighted round robin.
//!
//! Each pick, every available worker's current weight grows by its weight; the worker with the
//! largest current weight is picked and its current weight drops by the total. Over one cycle of
//! `sum(weights)` picks each worker is picked exactly `weight` times, and the picks are spread
//! out (weights 5,1,1 give `a a b a c a a`, not `a a a a a b c`). Ties go to the lowest index,
//! which keeps the sequence deterministic.
//!
//! Current weights are indexed by worker; when the pool grows they start at zero, an unavailable
//! worker neither gains nor is counted in the total, and a worker that leaves the pool is
//! forgotten (its index starts again at zero for whoever takes it next).

use super::{Algorithm, Pick, Pool};
use rand::Rng;

/// Smooth weighted round robin.
#[derive(Debug, Clone, Default)]
pub struct WeightedRoundRobin {
    current: Vec<i64>,
}

impl Pick for WeightedRoundRobin {
    fn algorithm(&self) -> Algorithm {
        Algorithm::WeightedRoundRobin
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, _rng: &mut R) -> Option<usize> {
        let n = pool.len();
        if self.current.len() != n {
            self.current.resize(n, 0);
        }
        let mut total: i64 = 0;
        let mut best: Option<usize> = None;
        for i in 0..n {
            if !pool.is_available(i) {
                continue;
            }
            let w = i64::from(pool.weight(i).max(1));
            self.current[i] += w;
            total += w;
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] -= total;
        Some(b)
    }

    fn forget(&mut self, i: usize) {
        if let Some(c) = self.current.get_mut(i) {
            *c = 0;
        }
    }
}
