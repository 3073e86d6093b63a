//! The balancer's settings: a TOML file (`--config`) and command-line flags on top of it.
//! Every problem names the setting and the cause: `--listen 127.0.0.1:x: invalid socket
//! address`, `balancer.toml: field `health.rise`: must be at least 1`.
//!
//! ```toml
//! listen = "127.0.0.1:8080"        # data port
//! admin = "127.0.0.1:8081"         # admin API and /metrics
//! algorithm = "adaptive"           # or any algorithm name
//! token = "secret"                 # bearer token for admin changes (or LB_ADMIN_TOKEN)
//! connect_timeout_ms = 1000
//! request_timeout_ms = 10000
//! drain_timeout_ms = 30000         # graceful shutdown: longest wait for in-flight requests
//! shards = 2                       # core balancer shards (default: one per core)
//! per_try_timeout_ms = 5000        # one try of a retryable request (at most request_timeout_ms)
//! header_timeout_ms = 60000        # a client's request head must arrive within this
//! idle_timeout_ms = 75000          # a kept-alive client connection with nothing to do closes
//! body_timeout_ms = 60000          # longest gap between two pieces of a request body
//! max_connections = 4096           # open data connections (default: fits the descriptor limit)
//! backlog = 1024                   # listen backlog of the data and admin sockets
//! admin_insecure = false           # allow a non-loopback admin address without a token
//!
//! [[workers]]
//! addr = "127.0.0.1:9001"
//! weight = 1
//!
//! [health]                         # active checks
//! interval_ms = 1000
//! timeout_ms = 500
//! path = "/health"
//! rise = 2
//! fall = 3
//!
//! [outlier]                        # passive ejection
//! consecutive_failures = 5
//! base_ejection_ms = 30000
//! max_ejection_ms = 300000
//! max_ejection_percent = 50
//!
//! [overload]                       # overload protection (lb_core::health::overload)
//! panic_threshold = 50             # below 50% available, route to every worker that is up
//! max_in_flight_per_worker = 0     # beyond, 503 with Retry-After at once (0: no limit)
//! max_pending = 0                  # the same for the whole balancer
//!
//! [engine]                         # the decision engine, as in scenario files
//! window_s = 60
//! ```

use super::health::HealthSettings;
use lb_core::engine::EngineConfig;
use lb_core::health::{ActiveConfig, OutlierConfig, OverloadConfig};
use lb_core::scenario::{engine_from_file, model::EngineFile};
use lb_core::{Algorithm, BalancerConfig, Strategy};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown fields.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (line, column, field).
        message: String,
    },
    /// A value is wrong.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting (`--listen`, `balancer.toml: field `health.rise``).
        setting: String,
        /// Why.
        reason: String,
    },
}

fn invalid<T>(setting: impl Into<String>, reason: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        setting: setting.into(),
        reason: reason.into(),
    })
}

/// The TOML file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Data listener.
    pub listen: Option<String>,
    /// Admin listener.
    pub admin: Option<String>,
    /// Algorithm name or `adaptive`.
    pub algorithm: Option<String>,
    /// Admin bearer token.
    pub token: Option<String>,
    /// Connect timeout, ms.
    pub connect_timeout_ms: Option<u64>,
    /// Request timeout (to the response head), ms.
    pub request_timeout_ms: Option<u64>,
    /// Core balancer shards (default: one per core).
    pub shards: Option<usize>,
    /// Longest wait for in-flight requests at shutdown, ms.
    pub drain_timeout_ms: Option<u64>,
    /// One try of a retryable request, ms.
    pub per_try_timeout_ms: Option<u64>,
    /// A client's request head, ms.
    pub header_timeout_ms: Option<u64>,
    /// A kept-alive client connection with no request, ms.
    pub idle_timeout_ms: Option<u64>,
    /// Gap between two pieces of a request body, ms.
    pub body_timeout_ms: Option<u64>,
    /// Open data connections at most.
    pub max_connections: Option<usize>,
    /// Listen backlog.
    pub backlog: Option<u32>,
    /// Allow a non-loopback admin address without a token.
    pub admin_insecure: Option<bool>,
    /// Workers.
    #[serde(default)]
    pub workers: Vec<WorkerFile>,
    /// Active health checks.
    #[serde(default)]
    pub health: HealthFile,
    /// Passive ejection.
    #[serde(default)]
    pub outlier: OutlierFile,
    /// The decision engine.
    #[serde(default)]
    pub engine: EngineFile,
    /// The other balancer of a pair, mirrored while this one is the standby.
    pub peer: Option<super::peer::PeerFile>,
    /// Overload protection.
    #[serde(default)]
    pub overload: OverloadFile,
}

