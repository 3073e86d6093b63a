//! Time-decayed moving averages: a plain EWMA and Finagle's peak EWMA.
//!
//! Both weigh samples by *time*, not by count, as linkerd's `ewma` crate does: a sample that
//! arrives `dt` after the previous one moves the estimate by `1 - exp(-dt / tau)` of the way
//! toward it. The estimate is a time average with time constant `tau`, whatever the request
//! rate; a consequence is that a second sample at the very same instant carries no weight.
//!
//! [`PeakEwma`] is the latency estimator of Finagle's and linkerd's peak-EWMA balancer (also
//! tower's `load::PeakEwma`): a sample above the estimate replaces it at once, so a worker that
//! slows down is penalised immediately, while improvements are only believed gradually. When no
//! response arrives, [`PeakEwma::get_at`] lets the estimate decay toward zero, so an idle worker
//! that once looked slow is eventually tried again instead of being starved forever.
//!
//! Time is an argument (`now`), never read from a clock. The simulator updates these on every
//! response, so the decay weight avoids `exp()` when `dt / tau` is small (the common case at
//! high request rates) and uses a short Taylor series instead, accurate to about 1e-12.

use crate::time::{Duration, Instant};

/// Below this `dt / tau`, the decay weight comes from a series instead of `exp()`.
const SERIES_LIMIT: f64 = 1e-2;

/// `(exp(-x), 1 - exp(-x))` for `x = dt / tau`; `inv_tau` is `1 / tau` in 1/ns, and an infinite
/// `inv_tau` (`tau = 0`) means no memory at all.
#[inline]
fn decay(dt: Duration, inv_tau: f64) -> (f64, f64) {
    if inv_tau.is_infinite() {
        return (0.0, 1.0);
    }
    let x = dt.as_nanos() as f64 * inv_tau;
    if x < SERIES_LIMIT {
        // 1 - e^-x = x - x^2/2 + x^3/6 - x^4/24 + O(x^5 / 120)
        let recency = x * (1.0 - x / 2.0 * (1.0 - x / 3.0 * (1.0 - x / 4.0)));
        (1.0 - recency, recency)
    } else {
        let keep = (-x).exp();
        (keep, 1.0 - keep)
    }
}

/// `1 / tau` in 1/ns (infinite for `tau = 0`).
fn inverse(tau: Duration) -> f64 {
    1.0 / tau.as_nanos() as f64
}

/// A time-decayed exponentially weighted moving average: on each sample `x` at `now`,
/// `value = value * w + x * (1 - w)` with `w = exp(-dt / tau)`, `dt` the time since the previous
/// sample. The first sample becomes the value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ewma {
    inv_tau: f64,
    value: Option<f64>,
    at: Instant,
}

impl Ewma {
    /// An empty average with time constant `tau` (`tau = 0`: the latest sample wins).
    pub fn new(tau: Duration) -> Self {
        Ewma {
            inv_tau: inverse(tau),
            value: None,
            at: Instant::ZERO,
        }
    }

    /// Adds sample `x` taken at `now`. Non-finite samples are ignored; a `now` earlier than the
    /// previous sample counts as the same instant.
    #[inline]
    pub fn observe(&mut self, x: f64, now: Instant) {
        if !x.is_finite() {
            return;
        }
        self.value = Some(match self.value {
            None => x,
            Some(v) => {
                let (_, recency) = decay(now - self.at, self.inv_tau);
                v + (x - v) * recency
            }
        });
        self.at = self.at.max(now);
    }

    /// The current average, `None` before the first sample.
    pub fn get(&self) -> Option<f64> {
        self.value
    }
}

/// Finagle's peak EWMA of round-trip times in nanoseconds: jumps up to any slower sample at once,
/// decays toward faster samples with `w = exp(-dt / tau)`, and toward zero while idle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakEwma {
    inv_tau: f64,
    default_ns: f64,
    estimate: Option<f64>,
    at: Instant,
}

impl PeakEwma {
    /// An estimator with decay time constant `tau` that reports `default_rtt` until the first
    /// sample (tower uses `tau` = 10 s).
    pub fn new(tau: Duration, default_rtt: Duration) -> Self {
        PeakEwma {
            inv_tau: inverse(tau),
            default_ns: default_rtt.as_nanos() as f64,
            estimate: None,
            at: Instant::ZERO,
        }
    }

