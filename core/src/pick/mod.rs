//! The balancing algorithms: one small type per file behind one trait, [`Pick`].
//!
//! An algorithm sees the pool only through the [`Pool`] trait: how many workers, which are
//! available, their weights, requests in flight and peak-EWMA latency cost. Health filtering is
//! done by the balancer before an algorithm looks (pingora's `select_with(.., accept)` idea): an
//! algorithm never returns a worker for which [`Pool::is_available`] is false, and returns `None`
//! when no worker is available (the balancer then answers 503).
//!
//! Randomness is injected: `pick` takes the caller's RNG (tower's `Balance::from_rng`). Per-worker
//! state that must survive a switch of algorithm (in flight, latency estimates) lives in the
//! balancer's stats, not in the algorithm; an algorithm keeps only its own cursor or weights, so
//! switching algorithms at run time loses nothing.
//!
//! | name | idea |
//! |---|---|
//! | `round_robin` | next available worker in index order |
//! | `weighted_round_robin` | nginx's smooth weighted round robin |
//! | `random` | uniform among available workers |
//! | `least_connections` | fewest in flight relative to weight; ties rotate |
//! | `power_of_two` | two distinct random workers, the one with fewer in flight (Mitzenmacher) |
//! | `peak_ewma` | two distinct random workers, the lower peak-EWMA latency x (in flight + 1) (Finagle, Linkerd) |

mod algorithm;
mod least_connections;
mod peak_ewma;
mod pool;
mod power_of_two;
mod random;
mod round_robin;
mod sample;
mod weighted_round_robin;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use least_connections::LeastConnections;
pub use peak_ewma::PeakEwma;
pub use pool::{Pool, PoolSnapshot, WorkerView};
pub use power_of_two::PowerOfTwo;
pub use random::RandomPick;
pub use round_robin::RoundRobin;
pub use sample::{nth_available, random_available, two_distinct_available};
pub use weighted_round_robin::WeightedRoundRobin;

use rand::Rng;

/// A balancing algorithm: chooses one available worker of the pool, or none.
pub trait Pick {
    /// The algorithm's stable name.
    fn algorithm(&self) -> Algorithm;

    /// Choose an available worker, or `None` if no worker is available.
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, rng: &mut R) -> Option<usize>;

    /// The worker at index `i` left the pool (its index may later hold a new worker): drop any
    /// state kept for it. Cursors stay where they are; indices never shift.
    fn forget(&mut self, _i: usize) {}
}

/// Any of the algorithms, dispatched statically (an enum rather than a `Box<dyn>`, so the pick
/// on the hot path is a jump table, not a virtual call, and the RNG stays generic).
#[derive(Debug, Clone)]
pub enum AnyPicker {
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`WeightedRoundRobin`].
    WeightedRoundRobin(WeightedRoundRobin),
    /// See [`RandomPick`].
    Random(RandomPick),
    /// See [`LeastConnections`].
    LeastConnections(LeastConnections),
    /// See [`PowerOfTwo`].
    PowerOfTwo(PowerOfTwo),
    /// See [`PeakEwma`].
    PeakEwma(PeakEwma),
}

impl AnyPicker {
    /// A fresh picker for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::RoundRobin => AnyPicker::RoundRobin(RoundRobin::default()),
            Algorithm::WeightedRoundRobin => {
                AnyPicker::WeightedRoundRobin(WeightedRoundRobin::default())
            }
            Algorithm::Random => AnyPicker::Random(RandomPick),
            Algorithm::LeastConnections => AnyPicker::LeastConnections(LeastConnections::default()),
            Algorithm::PowerOfTwo => AnyPicker::PowerOfTwo(PowerOfTwo),
            Algorithm::PeakEwma => AnyPicker::PeakEwma(PeakEwma),
        }
    }
}

impl Pick for AnyPicker {
    fn algorithm(&self) -> Algorithm {
        match self {
            AnyPicker::RoundRobin(p) => p.algorithm(),
            AnyPicker::WeightedRoundRobin(p) => p.algorithm(),
            AnyPicker::Random(p) => p.algorithm(),
            AnyPicker::LeastConnections(p) => p.algorithm(),
            AnyPicker::PowerOfTwo(p) => p.algorithm(),
            AnyPicker::PeakEwma(p) => p.algorithm(),
        }
    }

    #[inline]
    fn pick<P: Pool + ?Sized, R: Rng + ?Sized>(&mut self, pool: &P, rng: &mut R) -> Option<usize> {
        match self {
            AnyPicker::RoundRobin(p) => p.pick(pool, rng),
            AnyPicker::WeightedRoundRobin(p) => p.pick(pool, rng),
            AnyPicker::Random(p) => p.pick(pool, rng),
            AnyPicker::LeastConnections(p) => p.pick(pool, rng),
            AnyPicker::PowerOfTwo(p) => p.pick(pool, rng),
            AnyPicker::PeakEwma(p) => p.pick(pool, rng),
        }
    }

    fn forget(&mut self, i: usize) {
        if let AnyPicker::WeightedRoundRobin(p) = self {
            p.forget(i);
        }
    }
}

#[cfg(test)]
mod tests;