/// `[overload]`: the panic threshold and admission control (see `lb_core::health::overload`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadFile {
    /// Below this percent of the pool available, route over every worker that is up, ejected
    /// or not (default 50, 0 disables).
    pub panic_threshold: Option<u32>,
    /// Most requests in flight on one worker; beyond, 503 with `Retry-After` (default 0: none).
    pub max_in_flight_per_worker: Option<u32>,
    /// Most requests in flight in the balancer; beyond, 503 with `Retry-After` (default 0: none).
    pub max_pending: Option<u32>,
}

/// The highest admission limit accepted (as in scenario files).
const MAX_LIMIT: u32 = 100_000_000;

fn overload_settings(
    f: &OverloadFile,
    field: &dyn Fn(&str) -> String,
) -> Result<OverloadConfig, ConfigError> {
    let d = OverloadConfig::default();
    let panic_threshold = f.panic_threshold.unwrap_or(d.panic_threshold);
    if panic_threshold > 100 {
        return invalid(
            field("overload.panic_threshold"),
            format!("a percent, 0 to 100, got {panic_threshold}"),
        );
    }
    let limit = |name: &str, v: Option<u32>| match v {
        Some(n) if n > MAX_LIMIT => invalid(
            field(&format!("overload.{name}")),
            format!("at most {MAX_LIMIT} (0 for no limit), got {n}"),
        ),
        v => Ok(v.unwrap_or(0)),
    };
    Ok(OverloadConfig {
        panic_threshold,
        max_in_flight_per_worker: limit("max_in_flight_per_worker", f.max_in_flight_per_worker)?,
        max_pending: limit("max_pending", f.max_pending)?,
    })
}

/// `[[workers]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerFile {
    /// `host:port`.
    pub addr: String,
    /// Weight (default 1).
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// `[health]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFile {
    /// Probe interval, ms.
    pub interval_ms: Option<u64>,
    /// Probe timeout, ms.
    pub timeout_ms: Option<u64>,
    /// Probe path.
    pub path: Option<String>,
    /// Good probes to come back.
    pub rise: Option<u32>,
    /// Failed probes to go down.
    pub fall: Option<u32>,
}

/// `[outlier]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierFile {
    /// Failures in a row that eject (0: never).
    pub consecutive_failures: Option<u32>,
    /// First ejection, ms.
    pub base_ejection_ms: Option<u64>,
    /// Longest ejection, ms.
    pub max_ejection_ms: Option<u64>,
    /// Largest share of the pool ejected at once.
    pub max_ejection_percent: Option<u32>,
}

/// Flags that override the file (all optional).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<String>,
    /// `--admin`
    pub admin: Option<String>,
    /// `--algorithm`
    pub algorithm: Option<String>,
    /// `--worker`, repeated (added to the file's workers).
    pub workers: Vec<String>,
    /// `--token` or `LB_ADMIN_TOKEN`.
    pub token: Option<String>,
    /// `--window-s`: the engine's switch window.
    pub window_s: Option<f64>,
    /// `--policy`: the engine's policy.
    pub policy: Option<String>,
    /// `--health-interval-ms`
    pub health_interval_ms: Option<u64>,
    /// `--request-timeout-ms`
    pub request_timeout_ms: Option<u64>,
    /// `--shards`
    pub shards: Option<usize>,
    /// `--per-try-timeout-ms`
    pub per_try_timeout_ms: Option<u64>,
    /// `--header-timeout-ms`
    pub header_timeout_ms: Option<u64>,
    /// `--idle-timeout-ms`
    pub idle_timeout_ms: Option<u64>,
    /// `--body-timeout-ms`
    pub body_timeout_ms: Option<u64>,
    /// `--max-connections`
    pub max_connections: Option<usize>,
    /// `--backlog`
    pub backlog: Option<u32>,
    /// `--admin-insecure`: allow a non-loopback admin address without a token.
    pub admin_insecure: bool,
    /// `--peer`, `--peer-vip`, `--peer-interval-ms`.
    pub peer: super::peer::PeerFlags,
}

