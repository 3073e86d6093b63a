//! Closed loop: `connections` tasks, each sending its next request as soon as the last one
//! answered, for a fixed time. Exactly that many requests are in flight at any moment (but for
//! the instant between an answer and the next send), which is how peak throughput is found.
//! Latency runs from the actual send: a closed loop cannot see what it did not send.

use crate::client::HttpClient;
use crate::open_loop::RunStats;
use crate::record::Recorder;
use crate::target::Target;
use indicatif::ProgressBar;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Run a closed-loop load against `target` with `connections` concurrent requests.
pub async fn run(
    client: HttpClient,
    target: Arc<Target>,
    connections: usize,
    duration: Duration,
    progress: ProgressBar,
) -> RunStats {
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (c, t) = (client.clone(), Arc::clone(&target));
        tasks.spawn(async move {
            let mut r = Recorder::default();
            let mut sent = 0u64;
            loop {
                let s = Instant::now();
                if s >= end {
                    break;
                }
                sent += 1;
                let answer = c.send(&t).await;
                r.record(s - start, s.elapsed(), answer);
            }
            (r, sent)
        });
    }
    let mut recorder = Recorder::default();
    let mut sent = 0;
    let ticker = {
        let p = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                p.set_position(start.elapsed().as_secs());
            }
        })
    };
    while let Some(done) = tasks.join_next().await {
        if let Ok((r, n)) = done {
            recorder.merge(&r);
            sent += n;
        }
    }
    ticker.abort();
    RunStats {
        recorder,
        sent,
        late: 0,
        max_lateness: Duration::ZERO,
        elapsed: duration.min(start.elapsed()),
        target_rate: None,
    }
}
