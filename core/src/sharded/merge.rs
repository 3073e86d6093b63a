//! Merging the shards' observations worker by worker, so that one decision engine sees the
//! whole pool: counts summed, means weighted by their counts, in flight summed, a worker
//! available if any shard may send it requests. With one shard the merge is that shard's
//! observation, unchanged.

use crate::engine::WorkerObservation;
use crate::stats::WindowSnapshot;
use crate::time::Duration;

/// Merge one shard's observations into the running merge (`first`: the merge is empty). Every
/// shard lists the same workers in the same order.
pub(super) fn merge_observations(
    merged: &mut Vec<WorkerObservation>,
    shard: &[WorkerObservation],
    first: bool,
) {
    if first {
        merged.clear();
        merged.extend_from_slice(shard);
        return;
    }
    debug_assert_eq!(merged.len(), shard.len(), "shards list the same workers");
    for (m, x) in merged.iter_mut().zip(shard) {
        debug_assert_eq!(m.id, x.id, "shards list the workers in the same order");
        let (a, b) = (m.window, x.window);
        let requests = a.requests + b.requests;
        let errors = a.errors + b.errors;
        m.window = WindowSnapshot {
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            mean: weighted(a.mean, a.requests, b.mean, b.requests),
            error_mean: weighted(a.error_mean, a.errors, b.error_mean, b.errors),
            p50: None,
            p90: None,
            p99: None,
            span: a.span.max(b.span),
        };
        m.latency_ewma = weighted(m.latency_ewma, a.requests, x.latency_ewma, b.requests);
        m.available |= x.available;
        m.in_flight += x.in_flight;
        m.last_response = m.last_response.max(x.last_response);
    }
}

/// The mean of two means `p` over `np` samples and `q` over `nq`; with no samples, whichever
/// exists.
fn weighted(p: Option<Duration>, np: u64, q: Option<Duration>, nq: u64) -> Option<Duration> {
    let total = np + nq;
    if total == 0 {
        return p.or(q);
    }
    let ns = p.map_or(0.0, |d| d.as_nanos() as f64) * np as f64
        + q.map_or(0.0, |d| d.as_nanos() as f64) * nq as f64;
    Some(Duration::from_nanos((ns / total as f64) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(requests: u64, errors: u64, mean_ms: u64, in_flight: u32) -> WorkerObservation {
        WorkerObservation {
            available: true,
            in_flight,
            window: WindowSnapshot {
                requests,
                errors,
                mean: (requests > 0).then(|| Duration::from_millis(mean_ms)),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn counts_add_up_and_means_are_weighted_by_their_counts() {
        let mut m = Vec::new();
        merge_observations(&mut m, &[obs(30, 3, 10, 1)], true);
        merge_observations(&mut m, &[obs(10, 2, 50, 2)], false);
        let w = &m[0].window;
        assert_eq!((w.requests, w.errors, m[0].in_flight), (40, 5, 3));
        assert!((w.error_rate - 0.125).abs() < 1e-12);
        assert_eq!(w.mean, Some(Duration::from_millis(20)));
    }

    #[test]
    fn the_first_shard_is_taken_as_it_is() {
        let one = [obs(7, 1, 12, 4)];
        let mut m = vec![obs(99, 9, 1, 9)];
        merge_observations(&mut m, &one, true);
        assert_eq!(m, one);
    }

    #[test]
    fn a_worker_is_available_if_any_shard_may_use_it() {
        let mut a = obs(0, 0, 0, 0);
        a.available = false;
        let mut m = Vec::new();
        merge_observations(&mut m, &[a], true);
        merge_observations(&mut m, &[obs(1, 0, 5, 0)], false);
        assert!(m[0].available);
        assert_eq!(m[0].window.mean, Some(Duration::from_millis(5)));
    }
}