/// Limits of the listeners: client timeouts, connection cap, backlog.
#[derive(Debug, Clone, Copy)]
pub struct ListenSettings {
    /// A client's request head must arrive within this.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request closes after this.
    pub idle_timeout: Duration,
    /// Longest gap between two pieces of a request body (408 after it).
    pub body_timeout: Duration,
    /// Open data connections at most; beyond, accepted and closed at once.
    pub max_connections: usize,
    /// Listen backlog of both sockets.
    pub backlog: u32,
}

impl Default for ListenSettings {
    /// nginx-like client timeouts (60 s header and body, 75 s keep-alive), a connection cap
    /// from the descriptor limit, a backlog of 1024.
    fn default() -> Self {
        ListenSettings {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(),
            backlog: 1024,
        }
    }
}

/// Everything the live balancer needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data listener.
    pub listen: SocketAddr,
    /// Admin listener.
    pub admin: SocketAddr,
    /// What to run.
    pub strategy: Strategy,
    /// Workers and weights.
    pub workers: Vec<(SocketAddr, u32)>,
    /// Admin bearer token.
    pub token: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Longest wait for in-flight requests at shutdown.
    pub drain_timeout: Duration,
    /// One try of a retryable request (at most `request_timeout`).
    pub per_try_timeout: Duration,
    /// Client timeouts, connection cap, backlog.
    pub limits: ListenSettings,
    /// Active health checks.
    pub health: HealthSettings,
    /// Core balancer settings (rise/fall, outlier, stats).
    pub balancer: BalancerConfig,
    /// The decision engine.
    pub engine: EngineConfig,
    /// Core balancer shards (one per core by default): connections are spread over them.
    pub shards: usize,
    /// The peer to mirror while standby (`[peer]`, `--peer`).
    pub peer: Option<super::peer::PeerSettings>,
    /// Panic threshold and admission limits (`[overload]`).
    pub overload: OverloadConfig,
}

fn addr(setting: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse::<SocketAddr>().or_else(|e| {
        invalid(
            setting,
            format!("{s:?} is not an address like 127.0.0.1:8080 ({e})"),
        )
    })
}

fn ms(setting: &str, v: u64) -> Result<Duration, ConfigError> {
    if v == 0 {
        return invalid(setting, "must be at least 1 ms");
    }
    Ok(Duration::from_millis(v))
}

