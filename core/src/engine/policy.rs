//! Policies turn an assessment into a choice of algorithm. [`Policy`] is the plug; [`RulePolicy`]
//! is the default, a short ordered list of rules, and [`ForecastPolicy`](super::ForecastPolicy)
//! the other choice.
//!
//! # The rules, and the measurements behind them
//!
//! The simulator runs every static algorithm on scenarios that each isolate one condition
//! (`experiments/`, `results/sim/summary.csv`), and the rules send each condition to the
//! algorithm that won it there. The first rule that applies decides, and a rule whose algorithm
//! is already running *holds*: nothing below it, least of all the return to the baseline, is
//! read while a fault is present.
//!
//! 1. **fast_failure** on any worker -> `round_robin` (or `weighted_round_robin` when weights
//!    differ) if the running algorithm rewards quick or idle workers (`least_connections`,
//!    `power_of_two`, `peak_ewma`); else hold. A worker that fails at once looks idle and fast,
//!    so those algorithms feed it *more* traffic; round robin gives it exactly its share. But if
//!    the worker was out of rotation within the last window, outlier ejection (or health checks)
//!    is already dealing with it, and better than round robin can: the more traffic it gets, the
//!    sooner it is ejected (`h_fast_fail_ejection`): hold. And if another worker is slow
//!    (latency skew above `latency_skew_enter`), round robin would give it a full share of
//!    requests it cannot serve in time, a worse fault than the quick failures (`t_many_faulty`):
//!    hold.
//! 2. **prolonged_processing** on one worker -> `peak_ewma`, if the slow workers serve at least
//!    `slow_share_enter` (2%) of requests and it has held for `slow_persist` (10 s); else hold. Peak EWMA reacts to the first slow
//!    response and keeps the slow worker's share far below what in-flight counts give it when
//!    in-flight counts say little (low load, many slots: `one_slow_worker`, a pool of two at
//!    16% load). When the slow worker already gets under 1% of requests, least connections is
//!    keeping it out of the p99 and balances the rest better than peak EWMA's two choices
//!    (`t_many_faulty`). And peak EWMA remembers a slow response for about its decay time
//!    (10 s): a stall shorter than that is better left to least connections, which uses the
//!    worker again the moment it is back (`t_periodic_stall`).
//! 3. **prolonged_processing** of the whole pool, or **load_imbalance** -> `least_connections`
//!    (imbalance under peak EWMA is peak EWMA doing its job: hold). Joining the shortest queue
//!    is the best answer to queueing everywhere (`flash_crowd`) and to uneven capacity
//!    (`heterogeneous_pool`).
//! 4. **elevated_error_rate** whose failures are not fast: hold. No algorithm here avoids a
//!    worker that fails after doing the work (its latency looks like everyone's); outlier
//!    ejection does, and switching would only cost the pool its queue balance.
//! 5. A **suspect** (a worker a condition named and that has not looked well since): hold.
//! 6. **back_to_normal** held for `calm_for` (doubled by each unforgiven reversal) -> the
//!    baseline (`least_connections` by default: the lowest p99 on `steady_pool`, `flash_crowd`,
//!    `worker_crash` and `heterogeneous_pool`).
//!
//! The engine, not the policy, enforces stability (see [`DecisionEngine`](super::DecisionEngine)):
//! a target must be proposed on `confirm_ticks` ticks in a row, at most one switch per window,
//! and a reversal waits `reversal_windows` windows, doubled per past reversal. A policy cannot
//! reverse a switch within two windows; it can still make A -> B -> C -> A, and a long run of
//! reversals spaced by the growing back-off.

use super::condition::{Assessment, Condition, Signal};
use super::config::EngineConfig;
use super::forecast::Forecast;
use super::memory::Memory;
use super::observation::Observation;
use crate::pick::Algorithm;
use crate::time::{Duration, Instant};
use std::fmt::Debug;

/// What a policy sees when asked.
#[derive(Debug)]
pub struct Context<'a> {
    /// The time of the tick.
    pub now: Instant,
    /// The algorithm running now.
    pub current: Algorithm,
    /// The pool as observed at this tick.
    pub observation: &'a Observation<'a>,
    /// The conditions found in this tick's observation.
    pub assessment: &'a Assessment,
    /// For each condition (indexed by [`Condition::index`]), how many consecutive ticks it held.
    pub streak: &'a [u32; 5],
    /// How long `back_to_normal` has held without a break (and without a suspect).
    pub calm_for: Duration,
    /// How long it must hold before a return to the baseline: `calm_for`, doubled per
    /// unforgiven reversal.
    pub calm_needed: Duration,
    /// Whether some worker is still suspect (named by a condition, not seen well since).
    pub suspects: bool,
    /// What the engine remembers of each worker.
    pub memory: &'a Memory,
    /// The engine's settings.
    pub config: &'a EngineConfig,
}

