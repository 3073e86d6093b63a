//! Every family `/metrics` shows, declared once: [`FAMILIES`] is the documentation (name, type,
//! labels, help) and the only place a family's name is written. Registration
//! ([`Desc::register`]) and the collectors ([`Desc::describe`]) take the name and help from here,
//! and a test scrapes a live balancer and checks the scrape against this list both ways.
//!
//! A [`Desc`]'s `name` is the name as it appears in the Prometheus text format (`# TYPE` line and
//! samples): counters end in `_total`, the info family in `_info`, and a unit (`_seconds`,
//! `_bytes`) is part of the name. prometheus-client wants these suffixes split off (it adds
//! them back, and writes `# UNIT` in OpenMetrics), which [`Desc::parts`] does.

use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry, Unit};

/// One metric family as `/metrics` shows it.
#[derive(Debug)]
pub struct Desc {
    /// The name in the Prometheus text format, suffixes included.
    pub name: &'static str,
    /// Counter, gauge, histogram or info (an info family is a gauge in the Prometheus text).
    pub kind: MetricType,
    /// The label names of its samples (a histogram's `le` not counted).
    pub labels: &'static [&'static str],
    /// The `# HELP` text, ending in a full stop.
    pub help: &'static str,
}

/// Requests received on the proxy port (state: counted per shard).
pub static REQUESTS: Desc = Desc {
    name: "lb_requests_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Requests received on the proxy port.",
};

/// Responses to clients by status code.
pub static RESPONSES: Desc = Desc {
    name: "lb_responses_total",
    kind: MetricType::Counter,
    labels: &["code"],
    help: "Responses sent to clients, by HTTP status code: workers' answers passed on and the balancer's own 400, 502, 503 and 504.",
};

/// Client-side latency.
pub static REQUEST_DURATION: Desc = Desc {
    name: "lb_request_duration_seconds",
    kind: MetricType::Histogram,
    labels: &[],
    help: "Time from a request's arrival to its response head being handed to the client connection, the balancer's own answers included.",
};

/// The balancer's own error answers.
pub static PROXY_RESPONSES: Desc = Desc {
    name: "lb_proxy_responses_total",
    kind: MetricType::Counter,
    labels: &["reason"],
    help: "Answers made by the balancer itself: no_worker (503), timeout (504), bad_gateway (502), overloaded (503 from admission control, with Retry-After).",
};

/// Retries on another worker.
pub static RETRIES: Desc = Desc {
    name: "lb_retries_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Connection failures retried on another worker.",
};

/// Responses from each worker.
pub static WORKER_REQUESTS: Desc = Desc {
    name: "lb_worker_requests_total",
    kind: MetricType::Counter,
    labels: &["worker"],
    help: "Responses from each worker (any outcome).",
};

/// Failed responses from each worker.
pub static WORKER_ERRORS: Desc = Desc {
    name: "lb_worker_errors_total",
    kind: MetricType::Counter,
    labels: &["worker"],
    help: "Failed responses from each worker (5xx, refused, timeout).",
};

/// Each worker's latency.
pub static WORKER_REQUEST_DURATION: Desc = Desc {
    name: "lb_worker_request_duration_seconds",
    kind: MetricType::Histogram,
    labels: &["worker"],
    help: "Latency of each worker's responses, from sending the request to the response head (or the failure).",
};

/// In flight per worker (state).
pub static WORKER_IN_FLIGHT: Desc = Desc {
    name: "lb_worker_in_flight",
    kind: MetricType::Gauge,
    labels: &["worker"],
    help: "Requests in flight to each worker.",
};

/// Health per worker (state).
pub static WORKER_HEALTHY: Desc = Desc {
    name: "lb_worker_healthy",
    kind: MetricType::Gauge,
    labels: &["worker"],
    help: "1 if the active health check says the worker is up.",
};

/// Availability per worker (state).
pub static WORKER_AVAILABLE: Desc = Desc {
    name: "lb_worker_available",
    kind: MetricType::Gauge,
    labels: &["worker"],
    help: "1 if the worker takes new requests (healthy, not ejected, not draining).",
};

