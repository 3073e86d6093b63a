//! From the file's text model to a typed [`Scenario`], checking every value on the way. The first
//! bad value stops validation with its field path (`workers[1].speed`) and the reason.

use super::model::EngineFile;
use super::model::{FaultKind, ScenarioFile};
use super::{
    Arrivals, BalancerSettings, Bursts, Fault, FaultAction, HealthCheck, Length, NO_SCRIPT,
    Scenario, ScenarioError, ServiceTime, WorkerSpec, mean_ms,
};
use crate::engine::{EngineConfig, PolicyKind, Thresholds};
use crate::health::{ActiveConfig, OutlierConfig, OverloadConfig};
use crate::pick::Algorithm;
use crate::stats::StatsConfig;
use crate::strategy::Strategy;
use crate::time::{Duration, Instant};

/// Longest scenario we accept: a day of virtual time.
const MAX_SECONDS: f64 = 86_400.0;
/// The shortest period of anything periodic (engine tick, health probes, bursts): below it a
/// run would do nothing but tick.
const MIN_PERIOD: Duration = Duration::from_millis(1);
/// Most request slots we accept on one worker.
const MAX_CONCURRENCY: u32 = 1_000_000;
/// More shards than cores buy nothing live; this bound only keeps a typo from allocating.
const MAX_SHARDS: u32 = 1024;
/// Most workers we accept in one scenario.
const MAX_WORKERS: usize = 10_000;
/// Highest arrival rate we accept, requests per second: far beyond any one balancer, and low
/// enough that a day of it is a count the simulator can step through.
pub(super) const MAX_RATE: f64 = 1_000_000.0;
/// Most measured requests (`requests = N`) we accept.
pub(super) const MAX_REQUESTS: u64 = 1_000_000_000;
/// Most in-flight requests an admission limit may name (above it, say 0: no limit).
const MAX_LIMIT: u32 = 100_000_000;

/// Validation of one file: the origin every error names.
pub(super) struct Check<'a> {
    origin: &'a str,
}

impl Check<'_> {
    pub(super) fn fail<T>(
        &self,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Result<T, ScenarioError> {
        Err(ScenarioError::Invalid {
            path: self.origin.into(),
            field: field.into(),
            reason: reason.into(),
        })
    }

    /// A finite number > 0.
    fn positive(&self, field: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            self.fail(field, format!("must be a number > 0, got {v}"))
        }
    }

    /// A finite number >= 0.
    fn non_negative(&self, field: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            self.fail(field, format!("must be a number >= 0, got {v}"))
        }
    }

    /// A number of seconds within a day.
    pub(super) fn seconds(&self, field: &str, v: f64) -> Result<Duration, ScenarioError> {
        let v = self.non_negative(field, v)?;
        if v > MAX_SECONDS {
            return self.fail(field, format!("must be at most {MAX_SECONDS} s, got {v}"));
        }
        Ok(Duration::from_secs_f64(v))
    }

    fn probability(&self, field: &str, v: f64) -> Result<f64, ScenarioError> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            self.fail(field, format!("must be a probability in [0, 1], got {v}"))
        }
    }

    /// An arrival rate: a finite number >= 0 (> 0 when `positive`), at most [`MAX_RATE`].
    fn rate(&self, field: &str, v: f64, positive: bool) -> Result<f64, ScenarioError> {
        let v = if positive {
            self.positive(field, v)?
        } else {
            self.non_negative(field, v)?
        };
        if v > MAX_RATE {
            return self.fail(
                field,
                format!("must be at most {MAX_RATE} requests/s, got {v}"),
            );
        }
        Ok(v)
    }

    fn at_least_one(&self, field: &str, v: u32) -> Result<u32, ScenarioError> {
        if v >= 1 {
            Ok(v)
        } else {
            self.fail(field, "must be at least 1, got 0")
        }
    }
}

/// `[balancer] panic_threshold`, `max_in_flight_per_worker`, `max_pending`.
fn overload_config(
    c: &Check<'_>,
    b: &super::model::BalancerFile,
) -> Result<OverloadConfig, ScenarioError> {
    if b.panic_threshold > 100 {
        return c.fail(
            "balancer.panic_threshold",
            format!(
                "must be a percent between 0 and 100 (0: off), got {}",
                b.panic_threshold
            ),
        );
    }
    for (field, v) in [
        (
            "balancer.max_in_flight_per_worker",
            b.max_in_flight_per_worker,
        ),
        ("balancer.max_pending", b.max_pending),
    ] {
        if v > MAX_LIMIT {
            return c.fail(
                field,
                format!("must be at most {MAX_LIMIT} (0: no limit), got {v}"),
            );
        }
    }
    Ok(OverloadConfig {
        panic_threshold: b.panic_threshold,
        max_in_flight_per_worker: b.max_in_flight_per_worker,
        max_pending: b.max_pending,
    })
}

