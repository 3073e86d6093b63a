//! The worker model on real time: slots, a FIFO queue, drawn service times, injected failures.
//!
//! The same model as the simulator's `SimWorker`, step for step: a request first draws whether it
//! fails (only when the error rate is above 0, as the simulator does); a *fast* failure answers
//! at once without a slot. Otherwise it waits for one of `concurrency` slots — a
//! [`tokio::sync::Semaphore`], whose waiters are served first come, first served, is the FIFO
//! queue — then draws its service time (`ServiceTime::sample_ms * slow_factor / speed`, the
//! simulator's `scale`), sleeps it holding the slot (with [`crate::precise`], not tokio's
//! millisecond timer), and answers (a *slow* failure answers 500
//! only now). Random numbers come from one seeded `ChaCha8Rng` per worker, locked only to draw.
//!
//! Hang: a request that meets a hanging worker (on arrival, or when about to answer) waits until
//! the fault is cleared, then carries on as if nothing happened. Clearing the fault therefore
//! releases every hung request. Counters are kept by guards, so a request whose client goes away
//! (its future dropped) leaves `queued`, `in_service` and `hung` right.

use super::config::{ConfigError, WorkerConfig};
use super::fault::{Fault, FaultError};
use axum::http::HeaderValue;
use lb_core::scenario::{ErrorMode, ServiceTime};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};

/// Longest sleep the worker will take for one request (service time or delay): one day. A
/// heavy-tailed draw divided by a tiny speed could otherwise overflow a `Duration`.
pub const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);

/// A shared handle on one worker: configuration, slots, current fault, counters and RNG.
/// Cloning is cheap (an `Arc`).
#[derive(Debug, Clone)]
pub struct WorkerState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: WorkerConfig,
    header: HeaderValue,
    service: ServiceTime,
    slots: Semaphore,
    fault: watch::Sender<Fault>,
    rng: Mutex<ChaCha8Rng>,
    requests: AtomicU64,
    ok: AtomicU64,
    errors: AtomicU64,
    in_service: AtomicU64,
    queued: AtomicU64,
    hung: AtomicU64,
}

/// The worker's counters at one moment (`GET /stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `/work` requests received (hung ones are counted once they go on).
    pub requests: u64,
    /// `/work` requests answered 200.
    pub ok: u64,
    /// `/work` requests answered 500 (injected failures).
    pub errors: u64,
    /// Requests holding a slot now.
    pub in_service: u64,
    /// Requests waiting for a slot now.
    pub queued: u64,
    /// Requests held by a hang fault now (any route).
    pub hung: u64,
}

/// How one `/work` request went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkOutcome {
    /// `Some(mode)` if the request failed (an injected failure), `None` if it succeeded.
    pub failed: Option<ErrorMode>,
    /// Time spent waiting for a slot, ms (0 for fast failures).
    pub queue_ms: f64,
    /// Service time drawn and slept, ms (0 for fast failures).
    pub service_ms: f64,
}

/// Adds one to a counter while alive.
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Milliseconds to a sleep, clamped to `[0, MAX_SLEEP]` (NaN counts as 0).
pub(crate) fn ms_to_duration(ms: f64) -> Duration {
    if ms.is_nan() || ms <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(ms / 1e3)
        .unwrap_or(MAX_SLEEP)
        .min(MAX_SLEEP)
}

impl WorkerState {
    /// A worker as configured, idle, with the configuration's start-up fault in force.
    pub fn new(config: WorkerConfig) -> Result<Self, ConfigError> {
        let service = config.validate()?;
        let header = HeaderValue::from_str(&config.name)
            .map_err(|_| ConfigError::Name(config.name.clone()))?;
        let rng = ChaCha8Rng::seed_from_u64(config.effective_seed());
        let (fault, _) = watch::channel(config.fault.clone());
        Ok(WorkerState {
            inner: Arc::new(Inner {
                slots: Semaphore::new(config.concurrency as usize),
                header,
                service,
                fault,
                rng: Mutex::new(rng),
                requests: AtomicU64::new(0),
                ok: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                in_service: AtomicU64::new(0),
                queued: AtomicU64::new(0),
                hung: AtomicU64::new(0),
                config,
            }),
        })
    }

    /// The configuration the worker was started with.
    pub fn config(&self) -> &WorkerConfig {
        &self.inner.config
    }

    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The name as the `x-worker` header value.
    pub(crate) fn header(&self) -> &HeaderValue {
        &self.inner.header
    }

    /// The fault in force now.
    pub fn fault(&self) -> Fault {
        self.inner.fault.borrow().clone()
    }

    /// Replace the fault (after checking it). Clearing `hang` releases hung requests.
    pub fn set_fault(&self, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        self.inner.fault.send_replace(fault);
        Ok(())
    }

