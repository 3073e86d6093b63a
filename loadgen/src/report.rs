//! The summary printed after a run, and the same run as `summary.csv` and `timeseries.csv` rows
//! of the simulator's schema (`lb-report`).

use crate::open_loop::RunStats;
use indicatif::{ProgressBar, ProgressStyle};
use lb_report::{SummaryRow, TimeseriesRow};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// A progress bar over `secs` seconds on a terminal; hidden when `quiet`, in CI, or when
/// stderr is not a terminal.
pub fn progress_bar(quiet: bool, secs: f64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(secs.ceil() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} s  {msg}") {
        b.set_style(style);
    }
    b
}

/// The human summary: counts, errors by status, rates, latency percentiles.
pub fn summary(stats: &RunStats) -> String {
    let r = &stats.recorder;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "requests {}  ok {}  errors {}  in {:.2} s",
        r.count(),
        r.ok(),
        r.errors(),
        stats.elapsed.as_secs_f64()
    );
    let mut errs: Vec<String> = r
        .by_status
        .iter()
        .filter(|(code, _)| **code >= 400)
        .map(|(code, n)| format!("{code}: {n}"))
        .collect();
    if r.timeouts > 0 {
        errs.push(format!("timeout: {}", r.timeouts));
    }
    if r.transport_errors > 0 {
        errs.push(format!("connection: {}", r.transport_errors));
    }
    if !errs.is_empty() {
        let _ = writeln!(s, "errors by cause: {}", errs.join(", "));
    }
    match stats.target_rate {
        Some(target) => {
            let achieved = stats.achieved_rate();
            let _ = writeln!(
                s,
                "rate {achieved:.1}/s sent of {target:.1}/s asked ({:+.2}%); {} sent late (> 5 ms), worst {:.1} ms late",
                (achieved / target - 1.0) * 100.0,
                stats.late,
                stats.max_lateness.as_secs_f64() * 1e3
            );
            if stats.late * 100 > stats.sent.max(1) {
                let _ = writeln!(
                    s,
                    "WARNING: the generator could not keep up: {:.1}% of requests went out late; latencies still count from the due time",
                    stats.late as f64 * 100.0 / stats.sent.max(1) as f64
                );
            }
        }
        None => {
            let _ = writeln!(s, "rate {:.1}/s (closed loop)", stats.achieved_rate());
        }
    }
    let _ = writeln!(
        s,
        "latency ms: mean {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        r.mean_ms(),
        r.quantile_ms(0.5),
        r.quantile_ms(0.9),
        r.quantile_ms(0.99),
        r.quantile_ms(0.999),
        r.max_ms()
    );
    s
}

/// The run as one `summary.csv` row, named `scenario` / `algorithm` (seed 0: live runs have no
/// seed).
pub fn summary_row(stats: &RunStats, scenario: &str, algorithm: &str) -> SummaryRow {
    let r = &stats.recorder;
    let span = stats.elapsed.as_secs_f64();
    let in_flight: f64 = r.seconds.iter().map(|s| s.in_flight_s).sum();
    SummaryRow {
        scenario: scenario.into(),
        algorithm: algorithm.into(),
        seed: 0,
        requests: r.count(),
        ok: r.ok(),
        errors: r.errors(),
        error_rate: if r.count() == 0 {
            0.0
        } else {
            r.errors() as f64 / r.count() as f64
        },
        throughput_rps: if span > 0.0 {
            r.ok() as f64 / span
        } else {
            0.0
        },
        mean_ms: r.mean_ms(),
        p50_ms: r.quantile_ms(0.5),
        p90_ms: r.quantile_ms(0.9),
        p99_ms: r.quantile_ms(0.99),
        p999_ms: r.quantile_ms(0.999),
        max_ms: r.max_ms(),
        mean_in_flight: if span > 0.0 { in_flight / span } else { 0.0 },
        switches: 0,
    }
}

/// The run's per-second rows.
pub fn timeseries_rows(stats: &RunStats, scenario: &str, algorithm: &str) -> Vec<TimeseriesRow> {
    stats
        .recorder
        .seconds
        .iter()
        .enumerate()
        .map(|(t, s)| {
            let q = |p: f64| {
                if s.requests == 0 {
                    0.0
                } else {
                    s.latency.value_at_quantile(p) as f64 / 1e3
                }
            };
            TimeseriesRow {
                scenario: scenario.into(),
                algorithm: algorithm.into(),
                seed: 0,
                t_s: t as u64,
                requests: s.requests,
                errors: s.errors,
                p50_ms: q(0.5),
                p99_ms: q(0.99),
                mean_in_flight: s.in_flight_s,
                active_algorithm: algorithm.into(),
            }
        })
        .collect()
}
