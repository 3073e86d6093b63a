//! The decision log: every switch, with when, from what, to what, why, and the numbers.

use super::condition::Condition;
use super::forecast::Forecast;
use crate::pick::Algorithm;
use crate::time::Instant;
use std::fmt;
use std::sync::Arc;

/// Why the algorithm changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The engine saw this condition.
    Condition(Condition),
    /// An operator pinned the algorithm (manual mode).
    Operator,
    /// A scenario's `[[switches]]` script (the `scripted` and `oracle` runs of the simulator).
    Scripted,
}

impl Reason {
    /// The name in the log: the condition's name, `manual`, or `scripted`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Condition(c) => c.name(),
            Reason::Operator => "manual",
            Reason::Scripted => "scripted",
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
    /// The worker the condition named, if one.
    pub worker: Option<Arc<str>>,
    /// The measured value that crossed the threshold (a ratio or a rate), if a condition did.
    pub value: Option<f64>,
    /// The threshold it crossed.
    pub threshold: Option<f64>,
    /// What the forecast policy predicted for each candidate (empty for other policies).
    pub forecast: Vec<Forecast>,
    /// The numbers that triggered it, in words.
    pub detail: String,
}

impl Decision {
    /// The forecast as one field: `algorithm:p99_ms:error_rate` per candidate, `;`-separated.
    pub fn forecast_field(&self) -> String {
        self.forecast
            .iter()
            .map(|f| format!("{}:{:.3}:{:.5}", f.algorithm, f.p99_ms, f.error_rate))
            .collect::<Vec<_>>()
            .join(";")
    }
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
