//! Same scenario and seed, same bytes out: twice in a row, and on 1 or several threads.

use super::*;
use std::process::Command;

fn run_cli(out: &std::path::Path, threads: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_lb-sim"))
        .current_dir(root())
        .args([
            "experiments",
            "--seeds",
            "2",
            "--scale",
            "0.25",
            "--quiet",
            "--threads",
            threads,
        ])
        .arg("--out")
        .arg(out)
        .status()
        .expect("run lb-sim");
    assert!(status.success());
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").display().to_string();
                out.push((rel, std::fs::read(&p).expect("read file")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_gives_the_same_bytes_on_one_and_several_threads() {
    let base = temp_dir("determinism");
    let a = base.join("a");
    let b = base.join("b");
    let c = base.join("c");
    run_cli(&a, "1");
    run_cli(&b, "1");
    run_cli(&c, "3");
    let fa = files(&a);
    assert!(fa.iter().any(|(n, _)| n == "summary.csv"));
    assert!(fa.iter().any(|(n, _)| n.ends_with(".png")));
    let names: Vec<&String> = fa.iter().map(|(n, _)| n).collect();
    for (other, label) in [(files(&b), "second run"), (files(&c), "three threads")] {
        let other_names: Vec<&String> = other.iter().map(|(n, _)| n).collect();
        assert_eq!(names, other_names, "{label}: different files");
        for ((n, x), (_, y)) in fa.iter().zip(&other) {
            assert!(x == y, "{label}: {n} differs");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_in_process_run_is_deterministic_and_seeds_differ() {
    let sc = scenario(
        "duration_s = 20\n[arrivals]\nrate = 300\n[[workers]]\ncount = 4\n\
         service = { distribution = \"exponential\", mean_ms = 10 }",
    );
    let a = run(&sc, Algorithm::PeakEwma, 7);
    let b = run(&sc, Algorithm::PeakEwma, 7);
    let c = run(&sc, Algorithm::PeakEwma, 8);
    assert_eq!(a.recorder.series, b.recorder.series);
    assert_eq!(a.recorder.workers, b.recorder.workers);
    assert_eq!(a.events, b.events);
    assert_ne!(a.recorder.series, c.recorder.series);
}

#[test]
fn every_algorithm_sees_the_same_arrivals_for_one_seed() {
    let sc = scenario(
        "duration_s = 20\n[arrivals]\nrate = 300\n[[workers]]\ncount = 4\n\
         service = { distribution = \"exponential\", mean_ms = 10 }",
    );
    let counts: Vec<u64> = Algorithm::ALL
        .iter()
        .map(|&a| run(&sc, a, 3).recorder.arrivals)
        .collect();
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}
