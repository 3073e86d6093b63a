//! The forecast policy: fit a small model of the pool from the engine's observation, run every
//! candidate algorithm on it for the next few thousand requests, and switch only when one
//! forecasts a clear gain over the algorithm running now.
//!
//! No production balancer can do this; this one can because its algorithms are sans-IO and run
//! on virtual time: the forecast calls the same `Pick` code the balancer serves with, on a
//! [`PoolModel`] fitted from the trailing window (per-worker service time, spread, capacity,
//! failures; the arrival rate) in a small deterministic event loop ([`run`]).
//!
//! When it runs: only while some condition holds (a fault is seen; a slow worker once it has
//! been slow for `slow_persist`, as under the rules). A healthy pool is left
//! alone, and a calm one goes back to the baseline as under the rules (`back_to_normal` held
//! for `calm_for`, no suspect worker): the model is fitted to the algorithm running now and is
//! cautious about load it has not seen a worker carry, so it is the wrong judge of a return.
//!
//! How it chooses: a candidate beats the running algorithm when it forecasts an error rate
//! lower by more than `error_margin`, or, errors within that margin, a p99 lower by more than
//! `p99_margin`. The best candidate is the one with the lowest forecast error rate (within the
//! margin, counted as equal) and then the lowest p99. Every forecast goes into the decision log.

mod model;
mod run;

pub use model::{PoolModel, Station};
pub use run::forecast;

use super::condition::{Condition, Signal};
use super::config::ForecastConfig;
use super::policy::{Context, Policy, Proposal};
use crate::pick::Algorithm;

/// What a forecast predicts for one algorithm over the next requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Forecast 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Forecast share of requests that fail.
    pub error_rate: f64,
}

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForecastPolicy;

/// The fault conditions, most telling first: the one a decision is logged under.
const FAULTS: [Condition; 4] = [
    Condition::FastFailure,
    Condition::ProlongedProcessing,
    Condition::LoadImbalance,
    Condition::ElevatedErrorRate,
];

/// Whether `c` beats `k` by the margins.
pub fn beats(c: &Forecast, k: &Forecast, m: &ForecastConfig) -> bool {
    c.error_rate < k.error_rate - m.error_margin
        || (c.error_rate <= k.error_rate + m.error_margin
            && c.p99_ms < k.p99_ms * (1.0 - m.p99_margin))
}

/// The best of `forecasts`: lowest error rate (within `error_margin` of the lowest counts as
/// lowest), then lowest p99.
pub fn best<'a>(forecasts: &'a [Forecast], m: &ForecastConfig) -> Option<&'a Forecast> {
    let lowest = forecasts
        .iter()
        .map(|f| f.error_rate)
        .fold(f64::INFINITY, f64::min);
    forecasts
        .iter()
        .filter(|f| f.error_rate <= lowest + m.error_margin)
        .min_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms))
}

impl ForecastPolicy {
    /// Run every allowed algorithm (and the current one) on the fitted model.
    fn forecasts(ctx: &Context<'_>) -> Option<Vec<Forecast>> {
        let model = PoolModel::fit(ctx.observation)?;
        let seed = ctx.now.as_nanos();
        let mut algorithms = ctx.config.allowed();
        if !algorithms.contains(&ctx.current) {
            algorithms.push(ctx.current);
        }
        let n = ctx.config.forecast.requests.max(8);
        Some(
            algorithms
                .into_iter()
                .map(|a| forecast(&model, a, n, seed))
                .collect(),
        )
    }

    fn propose(ctx: &Context<'_>, s: &Signal) -> Option<Proposal> {
        let m = &ctx.config.forecast;
        let forecasts = Self::forecasts(ctx)?;
        let current = *forecasts.iter().find(|f| f.algorithm == ctx.current)?;
        let allowed: Vec<Forecast> = forecasts
            .iter()
            .copied()
            .filter(|f| ctx.config.allows(f.algorithm))
            .collect();
        let b = *best(&allowed, m)?;
        if b.algorithm == ctx.current || !beats(&b, &current, m) {
            return None;
        }
        let mut p = Proposal::from_signal(b.algorithm, s);
        p.detail = format!(
            "forecast {} p99 {:.2} ms, {:.2}% errors against {} {:.2} ms, {:.2}%; {}",
            b.algorithm,
            b.p99_ms,
            b.error_rate * 100.0,
            current.algorithm,
            current.p99_ms,
            current.error_rate * 100.0,
            s.detail
        );
        p.forecast = forecasts;
        Some(p)
    }
}

impl Policy for ForecastPolicy {
    fn name(&self) -> &'static str {
        "forecast"
    }

    fn decide(&mut self, ctx: &Context<'_>) -> Option<Proposal> {
        let a = ctx.assessment;
        if let Some(s) = FAULTS.iter().find_map(|c| a.signal(*c)) {
            // A slow worker is forecast only once it has stayed slow for `slow_persist`: the
            // model is fitted to the window, and a stall shorter than peak EWMA's memory is
            // over before the forecast could pay off (the rules wait the same).
            let young = s.condition == Condition::ProlongedProcessing
                && ctx.held_for(Condition::ProlongedProcessing) < ctx.config.slow_persist;
            return if young { None } else { Self::propose(ctx, s) };
        }
        if ctx.suspects || ctx.calm_for < ctx.calm_needed {
            return None;
        }
        let s = a.signal(Condition::BackToNormal)?;
        (ctx.config.baseline != ctx.current).then(|| Proposal::from_signal(ctx.config.baseline, s))
    }
}

#[cfg(test)]
mod tests;
