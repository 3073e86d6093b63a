//! Who chooses the algorithm: the engine (`adaptive`) or an operator (`manual`). The names are
//! the ones the admin API and logs use.

use std::fmt;
use std::str::FromStr;

/// Who chooses the algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The engine switches by itself.
    Adaptive,
    /// An operator pinned the algorithm; the engine watches but never switches.
    Manual,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 2] = [Mode::Adaptive, Mode::Manual];

    /// `adaptive` or `manual`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Adaptive => "adaptive",
            Mode::Manual => "manual",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Mode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {name:?}; expected one of: {}", Mode::ALL.map(Mode::name).join(", "))]
pub struct UnknownMode {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMode {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>(), Ok(m));
            assert_eq!(m.to_string(), m.name());
        }
        let e = "Adaptive".parse::<Mode>().unwrap_err();
        assert_eq!(e.name, "Adaptive");
        assert_eq!(
            e.to_string(),
            "unknown mode \"Adaptive\"; expected one of: adaptive, manual"
        );
    }
}
