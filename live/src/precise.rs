//! Sleeps accurate to tens of microseconds, for emulated service times and scheduled sends.
//!
//! Tokio's timer wheel counts whole milliseconds: a deadline is rounded up to the next tick and
//! the driver waits in `epoll` with a millisecond timeout, so `tokio::time::sleep(8 ms)` ends
//! somewhere from 8 to 10 ms later, and `sleep(0)` still waits for the next tick. Measured on the
//! 2-core development machine, through `lb-loadgen run` at 100 requests/s: a worker with a
//! constant 8 ms service time answered in 11.0 ms at the median, and one with no service time at
//! all in 2.4 ms. Half of that was the worker oversleeping and half the generator sending late.
//! For a balancer that is noise; for a testbed that compares live runs with a simulator serving
//! exactly the drawn time, it was the largest single difference (live p50 36% above the
//! simulator's on every live scenario).
//!
//! [`sleep_until`] hands its deadline to one timer thread per process instead. The thread keeps
//! the deadlines in a heap and waits for the earliest with `Receiver::recv_timeout`, a futex
//! wait with a nanosecond timeout that the kernel honours to within its timer slack (50 us by
//! default), then wakes the sleeping task through a oneshot channel. A deadline already passed
//! returns at once without touching the thread. If the thread cannot be started, sleeps fall
//! back to tokio's timer.
//!
//! The cost is one small allocation and one cross-thread wake-up per sleep: negligible next to
//! an HTTP request, and the thread sleeps whenever no deadline is near.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One sleeping task.
#[derive(Debug)]
struct Entry {
    at: Instant,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at)
    }
}

/// The timer thread's inbox, started on first use.
fn timer() -> Option<&'static mpsc::Sender<Entry>> {
    static TIMER: OnceLock<Option<mpsc::Sender<Entry>>> = OnceLock::new();
    TIMER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("precise-timer".into())
                .spawn(move || run(&rx))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// The timer thread: wake every task whose deadline passed, wait for the next deadline or a new
/// entry, until every sender is gone.
fn run(rx: &mpsc::Receiver<Entry>) {
    let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|e| e.at <= now) {
            if let Some(e) = heap.pop() {
                // The sleeper may be gone (its request cancelled): nothing to wake.
                let _ = e.wake.send(());
            }
        }
        let next = match heap.peek() {
            Some(e) => rx.recv_timeout(e.at.saturating_duration_since(now)),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(e) => heap.push(e),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Sleep until `at` (see the module docs).
pub async fn sleep_until(at: Instant) {
    if at <= Instant::now() {
        return;
    }
    let (wake, woken) = oneshot::channel();
    match timer() {
        Some(tx) if tx.send(Entry { at, wake }).is_ok() => {
            // An error means the timer thread died: the deadline may not have passed.
            if woken.await.is_err() {
                tokio::time::sleep_until(at.into()).await;
            }
        }
        _ => tokio::time::sleep_until(at.into()).await,
    }
}

/// Sleep for `d` (see the module docs).
pub async fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(at) => sleep_until(at).await,
        None => tokio::time::sleep(d).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleeps_end_after_their_deadline_in_deadline_order() {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Started in reverse order of their deadlines.
        for ms in [30u64, 20, 10, 0] {
            let tx = tx.clone();
            tokio::spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                let _ = tx.send((ms, start.elapsed()));
            });
        }
        drop(tx);
        let mut order = Vec::new();
        while let Some((ms, took)) = rx.recv().await {
            assert!(
                took >= Duration::from_millis(ms),
                "{ms} ms sleep ended after {took:?}"
            );
            order.push(ms);
        }
        assert_eq!(order, [0, 10, 20, 30]);
    }

    #[tokio::test]
    async fn a_deadline_in_the_past_returns_at_once() {
        let past = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), sleep_until(past))
            .await
            .expect("no wait for a passed deadline");
        tokio::time::timeout(Duration::from_secs(5), sleep(Duration::ZERO))
            .await
            .expect("no wait for zero");
    }

    #[tokio::test]
    async fn a_dropped_sleeper_does_not_stop_the_others() {
        let dropped = tokio::spawn(sleep(Duration::from_millis(5)));
        dropped.abort();
        tokio::time::timeout(Duration::from_secs(5), sleep(Duration::from_millis(10)))
            .await
            .expect("the timer thread still wakes sleepers");
    }
}
