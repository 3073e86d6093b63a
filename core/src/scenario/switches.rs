//! `[[switches]]`: the script of a `scripted` run, a list of `{ at_s, algorithm }` entries. From
//! each entry's time on, the pool balances with its algorithm, switched the way the decision
//! engine switches (every shard at once); a run starts on the first entry's algorithm when its
//! `at_s` is 0, else on the engine's baseline. Only static algorithms can be named: a script is
//! the experimenter's choice made in advance, which is what `scripted` runs compare with the
//! engine's choices made on the fly (and what the simulator's hindsight `oracle` is made of).
//!
//! ```
//! let text = r#"
//!     duration_s = 60
//!     [arrivals]
//!     rate = 100
//!     [[workers]]
//!     service = { distribution = "constant", ms = 1 }
//!     [[switches]]
//!     at_s = 20
//!     algorithm = "peak_ewma"
//! "#;
//! let s = lb_core::scenario::Scenario::from_toml_str(text, "script.toml").unwrap();
//! assert_eq!(s.switches[0].algorithm, lb_core::Algorithm::PeakEwma);
//! assert_eq!(s.script_start(), lb_core::Algorithm::LeastConnections);
//! ```

use super::model::SwitchFile;
use super::validate::Check;
use super::{ScenarioError, Switch};
use crate::pick::Algorithm;
use crate::strategy::Strategy;
use crate::time::Instant;

/// The `[[switches]]` script: times within the run (before `end_s`), strictly increasing, each
/// naming a static algorithm.
pub(super) fn validate(
    c: &Check<'_>,
    list: &[SwitchFile],
    end_s: f64,
) -> Result<Vec<Switch>, ScenarioError> {
    let mut out: Vec<Switch> = Vec::with_capacity(list.len());
    let mut last = None;
    for (i, s) in list.iter().enumerate() {
        let field = |name: &str| format!("switches[{i}].{name}");
        let at = c.seconds(&field("at_s"), s.at_s)?;
        if s.at_s >= end_s {
            return c.fail(
                field("at_s"),
                format!(
                    "must be before the end of the run ({end_s} s), got {}",
                    s.at_s
                ),
            );
        }
        if let Some(prev) = last
            && s.at_s <= prev
        {
            return c.fail(
                field("at_s"),
                format!(
                    "switches must be in strictly increasing time order; {} s comes after {prev} s",
                    s.at_s
                ),
            );
        }
        last = Some(s.at_s);
        let algorithm = match s.algorithm.parse::<Algorithm>() {
            Ok(a) => a,
            Err(e) => {
                let reason = match s.algorithm.parse::<Strategy>() {
                    Ok(st) => format!(
                        "`{st}` is not a static algorithm; a switch names one of: {}",
                        Algorithm::ALL.map(Algorithm::name).join(", ")
                    ),
                    Err(_) => e.to_string(),
                };
                return c.fail(field("algorithm"), reason);
            }
        };
        out.push(Switch {
            at: Instant::ZERO + at,
            algorithm,
        });
    }
    Ok(out)
}
