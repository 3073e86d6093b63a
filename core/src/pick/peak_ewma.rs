//! `peak_ewma`: power of two choices on a latency cost, as Finagle's and Linkerd's balancers do.
//!
//! Each worker's cost is its peak-EWMA round-trip estimate times `in_flight + 1` (tower's
//! `PeakEwma` load). The estimate jumps up at once when a slow response is seen and decays back
//! slowly (see `stats::PeakEwma`), so a worker that turns slow is avoided within one response,
//! while one that recovers is trusted again gradually. Multiplying by the requests in flight
//! folds queueing into the cost: a fast worker with a long queue is not fast.

use super::{Algorithm, Pick, Pool, two_distinct_available};
use rand::Rng;

/// P2C on peak-EWMA latency weighted by requests in flight.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeakEwma;

impl Pick for PeakEwma {
    fn algorithm(&self) -> Algorithm {
        Algorithm::PeakEwma
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, rng: &mut R) -> Option<usize> {
        let (a, b) = two_distinct_available(pool, rng)?;
        let Some(b) = b else { return Some(a) };
        let cost = |i: usize| pool.latency_cost(i) * (f64::from(pool.in_flight(i)) + 1.0);
        Some(if cost(b) < cost(a) { b } else { a })
    }
}
