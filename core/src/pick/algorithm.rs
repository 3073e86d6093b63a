//! The algorithm names: one snake_case name per algorithm, used the same in scenario files, CLI
//! flags, CSV columns, charts and the admin API.

use std::fmt;
use std::str::FromStr;

/// A balancing algorithm, by its stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `round_robin`
    RoundRobin,
    /// `weighted_round_robin`
    WeightedRoundRobin,
    /// `random`
    Random,
    /// `least_connections`
    LeastConnections,
    /// `power_of_two`
    PowerOfTwo,
    /// `peak_ewma`
    PeakEwma,
}

impl Algorithm {
    /// Every algorithm, in the order used by reports.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::RoundRobin,
        Algorithm::WeightedRoundRobin,
        Algorithm::Random,
        Algorithm::LeastConnections,
        Algorithm::PowerOfTwo,
        Algorithm::PeakEwma,
    ];

    /// The stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::WeightedRoundRobin => "weighted_round_robin",
            Algorithm::Random => "random",
            Algorithm::LeastConnections => "least_connections",
            Algorithm::PowerOfTwo => "power_of_two",
            Algorithm::PeakEwma => "peak_ewma",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Algorithm::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {name:?}; expected one of: {}", Algorithm::ALL.map(|a| a.name()).join(", "))]
pub struct UnknownAlgorithm {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAlgorithm {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
        }
        let err = "fastest".parse::<Algorithm>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"fastest\""), "{msg}");
        assert!(msg.contains("least_connections"), "{msg}");
    }
}
