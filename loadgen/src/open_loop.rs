//! Open loop: send at the scheduled times, measure from the scheduled times.
//!
//! Request `i` is due at `t_i` (evenly spaced at the rate, or a Poisson process from a seeded
//! RNG). The scheduler sleeps until `t_i` and hands the request to its own task, so a slow
//! answer never delays the next send. Latency is `end - t_i`: if the target stalls for 200 ms,
//! every request due during the stall carries the part of the stall it waited through, where a
//! closed-loop tool would have simply sent less and reported mostly fast requests (coordinated
//! omission, as Gil Tene named it; wrk2 fixes it the same way).
//!
//! The generator is honest about itself: a request that goes out more than [`LATE`] after its
//! due time is counted late, and at most `max_in_flight` requests are outstanding; beyond that
//! the scheduler waits (and the waiting shows as lateness and in the latencies, which still run
//! from `t_i`).

use crate::client::HttpClient;
use crate::record::Recorder;
use crate::target::Target;
use indicatif::ProgressBar;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A send later than this after its due time counts as late.
pub const LATE: Duration = Duration::from_millis(5);

/// How to schedule.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    /// Requests per second.
    pub rate: f64,
    /// How long to send.
    pub duration: Duration,
    /// Poisson arrivals (exponential gaps) instead of even spacing.
    pub poisson: bool,
    /// Seed of the Poisson schedule.
    pub seed: u64,
    /// Most requests outstanding at once.
    pub max_in_flight: usize,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// What was measured.
    pub recorder: Recorder,
    /// Requests sent.
    pub sent: u64,
    /// Requests sent later than [`LATE`] after their due time (open loop).
    pub late: u64,
    /// The largest lateness (open loop).
    pub max_lateness: Duration,
    /// How long the sending lasted.
    pub elapsed: Duration,
    /// The rate asked for (open loop).
    pub target_rate: Option<f64>,
}

impl RunStats {
    /// Requests sent per second of sending.
    pub fn achieved_rate(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.sent as f64 / self.elapsed.as_secs_f64()
        }
    }
}

/// Run an open-loop load against `target`.
pub async fn run(
    client: HttpClient,
    target: Arc<Target>,
    cfg: OpenLoop,
    progress: ProgressBar,
) -> RunStats {
    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let slots = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut tasks = tokio::task::JoinSet::new();
    let (mut sent, mut late, mut max_lateness) = (0u64, 0u64, Duration::ZERO);
    let start = Instant::now();
    let mut due_s = 0.0f64;
    let end_s = cfg.duration.as_secs_f64();
    while due_s < end_s {
        let offset = Duration::from_secs_f64(due_s);
        let due = start + offset;
        tokio::time::sleep_until(due).await;
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let lateness = Instant::now().saturating_duration_since(due);
        if lateness > LATE {
            late += 1;
        }
        max_lateness = max_lateness.max(lateness);
        sent += 1;
        let (c, t, r) = (client.clone(), Arc::clone(&target), Arc::clone(&recorder));
        tasks.spawn(async move {
            let answer = c.send(&t).await;
            let latency = Instant::now().saturating_duration_since(due);
            r.lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(offset, latency, answer);
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
        progress.set_position(offset.as_secs());
        // Even spacing from the index (no drift from summing gaps); Poisson gaps summed.
        due_s = if cfg.poisson {
            let u: f64 = 1.0 - rng.random::<f64>();
            due_s - u.ln() / cfg.rate
        } else {
            sent as f64 / cfg.rate
        };
    }
    // Sending lasted the asked duration, or longer when the scheduler fell behind.
    let sending = start.elapsed().max(cfg.duration);
    while tasks.join_next().await.is_some() {}
    let recorder = Arc::try_unwrap(recorder)
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_else(|a| a.lock().unwrap_or_else(|p| p.into_inner()).clone());
    RunStats {
        recorder,
        sent,
        late,
        max_lateness,
        elapsed: sending,
        target_rate: Some(cfg.rate),
    }
}
