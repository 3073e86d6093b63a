//! # lb-core: the brain of the load balancer, written once
//!
//! Everything that decides where a request goes lives here, and nothing here does I/O: no clock,
//! no socket, no global RNG. The simulator (`lb-sim`) drives this crate on virtual time; live mode
//! drives the very same code on real time. That is what lets a simulated result stand for the
//! real system.
//!
//! # Layout
//!
//! - [`time`]: core's own `Instant`/`Duration` and the `Clock` trait. Time is always an argument.
//! - [`pick`]: the balancing algorithms, one small type per file behind the [`pick::Pick`] trait.
//! - [`health`]: active health checks (rise/fall) and passive outlier ejection, as pure state
//!   machines.
//! - [`stats`]: per-worker windowed metrics, O(1) per request: counts, errors, in flight, latency
//!   EWMA, peak EWMA, window percentiles.
//! - [`engine`]: the adaptive decision engine: conditions, policy, stability rules, decision log.
//! - [`strategy`]: a fixed algorithm, `adaptive`, or a schedule of switches (`scripted`,
//!   `oracle`).
//! - [`balancer`]: one shard ties them together; its caller calls `pick`, `on_response`,
//!   `on_probe`, `tick`. Workers have stable [`WorkerId`]s ([`worker_id`]).
//! - [`sharded`]: the whole balancer, [`Control`] (worker table, pool-wide ejection, the decision
//!   engine) over one or more shards: the one composition the simulator and live mode drive.
//! - [`scenario`]: the scenario file model (TOML) and its validation, shared by sim and live,
//!   with the `[[switches]]` script of `scripted` runs.

pub mod balancer;
pub mod engine;
pub mod health;
pub mod pick;
pub mod scenario;
pub mod sharded;
pub mod stats;
pub mod strategy;
pub mod time;
pub mod worker_id;

pub use balancer::{Balancer, BalancerConfig, Ejection, Outcome};
pub use pick::Algorithm;
pub use sharded::{Control, ControlError, PoolStatus, Sharded, Shards};
pub use strategy::Strategy;
pub use time::{Clock, Duration, Instant, ManualClock};
pub use worker_id::WorkerId;
