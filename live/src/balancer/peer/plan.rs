//! What mirroring changes: the peer's state as a [`Snapshot`] (read from its `/admin/status`),
//! this balancer's as another, and [`plan`], the list of [`Change`]s that makes the second
//! look like the first. Pure, so every rule is tested without a network.
//!
//! Mirrored: the workers (address, weight, draining), the mode and, in manual mode, the pinned
//! algorithm. Not mirrored: health, ejections and statistics, which each balancer measures for
//! itself; in adaptive mode the algorithm, which each balancer's engine chooses from its own
//! traffic.

use crate::balancer::state::Status;
use lb_core::Algorithm;
use lb_core::engine::Mode;
use serde::Deserialize;
use std::net::SocketAddr;

/// One worker as mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its weight.
    pub weight: u32,
    /// Draining: no new requests.
    pub draining: bool,
}

/// The mirrored part of a balancer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The algorithm in use.
    pub algorithm: Algorithm,
    /// Adaptive or manual.
    pub mode: Mode,
    /// The workers, in pool order.
    pub workers: Vec<Member>,
}

/// One step towards the peer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add a worker the peer has.
    Add(Member),
    /// Remove a worker the peer does not have (or has with another weight, before adding it
    /// back).
    Remove(SocketAddr),
    /// Drain a worker, or take it back.
    Drain(SocketAddr, bool),
    /// Pin this algorithm (manual mode).
    Pin(Algorithm),
    /// Let the engine choose (adaptive mode).
    Adaptive,
}