fn file_stem(origin: &str) -> String {
    std::path::Path::new(origin)
        .file_stem()
        .map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned())
}

pub(super) fn validate(f: ScenarioFile, origin: &str) -> Result<Scenario, ScenarioError> {
    let c = Check { origin };

    let name = f.name.clone().unwrap_or_else(|| file_stem(origin));
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        return c.fail(
            "name",
            format!("must be non-empty and use only letters, digits, `_` and `-` (it names output folders), got {name:?}"),
        );
    }

    let length = match (f.duration_s, f.requests) {
        (Some(_), Some(_)) => {
            return c.fail(
                "requests",
                "give either `duration_s` or `requests`, not both",
            );
        }
        (None, None) => {
            return c.fail(
                "duration_s",
                "missing: give `duration_s` (seconds) or `requests` (a count)",
            );
        }
        (Some(d), None) => {
            c.positive("duration_s", d)?;
            Length::Duration(c.seconds("duration_s", d)?)
        }
        (None, Some(0)) => return c.fail("requests", "must be at least 1, got 0"),
        (None, Some(n)) if n > MAX_REQUESTS => {
            return c.fail(
                "requests",
                format!("must be at most {MAX_REQUESTS}, got {n}"),
            );
        }
        (None, Some(n)) => Length::Requests(n),
    };
    let warmup = c.seconds("warmup_s", f.warmup_s)?;
    if let Length::Duration(d) = length
        && warmup >= d
    {
        return c.fail(
            "warmup_s",
            format!(
                "must be shorter than duration_s ({} s), got {} s",
                d.as_secs_f64(),
                f.warmup_s
            ),
        );
    }
    let end_s = match length {
        Length::Duration(d) => d.as_secs_f64(),
        Length::Requests(_) => MAX_SECONDS,
    };

    let mut algorithms = Vec::new();
    for (i, a) in f.algorithms.iter().flatten().enumerate() {
        match a.parse::<Strategy>() {
            Ok(a) => algorithms.push(a),
            Err(e) => return c.fail(format!("algorithms[{i}]"), e.to_string()),
        }
    }

    // Arrivals.
    let a = &f.arrivals;
    c.rate("arrivals.rate", a.rate, true)?;
    let mut phases = Vec::with_capacity(a.phases.len());
    let mut last = -1.0;
    for (i, p) in a.phases.iter().enumerate() {
        let at = c.seconds(&format!("arrivals.phases[{i}].at_s"), p.at_s)?;
        if p.at_s <= last {
            return c.fail(
                format!("arrivals.phases[{i}].at_s"),
                format!(
                    "phases must be in increasing time order; {} s comes after {} s",
                    p.at_s, last
                ),
            );
        }
        last = p.at_s;
        let rate = c.rate(&format!("arrivals.phases[{i}].rate"), p.rate, false)?;
        phases.push((Instant::ZERO + at, rate));
    }
    let bursts = match &a.bursts {
        None => None,
        Some(b) => {
            let start = c.seconds("arrivals.bursts.start_s", b.start_s)?;
            c.positive("arrivals.bursts.on_s", b.on_s)?;
            let on = c.seconds("arrivals.bursts.on_s", b.on_s)?;
            let off = c.seconds("arrivals.bursts.off_s", b.off_s)?;
            if on < MIN_PERIOD {
                return c.fail(
                    "arrivals.bursts.on_s",
                    format!("must be at least 0.001 s, got {}", b.on_s),
                );
            }
            if !off.is_zero() && off < MIN_PERIOD {
                return c.fail(
                    "arrivals.bursts.off_s",
                    format!("must be 0 or at least 0.001 s, got {}", b.off_s),
                );
            }
            let on_rate = c.rate("arrivals.bursts.on_rate", b.on_rate, true)?;
            let off_rate = match b.off_rate {
                Some(r) => Some(c.rate("arrivals.bursts.off_rate", r, false)?),
                None => None,
            };
            Some(Bursts {
                start: Instant::ZERO + start,
                on,
                off,
                on_rate,
                off_rate,
            })
        }
    };
    let arrivals = Arrivals {
        process: a.process,
        rate: a.rate,
        phases,
        bursts,
    };

    // Balancer.
    let b = &f.balancer;
    let timeout = match c.non_negative("balancer.timeout_ms", b.timeout_ms)? {
        0.0 => None,
        ms => Some(Duration::from_millis_f64(ms)),
    };
    let h = &b.health;
    let health = if h.enabled {
        let interval =
            Duration::from_millis_f64(c.positive("balancer.health.interval_ms", h.interval_ms)?);
        if interval < MIN_PERIOD {
            return c.fail(
                "balancer.health.interval_ms",
                format!("must be at least 1 ms, got {}", h.interval_ms),
            );
        }
        let timeout =
            Duration::from_millis_f64(c.positive("balancer.health.timeout_ms", h.timeout_ms)?);
        Some(HealthCheck {
            interval,
            timeout,
            thresholds: ActiveConfig {
                rise: c.at_least_one("balancer.health.rise", h.rise)?,
                fall: c.at_least_one("balancer.health.fall", h.fall)?,
            },
        })
    } else {
        None
    };
    let o = &b.outlier;
    if o.max_ejection_percent > 100 {
        return c.fail(
            "balancer.outlier.max_ejection_percent",
            format!("must be between 0 and 100, got {}", o.max_ejection_percent),
        );
    }
    let base = c.positive("balancer.outlier.base_ejection_ms", o.base_ejection_ms)?;
    let max = c.positive("balancer.outlier.max_ejection_ms", o.max_ejection_ms)?;
    if max < base {
        return c.fail(
            "balancer.outlier.max_ejection_ms",
            format!("must be at least base_ejection_ms ({base}), got {max}"),
        );
    }
    let outlier = OutlierConfig {
        consecutive_failures: o.consecutive_failures,
        base_ejection: Duration::from_millis_f64(base),
        max_ejection: Duration::from_millis_f64(max),
        max_ejection_percent: o.max_ejection_percent,
    };
    let overload = overload_config(&c, b)?;
    let s = &b.stats;
    let stats = StatsConfig {
        window: c.seconds(
            "balancer.stats.window_s",
            c.positive("balancer.stats.window_s", s.window_s)?,
        )?,
        ewma_tau: Duration::from_millis_f64(
            c.positive("balancer.stats.ewma_tau_ms", s.ewma_tau_ms)?,
        ),
        peak_ewma_tau: Duration::from_millis_f64(
            c.positive("balancer.stats.peak_ewma_tau_ms", s.peak_ewma_tau_ms)?,
        ),
        ..StatsConfig::default()
    };
    if b.shards == 0 || b.shards > MAX_SHARDS {
        return c.fail(
            "balancer.shards",
            format!("must be between 1 and {MAX_SHARDS}, got {}", b.shards),
        );
    }
    let balancer = BalancerSettings {
        timeout,
        health,
        outlier,
        overload,
        stats,
        shards: b.shards as usize,
    };

    let engine = engine_config(&c, &f.engine)?;

    // Workers.
    if f.workers.is_empty() {
        return c.fail("workers", "at least one `[[workers]]` group is needed");
    }
    let mut workers = Vec::new();
    for (i, g) in f.workers.iter().enumerate() {
        let field = |name: &str| format!("workers[{i}].{name}");
        if g.count == 0 {
            return c.fail(field("count"), "must be at least 1, got 0");
        }
        let concurrency = c.at_least_one(&field("concurrency"), g.concurrency)?;
        if concurrency > MAX_CONCURRENCY {
            return c.fail(
                field("concurrency"),
                format!("must be at most {MAX_CONCURRENCY}, got {concurrency}"),
            );
        }
        let service = ServiceTime::from_file(&g.service)
            .or_else(|(f, reason)| c.fail(field(&format!("service.{f}")), reason))?;
        let speed = c.positive(&field("speed"), g.speed)?;
        let weight = c.at_least_one(&field("weight"), g.weight)?;
        let error_rate = c.probability(&field("error_rate"), g.error_rate)?;
        let delay = c.non_negative(&field("network_delay_ms"), g.network_delay_ms)?;
        let mean = mean_ms(&g.service);
        for _ in 0..g.count {
            if workers.len() >= MAX_WORKERS {
                return c.fail(
                    field("count"),
                    format!("at most {MAX_WORKERS} workers in all"),
                );
            }
            workers.push(WorkerSpec {
                concurrency,
                service,
                service_file: g.service,
                mean_service_ms: mean,
                speed,
                weight,
                error_rate,
                error_mode: g.error_mode,
                network_delay: Duration::from_millis_f64(delay),
            });
        }
    }

    // Faults.
    let mut faults = Vec::with_capacity(f.faults.len());
    for (i, ft) in f.faults.iter().enumerate() {
        let field = |name: &str| format!("faults[{i}].{name}");
        let at = c.seconds(&field("at_s"), ft.at_s)?;
        if ft.at_s >= end_s {
            return c.fail(
                field("at_s"),
                format!(
                    "must be before the end of the run ({end_s} s), got {}",
                    ft.at_s
                ),
            );
        }
        let worker = ft.worker as usize;
        if worker >= workers.len() {
            return c.fail(
                field("worker"),
                format!(
                    "no worker {worker}: the scenario has {} workers (0 to {})",
                    workers.len(),
                    workers.len() - 1
                ),
            );
        }
        let unexpected = |name: &str, present: bool| -> Result<(), ScenarioError> {
            if present {
                c.fail(
                    field(name),
                    format!("does not apply to action = \"{}\"", kind_name(ft.action)),
                )
            } else {
                Ok(())
            }
        };
        let action = match ft.action {
            FaultKind::Slow => {
                unexpected("rate", ft.rate.is_some())?;
                unexpected("mode", ft.mode.is_some())?;
                let Some(factor) = ft.factor else {
                    return c.fail(
                        field("factor"),
                        "missing: action = \"slow\" needs a factor (5.0 = five times slower)",
                    );
                };
                FaultAction::Slow(c.positive(&field("factor"), factor)?)
            }
            FaultKind::Errors => {
                unexpected("factor", ft.factor.is_some())?;
                let Some(rate) = ft.rate else {
                    return c.fail(
                        field("rate"),
                        "missing: action = \"errors\" needs a rate in [0, 1]",
                    );
                };
                FaultAction::Errors(
                    c.probability(&field("rate"), rate)?,
                    ft.mode.unwrap_or_default(),
                )
            }
            FaultKind::Down | FaultKind::Recover => {
                unexpected("factor", ft.factor.is_some())?;
                unexpected("rate", ft.rate.is_some())?;
                unexpected("mode", ft.mode.is_some())?;
                if ft.action == FaultKind::Down {
                    FaultAction::Down
                } else {
                    FaultAction::Recover
                }
            }
        };
        faults.push(Fault {
            at: Instant::ZERO + at,
            worker,
            action,
        });
    }
    faults.sort_by_key(|f| f.at);

    let switches = super::switches::validate(&c, &f.switches, end_s)?;
    if switches.is_empty()
        && let Some(i) = algorithms.iter().position(|a| *a == Strategy::Scripted)
    {
        return c.fail(format!("algorithms[{i}]"), NO_SCRIPT);
    }

    Ok(Scenario {
        name,
        description: f.description,
        origin: origin.to_string(),
        length,
        warmup,
        algorithms,
        arrivals,
        balancer,
        engine,
        workers,
        faults,
        switches,
    })
}

