//! Faults: what an experiment does to a running worker through `PUT /admin/fault`.
//!
//! A fault is a set of overrides on top of the configured worker; every field is optional and a
//! missing field means "as configured". The JSON form:
//!
//! ```json
//! {"slow_factor": 5.0, "delay_ms": 100, "error_rate": 0.5, "error_mode": "fast",
//!  "unhealthy": true, "hang": true}
//! ```
//!
//! The JSON is read field by field (not with a derived `Deserialize`) so that every refusal names
//! the field: a wrong type, an unknown field or an out-of-range value each get a message like
//! `error_rate: must be a number in [0, 1], got 1.5`.

use lb_core::scenario::ErrorMode;
use serde_json::{Map, Value, json};
use thiserror::Error;

/// Longest `delay_ms` accepted: one hour.
pub const MAX_DELAY_MS: f64 = 3_600_000.0;

/// The fields a fault may have, in the order they are documented.
pub const FAULT_FIELDS: &str = "slow_factor, delay_ms, error_rate, error_mode, unhealthy, hang";

/// Overrides applied to a worker at run time. `Fault::default()` is no fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fault {
    /// Service times are multiplied by this (> 0; 5.0 = five times slower).
    pub slow_factor: Option<f64>,
    /// Fixed delay added to each `/work` request before it queues, ms (>= 0). It holds no slot,
    /// like a network delay.
    pub delay_ms: Option<f64>,
    /// Replaces the configured failure probability (in [0, 1]).
    pub error_rate: Option<f64>,
    /// Replaces the configured failure mode.
    pub error_mode: Option<ErrorMode>,
    /// `/health` answers 503.
    pub unhealthy: bool,
    /// Requests are accepted but not answered until the fault is cleared.
    pub hang: bool,
}

/// Why a fault was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FaultError {
    /// The body is not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The body is JSON but not an object.
    #[error("expected a JSON object with fields {FAULT_FIELDS}, got {0}")]
    NotAnObject(&'static str),
    /// A field the fault does not have.
    #[error("unknown field `{0}`, expected one of: {FAULT_FIELDS}")]
    UnknownField(String),
    /// A field of the wrong type or out of range.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn number(field: &'static str, v: &Value) -> Result<Option<f64>, FaultError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| FaultError::Field {
            field,
            reason: format!("not representable as a number: {n}"),
        }),
        other => Err(FaultError::Field {
            field,
            reason: format!("expected a number, got {}", kind(other)),
        }),
    }
}

fn flag(field: &'static str, v: &Value) -> Result<bool, FaultError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(FaultError::Field {
            field,
            reason: format!("expected true or false, got {}", kind(other)),
        }),
    }
}

fn mode(v: &Value) -> Result<Option<ErrorMode>, FaultError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s == "fast" => Ok(Some(ErrorMode::Fast)),
        Value::String(s) if s == "slow" => Ok(Some(ErrorMode::Slow)),
        Value::String(s) => Err(FaultError::Field {
            field: "error_mode",
            reason: format!("expected \"fast\" or \"slow\", got {s:?}"),
        }),
        other => Err(FaultError::Field {
            field: "error_mode",
            reason: format!("expected \"fast\" or \"slow\", got {}", kind(other)),
        }),
    }
}

impl Fault {
    /// Read a fault from a request body, then [`validate`](Self::validate) it.
    pub fn from_json(body: &[u8]) -> Result<Fault, FaultError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| FaultError::Json(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(FaultError::NotAnObject(kind(&value)));
        };
        Self::from_map(&map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Fault, FaultError> {
        let mut f = Fault::default();
        for (key, v) in map {
            match key.as_str() {
                "slow_factor" => f.slow_factor = number("slow_factor", v)?,
                "delay_ms" => f.delay_ms = number("delay_ms", v)?,
                "error_rate" => f.error_rate = number("error_rate", v)?,
                "error_mode" => f.error_mode = mode(v)?,
                "unhealthy" => f.unhealthy = flag("unhealthy", v)?,
                "hang" => f.hang = flag("hang", v)?,
                _ => return Err(FaultError::UnknownField(key.clone())),
            }
        }
        f.validate()?;
        Ok(f)
    }

    /// Check the ranges: `slow_factor` finite and > 0, `delay_ms` in [0, [`MAX_DELAY_MS`]],
    /// `error_rate` in [0, 1].
    pub fn validate(&self) -> Result<(), FaultError> {
        if let Some(s) = self.slow_factor.filter(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(FaultError::Field {
                field: "slow_factor",
                reason: format!("must be a finite number > 0, got {s}"),
            });
        }
        if let Some(d) = self.delay_ms.filter(|d| !(0.0..=MAX_DELAY_MS).contains(d)) {
            return Err(FaultError::Field {
                field: "delay_ms",
                reason: format!("must be a number in [0, {MAX_DELAY_MS}], got {d}"),
            });
        }
        if let Some(r) = self.error_rate.filter(|r| !(0.0..=1.0).contains(r)) {
            return Err(FaultError::Field {
                field: "error_rate",
                reason: format!("must be a number in [0, 1], got {r}"),
            });
        }
        Ok(())
    }

    /// Whether this is no fault at all.
    pub fn is_none(&self) -> bool {
        *self == Fault::default()
    }

    /// The JSON form, every field present (`null` where not set), so it can be sent back as is.
    pub fn to_json(&self) -> Value {
        json!({
            "slow_factor": self.slow_factor,
            "delay_ms": self.delay_ms,
            "error_rate": self.error_rate,
            "error_mode": self.error_mode.map(ErrorMode::name),
            "unhealthy": self.unhealthy,
            "hang": self.hang,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        Fault::from_json(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn full_fault_round_trips() {
        let body = r#"{"slow_factor": 5.0, "delay_ms": 100, "error_rate": 0.5,
                       "error_mode": "slow", "unhealthy": true, "hang": true}"#;
        let f = Fault::from_json(body.as_bytes()).unwrap();
        assert_eq!(
            f,
            Fault {
                slow_factor: Some(5.0),
                delay_ms: Some(100.0),
                error_rate: Some(0.5),
                error_mode: Some(ErrorMode::Slow),
                unhealthy: true,
                hang: true,
            }
        );
        let again = Fault::from_json(f.to_json().to_string().as_bytes()).unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn empty_object_is_no_fault() {
        let f = Fault::from_json(b"{}").unwrap();
        assert!(f.is_none());
        let f = Fault::from_json(Fault::default().to_json().to_string().as_bytes()).unwrap();
        assert!(f.is_none());
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(err(r#"{"error_rate": 1.5}"#).starts_with("error_rate:"));
        assert!(err(r#"{"error_rate": "high"}"#).starts_with("error_rate:"));
        assert!(err(r#"{"slow_factor": 0}"#).starts_with("slow_factor:"));
        assert!(err(r#"{"delay_ms": -1}"#).starts_with("delay_ms:"));
        assert!(err(r#"{"error_mode": "sometimes"}"#).starts_with("error_mode:"));
        assert!(err(r#"{"hang": 1}"#).starts_with("hang:"));
        assert!(err(r#"{"slowfactor": 2}"#).contains("`slowfactor`"));
        assert!(err("[1]").contains("an array"));
        assert!(err("{").starts_with("invalid JSON"));
    }
}
