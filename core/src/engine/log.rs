//! The decision log: every switch, with when, from what, to what, why, and the numbers.

use super::condition::Condition;
use crate::pick::Algorithm;
use crate::time::Instant;
use std::fmt;

/// Why the algorithm changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The engine saw this condition.
    Condition(Condition),
    /// An operator pinned the algorithm (manual mode).
    Operator,
}

impl Reason {
    /// The name in the log: the condition's name, or `manual`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Condition(c) => c.name(),
            Reason::Operator => "manual",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One switch of algorithm.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// When.
    pub at: Instant,
    /// The algorithm before.
    pub from: Algorithm,
    /// The algorithm after.
    pub to: Algorithm,
    /// Why.
    pub reason: Reason,
    /// The numbers that triggered it, in words.
    pub detail: String,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {} ({}): {}",
            self.at, self.from, self.to, self.reason, self.detail
        )
    }
}
