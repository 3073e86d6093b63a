//! The adaptive engine against every static algorithm on every scenario in `experiments/`, and
//! its decision logs against the golden files in `sim/tests/golden/`.
//!
//! The runs (every scenario x every strategy x 5 seeds) are computed once and shared by the
//! tests of this file.
//!
//! To accept a change of decision behaviour on purpose, regenerate the goldens with
//! `UPDATE_GOLDEN=1 cargo test -p lb-sim --test sim golden` and commit them with the change.

use super::*;
use lb_core::Strategy;
use lb_sim::runner::{Job, plan, run_jobs};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

struct Runs {
    scenarios: Vec<Scenario>,
    jobs: Vec<Job>,
    results: Vec<lb_sim::run::RunResult>,
}

fn experiments() -> Vec<Scenario> {
    let dir = root().join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("experiments/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| Scenario::from_file(f).expect("every shipped scenario is valid"))
        .collect()
}

fn all_runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let scenarios = experiments();
        let strategies = vec![Strategy::ALL.to_vec(); scenarios.len()];
        let jobs = plan(&scenarios, &strategies, &SEEDS);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let results = run_jobs(&scenarios, &jobs, threads, false);
        Runs {
            scenarios,
            jobs,
            results,
        }
    })
}

/// Mean over seeds of (p99 ms, error rate) per scenario and strategy.
fn table() -> BTreeMap<(String, Strategy), (f64, f64)> {
    let r = all_runs();
    let mut sums: BTreeMap<(String, Strategy), (f64, f64, f64)> = BTreeMap::new();
    for (job, res) in r.jobs.iter().zip(&r.results) {
        let rec = &res.recorder;
        let e = sums
            .entry((r.scenarios[job.scenario].name.clone(), job.strategy))
            .or_default();
        e.0 += rec.quantile_ms(0.99);
        e.1 += rec.errors as f64 / rec.answered().max(1) as f64;
        e.2 += 1.0;
    }
    sums.into_iter()
        .map(|(k, (p, e, n))| (k, (p / n, e / n)))
        .collect()
}

fn best_static(t: &BTreeMap<(String, Strategy), (f64, f64)>, scenario: &str) -> (f64, f64) {
    let statics: Vec<(f64, f64)> = t
        .iter()
        .filter(|((s, st), _)| s == scenario && *st != Strategy::Adaptive)
        .map(|(_, v)| *v)
        .collect();
    (
        statics.iter().map(|v| v.0).fold(f64::INFINITY, f64::min),
        statics.iter().map(|v| v.1).fold(f64::INFINITY, f64::min),
    )
}

#[test]
fn adaptive_beats_every_static_algorithm_on_the_shifting_scenario() {
    let t = table();
    let (p99, err) = t[&("shifting".to_string(), Strategy::Adaptive)];
    for ((s, st), (sp99, serr)) in &t {
        if s != "shifting" || *st == Strategy::Adaptive {
            continue;
        }
        assert!(p99 < *sp99, "adaptive p99 {p99:.2} ms vs {st} {sp99:.2} ms");
        assert!(err < *serr, "adaptive errors {err:.5} vs {st} {serr:.5}");
    }
}

#[test]
fn adaptive_is_near_the_best_static_algorithm_everywhere_else() {
    let t = table();
    let scenarios: Vec<String> = all_runs()
        .scenarios
        .iter()
        .map(|s| s.name.clone())
        .collect();
    for s in scenarios.iter().filter(|s| *s != "shifting") {
        let (p99, err) = t[&(s.clone(), Strategy::Adaptive)];
        let (best_p99, best_err) = best_static(&t, s);
        assert!(
            p99 <= best_p99 * 1.10,
            "{s}: adaptive p99 {p99:.2} ms, best static {best_p99:.2} ms"
        );
        assert!(
            err <= best_err + 0.005,
            "{s}: adaptive error rate {:.3}%, best static {:.3}%",
            err * 100.0,
            best_err * 100.0
        );
    }
}

#[test]
fn the_engine_never_switches_on_a_steady_pool() {
    let r = all_runs();
    for (job, res) in r.jobs.iter().zip(&r.results) {
        let name = &r.scenarios[job.scenario].name;
        if job.strategy == Strategy::Adaptive && (name == "steady_pool" || name == "long_steady") {
            assert!(
                res.decisions.is_empty(),
                "{name} seed {}: {:?}",
                job.seed,
                res.decisions
            );
        }
    }
}

#[test]
fn static_runs_never_switch() {
    let r = all_runs();
    for (job, res) in r.jobs.iter().zip(&r.results) {
        if job.strategy != Strategy::Adaptive {
            assert!(res.decisions.is_empty());
            assert!(
                res.recorder
                    .series
                    .iter()
                    .all(|s| s.algorithm == job.strategy.name())
            );
        }
    }
}

/// One decision as a golden line: seed, time, from, to, condition, detail.
fn golden_lines(scenario: usize) -> Vec<String> {
    let r = all_runs();
    let mut lines = vec!["seed,t_s,from,to,condition,detail".to_string()];
    for (job, res) in r.jobs.iter().zip(&r.results) {
        if job.scenario != scenario || job.strategy != Strategy::Adaptive {
            continue;
        }
        for d in &res.decisions {
            lines.push(format!(
                "{},{:.3},{},{},{},\"{}\"",
                job.seed,
                d.at.as_secs_f64(),
                d.from,
                d.to,
                d.reason,
                d.detail.replace('"', "'")
            ));
        }
    }
    lines
}

/// The first four fields (seed, time, from, to, condition) of a golden line, for diffs.
fn short(line: &str) -> String {
    line.splitn(6, ',').take(5).collect::<Vec<_>>().join(", ")
}

#[test]
fn golden_decision_logs_match() {
    let r = all_runs();
    let dir = root().join("sim/tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (i, sc) in r.scenarios.iter().enumerate() {
        let path = dir.join(format!("{}.decisions.csv", sc.name));
        let got = golden_lines(i);
        if update {
            std::fs::create_dir_all(&dir).expect("create golden dir");
            std::fs::write(&path, got.join("\n") + "\n").expect("write golden");
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            failures.push(format!(
                "{}: missing golden file {} (create it with UPDATE_GOLDEN=1)",
                sc.name,
                path.display()
            ));
            continue;
        };
        let want: Vec<String> = text.lines().map(str::to_string).collect();
        if want != got {
            let mut diff = format!(
                "{}: decision log changed ({}; - golden, + now):\n",
                sc.name,
                path.display()
            );
            for w in want.iter().filter(|w| !got.contains(w)) {
                diff += &format!("  - {}\n", short(w));
            }
            for g in got.iter().filter(|g| !want.contains(g)) {
                diff += &format!("  + {}\n", short(g));
            }
            if want.iter().all(|w| got.contains(w)) && got.iter().all(|g| want.contains(g)) {
                diff += "  (the same lines in another order or count)\n";
            }
            failures.push(diff);
        }
    }
    // A golden file whose scenario is gone guards nothing: flag it.
    let names: Vec<String> = r
        .scenarios
        .iter()
        .map(|s| format!("{}.decisions.csv", s.name))
        .collect();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if !names.contains(&f) {
            if update {
                let _ = std::fs::remove_file(e.path());
            } else {
                failures.push(format!(
                    "{f}: golden file of a scenario that no longer exists"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nIf the change is intended: UPDATE_GOLDEN=1 cargo test -p lb-sim --test sim golden",
        failures.join("\n")
    );
}
