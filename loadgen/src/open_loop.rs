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
//!
//! [`run`] schedules at a rate; [`drive`] sends any list of due offsets (a scenario's arrival
//! schedule, for `lb-loadgen experiment`) and hands every answer to a [`Sink`]. `run` is
//! `drive` with its own schedule and a [`Recorder`] as the sink.

use crate::client::{Answer, HttpClient};
use crate::record::Recorder;
use crate::target::Target;
use bytes::Bytes;
use hyper::header::HeaderName;
use indicatif::ProgressBar;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
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

/// One answered request.
#[derive(Debug, Clone)]
pub struct Answered {
    /// When it was due, since the start of the run.
    pub due: Duration,
    /// From the due time to the end of the answer.
    pub latency: Duration,
    /// How it ended.
    pub answer: Answer,
    /// The value of the response header asked for in [`Drive::read_header`], if any.
    pub header: Option<String>,
    /// The body of a failed answer (status >= 400).
    pub error_body: Option<Bytes>,
}

/// Where [`drive`] puts the answers.
pub trait Sink {
    /// Take one answer.
    fn take(&mut self, a: Answered);
}

impl Sink for Recorder {
    fn take(&mut self, a: Answered) {
        self.record(a.due, a.latency, a.answer);
    }
}

/// How [`drive`] sends.
#[derive(Debug, Clone)]
pub struct Drive {
    /// When the run starts: due offsets count from here.
    pub start: Instant,
    /// The end of the schedule: sending lasts at least this long.
    pub until: Duration,
    /// Most requests outstanding at once.
    pub max_in_flight: usize,
    /// A response header to read and hand to the sink (e.g. `x-lb-worker`).
    pub read_header: Option<HeaderName>,
}

/// What the sending did, whatever the sink.
#[derive(Debug, Clone, Copy)]
pub struct Sending {
    /// Requests sent.
    pub sent: u64,
    /// Requests sent later than [`LATE`] after their due time.
    pub late: u64,
    /// The largest lateness.
    pub max_lateness: Duration,
    /// How long the sending lasted (at least `until`).
    pub elapsed: Duration,
}

/// Send one request at each due offset (non-decreasing, from `cfg.start`) and give every
/// answer to `sink`; returns the sink once every answer is in.
pub async fn drive<S: Sink>(
    client: HttpClient,
    target: Arc<Target>,
    due: impl IntoIterator<Item = Duration>,
    cfg: Drive,
    sink: S,
    progress: ProgressBar,
) -> (S, Sending) {
    let mut sink = sink;
    let slots = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
    let header = cfg.read_header.map(Arc::new);
    let mut tasks = tokio::task::JoinSet::new();
    let (mut sent, mut late, mut max_lateness) = (0u64, 0u64, Duration::ZERO);
    let start = cfg.start;
    for offset in due {
        let due = start + offset;
        // Tokio's timer would send up to 2 ms late; see `lb_live::precise`.
        lb_live::precise::sleep_until(due.into_std()).await;
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let lateness = Instant::now().saturating_duration_since(due);
        if lateness > LATE {
            late += 1;
        }
        max_lateness = max_lateness.max(lateness);
        sent += 1;
        let (c, t, h) = (client.clone(), Arc::clone(&target), header.clone());
        tasks.spawn(async move {
            let reply = c.send_reading(&t, h.as_deref()).await;
            let latency = Instant::now().saturating_duration_since(due);
            drop(permit);
            Answered {
                due: offset,
                latency,
                answer: reply.answer,
                header: reply.header,
                error_body: reply.error_body,
            }
        });
        while let Some(done) = tasks.try_join_next() {
            if let Ok(a) = done {
                sink.take(a);
            }
        }
        progress.set_position(offset.as_secs());
    }
    // Sending lasted the schedule, or longer when the scheduler fell behind.
    let elapsed = start.elapsed().max(cfg.until);
    while let Some(done) = tasks.join_next().await {
        if let Ok(a) = done {
            sink.take(a);
        }
    }
    (
        sink,
        Sending {
            sent,
            late,
            max_lateness,
            elapsed,
        },
    )
}

/// The due offsets of `cfg`: `i / rate`, or a seeded Poisson process, below `cfg.duration`.
pub fn due_times(cfg: &OpenLoop) -> impl Iterator<Item = Duration> + use<> {
    let (rate, poisson, end_s) = (cfg.rate, cfg.poisson, cfg.duration.as_secs_f64());
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (mut due_s, mut i) = (0.0f64, 0u64);
    std::iter::from_fn(move || {
        if due_s >= end_s {
            return None;
        }
        let this = due_s;
        i += 1;
        // Even spacing from the index (no drift from summing gaps); Poisson gaps summed.
        due_s = if poisson {
            let u: f64 = 1.0 - rng.random::<f64>();
            due_s - u.ln() / rate
        } else {
            i as f64 / rate
        };
        Some(Duration::from_secs_f64(this))
    })
}

/// Run an open-loop load against `target`.
pub async fn run(
    client: HttpClient,
    target: Arc<Target>,
    cfg: OpenLoop,
    progress: ProgressBar,
) -> RunStats {
    let d = Drive {
        start: Instant::now(),
        until: cfg.duration,
        max_in_flight: cfg.max_in_flight,
        read_header: None,
    };
    let (recorder, s) = drive(
        client,
        target,
        due_times(&cfg),
        d,
        Recorder::default(),
        progress,
    )
    .await;
    RunStats {
        recorder,
        sent: s.sent,
        late: s.late,
        max_lateness: s.max_lateness,
        elapsed: s.elapsed,
        target_rate: Some(cfg.rate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_due_times_start_at_zero_and_never_drift() {
        let cfg = OpenLoop {
            rate: 3.0,
            duration: Duration::from_secs(2),
            poisson: false,
            seed: 1,
            max_in_flight: 1,
        };
        let due: Vec<f64> = due_times(&cfg).map(|d| d.as_secs_f64()).collect();
        assert_eq!(due.len(), 6);
        assert_eq!(due[0], 0.0);
        assert!((due[5] - 5.0 / 3.0).abs() < 1e-9, "{due:?}");
        let poisson = OpenLoop {
            poisson: true,
            rate: 1000.0,
            ..cfg
        };
        let a: Vec<Duration> = due_times(&poisson).collect();
        assert_eq!(a, due_times(&poisson).collect::<Vec<_>>(), "seeded");
        assert!((1800..=2200).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }
}