impl Settings {
    /// Read `file` (if any), apply `flags`, check everything.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Settings, ConfigError> {
        let (f, origin) = match file {
            None => (ConfigFile::default(), "config".to_string()),
            Some(p) => {
                let path = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                    path: path.clone(),
                    source,
                })?;
                let f: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.clone(),
                    message: e.to_string().trim_end().to_string(),
                })?;
                (f, path)
            }
        };
        Self::from_parts(f, &origin, flags)
    }

    /// Check a parsed file and flags; `origin` names the file in messages.
    pub fn from_parts(
        f: ConfigFile,
        origin: &str,
        flags: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let field = |name: &str| format!("{origin}: field `{name}`");
        let listen = match (&flags.listen, &f.listen) {
            (Some(s), _) => addr("--listen", s)?,
            (None, Some(s)) => addr(&field("listen"), s)?,
            (None, None) => addr("--listen", "127.0.0.1:8080")?,
        };
        let admin = match (&flags.admin, &f.admin) {
            (Some(s), _) => addr("--admin", s)?,
            (None, Some(s)) => addr(&field("admin"), s)?,
            (None, None) => addr("--admin", "127.0.0.1:8081")?,
        };
        if admin == listen && listen.port() != 0 {
            return invalid("--admin", format!("must differ from --listen ({listen})"));
        }
        let admin_insecure = flags.admin_insecure || f.admin_insecure.unwrap_or(false);
        let limits = listen_settings(&f, flags, &field)?;
        let (alg_setting, alg_name) = match (&flags.algorithm, &f.algorithm) {
            (Some(s), _) => ("--algorithm".to_string(), s.clone()),
            (None, Some(s)) => (field("algorithm"), s.clone()),
            (None, None) => ("--algorithm".to_string(), "round_robin".to_string()),
        };
        let strategy = alg_name
            .parse::<Strategy>()
            .or_else(|e| invalid(alg_setting.clone(), e.to_string()))?;
        if strategy.is_schedule() {
            return invalid(
                alg_setting,
                format!(
                    "`{strategy}` follows a schedule of switches, which only the simulator (lb-sim) runs; live mode runs a static algorithm or `adaptive`"
                ),
            );
        }
        let mut workers: Vec<(SocketAddr, u32)> = Vec::new();
        for (i, w) in f.workers.iter().enumerate() {
            let setting = field(&format!("workers[{i}].addr"));
            let a = addr(&setting, &w.addr)?;
            worker_addr(&setting, a, listen, admin)?;
            if w.weight == 0 {
                return invalid(field(&format!("workers[{i}].weight")), "must be at least 1");
            }
            if workers.iter().any(|(b, _)| *b == a) {
                return invalid(setting, format!("{a} is listed twice"));
            }
            workers.push((a, w.weight));
        }
        for w in &flags.workers {
            let a = addr("--worker", w)?;
            worker_addr("--worker", a, listen, admin)?;
            if workers.iter().any(|(b, _)| *b == a) {
                return invalid("--worker", format!("{a} is listed twice"));
            }
            workers.push((a, 1));
        }
        let token = flags.token.clone().or(f.token).filter(|t| !t.is_empty());
        if token.is_none() && !admin.ip().is_loopback() && !admin_insecure {
            return invalid(
                "--admin",
                format!(
                    "{admin} is reachable from other hosts and no token is set: anyone could change the pool; set --token (or LB_ADMIN_TOKEN), bind the admin API to 127.0.0.1, or pass --admin-insecure"
                ),
            );
        }
        let connect_timeout = ms(
            &field("connect_timeout_ms"),
            f.connect_timeout_ms.unwrap_or(1000),
        )?;
        let request_timeout = match flags.request_timeout_ms {
            Some(v) => ms("--request-timeout-ms", v)?,
            None => ms(
                &field("request_timeout_ms"),
                f.request_timeout_ms.unwrap_or(10_000),
            )?,
        };
        let drain_timeout = ms(
            &field("drain_timeout_ms"),
            f.drain_timeout_ms.unwrap_or(30_000),
        )?;
        let per_try_timeout = match (flags.per_try_timeout_ms, f.per_try_timeout_ms) {
            (Some(v), _) => ms("--per-try-timeout-ms", v)?,
            (None, Some(v)) => ms(&field("per_try_timeout_ms"), v)?,
            (None, None) => Duration::from_secs(5),
        }
        .min(request_timeout);
        let h = &f.health;
        let interval = match flags.health_interval_ms {
            Some(v) => ms("--health-interval-ms", v)?,
            None => ms(&field("health.interval_ms"), h.interval_ms.unwrap_or(1000))?,
        };
        let probe_timeout = ms(&field("health.timeout_ms"), h.timeout_ms.unwrap_or(500))?;
        let path = h.path.clone().unwrap_or_else(|| "/health".into());
        if !path.starts_with('/') {
            return invalid(
                field("health.path"),
                format!("must start with '/', got {path:?}"),
            );
        }
        let rise = h.rise.unwrap_or(2);
        let fall = h.fall.unwrap_or(3);
        if rise == 0 {
            return invalid(field("health.rise"), "must be at least 1");
        }
        if fall == 0 {
            return invalid(field("health.fall"), "must be at least 1");
        }
        let o = &f.outlier;
        let d = OutlierConfig::default();
        let percent = o.max_ejection_percent.unwrap_or(d.max_ejection_percent);
        if percent > 100 {
            return invalid(
                field("outlier.max_ejection_percent"),
                format!("must be at most 100, got {percent}"),
            );
        }
        let base = o.base_ejection_ms.map_or(Ok(d.base_ejection), |v| {
            ms(&field("outlier.base_ejection_ms"), v)
                .map(|d| lb_core::time::Duration::from_nanos(d.as_nanos() as u64))
        })?;
        let max = o.max_ejection_ms.map_or(Ok(d.max_ejection), |v| {
            ms(&field("outlier.max_ejection_ms"), v)
                .map(|d| lb_core::time::Duration::from_nanos(d.as_nanos() as u64))
        })?;
        let outlier = OutlierConfig {
            consecutive_failures: o.consecutive_failures.unwrap_or(d.consecutive_failures),
            base_ejection: base,
            max_ejection: max.max(base),
            max_ejection_percent: percent,
        };
        let mut engine_file = f.engine;
        if let Some(w) = flags.window_s {
            engine_file.window_s = Some(w);
        }
        if let Some(p) = &flags.policy {
            engine_file.policy = Some(p.clone());
        }
        let engine = engine_from_file(&engine_file, origin).map_err(|e| ConfigError::Invalid {
            setting: if flags.policy.is_some() && e.to_string().contains("engine.policy") {
                "--policy".into()
            } else if flags.window_s.is_some() {
                "--window-s".into()
            } else {
                origin.into()
            },
            reason: e.to_string(),
        })?;
        let shards = match (flags.shards, f.shards) {
            (Some(n), _) if !(1..=1024).contains(&n) => {
                return invalid("--shards", format!("must be between 1 and 1024, got {n}"));
            }
            (None, Some(n)) if !(1..=1024).contains(&n) => {
                return invalid(
                    field("shards"),
                    format!("must be between 1 and 1024, got {n}"),
                );
            }
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let peer = super::peer::settings(f.peer.as_ref(), &flags.peer, &field, admin)?;
        let overload = overload_settings(&f.overload, &field)?;
        let algorithm = match strategy {
            Strategy::Fixed(a) => a,
            // Refused above: live mode runs no schedule.
            Strategy::Adaptive | Strategy::Scripted | Strategy::Oracle => engine.baseline,
        };
        let balancer = BalancerConfig {
            algorithm,
            active: ActiveConfig { rise, fall },
            outlier,
            ..BalancerConfig::new(Algorithm::RoundRobin)
        };
        Ok(Settings {
            listen,
            admin,
            strategy,
            workers,
            token,
            connect_timeout,
            request_timeout,
            drain_timeout,
            per_try_timeout,
            limits,
            health: HealthSettings {
                interval,
                timeout: probe_timeout,
                path,
            },
            balancer,
            engine,
            shards,
            peer,
            overload,
        })
    }
}

