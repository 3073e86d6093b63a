//! Faults: what an experiment does to a running worker through `PUT /admin/fault` (on the
//! worker's control listener).
//!
//! A fault is a set of overrides on top of the configured worker; every field is optional and a
//! missing field means "as configured". The JSON form:
//!
//! ```json
//! {"slow_factor": 5.0, "delay_ms": 100, "error_rate": 0.5, "error_mode": "fast",
//!  "unhealthy": true, "hang": true}
//! ```
//!
//! The body must be a JSON object (a derived struct would also take an array, its items taken
//! as the fields in order). The object is read by a derived `Deserialize` that refuses unknown
//! fields, through `serde_path_to_error` so that every refusal names the field;
//! [`Fault::validate`] then checks the ranges. A wrong type, an unknown field or an out-of-range value each get a message like
//! `error_rate: must be a number in [0, 1], got 1.5`. `null` is the same as a missing field, so
//! the form `GET /admin/fault` answers (every field present) can be sent back as is.

use lb_core::scenario::ErrorMode;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use thiserror::Error;

/// Longest `delay_ms` accepted: one hour.
pub const MAX_DELAY_MS: f64 = 3_600_000.0;

/// The fields a fault may have, in the order they are documented.
pub const FAULT_FIELDS: &str = "slow_factor, delay_ms, error_rate, error_mode, unhealthy, hang";

/// Overrides applied to a worker at run time. `Fault::default()` is no fault.
///
/// Deserialising checks names and types only; [`Fault::from_json`] also checks the ranges.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    /// Service times are multiplied by this (> 0; 5.0 = five times slower).
    pub slow_factor: Option<f64>,
    /// Fixed delay added to each `/work` request before it queues, ms (>= 0). It holds no slot,
    /// like a network delay.
    pub delay_ms: Option<f64>,
    /// Replaces the configured failure probability (in [0, 1]).
    pub error_rate: Option<f64>,
    /// Replaces the configured failure mode (`fast` or `slow`).
    pub error_mode: Option<ErrorMode>,
    /// `/health` answers 503.
    #[serde(deserialize_with = "null_is_false")]
    pub unhealthy: bool,
    /// Requests are accepted but not answered until the fault is cleared.
    #[serde(deserialize_with = "null_is_false")]
    pub hang: bool,
}

/// A flag given as `null` is off, as if missing.
fn null_is_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Option::<bool>::deserialize(d).map(Option::unwrap_or_default)
}

/// Why a fault was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FaultError {
    /// The body is not JSON (or has more after the JSON value).
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
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl FaultError {
    fn field(field: &str, reason: String) -> Self {
        FaultError::Field {
            field: field.to_string(),
            reason,
        }
    }

    /// A field the fault does not have, or one of its fields, from where serde stopped.
    fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().clone();
        let reason = e.into_inner().to_string();
        match path.iter().next() {
            Some(serde_path_to_error::Segment::Map { key })
                if !FAULT_FIELDS.split(", ").any(|f| f == key) =>
            {
                FaultError::UnknownField(key.clone())
            }
            _ => FaultError::field(&path.to_string(), reason),
        }
    }
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

