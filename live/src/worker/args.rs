//! The worker's command-line flags, shared by the `lb-worker` binary and `lb-loadgen`'s hidden
//! `worker` command (what a live experiment spawns): one [`WorkerArgs`] flattened into both, so
//! the two cannot drift apart. `--listen` is not here: each binary binds in its own way.
//!
//! Values are checked as the flags are parsed (clap names the flag in its message);
//! [`WorkerConfig::validate`] checks the result again when the worker starts.

use super::config::{
    DEFAULT_CONCURRENCY, DEFAULT_SERVICE_MS, MAX_CONCURRENCY, SERVICE_SPEC_FORMS, ServiceSpecError,
    WorkerConfig, parse_service_spec,
};
use super::fault::{Fault, MAX_DELAY_MS};
use lb_core::scenario::ErrorMode;
use lb_core::scenario::model::ServiceFile;

/// How a worker serves, as flags: `--name`, `--concurrency`, `--service` or `--service-ms`,
/// `--speed`, `--error-rate`, `--error-mode`, `--seed`, `--cancel-abandoned`, and a start-up
/// fault (`--slow-factor`, `--delay-ms`, `--unhealthy`, `--hang`).
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     worker: lb_live::worker::WorkerArgs,
/// }
/// let cli = Cli::parse_from(["w", "--service", "lognormal:8:40", "--error-mode", "slow"]);
/// let config = cli.worker.into_config("127.0.0.1:9001");
/// assert_eq!(config.name, "127.0.0.1:9001");
/// assert_eq!(config.error_mode, lb_core::scenario::ErrorMode::Slow);
/// ```
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct WorkerArgs {
    /// Name in answers and the x-worker header [default: the address listened on].
    #[arg(long)]
    pub name: Option<String>,
    /// Requests served at once; more wait in a FIFO queue.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONCURRENCY)))]
    pub concurrency: u32,
    /// Constant service time in ms (same as --service constant:MS) [default: 10].
    #[arg(long, value_name = "MS", value_parser = non_negative, conflicts_with = "service")]
    pub service_ms: Option<f64>,
    /// Service-time distribution: constant:MS, exponential:MEAN_MS, lognormal:MEDIAN_MS:P99_MS or
    /// pareto:MEAN_MS:SHAPE.
    #[arg(long, value_name = "SPEC", value_parser = service_spec)]
    pub service: Option<ServiceFile>,
    /// Speed factor: service times are divided by it.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub speed: f64,
    /// Probability that a /work request fails, in [0, 1].
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub error_rate: f64,
    /// When failures answer: fast (at once, no slot) or slow (after the service time).
    #[arg(long, default_value = "fast")]
    pub error_mode: ErrorMode,
    /// Start-up fault: service times multiplied by this.
    #[arg(long, value_name = "FACTOR", value_parser = positive)]
    pub slow_factor: Option<f64>,
    /// Start-up fault: fixed delay added to each /work request, ms.
    #[arg(long, value_name = "MS", value_parser = delay)]
    pub delay_ms: Option<f64>,
    /// Start-up fault: /health answers 503.
    #[arg(long)]
    pub unhealthy: bool,
    /// Start-up fault: accept requests but never answer (until DELETE /admin/fault on the control
    /// listener).
    #[arg(long)]
    pub hang: bool,
    /// Seed of the worker's random numbers [default: derived from the name].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop working on a request when its client goes away; by default the work runs to its
    /// end and holds its slot, as in the simulator.
    #[arg(long)]
    pub cancel_abandoned: bool,
}

