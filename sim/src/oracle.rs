//! The hindsight oracle: the best a balancer could have done by switching between the static
//! algorithms, had it known the future.
//!
//! The measured part of a run is cut into phases at every change point of the scenario
//! ([`crate::phase`]: faults and arrival-rate steps). Every static algorithm runs the scenario
//! with every seed (the runs a comparison makes anyway), booking each request in the phase in
//! which it arrived. For each phase, the oracle pools each algorithm's tallies over the seeds and
//! picks the winner by the ranking rule of [`crate::goals`] (errors beyond 0.1 percentage point
//! first, then p99). Its schedule starts on the first phase's winner at time 0 and switches to
//! each later phase's winner at the phase's start, where it differs from the one before; it runs
//! as a script (the scenario's `[[switches]]` replaced by it), one run per seed, and those runs
//! are the `oracle` rows.
//!
//! The oracle is a yardstick, not an optimum. It switches the moment conditions change, which
//! no balancer that must first see a change can; but it keeps one algorithm for a whole phase,
//! and the state a switch inherits (queues built up under the algorithm before) is not what the
//! winner had in its own run. An adaptive balancer can therefore come out ahead of it, and a
//! ratio near 1 is the aim.
//!
//! ```
//! use lb_core::{Algorithm, Instant, Duration};
//! use lb_sim::oracle::{choose, schedule};
//! use lb_sim::phase::PhaseTally;
//!
//! let t = |s| Instant::ZERO + Duration::from_secs(s);
//! let tally = |ms: u64, errors: u64| {
//!     let mut p = PhaseTally::default();
//!     for i in 0..1000 {
//!         p.record(ms * 1_000_000, i >= errors);
//!     }
//!     p
//! };
//! // Two phases; round robin is faster in the first, peak EWMA fails less in the second.
//! let candidates = vec![
//!     (Algorithm::RoundRobin, vec![tally(10, 0), tally(10, 50)]),
//!     (Algorithm::PeakEwma, vec![tally(20, 0), tally(30, 0)]),
//! ];
//! let phases = choose(&[t(10), t(40)], t(90), &candidates);
//! let plan: Vec<_> = schedule(&phases).iter().map(|s| (s.at, s.algorithm)).collect();
//! assert_eq!(plan, [(t(0), Algorithm::RoundRobin), (t(40), Algorithm::PeakEwma)]);
//! ```

use crate::goals::{Score, best};
use crate::phase::PhaseTally;
use crate::run::RunResult;
use lb_core::scenario::{Scenario, Switch};
use lb_core::{Algorithm, Instant};
use lb_report::OracleRow;

/// One phase of the schedule and its winner.
#[derive(Debug, Clone, PartialEq)]
pub struct OraclePhase {
    /// Start of the phase.
    pub start: Instant,
    /// End of the phase (the next one's start, or the end of the measured window).
    pub end: Instant,
    /// The static algorithm that did best on the requests that arrived in it.
    pub algorithm: Algorithm,
    /// The winner's requests in this phase, pooled over seeds.
    pub tally: PhaseTally,
}

/// Each phase's winner. `starts` are the phases' starts and `end` the end of the measured
/// window; `candidates` give each static algorithm's tallies, one per phase, pooled over
/// seeds, in the order ties go by. A phase in which no candidate answered a request has no
/// winner and is left out (the schedule keeps the algorithm before it).
pub fn choose(
    starts: &[Instant],
    end: Instant,
    candidates: &[(Algorithm, Vec<PhaseTally>)],
) -> Vec<OraclePhase> {
    let mut phases = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let in_phase: Vec<(Algorithm, &PhaseTally)> = candidates
            .iter()
            .filter_map(|(a, tallies)| tallies.get(i).map(|t| (*a, t)))
            .filter(|(_, t)| t.requests > 0)
            .collect();
        let scores: Vec<Score> = in_phase
            .iter()
            .map(|(_, t)| Score {
                error_rate: t.error_rate(),
                p99_ms: t.p99_ms(),
                mean_ms: t.mean_ms(),
            })
            .collect();
        let Some(w) = best(&scores) else { continue };
        let (algorithm, tally) = in_phase[w];
        phases.push(OraclePhase {
            start,
            end: starts.get(i + 1).copied().unwrap_or(end).max(start),
            algorithm,
            tally: tally.clone(),
        });
    }
    phases
}

/// The script that runs `phases`: the first phase's winner from time 0, then a switch at each
/// phase's start whose winner differs from the algorithm running.
pub fn schedule(phases: &[OraclePhase]) -> Vec<Switch> {
    let mut script: Vec<Switch> = Vec::new();
    for p in phases {
        let at = if script.is_empty() {
            Instant::ZERO
        } else {
            p.start
        };
        if script.last().is_none_or(|s| s.algorithm != p.algorithm) {
            script.push(Switch {
                at,
                algorithm: p.algorithm,
            });
        }
    }
    script
}

