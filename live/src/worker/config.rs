//! A worker's configuration: who it is and how it serves, before any fault.
//!
//! The fields mirror a scenario's `[[workers]]` group (`lb_core::scenario::model::WorkerGroupFile`)
//! so a live worker can be set up like a simulated one. [`parse_service_spec`] reads the compact
//! command-line form of a service-time distribution (`lognormal:8:40`).

use super::fault::{Fault, FaultError};
use lb_core::scenario::model::ServiceFile;
use lb_core::scenario::{ErrorMode, ServiceTime};
use thiserror::Error;

/// Slots a worker has unless told otherwise: a small server that overlaps a few requests.
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// Service time unless told otherwise: 10 ms, constant.
pub const DEFAULT_SERVICE_MS: f64 = 10.0;

/// Most slots a worker may have (far above any useful value; keeps the semaphore in range).
pub const MAX_CONCURRENCY: u32 = 1_000_000;

/// How one worker serves requests.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Name reported in every answer and the `x-worker` header (printable ASCII).
    pub name: String,
    /// Requests served at once; more wait in a FIFO queue. Default [`DEFAULT_CONCURRENCY`].
    pub concurrency: u32,
    /// Service-time distribution at speed 1. Default: constant [`DEFAULT_SERVICE_MS`].
    pub service: ServiceFile,
    /// Service times are divided by this (2.0 = twice as fast). Default 1.
    pub speed: f64,
    /// Probability that a `/work` request fails. Default 0.
    pub error_rate: f64,
    /// Whether failures come at once (`fast`, default) or after the service time (`slow`).
    pub error_mode: ErrorMode,
    /// Seed of the worker's random numbers; `None`: derived from the name ([`seed_from_name`]).
    pub seed: Option<u64>,
    /// Fault in force at start (default: none).
    pub fault: Fault,
    /// Stop working on a `/work` request as soon as its client goes away (hyper drops the
    /// handler when the connection closes). Default `false`: the work runs to its end and
    /// holds its slot meanwhile, as in the simulator and in most servers (a thread serving a
    /// request rarely notices that the client hung up). This decides what a balancer's timeout
    /// does to an overloaded worker: with `false` the timed-out requests still use it up.
    pub cancel_abandoned: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            name: "worker".to_string(),
            concurrency: DEFAULT_CONCURRENCY,
            service: ServiceFile::Constant {
                ms: DEFAULT_SERVICE_MS,
            },
            speed: 1.0,
            error_rate: 0.0,
            error_mode: ErrorMode::Fast,
            seed: None,
            fault: Fault::default(),
            cancel_abandoned: false,
        }
    }
}

/// Why a [`WorkerConfig`] was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// The name is empty or not printable ASCII (it goes into a header).
    #[error(
        "name: must be non-empty printable ASCII (it is sent as the x-worker header), got {0:?}"
    )]
    Name(String),
    /// Concurrency out of range.
    #[error("concurrency: must be between 1 and {MAX_CONCURRENCY}, got {0}")]
    Concurrency(u32),
    /// A service-time parameter is out of range.
    #[error("service: {field}: {reason}")]
    Service {
        /// The distribution's parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Speed not a finite number > 0.
    #[error("speed: must be a finite number > 0, got {0}")]
    Speed(f64),
    /// Error rate outside [0, 1].
    #[error("error_rate: must be a number in [0, 1], got {0}")]
    ErrorRate(f64),
    /// The start-up fault is invalid.
    #[error("fault: {0}")]
    Fault(#[from] FaultError),
}

impl WorkerConfig {
    /// Check every field and build the ready-to-sample service time.
    pub fn validate(&self) -> Result<ServiceTime, ConfigError> {
        let printable = |c: char| c.is_ascii_graphic() || c == ' ';
        if self.name.is_empty() || !self.name.chars().all(printable) {
            return Err(ConfigError::Name(self.name.clone()));
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(ConfigError::Concurrency(self.concurrency));
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(ConfigError::Speed(self.speed));
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(ConfigError::ErrorRate(self.error_rate));
        }
        self.fault.validate()?;
        ServiceTime::from_file(&self.service)
            .map_err(|(field, reason)| ConfigError::Service { field, reason })
    }

    /// The seed in use: the configured one, or one derived from the name.
    pub fn effective_seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| seed_from_name(&self.name))
    }
}

/// A stable seed from a name: FNV-1a over its bytes (the same on every platform and Rust
/// version, unlike `std`'s hasher), so two workers named differently draw differently and a
/// restarted worker draws the same as before.
pub fn seed_from_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The forms [`parse_service_spec`] accepts, for error messages and help.
pub const SERVICE_SPEC_FORMS: &str =
    "constant:MS, exponential:MEAN_MS, lognormal:MEDIAN_MS:P99_MS or pareto:MEAN_MS:SHAPE";

