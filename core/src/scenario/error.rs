//! Errors from reading a scenario: each names the file, and for bad values the field and why.

use std::path::PathBuf;

/// A scenario that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read scenario: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A scenario path names nothing.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    /// A folder given as scenarios cannot be listed.
    #[error("{path}: cannot list folder: {source}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder given as scenarios holds no `*.toml` file.
    #[error("{0}: no *.toml scenario files in this folder")]
    EmptyFolder(PathBuf),
    /// The file is not valid TOML, or does not fit the scenario format (unknown field, wrong
    /// type, missing field). The message carries the line, the column and the field.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's description, with line and column.
        message: String,
    },
    /// A field has a value the scenario cannot use.
    #[error("{path}: field `{field}`: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, as a path (`workers[1].speed`).
        field: String,
        /// Why the value is refused.
        reason: String,
    },
}
