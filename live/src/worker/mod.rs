//! # The worker server: the simulator's worker model, served over real HTTP
//!
//! A worker has `concurrency` slots (default 4) and a FIFO queue behind them. Each `/work`
//! request draws a service time from the same sampler the simulator uses
//! ([`lb_core::scenario::ServiceTime`], default 10 ms constant), divided by the worker's speed,
//! and sleeps it holding a slot. With the configured probability a request fails: `fast`
//! failures answer 500 at once without a slot, `slow` ones hold a slot for their service time
//! first. Random numbers come from a seeded `ChaCha8Rng` (seed from `--seed`, or from the name),
//! never from a global RNG. [`model`] holds the model, [`routes`] the HTTP mapping, and
//! [`WorkerArgs`] the command-line flags shared by `lb-worker` and `lb-loadgen worker`.
//!
//! A fault ([`Fault`]) can be set at run time to slow the worker down, delay it, make it fail,
//! mark it unhealthy, or make it hang; clearing it brings the configured worker back and
//! releases hung requests. The fault API is served on a separate control listener
//! ([`serve_control`], `--control`, loopback by default, optionally behind a bearer token; see
//! [`control`]), never on the data port: a client of a balancer in front of the worker reaches
//! the data port only, and must not be able to change the worker.
//!
//! # Routes on the data port
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | 200 `{"status":"ok","worker":NAME,"in_service":N,"queued":N}`; 503 with `"status":"unhealthy"` under an `unhealthy` fault |
//! | `GET\|POST /work` | reads the whole body, queues, serves: 200 `{"worker":NAME,"queue_ms":x,"service_ms":y,"body_bytes":n}`, or 500 with the same fields plus `"error"` and `"error_mode"` |
//! | `GET\|POST /echo` | the request body, streamed back byte for byte, with its content type (no slot taken) |
//! | `GET /bytes/{n}` | `n` bytes of [`pattern_byte`] (`n` <= 64 MiB, else 400; no slot taken) |
//! | `GET /stats` | `{"worker":NAME,"requests":..,"ok":..,"errors":..,"in_service":..,"queued":..,"hung":..}` |
//! | `/admin/fault`, any method | 404: the fault API is on the control listener only |
//!
//! The control listener's routes (`GET`, `PUT`, `DELETE /admin/fault`) are in [`control_api`].
//!
//! Every response carries `x-worker: NAME`. Under a `hang` fault, `/health`, `/work`, `/echo` and
//! `/bytes` accept requests and answer nothing until the fault is cleared; `/stats` and the
//! control routes keep answering so the fault can be cleared. `delay_ms` and `slow_factor` apply
//! to `/work` only.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use lb_live::worker::{WorkerConfig, WorkerState, serve};
//! let state = WorkerState::new(WorkerConfig { name: "w1".into(), ..WorkerConfig::default() })
//!     .expect("valid config");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, state, lb_live::shutdown::signal()).await
//! # }
//! ```

mod args;
mod config;
pub mod control;
pub mod control_api;
mod fault;
pub mod model;
mod pattern;
pub mod routes;

pub use args::WorkerArgs;
pub use config::{
    ConfigError, DEFAULT_CONCURRENCY, DEFAULT_SERVICE_MS, MAX_CONCURRENCY, SERVICE_SPEC_FORMS,
    ServiceSpecError, WorkerConfig, parse_service_spec, seed_from_name,
};
pub use control::{
    ControlAddr, ControlArgs, ControlError, ControlSettings, ControlToken, DEFAULT_CONTROL,
    TOKEN_ENV,
};
pub use control_api::{control_app, serve_control};
pub use fault::{FAULT_FIELDS, Fault, FaultError, MAX_DELAY_MS};
pub use model::{Stats, WorkOutcome, WorkerState};
pub use pattern::{MAX_BYTES, PatternBody, pattern_byte};
pub use routes::{X_WORKER, app, serve};
