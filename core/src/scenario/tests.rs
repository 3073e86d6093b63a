//! Scenario parsing and validation: good files read right, bad ones name file, field and reason.

use super::*;
use crate::pick::Algorithm;

const FULL: &str = r#"
name = "full"
description = "every field"
duration_s = 60
warmup_s = 5
algorithms = ["round_robin", "adaptive"]

[arrivals]
process = "constant"
rate = 900
phases = [{ at_s = 20, rate = 1500 }, { at_s = 40, rate = 900 }]
bursts = { start_s = 10, on_s = 1, off_s = 9, on_rate = 3000 }

[balancer]
timeout_ms = 250
health = { interval_ms = 500, timeout_ms = 100, rise = 3, fall = 2 }
outlier = { consecutive_failures = 7, base_ejection_ms = 1000, max_ejection_ms = 5000, max_ejection_percent = 30 }
stats = { window_s = 5, ewma_tau_ms = 500, peak_ewma_tau_ms = 2000 }

[[workers]]
count = 3
concurrency = 2
service = { distribution = "lognormal", median_ms = 8, p99_ms = 40 }
speed = 1.5
weight = 2
error_rate = 0.01
error_mode = "slow"
network_delay_ms = 0.5

[[workers]]
service = { distribution = "constant", ms = 10 }

[[faults]]
at_s = 30
worker = 3
action = "errors"
rate = 0.5

[[faults]]
at_s = 20
worker = 1
action = "slow"
factor = 4
"#;

fn err(text: &str) -> String {
    Scenario::from_toml_str(text, "experiments/bad.toml")
        .unwrap_err()
        .to_string()
}

/// A minimal valid scenario with `extra` appended (TOML allows adding top-level keys first).
fn minimal(top: &str, rest: &str) -> String {
    format!(
        "{top}\n[arrivals]\nrate = 100\n[[workers]]\nservice = {{ distribution = \"constant\", ms = 1 }}\n{rest}"
    )
}

#[test]
fn a_full_scenario_reads_into_typed_values() {
    let s = Scenario::from_toml_str(FULL, "experiments/full.toml").unwrap();
    assert_eq!(s.name, "full");
    assert_eq!(s.length, Length::Duration(Duration::from_secs(60)));
    assert_eq!(s.warmup, Duration::from_secs(5));
    assert_eq!(
        s.algorithms,
        vec![Strategy::Fixed(Algorithm::RoundRobin), Strategy::Adaptive]
    );
    assert_eq!(s.arrivals.process, ProcessKind::Constant);
    assert_eq!(s.arrivals.phases.len(), 2);
    assert_eq!(s.arrivals.bursts.unwrap().on_rate, 3000.0);
    assert_eq!(s.balancer.timeout, Some(Duration::from_millis(250)));
    let h = s.balancer.health.unwrap();
    assert_eq!(h.thresholds, ActiveConfig { rise: 3, fall: 2 });
    assert_eq!(s.balancer.outlier.consecutive_failures, 7);
    assert_eq!(s.balancer.stats.window, Duration::from_secs(5));
    assert_eq!(s.workers.len(), 4);
    assert_eq!(s.workers[0].concurrency, 2);
    assert_eq!(s.workers[2].error_mode, ErrorMode::Slow);
    assert_eq!(s.workers[0].network_delay, Duration::from_micros(500));
    assert_eq!(s.workers[3].weight, 1);
    assert_eq!(s.weights(), vec![2, 2, 2, 1]);
    // Faults come out sorted by time.
    assert_eq!(s.faults[0].action, FaultAction::Slow(4.0));
    assert_eq!(
        s.faults[1].action,
        FaultAction::Errors(0.5, ErrorMode::Fast)
    );
    assert_eq!(s.faults[1].worker, 3);
}

#[test]
fn the_name_defaults_to_the_file_stem() {
    let s =
        Scenario::from_toml_str(&minimal("duration_s = 1", ""), "dir/steady_pool.toml").unwrap();
    assert_eq!(s.name, "steady_pool");
    assert_eq!(s.balancer.timeout, Some(Duration::from_secs(1)));
    assert!(s.balancer.health.is_some());
}

#[test]
fn an_unknown_field_is_an_error_naming_file_and_field() {
    let m = err(&minimal("duration_s = 1\nspeeed = 2", ""));
    assert!(m.starts_with("experiments/bad.toml:"), "{m}");
    assert!(m.contains("speeed"), "{m}");
    let m = err(&minimal("duration_s = 1", "speeed = 2"));
    assert!(m.contains("speeed"), "{m}");
}

#[test]
fn malformed_toml_reports_the_line() {
    let m = err("duration_s = = 1");
    assert!(m.starts_with("experiments/bad.toml:"), "{m}");
    assert!(m.contains("line 1"), "{m}");
}

