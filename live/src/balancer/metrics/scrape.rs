//! What a scrape of `/metrics` writes: the registries, built once per admin router, and the
//! collector that reads the balancer's state at scrape time.
//!
//! Two registries, encoded in this order into one response:
//!
//! 1. `lb_build_info`, then [`StateCollector`]: it calls [`Shared::status`] and
//!    [`Shared::shard_totals`] once per scrape and writes what is state rather than an event
//!    (gauges per worker, the algorithm and mode, and the totals the state keeps: requests,
//!    switches, ejections, lock takes). It also makes sure every worker in the pool has its
//!    per-worker series, so a worker shows zeros before its first response.
//! 2. The families updated where the event happens ([`ProxyMetrics::register`]), then the
//!    process metrics ([`ProcessCollector`]). Encoded after the collector, they include the
//!    series it just made.
//!
//! Gauges and status rows come from the same `status()` call, in pool order, so nothing is
//! matched by address; a scrape costs one pass over the workers and the shards' locks taken
//! for `status()` and `shard_totals()`.

use super::counters::{ProxyMetrics, WorkerLabels};
use super::families::{self, Desc};
use super::format::Format;
use super::process::ProcessCollector;
use crate::balancer::state::{Shared, WorkerStatus};
use lb_core::Algorithm;
use lb_core::engine::Mode;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
    prometheus_text, text,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::fmt::Write;
use std::sync::Arc;

/// Everything `/metrics` shows for one balancer.
#[derive(Debug)]
pub struct Exposition {
    state: Registry,
    events: Registry,
}

/// The label set of `lb_build_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

impl Exposition {
    /// Register every family over `shared` (once: keep the exposition, render it per scrape).
    pub fn new(shared: Arc<Shared>) -> Self {
        let mut state = Registry::default();
        let build = BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        };
        families::BUILD_INFO.register(&mut state, Info::new(build));
        let mut events = Registry::default();
        shared.proxy.register(&mut events);
        events.register_collector(Box::new(ProcessCollector));
        state.register_collector(Box::new(StateCollector { shared }));
        Exposition { state, events }
    }

    /// One scrape in `format`. Encoding only fails if a metric's own encoding does, which
    /// writing into a `String` gives no reason to.
    pub fn render(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        match format {
            Format::Prometheus => {
                prometheus_text::encode(&mut out, &self.state)?;
                prometheus_text::encode(&mut out, &self.events)?;
            }
            Format::OpenMetrics => {
                text::encode_registry(&mut out, &self.state)?;
                text::encode_registry(&mut out, &self.events)?;
                text::encode_eof(&mut out)?;
            }
        }
        Ok(out)
    }
}

/// Reads the balancer's state once per scrape.
#[derive(Debug)]
pub struct StateCollector {
    shared: Arc<Shared>,
}

/// An algorithm as a label value (`peak_ewma`).
#[derive(Debug, Clone, Copy)]
struct AlgorithmName(Algorithm);

impl EncodeLabelValue for AlgorithmName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.0.name())
    }
}

#[derive(Debug, EncodeLabelSet)]
struct AlgorithmLabels {
    algorithm: AlgorithmName,
}

/// A mode as a label value (`adaptive`, `manual`).
#[derive(Debug, Clone, Copy)]
struct ModeName(Mode);

impl EncodeLabelValue for ModeName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.0.name())
    }
}

#[derive(Debug, EncodeLabelSet)]
struct ModeLabels {
    mode: ModeName,
}

fn counter(encoder: &mut DescriptorEncoder, desc: &'static Desc, v: u64) -> std::fmt::Result {
    ConstCounter::new(v).encode(desc.describe(encoder)?)
}

type WorkerGauge = fn(&WorkerStatus) -> u64;

