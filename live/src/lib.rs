//! # lb-live: the real thing, driven by the same core
//!
//! Two binaries, thin shells around `lb-core`:
//!
//! - `lb-worker` (axum): a worker server with the simulator's worker model (K slots, a FIFO
//!   queue, a service-time distribution, errors fast or slow) and a fault API to change it at
//!   run time.
//! - `lb-balancer` (hyper): a reverse proxy that asks the core `Balancer` where each request
//!   goes, probes workers' health, runs the decision engine on real time, and serves an admin
//!   API and Prometheus metrics on a separate listener.
//!
//! # Layout
//!
//! - [`worker`]: the worker server (`app(state) -> Router`, `serve(listener, state, shutdown)`).
//! - [`balancer`]: the proxy, health checks, admin API, metrics.
//! - [`shutdown`]: SIGINT/SIGTERM as a future.
//! - [`precise`]: sleeps accurate to tens of microseconds (worker service times, the load
//!   generator's sends), where tokio's millisecond timer would add up to 2 ms.

pub mod balancer;
pub mod precise;
pub mod shutdown;
pub mod worker;
