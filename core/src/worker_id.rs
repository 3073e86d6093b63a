//! Stable worker identities: a slot and a generation, as in a generational slot map.
//!
//! A worker keeps its [`WorkerId`] for as long as it is in the pool: adding or removing other
//! workers never renumbers it (Pingora keys a backend by its hash, not its position, for the same
//! reason). The *slot* is the worker's position in the balancer's tables, where the algorithms
//! find it; when a worker leaves, its slot stays empty until a new worker takes it, with the
//! next *generation*, so a response still in flight for the old worker can never be booked
//! against the new one.
//!
//! Humans never see ids: every decision, log line and status names a worker by the *label* its
//! caller gave it (the address in live mode, `w3` in the simulator).

use std::fmt;

/// One worker's identity in a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId {
    slot: u32,
    generation: u32,
}

impl WorkerId {
    /// The id of the worker in `slot`, of the given `generation`.
    pub const fn new(slot: u32, generation: u32) -> Self {
        WorkerId { slot, generation }
    }

    /// The first worker ever in `slot` (generation 0): in a pool built once and never changed,
    /// worker `i` of the list is `WorkerId::first(i)`.
    pub const fn first(slot: u32) -> Self {
        WorkerId::new(slot, 0)
    }

    /// Where the worker sits in the balancer's tables.
    pub const fn slot(self) -> usize {
        self.slot as usize
    }

    /// How many workers held this slot before this one.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.slot, self.generation)
    }
}
