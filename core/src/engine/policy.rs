//! Policies turn an assessment into a choice of algorithm. [`Policy`] is the plug; [`RulePolicy`]
//! is the default, a short ordered list of rules.
//!
//! # The rules, and the measurements behind them
//!
//! The simulator runs every static algorithm on scenarios that each isolate one condition
//! (`experiments/`, `results/sim/summary.csv`), and the rules send each condition to the
//! algorithm that won it there:
//!
//! 1. **fast_failure** (confirmed) while running an algorithm that rewards quick or idle workers
//!    (`least_connections`, `power_of_two`, `peak_ewma`) -> `round_robin` (or
//!    `weighted_round_robin` when weights differ). A worker that fails at once looks idle and
//!    fast, so those algorithms feed it *more* traffic; round robin gives it exactly its share.
//! 2. **prolonged_processing** on one worker (confirmed) -> `peak_ewma`, unless a fast failure
//!    is present (peak EWMA would reward it). Peak EWMA reacts to the first slow response and
//!    keeps the slow worker's share far below what in-flight counts give it: it had the lowest
//!    p99 on `one_slow_worker`.
//! 3. **prolonged_processing** of the whole pool, or **load_imbalance** (confirmed) ->
//!    `least_connections`, unless a fast failure is present. Joining the shortest queue is the
//!    best answer to queueing everywhere (`flash_crowd`) and to uneven capacity
//!    (`heterogeneous_pool`).
//! 4. **back_to_normal** held for `calm_for` -> the baseline (`least_connections` by default:
//!    the lowest p99 on `steady_pool`, `flash_crowd`, `worker_crash` and `heterogeneous_pool`).
//!
//! The engine, not the policy, enforces the stability rules (one switch per window, minimum
//! samples, fresh evidence), so a plugged-in policy cannot flap.

use super::condition::{Assessment, Condition, Signal};
use super::config::EngineConfig;
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
    /// The conditions found in this tick's observation.
    pub assessment: &'a Assessment,
    /// For each condition (indexed by [`Condition::index`]), how many consecutive ticks it held.
    pub streak: &'a [u32; 5],
    /// How long `back_to_normal` has held without a break.
    pub calm_for: Duration,
    /// The engine's settings.
    pub config: &'a EngineConfig,
}

impl Context<'_> {
    /// The signal for `c` if it holds and has held for `confirm_ticks` ticks in a row.
    pub fn confirmed(&self, c: Condition) -> Option<&Signal> {
        let held = self.streak[c.index()] >= self.config.confirm_ticks.max(1);
        self.assessment.signal(c).filter(|_| held)
    }
}

/// A policy's answer: switch to `to` because of `condition`.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// The algorithm to run next.
    pub to: Algorithm,
    /// The condition behind it.
    pub condition: Condition,
    /// The numbers, in words.
    pub detail: String,
}

/// Chooses the next algorithm from an assessment.
pub trait Policy: Debug + Send {
    /// A name for logs.
    fn name(&self) -> &'static str;
    /// The algorithm to switch to, or `None` to stay. Proposing the current algorithm is the
    /// same as `None`.
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

impl Policy for RulePolicy {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn decide(&mut self, ctx: &Context<'_>) -> Option<Proposal> {
        let a = ctx.assessment;
        let propose = |to: Algorithm, s: &Signal| {
            (to != ctx.current).then(|| Proposal {
                to,
                condition: s.condition,
                detail: s.detail.clone(),
            })
        };
        let fast_failure = a.holds(Condition::FastFailure);

        if let Some(s) = ctx.confirmed(Condition::FastFailure)
            && rewards_quick_workers(ctx.current)
        {
            let to = if a.uniform_weights {
                Algorithm::RoundRobin
            } else {
                Algorithm::WeightedRoundRobin
            };
            return propose(to, s);
        }
        if !fast_failure {
            if let Some(s) = ctx.confirmed(Condition::ProlongedProcessing) {
                let to = if s.worker.is_some() {
                    Algorithm::PeakEwma
                } else {
                    Algorithm::LeastConnections
                };
                if let Some(p) = propose(to, s) {
                    return Some(p);
                }
            }
            if let Some(s) = ctx.confirmed(Condition::LoadImbalance)
                && ctx.current != Algorithm::PeakEwma
                && let Some(p) = propose(Algorithm::LeastConnections, s)
            {
                return Some(p);
            }
        }
        if ctx.calm_for >= ctx.config.calm_for
            && let Some(s) = a.signal(Condition::BackToNormal)
        {
            return propose(ctx.config.baseline, s);
        }
        None
    }
}