    /// Back to the configured worker: no fault. Releases hung requests.
    pub fn clear_fault(&self) {
        self.inner.fault.send_replace(Fault::default());
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let i = &self.inner;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&i.requests),
            ok: get(&i.ok),
            errors: get(&i.errors),
            in_service: get(&i.in_service),
            queued: get(&i.queued),
            hung: get(&i.hung),
        }
    }

    /// Wait while the worker hangs; returns at once if it does not.
    pub async fn wait_while_hung(&self) {
        if !self.inner.fault.borrow().hang {
            return;
        }
        let _hung = Gauge::new(&self.inner.hung);
        let mut rx = self.inner.fault.subscribe();
        // Errs only when the sender is dropped, and `self` holds it.
        let _ = rx.wait_for(|f| !f.hang).await;
    }

    fn draw<T>(&self, f: impl FnOnce(&mut ChaCha8Rng) -> T) -> T {
        // Nothing panics while the lock is held, but a poisoned lock still holds a good RNG.
        let mut rng = self.inner.rng.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rng)
    }

    /// Whether this request fails, and how: the fault's rate and mode override the configured.
    fn draw_failure(&self, fault: &Fault) -> Option<ErrorMode> {
        let c = &self.inner.config;
        let rate = fault.error_rate.unwrap_or(c.error_rate);
        let mode = fault.error_mode.unwrap_or(c.error_mode);
        (rate > 0.0 && self.draw(|r| r.random::<f64>()) < rate).then_some(mode)
    }

    /// One service time in ms, scaled by the fault's slow factor and the worker's speed.
    fn draw_service_ms(&self, fault: &Fault) -> f64 {
        let scale = fault.slow_factor.unwrap_or(1.0) / self.inner.config.speed;
        self.draw(|r| self.inner.service.sample_ms(r)) * scale
    }

    /// Serve one `/work` request through the model (see the module docs).
    pub async fn work(&self) -> WorkOutcome {
        self.wait_while_hung().await;
        let i = &self.inner;
        i.requests.fetch_add(1, Ordering::Relaxed);
        let fault = self.fault();
        if let Some(ms) = fault.delay_ms {
            crate::precise::sleep(ms_to_duration(ms)).await;
        }
        let failed = self.draw_failure(&fault);
        if failed == Some(ErrorMode::Fast) {
            i.errors.fetch_add(1, Ordering::Relaxed);
            return WorkOutcome {
                failed,
                queue_ms: 0.0,
                service_ms: 0.0,
            };
        }
        let arrived = Instant::now();
        let queued = Gauge::new(&i.queued);
        // The semaphore is never closed, so this is always a permit.
        let slot = i.slots.acquire().await.ok();
        drop(queued);
        let queue_ms = arrived.elapsed().as_secs_f64() * 1e3;
        // Like the simulator, the slow factor in force when service starts applies.
        let service_ms = self.draw_service_ms(&self.fault());
        let in_service = Gauge::new(&i.in_service);
        crate::precise::sleep(ms_to_duration(service_ms)).await;
        // A process that hangs mid-request does not answer either; it keeps its slot meanwhile.
        self.wait_while_hung().await;
        drop(in_service);
        drop(slot);
        let counter = if failed.is_some() { &i.errors } else { &i.ok };
        counter.fetch_add(1, Ordering::Relaxed);
        WorkOutcome {
            failed,
            queue_ms,
            service_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::scenario::model::ServiceFile;

    fn state(seed: u64) -> WorkerState {
        WorkerState::new(WorkerConfig {
            service: ServiceFile::Exponential { mean_ms: 10.0 },
            error_rate: 0.3,
            seed: Some(seed),
            ..WorkerConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn same_seed_same_draws() {
        let (a, b, c) = (state(7), state(7), state(8));
        let f = Fault::default();
        let draws = |s: &WorkerState| {
            (0..50)
                .map(|_| (s.draw_failure(&f), s.draw_service_ms(&f)))
                .collect::<Vec<_>>()
        };
        let da = draws(&a);
        assert_eq!(da, draws(&b));
        assert_ne!(da, draws(&c));
    }

    #[test]
    fn fault_overrides_rate_and_scales_service() {
        let s = WorkerState::new(WorkerConfig {
            speed: 2.0,
            ..WorkerConfig::default()
        })
        .unwrap();
        let none = Fault::default();
        assert_eq!(s.draw_failure(&none), None);
        assert_eq!(s.draw_service_ms(&none), 5.0);
        let f = Fault {
            error_rate: Some(1.0),
            error_mode: Some(ErrorMode::Slow),
            slow_factor: Some(4.0),
            ..Fault::default()
        };
        assert_eq!(s.draw_failure(&f), Some(ErrorMode::Slow));
        assert_eq!(s.draw_service_ms(&f), 20.0);
    }

    #[test]
    fn durations_are_clamped() {
        assert_eq!(ms_to_duration(f64::NAN), Duration::ZERO);
        assert_eq!(ms_to_duration(-3.0), Duration::ZERO);
        assert_eq!(ms_to_duration(f64::INFINITY), MAX_SLEEP);
        assert_eq!(ms_to_duration(1e300), MAX_SLEEP);
        assert_eq!(ms_to_duration(10.0), Duration::from_millis(10));
    }

    #[test]
    fn set_fault_refuses_out_of_range() {
        let s = state(1);
        let bad = Fault {
            error_rate: Some(2.0),
            ..Fault::default()
        };
        assert!(s.set_fault(bad).is_err());
        assert!(s.fault().is_none());
    }
}