/// Ejection per worker (state).
pub static WORKER_EJECTED: Desc = Desc {
    name: "lb_worker_ejected",
    kind: MetricType::Gauge,
    labels: &["worker"],
    help: "1 if outlier detection has ejected the worker (in any shard).",
};

/// Draining per worker (state).
pub static WORKER_DRAINING: Desc = Desc {
    name: "lb_worker_draining",
    kind: MetricType::Gauge,
    labels: &["worker"],
    help: "1 if the worker is draining (no new requests).",
};

/// The algorithm in use (state).
pub static ALGORITHM: Desc = Desc {
    name: "lb_algorithm",
    kind: MetricType::Gauge,
    labels: &["algorithm"],
    help: "1 for the balancing algorithm in use, 0 for the others.",
};

/// The engine's mode (state).
pub static MODE: Desc = Desc {
    name: "lb_mode",
    kind: MetricType::Gauge,
    labels: &["mode"],
    help: "1 for the engine's mode (adaptive: it switches; manual: an operator pinned the algorithm), 0 for the other.",
};

/// Algorithm switches (state).
pub static SWITCHES: Desc = Desc {
    name: "lb_switches_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Algorithm switches (engine and operator).",
};

/// Outlier ejections (state).
pub static EJECTIONS: Desc = Desc {
    name: "lb_ejections_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Workers ejected by outlier detection, summed over the shards.",
};

/// Shard lock takes (state).
pub static LOCK_ACQUIRED: Desc = Desc {
    name: "lb_state_lock_acquired_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Times a shard lock of the core balancer state was taken: two per proxied request (pick, then the response) plus one per shard for each health-check result, engine tick, admin change and status or metrics read.",
};

/// Shard lock waits (counted by the state).
pub static LOCK_CONTENDED: Desc = Desc {
    name: "lb_state_lock_contended_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "Times a shard lock of the core balancer state was already held and the taker had to wait.",
};

/// The build.
pub static BUILD_INFO: Desc = Desc {
    name: "lb_build_info",
    kind: MetricType::Info,
    labels: &["version"],
    help: "Always 1; the label says which lb-live version is running.",
};

/// CPU time (Linux, from `/proc/self/stat`).
pub static PROCESS_CPU: Desc = Desc {
    name: "process_cpu_seconds_total",
    kind: MetricType::Counter,
    labels: &[],
    help: "User and system CPU time spent by the balancer process.",
};

/// Resident memory (Linux, from `/proc/self/status`).
pub static PROCESS_RESIDENT_MEMORY: Desc = Desc {
    name: "process_resident_memory_bytes",
    kind: MetricType::Gauge,
    labels: &[],
    help: "Resident memory size of the balancer process.",
};

/// Open descriptors (Linux, from `/proc/self/fd`).
pub static PROCESS_OPEN_FDS: Desc = Desc {
    name: "process_open_fds",
    kind: MetricType::Gauge,
    labels: &[],
    help: "Open file descriptors of the balancer process.",
};

/// Descriptor limit (Linux, from `/proc/self/limits`).
pub static PROCESS_MAX_FDS: Desc = Desc {
    name: "process_max_fds",
    kind: MetricType::Gauge,
    labels: &[],
    help: "Soft limit on open file descriptors of the balancer process (+Inf when unlimited).",
};

/// Start time (Linux, from `/proc/self/stat` and `/proc/stat`).
pub static PROCESS_START_TIME: Desc = Desc {
    name: "process_start_time_seconds",
    kind: MetricType::Gauge,
    labels: &[],
    help: "Start time of the balancer process since the Unix epoch.",
};

