//! Runs many (scenario, algorithm, seed) jobs on all cores and gives the results back in job
//! order, so the output never depends on the number of threads or on which thread finished first.

use crate::run::{RunResult, run};
use indicatif::{ProgressBar, ProgressStyle};
use lb_core::Strategy;
use lb_core::scenario::Scenario;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One run to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Index into the scenario list.
    pub scenario: usize,
    /// The strategy (an algorithm, or `adaptive`).
    pub strategy: Strategy,
    /// The seed.
    pub seed: u64,
}

/// The jobs for every scenario x algorithm x seed, in report order.
pub fn plan(scenarios: &[Scenario], strategies: &[Vec<Strategy>], seeds: &[u64]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (s, list) in strategies.iter().enumerate().take(scenarios.len()) {
        for &strategy in list {
            for &seed in seeds {
                jobs.push(Job {
                    scenario: s,
                    strategy,
                    seed,
                });
            }
        }
    }
    jobs
}

/// Run `jobs` on `threads` threads; results come back in the order of `jobs`.
pub fn run_jobs(
    scenarios: &[Scenario],
    jobs: &[Job],
    threads: usize,
    progress: bool,
) -> Vec<RunResult> {
    let bar = if progress {
        let b = ProgressBar::new(jobs.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed_precise}  {msg}")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<RunResult>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let sc = &scenarios[job.scenario];
                    let r = run(sc, job.strategy, job.seed);
                    bar.set_message(format!("{} / {}", sc.name, job.strategy));
                    bar.inc(1);
                    // A poisoned lock means another run panicked; keep what we have.
                    let mut guard = slots.lock().unwrap_or_else(|p| p.into_inner());
                    guard[i] = Some(r);
                }
            });
        }
    });
    bar.finish_and_clear();
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
