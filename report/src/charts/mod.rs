//! PNG charts drawn from the schema's rows.
//!
//! Six charts, each a function of rows alone, so that every number a chart shows comes from a
//! CSV file beside it:
//!
//! - [`latency_percentiles`]: p50 to p99.9 per algorithm for one scenario, log scale, mean over
//!   seeds with min..max whiskers;
//! - [`p99_over_time`]: p99 per 1-second bucket per algorithm for one scenario and seed, with the
//!   scenario's faults and the decision engine's switches marked;
//! - [`error_rate_over_time`]: errors in % of each 1-second bucket's requests, per algorithm,
//!   with the same fault lines, switch markers and legend as [`p99_over_time`] (both are drawn
//!   by the same code);
//! - [`worker_share`]: share of requests per worker per algorithm, with the even share marked.
//!
//! and two that put a simulated run and the live run of the same scenario and seed on the same
//! axes (`compare`):
//!
//! - [`sim_vs_live_percentiles`]: p50 and p99 per algorithm, simulator (hollow markers) next to
//!   live (filled), log scale, each live marker labelled with the ratio live / sim;
//! - [`sim_vs_live_p99_over_time`]: p99 per 1-second bucket, one panel per algorithm with shared
//!   axes, the simulator's line in grey and the live one in the algorithm's colour, with the
//!   faults and the live run's switches marked as in [`p99_over_time`].
//!
//! Every chart is a white [`CHART_SIZE`] PNG with a title, a subtitle that says how to read it,
//! axis labels with units and a legend in a column of its own, as wide as its longest line needs
//! (`canvas`). Each algorithm has one colour in all charts (`palette`), text is drawn with an
//! embedded font (`font`: no system font libraries are needed), and the same rows always give
//! the same bytes. Inputs with nothing to draw give a
//! chart saying "no data" rather than an error, so a report directory always holds the same
//! files.

mod canvas;
mod compare;
mod font;
mod palette;
mod percentiles;
mod scale;
mod shares;
mod timeline;

pub use compare::{sim_vs_live_p99_over_time, sim_vs_live_percentiles};
pub use percentiles::latency_percentiles;
pub use shares::worker_share;
pub use timeline::{error_rate_over_time, p99_over_time};

/// Width and height of every chart, pixels.
pub const CHART_SIZE: (u32, u32) = (1000, 600);
