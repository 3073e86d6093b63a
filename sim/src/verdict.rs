//! The verdict: `adaptive` on each scenario against the best static algorithm and the hindsight
//! oracle, and whether it meets the goals of [`crate::goals`] (`verdict.csv`, and a table on
//! stdout).
//!
//! Everything here is computed from rows (`summary.csv`, `decisions.csv`, `oracle.csv`), so a
//! verdict can be checked against the files beside it. Per scenario, means over seeds:
//!
//! - the **best static algorithm** by the ranking rule (errors beyond 0.1 point, then p99),
//!   with its p99 and error rate, and adaptive's and the oracle's;
//! - adaptive's p99 over the best static's and over the oracle's;
//! - **shifts**: whether the best algorithm changes inside the measured window (the oracle's
//!   phases have more than one winner). A scenario that changes while one static algorithm
//!   stays best in every phase (a fault least connections already handles) gives switching
//!   nothing to earn: goal (b) does not apply, goal (a) does;
//! - **flaps**: adaptive's A -> B -> A reversals back within [`FLAP_WINDOW`], over all seeds;
//! - adaptive's switches per seed, and the goals (a), (b), (c).
//!
//! A scenario gets a verdict when adaptive, the oracle and at least one static algorithm ran
//! on it (lb-sim runs every static algorithm when the oracle is asked for).

use crate::goals::{A_ERROR_MARGIN, A_P99_RATIO, B_ORACLE_P99_RATIO, FLAP_WINDOW, Score, best};
use lb_core::Strategy;
use lb_core::time::Duration;
use lb_report::{DecisionRow, OracleRow, SummaryRow, VerdictRow};
use std::fmt::Write as _;

/// Means over the seeds of one (scenario, algorithm).
#[derive(Debug, Clone, Copy, Default)]
struct Means {
    p99_ms: f64,
    error_rate: f64,
    mean_ms: f64,
    switches: f64,
    runs: f64,
}

impl Means {
    fn of<'a>(rows: impl Iterator<Item = &'a SummaryRow>) -> Option<Means> {
        let mut m = Means::default();
        for r in rows {
            m.p99_ms += r.p99_ms;
            m.error_rate += r.error_rate;
            m.mean_ms += r.mean_ms;
            m.switches += r.switches as f64;
            m.runs += 1.0;
        }
        (m.runs > 0.0).then(|| Means {
            p99_ms: m.p99_ms / m.runs,
            error_rate: m.error_rate / m.runs,
            mean_ms: m.mean_ms / m.runs,
            switches: m.switches / m.runs,
            runs: m.runs,
        })
    }

    fn score(&self) -> Score {
        Score {
            error_rate: self.error_rate,
            p99_ms: self.p99_ms,
            mean_ms: self.mean_ms,
        }
    }
}

/// Flaps in one run's switches (in time order): a switch A -> B followed by B -> A at most
/// `window` later.
pub fn flaps(switches: &[DecisionRow], window: Duration) -> u64 {
    let window_s = window.as_secs_f64();
    switches
        .windows(2)
        .filter(|w| w[1].to == w[0].from && w[1].t_s - w[0].t_s <= window_s)
        .count() as u64
}

fn mark(pass: bool) -> String {
    if pass { "pass" } else { "fail" }.to_string()
}

