//! The shards and their merge, on fake worker addresses (nothing is proxied).

use super::*;
use lb_core::stats::WindowSnapshot;

fn two_shards(n: usize) -> Arc<Shared> {
    let workers: Vec<(SocketAddr, u32)> = (1..=n)
        .map(|i| (format!("127.0.0.1:{i}").parse().unwrap(), 1))
        .collect();
    Shared::with_shards(
        BalancerConfig::new(Algorithm::RoundRobin),
        EngineConfig::default(),
        false,
        &workers,
        1,
        2,
    )
    .unwrap()
}

#[test]
fn shards_pick_independently_and_status_sums_them() {
    let s = two_shards(3);
    let a = s.pick(0).unwrap();
    let b = s.pick(1).unwrap();
    assert_eq!((a.shard, b.shard), (0, 1));
    // Each shard runs its own round robin: both start at the first worker.
    assert_eq!(a.key, b.key);
    let st = s.status();
    assert_eq!(st.workers[0].in_flight, 2);
    s.on_response(&a, Duration::from_millis(10), Outcome::Ok);
    s.on_response(&b, Duration::from_millis(30), Outcome::Error);
    let st = s.status();
    assert_eq!(st.workers[0].in_flight, 0);
    assert_eq!(st.workers[0].requests_total, 2);
    assert_eq!(st.workers[0].errors_total, 1);
    assert_eq!(st.workers[0].window_requests, 2);
    assert_eq!(st.workers[0].window_error_rate, 0.5);
    assert!(st.workers[0].p99_ms.unwrap() > 25.0);
}

#[test]
fn health_and_admin_changes_reach_every_shard() {
    let s = two_shards(2);
    let k = s.workers()[1].key;
    for _ in 0..3 {
        s.on_probe(k, false);
    }
    for shard in 0..2 {
        for _ in 0..4 {
            let p = s.pick(shard).unwrap();
            assert_ne!(p.key, k, "shard {shard} picked a down worker");
            s.on_response(&p, Duration::from_millis(1), Outcome::Ok);
        }
    }
    s.set_algorithm(Algorithm::LeastConnections);
    assert_eq!(s.status().algorithm, "least_connections");
    for i in 0..2 {
        assert_eq!(s.shard(i).lb.algorithm(), Algorithm::LeastConnections);
    }
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    s.add_worker(addr, 2).unwrap();
    s.set_draining(addr, true).unwrap();
    for i in 0..2 {
        assert_eq!(s.shard(i).lb.worker_count(), 3);
        assert!(s.shard(i).lb.is_draining(2));
    }
    s.remove_worker(addr).unwrap();
    assert_eq!(s.status().workers.len(), 2);
    assert_eq!(s.remove_worker(addr), Err(StateError::UnknownWorker(addr)));
}

#[test]
fn merged_observations_sum_counts_and_weight_means() {
    let obs = |requests: u64, errors: u64, mean_ms: u64| WorkerObservation {
        available: requests > 0,
        weight: 1,
        in_flight: 1,
        window: WindowSnapshot {
            requests,
            errors,
            mean: Some(Duration::from_millis(mean_ms)),
            error_mean: (errors > 0).then(|| Duration::from_millis(1)),
            span: Duration::from_secs(10),
            ..WindowSnapshot::default()
        },
        latency_ewma: Some(Duration::from_millis(mean_ms)),
        last_response: None,
    };
    let mut m = Vec::new();
    merge_observations(&mut m, &[obs(100, 10, 10)], true);
    merge_observations(&mut m, &[obs(300, 0, 30)], false);
    let w = &m[0];
    assert_eq!(
        (w.window.requests, w.window.errors, w.in_flight),
        (400, 10, 2)
    );
    assert_eq!(w.window.error_rate, 10.0 / 400.0);
    assert_eq!(w.window.mean, Some(Duration::from_millis(25)));
    assert_eq!(w.window.error_mean, Some(Duration::from_millis(1)));
    assert_eq!(w.latency_ewma, Some(Duration::from_millis(25)));
    assert!(w.available);
}