#[test]
fn bad_values_name_the_field_and_why() {
    let cases: &[(&str, &str, &str)] = &[
        ("duration_s = 1", "", ""),
        (
            "duration_s = -1",
            "",
            "field `duration_s`: must be a number > 0, got -1",
        ),
        (
            "duration_s = 5\nwarmup_s = 5",
            "",
            "field `warmup_s`: must be shorter",
        ),
        ("requests = 0", "", "field `requests`: must be at least 1"),
        ("duration_s = 1\nrequests = 5", "", "not both"),
        ("", "", "field `duration_s`: missing"),
        (
            "duration_s = 1\nalgorithms = [\"fastest\"]",
            "",
            "field `algorithms[0]`: unknown algorithm \"fastest\"",
        ),
        (
            "duration_s = 1",
            "speed = 0",
            "field `workers[0].speed`: must be a number > 0, got 0",
        ),
        (
            "duration_s = 1",
            "count = 0",
            "field `workers[0].count`: must be at least 1",
        ),
        (
            "duration_s = 1",
            "error_rate = 1.5",
            "field `workers[0].error_rate`: must be a probability",
        ),
        (
            "duration_s = 1",
            "concurrency = 0",
            "field `workers[0].concurrency`",
        ),
        (
            "duration_s = 1",
            "[[faults]]\nat_s = 0.5\nworker = 4\naction = \"down\"",
            "field `faults[0].worker`: no worker 4: the scenario has 1 workers",
        ),
        (
            "duration_s = 1",
            "[[faults]]\nat_s = 2\nworker = 0\naction = \"down\"",
            "field `faults[0].at_s`: must be before the end",
        ),
        (
            "duration_s = 1",
            "[[faults]]\nat_s = 0.5\nworker = 0\naction = \"slow\"",
            "field `faults[0].factor`: missing",
        ),
        (
            "duration_s = 1",
            "[[faults]]\nat_s = 0.5\nworker = 0\naction = \"down\"\nfactor = 2",
            "field `faults[0].factor`: does not apply to action = \"down\"",
        ),
        ("duration_s = 1\nname = \"../x\"", "", "field `name`"),
        (
            "duration_s = 1",
            "[balancer]\noutlier = { max_ejection_percent = 101 }",
            "max_ejection_percent",
        ),
        (
            "duration_s = 1",
            "[balancer]\nhealth = { rise = 0 }",
            "field `balancer.health.rise`",
        ),
        (
            "duration_s = 1",
            "[balancer]\nshards = 0",
            "field `balancer.shards`: must be between 1 and 1024, got 0",
        ),
        ("duration_s = 1", "[balancer]\nshards = 2", ""),
    ];
    for (top, rest, want) in cases {
        let text = minimal(top, rest);
        let got = Scenario::from_toml_str(&text, "experiments/bad.toml");
        if want.is_empty() {
            assert!(got.is_ok(), "{top} / {rest}: {got:?}");
            continue;
        }
        let m = got.expect_err(want).to_string();
        assert!(m.starts_with("experiments/bad.toml: "), "{m}");
        assert!(m.contains(want), "want {want:?} in {m:?}");
    }
}

#[test]
fn zero_workers_and_negative_rates_are_refused() {
    let m = err("duration_s = 1\nworkers = []\n[arrivals]\nrate = 10");
    assert!(m.contains("field `workers`: at least one"), "{m}");
    let m = err(&minimal("duration_s = 1", "").replace("rate = 100", "rate = -3"));
    assert!(
        m.contains("field `arrivals.rate`: must be a number > 0, got -3"),
        "{m}"
    );
    let m = err(&minimal("duration_s = 1", "").replace(
        "rate = 100",
        "rate = 100\nphases = [{ at_s = 2, rate = 5 }, { at_s = 1, rate = 5 }]",
    ));
    assert!(m.contains("arrivals.phases[1].at_s"), "{m}");
}

