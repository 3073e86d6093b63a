//! A strategy is what a run or a balancer is asked to do: run one algorithm for good, or let the
//! decision engine choose (`adaptive`). Strategy names are the algorithm names plus `adaptive`,
//! used the same in scenario files, CLI flags, CSVs and charts.

use crate::pick::{Algorithm, UnknownAlgorithm};
use std::fmt;
use std::str::FromStr;

/// A fixed algorithm, or the adaptive engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    /// Always this algorithm.
    Fixed(Algorithm),
    /// The decision engine switches algorithms at run time.
    Adaptive,
}

impl Strategy {
    /// Every static algorithm, then `adaptive`.
    pub const ALL: [Strategy; 7] = [
        Strategy::Fixed(Algorithm::RoundRobin),
        Strategy::Fixed(Algorithm::WeightedRoundRobin),
        Strategy::Fixed(Algorithm::Random),
        Strategy::Fixed(Algorithm::LeastConnections),
        Strategy::Fixed(Algorithm::PowerOfTwo),
        Strategy::Fixed(Algorithm::PeakEwma),
        Strategy::Adaptive,
    ];

    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Fixed(a) => a.name(),
            Strategy::Adaptive => "adaptive",
        }
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

/// A name that is neither an algorithm nor `adaptive`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {name:?}; expected one of: {}", Strategy::ALL.map(|s| s.name()).join(", "))]
pub struct UnknownStrategy {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Strategy {
    type Err = UnknownStrategy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "adaptive" {
            return Ok(Strategy::Adaptive);
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
    fn names_round_trip_including_adaptive() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
        }
        let e = "fastest".parse::<Strategy>().unwrap_err().to_string();
        assert!(e.contains("adaptive") && e.contains("\"fastest\""), "{e}");
    }
}
