//! The decision engine: conditions in, a policy's proposal through the stability rules, at most
//! one switch per window out.
//!
//! The stability rules hold whatever the policy:
//!
//! - **evidence**: nothing is decided before the pool's window holds `min_samples` responses, or
//!   when the newest response is older than `max_evidence_age`;
//! - **confirmation** (hysteresis on every switch): the policy must propose the same target on
//!   `confirm_ticks` ticks in a row; a proposal that changes its mind starts again;
//! - **one switch per window**;
//! - **reversal back-off**: going back to the algorithm the last switch left (A -> B -> A) waits
//!   more than `reversal_windows` windows after that switch, doubled for every reversal not yet forgiven
//!   (one is forgiven per `forgive_windows` windows without a switch), and the calm time the
//!   rules want before a return to the baseline doubles with it, as outlier ejection backs off
//!   on a worker that keeps failing. A fault that comes back every 40 s thus costs at most one
//!   return, not one per cycle.

use super::condition::{Assessment, Condition, assess, worker_calm};
use super::config::{EngineConfig, PolicyKind};
use super::forecast::ForecastPolicy;
use super::log::{Decision, Reason};
use super::memory::Memory;
use super::mode::Mode;
use super::observation::Observation;
use super::policy::{Context, Policy, Proposal, RulePolicy};
use crate::pick::Algorithm;
use crate::stats::Ewma;
use crate::time::{Duration, Instant};

/// The decision engine. Call [`tick`](Self::tick) periodically with an observation of the pool.
#[derive(Debug)]
pub struct DecisionEngine {
    config: EngineConfig,
    policy: Box<dyn Policy>,
    mode: Mode,
    last_switch: Option<Instant>,
    /// The algorithm the last switch left: going back to it is a reversal.
    left: Option<Algorithm>,
    /// Reversals not yet forgiven.
    reversals: u32,
    /// When the last reversal was forgiven (or the last switch made).
    forgiven_at: Option<Instant>,
    /// The target being confirmed, and on how many ticks in a row it was proposed.
    pending: Option<(Algorithm, u32)>,
    streak: [u32; 5],
    calm_since: Option<Instant>,
    baseline: Ewma,
    memory: Memory,
    log: Vec<Decision>,
    last: Assessment,
}

impl DecisionEngine {
    /// An engine in adaptive mode with the policy `config.policy` names.
    pub fn new(config: EngineConfig) -> Self {
        let policy: Box<dyn Policy> = match config.policy {
            PolicyKind::Rules => Box::new(RulePolicy),
            PolicyKind::Forecast => Box::new(ForecastPolicy),
        };
        Self::with_policy(config, policy)
    }

    /// An engine in adaptive mode with `policy`.
    pub fn with_policy(config: EngineConfig, policy: Box<dyn Policy>) -> Self {
        let baseline = Ewma::new(config.baseline_tau);
        DecisionEngine {
            config,
            policy,
            mode: Mode::Adaptive,
            last_switch: None,
            left: None,
            reversals: 0,
            forgiven_at: None,
            pending: None,
            streak: [0; 5],
            calm_since: None,
            baseline,
            memory: Memory::default(),
            log: Vec::new(),
            last: Assessment::default(),
        }
    }

    /// Look at the pool and decide. Returns the switch made, if any; the caller applies it.
    pub fn tick(&mut self, obs: &Observation<'_>, current: Algorithm) -> Option<Decision> {
        self.forgive(obs.now);
        self.observe(obs);
        if self.mode == Mode::Manual || !self.has_evidence(obs) {
            self.pending = None;
            return None;
        }
        let p = self.propose(obs, current)?;
        self.confirm(p, obs, current)
    }

    /// Assess the observation and update what the engine remembers: condition streaks, the
    /// workers' memory, calm time and the pool's baseline.
    fn observe(&mut self, obs: &Observation<'_>) {
        let now = obs.now;
        let a = assess(obs, &self.config, self.baseline.get(), &self.memory);
        for c in Condition::ALL {
            let s = &mut self.streak[c.index()];
            *s = if a.holds(c) { s.saturating_add(1) } else { 0 };
        }
        let cfg = &self.config;
        self.memory
            .learn(obs, cfg, |i| worker_calm(obs, cfg, &a, i));
        for s in &a.signals {
            if let Some(i) = s.worker {
                self.memory.accuse(obs.workers[i].id, now);
            }
        }
        if a.holds(Condition::BackToNormal) && !self.memory.any_suspect() {
            self.calm_since.get_or_insert(now);
            if let Some(m) = a.pool_mean_ms {
                self.baseline.observe(m, now);
            }
        } else {
            self.calm_since = None;
        }
        self.last = a;
    }

    /// The policy's proposal, if it is for another algorithm the engine may run.
    fn propose(&mut self, obs: &Observation<'_>, current: Algorithm) -> Option<Proposal> {
        let now = obs.now;
        let ctx = Context {
            now,
            current,
            observation: obs,
            assessment: &self.last,
            streak: &self.streak,
            calm_for: self.calm_since.map_or(Duration::ZERO, |t| now - t),
            calm_needed: self.config.calm_for.saturating_mul(self.backoff()),
            suspects: self.memory.any_suspect(),
            memory: &self.memory,
            config: &self.config,
        };
        let p = self
            .policy
            .decide(&ctx)
            .filter(|p| p.to != current && self.config.allows(p.to));
        if p.is_none() {
            self.pending = None;
        }
        p
    }

