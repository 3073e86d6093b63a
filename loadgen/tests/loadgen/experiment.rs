//! `lb-loadgen experiment` end to end: worker processes, a balancer, a scenario's arrivals and
//! faults, the five CSVs and the charts, and no process left behind.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// 4 s at 100/s over 3 workers (10 ms, 2 slots each); worker 1 turns 10x slower at 1.5 s, more
/// than round robin's third of the traffic can get through it.
const TINY: &str = r#"
description = "tiny live test"
duration_s = 4
[arrivals]
rate = 100
[balancer]
timeout_ms = 1000
[[workers]]
count = 3
concurrency = 2
service = { distribution = "constant", ms = 10 }
[[faults]]
at_s = 1.5
worker = 1
action = "slow"
factor = 10
"#;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lb-loadgen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn experiment(args: &[&str]) -> (bool, String, String) {
    loadgen("experiment", args)
}

fn loadgen(command: &str, args: &[&str]) -> (bool, String, String) {
    let _one_at_a_time = super::TIMING.blocking_lock();
    let o = Command::new(env!("CARGO_BIN_EXE_lb-loadgen"))
        .arg(command)
        .args(args)
        .output()
        .expect("run lb-loadgen");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `(header, rows)` of a CSV, each row split on commas.
fn csv(path: &Path) -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The worker addresses the experiment printed on stderr.
fn worker_addrs(stderr: &str) -> Vec<SocketAddr> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("workers on "))
        .filter_map(|(_, rest)| rest.split_once(';'))
        .flat_map(|(list, _)| list.split(", ").map(|a| a.parse().expect("address")))
        .collect()
}

