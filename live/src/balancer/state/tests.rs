//! The locks around core's composition, on fake worker addresses (nothing is proxied).

use super::*;

fn shards(shards: usize, n: usize) -> Arc<Shared> {
    let workers: Vec<(SocketAddr, u32)> = (1..=n)
        .map(|i| (format!("127.0.0.1:{i}").parse().unwrap(), 1))
        .collect();
    Shared::with_shards(
        BalancerConfig::new(Algorithm::RoundRobin),
        EngineConfig::default(),
        false,
        &workers,
        1,
        shards,
    )
    .unwrap()
}

fn addr(i: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], i))
}

#[test]
fn shards_pick_independently_and_status_sums_them() {
    let s = shards(2, 3);
    let a = s.pick(0).unwrap();
    let b = s.pick(1).unwrap();
    assert_eq!((a.shard, b.shard), (0, 1));
    // Each shard runs its own round robin: both start at the first worker.
    assert_eq!(a.id, b.id);
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
    let s = shards(2, 2);
    let k = s.workers()[1].id;
    for _ in 0..3 {
        s.on_probe(k, false);
    }
    for shard in 0..2 {
        for _ in 0..4 {
            let p = s.pick(shard).unwrap();
            assert_ne!(p.id, k, "shard {shard} picked a down worker");
            s.on_response(&p, Duration::from_millis(1), Outcome::Ok);
        }
    }
    s.set_algorithm(Algorithm::LeastConnections);
    assert_eq!(s.status().algorithm, "least_connections");
    for i in 0..2 {
        assert_eq!(s.shard(i).lb.algorithm(), Algorithm::LeastConnections);
    }
    let new = s.add_worker(addr(9), 2).unwrap();
    assert_eq!(
        s.add_worker(addr(9), 1),
        Err(StateError::DuplicateWorker(addr(9)))
    );
    s.set_draining(addr(9), true).unwrap();
    for i in 0..2 {
        assert_eq!(s.shard(i).lb.worker_count(), 3);
        assert!(s.shard(i).lb.is_draining(new));
    }
    s.remove_worker(addr(9)).unwrap();
    assert_eq!(s.status().workers.len(), 2);
    assert_eq!(
        s.remove_worker(addr(9)),
        Err(StateError::UnknownWorker(addr(9)))
    );
}

#[test]
fn a_worker_failing_behind_two_shards_is_ejected_once_everywhere() {
    let s = shards(2, 3);
    let bad = s.workers()[1].id;
    let mut errors = 0;
    for n in 0..100 {
        let p = s.pick(n % 2).unwrap();
        let outcome = if p.id == bad {
            errors += 1;
            Outcome::Refused
        } else {
            Outcome::Ok
        };
        s.on_response(&p, Duration::from_millis(1), outcome);
    }
    // The pool's run of five failures ejected it; neither shard sent it another request.
    assert_eq!(errors, 5);
    let st = s.status();
    assert_eq!(st.ejections, 1);
    assert!(st.workers[1].ejected && !st.workers[1].available);
    for i in 0..2 {
        assert!(s.shard(i).lb.is_ejected(bad));
    }
}

#[test]
fn removing_a_worker_in_the_middle_keeps_the_others_state() {
    let s = shards(2, 4);
    let ids: Vec<WorkerId> = s.workers().iter().map(|w| w.id).collect();
    // Traffic on every worker, worker 4 ejected, worker 1 with a request in flight.
    for n in 0..40 {
        let p = s.pick(n % 2).unwrap();
        let outcome = if p.id == ids[3] {
            Outcome::Refused
        } else {
            Outcome::Ok
        };
        s.on_response(&p, Duration::from_millis(2), outcome);
    }
    let busy = s.pick(0).unwrap();
    let before = s.status();
    assert!(before.workers[3].ejected);
    s.remove_worker(addr(2)).unwrap();
    let after = s.status();
    let kept: Vec<WorkerStatus> = before
        .workers
        .iter()
        .filter(|w| w.addr != "127.0.0.1:2")
        .cloned()
        .collect();
    assert_eq!(after.workers, kept);
    assert_eq!(after.ejections, 1);
    let still: Vec<WorkerId> = s.workers().iter().map(|w| w.id).collect();
    assert_eq!(still, [ids[0], ids[2], ids[3]], "nobody renumbered");
    s.on_response(&busy, Duration::from_millis(2), Outcome::Ok);
    assert_eq!(s.in_flight(addr(1)), Some(0));
}