/// The static algorithms' phase tallies in `runs` (runs of one scenario, any seeds), pooled
/// over the seeds, in [`Algorithm::ALL`] order; the other strategies' runs are ignored.
pub fn pool<'a>(
    runs: impl IntoIterator<Item = &'a RunResult>,
) -> Vec<(Algorithm, Vec<PhaseTally>)> {
    let mut pooled: Vec<(Algorithm, Vec<PhaseTally>)> = Vec::new();
    for r in runs {
        let Some(a) = r.strategy.fixed() else {
            continue;
        };
        let tallies = r.recorder.phases().tallies();
        match pooled.iter_mut().find(|(b, _)| *b == a) {
            Some((_, acc)) => {
                for (x, y) in acc.iter_mut().zip(tallies) {
                    x.merge(y);
                }
            }
            None => pooled.push((a, tallies.to_vec())),
        }
    }
    pooled.sort_by_key(|(a, _)| *a);
    pooled
}

/// The oracle of one scenario.
#[derive(Debug, Clone)]
pub struct Hindsight {
    /// Its phases and their winners.
    pub phases: Vec<OraclePhase>,
    /// The scenario with the oracle's schedule as its `[[switches]]`: what `oracle` runs.
    pub scenario: Scenario,
}

/// The oracle of `scenario` from its static algorithms' `runs` (other strategies' runs are
/// ignored). Without any static run it has no phase, and its script is empty.
pub fn hindsight(scenario: &Scenario, runs: &[&RunResult]) -> Hindsight {
    let candidates = pool(runs.iter().copied());
    let statics = || runs.iter().filter(|r| r.strategy.fixed().is_some());
    let starts = statics()
        .next()
        .map_or_else(Vec::new, |r| r.recorder.phases().starts().to_vec());
    let end = statics()
        .filter_map(|r| r.recorder.measure_end())
        .max()
        .unwrap_or(Instant::ZERO + scenario.warmup);
    let phases = choose(&starts, end, &candidates);
    let mut oracle_scenario = scenario.clone();
    oracle_scenario.switches = schedule(&phases);
    Hindsight {
        phases,
        scenario: oracle_scenario,
    }
}

/// `oracle.csv` rows of scenario `name`: one per phase with its winner.
pub fn rows(name: &str, phases: &[OraclePhase]) -> Vec<OracleRow> {
    phases
        .iter()
        .map(|p| OracleRow {
            scenario: name.to_string(),
            phase_start_s: p.start.as_secs_f64(),
            phase_end_s: p.end.as_secs_f64(),
            algorithm: p.algorithm.name().to_string(),
            p99_ms: p.tally.p99_ms(),
            error_rate: p.tally.error_rate(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::time::Duration;

    fn t(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    /// `n` answers of `ms` each, `errors` of them failed.
    fn tally(n: u64, ms: u64, errors: u64) -> PhaseTally {
        let mut p = PhaseTally::default();
        for i in 0..n {
            p.record(ms * 1_000_000, i >= errors);
        }
        p
    }

    #[test]
    fn each_phase_goes_to_its_best_algorithm_and_equal_neighbours_make_no_switch() {
        use Algorithm::*;
        let starts = [t(10), t(30), t(60), t(90), t(120)];
        let candidates = vec![
            // Fast everywhere, but 2% errors in the third phase.
            (
                RoundRobin,
                vec![
                    tally(1000, 10, 0),
                    tally(1000, 10, 0),
                    tally(1000, 10, 20),
                    tally(1000, 30, 0),
                    tally(0, 0, 0),
                ],
            ),
            // Slower, but errors only 0.05% above the best in the second phase: latency
            // decides there; in the third its 0.1% beats 2%.
            (
                LeastConnections,
                vec![
                    tally(1000, 20, 0),
                    tally(2000, 5, 1),
                    tally(1000, 40, 1),
                    tally(1000, 20, 0),
                    tally(0, 0, 0),
                ],
            ),
        ];
        let phases = choose(&starts, t(150), &candidates);
        let got: Vec<(Instant, Instant, Algorithm)> = phases
            .iter()
            .map(|p| (p.start, p.end, p.algorithm))
            .collect();
        // The last phase saw no request: no winner, no row.
        assert_eq!(
            got,
            [
                (t(10), t(30), RoundRobin),
                (t(30), t(60), LeastConnections),
                (t(60), t(90), LeastConnections),
                (t(90), t(120), LeastConnections),
            ]
        );
        assert_eq!(phases[2].tally.error_rate(), 0.001);
        // The first winner from 0, one switch where the winner changes, none after.
        let plan: Vec<(Instant, Algorithm)> = schedule(&phases)
            .iter()
            .map(|s| (s.at, s.algorithm))
            .collect();
        assert_eq!(plan, [(t(0), RoundRobin), (t(30), LeastConnections)]);
        let rows = rows("x", &phases);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            (
                rows[1].phase_start_s,
                rows[1].phase_end_s,
                rows[1].algorithm.as_str()
            ),
            (30.0, 60.0, "least_connections")
        );
        assert!((rows[0].p99_ms - 10.0).abs() / 10.0 < 0.032);
        assert_eq!(schedule(&[]), []);
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        let c = vec![
            (Algorithm::Random, vec![tally(100, 10, 0)]),
            (Algorithm::PeakEwma, vec![tally(100, 10, 0)]),
        ];
        let p = choose(&[t(0)], t(5), &c);
        assert_eq!(p[0].algorithm, Algorithm::Random);
    }
}