impl WorkerArgs {
    /// The worker's configuration; without `--name` the worker is named `listening_on` (the
    /// address it listens on). Not yet validated: [`WorkerState::new`](super::WorkerState::new)
    /// does that.
    pub fn into_config(self, listening_on: &str) -> WorkerConfig {
        let service = match (self.service, self.service_ms) {
            (Some(s), _) => s,
            (None, Some(ms)) => ServiceFile::Constant { ms },
            (None, None) => ServiceFile::Constant {
                ms: DEFAULT_SERVICE_MS,
            },
        };
        WorkerConfig {
            name: self.name.unwrap_or_else(|| listening_on.to_string()),
            concurrency: self.concurrency,
            service,
            speed: self.speed,
            error_rate: self.error_rate,
            error_mode: self.error_mode,
            seed: self.seed,
            fault: Fault {
                slow_factor: self.slow_factor,
                delay_ms: self.delay_ms,
                error_rate: None,
                error_mode: None,
                unhealthy: self.unhealthy,
                hang: self.hang,
            },
            cancel_abandoned: self.cancel_abandoned,
        }
    }
}

fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

fn positive(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number > 0, got {v}"))
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number >= 0, got {v}"))
    }
}

fn probability(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be a number in [0, 1], got {v}"))
    }
}

fn delay(s: &str) -> Result<f64, String> {
    let v = non_negative(s)?;
    if v <= MAX_DELAY_MS {
        Ok(v)
    } else {
        Err(format!("must be at most {MAX_DELAY_MS} ms, got {v}"))
    }
}

fn service_spec(s: &str) -> Result<ServiceFile, String> {
    parse_service_spec(s).map_err(|e| match e {
        ServiceSpecError::Form(_) => e.to_string(),
        other => format!("{other} (forms: {SERVICE_SPEC_FORMS})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        worker: WorkerArgs,
    }

    fn parse(args: &[&str]) -> Result<WorkerArgs, String> {
        Cli::try_parse_from(std::iter::once("w").chain(args.iter().copied()))
            .map(|c| c.worker)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_flags_is_the_default_worker_named_after_its_address() {
        let config = parse(&[]).unwrap().into_config("127.0.0.1:9001");
        assert_eq!(
            config,
            WorkerConfig {
                name: "127.0.0.1:9001".into(),
                ..WorkerConfig::default()
            }
        );
    }

    #[test]
    fn every_flag_lands_in_the_config() {
        let args = parse(&[
            "--name",
            "w3",
            "--concurrency",
            "7",
            "--service",
            "pareto:10:2.5",
            "--speed",
            "2",
            "--error-rate",
            "0.25",
            "--error-mode",
            "slow",
            "--slow-factor",
            "3",
            "--delay-ms",
            "40",
            "--unhealthy",
            "--hang",
            "--seed",
            "42",
            "--cancel-abandoned",
        ])
        .unwrap();
        let config = args.into_config("ignored");
        assert_eq!(
            config,
            WorkerConfig {
                name: "w3".into(),
                concurrency: 7,
                service: ServiceFile::Pareto {
                    mean_ms: 10.0,
                    shape: 2.5
                },
                speed: 2.0,
                error_rate: 0.25,
                error_mode: ErrorMode::Slow,
                seed: Some(42),
                fault: Fault {
                    slow_factor: Some(3.0),
                    delay_ms: Some(40.0),
                    unhealthy: true,
                    hang: true,
                    ..Fault::default()
                },
                cancel_abandoned: true,
            }
        );
        let config = parse(&["--service-ms", "2.5"]).unwrap().into_config("a");
        assert_eq!(config.service, ServiceFile::Constant { ms: 2.5 });
    }

    #[test]
    fn bad_values_are_refused_naming_the_flag() {
        let cases = [
            (&["--concurrency", "0"][..], "--concurrency"),
            (&["--speed", "0"], "--speed"),
            (&["--speed", "NaN"], "--speed"),
            (&["--error-rate", "1.5"], "--error-rate"),
            (&["--error-mode", "maybe"], "--error-mode"),
            (&["--slow-factor=-1"], "--slow-factor"),
            (&["--delay-ms", "3600001"], "--delay-ms"),
            (&["--service-ms=-1"], "--service-ms"),
            (&["--service", "lognormal:40:8"], "p99_ms"),
            (
                &["--service", "constant:1", "--service-ms", "1"],
                "--service",
            ),
        ];
        for (args, needle) in cases {
            let e = parse(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        let e = parse(&["--error-mode", "maybe"]).unwrap_err();
        assert!(e.contains("fast, slow"), "{e}");
    }
}
