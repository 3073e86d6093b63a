//! Active health checks with HAProxy's `rise`/`fall` hysteresis.
//!
//! A prober (the live shell's health task, or the simulator's probe events) sends a request to
//! each worker at a fixed interval and feeds the yes/no answer to [`ActiveHealth::observe`]. A
//! single answer never flips the state: a healthy worker needs `fall` failed probes *in a row* to
//! be marked down, and a down worker needs `rise` good probes in a row to come back, exactly as
//! HAProxy's `server ... check rise 2 fall 3`. A probe that agrees with the current state resets
//! the streak, so alternating results never flip anything.

/// How many consecutive probes it takes to change state (HAProxy's `rise` and `fall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveConfig {
    /// Consecutive good probes that bring an unhealthy worker back. 0 is treated as 1.
    pub rise: u32,
    /// Consecutive failed probes that take a healthy worker down. 0 is treated as 1.
    pub fall: u32,
}

impl Default for ActiveConfig {
    /// HAProxy's defaults: `rise 2 fall 3`.
    fn default() -> Self {
        ActiveConfig { rise: 2, fall: 3 }
    }
}

/// The rise/fall state machine of one worker. Pure: no clock, no I/O.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveHealth {
    rise: u32,
    fall: u32,
    healthy: bool,
    /// Consecutive probes that disagree with `healthy`.
    streak: u32,
}

impl ActiveHealth {
    /// A worker in the given initial state, with no probes seen yet.
    pub fn new(cfg: ActiveConfig, initially_healthy: bool) -> Self {
        ActiveHealth {
            rise: cfg.rise.max(1),
            fall: cfg.fall.max(1),
            healthy: initially_healthy,
            streak: 0,
        }
    }

    /// Feed one probe result; returns `Some(new_state)` when the state flips (`true` = now
    /// healthy), `None` otherwise.
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        if ok == self.healthy {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.healthy { self.fall } else { self.rise };
        if self.streak < needed {
            return None;
        }
        self.healthy = ok;
        self.streak = 0;
        Some(ok)
    }

    /// Whether the worker is currently considered healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn haproxy(healthy: bool) -> ActiveHealth {
        ActiveHealth::new(ActiveConfig::default(), healthy)
    }

    #[test]
    fn fall_flips_on_exactly_the_third_failure() {
        let mut h = haproxy(true);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert!(h.is_healthy());
        assert_eq!(h.observe(false), Some(false));
        assert!(!h.is_healthy());
        // Further failures are not flips.
        assert_eq!(h.observe(false), None);
    }

    #[test]
    fn rise_flips_on_exactly_the_second_success() {
        let mut h = haproxy(false);
        assert_eq!(h.observe(true), None);
        assert!(!h.is_healthy());
        assert_eq!(h.observe(true), Some(true));
        assert!(h.is_healthy());
        assert_eq!(h.observe(true), None);
    }

    #[test]
    fn a_success_resets_the_failure_streak() {
        let mut h = haproxy(true);
        for _ in 0..10 {
            assert_eq!(h.observe(false), None);
            assert_eq!(h.observe(false), None);
            assert_eq!(h.observe(true), None);
        }
        assert!(h.is_healthy());
    }

    #[test]
    fn a_failure_resets_the_rise_streak() {
        let mut h = haproxy(false);
        for _ in 0..10 {
            assert_eq!(h.observe(true), None);
            assert_eq!(h.observe(false), None);
        }
        assert!(!h.is_healthy());
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
    }

    #[test]
    fn the_streak_starts_over_after_a_flip() {
        let mut h = haproxy(true);
        for _ in 0..3 {
            h.observe(false);
        }
        assert!(!h.is_healthy());
        // One good probe, then failures: still down, and the rise count starts again.
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
        // Back up: it again takes a full `fall` to go down.
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(false));
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        let mut h = ActiveHealth::new(ActiveConfig { rise: 0, fall: 0 }, true);
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.observe(true), Some(true));
    }

    proptest! {
        /// Whatever came before, `fall` failures in a row leave the worker down and `rise`
        /// successes in a row leave it up; and every reported flip matches the new state.
        #[test]
        fn runs_at_threshold_always_decide(
            rise in 1u32..6,
            fall in 1u32..6,
            start in any::<bool>(),
            history in proptest::collection::vec(any::<bool>(), 0..64),
            end_ok in any::<bool>(),
        ) {
            let mut h = ActiveHealth::new(ActiveConfig { rise, fall }, start);
            let mut state = start;
            for ok in history {
                if let Some(s) = h.observe(ok) {
                    prop_assert_ne!(s, state);
                    state = s;
                }
                prop_assert_eq!(h.is_healthy(), state);
            }
            let run = if end_ok { rise } else { fall };
            for _ in 0..run {
                h.observe(end_ok);
            }
            prop_assert_eq!(h.is_healthy(), end_ok);
        }

        /// A run shorter than the threshold never flips the state.
        #[test]
        fn runs_below_threshold_never_flip(rise in 1u32..8, fall in 1u32..8, start in any::<bool>()) {
            let mut h = ActiveHealth::new(ActiveConfig { rise, fall }, start);
            let below = if start { fall - 1 } else { rise - 1 };
            for _ in 0..below {
                prop_assert_eq!(h.observe(!start), None);
            }
            prop_assert_eq!(h.is_healthy(), start);
        }
    }
}
