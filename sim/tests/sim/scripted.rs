//! `scripted` runs switch at their script's times, like the engine switches; `oracle` runs its
//! hindsight schedule; both are as reproducible as any other run.

use super::*;
use lb_core::engine::Reason;
use lb_core::time::Duration;
use lb_core::{Instant, Strategy};
use std::process::Command;

const SCRIPT: &str = r#"
name = "script"
duration_s = 30
warmup_s = 5
[arrivals]
rate = 400
[[workers]]
count = 4
concurrency = 2
service = { distribution = "exponential", mean_ms = 5 }
[[faults]]
at_s = 15
worker = 1
action = "slow"
factor = 4
[[switches]]
at_s = 0
algorithm = "round_robin"
[[switches]]
at_s = 10.5
algorithm = "peak_ewma"
[[switches]]
at_s = 12
algorithm = "peak_ewma"
[[switches]]
at_s = 20
algorithm = "random"
"#;

fn secs(s: f64) -> Instant {
    Instant::ZERO + Duration::from_secs_f64(s)
}

#[test]
fn a_scripted_run_switches_at_the_scripts_times_and_nowhere_else() {
    let sc = scenario(SCRIPT);
    let r = run(&sc, Strategy::Scripted, 3);
    let got: Vec<(Instant, Algorithm, Algorithm)> =
        r.decisions.iter().map(|d| (d.at, d.from, d.to)).collect();
    // It starts on the entry at 0 s (no switch), and the entry at 12 s changes nothing.
    assert_eq!(
        got,
        [
            (secs(10.5), Algorithm::RoundRobin, Algorithm::PeakEwma),
            (secs(20.0), Algorithm::PeakEwma, Algorithm::Random),
        ]
    );
    assert!(r.decisions.iter().all(|d| d.reason == Reason::Scripted));
    assert_eq!(r.decisions[1].detail, "scripted: switches[3] at 20 s");
    // The time series names the algorithm running at the end of each second.
    let active = |t: u64| r.recorder.series[t as usize].algorithm;
    assert_eq!(
        (active(9), active(11), active(19), active(21)),
        ("round_robin", "peak_ewma", "peak_ewma", "random")
    );
    // The same seed, the same run.
    let again = run(&sc, Strategy::Scripted, 3);
    assert_eq!(again.decisions, r.decisions);
    assert_eq!(again.recorder.series, r.recorder.series);
    assert_eq!(again.events, r.events);
    // A static algorithm ignores the script.
    assert!(run(&sc, Algorithm::RoundRobin, 3).decisions.is_empty());
}

#[test]
fn a_script_that_starts_later_starts_on_the_baseline() {
    let text = SCRIPT.replace(
        "at_s = 0\nalgorithm = \"round_robin\"",
        "at_s = 2\nalgorithm = \"round_robin\"",
    );
    let r = run(&scenario(&text), Strategy::Scripted, 1);
    assert_eq!(
        (r.decisions[0].at, r.decisions[0].from, r.decisions[0].to),
        (
            secs(2.0),
            Algorithm::LeastConnections,
            Algorithm::RoundRobin
        )
    );
    assert_eq!(r.decisions.len(), 3);
}

#[test]
fn every_measured_request_is_in_one_phase() {
    let sc = scenario(SCRIPT);
    let r = run(&sc, Algorithm::LeastConnections, 2);
    let phases = r.recorder.phases();
    assert_eq!(phases.starts(), [secs(5.0), secs(15.0)]);
    let n: u64 = phases.tallies().iter().map(|t| t.requests).sum();
    let e: u64 = phases.tallies().iter().map(|t| t.errors).sum();
    assert_eq!((n, e), (r.recorder.answered(), r.recorder.errors));
}

fn lb_sim(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lb-sim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run lb-sim")
}

fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn scripted_and_oracle_runs_write_the_same_bytes_for_the_same_seeds() {
    let dir = temp_dir("scripted-cli");
    std::fs::write(dir.join("script.toml"), SCRIPT).unwrap();
    let args = |out: &'static str| {
        [
            "script.toml",
            "--algorithms",
            "scripted,adaptive,oracle",
            "--seeds",
            "2",
            "--no-charts",
            "--quiet",
            "--out",
            out,
        ]
    };
    for out in ["a", "b"] {
        let o = lb_sim(&dir, &args(out));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for f in [
        "summary.csv",
        "decisions.csv",
        "timeseries.csv",
        "workers.csv",
        "oracle.csv",
        "verdict.csv",
    ] {
        assert!(
            read(&dir.join("a"), f) == read(&dir.join("b"), f),
            "{f} differs"
        );
    }
    let summary = String::from_utf8(read(&dir.join("a"), "summary.csv")).unwrap();
    // Every static algorithm was added for the oracle, just before it.
    let algs: Vec<&str> = summary
        .lines()
        .skip(1)
        .step_by(2)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        algs,
        [
            "scripted",
            "adaptive",
            "round_robin",
            "weighted_round_robin",
            "random",
            "least_connections",
            "power_of_two",
            "peak_ewma",
            "oracle"
        ]
    );
    // `switches` counts the script's switches.
    assert!(summary.contains("\nscript,scripted,1,"), "{summary}");
    let scripted_row = summary
        .lines()
        .find(|l| l.starts_with("script,scripted,1,"))
        .unwrap();
    assert!(scripted_row.ends_with(",2"), "{scripted_row}");
    let decisions = String::from_utf8(read(&dir.join("a"), "decisions.csv")).unwrap();
    assert!(
        decisions.contains(
            "script,scripted,1,10.500,round_robin,peak_ewma,scripted,,,,,scripted: switches[1] at 10.5 s"
        ),
        "{decisions}"
    );
    // The oracle's schedule: two phases (warm-up's end to the fault, the fault to the end).
    let oracle = String::from_utf8(read(&dir.join("a"), "oracle.csv")).unwrap();
    let phases: Vec<(&str, &str)> = oracle
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1], c[2])
        })
        .collect();
    assert_eq!(phases, [("5.000", "15.000"), ("15.000", "30.000")]);
    let verdict = String::from_utf8(read(&dir.join("a"), "verdict.csv")).unwrap();
    assert!(
        verdict.lines().nth(1).unwrap().starts_with("script,"),
        "{verdict}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scripted_without_switches_is_refused_before_anything_runs() {
    let dir = temp_dir("scripted-none");
    std::fs::write(
        dir.join("plain.toml"),
        "duration_s = 2\n[arrivals]\nrate = 10\n[[workers]]\nservice = { distribution = \"constant\", ms = 1 }\n",
    )
    .unwrap();
    let o = lb_sim(
        &dir,
        &["plain.toml", "--algorithms", "scripted", "--out", "out"],
    );
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("plain.toml: field `switches`: `scripted` runs the scenario's `[[switches]]` and this scenario has none"),
        "{e}"
    );
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
