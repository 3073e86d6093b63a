//! Synthetic results and scratch directories shared by the tests.

use std::path::{Path, PathBuf};

use lb_report::{DecisionRow, FaultRow, SummaryRow, TimeseriesRow, WorkerRow};

/// A fresh, empty directory for one test, under the system temp dir. Removed by [`Scratch`]'s
/// drop unless `LB_REPORT_KEEP_TEST_OUTPUT` is set (to look at the charts).
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir()
            .join("lb-report-tests")
            .join(format!("{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("LB_REPORT_KEEP_TEST_OUTPUT").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A deterministic pseudo-random number in 0..1 from a few integers (no RNG dependency).
fn noise(a: u64, b: u64, c: u64) -> f64 {
    let mut x = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(c.wrapping_mul(0x94D0_49BB_1331_11EB));
    x ^= x >> 31;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

pub const ALGORITHMS: [&str; 4] = ["round_robin", "least_connections", "peak_ewma", "adaptive"];
pub const SEEDS: [u64; 3] = [7, 3, 11];
pub const WORKERS: u32 = 4;
pub const SECONDS: u64 = 60;

/// How much slower than the others each algorithm is under the slow-worker fault.
fn penalty(algorithm: &str) -> f64 {
    match algorithm {
        "round_robin" => 8.0,
        "least_connections" => 2.0,
        "peak_ewma" => 1.5,
        _ => 1.8,
    }
}

/// Errors in % of requests of each algorithm under the slow-worker fault.
fn error_penalty(algorithm: &str) -> f64 {
    match algorithm {
        "round_robin" => 6.0,
        "least_connections" => 1.5,
        "peak_ewma" => 1.0,
        _ => 2.0,
    }
}

/// Results of two scenarios: `slow_worker` (worker 3 is 5x slower from t=20 to t=40, and
/// errors rise meanwhile) and `baseline` (no faults), four algorithms, three seeds; seconds 45
/// and 46 have no requests.
pub struct Results {
    pub summary: Vec<SummaryRow>,
    pub timeseries: Vec<TimeseriesRow>,
    pub workers: Vec<WorkerRow>,
    pub decisions: Vec<DecisionRow>,
    pub faults: Vec<FaultRow>,
}

pub fn results() -> Results {
    let mut r = Results {
        summary: Vec::new(),
        timeseries: Vec::new(),
        workers: Vec::new(),
        decisions: Vec::new(),
        faults: Vec::new(),
    };
    for (s, scenario) in ["slow_worker", "baseline"].into_iter().enumerate() {
        let faulty = scenario == "slow_worker";
        for (a, algorithm) in ALGORITHMS.into_iter().enumerate() {
            for seed in SEEDS {
                let n = |k: u64| noise(seed, (s * 10 + a) as u64, k);
                let tail = if faulty { penalty(algorithm) } else { 1.0 };
                let p50 = 2.0 + 0.4 * n(1);
                r.summary.push(SummaryRow {
                    scenario: scenario.into(),
                    algorithm: algorithm.into(),
                    seed,
                    requests: 60_000,
                    ok: 59_990,
                    errors: 10,
                    error_rate: 10.0 / 60_000.0,
                    throughput_rps: 999.83,
                    mean_ms: p50 * 1.3,
                    p50_ms: p50,
                    p90_ms: p50 * (2.0 + n(2)) * tail.sqrt(),
                    p99_ms: p50 * (4.0 + 2.0 * n(3)) * tail,
                    p999_ms: p50 * (8.0 + 4.0 * n(4)) * tail * 1.5,
                    max_ms: p50 * 40.0 * tail,
                    mean_in_flight: 3.5,
                    switches: if algorithm == "adaptive" && faulty {
                        2
                    } else {
                        0
                    },
                });
                for t in 0..SECONDS {
                    let in_fault = faulty && (20..40).contains(&t);
                    // A few idle seconds, so the lines have gaps.
                    let requests = if (45..47).contains(&t) { 0 } else { 1000 };
                    let mut p99 = 8.0 + 2.0 * n(100 + t);
                    if in_fault {
                        p99 *= penalty(algorithm)
                            * if algorithm == "adaptive" && t < 23 {
                                4.0
                            } else {
                                1.0
                            };
                    }
                    // Errors in % of the second's requests: a trickle, more during the fault.
                    let error_percent = if in_fault {
                        let before_switch = algorithm == "adaptive" && t < 23;
                        error_penalty(algorithm) * if before_switch { 2.0 } else { 1.0 }
                    } else if n(300 + t) < 0.1 {
                        0.1
                    } else {
                        0.0
                    };
                    r.timeseries.push(TimeseriesRow {
                        scenario: scenario.into(),
                        algorithm: algorithm.into(),
                        seed,
                        t_s: t,
                        requests,
                        errors: (requests as f64 * error_percent / 100.0).round() as u64,
                        p50_ms: 2.0,
                        p99_ms: if requests == 0 { 0.0 } else { p99 },
                        mean_in_flight: 3.0,
                        active_algorithm: algorithm.into(),
                    });
                }
                for w in 0..WORKERS {
                    let mut share = 0.25 + 0.02 * (n(200 + u64::from(w)) - 0.5);
                    if faulty && w == 3 {
                        share = match algorithm {
                            "round_robin" => 0.25,
                            "least_connections" => 0.12,
                            _ => 0.08,
                        };
                    } else if faulty {
                        share = match algorithm {
                            "round_robin" => 0.25,
                            "least_connections" => 0.88 / 3.0,
                            _ => 0.92 / 3.0,
                        };
                    }
                    r.workers.push(WorkerRow {
                        scenario: scenario.into(),
                        algorithm: algorithm.into(),
                        seed,
                        worker: w,
                        requests: (share * 60_000.0) as u64,
                        share,
                        errors: 0,
                        mean_ms: 2.5,
                    });
                }
                if faulty && algorithm == "adaptive" {
                    r.decisions.push(DecisionRow {
                        scenario: scenario.into(),
                        algorithm: algorithm.into(),
                        seed,
                        t_s: 22.5,
                        from: "round_robin".into(),
                        to: "least_connections".into(),
                        condition: "p99_spread".into(),
                        worker: String::new(),
                        value: String::new(),
                        threshold: String::new(),
                        forecast: String::new(),
                        detail: "w3 p99 5.1x median".into(),
                    });
                    r.decisions.push(DecisionRow {
                        scenario: scenario.into(),
                        algorithm: algorithm.into(),
                        seed,
                        t_s: 44.25,
                        from: "least_connections".into(),
                        to: "round_robin".into(),
                        condition: "calm".into(),
                        worker: String::new(),
                        value: String::new(),
                        threshold: String::new(),
                        forecast: String::new(),
                        detail: "spread < 1.5x for 4 s".into(),
                    });
                }
            }
        }
    }
    r.faults.push(FaultRow {
        scenario: "slow_worker".into(),
        t_s: 20.0,
        worker: 3,
        kind: "slow".into(),
        detail: "x5".into(),
    });
    r.faults.push(FaultRow {
        scenario: "slow_worker".into(),
        t_s: 40.0,
        worker: 3,
        kind: "recover".into(),
        detail: String::new(),
    });
    r
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 24, "{}: too short for a PNG", path.display());
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |range: std::ops::Range<usize>| {
        u32::from_be_bytes(bytes[range].try_into().expect("4 bytes"))
    };
    (be(16..20), be(20..24))
}
