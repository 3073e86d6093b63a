//! The live load balancer: a hyper reverse proxy whose every decision is made by the core
//! `Balancer`, with active health checks, the decision engine on real time, an admin API and
//! Prometheus metrics on a separate listener.
//!
//! # Layout
//!
//! - [`state`]: the core state, sharded per connection (one core balancer per shard), and the
//!   control part (worker table, decision engine) that keeps the shards in agreement.
//! - [`proxy`]: the data path (hyper server and pooled client, retries, 502/503/504).
//! - [`health`]: active health checks and the periodic engine tick.
//! - [`metrics`]: `/metrics` through prometheus-client: counters the proxy records into, the
//!   collector that reads the state at scrape time, the list of families.
//! - [`admin`]: the admin API (status, algorithm, mode, decisions, workers, metrics).
//! - [`config`]: the TOML file and flags, checked.
//! - [`server`]: start everything, stop it gracefully.

pub mod admin;
pub mod config;
pub mod health;
pub mod metrics;
pub mod proxy;
pub mod server;
pub mod state;

pub use state::{Shared, Status, WorkerStatus};
