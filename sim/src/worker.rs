//! The simulated worker: the same model as the live worker.
//!
//! A worker has `concurrency` slots and an unbounded FIFO queue behind them. A request that finds
//! a free slot starts at once; otherwise it waits its turn. Its service time is drawn from the
//! worker's distribution and divided by its speed (and multiplied by a slow-down fault's factor).
//! With the configured probability a request fails: a *fast* failure answers at once without
//! taking a slot, a *slow* one holds a slot for its service time and then fails. A worker that is
//! *down* refuses connections, and crashing loses everything queued or in service.

use crate::event::ReqId;
use lb_core::scenario::{ErrorMode, FaultAction, WorkerSpec};
use std::collections::VecDeque;

/// One simulated worker.
#[derive(Debug)]
pub struct SimWorker {
    spec: WorkerSpec,
    /// Service-time multiplier: `slow factor / speed`.
    pub scale: f64,
    /// Current failure probability.
    pub error_rate: f64,
    /// Current failure mode.
    pub error_mode: ErrorMode,
    /// Refusing connections.
    pub down: bool,
    /// Bumped at each crash, so service completions from before the crash are ignored.
    pub epoch: u32,
    /// Requests in service (at most `concurrency`).
    pub in_service: Vec<ReqId>,
    /// Requests waiting for a slot.
    pub queue: VecDeque<ReqId>,
}

impl SimWorker {
    /// A worker as its spec describes it, up and idle.
    pub fn new(spec: &WorkerSpec) -> Self {
        SimWorker {
            scale: 1.0 / spec.speed,
            error_rate: spec.error_rate,
            error_mode: spec.error_mode,
            down: false,
            epoch: 0,
            in_service: Vec::new(),
            queue: VecDeque::new(),
            spec: spec.clone(),
        }
    }

    /// The worker's configuration.
    pub fn spec(&self) -> &WorkerSpec {
        &self.spec
    }

    /// Whether a slot is free.
    #[inline]
    pub fn has_free_slot(&self) -> bool {
        self.in_service.len() < self.spec.concurrency as usize
    }

    /// Apply a fault. For `Down`, returns the requests that were lost (queued or in service), in
    /// order: those in service first, then the queue.
    pub fn apply(&mut self, action: FaultAction) -> Vec<ReqId> {
        match action {
            FaultAction::Slow(factor) => {
                self.scale = factor / self.spec.speed;
                Vec::new()
            }
            FaultAction::Errors(rate, mode) => {
                self.error_rate = rate;
                self.error_mode = mode;
                Vec::new()
            }
            FaultAction::Down => {
                self.down = true;
                self.epoch = self.epoch.wrapping_add(1);
                let mut lost: Vec<ReqId> = self.in_service.drain(..).collect();
                lost.extend(self.queue.drain(..));
                lost
            }
            FaultAction::Recover => {
                self.down = false;
                self.scale = 1.0 / self.spec.speed;
                self.error_rate = self.spec.error_rate;
                self.error_mode = self.spec.error_mode;
                Vec::new()
            }
        }
    }

    /// Take `req` out of service; returns whether it was there.
    #[inline]
    pub fn finish(&mut self, req: ReqId) -> bool {
        match self.in_service.iter().position(|&r| r == req) {
            Some(i) => {
                self.in_service.swap_remove(i);
                true
            }
            None => false,
        }
    }
}
