//! What an algorithm may see of the pool: the [`Pool`] trait, and [`PoolSnapshot`], a plain
//! vector-backed pool for tests, benchmarks and tools.

/// The pool as an algorithm sees it. Indices run from `0` to `len() - 1`.
pub trait Pool {
    /// Number of workers, available or not.
    fn len(&self) -> usize;
    /// Whether the pool has no workers at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of workers that may be picked.
    fn available_count(&self) -> usize;
    /// Whether worker `i` may be picked (healthy, not ejected, not draining).
    fn is_available(&self, i: usize) -> bool;
    /// Configured weight of worker `i` (at least 1).
    fn weight(&self, i: usize) -> u32;
    /// Requests dispatched to worker `i` and not yet answered.
    fn in_flight(&self, i: usize) -> u32;
    /// Peak-EWMA latency estimate of worker `i` now, in nanoseconds.
    fn latency_cost(&self, i: usize) -> f64;
}

/// One worker as seen in a [`PoolSnapshot`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkerView {
    /// May be picked.
    pub available: bool,
    /// Weight, at least 1.
    pub weight: u32,
    /// Requests in flight.
    pub in_flight: u32,
    /// Peak-EWMA latency estimate in nanoseconds.
    pub latency_ns: f64,
}

impl Default for WorkerView {
    fn default() -> Self {
        WorkerView {
            available: true,
            weight: 1,
            in_flight: 0,
            latency_ns: 0.0,
        }
    }
}

/// A pool held as a plain vector of [`WorkerView`]s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolSnapshot {
    /// The workers, by index.
    pub workers: Vec<WorkerView>,
}

impl PoolSnapshot {
    /// `n` available workers of weight 1, idle.
    pub fn uniform(n: usize) -> Self {
        PoolSnapshot {
            workers: vec![WorkerView::default(); n],
        }
    }
}

impl Pool for PoolSnapshot {
    fn len(&self) -> usize {
        self.workers.len()
    }
    fn available_count(&self) -> usize {
        self.workers.iter().filter(|w| w.available).count()
    }
    fn is_available(&self, i: usize) -> bool {
        self.workers.get(i).is_some_and(|w| w.available)
    }
    fn weight(&self, i: usize) -> u32 {
        self.workers.get(i).map_or(1, |w| w.weight.max(1))
    }
    fn in_flight(&self, i: usize) -> u32 {
        self.workers.get(i).map_or(0, |w| w.in_flight)
    }
    fn latency_cost(&self, i: usize) -> f64 {
        self.workers.get(i).map_or(0.0, |w| w.latency_ns)
    }
}