    /// Adds a round trip of `rtt_ns` nanoseconds that completed at `now`. The first sample
    /// replaces the default; a sample above the estimate replaces it; a lower one pulls it down
    /// by `1 - exp(-dt / tau)` of the gap. Non-finite samples are ignored.
    #[inline]
    pub fn observe(&mut self, rtt_ns: f64, now: Instant) {
        if !rtt_ns.is_finite() {
            return;
        }
        self.estimate = Some(match self.estimate {
            Some(e) if rtt_ns <= e => {
                let (_, recency) = decay(now - self.at, self.inv_tau);
                e + (rtt_ns - e) * recency
            }
            _ => rtt_ns,
        });
        self.at = self.at.max(now);
    }

    /// Makes the idle decay up to `now` permanent: the estimate becomes [`get_at(now)`]
    /// (Self::get_at) and idle time counts from `now`. Call it when the worker leaves rotation.
    pub fn settle(&mut self, now: Instant) {
        if self.estimate.is_some() && now > self.at {
            self.estimate = Some(self.get_at(now));
            self.at = now;
        }
    }

    /// Restarts idle time at `now` without decaying: the time since the last update or
    /// [`settle`](Self::settle) was spent out of rotation, where the worker could not be picked,
    /// so it says nothing about whether it has become fast again.
    pub fn resume(&mut self, now: Instant) {
        self.at = self.at.max(now);
    }

