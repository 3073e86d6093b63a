//! The live load balancer: a hyper reverse proxy whose every decision is made by the core
//! `Balancer`, with active health checks, the decision engine on real time, an admin API and
//! Prometheus metrics on a separate listener.
//!
//! # Layout
//!
//! - [`state`]: the shared core state (behind one short-held mutex) and the worker table.
//! - [`metrics`]: lock-free counters and the Prometheus text rendering.
//! - [`admin`]: the admin API (status, algorithm, mode, decisions, workers, metrics).

pub mod admin;
pub mod config;
pub mod health;
pub mod metrics;
pub mod proxy;
pub mod server;
pub mod state;

pub use state::{Shared, Status, WorkerStatus};
