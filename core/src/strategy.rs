//! A strategy is what a run or a balancer is asked to do: run one algorithm for good, let the
//! decision engine choose (`adaptive`), follow a scenario's script of switches (`scripted`), or
//! follow the simulator's hindsight schedule (`oracle`). Strategy names are the algorithm names
//! plus `adaptive`, `scripted` and `oracle`, used the same in scenario files, CLI flags, CSVs and
//! charts.
//!
//! `scripted` and `oracle` both switch at fixed times: `scripted` at the times a scenario's
//! `[[switches]]` give, `oracle` at the start of each phase of the run, to the static algorithm
//! that did best in that phase (which only the simulator can know, after running every static
//! algorithm; see `lb_sim::oracle`). Live mode runs fixed algorithms and `adaptive` only.

use crate::pick::{Algorithm, UnknownAlgorithm};
use std::fmt;
use std::str::FromStr;

/// A fixed algorithm, the adaptive engine, or a schedule of switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    /// Always this algorithm.
    Fixed(Algorithm),
    /// The decision engine switches algorithms at run time.
    Adaptive,
    /// The scenario's `[[switches]]`: each entry's algorithm from its time on.
    Scripted,
    /// The hindsight schedule: each phase's best static algorithm from the phase's start
    /// (computed by the simulator, which runs it as a script).
    Oracle,
}

impl Strategy {
    /// Every static algorithm, then `adaptive`: what runs when nobody names strategies.
    pub const ALL: [Strategy; 7] = [
        Strategy::Fixed(Algorithm::RoundRobin),
        Strategy::Fixed(Algorithm::WeightedRoundRobin),
        Strategy::Fixed(Algorithm::Random),
        Strategy::Fixed(Algorithm::LeastConnections),
        Strategy::Fixed(Algorithm::PowerOfTwo),
        Strategy::Fixed(Algorithm::PeakEwma),
        Strategy::Adaptive,
    ];

    /// Every strategy that has a name: [`ALL`](Self::ALL), then `scripted` and `oracle`.
    pub const NAMED: [Strategy; 9] = [
        Strategy::Fixed(Algorithm::RoundRobin),
        Strategy::Fixed(Algorithm::WeightedRoundRobin),
        Strategy::Fixed(Algorithm::Random),
        Strategy::Fixed(Algorithm::LeastConnections),
        Strategy::Fixed(Algorithm::PowerOfTwo),
        Strategy::Fixed(Algorithm::PeakEwma),
        Strategy::Adaptive,
        Strategy::Scripted,
        Strategy::Oracle,
    ];

    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Fixed(a) => a.name(),
            Strategy::Adaptive => "adaptive",
            Strategy::Scripted => "scripted",
            Strategy::Oracle => "oracle",
        }
    }

    /// The algorithm, for a fixed strategy.
    pub const fn fixed(self) -> Option<Algorithm> {
        match self {
            Strategy::Fixed(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the algorithm changes at fixed times (`scripted`, `oracle`).
    pub const fn is_schedule(self) -> bool {
        matches!(self, Strategy::Scripted | Strategy::Oracle)
    }
}

impl From<Algorithm> for Strategy {
    fn from(a: Algorithm) -> Self {
        Strategy::Fixed(a)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no strategy's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {name:?}; expected one of: {}", Strategy::NAMED.map(|s| s.name()).join(", "))]
pub struct UnknownStrategy {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Strategy {
    type Err = UnknownStrategy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "adaptive" => return Ok(Strategy::Adaptive),
            "scripted" => return Ok(Strategy::Scripted),
            "oracle" => return Ok(Strategy::Oracle),
            _ => {}
        }
        s.parse::<Algorithm>()
            .map(Strategy::Fixed)
            .map_err(|UnknownAlgorithm { name }| UnknownStrategy { name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_including_adaptive_scripted_and_oracle() {
        for s in Strategy::NAMED {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
        }
        let e = "fastest".parse::<Strategy>().unwrap_err().to_string();
        assert!(
            e.contains("adaptive, scripted, oracle") && e.contains("\"fastest\""),
            "{e}"
        );
        assert_eq!(&Strategy::NAMED[..7], &Strategy::ALL[..]);
        assert!(Strategy::Oracle.is_schedule() && !Strategy::Adaptive.is_schedule());
        assert_eq!(
            Strategy::Fixed(Algorithm::Random).fixed(),
            Some(Algorithm::Random)
        );
    }
}