    /// The estimate at `now` in nanoseconds: the last estimate decayed toward zero by
    /// `exp(-(now - last update) / tau)`, or the default before any sample. Does not mutate.
    #[inline]
    pub fn get_at(&self, now: Instant) -> f64 {
        match self.estimate {
            None => self.default_ns,
            Some(e) => {
                let idle = now - self.at;
                if idle.is_zero() {
                    e
                } else {
                    e * decay(idle, self.inv_tau).0
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAU: Duration = Duration::from_secs(1);

    fn at(ns: u64) -> Instant {
        Instant::from_nanos(ns)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
    }

    #[test]
    fn decay_matches_exp_on_both_sides_of_the_series_limit() {
        let inv = inverse(TAU);
        for x in [
            0.0, 1e-9, 1e-6, 1e-4, 5e-3, 0.00999, 0.01, 0.0101, 0.5, 1.0, 3.0, 40.0,
        ] {
            let dt = Duration::from_nanos((x * 1e9) as u64);
            let xr = dt.as_nanos() as f64 / 1e9;
            let (keep, recency) = decay(dt, inv);
            assert!((keep - (-xr).exp()).abs() < 1e-12, "x={x}");
            assert!(
                close(recency, -(-xr).exp_m1(), 1e-9) || recency == 0.0,
                "x={x}"
            );
            assert!((keep + recency - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn time_out_of_rotation_does_not_decay_the_peak() {
        let mut p = PeakEwma::new(TAU, Duration::from_millis(10));
        p.observe(1e8, at(0));
        p.settle(at(500_000_000));
        let left = p.get_at(at(500_000_000));
        assert!(close(left, 1e8 * (-0.5f64).exp(), 1e-12));
        // Thirty time constants out of rotation, then back: the estimate it left with.
        p.resume(at(30_500_000_000));
        assert_eq!(p.get_at(at(30_500_000_000)), left);
        // And from there it decays as usual.
        let later = p.get_at(at(31_500_000_000));
        assert!(close(later, left * (-1.0f64).exp(), 1e-12));
    }

    #[test]
    fn ewma_is_none_then_the_first_sample() {
        let mut e = Ewma::new(TAU);
        assert_eq!(e.get(), None);
        e.observe(42.0, at(5));
        assert_eq!(e.get(), Some(42.0));
    }

    #[test]
    fn ewma_one_step_matches_the_closed_form() {
        let mut e = Ewma::new(TAU);
        e.observe(100.0, at(0));
        e.observe(0.0, at(1_000_000_000)); // dt = tau
        let want = 100.0 * (-1.0f64).exp();
        assert!(close(e.get().unwrap(), want, 1e-12));
    }

    #[test]
    fn ewma_converges_to_a_constant_input_like_exp() {
        // From 10, fed 1.0 every 1 ms for 3 s: value = 1 + 9 * exp(-t / tau).
        let mut e = Ewma::new(TAU);
        e.observe(10.0, at(0));
        for i in 1..=3000u64 {
            e.observe(1.0, at(i * 1_000_000));
            if i % 500 == 0 {
                let t = i as f64 / 1000.0;
                let want = 1.0 + 9.0 * (-t).exp();
                assert!(close(e.get().unwrap(), want, 1e-9), "t={t}");
            }
        }
        assert!((e.get().unwrap() - 1.0) < 0.5);
    }

    #[test]
    fn a_sample_at_the_same_instant_has_no_weight() {
        let mut e = Ewma::new(TAU);
        e.observe(1.0, at(10));
        e.observe(1000.0, at(10));
        e.observe(1000.0, at(3)); // earlier than the last sample: same as dt = 0
        assert_eq!(e.get(), Some(1.0));
    }

    #[test]
    fn zero_tau_keeps_only_the_latest_sample() {
        let mut e = Ewma::new(Duration::ZERO);
        e.observe(1.0, at(10));
        e.observe(7.0, at(10));
        assert_eq!(e.get(), Some(7.0));
        let mut p = PeakEwma::new(Duration::ZERO, Duration::from_millis(1));
        p.observe(9.0, at(0));
        p.observe(2.0, at(0));
        assert_eq!(p.get_at(at(0)), 2.0);
        assert_eq!(p.get_at(at(1)), 0.0);
    }

    #[test]
    fn peak_ewma_reports_the_default_before_any_sample() {
        let p = PeakEwma::new(TAU, Duration::from_millis(10));
        assert_eq!(p.get_at(at(0)), 1e7);
        assert_eq!(p.get_at(at(1_000_000_000_000)), 1e7);
    }

    #[test]
    fn peak_ewma_jumps_up_immediately() {
        let mut p = PeakEwma::new(TAU, Duration::from_millis(10));
        p.observe(1e6, at(0));
        assert_eq!(p.get_at(at(0)), 1e6); // the first sample replaces the default
        p.observe(5e7, at(1));
        assert_eq!(p.get_at(at(1)), 5e7);
    }

    #[test]
    fn peak_ewma_decays_toward_a_lower_sample_like_exp() {
        let mut p = PeakEwma::new(TAU, Duration::from_millis(10));
        p.observe(100.0, at(0));
        p.observe(10.0, at(1_000_000_000));
        let w = (-1.0f64).exp();
        let want = 100.0 * w + 10.0 * (1.0 - w);
        assert!(close(p.get_at(at(1_000_000_000)), want, 1e-12));
    }

    #[test]
    fn peak_ewma_decays_toward_zero_while_idle_without_mutating() {
        let mut p = PeakEwma::new(TAU, Duration::from_millis(10));
        p.observe(1e6, at(0));
        let later = at(2_000_000_000);
        let want = 1e6 * (-2.0f64).exp();
        assert!(close(p.get_at(later), want, 1e-12));
        assert_eq!(p.get_at(later), p.get_at(later));
        assert_eq!(p.get_at(at(0)), 1e6);
        assert!(p.get_at(at(50_000_000_000)) < 1.0);
    }

    proptest! {
        /// A plain EWMA always stays between the smallest and largest sample.
        #[test]
        fn ewma_stays_within_the_sample_range(
            samples in proptest::collection::vec((0.0f64..1e9, 0u64..5_000_000_000), 1..100),
        ) {
            let mut e = Ewma::new(TAU);
            let mut now = Instant::ZERO;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (x, dt) in samples {
                now += Duration::from_nanos(dt);
                e.observe(x, now);
                lo = lo.min(x);
                hi = hi.max(x);
                let v = e.get().unwrap();
                prop_assert!(v >= lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12));
            }
        }

        /// Right after a sample the peak estimate is at least that sample, and it never rises
        /// while idle.
        #[test]
        fn peak_ewma_covers_the_latest_sample_and_only_falls_when_idle(
            samples in proptest::collection::vec((0.0f64..1e9, 0u64..5_000_000_000), 1..100),
            idle in proptest::collection::vec(0u64..3_000_000_000, 1..10),
        ) {
            let mut p = PeakEwma::new(TAU, Duration::from_millis(10));
            let mut now = Instant::ZERO;
            for (x, dt) in samples {
                now += Duration::from_nanos(dt);
                p.observe(x, now);
                prop_assert!(p.get_at(now) >= x * (1.0 - 1e-12));
            }
            let mut prev = p.get_at(now);
            for dt in idle {
                now += Duration::from_nanos(dt);
                let v = p.get_at(now);
                prop_assert!(v <= prev);
                prev = v;
            }
        }
    }
}