/// Refuse a worker address the balancer could never use: one that is not a single host
/// (unspecified, multicast, broadcast), link-local, or the balancer's own listener.
pub fn worker_addr(
    setting: &str,
    a: SocketAddr,
    listen: SocketAddr,
    admin: SocketAddr,
) -> Result<(), ConfigError> {
    if let Some(why) = unusable_worker(a, &[listen, admin]) {
        return invalid(setting, format!("{a}: {why}"));
    }
    Ok(())
}

/// Why `a` cannot be a worker of a balancer listening on `own`, if it cannot.
pub fn unusable_worker(a: SocketAddr, own: &[SocketAddr]) -> Option<&'static str> {
    use std::net::IpAddr;
    let ip = a.ip();
    if ip.is_unspecified() {
        return Some("an unspecified address (0.0.0.0, ::) is not a host to connect to");
    }
    if ip.is_multicast() {
        return Some("a multicast address is not a single worker");
    }
    match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => {
            return Some("a broadcast address is not a single worker");
        }
        IpAddr::V4(v4) if v4.is_link_local() => {
            return Some("a link-local address is not a worker address");
        }
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
            return Some("a link-local address is not a worker address");
        }
        _ => {}
    }
    let ours = own.iter().any(|o| {
        o.port() != 0
            && o.port() == a.port()
            && (o.ip() == ip || (o.ip().is_unspecified() && ip.is_loopback()))
    });
    ours.then_some("this is the balancer's own listener; it would forward to itself")
}