/// Every family, in the order of this file. The `process_*` families are Linux only.
pub static FAMILIES: &[&Desc] = &[
    &REQUESTS,
    &RESPONSES,
    &REQUEST_DURATION,
    &PROXY_RESPONSES,
    &RETRIES,
    &WORKER_REQUESTS,
    &WORKER_ERRORS,
    &WORKER_REQUEST_DURATION,
    &WORKER_IN_FLIGHT,
    &WORKER_HEALTHY,
    &WORKER_AVAILABLE,
    &WORKER_EJECTED,
    &WORKER_DRAINING,
    &ALGORITHM,
    &MODE,
    &SWITCHES,
    &EJECTIONS,
    &LOCK_ACQUIRED,
    &LOCK_CONTENDED,
    &BUILD_INFO,
    &PROCESS_CPU,
    &PROCESS_RESIDENT_MEMORY,
    &PROCESS_OPEN_FDS,
    &PROCESS_MAX_FDS,
    &PROCESS_START_TIME,
];

static SECONDS: Unit = Unit::Seconds;
static BYTES: Unit = Unit::Bytes;

impl Desc {
    /// The name and unit as prometheus-client takes them: without the type's suffix (`_total`,
    /// `_info`) and without the unit's (`_seconds`, `_bytes`).
    pub fn parts(&self) -> (&'static str, Option<&'static Unit>) {
        let type_suffix = match self.kind {
            MetricType::Counter => "_total",
            MetricType::Info => "_info",
            _ => "",
        };
        let name = self.name.strip_suffix(type_suffix).unwrap_or(self.name);
        for (suffix, unit) in [("_seconds", &SECONDS), ("_bytes", &BYTES)] {
            if let Some(base) = name.strip_suffix(suffix) {
                return (base, Some(unit));
            }
        }
        (name, None)
    }

    /// Register `metric` under this family in `registry`.
    pub fn register(&'static self, registry: &mut Registry, metric: impl Metric) {
        let (name, unit) = self.parts();
        // The registry adds the full stop itself.
        let help = self.help.strip_suffix('.').unwrap_or(self.help);
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit.clone(), metric),
            None => registry.register(name, help, metric),
        }
    }

    /// Start this family in a collector's output: `# HELP`, `# TYPE` (and `# UNIT`).
    pub fn describe<'s>(
        &'static self,
        encoder: &'s mut DescriptorEncoder,
    ) -> Result<MetricEncoder<'s>, std::fmt::Error> {
        let (name, unit) = self.parts();
        encoder.encode_descriptor(name, self.help, unit, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn parts_split_type_and_unit_suffixes() {
        assert_eq!(REQUESTS.parts(), ("lb_requests", None));
        assert_eq!(PROCESS_CPU.parts(), ("process_cpu", Some(&Unit::Seconds)));
        assert_eq!(
            WORKER_REQUEST_DURATION.parts(),
            ("lb_worker_request_duration", Some(&Unit::Seconds))
        );
        assert_eq!(
            PROCESS_RESIDENT_MEMORY.parts(),
            ("process_resident_memory", Some(&Unit::Bytes))
        );
        assert_eq!(BUILD_INFO.parts(), ("lb_build", None));
        assert_eq!(WORKER_IN_FLIGHT.parts(), ("lb_worker_in_flight", None));
    }

    /// The rules promtool's linter applies, checked on the list itself: unique names, counters
    /// in `_total` and nothing else, base units only, help that ends a sentence.
    #[test]
    fn every_family_is_named_and_described_as_the_linter_wants() {
        let mut seen = HashSet::new();
        for d in FAMILIES {
            assert!(seen.insert(d.name), "{} listed twice", d.name);
            let counter = d.kind == MetricType::Counter;
            assert_eq!(counter, d.name.ends_with("_total"), "{}", d.name);
            assert_eq!(
                d.kind == MetricType::Info,
                d.name.ends_with("_info"),
                "{}",
                d.name
            );
            for bad in ["_ms", "_milliseconds", "_kb", "_percent", "_count", "_sum"] {
                assert!(!d.name.contains(bad), "{}", d.name);
            }
            assert!(
                d.help.ends_with('.') && !d.help.ends_with(".."),
                "{}",
                d.name
            );
            assert!(d.labels.iter().all(|l| *l != "le"), "{}", d.name);
        }
    }
}
