//! The decision engine: conditions in, at most one switch per window out.

use super::condition::{Assessment, Condition, assess};
use super::config::EngineConfig;
use super::log::{Decision, Reason};
use super::mode::Mode;
use super::observation::Observation;
use super::policy::{Context, Policy, RulePolicy};
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
    streak: [u32; 5],
    calm_since: Option<Instant>,
    baseline: Ewma,
    log: Vec<Decision>,
    last: Assessment,
}

impl DecisionEngine {
    /// An engine in adaptive mode with the default rule policy.
    pub fn new(config: EngineConfig) -> Self {
        Self::with_policy(config, Box::new(RulePolicy))
    }

    /// An engine in adaptive mode with `policy`.
    pub fn with_policy(config: EngineConfig, policy: Box<dyn Policy>) -> Self {
        let baseline = Ewma::new(config.baseline_tau);
        DecisionEngine {
            config,
            policy,
            mode: Mode::Adaptive,
            last_switch: None,
            streak: [0; 5],
            calm_since: None,
            baseline,
            log: Vec::new(),
            last: Assessment::default(),
        }
    }

    /// Look at the pool and decide. Returns the switch made, if any; the caller applies it.
    pub fn tick(&mut self, obs: &Observation<'_>, current: Algorithm) -> Option<Decision> {
        let now = obs.now;
        let a = assess(obs, &self.config, self.baseline.get());
        for c in Condition::ALL {
            let s = &mut self.streak[c.index()];
            *s = if a.holds(c) { s.saturating_add(1) } else { 0 };
        }
        if a.holds(Condition::BackToNormal) {
            self.calm_since.get_or_insert(now);
            if let Some(m) = a.pool_mean_ms {
                self.baseline.observe(m, now);
            }
        } else {
            self.calm_since = None;
        }
        self.last = a;

        if self.mode == Mode::Manual || !self.has_evidence(obs) || self.in_quiet_period(now) {
            return None;
        }
        let calm_for = self.calm_since.map_or(Duration::ZERO, |t| now - t);
        let ctx = Context {
            now,
            current,
            assessment: &self.last,
            streak: &self.streak,
            calm_for,
            config: &self.config,
        };
        let p = self.policy.decide(&ctx)?;
        if p.to == current || !self.config.allows(p.to) {
            return None;
        }
        let d = Decision {
            at: now,
            from: current,
            to: p.to,
            reason: Reason::Condition(p.condition),
            detail: p.detail,
        };
        self.last_switch = Some(now);
        // A new algorithm changes what the conditions see: judge it afresh.
        self.streak = [0; 5];
        self.calm_since = None;
        self.log.push(d.clone());
        Some(d)
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
        // under the old algorithm no longer counts.
        self.last_switch = Some(now);
        self.streak = [0; 5];
        self.calm_since = None;
        let d = Decision {
            at: now,
            from,
            to,
            reason: Reason::Operator,
            detail: format!("pinned by operator ({} -> {})", from, to),
        };
        if from != to {
            self.log.push(d.clone());
        }
        d
    }

    /// Set the mode. Handing control back (`Adaptive`) does not by itself switch anything,
    /// and the engine judges afresh: conditions must hold `confirm_ticks` ticks from then on.
    pub fn set_mode(&mut self, mode: Mode) {
        if mode == Mode::Adaptive && self.mode == Mode::Manual {
            self.streak = [0; 5];
            self.calm_since = None;
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
}