impl Context<'_> {
    /// How long `c` has held without a break (its streak in ticks times the tick).
    pub fn held_for(&self, c: Condition) -> Duration {
        self.config
            .tick
            .saturating_mul(u64::from(self.streak[c.index()]))
    }

    /// The signal for `c` if it holds and has held for `confirm_ticks` ticks in a row.
    pub fn confirmed(&self, c: Condition) -> Option<&Signal> {
        let held = self.streak[c.index()] >= self.config.confirm_ticks.max(1);
        self.assessment.signal(c).filter(|_| held)
    }
}

/// A policy's answer: run `to` because of `condition`.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// The algorithm to run next (the current one: stay).
    pub to: Algorithm,
    /// The condition behind it.
    pub condition: Condition,
    /// The worker the condition named: its index in the observation.
    pub worker: Option<usize>,
    /// The measured value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The numbers, in words.
    pub detail: String,
    /// The forecast behind the choice, per candidate, if there was one.
    pub forecast: Vec<Forecast>,
}

impl Proposal {
    /// Run `to` because of `s`.
    pub fn from_signal(to: Algorithm, s: &Signal) -> Self {
        Proposal {
            to,
            condition: s.condition,
            worker: s.worker,
            value: s.value,
            threshold: s.threshold,
            detail: s.detail.clone(),
            forecast: Vec::new(),
        }
    }
}

/// Chooses the next algorithm from an assessment.
pub trait Policy: Debug + Send {
    /// A name for logs.
    fn name(&self) -> &'static str;
    /// The algorithm to run, or `None` to stay. Proposing the current algorithm is the same as
    /// `None`. The engine switches only when the same target comes `confirm_ticks` ticks in a
    /// row, so a policy may answer from the current tick alone.
    fn decide(&mut self, ctx: &Context<'_>) -> Option<Proposal>;
}

/// The default rule-based policy (see the module docs for the rules).
#[derive(Debug, Clone, Copy, Default)]
pub struct RulePolicy;

/// Algorithms that prefer workers that look idle or quick: a fast-failing worker fools them.
pub fn rewards_quick_workers(a: Algorithm) -> bool {
    matches!(
        a,
        Algorithm::LeastConnections | Algorithm::PowerOfTwo | Algorithm::PeakEwma
    )
}

/// What the rules make of one tick: `Some(to)` is the algorithm to run (possibly the current
/// one: hold), with the signal behind it; `None` when no fault is seen.
pub fn rule_target<'a>(ctx: &'a Context<'_>) -> Option<(Algorithm, &'a Signal)> {
    let a = ctx.assessment;
    let current = ctx.current;
    if let Some(s) = a.signal(Condition::FastFailure) {
        let handled = s
            .worker
            .and_then(|i| ctx.observation.workers.get(i))
            .is_some_and(|w| ctx.memory.recently_out(w.id, ctx.now, ctx.config.window));
        // Round robin ignores latency: with a slow worker in the pool it would hand that
        // worker a full share, trading a few quick failures for a queue of timeouts.
        let slow_elsewhere = a.slow_share > 0.0;
        let to = if handled || slow_elsewhere || !rewards_quick_workers(current) {
            current
        } else if a.uniform_weights {
            Algorithm::RoundRobin
        } else {
            Algorithm::WeightedRoundRobin
        };
        return Some((to, s));
    }
    if let Some(s) = a.signal(Condition::ProlongedProcessing) {
        let to = match s.worker {
            Some(_)
                if a.slow_share >= ctx.config.thresholds.slow_share_enter
                    && ctx.held_for(Condition::ProlongedProcessing) >= ctx.config.slow_persist =>
            {
                Algorithm::PeakEwma
            }
            Some(_) => current,
            None => Algorithm::LeastConnections,
        };
        return Some((to, s));
    }
    if let Some(s) = a.signal(Condition::LoadImbalance) {
        let to = if current == Algorithm::PeakEwma {
            current
        } else {
            Algorithm::LeastConnections
        };
        return Some((to, s));
    }
    a.signal(Condition::ElevatedErrorRate).map(|s| (current, s))
}

impl Policy for RulePolicy {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn decide(&mut self, ctx: &Context<'_>) -> Option<Proposal> {
        if let Some((to, s)) = rule_target(ctx) {
            return (to != ctx.current).then(|| Proposal::from_signal(to, s));
        }
        if ctx.suspects || ctx.calm_for < ctx.calm_needed {
            return None;
        }
        let s = ctx.assessment.signal(Condition::BackToNormal)?;
        (ctx.config.baseline != ctx.current).then(|| Proposal::from_signal(ctx.config.baseline, s))
    }
}
