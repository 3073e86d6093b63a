//! The balancer against hostile or broken clients and workers, over real sockets on 127.0.0.1:
//! malformed and slow bodies, slow headers, connection floods, loops, hosts that close or hang,
//! requests a reverse proxy must refuse, cross-site admin requests. Every test is bounded by
//! short timeouts configured in the test.

use super::*;
use lb_live::balancer::config::{ConfigFile, Overrides, Settings};
use lb_live::balancer::server::{Running, start};
use lb_live::worker::WorkerConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Settings on ephemeral ports over `workers` (round robin, health checks every 100 ms), with
/// the extra TOML `extra` and flags changed by `tune`.
fn settings(workers: &[SocketAddr], extra: &str, tune: impl FnOnce(&mut Overrides)) -> Settings {
    let text = format!("{extra}\n[health]\ninterval_ms = 100\ntimeout_ms = 100\n");
    let file: ConfigFile = toml::from_str(&text).expect("test config");
    let mut flags = Overrides {
        listen: Some("127.0.0.1:0".into()),
        admin: Some("127.0.0.1:0".into()),
        workers: workers.iter().map(|a| a.to_string()).collect(),
        request_timeout_ms: Some(2000),
        ..Overrides::default()
    };
    tune(&mut flags);
    Settings::from_parts(file, "test", &flags).expect("valid test settings")
}

async fn worker() -> SocketAddr {
    spawn_worker(WorkerConfig::default()).await.0
}

/// Send `raw` on a new connection and read what comes back until the peer closes or `wait`
/// passes; returns the text (empty if nothing came).
async fn exchange(addr: SocketAddr, raw: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(raw).await;
    read_some(&mut s, wait).await
}

/// What arrives on `s` until it closes or `wait` passes.
async fn read_some(s: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `s` is closed by the peer within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let r = tokio::time::timeout(wait, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    r.is_ok()
}

fn status_of(text: &str) -> Option<u16> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The pool as `/admin/status` reports it: (worker, available, ejected).
fn pool(r: &Running) -> Vec<(String, bool, bool)> {
    r.shared
        .status()
        .workers
        .into_iter()
        .map(|w| (w.addr, w.available, w.ejected))
        .collect()
}

async fn get_ok(r: &Running, n: usize) -> usize {
    let c = client();
    let mut ok = 0;
    for _ in 0..n {
        let u = format!("http://{}/work", r.data_addr);
        if let Ok(resp) = c.get(&u).send().await {
            ok += usize::from(resp.status() == 200);
        }
    }
    ok
}

#[tokio::test]
async fn malformed_and_aborted_request_bodies_do_not_eject_the_worker() {
    let w = worker().await;
    let r = start(settings(&[w], "", |_| {}), 0).await.expect("start");
    // Ten malformed chunked bodies (twice the ejection threshold of 5 failures in a row).
    for _ in 0..10 {
        let raw = b"POST /work HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\n";
        let text = exchange(r.data_addr, raw, Duration::from_secs(3)).await;
        if let Some(code) = status_of(&text) {
            assert_eq!(code, 400, "malformed body answered {text:?}");
        }
    }
    // Ten uploads the client abandons half way.
    for _ in 0..10 {
        let mut s = TcpStream::connect(r.data_addr).await.expect("connect");
        let head = b"POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789";
        s.write_all(head).await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(s);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while r.shared.in_flight(w) != Some(0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool(&r), vec![(w.to_string(), true, false)]);
    assert_eq!(get_ok(&r, 5).await, 5);
    r.shutdown().await;
}

#[tokio::test]
async fn an_upload_slower_than_the_body_timeout_is_answered_408_and_not_counted() {
    let w = worker().await;
    let r = start(settings(&[w], "", |o| o.body_timeout_ms = Some(200)), 0)
        .await
        .expect("start");
    for _ in 0..8 {
        let head = b"POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234";
        let text = exchange(r.data_addr, head, Duration::from_secs(3)).await;
        assert_eq!(status_of(&text), Some(408), "slow upload answered {text:?}");
        assert!(text.contains("request body"), "{text}");
    }
    assert_eq!(pool(&r), vec![(w.to_string(), true, false)]);
    assert_eq!(get_ok(&r, 3).await, 3);
    r.shutdown().await;
}

#[tokio::test]
async fn an_upload_slower_than_the_request_timeout_is_not_counted_against_the_worker() {
    let w = worker().await;
    let r = start(
        settings(&[w], "", |o| {
            o.body_timeout_ms = Some(10_000);
            o.request_timeout_ms = Some(300);
        }),
        0,
    )
    .await
    .expect("start");
    for _ in 0..8 {
        let head = b"POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234";
        let text = exchange(r.data_addr, head, Duration::from_secs(3)).await;
        assert_eq!(status_of(&text), Some(408), "slow upload answered {text:?}");
    }
    assert_eq!(pool(&r), vec![(w.to_string(), true, false)]);
    assert_eq!(get_ok(&r, 3).await, 3);
    r.shutdown().await;
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed_and_the_cap_spares_the_admin_api() {
    let w = worker().await;
    let r = start(
        settings(&[w], "", |o| {
            o.header_timeout_ms = Some(300);
            o.idle_timeout_ms = Some(300);
            o.max_connections = Some(40);
        }),
        0,
    )
    .await
    .expect("start");
    // 60 slowloris connections: a partial request head each, never finished.
    let mut slow = Vec::new();
    for _ in 0..60 {
        let mut s = TcpStream::connect(r.data_addr).await.expect("connect");
        let _ = s.write_all(b"GET /work HTTP/1.1\r\nHo").await;
        slow.push(s);
    }
    // The admin API has a cap of its own: it answers while the data port is full.
    let st = client()
        .get(format!("http://{}/admin/status", r.admin_addr))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(st.status(), 200);
    // Every slow connection is closed within the header timeout (with margin), over the cap
    // ones at once.
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(3)).await,
            "slow header held"
        );
    }
    assert!(
        r.data_conns
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 20
    );
    // A kept-alive connection that has done one request is closed once idle.
    let mut s = TcpStream::connect(r.data_addr).await.expect("connect");
    s.write_all(b"GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut s, Duration::from_secs(3)).await,
        "idle held"
    );
    // Room again for normal traffic.
    assert_eq!(get_ok(&r, 3).await, 3);
    r.shutdown().await;
}

