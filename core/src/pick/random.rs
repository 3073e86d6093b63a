//! `random`: a uniformly random available worker. The baseline every other algorithm must beat:
//! with Poisson arrivals each worker sees an M/M/1 (or M/G/k) queue of its own.

use super::{Algorithm, Pick, Pool, random_available};
use rand::Rng;

/// Uniform random choice.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPick;

impl Pick for RandomPick {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Random
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, rng: &mut R) -> Option<usize> {
        random_available(pool, rng)
    }
}