fn listen_settings(
    f: &ConfigFile,
    flags: &Overrides,
    field: &dyn Fn(&str) -> String,
) -> Result<ListenSettings, ConfigError> {
    let pick = |flag: Option<u64>, file: Option<u64>, name: &str, default: u64| match (flag, file) {
        (Some(v), _) => ms(&format!("--{}", name.replace('_', "-")), v),
        (None, Some(v)) => ms(&field(name), v),
        (None, None) => Ok(Duration::from_millis(default)),
    };
    let max_connections = match (flags.max_connections, f.max_connections) {
        (Some(0), _) => return invalid("--max-connections", "must be at least 1"),
        (None, Some(0)) => return invalid(field("max_connections"), "must be at least 1"),
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => default_max_connections(),
    };
    let backlog = match (flags.backlog, f.backlog) {
        (Some(0), _) => return invalid("--backlog", "must be at least 1"),
        (None, Some(0)) => return invalid(field("backlog"), "must be at least 1"),
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => 1024,
    };
    Ok(ListenSettings {
        header_timeout: pick(
            flags.header_timeout_ms,
            f.header_timeout_ms,
            "header_timeout_ms",
            60_000,
        )?,
        idle_timeout: pick(
            flags.idle_timeout_ms,
            f.idle_timeout_ms,
            "idle_timeout_ms",
            75_000,
        )?,
        body_timeout: pick(
            flags.body_timeout_ms,
            f.body_timeout_ms,
            "body_timeout_ms",
            60_000,
        )?,
        max_connections,
        backlog,
    })
}

/// Descriptors reserved for the admin API, worker probes and the process itself.
const RESERVED_FDS: usize = 256;

