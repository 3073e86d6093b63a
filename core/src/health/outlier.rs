//! Passive health: Envoy-style outlier detection by consecutive failures.
//!
//! Active probes are slow to notice a worker that answers `/health` but fails real traffic. Envoy's
//! outlier detector watches the real responses instead: after `consecutive_failures` failures in
//! a row (Envoy's `consecutive_5xx`, default 5) the worker is *ejected*, taken out of the pool,
//! for `base_ejection * times_ejected`, capped at `max_ejection`. A worker that keeps failing is
//! thus ejected for longer each time; one that behaves earns its way back, because the multiplier
//! drops by one for every `base_ejection` it spends in the pool.
//!
//! Two guards keep the detector from emptying the pool. `max_ejection_percent` caps how much of
//! the pool may be ejected at once (at most `max(1, workers * percent / 100)` workers: like
//! Envoy, one worker may always be ejected when the percent is above zero, so a small pool still
//! gets protection). And an ejection refused by that cap keeps the failure count, so the next
//! failure tries again as soon as room frees up.
//!
//! Responses that arrive for an ejected worker (requests that were in flight when it was ejected)
//! are ignored: they neither extend the ejection nor count toward the next one. The failure count
//! starts from zero when a worker comes back. Ejections end by time: [`OutlierDetector::tick`]
//! un-ejects every worker whose ejection has expired at `now`, and
//! [`OutlierDetector::next_expiry`] tells a simulator when that will next happen.
//!
//! [`OutlierDetector::on_outcome`] is on the per-request path and is O(1) without allocation;
//! [`OutlierDetector::tick`] is O(workers).
//!
//! Workers are indexed by *slot*, the balancer's stable position for a worker: removing one
//! ([`vacate`](OutlierDetector::vacate)) leaves its slot empty and never moves the others, and a
//! new worker may [`occupy`](OutlierDetector::occupy) an empty slot with a clean record. When
//! several shards each run a detector over the same pool, one shard's ejection is applied to the
//! others with [`eject`](OutlierDetector::eject), so that they agree on who is out and for how
//! long (`lb_core::Control` does this).
//!
//! # Timeouts and overload
//!
//! Error answers and refused connections always count toward the streak. A timeout counts only
//! when it *stands out*: when the worker has timed out at more than twice the rate of the rest
//! of the pool over the last 5 to 10 seconds (see `TimeoutShares` in `timeouts.rs`). When most
//! of the pool is timing out, that is overload, not a bad worker, and ejecting workers for it
//! only concentrates the load on fewer of them. Such a timeout neither adds to the streak nor
//! ends it. The caller may also forbid an ejection (`may_eject` in
//! [`OutlierDetector::on_verdict`]): the balancer does when ejecting would take the available
//! share of the pool below its panic threshold (see `overload.rs`); like a refusal by the
//! percent cap, the failure count is kept.
//!
//! One difference from Envoy: Envoy checks the percent *before* ejecting (eject while fewer than
//! `percent` are out), which lets the last ejection overshoot it; here the count *after* the
//! ejection must stay within the cap (or be the one always-allowed worker).

use super::Streak;
use super::timeouts::TimeoutShares;
use crate::time::{Duration, Instant};

/// What one response says about its worker, for outlier detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A good answer: ends the streak.
    Success,
    /// An error answer or a refused connection: always adds to the streak.
    Failure,
    /// No answer in time: adds to the streak only when the worker's timeouts stand out from
    /// the pool's (see the module docs).
    Timeout,
}

/// When and for how long failing workers are ejected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierConfig {
    /// Failures in a row that eject a worker. 0 disables ejection entirely.
    pub consecutive_failures: u32,
    /// Ejection length for a first ejection; the n-th ejection lasts `n` times this.
    pub base_ejection: Duration,
    /// Cap on the ejection length.
    pub max_ejection: Duration,
    /// At most this percent of the pool ejected at once (values above 100 act as 100; at least
    /// one worker may always be ejected when this is above 0).
    pub max_ejection_percent: u32,
}

impl Default for OutlierConfig {
    /// 5 failures in a row, 30 s base ejection, 300 s cap, at most half the pool.
    fn default() -> Self {
        OutlierConfig {
            consecutive_failures: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
            max_ejection_percent: 50,
        }
    }
}

