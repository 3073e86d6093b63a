//! The retry budget: retries may add at most `ratio` of the requests seen over the last
//! `window`, plus a floor of `min_per_s` retries per second, so a pool-wide failure cannot turn
//! into a retry storm (the shape of Linkerd's and Finagle's budgets: requests deposit, retries
//! withdraw, a minimum rate keeps low traffic retryable).
//!
//! Counts live in one-second buckets of atomics, so the data path takes no lock; two requests
//! racing on a bucket rollover may lose a count, which only makes the budget a hair looser or
//! tighter.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// How many one-second buckets (the window).
const BUCKETS: usize = 10;

/// One second's counts.
#[derive(Debug, Default)]
struct Bucket {
    second: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// A retry budget over a 10 s window.
#[derive(Debug)]
pub struct RetryBudget {
    start: Instant,
    ratio: f64,
    min_per_s: u64,
    buckets: [Bucket; BUCKETS],
}

impl RetryBudget {
    /// Retries up to `ratio` of requests plus `min_per_s` per second.
    pub fn new(ratio: f64, min_per_s: u64) -> Self {
        RetryBudget {
            start: Instant::now(),
            ratio,
            min_per_s,
            buckets: Default::default(),
        }
    }

    fn bucket(&self) -> &Bucket {
        let s = self.start.elapsed().as_secs() + 1;
        let b = &self.buckets[(s as usize) % BUCKETS];
        if b.second.swap(s, Relaxed) != s {
            b.requests.store(0, Relaxed);
            b.retries.store(0, Relaxed);
        }
        b
    }

    /// A request arrived.
    pub fn deposit(&self) {
        self.bucket().requests.fetch_add(1, Relaxed);
    }

    /// Take one retry if the budget allows it.
    pub fn try_withdraw(&self) -> bool {
        let now = self.start.elapsed().as_secs() + 1;
        let (mut requests, mut retries) = (0u64, 0u64);
        for b in &self.buckets {
            let s = b.second.load(Relaxed);
            if s + (BUCKETS as u64) > now {
                requests += b.requests.load(Relaxed);
                retries += b.retries.load(Relaxed);
            }
        }
        let allowed = (requests as f64 * self.ratio) as u64 + self.min_per_s * BUCKETS as u64;
        if retries >= allowed {
            return false;
        }
        self.bucket().retries.fetch_add(1, Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_capped_by_ratio_plus_floor() {
        let b = RetryBudget::new(0.2, 1);
        for _ in 0..100 {
            b.deposit();
        }
        // 20% of 100 plus 1/s over 10 s.
        let granted = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(granted, 30);
        let b = RetryBudget::new(0.0, 0);
        b.deposit();
        assert!(!b.try_withdraw());
    }
}
