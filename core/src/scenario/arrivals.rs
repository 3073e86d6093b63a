//! The arrival schedule: when requests reach the balancer.
//!
//! The rate is piecewise constant in time: the base rate, replaced from each phase's `at_s` on,
//! and replaced again during bursts. A Poisson process with such a rate is sampled exactly by
//! drawing an exponential gap at the current rate and, if the gap crosses the next change of
//! rate, restarting from the change point at the new rate: the exponential distribution is
//! memoryless, so nothing is lost by throwing the overshooting gap away. A constant process
//! spaces arrivals `1 / rate` apart and restarts its spacing at each change of rate.
//!
//! Time is kept in integer nanoseconds so that long runs do not drift.

use super::model::ProcessKind;
use crate::time::{Duration, Instant};
use rand::{Rng, RngExt};

/// On/off bursts: `on` at `on_rate` starting at `start`, then `off`, repeating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    /// When the first burst begins.
    pub start: Instant,
    /// Length of a burst.
    pub on: Duration,
    /// Gap between bursts.
    pub off: Duration,
    /// Rate during a burst, per second.
    pub on_rate: f64,
    /// Rate between bursts (None: the phase rate).
    pub off_rate: Option<f64>,
}

/// How requests arrive: a process and a piecewise-constant rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrivals {
    /// Poisson or constant.
    pub process: ProcessKind,
    /// Rate per second from time zero.
    pub rate: f64,
    /// `(from, rate)` steps, sorted by time.
    pub phases: Vec<(Instant, f64)>,
    /// Optional bursts.
    pub bursts: Option<Bursts>,
}

impl Arrivals {
    /// The phase rate at `t`, bursts aside.
    fn phase_rate(&self, t: Instant) -> f64 {
        self.phases
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map_or(self.rate, |&(_, r)| r)
    }

    /// The arrival rate (requests per second) at `t`.
    pub fn rate_at(&self, t: Instant) -> f64 {
        let phase = self.phase_rate(t);
        match &self.bursts {
            Some(b) if t >= b.start => {
                let cycle = (b.on + b.off).as_nanos().max(1);
                let pos = (t - b.start).as_nanos() % cycle;
                if pos < b.on.as_nanos() {
                    b.on_rate
                } else {
                    b.off_rate.unwrap_or(phase)
                }
            }
            _ => phase,
        }
    }

    /// The first instant after `t` at which the rate may change, if any.
    pub fn next_change_after(&self, t: Instant) -> Option<Instant> {
        let phase = self.phases.iter().map(|p| p.0).find(|&at| at > t);
        let burst = self.bursts.as_ref().map(|b| {
            if t < b.start {
                return b.start;
            }
            let cycle = (b.on + b.off).as_nanos().max(1);
            let since = (t - b.start).as_nanos();
            let base = since - since % cycle;
            let pos = since % cycle;
            let next = if pos < b.on.as_nanos() {
                base + b.on.as_nanos()
            } else {
                base + cycle
            };
            b.start + Duration::from_nanos(next)
        });
        match (phase, burst) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A schedule of arrival instants from time zero, ending before `end` (if given).
    pub fn schedule(&self, end: Option<Instant>) -> ArrivalSchedule<'_> {
        ArrivalSchedule {
            arrivals: self,
            t: Instant::ZERO,
            end,
        }
    }
}

/// An iterator-like source of arrival times; the caller passes the RNG on each call.
#[derive(Debug, Clone)]
pub struct ArrivalSchedule<'a> {
    arrivals: &'a Arrivals,
    t: Instant,
    end: Option<Instant>,
}

