//! `/metrics` through prometheus-client: families declared once, counted where the event
//! happens, state read at scrape time.
//!
//! - **Declared once.** [`FAMILIES`] lists every family with its type, labels and help; it is
//!   the documentation and the only place a name is spelt. A test scrapes a balancer with
//!   traffic and checks the scrape against the list both ways.
//! - **Events are counted where they happen**, into prometheus-client metrics registered once:
//!   the proxy's answers, retries, responses by status code and client latency in
//!   [`ProxyMetrics`] (held by `Shared`), and each worker's responses, errors and latency in
//!   families keyed by the `worker` label, whose handles a worker's [`WorkerMetrics`] resolves
//!   once. Recording a request is relaxed atomic adds: no lock, no allocation, no formatting.
//! - **State is read at scrape time** by a prometheus-client `Collector` ([`StateCollector`]):
//!   one `Shared::status()` and one `Shared::shard_totals()` per scrape give the per-worker
//!   gauges, the algorithm and mode, and the totals the state keeps (requests, switches,
//!   ejections, lock takes). The process metrics come from `/proc` the same way
//!   ([`ProcessCollector`]).
//!
//! The algorithm and the mode are one sample per possible value, 1 for the active one and 0
//! for the others (`lb_algorithm{algorithm="peak_ewma"} 1`), so a switch shows as a step in a
//! graph and `lb_algorithm == 1` picks the current one. `lb_responses_total` has one sample per
//! status code seen (`code="503"`); group by class in PromQL with `code=~"5.."`.
//!
//! A scrape is served as OpenMetrics 1.0.0 to a client that asks for it (Prometheus does) and
//! as the Prometheus text format 0.0.4 otherwise ([`Format`]).
//!
//! # Layout
//!
//! - [`families`]: the list of families ([`FAMILIES`], [`Desc`]).
//! - [`counters`]: what the proxy records into. It imports nothing of the balancer state, which
//!   holds its types; only [`scrape`] reads the state.
//! - [`histogram`]: a fixed-bucket latency histogram recorded with atomics.
//! - [`scrape`]: the registries and the state collector; [`process`]: `/proc/self`;
//!   [`format`](mod@format): OpenMetrics or the Prometheus text format, from `Accept`.

pub mod counters;
pub mod families;
pub mod format;
pub mod histogram;
pub mod process;
pub mod scrape;

pub use counters::{Answer, ProxyMetrics, WorkerMetrics};
pub use families::{Desc, FAMILIES};
pub use format::Format;
pub use histogram::{BUCKETS_S, LatencyHistogram};
pub use process::ProcessCollector;
pub use scrape::{Exposition, StateCollector};