#[test]
fn a_missing_file_names_the_path() {
    let e = Scenario::from_file(std::path::Path::new("/nonexistent/x.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn utilisation_accounts_for_speed_and_concurrency() {
    let s = Scenario::from_toml_str(
        "duration_s = 1\n[arrivals]\nrate = 900\n[[workers]]\ncount = 10\nservice = { distribution = \"exponential\", mean_ms = 10 }",
        "u.toml",
    )
    .unwrap();
    assert!((s.base_utilisation() - 0.9).abs() < 1e-12);
}

#[test]
fn the_engine_table_fills_the_engine_config() {
    let s = Scenario::from_toml_str(
        &minimal(
            "duration_s = 1",
            "[engine]\nwindow_s = 20\nbaseline = \"power_of_two\"\ncandidates = [\"round_robin\", \"peak_ewma\"]\n\
             latency_skew = 4\ncalm_latency_skew = 2\nconfirm_ticks = 2\ntick_s = 0.5",
        ),
        "e.toml",
    )
    .unwrap();
    let e = &s.engine;
    assert_eq!(e.window, Duration::from_secs(20));
    assert_eq!(e.tick, Duration::from_millis(500));
    assert_eq!(e.baseline, Algorithm::PowerOfTwo);
    assert_eq!(
        e.candidates,
        vec![Algorithm::RoundRobin, Algorithm::PeakEwma]
    );
    assert_eq!(e.thresholds.latency_skew_enter, 4.0);
    assert_eq!(e.thresholds.calm_latency_skew, 2.0);
    assert_eq!(e.confirm_ticks, 2);
    let cfg = s.balancer_config(Strategy::Adaptive);
    assert_eq!(cfg.algorithm, Algorithm::PowerOfTwo);
    assert!(s.engine_for(Strategy::Adaptive).is_some());
    assert!(s.engine_for(Strategy::Fixed(Algorithm::Random)).is_none());
    assert_eq!(s.balancer.shards, 1);
}

#[test]
fn scenario_files_expand_folders_in_name_order_and_name_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("lb-core-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (full, empty) = (dir.join("full"), dir.join("empty"));
    std::fs::create_dir_all(&full).expect("dir");
    std::fs::create_dir_all(&empty).expect("dir");
    for f in ["b.toml", "a.toml", "notes.txt"] {
        std::fs::write(full.join(f), "").expect("write");
    }
    let single = dir.join("one.toml");
    std::fs::write(&single, "").expect("write");
    let files = super::scenario_files(&[full.clone(), single.clone()]).expect("files");
    assert_eq!(files, [full.join("a.toml"), full.join("b.toml"), single]);
    let e = super::scenario_files(std::slice::from_ref(&empty)).expect_err("empty folder");
    assert!(
        matches!(e, ScenarioError::EmptyFolder(ref p) if *p == empty),
        "{e}"
    );
    let missing = dir.join("missing.toml");
    let e = super::scenario_files(&[missing]).expect_err("missing");
    assert!(
        e.to_string()
            .ends_with("missing.toml: no such file or folder"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_modes_parse_display_and_deserialise_by_the_same_names() {
    #[derive(serde::Deserialize)]
    struct Holder {
        mode: ErrorMode,
    }
    for m in ErrorMode::ALL {
        assert_eq!(m.name().parse::<ErrorMode>(), Ok(m));
        assert_eq!(m.to_string(), m.name());
        let h: Holder = toml::from_str(&format!("mode = {:?}", m.name())).unwrap();
        assert_eq!(h.mode, m);
    }
    let e = "sometimes".parse::<ErrorMode>().unwrap_err();
    assert_eq!(e.name, "sometimes");
    assert_eq!(
        e.to_string(),
        "unknown error mode \"sometimes\"; expected one of: fast, slow"
    );
    assert!("Fast".parse::<ErrorMode>().is_err());
}

#[test]
fn huge_rates_and_counts_are_refused_with_the_field_and_the_limit() {
    let m = err(&minimal("duration_s = 1", "").replace("rate = 100", "rate = 1e300"));
    assert!(
        m.contains("field `arrivals.rate`: must be at most 1000000 requests/s, got 1000000000"),
        "{m}"
    );
    let m = err(&minimal("duration_s = 1", "").replace(
        "rate = 100",
        "rate = 100\nphases = [{ at_s = 0.5, rate = 2e6 }]",
    ));
    assert!(
        m.contains("field `arrivals.phases[0].rate`: must be at most"),
        "{m}"
    );
    let m = err(&minimal("duration_s = 1", "").replace(
        "rate = 100",
        "rate = 100\nbursts = { start_s = 0, on_s = 1, off_s = 1, on_rate = 1e9 }",
    ));
    assert!(
        m.contains("field `arrivals.bursts.on_rate`: must be at most"),
        "{m}"
    );
    let m = err(&minimal("requests = 100000000000", ""));
    assert!(
        m.contains("field `requests`: must be at most 1000000000"),
        "{m}"
    );
    let m = err(&minimal("duration_s = 1e12", ""));
    assert!(m.contains("field `duration_s`: must be at most"), "{m}");
}

#[test]
fn overload_settings_read_and_name_the_field_when_bad() {
    let sc = Scenario::from_toml_str(
        &minimal(
            "duration_s = 1",
            "[balancer]\npanic_threshold = 30\nmax_in_flight_per_worker = 8\nmax_pending = 100",
        ),
        "t.toml",
    )
    .unwrap();
    let o = sc.balancer.overload;
    assert_eq!(
        (o.panic_threshold, o.max_in_flight_per_worker, o.max_pending),
        (30, 8, 100)
    );
    let d = Scenario::from_toml_str(&minimal("duration_s = 1", ""), "t.toml").unwrap();
    assert_eq!(
        d.balancer.overload,
        crate::health::OverloadConfig::default()
    );
    let m = err(&minimal(
        "duration_s = 1",
        "[balancer]\npanic_threshold = 101",
    ));
    assert!(
        m.contains("field `balancer.panic_threshold`: must be a percent"),
        "{m}"
    );
    let m = err(&minimal(
        "duration_s = 1",
        "[balancer]\nmax_pending = 4000000000",
    ));
    assert!(
        m.contains("field `balancer.max_pending`: must be at most"),
        "{m}"
    );
}
