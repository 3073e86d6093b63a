//! The proxy's request handling: arbitrary bytes as one HTTP/1 connection.
//!
//! One rig per process: a tokio runtime, one real `lb-worker` (the library's server, 0 ms
//! service, 64 slots) on a free port of 127.0.0.1, a `Proxy` whose pool is that worker, and
//! the balancer's tick (ejection expiry) on real time.
//! Each input is written into one end of an in-memory duplex stream while the other end is
//! served by hyper's HTTP/1 server with `Proxy::handle` as the service, as `proxy::serve` does
//! for a TCP connection (keep-alive on; half-close on, so that a request followed by the end of
//! the input is still answered). The answer is read and dropped. Each connection gets
//! [`DEADLINE`]; past it the connection is dropped, as a client going away would.
//!
//! Checks: nothing panics (hyper's connection task included), and once the connection is gone
//! the worker has no request counted in flight: every pick is booked or cancelled.
//! Requests reach the worker as sent, its fault API included; the fault is cleared after each
//! input so that one input's `hang` does not stall the next.

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lb_core::engine::EngineConfig;
use lb_core::scenario::model::ServiceFile;
use lb_core::{Algorithm, BalancerConfig};
use lb_live::balancer::Shared;
use lb_live::balancer::proxy::{Proxy, Timeouts};
use lb_live::worker::{WorkerConfig, WorkerState};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// The longest one input's connection may take.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The proxy's wait for the worker's answer (below [`DEADLINE`], so 504s are reached).
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

struct Rig {
    rt: Runtime,
    proxy: Arc<Proxy>,
    shared: Arc<Shared>,
    worker: WorkerState,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(build_rig)
}

fn build_rig() -> Rig {
    // See Cargo.toml: a Rust binary ignores SIGPIPE, libFuzzer's main does not.
    let sigpipe = Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGPIPE, sigpipe).expect("SIGPIPE handler");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let worker = WorkerState::new(WorkerConfig {
        name: "fuzz-worker".into(),
        concurrency: 64,
        service: ServiceFile::Constant { ms: 0.0 },
        seed: Some(1),
        ..WorkerConfig::default()
    })
    .expect("a valid worker config");
    let (proxy, shared) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(lb_live::worker::serve(
            listener,
            worker.clone(),
            std::future::pending(),
        ));
        let shared = Shared::new(
            BalancerConfig::new(Algorithm::RoundRobin),
            EngineConfig::default(),
            false,
            &[(addr, 1)],
            1,
        )
        .expect("one valid worker");
        // Ejections expire on the tick, as in the real balancer; without it one input that
        // gets the worker ejected would leave every later one a 503.
        tokio::spawn(lb_live::balancer::tick::run(
            Arc::clone(&shared),
            Duration::from_millis(100),
            std::future::pending(),
        ));
        let timeouts = Timeouts {
            connect: Duration::from_millis(200),
            request: REQUEST_TIMEOUT,
            per_try: REQUEST_TIMEOUT,
            body: REQUEST_TIMEOUT,
        };
        (Proxy::new(Arc::clone(&shared), timeouts), shared)
    });
    Rig {
        rt,
        proxy,
        shared,
        worker,
    }
}

/// Serve `data` as one client connection, then check that nothing is left in flight.
pub fn run(data: &[u8]) {
    let rig = rig();
    rig.rt.block_on(one_connection(rig, data));
    rig.worker.clear_fault();
    let left: Vec<(String, u32)> = rig
        .shared
        .status()
        .workers
        .into_iter()
        .filter(|w| w.in_flight > 0)
        .map(|w| (w.addr, w.in_flight))
        .collect();
    assert!(
        left.is_empty(),
        "requests still counted in flight: {left:?}"
    );
}

async fn one_connection(rig: &Rig, data: &[u8]) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let proxy = Arc::clone(&rig.proxy);
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let svc = hyper::service::service_fn(move |req| {
        let p = Arc::clone(&proxy);
        async move { Ok::<_, std::convert::Infallible>(p.handle(req, peer, 0).await) }
    });
    let mut http = http1::Builder::new();
    http.keep_alive(true).half_close(true);
    let conn = http.serve_connection(TokioIo::new(server), svc);
    let (mut rx, mut tx) = tokio::io::split(client);
    let send = async {
        let _ = tx.write_all(data).await;
        let _ = tx.shutdown().await;
    };
    let receive = async {
        let mut sink = vec![0u8; 64 * 1024];
        while let Ok(n) = rx.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    // Ends when hyper closes the connection (the client's requests answered, or an error),
    // or at the deadline; dropping it then drops the requests still in progress.
    let _ = tokio::time::timeout(DEADLINE, async { tokio::join!(conn, send, receive) }).await;
}