/// Why a peer's status cannot be mirrored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("field `{field}`: {reason}")]
pub struct BadStatus {
    /// Which field (`workers[2].addr`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The part of `/admin/status` that is mirrored, as the peer sends it (other fields ignored).
#[derive(Debug, Deserialize)]
pub struct WireStatus {
    algorithm: String,
    mode: String,
    workers: Vec<WireWorker>,
}

#[derive(Debug, Deserialize)]
struct WireWorker {
    addr: String,
    weight: u32,
    draining: bool,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> BadStatus {
    BadStatus {
        field: field.into(),
        reason: reason.into(),
    }
}

impl WireStatus {
    /// Check every field: names of an algorithm and a mode, `ip:port` addresses.
    pub fn snapshot(&self) -> Result<Snapshot, BadStatus> {
        let algorithm = self
            .algorithm
            .parse::<Algorithm>()
            .map_err(|e| bad("algorithm", e.to_string()))?;
        let mode = self
            .mode
            .parse::<Mode>()
            .map_err(|e| bad("mode", e.to_string()))?;
        let mut workers = Vec::with_capacity(self.workers.len());
        for (i, w) in self.workers.iter().enumerate() {
            let addr = w.addr.parse::<SocketAddr>().map_err(|_| {
                bad(
                    format!("workers[{i}].addr"),
                    format!("{:?} is not ip:port", w.addr),
                )
            })?;
            if w.weight == 0 {
                return Err(bad(format!("workers[{i}].weight"), "must be at least 1"));
            }
            workers.push(Member {
                addr,
                weight: w.weight,
                draining: w.draining,
            });
        }
        Ok(Snapshot {
            algorithm,
            mode,
            workers,
        })
    }
}

impl Snapshot {
    /// The mirrored part of this balancer's own status (its labels are its addresses).
    pub fn of(status: &Status) -> Snapshot {
        Snapshot {
            algorithm: status.algorithm.parse().unwrap_or(Algorithm::RoundRobin),
            mode: status.mode.parse().unwrap_or(Mode::Manual),
            workers: status
                .workers
                .iter()
                .filter_map(|w| {
                    Some(Member {
                        addr: w.addr.parse().ok()?,
                        weight: w.weight,
                        draining: w.draining,
                    })
                })
                .collect(),
        }
    }
}

/// The changes that make `local` mirror `peer`: a reweighted worker goes out and comes back
/// with the peer's weight; then additions (so the pool does not shrink on the way), draining,
/// removals, and last the mode.
pub fn plan(local: &Snapshot, peer: &Snapshot) -> Vec<Change> {
    let mine = |addr: SocketAddr| local.workers.iter().find(|w| w.addr == addr);
    let mut changes = Vec::new();
    for p in &peer.workers {
        if mine(p.addr).is_some_and(|m| m.weight != p.weight) {
            changes.push(Change::Remove(p.addr));
        }
    }
    let mut drains = Vec::new();
    for p in &peer.workers {
        match mine(p.addr) {
            Some(m) if m.weight == p.weight => {
                if m.draining != p.draining {
                    drains.push(Change::Drain(p.addr, p.draining));
                }
            }
            // New, or just removed to be reweighted: a worker is added taking requests.
            _ => {
                changes.push(Change::Add(*p));
                if p.draining {
                    drains.push(Change::Drain(p.addr, true));
                }
            }
        }
    }
    changes.extend(drains);
    for m in &local.workers {
        if !peer.workers.iter().any(|p| p.addr == m.addr) {
            changes.push(Change::Remove(m.addr));
        }
    }
    match peer.mode {
        Mode::Manual if local.mode != Mode::Manual || local.algorithm != peer.algorithm => {
            changes.push(Change::Pin(peer.algorithm));
        }
        Mode::Adaptive if local.mode != Mode::Adaptive => changes.push(Change::Adaptive),
        _ => {}
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(port: u16, weight: u32, draining: bool) -> Member {
        Member {
            addr: SocketAddr::from(([10, 0, 0, 1], port)),
            weight,
            draining,
        }
    }

    fn snap(algorithm: Algorithm, mode: Mode, workers: &[Member]) -> Snapshot {
        Snapshot {
            algorithm,
            mode,
            workers: workers.to_vec(),
        }
    }

    #[test]
    fn the_same_state_needs_no_change() {
        let s = snap(Algorithm::RoundRobin, Mode::Manual, &[member(1, 1, false)]);
        assert_eq!(plan(&s, &s), vec![]);
        // In adaptive mode each engine picks its own algorithm.
        let a = snap(Algorithm::RoundRobin, Mode::Adaptive, &[]);
        let b = snap(Algorithm::PeakEwma, Mode::Adaptive, &[]);
        assert_eq!(plan(&a, &b), vec![]);
    }

    #[test]
    fn workers_are_added_drained_reweighted_and_removed_adds_first() {
        let local = snap(
            Algorithm::RoundRobin,
            Mode::Manual,
            &[
                member(1, 1, false),
                member(2, 1, false),
                member(3, 1, false),
            ],
        );
        let peer = snap(
            Algorithm::RoundRobin,
            Mode::Manual,
            &[member(1, 1, true), member(3, 5, true), member(4, 2, false)],
        );
        let a = |p: u16| SocketAddr::from(([10, 0, 0, 1], p));
        assert_eq!(
            plan(&local, &peer),
            vec![
                Change::Remove(a(3)),
                Change::Add(member(3, 5, true)),
                Change::Add(member(4, 2, false)),
                Change::Drain(a(1), true),
                Change::Drain(a(3), true),
                Change::Remove(a(2)),
            ]
        );
    }

    #[test]
    fn a_pinned_algorithm_and_the_mode_are_mirrored() {
        let adaptive = snap(Algorithm::RoundRobin, Mode::Adaptive, &[]);
        let pinned = snap(Algorithm::LeastConnections, Mode::Manual, &[]);
        assert_eq!(
            plan(&adaptive, &pinned),
            vec![Change::Pin(Algorithm::LeastConnections)]
        );
        let other = snap(Algorithm::RoundRobin, Mode::Manual, &[]);
        assert_eq!(
            plan(&other, &pinned),
            vec![Change::Pin(Algorithm::LeastConnections)]
        );
        assert_eq!(plan(&pinned, &adaptive), vec![Change::Adaptive]);
    }

    #[test]
    fn a_bad_status_names_the_field() {
        let parse = |json: &str| {
            serde_json::from_str::<WireStatus>(json)
                .expect("json")
                .snapshot()
        };
        let ok = parse(
            r#"{"algorithm":"peak_ewma","mode":"manual","available":1,
                "workers":[{"addr":"10.0.0.1:1","weight":2,"draining":false,"healthy":true}]}"#,
        )
        .expect("valid");
        assert_eq!(ok.algorithm, Algorithm::PeakEwma);
        assert_eq!(ok.workers, vec![member(1, 2, false)]);
        let e = parse(r#"{"algorithm":"fastest","mode":"manual","workers":[]}"#).unwrap_err();
        assert_eq!(e.field, "algorithm");
        let e = parse(r#"{"algorithm":"round_robin","mode":"auto","workers":[]}"#).unwrap_err();
        assert_eq!(e.field, "mode");
        let e = parse(
            r#"{"algorithm":"round_robin","mode":"manual",
                "workers":[{"addr":"x","weight":1,"draining":false}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "workers[0].addr");
        assert!(e.reason.contains("\"x\""), "{e}");
    }
}
