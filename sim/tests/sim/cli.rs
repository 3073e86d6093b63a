//! The command line: bad input gets a clear error, a non-zero exit, and nothing written.

use super::*;
use std::process::{Command, Output};

fn lb_sim(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lb-sim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run lb-sim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_bad_scenario_names_file_and_field_and_writes_nothing() {
    let dir = temp_dir("bad-scenario");
    std::fs::write(
        dir.join("good.toml"),
        "duration_s = 2\n[arrivals]\nrate = 10\n[[workers]]\nservice = { distribution = \"constant\", ms = 1 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("neg.toml"),
        "duration_s = 2\n[arrivals]\nrate = -5\n[[workers]]\nservice = { distribution = \"constant\", ms = 1 }\n",
    )
    .unwrap();
    let o = lb_sim(&["good.toml", "neg.toml", "--out", "out", "--quiet"], &dir);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("neg.toml: field `arrivals.rate`: must be a number > 0, got -5"),
        "{e}"
    );
    assert!(
        !dir.join("out").exists(),
        "nothing is written when a scenario is bad"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn an_unknown_field_and_malformed_toml_are_reported_with_the_file() {
    let dir = temp_dir("unknown-field");
    std::fs::write(dir.join("typo.toml"), "duration_s = 2\nrequets = 5\n").unwrap();
    let o = lb_sim(&["typo.toml", "--out", "out"], &dir);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("typo.toml") && e.contains("requets"), "{e}");
    std::fs::write(dir.join("broken.toml"), "[arrivals\nrate = 1").unwrap();
    let o = lb_sim(&["broken.toml"], &dir);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("broken.toml"), "{}", stderr(&o));
}

#[test]
fn bad_flags_are_refused_with_the_reason() {
    let dir = temp_dir("bad-flags");
    let o = lb_sim(&["--algorithms", "round_robin,fastest"], &dir);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown algorithm \"fastest\""),
        "{}",
        stderr(&o)
    );
    let o = lb_sim(&["--seeds", "0"], &dir);
    assert!(!o.status.success());
    let o = lb_sim(&["--scale", "-1"], &dir);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("must be a number in (0, 1000]"),
        "{}",
        stderr(&o)
    );
    let o = lb_sim(&["missing.toml"], &dir);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("missing.toml: no such file or folder"),
        "{}",
        stderr(&o)
    );
    // No experiments/ here and no scenario named.
    let o = lb_sim(&[], &dir);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("./experiments not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_run_writes_the_csvs_and_charts_and_prints_a_table() {
    let dir = temp_dir("good-run");
    std::fs::write(
        dir.join("tiny.toml"),
        "duration_s = 5\n[arrivals]\nrate = 200\n[[workers]]\ncount = 3\nservice = { distribution = \"exponential\", mean_ms = 5 }\n\
         [[faults]]\nat_s = 2\nworker = 1\naction = \"slow\"\nfactor = 3\n",
    )
    .unwrap();
    let o = lb_sim(
        &[
            "tiny.toml",
            "--algorithms",
            "round_robin,least_connections",
            "--seeds",
            "2",
            "--out",
            "out",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("tiny") && table.contains("least_connections"),
        "{table}"
    );
    for f in [
        "summary.csv",
        "timeseries.csv",
        "workers.csv",
        "faults.csv",
        "decisions.csv",
    ] {
        assert!(dir.join("out").join(f).is_file(), "{f}");
    }
    let summary = std::fs::read_to_string(dir.join("out/summary.csv")).unwrap();
    assert!(summary.starts_with(
        "scenario,algorithm,seed,requests,ok,errors,error_rate,throughput_rps,mean_ms,p50_ms,p90_ms,p99_ms,p999_ms,max_ms"
    ));
    assert_eq!(summary.lines().count(), 1 + 2 * 2);
    for c in [
        "latency_percentiles.png",
        "p99_over_time.png",
        "worker_share.png",
    ] {
        assert!(dir.join("out/tiny").join(c).is_file(), "{c}");
    }
}

#[test]
fn verdict_runs_every_static_algorithm_adaptive_and_the_oracle_and_prints_the_goals() {
    let dir = temp_dir("verdict");
    std::fs::write(
        dir.join("tiny.toml"),
        "duration_s = 6\nwarmup_s = 1\n[arrivals]\nrate = 300\n[[workers]]\ncount = 3\nservice = { distribution = \"exponential\", mean_ms = 5 }\n\
         [[faults]]\nat_s = 3\nworker = 1\naction = \"slow\"\nfactor = 4\n",
    )
    .unwrap();
    let o = lb_sim(
        &[
            "tiny.toml",
            "--verdict",
            "--algorithms",
            "peak_ewma",
            "--seeds",
            "1",
            "--no-charts",
            "--out",
            "out",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("verdict: adaptive against"), "{table}");
    assert!(table.contains("of 1 scenarios pass all goals"), "{table}");
    let summary = std::fs::read_to_string(dir.join("out/summary.csv")).unwrap();
    // peak_ewma, adaptive, the five other static algorithms, the oracle.
    assert_eq!(summary.lines().count(), 1 + 8, "{summary}");
    let verdict = std::fs::read_to_string(dir.join("out/verdict.csv")).unwrap();
    assert!(verdict.starts_with("scenario,best_static,"), "{verdict}");
    assert_eq!(verdict.lines().count(), 2);
    let oracle = std::fs::read_to_string(dir.join("out/oracle.csv")).unwrap();
    assert_eq!(oracle.lines().count(), 1 + 2, "{oracle}");
    // Without the oracle neither file is written.
    let o = lb_sim(
        &[
            "tiny.toml",
            "--algorithms",
            "adaptive",
            "--seeds",
            "1",
            "--no-charts",
            "--quiet",
            "--out",
            "plain",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("plain/oracle.csv").exists() && !dir.join("plain/verdict.csv").exists());
}
