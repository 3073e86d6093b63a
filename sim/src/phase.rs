//! Phases of a run: the measured window cut at every change point of the scenario.
//!
//! A change point is a time at which the scenario itself changes under the balancer: a fault
//! (a worker slows down, fails, crashes or recovers) or a new arrival phase (the rate steps).
//! Burst edges are not change points: bursts repeat every few seconds, and a phase per burst
//! would leave too few requests in each to rank algorithms by their 99th percentile. Nor are
//! a `scripted` run's switches: they change the balancer, not the conditions it works in.
//!
//! The first phase starts at the end of the warm-up; each change point after it (and, for a
//! scenario of fixed length, before its end) starts the next. Every run books each measured
//! request in the phase in which it *arrived*, in a [`PhaseTally`]: a count, the failures, the
//! latency sum and a [`LogHistogram`] (1.7 KiB, no allocation, a `leading_zeros` and an
//! increment per request). The hindsight oracle (`crate::oracle`) ranks the static algorithms
//! phase by phase on these tallies.

use lb_core::Instant;
use lb_core::scenario::{Length, Scenario};
use lb_core::stats::LogHistogram;

/// What the requests that arrived in one phase got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseTally {
    /// Answers (successes and failures).
    pub requests: u64,
    /// Of which failed (errors, refusals, timeouts).
    pub errors: u64,
    /// Sum of their latencies, ns.
    pub latency_sum_ns: u128,
    /// Their latencies.
    pub hist: LogHistogram,
}

impl PhaseTally {
    /// Book one answer.
    #[inline]
    pub fn record(&mut self, latency_ns: u64, ok: bool) {
        self.requests += 1;
        self.errors += u64::from(!ok);
        self.latency_sum_ns += u128::from(latency_ns);
        self.hist.record(latency_ns);
    }

    /// Add `other`'s answers (another seed's run of the same phase).
    pub fn merge(&mut self, other: &PhaseTally) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency_sum_ns += other.latency_sum_ns;
        self.hist.merge(&other.hist);
    }

    /// Failed share of the answers (0 with none).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// 99th percentile latency, ms, from the histogram (within 3.1%; 0 with no answers).
    pub fn p99_ms(&self) -> f64 {
        self.hist.quantile(0.99).map_or(0.0, |ns| ns as f64 / 1e6)
    }

    /// Mean latency, ms (0 with no answers).
    pub fn mean_ms(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.latency_sum_ns as f64 / self.requests as f64 / 1e6
        }
    }
}

/// The change points of `scenario`: its faults' times and its arrival phases' starts, sorted,
/// each once.
pub fn change_points(scenario: &Scenario) -> Vec<Instant> {
    let mut points: Vec<Instant> = scenario
        .faults
        .iter()
        .map(|f| f.at)
        .chain(scenario.arrivals.phases.iter().map(|p| p.0))
        .collect();
    points.sort();
    points.dedup();
    points
}

/// Where `scenario`'s phases start: the end of the warm-up, then every change point after it
/// and before the end of the run (see the [module docs](self)).
pub fn starts(scenario: &Scenario) -> Vec<Instant> {
    let warmup = Instant::ZERO + scenario.warmup;
    let end = match scenario.length {
        Length::Duration(d) => Some(Instant::ZERO + d),
        Length::Requests(_) => None,
    };
    cut(warmup, end, &change_points(scenario))
}

/// Phase starts for a measured window from `warmup` to `end` (`None`: open-ended) and sorted
/// change `points`: `warmup`, then the points strictly inside the window.
pub fn cut(warmup: Instant, end: Option<Instant>, points: &[Instant]) -> Vec<Instant> {
    std::iter::once(warmup)
        .chain(
            points
                .iter()
                .copied()
                .filter(|&p| p > warmup && end.is_none_or(|e| p < e)),
        )
        .collect()
}

/// One run's tallies, one per phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phases {
    starts: Vec<Instant>,
    tallies: Vec<PhaseTally>,
}

impl Phases {
    /// Phases starting at `starts` (sorted; the first is the end of the warm-up).
    pub fn new(starts: Vec<Instant>) -> Self {
        let tallies = vec![PhaseTally::default(); starts.len()];
        Phases { starts, tallies }
    }

    /// Book an answer to a measured request that arrived at `arrival`.
    #[inline]
    pub fn record(&mut self, arrival: Instant, latency_ns: u64, ok: bool) {
        // Few phases: a binary search over a handful of instants.
        let i = self.starts.partition_point(|&s| s <= arrival).max(1) - 1;
        if let Some(t) = self.tallies.get_mut(i) {
            t.record(latency_ns, ok);
        }
    }

    /// Where the phases start.
    pub fn starts(&self) -> &[Instant] {
        &self.starts
    }

    /// The tallies, in phase order.
    pub fn tallies(&self) -> &[PhaseTally] {
        &self.tallies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::time::Duration;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn phases_start_at_the_warmup_and_at_each_change_point_inside_the_window() {
        let sc = Scenario::from_toml_str(
            "duration_s = 90\nwarmup_s = 10\n[arrivals]\nrate = 50\n\
             phases = [{ at_s = 40, rate = 80 }, { at_s = 60, rate = 50 }]\n\
             bursts = { start_s = 15, on_s = 1, off_s = 4, on_rate = 200 }\n\
             [[workers]]\ncount = 2\nservice = { distribution = \"constant\", ms = 1 }\n\
             [[faults]]\nat_s = 5\nworker = 0\naction = \"slow\"\nfactor = 2\n\
             [[faults]]\nat_s = 60\nworker = 1\naction = \"down\"\n\
             [[faults]]\nat_s = 30\nworker = 0\naction = \"recover\"\n\
             [[switches]]\nat_s = 50\nalgorithm = \"random\"",
            "p.toml",
        )
        .unwrap();
        // The fault at 5 s is in the warm-up, 60 s is a fault and a phase at once, bursts and
        // switches do not cut.
        assert_eq!(change_points(&sc), vec![at(5), at(30), at(40), at(60)]);
        assert_eq!(starts(&sc), vec![at(10), at(30), at(40), at(60)]);
        assert_eq!(
            cut(at(10), Some(at(40)), &[at(10), at(40), at(50)]),
            [at(10)]
        );
        assert_eq!(cut(at(0), None, &[at(0), at(500)]), [at(0), at(500)]);
    }

    #[test]
    fn a_request_counts_in_the_phase_it_arrived_in() {
        let mut p = Phases::new(vec![at(10), at(30)]);
        p.record(at(10), 1_000_000, true);
        p.record(at(29), 2_000_000, false);
        p.record(at(30), 4_000_000, true);
        let t = p.tallies();
        assert_eq!((t[0].requests, t[0].errors), (2, 1));
        assert_eq!((t[1].requests, t[1].errors), (1, 0));
        assert!((t[0].mean_ms() - 1.5).abs() < 1e-9);
        assert_eq!(t[0].error_rate(), 0.5);
        let mut pooled = t[0].clone();
        pooled.merge(&t[1]);
        assert_eq!(pooled.requests, 3);
        assert!(
            (pooled.p99_ms() - 4.0).abs() / 4.0 < 0.032,
            "{}",
            pooled.p99_ms()
        );
    }
}
