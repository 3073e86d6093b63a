//! The yardsticks, in one place: how two outcomes are ranked, and the goals `adaptive` is held
//! to in `verdict.csv` ([`crate::verdict`]).
//!
//! One rule ranks outcomes everywhere, for the oracle's winner of each phase and for the best
//! static algorithm of a whole run: **errors first, then the tail**. Among the outcomes, those
//! whose error rate is within [`ERROR_RATE_TIE`] of the lowest are tied on errors; of those, the
//! lowest p99 wins, then (p99s equal, as two phase histograms can be to their bucket) the lowest
//! mean latency, then the first in report order. A client who sees one more failure in a
//! thousand is worse off than one whose 99th percentile is a few ms slower; below that, errors
//! are noise and latency decides.
//!
//! The goals, checked on means over seeds:
//!
//! - **(a) do no harm**: adaptive's p99 is at most [`A_P99_RATIO`] times the best static
//!   algorithm's, and its error rate at most the best static's plus [`A_ERROR_MARGIN`];
//! - **(b) earn the switching** (scenarios that shift): adaptive beats every static algorithm on
//!   p99 or on error rate, and its p99 is at most [`B_ORACLE_P99_RATIO`] times the hindsight
//!   oracle's;
//! - **(c) no flaps**: no reversal A -> B -> A that returns to A within [`FLAP_WINDOW`] of
//!   leaving it.

use lb_core::time::Duration;

/// Error rates closer than this (0.1 percentage point) count as equal, and latency decides.
pub const ERROR_RATE_TIE: f64 = 0.001;

/// Goal (a): adaptive's mean p99 may be at most this many times the best static algorithm's.
pub const A_P99_RATIO: f64 = 1.02;

/// Goal (a): adaptive's mean error rate may exceed the best static algorithm's by at most this
/// (0.1 percentage point).
pub const A_ERROR_MARGIN: f64 = 0.001;

/// Goal (b): adaptive's mean p99 may be at most this many times the oracle's.
pub const B_ORACLE_P99_RATIO: f64 = 1.05;

/// Goal (c): a switch back to the algorithm the previous switch left, this soon or sooner after
/// leaving it, is a flap.
pub const FLAP_WINDOW: Duration = Duration::from_secs(120);

/// What the ranking rule looks at in one outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Failed share of the answers, 0..1.
    pub error_rate: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Mean latency, ms (breaks a tie on p99).
    pub mean_ms: f64,
}

/// The index of the best of `scores` by the rule in the [module docs](self); `None` when empty.
pub fn best(scores: &[Score]) -> Option<usize> {
    let lowest = scores.iter().map(|s| s.error_rate).min_by(f64::total_cmp)?;
    let mut winner: Option<usize> = None;
    for (i, s) in scores.iter().enumerate() {
        if s.error_rate > lowest + ERROR_RATE_TIE {
            continue;
        }
        let better = match winner {
            None => true,
            Some(w) => {
                let b = scores[w];
                s.p99_ms
                    .total_cmp(&b.p99_ms)
                    .then(s.mean_ms.total_cmp(&b.mean_ms))
                    .is_lt()
            }
        };
        if better {
            winner = Some(i);
        }
    }
    winner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(error_rate: f64, p99_ms: f64, mean_ms: f64) -> Score {
        Score {
            error_rate,
            p99_ms,
            mean_ms,
        }
    }

    #[test]
    fn errors_decide_beyond_a_tenth_of_a_point_then_p99_then_the_mean() {
        assert_eq!(best(&[]), None);
        // 0.5% against 0.1%: errors decide, whatever the tail.
        assert_eq!(best(&[s(0.005, 10.0, 5.0), s(0.001, 90.0, 9.0)]), Some(1));
        // 0.15% against 0.1%: tied on errors, p99 decides.
        assert_eq!(best(&[s(0.0015, 10.0, 5.0), s(0.001, 90.0, 9.0)]), Some(0));
        // The tie is measured from the lowest rate: 0.25% is out, the rest compare on p99.
        assert_eq!(
            best(&[
                s(0.0025, 5.0, 1.0),
                s(0.002, 30.0, 1.0),
                s(0.0011, 20.0, 1.0)
            ]),
            Some(2)
        );
        // Equal p99: the mean decides; all equal: the first.
        assert_eq!(best(&[s(0.0, 20.0, 9.0), s(0.0, 20.0, 8.0)]), Some(1));
        assert_eq!(best(&[s(0.0, 20.0, 8.0), s(0.0, 20.0, 8.0)]), Some(0));
    }
}