/// The verdict of every scenario of `summary` that adaptive, the oracle and a static algorithm
/// ran on, in the order scenarios first appear.
pub fn rows(
    summary: &[SummaryRow],
    decisions: &[DecisionRow],
    oracle: &[OracleRow],
) -> Vec<VerdictRow> {
    let mut scenarios: Vec<&str> = Vec::new();
    for r in summary {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    let mut out = Vec::new();
    for sc in scenarios {
        let means = |alg: &str| {
            Means::of(
                summary
                    .iter()
                    .filter(|r| r.scenario == sc && r.algorithm == alg),
            )
        };
        let mut statics: Vec<(&str, Means)> = Vec::new();
        for r in summary.iter().filter(|r| r.scenario == sc) {
            let fixed = r
                .algorithm
                .parse::<Strategy>()
                .ok()
                .and_then(Strategy::fixed);
            if fixed.is_some() && !statics.iter().any(|(a, _)| *a == r.algorithm) {
                statics.extend(means(&r.algorithm).map(|m| (r.algorithm.as_str(), m)));
            }
        }
        let (Some(adaptive), Some(orc)) = (
            means(Strategy::Adaptive.name()),
            means(Strategy::Oracle.name()),
        ) else {
            continue;
        };
        let scores: Vec<Score> = statics.iter().map(|(_, m)| m.score()).collect();
        let Some(b) = best(&scores) else { continue };
        let (best_name, best_m) = statics[b];
        let mut winners = oracle
            .iter()
            .filter(|r| r.scenario == sc)
            .map(|r| &r.algorithm);
        let first = winners.next();
        let shifts = winners.any(|w| Some(w) != first);
        let mut seeds: Vec<u64> = Vec::new();
        let mut flap_count = 0;
        let adaptive_switches = |seed: u64| -> Vec<DecisionRow> {
            decisions
                .iter()
                .filter(|d| d.scenario == sc && d.algorithm == "adaptive" && d.seed == seed)
                .cloned()
                .collect()
        };
        for d in decisions
            .iter()
            .filter(|d| d.scenario == sc && d.algorithm == "adaptive")
        {
            if !seeds.contains(&d.seed) {
                seeds.push(d.seed);
                flap_count += flaps(&adaptive_switches(d.seed), FLAP_WINDOW);
            }
        }
        let goal_a = adaptive.p99_ms <= A_P99_RATIO * best_m.p99_ms
            && adaptive.error_rate <= best_m.error_rate + A_ERROR_MARGIN;
        let goal_b = shifts.then(|| {
            let beats_p99 = statics.iter().all(|(_, m)| adaptive.p99_ms < m.p99_ms);
            let beats_errors = statics
                .iter()
                .all(|(_, m)| adaptive.error_rate < m.error_rate);
            (beats_p99 || beats_errors) && adaptive.p99_ms <= B_ORACLE_P99_RATIO * orc.p99_ms
        });
        let goal_c = flap_count == 0;
        out.push(VerdictRow {
            scenario: sc.to_string(),
            best_static: best_name.to_string(),
            best_static_p99_ms: best_m.p99_ms,
            best_static_error_rate: best_m.error_rate,
            adaptive_p99_ms: adaptive.p99_ms,
            adaptive_error_rate: adaptive.error_rate,
            oracle_p99_ms: orc.p99_ms,
            oracle_error_rate: orc.error_rate,
            adaptive_vs_best_static_p99: adaptive.p99_ms / best_m.p99_ms,
            adaptive_vs_oracle_p99: adaptive.p99_ms / orc.p99_ms,
            shifts,
            flaps: flap_count,
            switches_per_seed: adaptive.switches,
            goal_a: mark(goal_a),
            goal_b: goal_b.map_or_else(|| "n/a".to_string(), mark),
            goal_c: mark(goal_c),
            all_goals: mark(goal_a && goal_b != Some(false) && goal_c),
        });
        debug_assert!(adaptive.runs > 0.0);
    }
    out
}

/// The verdict as a table, the goals spelled out, and how many scenarios pass them all.
pub fn table(rows: &[VerdictRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | best static | p99 ms | errors % | adaptive p99 ms | errors % | oracle p99 ms | vs static | vs oracle | shifts | flaps | switches/seed | a | b | c |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|:---:|:---:|"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.3} | {:.2} | {:.3} | {:.2} | {:.3} | {:.3} | {} | {} | {:.1} | {} | {} | {} |",
            r.scenario,
            r.best_static,
            r.best_static_p99_ms,
            r.best_static_error_rate * 100.0,
            r.adaptive_p99_ms,
            r.adaptive_error_rate * 100.0,
            r.oracle_p99_ms,
            r.adaptive_vs_best_static_p99,
            r.adaptive_vs_oracle_p99,
            if r.shifts { "yes" } else { "no" },
            r.flaps,
            r.switches_per_seed,
            r.goal_a,
            r.goal_b,
            r.goal_c,
        );
    }
    let _ = writeln!(
        s,
        "goals: (a) p99 <= {A_P99_RATIO} x best static and errors <= best static + {} pt; \
         (b) where conditions shift, p99 or errors below every static algorithm's and p99 <= {B_ORACLE_P99_RATIO} x oracle; \
         (c) no A -> B -> A back within {} s",
        A_ERROR_MARGIN * 100.0,
        FLAP_WINDOW.as_secs_f64()
    );
    let passed = rows.iter().filter(|r| r.all_goals == "pass").count();
    let _ = writeln!(s, "{passed} of {} scenarios pass all goals", rows.len());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(seed: u64, t_s: f64, from: &str, to: &str) -> DecisionRow {
        DecisionRow {
            scenario: "s".into(),
            algorithm: "adaptive".into(),
            seed,
            t_s,
            from: from.into(),
            to: to.into(),
            condition: "c".into(),
            worker: String::new(),
            value: String::new(),
            threshold: String::new(),
            forecast: String::new(),
            detail: String::new(),
        }
    }

    #[test]
    fn a_quick_return_is_a_flap_a_slow_one_or_a_third_algorithm_is_not() {
        let w = Duration::from_secs(120);
        // A -> B -> A within 120 s.
        assert_eq!(
            flaps(&[switch(1, 100.0, "a", "b"), switch(1, 150.0, "b", "a")], w),
            1
        );
        // Back exactly 120 s later still counts; 130 s later does not.
        assert_eq!(
            flaps(&[switch(1, 100.0, "a", "b"), switch(1, 220.0, "b", "a")], w),
            1
        );
        assert_eq!(
            flaps(&[switch(1, 100.0, "a", "b"), switch(1, 230.0, "b", "a")], w),
            0
        );
        // A -> B -> C is no reversal.
        assert_eq!(
            flaps(&[switch(1, 100.0, "a", "b"), switch(1, 110.0, "b", "c")], w),
            0
        );
        // A -> B -> A -> B: two reversals.
        let ping_pong = [
            switch(1, 0.0, "a", "b"),
            switch(1, 60.0, "b", "a"),
            switch(1, 120.0, "a", "b"),
        ];
        assert_eq!(flaps(&ping_pong, w), 2);
        assert_eq!(flaps(&[], w), 0);
    }

    fn summary(alg: &str, seed: u64, p99_ms: f64, error_rate: f64, switches: u64) -> SummaryRow {
        SummaryRow {
            scenario: "s".into(),
            algorithm: alg.into(),
            seed,
            requests: 1000,
            ok: 1000,
            errors: 0,
            error_rate,
            throughput_rps: 0.0,
            mean_ms: p99_ms / 4.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms,
            p999_ms: 0.0,
            max_ms: 0.0,
            mean_in_flight: 0.0,
            switches,
        }
    }

    fn phase(start: f64) -> OracleRow {
        OracleRow {
            scenario: "s".into(),
            phase_start_s: start,
            phase_end_s: start + 10.0,
            algorithm: "round_robin".into(),
            p99_ms: 0.0,
            error_rate: 0.0,
        }
    }

    #[test]
    fn the_verdict_counts_flaps_over_seeds_and_judges_each_goal() {
        let rows = [
            summary("round_robin", 1, 50.0, 0.010, 0),
            summary("round_robin", 2, 50.0, 0.010, 0),
            summary("least_connections", 1, 40.0, 0.0105, 0),
            summary("least_connections", 2, 42.0, 0.0105, 0),
            summary("adaptive", 1, 38.0, 0.002, 2),
            summary("adaptive", 2, 40.0, 0.002, 1),
            summary("oracle", 1, 37.0, 0.002, 1),
            summary("oracle", 2, 38.0, 0.002, 1),
        ];
        let decisions = [
            switch(1, 30.0, "least_connections", "peak_ewma"),
            switch(1, 100.0, "peak_ewma", "least_connections"),
            switch(2, 30.0, "least_connections", "peak_ewma"),
        ];
        let second = OracleRow {
            algorithm: "peak_ewma".into(),
            ..phase(30.0)
        };
        let v = rows_of(&rows, &decisions, &[phase(10.0), second]);
        // Errors 1.0% and 1.05% tie, least connections' p99 wins.
        assert_eq!(v.best_static, "least_connections");
        assert_eq!(v.best_static_p99_ms, 41.0);
        assert_eq!(v.adaptive_p99_ms, 39.0);
        assert!((v.adaptive_vs_oracle_p99 - 39.0 / 37.5).abs() < 1e-12);
        assert!(v.shifts);
        assert_eq!(v.flaps, 1);
        assert_eq!(v.switches_per_seed, 1.5);
        assert_eq!(
            (v.goal_a.as_str(), v.goal_b.as_str(), v.goal_c.as_str()),
            ("pass", "pass", "fail")
        );
        assert_eq!(v.all_goals, "fail");
        // One phase: goal (b) does not apply; without flaps all goals pass.
        let v = rows_of(&rows, &decisions[2..], &[phase(10.0)]);
        assert_eq!((v.goal_b.as_str(), v.all_goals.as_str()), ("n/a", "pass"));
        // Two phases with one winner: conditions change, the best algorithm does not, so there
        // is nothing for switching to earn and (b) does not apply either.
        let v = rows_of(&rows, &decisions[2..], &[phase(10.0), phase(30.0)]);
        assert!(!v.shifts);
        assert_eq!(v.goal_b, "n/a");
        // Adaptive 3% above the best p99 fails (a).
        let mut worse = rows.clone();
        worse[4].p99_ms = 42.3;
        worse[5].p99_ms = 42.3;
        assert_eq!(rows_of(&worse, &[], &[phase(10.0)]).goal_a, "fail");
        // No oracle rows in the summary: no verdict.
        assert!(super::rows(&rows[..6], &decisions, &[]).is_empty());
        let t = table(&[v]);
        assert!(t.ends_with("1 of 1 scenarios pass all goals\n"), "{t}");
    }

    fn rows_of(s: &[SummaryRow], d: &[DecisionRow], o: &[OracleRow]) -> VerdictRow {
        let mut v = super::rows(s, d, o);
        assert_eq!(v.len(), 1);
        v.remove(0)
    }
}