#[tokio::test]
async fn a_thousand_slow_header_connections_do_not_stop_normal_requests() {
    let w = worker().await;
    let r = start(
        settings(&[w], "", |o| {
            o.header_timeout_ms = Some(1500);
            o.max_connections = Some(4000);
        }),
        0,
    )
    .await
    .expect("start");
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let Ok(mut s) = TcpStream::connect(r.data_addr).await else {
            break;
        };
        let _ = s.write_all(b"GET / HTTP/1.1\r\n").await;
        slow.push(s);
    }
    assert_eq!(slow.len(), 1000);
    assert_eq!(get_ok(&r, 5).await, 5);
    let st = client()
        .get(format!("http://{}/admin/status", r.admin_addr))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(st.status(), 200);
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "slow header held"
        );
    }
    r.shutdown().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_or_slow_header_connections() {
    let w = worker().await;
    // The default drain timeout (30 s) and header timeout (60 s).
    let r = start(settings(&[w], "", |_| {}), 0).await.expect("start");
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut s = TcpStream::connect(r.data_addr).await.expect("connect");
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost").await;
        held.push(s);
    }
    let mut idle = TcpStream::connect(r.data_addr).await.expect("connect");
    idle.write_all(b"GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.expect("response");
    assert!(n > 0);
    tokio::time::timeout(Duration::from_secs(10), r.shutdown())
        .await
        .expect("shutdown ends well before the 30 s drain timeout");
}

