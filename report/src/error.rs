//! The one error type of the crate.
//!
//! Every message names the file it is about and what was wrong with it, so a user who sees
//! `results/summary.csv: line 7: column `seed`: invalid digit found in string` knows where to look
//! without a backtrace.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// What went wrong while writing, reading or drawing report files.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file or directory could not be created, opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A file the caller needs is not there.
    #[error("{}: file not found ({needed_by} needs it)", path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
        /// What needed it, e.g. `render_dir`.
        needed_by: &'static str,
    },

    /// A CSV file does not match the schema at a known line (1 is the header line).
    #[error("{}: line {line}: {message}", path.display())]
    Malformed {
        /// The CSV file.
        path: PathBuf,
        /// The 1-based line of the bad record.
        line: u64,
        /// What was wrong, naming the column where known.
        message: String,
    },

    /// A CSV file could not be written or read, and no line applies.
    #[error("{}: {message}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },

    /// plotters failed while drawing or encoding a chart.
    #[error("{}: cannot draw the chart: {message}", path.display())]
    Chart {
        /// The PNG being drawn.
        path: PathBuf,
        /// plotters' description of the failure.
        message: String,
    },

    /// The bundled DejaVu Sans font was rejected by the font rasteriser.
    #[error("cannot register the bundled DejaVu Sans font with plotters")]
    Font,

    /// A scenario name cannot be used as a directory name.
    #[error(
        "{}: scenario name {name:?} {reason}; scenario names become directory names, so they \
         must be non-empty and contain no '/', '\\' or '..'",
        file.display()
    )]
    ScenarioName {
        /// The CSV file the name was read from.
        file: PathBuf,
        /// The offending name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}