    /// Count the proposal towards confirmation; switch once it is confirmed and, for a
    /// reversal, once the back-off has passed.
    fn confirm(
        &mut self,
        p: Proposal,
        obs: &Observation<'_>,
        current: Algorithm,
    ) -> Option<Decision> {
        let now = obs.now;
        let n = match self.pending {
            Some((to, n)) if to == p.to => n.saturating_add(1),
            _ => 1,
        };
        self.pending = Some((p.to, n));
        if n < self.config.confirm_ticks.max(1) || self.in_quiet_period(now) {
            return None;
        }
        let reversal = self.left == Some(p.to);
        if reversal
            && self
                .last_switch
                .is_some_and(|t| now - t <= self.reversal_wait())
        {
            return None;
        }
        if reversal {
            self.reversals = self.reversals.saturating_add(1);
        }
        let d = Decision {
            at: now,
            from: current,
            to: p.to,
            reason: Reason::Condition(p.condition),
            worker: p
                .worker
                .and_then(|i| obs.workers.get(i))
                .map(|w| w.label.clone()),
            value: Some(p.value),
            threshold: Some(p.threshold),
            forecast: p.forecast,
            detail: p.detail,
        };
        self.switched(now, current);
        self.log.push(d.clone());
        Some(d)
    }

    /// Book a switch away from `from` at `now`.
    fn switched(&mut self, now: Instant, from: Algorithm) {
        self.last_switch = Some(now);
        self.forgiven_at = Some(now);
        self.left = Some(from);
        self.pending = None;
        // A new algorithm changes what the conditions see: judge it afresh.
        self.streak = [0; 5];
        self.calm_since = None;
    }

    /// `2^k` for `k` unforgiven reversals, at most `2^max_backoff`.
    fn backoff(&self) -> u64 {
        1u64 << self.reversals.min(self.config.max_backoff).min(16)
    }

    /// A reversal may come only more than this long after the last switch.
    fn reversal_wait(&self) -> Duration {
        self.config
            .window
            .saturating_mul(u64::from(self.config.reversal_windows.max(1)))
            .saturating_mul(self.backoff())
    }

    /// Forgive one reversal per `forgive_windows` windows without a switch.
    fn forgive(&mut self, now: Instant) {
        let every = self
            .config
            .window
            .saturating_mul(u64::from(self.config.forgive_windows.max(1)));
        if self.reversals > 0
            && let Some(t) = self.forgiven_at
            && now - t >= every
        {
            self.reversals -= 1;
            self.forgiven_at = Some(now);
        }
    }

    /// Enough fresh samples to decide on: `min_samples` responses in the pool's window, and a
    /// response no older than `max_evidence_age`.
    fn has_evidence(&self, obs: &Observation<'_>) -> bool {
        let newest = obs.workers.iter().filter_map(|w| w.last_response).max();
        let fresh = newest.is_some_and(|t| obs.now - t <= self.config.max_evidence_age);
        fresh && self.last.samples >= self.config.min_samples
    }

    /// Whether a switch happened less than one window ago.
    fn in_quiet_period(&self, now: Instant) -> bool {
        self.last_switch
            .is_some_and(|t| now - t < self.config.window)
    }

    /// An operator pins `to` at `now`: the engine goes to manual mode and logs the change.
    pub fn pin(&mut self, now: Instant, from: Algorithm, to: Algorithm) -> Decision {
        self.mode = Mode::Manual;
        // An operator's switch is a switch: the window starts again, and evidence gathered
        // under the old algorithm no longer counts. It is not the engine's reversal.
        self.switched(now, from);
        self.left = None;
        let d = Decision {
            at: now,
            from,
            to,
            reason: Reason::Operator,
            worker: None,
            value: None,
            threshold: None,
            forecast: Vec::new(),
            detail: format!("pinned by operator ({} -> {})", from, to),
        };
        if from != to {
            self.log.push(d.clone());
        }
        d
    }

    /// Set the mode. Handing control back (`Adaptive`) does not by itself switch anything,
    /// and the engine judges afresh: a target must be proposed `confirm_ticks` ticks from then on.
    pub fn set_mode(&mut self, mode: Mode) {
        if mode == Mode::Adaptive && self.mode == Mode::Manual {
            self.streak = [0; 5];
            self.calm_since = None;
            self.pending = None;
        }
        self.mode = mode;
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Every switch so far.
    pub fn log(&self) -> &[Decision] {
        &self.log
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// What the last tick found.
    pub fn last_assessment(&self) -> &Assessment {
        &self.last
    }

    /// The pool's calm latency baseline, ms, once learnt.
    pub fn baseline_ms(&self) -> Option<f64> {
        self.baseline.get()
    }

    /// The policy's name.
    pub fn policy_name(&self) -> &'static str {
        self.policy.name()
    }

    /// Reversals not yet forgiven (each doubles the wait before the next one).
    pub fn reversals(&self) -> u32 {
        self.reversals
    }
}