/// The per-worker gauges, each a field of a status row.
const WORKER_GAUGES: [(&Desc, WorkerGauge); 5] = [
    (&families::WORKER_IN_FLIGHT, |w| u64::from(w.in_flight)),
    (&families::WORKER_HEALTHY, |w| u64::from(w.healthy)),
    (&families::WORKER_AVAILABLE, |w| u64::from(w.available)),
    (&families::WORKER_EJECTED, |w| u64::from(w.ejected)),
    (&families::WORKER_DRAINING, |w| u64::from(w.draining)),
];

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let shared = &*self.shared;
        let status = shared.status();
        let (requests, locks) = shared.shard_totals();
        let proxy: &ProxyMetrics = &shared.proxy;
        let labels: Vec<WorkerLabels> = status
            .workers
            .iter()
            .map(|w| WorkerLabels {
                worker: w.addr.clone(),
            })
            .collect();
        for l in &labels {
            proxy.touch_worker(l);
        }

        counter(&mut encoder, &families::REQUESTS, requests)?;
        for (desc, value) in WORKER_GAUGES {
            let mut family = desc.describe(&mut encoder)?;
            for (row, l) in status.workers.iter().zip(&labels) {
                ConstGauge::new(value(row)).encode(family.encode_family(l)?)?;
            }
        }
        let mut family = families::ALGORITHM.describe(&mut encoder)?;
        for a in Algorithm::ALL {
            let labels = AlgorithmLabels {
                algorithm: AlgorithmName(a),
            };
            let active = u64::from(a.name() == status.algorithm);
            ConstGauge::new(active).encode(family.encode_family(&labels)?)?;
        }
        let mut family = families::MODE.describe(&mut encoder)?;
        for m in [Mode::Adaptive, Mode::Manual] {
            let labels = ModeLabels { mode: ModeName(m) };
            let active = u64::from(m.name() == status.mode);
            ConstGauge::new(active).encode(family.encode_family(&labels)?)?;
        }
        counter(&mut encoder, &families::SWITCHES, status.switches as u64)?;
        counter(&mut encoder, &families::EJECTIONS, status.ejections)?;
        counter(&mut encoder, &families::LOCK_ACQUIRED, locks)?;
        let contended = proxy
            .lock_contended
            .load(std::sync::atomic::Ordering::Relaxed);
        counter(&mut encoder, &families::LOCK_CONTENDED, contended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::BalancerConfig;
    use lb_core::engine::EngineConfig;
    use std::net::SocketAddr;

    const W1: &str = "127.0.0.1:9001";
    const W2: &str = "127.0.0.1:9002";

    fn shared() -> Arc<Shared> {
        let addrs: Vec<(SocketAddr, u32)> = [W1, W2]
            .iter()
            .map(|a| (a.parse().expect("test address"), 1))
            .collect();
        let config = BalancerConfig::new(Algorithm::RoundRobin);
        Shared::new(config, EngineConfig::default(), false, &addrs, 1).expect("valid workers")
    }

    fn lines_of<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.split(['{', ' ']).next() == Some(metric))
            .collect()
    }

    /// Gauges follow the pool; a removed worker's counters stay (the series stop growing) and
    /// a worker added since the last scrape shows zeros in the first scrape that sees it.
    #[test]
    fn gauges_follow_the_pool_and_counters_outlive_a_removal() {
        let shared = shared();
        let exposition = Exposition::new(Arc::clone(&shared));
        let w1 = &shared.workers()[0];
        w1.metrics
            .record(&shared.proxy, W1, lb_core::Duration::from_millis(2), true);
        shared
            .remove_worker(W1.parse().expect("addr"))
            .expect("known");
        shared
            .add_worker("127.0.0.1:9003".parse().expect("addr"), 1)
            .expect("new");
        let text = exposition.render(Format::Prometheus).expect("render");

        // Pool order is slot order: the new worker took the removed one's empty slot.
        let healthy = lines_of(&text, "lb_worker_healthy");
        assert_eq!(
            healthy,
            [
                "lb_worker_healthy{worker=\"127.0.0.1:9003\"} 1",
                "lb_worker_healthy{worker=\"127.0.0.1:9002\"} 1"
            ]
        );
        let mut requests = lines_of(&text, "lb_worker_requests_total");
        requests.sort_unstable();
        assert_eq!(
            requests,
            [
                "lb_worker_requests_total{worker=\"127.0.0.1:9001\"} 1",
                "lb_worker_requests_total{worker=\"127.0.0.1:9002\"} 0",
                "lb_worker_requests_total{worker=\"127.0.0.1:9003\"} 0"
            ]
        );
    }

    #[test]
    fn both_formats_hold_the_same_samples() {
        let shared = shared();
        shared
            .proxy
            .responded(200, lb_core::Duration::from_millis(1));
        let exposition = Exposition::new(shared);
        // A sample as (name, sorted labels): OpenMetrics puts `le` first and spells bounds `1.0`.
        let samples = |text: &str| -> Vec<(String, Vec<String>)> {
            let mut v: Vec<(String, Vec<String>)> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let series = l.split(' ').next().unwrap_or("");
                    let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
                    let mut labels: Vec<String> = labels
                        .trim_end_matches('}')
                        .split(',')
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| match kv.strip_prefix("le=") {
                            Some(b) => match b.trim_matches('"').parse::<f64>() {
                                Ok(b) if b.is_finite() => format!("le={b}"),
                                _ => kv.to_string(),
                            },
                            None => kv.to_string(),
                        })
                        .collect();
                    labels.sort_unstable();
                    (name.to_string(), labels)
                })
                .collect();
            v.sort_unstable();
            v
        };
        let prometheus = exposition.render(Format::Prometheus).expect("render");
        let open_metrics = exposition.render(Format::OpenMetrics).expect("render");
        assert!(!prometheus.contains("# EOF"));
        assert!(open_metrics.ends_with("# EOF\n"));
        assert_eq!(samples(&prometheus), samples(&open_metrics));
    }
}