impl ArrivalSchedule<'_> {
    /// The next arrival, or `None` when the schedule is over.
    pub fn next_arrival<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Instant> {
        loop {
            if self.end.is_some_and(|e| self.t >= e) {
                return None;
            }
            let rate = self.arrivals.rate_at(self.t);
            let change = self.arrivals.next_change_after(self.t);
            if !(rate.is_finite() && rate > 0.0) {
                // Nothing arrives until the rate changes; if it never does, we are done.
                self.t = change?;
                continue;
            }
            let gap_s = match self.arrivals.process {
                ProcessKind::Poisson => {
                    // Inverse transform: -ln(U)/rate with U in (0, 1].
                    let u: f64 = 1.0 - rng.random::<f64>();
                    -u.ln() / rate
                }
                ProcessKind::Constant => 1.0 / rate,
            };
            let next = self.t + Duration::from_secs_f64(gap_s).max(Duration::from_nanos(1));
            if let Some(c) = change
                && next > c
            {
                self.t = c;
                continue;
            }
            if self.end.is_some_and(|e| next >= e) {
                self.t = next;
                return None;
            }
            self.t = next;
            return Some(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn secs(s: f64) -> Instant {
        Instant::ZERO + Duration::from_secs_f64(s)
    }

    fn count(a: &Arrivals, from: f64, to: f64, seed: u64) -> usize {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = a.schedule(Some(secs(to)));
        let mut n = 0;
        while let Some(t) = s.next_arrival(&mut rng) {
            if t >= secs(from) {
                n += 1;
            }
        }
        n
    }

    fn poisson(rate: f64) -> Arrivals {
        Arrivals {
            process: ProcessKind::Poisson,
            rate,
            phases: vec![],
            bursts: None,
        }
    }

    #[test]
    fn poisson_count_matches_rate_times_time() {
        // 100,000 expected; sd = 316: within 4 sd.
        let n = count(&poisson(1000.0), 0.0, 100.0, 1) as f64;
        assert!((n - 100_000.0).abs() < 1300.0, "{n}");
    }

    #[test]
    fn constant_process_is_evenly_spaced() {
        let a = Arrivals {
            process: ProcessKind::Constant,
            ..poisson(100.0)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = a.schedule(Some(secs(1.0)));
        let ts: Vec<Instant> = std::iter::from_fn(|| s.next_arrival(&mut rng)).collect();
        assert_eq!(ts.len(), 99);
        assert_eq!(ts[0], secs(0.01));
        assert!(
            ts.windows(2)
                .all(|w| w[1] - w[0] == Duration::from_millis(10))
        );
    }

    #[test]
    fn phases_change_the_rate_at_their_start() {
        let a = Arrivals {
            phases: vec![(secs(10.0), 3000.0), (secs(20.0), 0.0), (secs(30.0), 500.0)],
            ..poisson(1000.0)
        };
        assert_eq!(a.rate_at(secs(9.999)), 1000.0);
        assert_eq!(a.rate_at(secs(10.0)), 3000.0);
        let n1 = count(&a, 0.0, 10.0, 2) as f64;
        let n2 = count(&a, 10.0, 20.0, 2) as f64;
        let n3 = count(&a, 20.0, 30.0, 2);
        let n4 = count(&a, 30.0, 40.0, 2) as f64;
        assert!((n1 - 10_000.0).abs() < 500.0, "{n1}");
        assert!((n2 - 30_000.0).abs() < 800.0, "{n2}");
        assert_eq!(n3, 0);
        assert!((n4 - 5_000.0).abs() < 350.0, "{n4}");
    }

    #[test]
    fn bursts_alternate_on_and_off() {
        let a = Arrivals {
            bursts: Some(Bursts {
                start: secs(1.0),
                on: Duration::from_secs(1),
                off: Duration::from_secs(3),
                on_rate: 5000.0,
                off_rate: Some(0.0),
            }),
            ..poisson(100.0)
        };
        assert_eq!(a.rate_at(secs(0.5)), 100.0);
        assert_eq!(a.rate_at(secs(1.5)), 5000.0);
        assert_eq!(a.rate_at(secs(2.5)), 0.0);
        assert_eq!(a.rate_at(secs(5.0)), 5000.0);
        assert_eq!(a.next_change_after(secs(1.5)), Some(secs(2.0)));
        assert_eq!(a.next_change_after(secs(2.5)), Some(secs(5.0)));
        let off = count(&a, 2.0, 5.0, 4);
        assert_eq!(off, 0);
        let on = count(&a, 5.0, 6.0, 4) as f64;
        assert!((on - 5000.0).abs() < 300.0, "{on}");
    }

    #[test]
    fn a_rate_that_drops_to_zero_forever_ends_the_schedule() {
        let a = Arrivals {
            phases: vec![(secs(1.0), 0.0)],
            ..poisson(100.0)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut s = a.schedule(None);
        let mut n = 0;
        while s.next_arrival(&mut rng).is_some() {
            n += 1;
            assert!(n < 1000);
        }
        assert!(n > 50);
    }
}
