//! The live load balancer: a hyper reverse proxy whose every decision is made by the core
//! `Balancer`, with active health checks, the decision engine on real time, an admin API and
//! Prometheus metrics on a separate listener.
//!
//! # Layout
//!
//! - [`state`]: core's sharded composition (one core balancer per shard, and `Control`: worker
//!   table, pool-wide ejection, decision engine) with a lock around each part.
//! - [`proxy`]: the data path (hyper server and pooled client, retries, 502/503/504).
//! - [`conn`]: serving connections with a cap, header/idle timeouts and a quick shutdown.
//! - [`health`]: active health checks.
//! - [`tick`]: the periodic tick (ejection expiry and the decision engine) on real time.
//! - [`metrics`]: `/metrics` through prometheus-client: counters the proxy records into, the
//!   collector that reads the state at scrape time, the list of families.
//! - [`admin`]: the admin API (status, algorithm, mode, decisions, workers, metrics).
//! - [`ready`]: `/livez` and `/readyz` on the admin port.
//! - [`peer`]: a standby mirroring its peer's workers, mode and pinned algorithm.
//! - [`config`]: the TOML file and flags, checked.
//! - [`server`]: start everything, stop it gracefully.

pub mod admin;
pub mod config;
pub mod conn;
pub mod health;
pub mod metrics;
pub mod peer;
pub mod proxy;
pub mod ready;
pub mod server;
pub mod state;
pub mod tick;

pub use state::{Shared, Status, WorkerStatus};