/// The default cap on data connections: each may hold a second descriptor to a worker, so half
/// of the soft descriptor limit less a reserve, at most 4096 (4096 if the limit is unknown).
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft {
        Some(n) => (n.saturating_sub(RESERVED_FDS) / 2).clamp(16, 4096),
        None => 4096,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, flags: &Overrides) -> Result<Settings, ConfigError> {
        let f: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "b.toml".into(),
            message: e.to_string(),
        })?;
        Settings::from_parts(f, "b.toml", flags)
    }

    #[test]
    fn overload_settings_default_to_the_core_and_bad_ones_name_the_field() {
        let s = parse("", &Overrides::default()).unwrap();
        assert_eq!(s.overload, OverloadConfig::default());
        let s = parse(
            "[overload]\npanic_threshold = 30\nmax_in_flight_per_worker = 64",
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.overload.panic_threshold, 30);
        assert_eq!(s.overload.max_in_flight_per_worker, 64);
        assert_eq!(s.overload.max_pending, 0);
        let e = parse("[overload]\npanic_threshold = 101", &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("overload.panic_threshold"), "{e}");
        let e = parse(
            "[overload]\nmax_pending = 4000000000",
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("overload.max_pending"), "{e}");
    }

    #[test]
    fn defaults_and_a_full_file() {
        let s = parse("", &Overrides::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.admin.to_string(), "127.0.0.1:8081");
        assert_eq!(s.strategy, Strategy::Fixed(Algorithm::RoundRobin));
        let s = parse(
            "listen = \"127.0.0.1:7000\"\nalgorithm = \"adaptive\"\n[[workers]]\naddr = \"127.0.0.1:9001\"\nweight = 3\n\
             [health]\ninterval_ms = 200\nfall = 2\n[engine]\nwindow_s = 5",
            &Overrides {
                workers: vec!["127.0.0.1:9002".into()],
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.strategy, Strategy::Adaptive);
        assert_eq!(s.workers.len(), 2);
        assert_eq!(s.workers[0].1, 3);
        assert_eq!(s.health.interval, Duration::from_millis(200));
        assert_eq!(s.balancer.active.fall, 2);
        assert_eq!(s.engine.window, lb_core::time::Duration::from_secs(5));
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let flags = |f: fn(&mut Overrides)| {
            let mut o = Overrides::default();
            f(&mut o);
            o
        };
        let e = parse("", &flags(|o| o.listen = Some("nope".into()))).unwrap_err();
        assert!(e.to_string().starts_with("--listen: \"nope\""), "{e}");
        let e = parse("", &flags(|o| o.algorithm = Some("fastest".into()))).unwrap_err();
        assert!(
            e.to_string()
                .contains("--algorithm: unknown algorithm \"fastest\""),
            "{e}"
        );
        let e = parse("", &flags(|o| o.algorithm = Some("oracle".into()))).unwrap_err();
        assert!(
            e.to_string().contains(
                "--algorithm: `oracle` follows a schedule of switches, which only the simulator"
            ),
            "{e}"
        );
        let e = parse("[health]\nrise = 0", &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("field `health.rise`"), "{e}");
        let e = parse("speed = 1", &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("speed"), "{e}");
        let e = parse(
            "",
            &flags(|o| o.workers = vec!["127.0.0.1:1".into(), "127.0.0.1:1".into()]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let e = parse("", &flags(|o| o.window_s = Some(-1.0))).unwrap_err();
        assert!(e.to_string().starts_with("--window-s"), "{e}");
        let e = parse("", &flags(|o| o.admin = Some("127.0.0.1:8080".into()))).unwrap_err();
        assert!(e.to_string().contains("must differ"), "{e}");
    }

    #[test]
    fn workers_that_can_never_be_workers_are_refused() {
        let with = |w: &str| {
            let o = Overrides {
                workers: vec![w.into()],
                ..Overrides::default()
            };
            parse("", &o).map(|_| ()).map_err(|e| e.to_string())
        };
        for w in [
            "127.0.0.1:8080",
            "127.0.0.1:8081",
            "0.0.0.0:9000",
            "[::]:9000",
            "224.0.0.1:9000",
            "255.255.255.255:9000",
            "169.254.0.5:9000",
            "[fe80::1]:9000",
        ] {
            let e = with(w).unwrap_err();
            assert!(e.starts_with("--worker: "), "{w}: {e}");
        }
        assert!(with("127.0.0.1:9000").is_ok());
        // Listening on every address: any loopback address with that port is us.
        let o = Overrides {
            listen: Some("0.0.0.0:7000".into()),
            workers: vec!["127.0.0.2:7000".into()],
            admin_insecure: true,
            ..Overrides::default()
        };
        assert!(
            parse("", &o)
                .unwrap_err()
                .to_string()
                .contains("own listener")
        );
    }

    #[test]
    fn a_public_admin_address_needs_a_token_or_an_explicit_opt_out() {
        let mut o = Overrides {
            admin: Some("0.0.0.0:8081".into()),
            ..Overrides::default()
        };
        let e = parse("", &o).unwrap_err().to_string();
        assert!(e.starts_with("--admin: 0.0.0.0:8081 is reachable"), "{e}");
        o.token = Some("t".into());
        assert!(parse("", &o).is_ok());
        o.token = None;
        o.admin_insecure = true;
        assert!(parse("", &o).is_ok());
    }

    #[test]
    fn listener_limits_have_defaults_and_are_checked() {
        let s = parse("", &Overrides::default()).unwrap();
        assert_eq!(s.limits.header_timeout, Duration::from_secs(60));
        assert_eq!(s.limits.idle_timeout, Duration::from_secs(75));
        assert_eq!(s.limits.body_timeout, Duration::from_secs(60));
        assert_eq!(s.limits.backlog, 1024);
        assert!(s.limits.max_connections >= 16);
        assert_eq!(s.per_try_timeout, Duration::from_secs(5));
        let s = parse(
            "per_try_timeout_ms = 50000\nheader_timeout_ms = 10\nmax_connections = 7\nbacklog = 9",
            &Overrides::default(),
        )
        .unwrap();
        // Never longer than the request timeout.
        assert_eq!(s.per_try_timeout, Duration::from_secs(10));
        assert_eq!(s.limits.header_timeout, Duration::from_millis(10));
        assert_eq!((s.limits.max_connections, s.limits.backlog), (7, 9));
        let e = parse("max_connections = 0", &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("field `max_connections`"), "{e}");
        let o = Overrides {
            idle_timeout_ms: Some(0),
            ..Overrides::default()
        };
        let e = parse("", &o).unwrap_err();
        assert!(e.to_string().starts_with("--idle-timeout-ms"), "{e}");
    }
}
