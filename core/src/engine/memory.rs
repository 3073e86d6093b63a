//! What the engine remembers about each worker between ticks: its own calm latency, and whether
//! it is a *suspect*.
//!
//! **Own baseline.** Comparing a worker only with the pool's median misses a worker that was
//! faster than the rest and slows down to just above the median: a big, weight-4 worker slowed
//! five times can sit under the skew threshold while still taking a third of the traffic. So each
//! worker's recent latency is also compared with its *own* calm latency, learnt while it looked
//! well, and divided by the pool's median of the same ratio: a whole pool that slows at once has
//! every ratio equal and nothing stands out, which is right, since no algorithm can route around
//! every worker.
//!
//! **Suspects.** A worker that a condition named stays suspect until it shows calm numbers again
//! with enough samples of its own. The cure hides the symptom: under peak EWMA a slow worker gets
//! so few requests that it may drop out of the conditions, and an ejected worker takes none at
//! all; without this memory the engine would conclude the pool is well, go back, and meet the
//! fault again. A suspect that stays out of rotation for `forget_unavailable` (crashed, removed)
//! is forgotten: the pool without it is what there is.

use super::config::EngineConfig;
use super::observation::Observation;
use crate::stats::Ewma;
use crate::time::{Duration, Instant};
use crate::worker_id::WorkerId;
use std::collections::BTreeMap;

/// One worker's memory.
#[derive(Clone, Debug)]
struct Remembered {
    /// Its calm latency, ms.
    base: Ewma,
    /// Named by a condition since then, and not yet seen calm.
    suspect_since: Option<Instant>,
    /// The last tick at which it took traffic.
    last_available: Instant,
    /// The last tick at which it was out of rotation (ejected, down, draining).
    last_unavailable: Option<Instant>,
}

/// The engine's memory of the workers (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Memory {
    workers: BTreeMap<WorkerId, Remembered>,
}

/// Time constant of a worker's own calm latency.
const BASE_TAU: Duration = Duration::from_secs(60);

impl Memory {
    /// Worker `id`'s calm latency, ms, once learnt.
    pub fn base_ms(&self, id: WorkerId) -> Option<f64> {
        self.workers.get(&id).and_then(|r| r.base.get())
    }

    /// Whether `id` is a suspect.
    pub fn is_suspect(&self, id: WorkerId) -> bool {
        self.workers
            .get(&id)
            .is_some_and(|r| r.suspect_since.is_some())
    }

    /// The suspects, in id order.
    pub fn suspects(&self) -> impl Iterator<Item = WorkerId> + '_ {
        self.workers
            .iter()
            .filter(|(_, r)| r.suspect_since.is_some())
            .map(|(id, _)| *id)
    }

    /// Whether `id` was out of rotation at some tick within `within` of `now`: outlier ejection
    /// or health checks are already acting on it.
    pub fn recently_out(&self, id: WorkerId, now: Instant, within: Duration) -> bool {
        self.workers
            .get(&id)
            .and_then(|r| r.last_unavailable)
            .is_some_and(|t| now - t <= within)
    }

    /// Whether any worker is a suspect.
    pub fn any_suspect(&self) -> bool {
        self.suspects().next().is_some()
    }

    /// Mark `id` a suspect (a condition named it).
    pub fn accuse(&mut self, id: WorkerId, now: Instant) {
        if let Some(r) = self.workers.get_mut(&id) {
            r.suspect_since.get_or_insert(now);
        }
    }

    /// Learn from one tick. `calm(i)` says whether worker `i` of the observation looked well
    /// this tick (enough samples, latency and errors within the calm thresholds): a calm worker
    /// is cleared and teaches its own baseline. Workers no longer in the observation are
    /// forgotten.
    pub fn learn(
        &mut self,
        obs: &Observation<'_>,
        cfg: &EngineConfig,
        calm: impl Fn(usize) -> bool,
    ) {
        let now = obs.now;
        self.workers
            .retain(|id, _| obs.workers.iter().any(|w| w.id == *id));
        for (i, w) in obs.workers.iter().enumerate() {
            let r = self.workers.entry(w.id).or_insert_with(|| Remembered {
                base: Ewma::new(BASE_TAU),
                suspect_since: None,
                last_available: now,
                last_unavailable: None,
            });
            if w.available {
                r.last_available = now;
            } else {
                r.last_unavailable = Some(now);
            }
            if !w.available && now - r.last_available >= cfg.forget_unavailable {
                r.suspect_since = None;
            }
            if w.available && calm(i) {
                r.suspect_since = None;
                if let Some(m) = w.recent_ms() {
                    r.base.observe(m, now);
                }
            }
        }
    }
}
