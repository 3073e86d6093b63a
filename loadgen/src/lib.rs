//! # lb-loadgen: load worthy of the name
//!
//! Two ways to drive an HTTP target:
//!
//! - **Open loop** (the default): requests are scheduled at absolute times, evenly spaced or as
//!   a Poisson process, and sent at those times whatever the target is doing. Latency is
//!   measured from the *intended* send time, so a target that stalls cannot hide its stall by
//!   slowing the generator down (no coordinated omission, as wrk2 does it). When the generator
//!   itself cannot keep up it says so: it counts the requests that went out late and reports the
//!   achieved rate next to the target rate.
//! - **Closed loop**: N connections, each sending its next request when the last one answered;
//!   the way to find peak throughput. Latency is measured from the actual send.
//!
//! And one way to run a scenario file for real: `lb-loadgen experiment` (see [`experiment`]).
//!
//! Latencies go into an HdrHistogram; results are printed as a summary and written in the
//! simulator's CSV schema (`summary.csv`, `timeseries.csv`) through `lb-report`.
//!
//! # Layout
//!
//! - [`target`]: what to send where (URL, method, body, headers) and the pre-flight check.
//! - [`client`]: the pooled HTTP client.
//! - [`record`]: latency histograms, status counts and the per-second series.
//! - [`open_loop`] and [`closed_loop`]: the two drivers.
//! - [`report`]: the summary text, the CSV rows and the progress bar.
//! - [`experiment`]: `lb-loadgen experiment`, a scenario run live (worker processes, an
//!   in-process balancer, the scenario's arrivals and faults), written in the simulator's layout.
//! - [`worker_process`]: scenario workers as child processes (`lb-loadgen worker`).

pub mod client;
pub mod closed_loop;
pub mod experiment;
pub mod open_loop;
pub mod record;
pub mod report;
pub mod target;
pub mod worker_process;