#[test]
fn an_experiment_writes_the_simulator_layout_and_leaves_no_process_behind() {
    let dir = temp_dir("experiment");
    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, TINY).expect("write scenario");
    let out = dir.join("out");
    let (ok, stdout, stderr) = experiment(&[
        scenario.to_str().expect("path"),
        "--algorithms",
        "round_robin,least_connections",
        "--out",
        out.to_str().expect("path"),
        "--with-sim",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("tiny") && stdout.contains("least_connections"),
        "{stdout}"
    );

    let (h, summary) = csv(&out.join("summary.csv"));
    assert!(
        h.starts_with("scenario,algorithm,seed,requests,ok,errors"),
        "{h}"
    );
    let algs: Vec<&str> = summary.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(algs, ["round_robin", "least_connections"]);
    for r in &summary {
        assert_eq!((r[0].as_str(), r[2].as_str()), ("tiny", "1"));
        let requests: u64 = r[3].parse().expect("requests");
        assert!((340..=460).contains(&requests), "{r:?}");
    }

    let (h, series) = csv(&out.join("timeseries.csv"));
    assert!(h.ends_with("mean_in_flight,active_algorithm"), "{h}");
    for alg in algs {
        let rows: Vec<_> = series.iter().filter(|r| r[1] == alg).collect();
        assert!(rows.len() >= 4, "{alg}: {} seconds", rows.len());
        assert!(rows.iter().all(|r| r[9] == alg), "{rows:?}");
    }

    let (h, workers) = csv(&out.join("workers.csv"));
    assert_eq!(
        h,
        "scenario,algorithm,seed,worker,requests,share,errors,mean_ms"
    );
    let share = |alg: &str, w: &str| -> f64 {
        workers
            .iter()
            .find(|r| r[1] == alg && r[3] == w)
            .map(|r| r[5].parse().expect("share"))
            .unwrap_or_else(|| panic!("no row for {alg} worker {w}"))
    };
    for alg in ["round_robin", "least_connections"] {
        let sum: f64 = ["0", "1", "2"].iter().map(|w| share(alg, w)).sum();
        assert!((sum - 1.0).abs() < 0.01, "{alg}: shares sum to {sum}");
    }
    let (rr, lc) = (share("round_robin", "1"), share("least_connections", "1"));
    assert!(
        rr > 0.3,
        "round robin gives the slow worker its third: {rr}"
    );
    assert!(
        lc < rr - 0.05,
        "least connections {lc} against round robin {rr}"
    );

    let (h, faults) = csv(&out.join("faults.csv"));
    assert_eq!(h, "scenario,t_s,worker,kind,detail");
    assert_eq!(faults, [["tiny", "1.500", "1", "slow", "x10"]]);
    let (h, _) = csv(&out.join("decisions.csv"));
    assert!(
        h.starts_with("scenario,algorithm,seed,t_s,from,to,condition"),
        "{h}"
    );
    for chart in [
        "p99_over_time.png",
        "worker_share.png",
        "latency_percentiles.png",
    ] {
        assert!(out.join("tiny").join(chart).is_file(), "{chart}");
    }

    // --with-sim: the simulator's twin results, the comparison and its charts.
    assert!(stdout.contains("live p50"), "{stdout}");
    let (_, sim) = csv(&out.join("sim").join("summary.csv"));
    let sim_algs: Vec<&str> = sim.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(sim_algs, ["round_robin", "least_connections"]);
    let (h, cmp) = csv(&out.join("comparison.csv"));
    assert!(
        h.starts_with(
            "scenario,algorithm,seed,sim_requests,live_requests,sim_p50_ms,live_p50_ms,p50_ratio"
        ),
        "{h}"
    );
    assert_eq!(cmp.len(), 2, "{cmp:?}");
    for r in &cmp {
        // Same arrival schedule: the same requests were measured on both sides.
        assert_eq!(r[3], r[4], "{r:?}");
        let p50_ratio: f64 = r[7].parse().expect("ratio");
        // 10 ms constant service at 17% load: live adds loopback hops and a little sleep
        // overshoot (about 0.8 ms; with tokio's millisecond timer it was 3 ms, a ratio of 1.3).
        assert!(
            (0.9..1.25).contains(&p50_ratio),
            "live/sim p50 {p50_ratio}: {r:?}"
        );
    }
    for chart in [
        "sim_vs_live_percentiles.png",
        "sim_vs_live_p99_over_time.png",
    ] {
        assert!(out.join("tiny").join(chart).is_file(), "{chart}");
    }
    assert!(
        out.join("sim")
            .join("tiny")
            .join("p99_over_time.png")
            .is_file()
    );

    // `compare` redraws the same simulator side from the live rows: same bytes.
    let before = std::fs::read(out.join("sim").join("summary.csv")).expect("sim summary");
    let comparison = std::fs::read(out.join("comparison.csv")).expect("comparison");
    let (ok, again, e) = loadgen(
        "compare",
        &[
            scenario.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    );
    assert!(ok, "{e}");
    assert!(again.contains("live p50"), "{again}");
    assert_eq!(
        std::fs::read(out.join("sim").join("summary.csv")).expect("sim"),
        before
    );
    assert_eq!(
        std::fs::read(out.join("comparison.csv")).expect("cmp"),
        comparison
    );

    // A scenario with no live rows in the folder: say which and what to run.
    let other = dir.join("other.toml");
    std::fs::write(&other, TINY.replace("tiny live test", "another")).expect("write");
    let (ok, _, e) = loadgen(
        "compare",
        &[
            other.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    );
    assert!(!ok);
    assert!(
        e.contains("no live rows for scenario `other`") && e.contains("other.toml"),
        "{e}"
    );

    // Both runs' workers (3 each) are gone: their ports refuse connections.
    let addrs = worker_addrs(&stderr);
    assert_eq!(addrs.len(), 6, "{stderr}");
    for a in addrs {
        assert!(
            TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_err(),
            "worker {a} still answers"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rerunning_one_scenario_replaces_its_rows_and_keeps_the_others() {
    let dir = temp_dir("merge");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out");
    let other = "scenario,t_s,worker,kind,detail\nother,5.000,0,down,\n";
    std::fs::write(out.join("faults.csv"), other).expect("faults.csv");
    let scenario = dir.join("short.toml");
    std::fs::write(
        &scenario,
        "duration_s = 1\n[arrivals]\nrate = 50\n[[workers]]\ncount = 2\n\
         service = { distribution = \"constant\", ms = 5 }\n\
         [[faults]]\nat_s = 0.5\nworker = 0\naction = \"down\"\n\
         [[faults]]\nat_s = 0.8\nworker = 0\naction = \"recover\"\n",
    )
    .expect("write scenario");
    let args = [
        scenario.to_str().expect("path"),
        "--algorithms",
        "round_robin",
        "--seeds",
        "2",
        "--out",
        out.to_str().expect("path"),
        "--quiet",
    ];
    for _ in 0..2 {
        let (ok, _, stderr) = experiment(&args);
        assert!(ok, "{stderr}");
        // The crashed worker came back on its address (a failed restart is a warning).
        assert!(!stderr.contains("warning"), "{stderr}");
    }
    let (_, faults) = csv(&out.join("faults.csv"));
    assert_eq!(
        faults,
        [
            vec!["other", "5.000", "0", "down", ""],
            vec!["short", "0.500", "0", "down", ""],
            vec!["short", "0.800", "0", "recover", ""]
        ]
    );
    // One row per seed (--seeds 2), not one more per rerun.
    let (_, summary) = csv(&out.join("summary.csv"));
    let seeds: Vec<&str> = summary.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(seeds, ["1", "2"], "{summary:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_scenario_names_the_file_and_the_field() {
    let dir = temp_dir("bad");
    let workers = "[[workers]]\ncount = 1\nservice = { distribution = \"constant\", ms = 10 }\n";
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        format!("duration_s = 4\n[arrivals]\nrate = -5\n{workers}"),
    )
    .expect("write");
    let (ok, _, e) = experiment(&[bad.to_str().expect("path"), "--out", "/nonexistent/x"]);
    assert!(!ok);
    assert!(e.contains("bad.toml") && e.contains("arrivals.rate"), "{e}");
    let counted = dir.join("counted.toml");
    std::fs::write(
        &counted,
        format!("requests = 100\n[arrivals]\nrate = 5\n{workers}"),
    )
    .expect("write");
    let (ok, _, e) = experiment(&[counted.to_str().expect("path")]);
    assert!(!ok);
    assert!(
        e.contains("counted.toml") && e.contains("`requests`"),
        "{e}"
    );
    let (ok, _, e) = experiment(&[dir.join("missing.toml").to_str().expect("path")]);
    assert!(!ok);
    assert!(e.contains("missing.toml"), "{e}");
    // The simulator's schedules are refused before any worker starts.
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!("duration_s = 4\n[arrivals]\nrate = 5\n{workers}"),
    )
    .expect("write");
    let path = good.to_str().expect("path");
    let (ok, _, e) = experiment(&[path, "--algorithms", "round_robin,oracle"]);
    assert!(!ok);
    assert!(
        e.contains(
            "good.toml: `oracle` follows a schedule of switches, which only the simulator runs"
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