/// Why a service spec was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ServiceSpecError {
    /// Not one of the known forms.
    #[error("expected {SERVICE_SPEC_FORMS}, got {0:?}")]
    Form(String),
    /// A parameter is not a number.
    #[error("{field}: expected a number, got {got:?} (forms: {SERVICE_SPEC_FORMS})")]
    Number {
        /// The parameter.
        field: &'static str,
        /// The text given.
        got: String,
    },
    /// A parameter is out of range.
    #[error("{field}: {reason}")]
    Range {
        /// The parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parse `constant:10`, `exponential:10`, `lognormal:8:40` (median and p99) or `pareto:10:2.5`
/// (mean and tail index) into a [`ServiceFile`], checking the parameters.
///
/// ```
/// use lb_core::scenario::model::ServiceFile;
/// let s = lb_live::worker::parse_service_spec("lognormal:8:40").unwrap();
/// assert_eq!(s, ServiceFile::Lognormal { median_ms: 8.0, p99_ms: 40.0 });
/// assert!(lb_live::worker::parse_service_spec("lognormal:40:8").is_err());
/// ```
pub fn parse_service_spec(spec: &str) -> Result<ServiceFile, ServiceSpecError> {
    let parts: Vec<&str> = spec.trim().split(':').map(str::trim).collect();
    let num = |field: &'static str, s: &str| {
        s.parse::<f64>().map_err(|_| ServiceSpecError::Number {
            field,
            got: s.to_string(),
        })
    };
    let file = match parts.as_slice() {
        ["constant", ms] => ServiceFile::Constant { ms: num("ms", ms)? },
        ["exponential", mean] => ServiceFile::Exponential {
            mean_ms: num("mean_ms", mean)?,
        },
        ["lognormal", median, p99] => ServiceFile::Lognormal {
            median_ms: num("median_ms", median)?,
            p99_ms: num("p99_ms", p99)?,
        },
        ["pareto", mean, shape] => ServiceFile::Pareto {
            mean_ms: num("mean_ms", mean)?,
            shape: num("shape", shape)?,
        },
        _ => return Err(ServiceSpecError::Form(spec.to_string())),
    };
    ServiceTime::from_file(&file)
        .map_err(|(field, reason)| ServiceSpecError::Range { field, reason })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_ten_ms_constant_four_slots() {
        let c = WorkerConfig::default();
        assert_eq!(c.validate().unwrap(), ServiceTime::Constant(10.0));
        assert_eq!(c.concurrency, 4);
    }

    #[test]
    fn every_spec_form_parses() {
        assert_eq!(
            parse_service_spec("constant:10").unwrap(),
            ServiceFile::Constant { ms: 10.0 }
        );
        assert_eq!(
            parse_service_spec("exponential:10").unwrap(),
            ServiceFile::Exponential { mean_ms: 10.0 }
        );
        assert_eq!(
            parse_service_spec("pareto:10:2.5").unwrap(),
            ServiceFile::Pareto {
                mean_ms: 10.0,
                shape: 2.5
            }
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        assert!(matches!(
            parse_service_spec("gamma:1"),
            Err(ServiceSpecError::Form(_))
        ));
        assert!(matches!(
            parse_service_spec("constant"),
            Err(ServiceSpecError::Form(_))
        ));
        let e = parse_service_spec("exponential:ten").unwrap_err();
        assert!(e.to_string().contains("mean_ms"), "{e}");
        let e = parse_service_spec("pareto:10:1").unwrap_err();
        assert!(e.to_string().contains("shape"), "{e}");
        let e = parse_service_spec("constant:-1").unwrap_err();
        assert!(e.to_string().contains("ms"), "{e}");
    }

    #[test]
    fn bad_configs_name_the_field() {
        let bad = |f: fn(&mut WorkerConfig)| {
            let mut c = WorkerConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.concurrency = 0).starts_with("concurrency"));
        assert!(bad(|c| c.speed = 0.0).starts_with("speed"));
        assert!(bad(|c| c.error_rate = f64::NAN).starts_with("error_rate"));
        assert!(bad(|c| c.name = "a\nb".into()).starts_with("name"));
        assert!(bad(|c| c.fault.slow_factor = Some(-1.0)).starts_with("fault: slow_factor"));
    }

    #[test]
    fn name_seed_is_stable() {
        assert_eq!(seed_from_name(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(seed_from_name("w1"), seed_from_name("w2"));
    }
}
