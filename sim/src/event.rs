//! The event queue: a min-heap of events ordered by (virtual time, sequence number).
//!
//! Two events at the same instant run in the order they were scheduled. Without the sequence
//! number, ties would break however the heap happens to lay them out, and a run would no longer
//! be reproducible.

use lb_core::Instant;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A request's handle: its slot in the request table and that slot's generation, so that an
/// event for a request that has since finished (and whose slot was reused) is recognised as stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqId {
    /// Index in the request table.
    pub slot: u32,
    /// Generation of that slot when the request took it.
    pub generation: u32,
}

/// Everything that can happen in the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next request arrives at the balancer.
    Arrival,
    /// A request crosses the network and reaches its worker.
    AtWorker(ReqId),
    /// A worker finishes serving a request (stale if the worker crashed since: `epoch`).
    ServiceDone {
        /// The worker.
        worker: u32,
        /// The worker's crash count when service started.
        epoch: u32,
        /// The request.
        req: ReqId,
    },
    /// A worker's answer crosses the network back to the balancer.
    AtBalancer {
        /// The request.
        req: ReqId,
        /// How it ended (ok, error, refused).
        outcome: u8,
    },
    /// The balancer sends a health probe to a worker.
    Probe {
        /// The worker probed.
        worker: u32,
    },
    /// A probe's result reaches the balancer.
    ProbeResult {
        /// The worker probed.
        worker: u32,
        /// Whether it answered healthy in time.
        ok: bool,
    },
    /// Once a second: balancer housekeeping and a time-series row.
    Tick,
    /// The fault at this index of the scenario's timeline happens.
    Fault(u32),
    /// The switch at this index of the scenario's `[[switches]]` happens (`scripted` and
    /// `oracle` runs only).
    Switch(u32),
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending events in time order.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
    popped: u64,
}

impl EventQueue {
    /// Schedule `event` at `at`.
    #[inline]
    pub fn push(&mut self, at: Instant, event: Event) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            event,
        });
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    /// Remove and return the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Instant, Event)> {
        let e = self.heap.pop()?;
        self.popped += 1;
        Some((e.at, e.event))
    }

    /// Events processed so far.
    pub fn processed(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_in_scheduling_order() {
        let mut q = EventQueue::default();
        let t = |n| Instant::from_nanos(n);
        q.push(t(5), Event::Tick);
        q.push(t(1), Event::Probe { worker: 1 });
        q.push(t(5), Event::Fault(0));
        q.push(t(1), Event::Probe { worker: 2 });
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (t(1), Event::Probe { worker: 1 }),
                (t(1), Event::Probe { worker: 2 }),
                (t(5), Event::Tick),
                (t(5), Event::Fault(0)),
            ]
        );
        assert_eq!(q.processed(), 4);
    }
}
