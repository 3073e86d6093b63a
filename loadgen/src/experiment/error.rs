//! Why an experiment or a comparison stopped. Every message names the file, the scenario or the
//! run it is about, so that `lb-loadgen: error: ...` alone says what to fix.

use crate::target::TargetError;
use crate::worker_process::ProcessError;
use lb_core::scenario::ScenarioError;
use lb_live::balancer::server::StartError;
use lb_report::ReportError;
use std::path::PathBuf;

/// An experiment's error.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The scenario file is missing or malformed.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario is sized in requests; a live run needs a duration.
    #[error(
        "{origin}: field `requests`: a live experiment runs for a fixed time; give `duration_s` instead"
    )]
    NeedsDuration {
        /// The scenario's file.
        origin: String,
    },
    /// A worker process did not start.
    #[error(transparent)]
    Workers(#[from] ProcessError),
    /// The balancer did not start.
    #[error("starting the balancer: {0}")]
    Balancer(#[from] StartError),
    /// The balancer's address did not make a target (should not happen).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A CSV could not be read or written, or a chart drawn.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The results folder could not be created.
    #[error("--out {path}: cannot create the folder: {source}")]
    Out {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// One run of one algorithm failed.
    #[error("{scenario} with {algorithm}: {source}")]
    Run {
        /// Scenario name.
        scenario: String,
        /// The algorithm (or `adaptive`).
        algorithm: String,
        /// What failed.
        source: Box<ExperimentError>,
    },
    /// A live row names an algorithm this build does not know.
    #[error("{path}: algorithm `{name}`: {reason}")]
    Algorithm {
        /// The live summary file.
        path: PathBuf,
        /// The name found.
        name: String,
        /// Why it is not an algorithm.
        reason: String,
    },
    /// A strategy only the simulator can run (`scripted`, `oracle`) was asked of a live run.
    #[error(
        "{origin}: `{algorithm}` follows a schedule of switches, which only the simulator runs (`lb-sim {origin} --algorithms {algorithm}`); a live experiment runs static algorithms and `adaptive`"
    )]
    SimOnly {
        /// The scenario's file.
        origin: String,
        /// The strategy asked for.
        algorithm: String,
    },
    /// `compare` was asked about a scenario the live results do not hold.
    #[error(
        "{path}: no live rows for scenario `{scenario}` (from {origin}); run `lb-loadgen experiment {origin}` first"
    )]
    NoLiveRows {
        /// The live summary file.
        path: PathBuf,
        /// The scenario's name.
        scenario: String,
        /// The scenario's file.
        origin: String,
    },
}
