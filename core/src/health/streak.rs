//! A worker's run of consecutive failures, shared by every shard that sends it requests.
//!
//! Outlier ejection counts failures in a row (Envoy's `consecutive_5xx`). When the pool is split
//! into shards, each shard sees only part of a worker's responses; a streak per shard would let
//! a dead worker fail `threshold` times *in every shard* before any of them ejects it. So the
//! streak is one counter per worker, held by all the shards' detectors: a failure anywhere adds
//! one, a success anywhere ends the run, and the shard whose failure reaches the threshold ejects
//! the worker (for every shard, through `lb_core::Control`).
//!
//! It is an atomic so that live mode's shards, each behind its own lock on its own core, can
//! share it without a lock; a success only writes when the run is not already zero, so a healthy
//! worker's counter is read, never bounced between cores. The simulator is single-threaded and
//! sees plain counting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Failures in a row of one worker; clones share the count.
#[derive(Clone, Debug, Default)]
pub struct Streak(Arc<AtomicU32>);

impl Streak {
    /// A new run at zero.
    pub fn new() -> Self {
        Streak::default()
    }

    /// One more failure; returns the run's length including it.
    #[inline]
    pub fn fail(&self) -> u32 {
        self.0.fetch_add(1, Relaxed).saturating_add(1)
    }

    /// The run ends (a success, an ejection, a return to the pool).
    #[inline]
    pub fn reset(&self) {
        if self.0.load(Relaxed) != 0 {
            self.0.store(0, Relaxed);
        }
    }

    /// The run's length now.
    pub fn get(&self) -> u32 {
        self.0.load(Relaxed)
    }
}

impl PartialEq for Streak {
    /// Two streaks are equal when they count the same (for comparing detectors in tests).
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_run() {
        let a = Streak::new();
        let b = a.clone();
        assert_eq!(a.fail(), 1);
        assert_eq!(b.fail(), 2);
        b.reset();
        assert_eq!(a.get(), 0);
        assert_eq!(a.fail(), 1);
        assert_eq!(Streak::new().get(), 0, "a new streak is its own");
    }
}
