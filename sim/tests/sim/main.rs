//! Integration tests of the simulator: queueing theory, determinism, the command line.

mod adaptive;
mod cli;
mod determinism;
mod faults;
mod overload;
mod scripted;
mod shards;
mod theory;

use lb_core::scenario::Scenario;
use lb_core::{Algorithm, Strategy};
use lb_sim::run::RunResult;

/// A scenario from TOML text.
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text, "test.toml").expect("test scenario is valid")
}

/// Run `sc` with a strategy (an algorithm converts into one) and a seed.
pub fn run(sc: &Scenario, strategy: impl Into<Strategy>, seed: u64) -> RunResult {
    lb_sim::run::run(sc, strategy.into(), seed)
}

/// Run `sc` with `alg` over `seeds` seeds (1..=seeds).
pub fn runs(sc: &Scenario, alg: Algorithm, seeds: u64) -> Vec<RunResult> {
    (1..=seeds)
        .map(|s| run(sc, Strategy::Fixed(alg), s))
        .collect()
}

/// Pooled mean latency (ms) over runs, weighting each run by its answers.
pub fn pooled_mean_ms(rs: &[RunResult]) -> f64 {
    let n: u64 = rs.iter().map(|r| r.recorder.answered()).sum();
    let total: f64 = rs
        .iter()
        .map(|r| r.recorder.mean_ms() * r.recorder.answered() as f64)
        .sum();
    total / n as f64
}

/// Path of the workspace root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim/ has a parent")
        .to_path_buf()
}

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lb-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}
