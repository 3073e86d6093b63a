//! Runs many (scenario, algorithm, seed) jobs on all cores and gives the results back in job
//! order, so the output never depends on the number of threads or on which thread finished first.
//!
//! `oracle` jobs need the static algorithms' runs of their scenario first ([`crate::oracle`]):
//! [`run_all`] runs every other job, makes each scenario's oracle from those runs, then runs the
//! oracle jobs, and gives all results back in job order all the same.

use crate::oracle::{Hindsight, hindsight};
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

/// [`run_jobs`] for jobs that may include `oracle`: the other jobs first, then each scenario's
/// oracle from its static algorithms' runs among them, then the oracle jobs on it. Returns the
/// results in job order, and the oracle of every scenario that has oracle jobs (by scenario
/// index, in scenario order).
pub fn run_all(
    scenarios: &[Scenario],
    jobs: &[Job],
    threads: usize,
    progress: bool,
) -> (Vec<RunResult>, Vec<(usize, Hindsight)>) {
    let (later, first): (Vec<usize>, Vec<usize>) =
        (0..jobs.len()).partition(|&i| jobs[i].strategy == Strategy::Oracle);
    if later.is_empty() {
        return (run_jobs(scenarios, jobs, threads, progress), Vec::new());
    }
    let first_jobs: Vec<Job> = first.iter().map(|&i| jobs[i]).collect();
    let first_results = run_jobs(scenarios, &first_jobs, threads, progress);
    let mut oracle_scenarios = scenarios.to_vec();
    let mut oracles = Vec::new();
    for s in 0..scenarios.len() {
        if !later.iter().any(|&i| jobs[i].scenario == s) {
            continue;
        }
        let runs: Vec<&RunResult> = first_jobs
            .iter()
            .zip(&first_results)
            .filter(|(j, _)| j.scenario == s)
            .map(|(_, r)| r)
            .collect();
        let h = hindsight(&scenarios[s], &runs);
        oracle_scenarios[s] = h.scenario.clone();
        oracles.push((s, h));
    }
    let later_jobs: Vec<Job> = later.iter().map(|&i| jobs[i]).collect();
    let later_results = run_jobs(&oracle_scenarios, &later_jobs, threads, progress);
    let mut slots: Vec<Option<RunResult>> = (0..jobs.len()).map(|_| None).collect();
    for (i, r) in first.into_iter().zip(first_results) {
        slots[i] = Some(r);
    }
    for (i, r) in later.into_iter().zip(later_results) {
        slots[i] = Some(r);
    }
    (slots.into_iter().flatten().collect(), oracles)
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