#[tokio::test]
async fn requests_a_reverse_proxy_must_refuse_are_refused_with_a_reason() {
    let w = worker().await;
    let r = start(settings(&[w], "", |_| {}), 0).await.expect("start");
    let cases: [(&[u8], u16, &str); 4] = [
        (b"GET /work HTTP/1.1\r\n\r\n", 400, "missing Host"),
        (
            b"GET /work HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            400,
            "more than one Host",
        ),
        (
            b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
            405,
            "CONNECT",
        ),
        (
            b"GET /work HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            501,
            "upgrades",
        ),
    ];
    for (raw, code, reason) in cases {
        let text = exchange(r.data_addr, raw, Duration::from_millis(1500)).await;
        assert_eq!(status_of(&text), Some(code), "{text:?}");
        assert!(text.contains(reason), "{text:?}");
    }
    r.shutdown().await;
}

#[tokio::test]
async fn a_loop_between_balancers_is_answered_508_and_own_addresses_are_refused() {
    let w = worker().await;
    let a = start(settings(&[w], "", |_| {}), 0).await.expect("start a");
    let b = start(settings(&[a.data_addr], "", |_| {}), 0)
        .await
        .expect("start b");
    // a's only worker becomes b, which forwards back to a.
    a.shared
        .add_worker(b.data_addr, 1)
        .expect("b is a fine worker of a");
    a.shared.remove_worker(w).expect("remove w");
    let text = exchange(
        a.data_addr,
        b"GET /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(status_of(&text), Some(508), "{text:?}");
    // The balancer's own listeners, and addresses that are no host, are refused by the admin.
    let c = client();
    let own = [a.data_addr.to_string(), a.admin_addr.to_string()];
    for addr in
        own.iter()
            .map(String::as_str)
            .chain(["0.0.0.0:9000", "224.0.0.1:80", "169.254.1.1:80"])
    {
        let resp = c
            .post(format!("http://{}/admin/workers", a.admin_addr))
            .header("content-type", "application/json")
            .body(format!("{{\"addr\":\"{addr}\"}}"))
            .send()
            .await
            .expect("admin");
        assert_eq!(resp.status(), 400, "{addr}");
        let body = resp.text().await.unwrap_or_default();
        assert!(body.contains(addr), "{body}");
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// A fake worker on 127.0.0.1 that reads each request head and then, if `hang`, holds the
/// connection without answering, else closes it. Runs until the test's runtime ends.
async fn broken_worker(hang: bool) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                if hang {
                    let _ = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_worker_that_closes_before_answering_costs_no_request() {
    let good = worker().await;
    let bad = broken_worker(false).await;
    let r = start(settings(&[good, bad], "", |_| {}), 0)
        .await
        .expect("start");
    assert_eq!(get_ok(&r, 10).await, 10);
    r.shutdown().await;
    // Alone, it gets a 502 that says what happened.
    let r = start(settings(&[bad], "", |_| {}), 0).await.expect("start");
    let resp = client()
        .get(format!("http://{}/work", r.data_addr))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 502);
    let text = resp.text().await.unwrap_or_default();
    assert!(text.contains("closed before a response"), "{text}");
    r.shutdown().await;
}

#[tokio::test]
async fn a_hung_worker_costs_one_per_try_timeout_not_a_504() {
    let good = worker().await;
    let hung = broken_worker(true).await;
    let r = start(
        settings(&[good, hung], "", |o| {
            o.per_try_timeout_ms = Some(200);
            o.request_timeout_ms = Some(5000);
        }),
        0,
    )
    .await
    .expect("start");
    // Round robin sends every other request to the hung worker; each is retried on the good one.
    assert_eq!(get_ok(&r, 6).await, 6);
    r.shutdown().await;
}

#[tokio::test]
async fn a_cross_site_post_to_the_admin_api_is_refused() {
    let w = worker().await;
    let r = start(settings(&[w], "", |_| {}), 0).await.expect("start");
    let c = client();
    let drain = format!("http://{}/admin/workers/{w}/drain", r.admin_addr);
    let resp = c
        .post(&drain)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), 403);
    assert_eq!(pool(&r), vec![(w.to_string(), true, false)]);
    // From the admin's own origin, or without an Origin (curl), it works.
    let own = format!("http://{}", r.admin_addr);
    let resp = c
        .post(&drain)
        .header("origin", own)
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), 200);
    r.shutdown().await;
}
