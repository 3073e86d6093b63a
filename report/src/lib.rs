//! The CSV schema and the charts shared by the simulator and the load generator.
//!
//! `lb-sim` (virtual time) and the live load generator (real time) write the same five CSV files
//! and draw the same charts through this crate, so a simulated run and a live run of one
//! scenario can be compared file for file and picture for picture. Charts are drawn from rows
//! only: whatever a chart shows can be checked against the CSV beside it.
//!
//! ```no_run
//! use std::path::Path;
//! use lb_report::{SummaryRow, read_csv, render_dir, write_csv};
//!
//! # fn main() -> Result<(), lb_report::ReportError> {
//! let dir = Path::new("results");
//! let rows: Vec<SummaryRow> = read_csv(&dir.join("summary.csv"))?;
//! write_csv(&dir.join("summary-copy.csv"), &rows)?;
//! for png in render_dir(dir)? {
//!     println!("wrote {}", png.display());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - [`schema`] — one row type per CSV file and the [`Row`] trait (header, file name).
//! - [`hindsight`] — the simulator's own `oracle.csv` and `verdict.csv` rows.
//! - `decimals` — fixed-decimal writing of float columns.
//! - [`csv_io`] — [`write_csv`] (header even for zero rows) and [`read_csv`] (errors name the
//!   file, the line and the column).
//! - [`charts`] — [`latency_percentiles`], [`p99_over_time`], [`error_rate_over_time`],
//!   [`worker_share`]; simulator against live: [`sim_vs_live_percentiles`],
//!   [`sim_vs_live_p99_over_time`]; `timeline` (what the two over-time charts share: fault lines, switch
//!   markers, gaps, legend), `font` (embedded DejaVu Sans, no system fonts), `palette` (one
//!   colour per algorithm), `scale` (linear and log axes), `canvas` (title, legend column sized
//!   to its labels, "no data").
//! - [`render_dir`](mod@render_dir) — every chart of a results directory
//!   ([`render_dir()`]), and the simulator-against-live charts of a live results directory and
//!   its simulator twin ([`render_comparison`]).
//! - [`error`] — [`ReportError`], whose messages name the file and what was wrong.

pub mod charts;
pub mod csv_io;
mod decimals;
pub mod error;
pub mod hindsight;
pub mod render_dir;
pub mod schema;

pub use charts::{
    CHART_SIZE, error_rate_over_time, latency_percentiles, p99_over_time,
    sim_vs_live_p99_over_time, sim_vs_live_percentiles, worker_share,
};
pub use csv_io::{read_csv, write_csv};
pub use error::ReportError;
pub use hindsight::{OracleRow, VerdictRow};
pub use render_dir::{render_comparison, render_dir};
pub use schema::{DecisionRow, FaultRow, Row, SummaryRow, TimeseriesRow, WorkerRow};
