//! Per-worker traffic statistics, O(1) and allocation-free per response.
//!
//! The simulator reports about ten million responses a second, so everything here is built
//! for a cheap [`WorkerStats::on_response`] and leaves the heavier work to snapshots taken at tick
//! time:
//!
//! - **Counters**: requests in flight (the signal of least-connections), lifetime responses and
//!   errors.
//! - **Latency EWMA** ([`Ewma`]): a time-decayed average, as in linkerd's `ewma` crate.
//! - **Peak EWMA** ([`PeakEwma`]): Finagle's and linkerd's estimator (tower's
//!   `load::PeakEwma`), which jumps up to a slow response at once and only slowly believes fast
//!   ones, and decays toward zero while the worker is idle so it gets probed again.
//! - **Trailing window** ([`WindowSnapshot`]): counts, errors, mean and percentiles over the last
//!   `window` (10 s by default), kept as a ring of `slices` rotating sub-windows, each with a
//!   [`LogHistogram`] (HdrHistogram's log-linear buckets, 16 per power of two, about 3%
//!   precision).
//!
//! # Failed responses count as latency samples too
//!
//! A failure's latency goes into both EWMAs and the window's histogram and mean, exactly like a
//! success's, and is *also* counted as an error. Leaving failures out would hide the classic
//! trap of latency-aware balancing: a worker that fails in 50 µs looks like the fastest worker in
//! the pool and attracts ever more traffic. Keeping the numbers faithful, and the error count
//! beside them, lets the decision engine see "fast and failing" for what it is.
//!
//! ```
//! use lb_core::stats::{StatsConfig, WorkerStats};
//! use lb_core::time::{Duration, Instant};
//!
//! let mut stats = WorkerStats::new(&StatsConfig::default(), Instant::ZERO);
//! stats.on_dispatch();
//! stats.on_dispatch();
//! let now = Instant::from_nanos(1_000_000_000);
//! stats.on_response(now, Duration::from_millis(4), true);
//! stats.on_response(now, Duration::from_millis(1), false);
//! assert_eq!(stats.in_flight(), 0);
//! let w = stats.window(now);
//! assert_eq!((w.requests, w.errors, w.error_rate), (2, 1, 0.5));
//! assert_eq!(w.mean, Some(Duration::from_micros(2_500)));
//! assert_eq!(stats.peak_ewma_ns(now), 4e6); // the slow response set the peak
//! ```

mod ewma;
mod histogram;
mod window;
mod worker;

pub use ewma::{Ewma, PeakEwma};
pub use histogram::LogHistogram;
pub use window::{Window, WindowSnapshot};
pub use worker::{StatsConfig, WorkerStats};
