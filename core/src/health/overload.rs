//! Overload must never become an outage: the panic threshold and admission control.
//!
//! When capacity drops, the workers left get more than they can serve: their queues grow and
//! their requests time out, all of them at once. A balancer that reads those timeouts as
//! "these workers are broken" and ejects them makes the overload worse for the rest, and can
//! eject its way into an outage that outlives the cause. Three guards stop that spiral:
//!
//! - **Panic threshold** (Envoy's `healthy_panic_threshold`, default 50%). When the *available*
//!   share of the pool (healthy, not ejected, not draining, out of the workers not draining)
//!   falls below `panic_threshold` percent, the balancer stops trusting its own filter and routes
//!   over every worker that active health checks say is up, *ejected or not*: spreading the load
//!   over the whole pool beats concentrating it on the few left. Unlike Envoy, which then routes
//!   to every host, workers that active checks say are down stay out, because a probe that
//!   fails `fall` times in a row is much stronger evidence than a streak of failed requests; when
//!   no worker at all is up there is no pick, and the answer is a 503 at once (requests sent to
//!   dead workers would only come back as refused connections or timeouts). Draining workers never take new requests.
//!   Outlier ejection also never ejects a worker when that would take the available share below
//!   the threshold: with the default, ejection alone never removes more than half the pool.
//! - **Timeouts are the pool's, unless one worker stands out**: see
//!   [`OutlierDetector`](super::OutlierDetector)'s docs.
//! - **Admission control**: at most `max_in_flight_per_worker` requests in flight on one
//!   worker and `max_pending` in the whole balancer. Beyond that, a pick answers
//!   [`PickError::Overloaded`] at once instead of queueing one more request behind work that
//!   will time out anyway: live mode turns it into a 503 with `Retry-After`, the simulator into
//!   an immediate error. Both are off (0) by default.
//!
//! With several shards each shard enforces its share of the limits: `ceil(limit / shards)`
//! (each shard counts only the requests it sent), see `lb_core::Control::set_overload`.

/// The panic threshold and the admission limits. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverloadConfig {
    /// Below this percent of the pool available, route over every worker that is up, ejected
    /// or not (values above 100 act as 100; 0 disables panic mode and the ejection guard).
    pub panic_threshold: u32,
    /// Most requests in flight on one worker (0: no limit).
    pub max_in_flight_per_worker: u32,
    /// Most requests in flight in the whole balancer (0: no limit).
    pub max_pending: u32,
}

impl Default for OverloadConfig {
    /// Panic below 50% available (Envoy's default); no admission limits.
    fn default() -> Self {
        OverloadConfig {
            panic_threshold: 50,
            max_in_flight_per_worker: 0,
            max_pending: 0,
        }
    }
}

impl OverloadConfig {
    /// Whether `available` workers out of `pool` are below the panic threshold. An empty pool
    /// never panics.
    pub fn panics(&self, available: usize, pool: usize) -> bool {
        pool > 0 && available.saturating_mul(100) < self.threshold().saturating_mul(pool)
    }

    /// Whether ejecting one of `available` workers (out of `pool`) keeps the available share at
    /// or above the panic threshold.
    pub fn may_eject(&self, available: usize, pool: usize) -> bool {
        available > 0 && !self.panics(available - 1, pool)
    }

    /// This config for one of `shards` shards: each admission limit is split evenly, rounding
    /// up (a limit stays a limit: never 0 when it was set).
    pub fn per_shard(&self, shards: usize) -> OverloadConfig {
        let split = |v: u32| {
            let n = u32::try_from(shards.max(1)).unwrap_or(u32::MAX);
            v.div_ceil(n)
        };
        OverloadConfig {
            max_in_flight_per_worker: split(self.max_in_flight_per_worker),
            max_pending: split(self.max_pending),
            ..*self
        }
    }

    fn threshold(&self) -> usize {
        self.panic_threshold.min(100) as usize
    }
}

/// Why a pick gave no worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PickError {
    /// No worker may take requests (none in the pool, or all draining).
    #[error("no worker is available")]
    NoWorker,
    /// Workers are there but at their admission limits: shed this request now (503 with
    /// `Retry-After`), it would only queue behind work that times out.
    #[error("overloaded: every candidate worker is at its in-flight limit")]
    Overloaded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_strictly_below_the_threshold() {
        let c = OverloadConfig::default();
        assert!(!c.panics(5, 10));
        assert!(c.panics(4, 10));
        assert!(!c.panics(0, 0), "an empty pool never panics");
        let off = OverloadConfig {
            panic_threshold: 0,
            ..c
        };
        assert!(!off.panics(0, 10));
        let all = OverloadConfig {
            panic_threshold: 250,
            ..c
        };
        assert!(all.panics(9, 10) && !all.panics(10, 10));
    }

    #[test]
    fn ejection_may_not_take_the_pool_below_the_threshold() {
        let c = OverloadConfig::default();
        assert!(c.may_eject(6, 10));
        assert!(!c.may_eject(5, 10));
        assert!(!c.may_eject(1, 1));
        assert!(!c.may_eject(0, 3));
        let off = OverloadConfig {
            panic_threshold: 0,
            ..c
        };
        assert!(off.may_eject(1, 1));
    }

    #[test]
    fn limits_split_over_shards_round_up_and_stay_set() {
        let c = OverloadConfig {
            panic_threshold: 30,
            max_in_flight_per_worker: 10,
            max_pending: 1,
        };
        let s = c.per_shard(4);
        assert_eq!((s.max_in_flight_per_worker, s.max_pending), (3, 1));
        assert_eq!(s.panic_threshold, 30);
        assert_eq!(OverloadConfig::default().per_shard(8).max_pending, 0);
        assert_eq!(c.per_shard(0), c);
    }
}