/// The `[engine]` table of a scenario (or of a live balancer's configuration) as an
/// [`EngineConfig`], checked; errors name `origin` and the field.
pub fn engine_from_file(e: &EngineFile, origin: &str) -> Result<EngineConfig, ScenarioError> {
    engine_config(&Check { origin }, e)
}

fn engine_config(c: &Check<'_>, e: &EngineFile) -> Result<EngineConfig, ScenarioError> {
    let d = EngineConfig::default();
    let t = Thresholds::default();
    let secs =
        |field: &str, v: Option<f64>, default: Duration| -> Result<Duration, ScenarioError> {
            match v {
                None => Ok(default),
                Some(v) => {
                    c.positive(&format!("engine.{field}"), v)?;
                    c.seconds(&format!("engine.{field}"), v)
                }
            }
        };
    let pos = |field: &str, v: Option<f64>, default: f64| -> Result<f64, ScenarioError> {
        v.map_or(Ok(default), |v| c.positive(&format!("engine.{field}"), v))
    };
    let prob = |field: &str, v: Option<f64>, default: f64| -> Result<f64, ScenarioError> {
        v.map_or(Ok(default), |v| {
            c.probability(&format!("engine.{field}"), v)
        })
    };
    let baseline = match &e.baseline {
        None => d.baseline,
        Some(name) => name
            .parse::<Algorithm>()
            .or_else(|err| c.fail("engine.baseline", err.to_string()))?,
    };
    let candidates =
        match &e.candidates {
            None => d.candidates.clone(),
            Some(names) => {
                let mut v = Vec::new();
                for (i, n) in names.iter().enumerate() {
                    v.push(n.parse::<Algorithm>().or_else(|err| {
                        c.fail(format!("engine.candidates[{i}]"), err.to_string())
                    })?);
                }
                v
            }
        };
    let thresholds = Thresholds {
        latency_skew_enter: pos("latency_skew", e.latency_skew, t.latency_skew_enter)?,
        slow_share_enter: prob("slow_share", e.slow_share, t.slow_share_enter)?,
        pool_slowdown_enter: pos("pool_slowdown", e.pool_slowdown, t.pool_slowdown_enter)?,
        worker_error_enter: prob(
            "worker_error_rate",
            e.worker_error_rate,
            t.worker_error_enter,
        )?,
        pool_error_enter: prob("pool_error_rate", e.pool_error_rate, t.pool_error_enter)?,
        fast_failure_ratio: pos(
            "fast_failure_ratio",
            e.fast_failure_ratio,
            t.fast_failure_ratio,
        )?,
        in_flight_skew_enter: pos("in_flight_skew", e.in_flight_skew, t.in_flight_skew_enter)?,
        in_flight_floor: pos("in_flight_floor", e.in_flight_floor, t.in_flight_floor)?,
        calm_latency_skew: pos(
            "calm_latency_skew",
            e.calm_latency_skew,
            t.calm_latency_skew,
        )?,
        calm_error_rate: prob("calm_error_rate", e.calm_error_rate, t.calm_error_rate)?,
        calm_in_flight_skew: pos(
            "calm_in_flight_skew",
            e.calm_in_flight_skew,
            t.calm_in_flight_skew,
        )?,
    };
    // Hysteresis: going back must be harder than leaving.
    let stricter = [
        (
            "calm_latency_skew",
            thresholds.calm_latency_skew,
            "latency_skew",
            thresholds.latency_skew_enter,
        ),
        (
            "calm_error_rate",
            thresholds.calm_error_rate,
            "worker_error_rate",
            thresholds.worker_error_enter,
        ),
        (
            "calm_in_flight_skew",
            thresholds.calm_in_flight_skew,
            "in_flight_skew",
            thresholds.in_flight_skew_enter,
        ),
    ];
    for (calm, cv, enter, ev) in stricter {
        if cv >= ev {
            return c.fail(
                format!("engine.{calm}"),
                format!("must be below engine.{enter} ({ev}) so that switching back is stricter than switching, got {cv}"),
            );
        }
    }
    let confirm_ticks = match e.confirm_ticks {
        Some(0) => return c.fail("engine.confirm_ticks", "must be at least 1, got 0"),
        Some(n) => n,
        None => d.confirm_ticks,
    };
    let tick = secs("tick_s", e.tick_s, d.tick)?;
    if tick < MIN_PERIOD {
        return c.fail(
            "engine.tick_s",
            format!("must be at least 0.001 s, got {}", tick.as_secs_f64()),
        );
    }
    let window = secs("window_s", e.window_s, d.window)?;
    if window < tick {
        return c.fail(
            "engine.window_s",
            format!(
                "must be at least one tick ({} s), got {} s",
                tick.as_secs_f64(),
                window.as_secs_f64()
            ),
        );
    }
    let policy = match &e.policy {
        None => d.policy,
        Some(p) => match p.parse::<PolicyKind>() {
            Ok(p) => p,
            Err(err) => return c.fail("engine.policy", err.to_string()),
        },
    };
    Ok(EngineConfig {
        policy,
        tick,
        window,
        baseline,
        candidates,
        min_samples: e.min_samples.unwrap_or(d.min_samples),
        min_worker_samples: e.min_worker_samples.unwrap_or(d.min_worker_samples),
        max_evidence_age: secs(
            "max_evidence_age_s",
            e.max_evidence_age_s,
            d.max_evidence_age,
        )?,
        confirm_ticks,
        calm_for: secs("calm_for_s", e.calm_for_s, d.calm_for)?,
        slow_persist: match e.slow_persist_s {
            Some(0.0) => crate::time::Duration::ZERO,
            v => secs("slow_persist_s", v, d.slow_persist)?,
        },
        baseline_tau: secs("baseline_tau_s", e.baseline_tau_s, d.baseline_tau)?,
        thresholds,
        ..d
    })
}

fn kind_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Slow => "slow",
        FaultKind::Errors => "errors",
        FaultKind::Down => "down",
        FaultKind::Recover => "recover",
    }
}
