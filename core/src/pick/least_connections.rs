//! `least_connections`: the available worker with the fewest requests in flight for its weight.
//!
//! Load is compared as `(in_flight + 1) / weight` (HAProxy's `leastconn` with weights), by cross
//! multiplication so no float is involved; with equal weights this is plain fewest-in-flight.
//! Ties must not all go to the lowest index (an idle pool would send everything to worker 0), so
//! the scan starts one past the last worker picked and takes the first minimum it meets: ties
//! rotate like round robin. O(N) per pick.
//!
//! Known trap: a worker that fails fast has few requests in flight and looks idle, so it gets
//! *more* traffic. The balancer's outlier ejection and the decision engine exist for that.

use super::{Algorithm, Pick, Pool};
use rand::Rng;

/// Least connections with rotating tie-break.
#[derive(Debug, Clone, Default)]
pub struct LeastConnections {
    next: usize,
}

impl Pick for LeastConnections {
    fn algorithm(&self) -> Algorithm {
        Algorithm::LeastConnections
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, _rng: &mut R) -> Option<usize> {
        let n = pool.len();
        if n == 0 || pool.available_count() == 0 {
            return None;
        }
        let start = self.next % n;
        // Best so far as (in_flight + 1, weight): a/b < c/d  <=>  a*d < c*b.
        let mut best: Option<(usize, u64, u64)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if !pool.is_available(i) {
                continue;
            }
            let load = u64::from(pool.in_flight(i)) + 1;
            let weight = u64::from(pool.weight(i).max(1));
            let better = match best {
                None => true,
                Some((_, bl, bw)) => load * bw < bl * weight,
            };
            if better {
                best = Some((i, load, weight));
            }
        }
        let (i, _, _) = best?;
        self.next = i + 1;
        Some(i)
    }
}
