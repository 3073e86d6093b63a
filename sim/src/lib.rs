//! # lb-sim: a deterministic discrete-event simulator for load balancing
//!
//! The simulator replays a scenario (workers, arrivals, faults: see `experiments/README.md`) on
//! virtual time, driving the very same [`lb_core::Sharded`] composition (the decision engine and
//! pool-wide health over one or more [`lb_core::Balancer`] shards) that live mode drives. It is an
//! event loop, not a runtime (quinn-proto's test harness is the model): a heap of
//! `(time, sequence, event)` entries, popped in order, each handled to completion.
//!
//! The same scenario, algorithm and seed give the same bytes out, whatever the number of
//! threads: each run is single-threaded with its own seeded RNG streams, and results are
//! written in job order.
//!
//! # Layout
//!
//! - [`event`]: the event queue, ordered by (time, sequence number).
//! - [`worker`]: the worker model (slots, FIFO queue, service times, errors, crashes).
//! - [`run`]: one run of one scenario with one algorithm and seed.
//! - [`record`]: what a run measures (latency histogram, time series, per-worker totals).
//! - [`phase`]: the measured window cut at the scenario's change points, tallied per phase.
//! - [`runner`]: many runs on all cores, results in a fixed order (the oracle's after the
//!   static algorithms' they are made from).
//! - [`oracle`]: the hindsight oracle, each phase's best static algorithm, run as a script.
//! - [`goals`]: how outcomes are ranked and the goals adaptive is held to.
//! - [`verdict`]: adaptive against the best static algorithm and the oracle (`verdict.csv`).
//! - [`output`]: CSV rows, charts and the summary table.
//! - [`stretch`]: longer runs of the same scenario (`--scale`).
//! - [`bench`]: the `--bench` measurement of simulator speed.

pub mod bench;
pub mod event;
pub mod goals;
pub mod oracle;
pub mod output;
pub mod phase;
pub mod record;
pub mod run;
pub mod runner;
pub mod stretch;
pub mod verdict;
pub mod worker;