impl Fault {
    /// Read a fault from a request body, then [`validate`](Self::validate) it.
    pub fn from_json(body: &[u8]) -> Result<Fault, FaultError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| FaultError::Json(e.to_string()))?;
        if !value.is_object() {
            return Err(FaultError::NotAnObject(kind(&value)));
        }
        let fault: Fault =
            serde_path_to_error::deserialize(value).map_err(FaultError::from_serde)?;
        fault.validate()?;
        Ok(fault)
    }

    /// Check the ranges: `slow_factor` finite and > 0, `delay_ms` in [0, [`MAX_DELAY_MS`]],
    /// `error_rate` in [0, 1].
    pub fn validate(&self) -> Result<(), FaultError> {
        if let Some(s) = self.slow_factor.filter(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(FaultError::field(
                "slow_factor",
                format!("must be a finite number > 0, got {s}"),
            ));
        }
        if let Some(d) = self.delay_ms.filter(|d| !(0.0..=MAX_DELAY_MS).contains(d)) {
            return Err(FaultError::field(
                "delay_ms",
                format!("must be a number in [0, {MAX_DELAY_MS}], got {d}"),
            ));
        }
        if let Some(r) = self.error_rate.filter(|r| !(0.0..=1.0).contains(r)) {
            return Err(FaultError::field(
                "error_rate",
                format!("must be a number in [0, 1], got {r}"),
            ));
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
        assert!(err("[1]").contains("JSON object"));
        assert!(err("{").starts_with("invalid JSON"));
    }

    #[test]
    fn each_refusal_says_why() {
        let cases = [
            (
                r#"{"error_rate": 1.5}"#,
                "error_rate: must be a number in [0, 1], got 1.5",
            ),
            (
                r#"{"error_rate": -0.1}"#,
                "error_rate: must be a number in [0, 1], got -0.1",
            ),
            (
                r#"{"slow_factor": -2}"#,
                "slow_factor: must be a finite number > 0, got -2",
            ),
            (
                r#"{"delay_ms": 3600001}"#,
                "delay_ms: must be a number in [0, 3600000], got 3600001",
            ),
            (
                r#"{"delay_ms": "soon"}"#,
                "delay_ms: invalid type: string \"soon\", expected f64",
            ),
            (
                r#"{"error_mode": "sometimes"}"#,
                "error_mode: unknown variant `sometimes`, expected `fast` or `slow`",
            ),
            (
                r#"{"unhealthy": "yes"}"#,
                "unhealthy: invalid type: string \"yes\", expected a boolean",
            ),
            (
                r#"{"hang": true, "slowfactor": 2}"#,
                "unknown field `slowfactor`, expected one of: slow_factor, delay_ms, \
                 error_rate, error_mode, unhealthy, hang",
            ),
            (
                "[1]",
                "expected a JSON object with fields slow_factor, delay_ms, error_rate, \
                 error_mode, unhealthy, hang, got an array",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(err(body), want, "{body}");
        }
        assert_eq!(
            Fault::from_json(br#"{"slowfactor": 2}"#),
            Err(FaultError::UnknownField("slowfactor".into()))
        );
        // Not JSON at all, NaN included (JSON has no NaN), or more after the object.
        for body in ["{", r#"{"slow_factor": NaN}"#, r#"{"hang": true} {}"#, ""] {
            assert!(
                matches!(Fault::from_json(body.as_bytes()), Err(FaultError::Json(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn nan_and_infinity_are_refused_when_built_in_code() {
        let bad = [
            Fault {
                slow_factor: Some(f64::NAN),
                ..Fault::default()
            },
            Fault {
                slow_factor: Some(f64::INFINITY),
                ..Fault::default()
            },
            Fault {
                delay_ms: Some(f64::NAN),
                ..Fault::default()
            },
            Fault {
                error_rate: Some(f64::NAN),
                ..Fault::default()
            },
        ];
        for f in bad {
            assert!(
                matches!(f.validate(), Err(FaultError::Field { .. })),
                "{f:?}"
            );
        }
    }

    #[test]
    fn null_is_a_missing_field_and_flags_default_to_off() {
        let f = Fault::from_json(
            br#"{"slow_factor": null, "error_mode": null, "unhealthy": null, "hang": null}"#,
        )
        .unwrap();
        assert!(f.is_none());
        let f = Fault::from_json(br#"{"error_mode": "fast", "hang": false}"#).unwrap();
        assert_eq!(f.error_mode, Some(ErrorMode::Fast));
        assert!(!f.hang);
    }

    #[test]
    fn only_an_object_is_a_fault() {
        for (body, kind) in [
            ("1", "a number"),
            ("null", "null"),
            (r#""hang""#, "a string"),
        ] {
            assert_eq!(
                Fault::from_json(body.as_bytes()),
                Err(FaultError::NotAnObject(kind))
            );
        }
        // A derived struct alone would read this as slow_factor = 2.
        assert_eq!(
            Fault::from_json(b"[2]"),
            Err(FaultError::NotAnObject("an array"))
        );
    }
}