/// One worker's outlier state.
#[derive(Clone, Debug, Default, PartialEq)]
struct WorkerState {
    /// Failures in a row since the last success (or since it came back), shared with the other
    /// shards' detectors.
    failures: Streak,
    /// The ejection multiplier.
    times_ejected: u32,
    /// `Some` while ejected.
    ejected_until: Option<Instant>,
    /// Start of the un-ejected stretch not yet credited to the multiplier's decay.
    decay_from: Instant,
    /// A worker holds this slot.
    present: bool,
}

/// Consecutive-failure ejection for a pool of workers, indexed by slot.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierDetector {
    cfg: OutlierConfig,
    workers: Vec<WorkerState>,
    present: usize,
    ejected: usize,
    timeouts: TimeoutShares,
}

impl OutlierDetector {
    /// A detector for `workers` workers in slots `0..workers`, none of them ejected.
    pub fn new(cfg: OutlierConfig, workers: usize) -> Self {
        let present = || WorkerState {
            present: true,
            ..WorkerState::default()
        };
        OutlierDetector {
            cfg,
            workers: (0..workers).map(|_| present()).collect(),
            present: workers,
            ejected: 0,
            timeouts: TimeoutShares::default(),
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &OutlierConfig {
        &self.cfg
    }

    /// Number of workers tracked (occupied slots).
    pub fn len(&self) -> usize {
        self.present
    }

    /// Whether no workers are tracked.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// A new worker in `slot` (the vector grows as needed), not ejected, with a clean record,
    /// counting its failures in a row in `streak` (shared with other shards' detectors, or
    /// [`Streak::new`]). A slot already occupied starts afresh.
    pub fn occupy(&mut self, slot: usize, streak: Streak) {
        if slot >= self.workers.len() {
            self.workers.resize_with(slot + 1, WorkerState::default);
        }
        self.vacate(slot);
        self.timeouts.clear(slot);
        streak.reset();
        let s = &mut self.workers[slot];
        s.failures = streak;
        s.present = true;
        self.present += 1;
    }

    /// The worker in `slot` leaves the pool; no other slot changes. An empty or unknown slot is
    /// ignored.
    pub fn vacate(&mut self, slot: usize) {
        let Some(s) = self.workers.get_mut(slot) else {
            return;
        };
        if !s.present {
            return;
        }
        if s.ejected_until.is_some() {
            self.ejected -= 1;
        }
        *s = WorkerState::default();
        self.present -= 1;
        self.timeouts.clear(slot);
    }

    /// The most workers that may be ejected at once with the current pool size:
    /// `max(1, len * percent / 100)`, or 0 when the percent is 0 or the pool is empty.
    pub fn max_ejected(&self) -> usize {
        let n = self.present;
        let pct = self.cfg.max_ejection_percent.min(100) as usize;
        if pct == 0 || n == 0 {
            0
        } else {
            (n.saturating_mul(pct) / 100).max(1)
        }
    }

    /// One response outcome for `worker` at `now`: a success (`ok`) or a failure that always
    /// counts. Returns `Some(until)` if this outcome ejected the worker. Outcomes for an ejected
    /// or unknown worker are ignored. See [`on_verdict`](Self::on_verdict).
    pub fn on_outcome(&mut self, worker: usize, ok: bool, now: Instant) -> Option<Instant> {
        let v = if ok {
            Verdict::Success
        } else {
            Verdict::Failure
        };
        self.on_verdict(worker, v, now, true)
    }

    /// One response's [`Verdict`] on `worker` at `now`. A timeout counts as a failure only when
    /// it stands out from the pool's (module docs). With `may_eject` false the worker is not
    /// ejected whatever its streak (the streak is kept, as when the percent cap refuses).
    /// Returns `Some(until)` if this verdict ejected the worker; verdicts on an ejected or
    /// unknown worker are ignored.
    pub fn on_verdict(
        &mut self,
        worker: usize,
        verdict: Verdict,
        now: Instant,
        may_eject: bool,
    ) -> Option<Instant> {
        let threshold = self.cfg.consecutive_failures;
        if threshold == 0 {
            return None;
        }
        let room = may_eject && self.ejected < self.max_ejected();
        let base = self.cfg.base_ejection;
        let s = self.workers.get(worker).filter(|s| s.present)?;
        if s.ejected_until.is_some() {
            return None;
        }
        self.timeouts.record(worker, verdict == Verdict::Timeout);
        let counts = match verdict {
            Verdict::Success => {
                s.failures.reset();
                return None;
            }
            Verdict::Failure => true,
            Verdict::Timeout => self.timeouts.stands_out(worker),
        };
        let s = &mut self.workers[worker];
        if !counts || s.failures.fail() < threshold || !room {
            return None;
        }
        let until = now + eject_now(s, now, base, self.cfg.max_ejection);
        s.ejected_until = Some(until);
        self.ejected += 1;
        Some(until)
    }

    /// Eject `worker` until `until` because another detector over the same pool did: it counts
    /// as an ejection here too (the multiplier grows as it did there), whatever the failure
    /// count and the cap, so that the detectors agree. A worker already ejected keeps its
    /// multiplier and takes `until` as its end. Returns whether it was newly ejected; an empty or
    /// unknown slot is ignored.
    pub fn eject(&mut self, worker: usize, until: Instant, now: Instant) -> bool {
        let base = self.cfg.base_ejection;
        let max = self.cfg.max_ejection;
        let Some(s) = self.workers.get_mut(worker).filter(|s| s.present) else {
            return false;
        };
        let newly = s.ejected_until.is_none();
        if newly {
            eject_now(s, now, base, max);
            self.ejected += 1;
        }
        s.ejected_until = Some(until);
        newly
    }

    /// Un-ejects every worker whose ejection has expired at `now` (`now >= until`) and returns
    /// how many came back. Also decays the ejection multiplier of workers in the pool: it drops by
    /// one for each whole `base_ejection` spent un-ejected since they came back. O(workers).
    pub fn tick(&mut self, now: Instant) -> usize {
        self.timeouts.roll(now);
        let base = self.cfg.base_ejection;
        let mut back = 0;
        for s in self.workers.iter_mut().filter(|s| s.present) {
            match s.ejected_until {
                Some(until) if now >= until => {
                    s.ejected_until = None;
                    s.failures.reset();
                    s.decay_from = now;
                    back += 1;
                }
                Some(_) => {}
                None => decay(s, now, base),
            }
        }
        self.ejected -= back;
        back
    }

    /// Bring `worker` back at once with a clean failure count (its multiplier is kept), as
    /// Envoy does when active health checking sees an ejected host healthy again. Returns
    /// whether it was ejected.
    pub fn reinstate(&mut self, worker: usize, now: Instant) -> bool {
        let Some(s) = self.workers.get_mut(worker) else {
            return false;
        };
        if s.ejected_until.take().is_none() {
            return false;
        }
        s.failures.reset();
        s.decay_from = now;
        self.ejected -= 1;
        true
    }

    /// Whether `worker` is ejected (false for an unknown worker).
    pub fn is_ejected(&self, worker: usize) -> bool {
        self.ejected_until(worker).is_some()
    }

    /// How many workers are ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// The ejection multiplier of `worker` (0 for an unknown worker).
    pub fn times_ejected(&self, worker: usize) -> u32 {
        self.workers.get(worker).map_or(0, |s| s.times_ejected)
    }

    /// When `worker`'s ejection ends, if it is ejected.
    pub fn ejected_until(&self, worker: usize) -> Option<Instant> {
        self.workers.get(worker).and_then(|s| s.ejected_until)
    }

    /// The earliest instant at which an ejection expires, if any worker is ejected: when the
    /// caller should next call [`tick`](Self::tick). O(workers).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.workers.iter().filter_map(|s| s.ejected_until).min()
    }
}

/// Count an ejection of `s` at `now`: credit the decay, grow the multiplier, clear the failure
/// count. Returns the ejection's length.
fn eject_now(s: &mut WorkerState, now: Instant, base: Duration, max: Duration) -> Duration {
    decay(s, now, base);
    s.times_ejected = s.times_ejected.saturating_add(1);
    s.failures.reset();
    base.saturating_mul(u64::from(s.times_ejected)).min(max)
}

/// Credits an un-ejected worker's multiplier with the whole `base` periods since `decay_from`.
fn decay(s: &mut WorkerState, now: Instant, base: Duration) {
    if s.times_ejected == 0 || s.ejected_until.is_some() {
        return;
    }
    if base.is_zero() {
        s.times_ejected = 0;
        return;
    }
    let periods = (now - s.decay_from).as_nanos() / base.as_nanos();
    if periods > 0 {
        s.times_ejected = s
            .times_ejected
            .saturating_sub(u32::try_from(periods).unwrap_or(u32::MAX));
        s.decay_from += base.saturating_mul(periods);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const fn secs(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    fn cfg(n: u32) -> OutlierConfig {
        OutlierConfig {
            consecutive_failures: n,
            max_ejection_percent: 100,
            ..OutlierConfig::default()
        }
    }

    /// Fails `worker` `n` times at `now`; returns the last outcome's result.
    fn fail(d: &mut OutlierDetector, worker: usize, n: u32, now: Instant) -> Option<Instant> {
        let mut last = None;
        for _ in 0..n {
            last = d.on_outcome(worker, false, now);
        }
        last
    }

    #[test]
    fn ejects_at_exactly_n_consecutive_failures_not_before() {
        let mut d = OutlierDetector::new(cfg(5), 4);
        assert_eq!(fail(&mut d, 1, 4, secs(1)), None);
        assert!(!d.is_ejected(1));
        assert_eq!(d.on_outcome(1, false, secs(1)), Some(secs(31)));
        assert!(d.is_ejected(1));
        assert_eq!(d.ejected_count(), 1);
        assert_eq!(d.times_ejected(1), 1);
        assert_eq!(d.ejected_until(1), Some(secs(31)));
        assert!(!d.is_ejected(0));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut d = OutlierDetector::new(cfg(3), 2);
        for _ in 0..10 {
            assert_eq!(fail(&mut d, 0, 2, secs(1)), None);
            assert_eq!(d.on_outcome(0, true, secs(1)), None);
        }
        assert!(!d.is_ejected(0));
        assert_eq!(fail(&mut d, 0, 3, secs(1)), Some(secs(31)));
    }

    #[test]
    fn failures_on_other_workers_do_not_add_up() {
        let mut d = OutlierDetector::new(cfg(3), 3);
        for w in 0..3 {
            assert_eq!(fail(&mut d, w, 2, secs(1)), None);
        }
        assert_eq!(d.ejected_count(), 0);
    }

    #[test]
    fn zero_threshold_disables_ejection() {
        let mut d = OutlierDetector::new(cfg(0), 2);
        assert_eq!(fail(&mut d, 0, 1000, secs(1)), None);
        assert_eq!(d.ejected_count(), 0);
    }

    #[test]
    fn ejection_length_is_base_times_count_capped_at_max() {
        let c = OutlierConfig {
            consecutive_failures: 1,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(100),
            max_ejection_percent: 100,
        };
        let mut d = OutlierDetector::new(c, 1);
        let mut now = secs(0);
        // 30, 60, 90, then capped at 100, 100.
        for expected in [30, 60, 90, 100, 100] {
            let until = d.on_outcome(0, false, now).expect("ejected");
            assert_eq!(until - now, Duration::from_secs(expected));
            now = until;
            assert_eq!(d.tick(now), 1);
        }
        assert_eq!(d.times_ejected(0), 5);
    }

    #[test]
    fn tick_un_ejects_at_the_exact_instant() {
        let mut d = OutlierDetector::new(cfg(1), 2);
        let until = d.on_outcome(0, false, secs(10)).unwrap();
        assert_eq!(until, secs(40));
        assert_eq!(d.next_expiry(), Some(until));
        assert_eq!(d.tick(Instant::from_nanos(until.as_nanos() - 1)), 0);
        assert!(d.is_ejected(0));
        assert_eq!(d.tick(until), 1);
        assert!(!d.is_ejected(0));
        assert_eq!(d.ejected_count(), 0);
        assert_eq!(d.next_expiry(), None);
        assert_eq!(d.tick(until), 0);
    }

    #[test]
    fn outcomes_while_ejected_are_ignored() {
        let mut d = OutlierDetector::new(cfg(2), 2);
        let until = fail(&mut d, 0, 2, secs(0)).unwrap();
        // In-flight requests failing after the ejection neither extend it nor count later.
        assert_eq!(fail(&mut d, 0, 10, secs(5)), None);
        assert_eq!(d.ejected_until(0), Some(until));
        assert_eq!(d.times_ejected(0), 1);
        d.tick(until);
        // Back with a clean count: one failure is not enough.
        assert_eq!(d.on_outcome(0, false, until), None);
        assert!(d.on_outcome(0, false, until).is_some());
    }

    #[test]
    fn timeouts_count_only_when_the_worker_stands_out_from_the_pool() {
        let mut d = OutlierDetector::new(cfg(3), 6);
        let t = secs(1);
        for _ in 0..10 {
            for w in 0..6 {
                assert_eq!(d.on_verdict(w, Verdict::Timeout, t, true), None);
            }
        }
        assert_eq!(
            d.ejected_count(),
            0,
            "the whole pool timing out is overload"
        );
        // Errors still count whatever the pool does.
        assert!(
            (0..3)
                .filter_map(|_| d.on_verdict(5, Verdict::Failure, t, true))
                .next()
                .is_some()
        );
        // A fresh window: the others answer, worker 0 hangs and is ejected.
        d.tick(secs(20));
        for w in 1..5 {
            for _ in 0..5 {
                d.on_verdict(w, Verdict::Success, secs(20), true);
            }
        }
        let hit = (0..3).find_map(|_| d.on_verdict(0, Verdict::Timeout, secs(20), true));
        assert!(hit.is_some(), "a hanging worker stands out");
    }

    #[test]
    fn a_forbidden_ejection_keeps_the_streak() {
        let mut d = OutlierDetector::new(cfg(2), 3);
        for _ in 0..4 {
            assert_eq!(d.on_verdict(0, Verdict::Failure, secs(0), false), None);
        }
        assert!(d.on_verdict(0, Verdict::Failure, secs(0), true).is_some());
    }

    #[test]
    fn max_ejection_percent_is_respected() {
        let c = OutlierConfig {
            consecutive_failures: 1,
            max_ejection_percent: 50,
            ..OutlierConfig::default()
        };
        let mut d = OutlierDetector::new(c, 4);
        assert_eq!(d.max_ejected(), 2);
        assert!(d.on_outcome(0, false, secs(0)).is_some());
        assert!(d.on_outcome(1, false, secs(0)).is_some());
        // A third would be 75% > 50%: refused.
        assert_eq!(d.on_outcome(2, false, secs(0)), None);
        assert!(!d.is_ejected(2));
        assert_eq!(d.ejected_count(), 2);
        // The refused failure is kept: once room frees up, the very next failure ejects.
        d.tick(secs(30));
        assert_eq!(d.ejected_count(), 0);
        assert!(d.on_outcome(2, false, secs(30)).is_some());
    }

    #[test]
    fn refused_ejection_keeps_the_count_but_a_success_clears_it() {
        let c = OutlierConfig {
            consecutive_failures: 3,
            max_ejection_percent: 50,
            ..OutlierConfig::default()
        };
        let mut d = OutlierDetector::new(c, 2);
        assert!(fail(&mut d, 0, 3, secs(0)).is_some());
        assert_eq!(fail(&mut d, 1, 5, secs(0)), None);
        d.tick(secs(30));
        assert!(d.on_outcome(1, false, secs(30)).is_some());

        let mut d = OutlierDetector::new(c, 2);
        assert!(fail(&mut d, 0, 3, secs(0)).is_some());
        assert_eq!(fail(&mut d, 1, 5, secs(0)), None);
        d.on_outcome(1, true, secs(1));
        d.tick(secs(30));
        assert_eq!(fail(&mut d, 1, 2, secs(30)), None);
    }

    #[test]
    fn at_least_one_worker_may_be_ejected_when_percent_is_positive() {
        let c = OutlierConfig {
            consecutive_failures: 1,
            max_ejection_percent: 10,
            ..OutlierConfig::default()
        };
        let mut d = OutlierDetector::new(c, 3);
        assert_eq!(d.max_ejected(), 1);
        assert!(d.on_outcome(0, false, secs(0)).is_some());
        assert_eq!(d.on_outcome(1, false, secs(0)), None);
        assert_eq!(d.ejected_count(), 1);

        let none = OutlierConfig {
            max_ejection_percent: 0,
            ..c
        };
        let mut d = OutlierDetector::new(none, 3);
        assert_eq!(d.on_outcome(0, false, secs(0)), None);
        assert_eq!(d.ejected_count(), 0);
    }

    #[test]
    fn multiplier_decays_one_per_base_period_in_the_pool() {
        let c = OutlierConfig {
            consecutive_failures: 1,
            base_ejection: Duration::from_secs(10),
            max_ejection: Duration::from_secs(1000),
            max_ejection_percent: 100,
        };
        let mut d = OutlierDetector::new(c, 1);
        let mut now = secs(0);
        for _ in 0..3 {
            now = d.on_outcome(0, false, now).unwrap();
            d.tick(now);
        }
        assert_eq!(now, secs(60)); // 10 + 20 + 30
        assert_eq!(d.times_ejected(0), 3);
        // No decay while ejected or before a full period in the pool.
        d.tick(secs(69));
        assert_eq!(d.times_ejected(0), 3);
        d.tick(secs(70));
        assert_eq!(d.times_ejected(0), 2);
        // The credited period is used up: the next decrement needs another full one.
        d.tick(secs(79));
        assert_eq!(d.times_ejected(0), 2);
        // Two more periods at once, skipping ticks.
        d.tick(secs(95));
        assert_eq!(d.times_ejected(0), 0);
        // Fresh again: the next ejection is a first one.
        assert_eq!(d.on_outcome(0, false, secs(100)), Some(secs(110)));
    }

    #[test]
    fn decay_is_applied_at_ejection_even_without_ticks() {
        let c = OutlierConfig {
            consecutive_failures: 1,
            base_ejection: Duration::from_secs(10),
            max_ejection: Duration::from_secs(1000),
            max_ejection_percent: 100,
        };
        let mut d = OutlierDetector::new(c, 1);
        let back = d.on_outcome(0, false, secs(0)).unwrap();
        d.on_outcome(0, false, secs(1));
        d.tick(back);
        let back = d.on_outcome(0, false, back).unwrap();
        assert_eq!(back, secs(30)); // second ejection: 20 s
        d.tick(back);
        // 15 s later (one period) with no tick in between: multiplier 2 -> 1, then +1 = 2.
        assert_eq!(d.on_outcome(0, false, secs(45)), Some(secs(65)));
    }

    #[test]
    fn out_of_range_indices_are_ignored() {
        let mut d = OutlierDetector::new(cfg(1), 2);
        assert_eq!(d.on_outcome(7, false, secs(0)), None);
        assert!(!d.is_ejected(7));
        assert_eq!(d.times_ejected(7), 0);
        assert_eq!(d.ejected_until(7), None);
        d.vacate(7);
        assert!(!d.eject(7, secs(9), secs(0)));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn vacating_a_slot_moves_no_other_worker_and_occupying_it_starts_clean() {
        let mut d = OutlierDetector::new(cfg(2), 2);
        d.occupy(2, Streak::new());
        assert_eq!(d.len(), 3);
        assert_eq!(d.on_outcome(1, false, secs(0)), None);
        fail(&mut d, 2, 2, secs(0)).unwrap();
        d.vacate(0);
        assert_eq!(d.len(), 2);
        // Worker 2 stays in slot 2, still ejected; worker 1 keeps its failure count.
        assert!(d.is_ejected(2));
        assert_eq!(d.ejected_count(), 1);
        assert!(d.on_outcome(1, false, secs(0)).is_some());
        // An empty slot takes no outcomes.
        assert_eq!(fail(&mut d, 0, 5, secs(0)), None);
        d.vacate(2);
        assert_eq!(d.ejected_count(), 1);
        d.occupy(2, Streak::new());
        assert!(!d.is_ejected(2));
        assert_eq!(d.times_ejected(2), 0);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn detectors_sharing_a_streak_count_one_run_of_failures() {
        let mut a = OutlierDetector::new(cfg(4), 0);
        let mut b = OutlierDetector::new(cfg(4), 0);
        let streak = Streak::new();
        a.occupy(0, streak.clone());
        b.occupy(0, streak.clone());
        assert_eq!(fail(&mut a, 0, 3, secs(1)), None);
        // A success in one ends the run in both.
        assert_eq!(b.on_outcome(0, true, secs(1)), None);
        assert_eq!(fail(&mut a, 0, 3, secs(1)), None);
        // The fourth failure in a row, wherever it is seen, ejects.
        assert!(b.on_outcome(0, false, secs(1)).is_some());
        assert!(b.is_ejected(0) && !a.is_ejected(0));
        assert_eq!(streak.get(), 0);
    }

    #[test]
    fn an_ejection_from_another_detector_is_counted_once_and_aligned() {
        let mut a = OutlierDetector::new(cfg(3), 3);
        let mut b = OutlierDetector::new(cfg(3), 3);
        let until = fail(&mut a, 1, 3, secs(1)).unwrap();
        assert!(b.eject(1, until, secs(1)));
        assert_eq!((b.is_ejected(1), b.times_ejected(1)), (true, 1));
        assert_eq!(b.ejected_until(1), Some(until));
        // Told again (both saw it at once): no second ejection, the end is aligned.
        assert!(!b.eject(1, until + Duration::from_secs(1), secs(2)));
        assert_eq!((b.times_ejected(1), b.ejected_count()), (1, 1));
        assert_eq!(b.ejected_until(1), Some(until + Duration::from_secs(1)));
        assert_eq!(a.tick(until), 1);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Outcome { worker: usize, ok: bool },
        Advance(u64),
        Tick,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0usize..12, prop::bool::weighted(0.3))
                .prop_map(|(worker, ok)| Op::Outcome { worker, ok }),
            2 => (0u64..20_000).prop_map(Op::Advance),
            1 => Just(Op::Tick),
        ]
    }

    proptest! {
        /// Whatever the outcomes, the pool never has more ejected workers than allowed, the count
        /// matches the per-worker flags, and no ejection is longer than `max_ejection`.
        #[test]
        fn ejected_count_never_exceeds_the_allowed_maximum(
            workers in 1usize..10,
            pct in 0u32..120,
            threshold in 1u32..4,
            ops in proptest::collection::vec(op(), 0..300),
        ) {
            let c = OutlierConfig {
                consecutive_failures: threshold,
                base_ejection: Duration::from_millis(1_000),
                max_ejection: Duration::from_millis(3_500),
                max_ejection_percent: pct,
            };
            let mut d = OutlierDetector::new(c, workers);
            let allowed = if pct == 0 { 0 } else { (workers * pct.min(100) as usize / 100).max(1) };
            let mut now = Instant::ZERO;
            for op in ops {
                match op {
                    Op::Outcome { worker, ok } => {
                        if let Some(until) = d.on_outcome(worker, ok, now) {
                            prop_assert!(!ok);
                            prop_assert!(until - now <= c.max_ejection);
                            prop_assert!(until > now);
                        }
                    }
                    Op::Advance(ms) => now += Duration::from_millis(ms),
                    Op::Tick => {
                        d.tick(now);
                        prop_assert!(d.next_expiry().is_none_or(|t| t > now));
                    }
                }
                prop_assert!(d.ejected_count() <= allowed);
                let flagged = (0..workers).filter(|&w| d.is_ejected(w)).count();
                prop_assert_eq!(d.ejected_count(), flagged);
            }
        }
    }

    #[test]
    fn reinstate_brings_an_ejected_worker_back_and_keeps_the_multiplier() {
        let cfg = OutlierConfig {
            consecutive_failures: 1,
            ..OutlierConfig::default()
        };
        let mut d = OutlierDetector::new(cfg, 3);
        let t = Instant::from_nanos(10);
        assert!(d.on_outcome(1, false, t).is_some());
        assert_eq!(d.ejected_count(), 1);
        assert!(d.reinstate(1, t));
        assert!(!d.is_ejected(1));
        assert_eq!(d.ejected_count(), 0);
        assert_eq!(d.times_ejected(1), 1);
        assert!(!d.reinstate(1, t), "not ejected any more");
        assert!(!d.reinstate(9, t), "unknown worker");
    }
}
