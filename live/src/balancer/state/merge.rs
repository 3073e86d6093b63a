//! Merging the shards' observations worker by worker, so that one decision engine sees the
//! whole pool: counts summed, means weighted by their counts, in flight summed, a worker
//! available if any shard may send it requests.

use lb_core::engine::WorkerObservation;
use lb_core::stats::WindowSnapshot;

/// Merge one shard's observations into the running merge (`first`: the merge is empty).
pub(super) fn merge_observations(
    merged: &mut Vec<WorkerObservation>,
    o: &[WorkerObservation],
    first: bool,
) {
    if first {
        merged.clear();
        merged.extend_from_slice(o);
        return;
    }
    for (m, x) in merged.iter_mut().zip(o) {
        let (a, b) = (m.window, x.window);
        let requests = a.requests + b.requests;
        let errors = a.errors + b.errors;
        let weighted = |p: Option<lb_core::time::Duration>,
                        np: u64,
                        q: Option<lb_core::time::Duration>,
                        nq: u64| {
            let total = np + nq;
            if total == 0 {
                return p.or(q);
            }
            let ns = p.map_or(0.0, |d| d.as_nanos() as f64) * np as f64
                + q.map_or(0.0, |d| d.as_nanos() as f64) * nq as f64;
            Some(lb_core::time::Duration::from_nanos(
                (ns / total as f64) as u64,
            ))
        };
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
