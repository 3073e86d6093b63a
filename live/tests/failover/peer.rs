//! The standby mirrors its peer over the admin API: workers added, drained and removed at run
//! time, the pinned algorithm, the mode; it keeps the last state when the peer dies, and a
//! balancer that holds the virtual address mirrors nothing.

use crate::{client, eventually, settings, spawn_worker};
use lb_live::balancer::Status;
use lb_live::balancer::config::Settings;
use lb_live::balancer::peer::PeerFlags;
use lb_live::balancer::server::{self, Running};
use std::net::SocketAddr;
use std::time::Duration;

const TOKEN: &str = "pair-token";

/// A balancer over `workers` that mirrors `peer` (polled every 20 ms), with `vip` if given.
fn standby(workers: &[SocketAddr], peer: SocketAddr, vip: Option<&str>) -> Settings {
    settings(workers, |f| {
        f.algorithm = Some("adaptive".into());
        f.token = Some(TOKEN.into());
        f.peer = PeerFlags {
            url: Some(format!("http://{peer}")),
            vip: vip.map(str::to_string),
            interval_ms: Some(20),
        };
    })
}

async fn active(workers: &[SocketAddr]) -> Running {
    let s = settings(workers, |f| {
        f.algorithm = Some("adaptive".into());
        f.token = Some(TOKEN.into());
    });
    server::start(s, 0).await.expect("active starts")
}

async fn admin(method: reqwest::Method, b: &Running, path: &str, body: Option<&str>) {
    let mut req = client()
        .request(method.clone(), format!("http://{}{path}", b.admin_addr))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await.expect("admin answers");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
}

/// What a mirror must agree on: algorithm, mode, and (addr, weight, draining) per worker.
fn mirrored(s: &Status) -> (String, String, Vec<(String, u32, bool)>) {
    let workers = s
        .workers
        .iter()
        .map(|w| (w.addr.clone(), w.weight, w.draining))
        .collect();
    (s.algorithm.clone(), s.mode.clone(), workers)
}

async fn wait_mirrored(active: &Running, standby: &Running) -> bool {
    eventually(Duration::from_secs(5), async || {
        let want = mirrored(&active.shared.status());
        (mirrored(&standby.shared.status()) == want).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test]
async fn a_standby_mirrors_workers_mode_and_the_pinned_algorithm() {
    let (w1, w2, w3) = (
        spawn_worker().await,
        spawn_worker().await,
        spawn_worker().await,
    );
    let a = active(&[w1]).await;
    // The standby starts with a worker the active does not have: the active's pool wins.
    let b = server::start(standby(&[w1, w3], a.admin_addr, None), 0)
        .await
        .expect("standby starts");
    use reqwest::Method;
    admin(
        Method::POST,
        &a,
        "/admin/workers",
        Some(&format!(r#"{{"addr":"{w2}","weight":3}}"#)),
    )
    .await;
    admin(
        Method::PUT,
        &a,
        "/admin/algorithm",
        Some(r#"{"algorithm":"least_connections"}"#),
    )
    .await;
    admin(
        Method::POST,
        &a,
        &format!("/admin/workers/{w1}/drain"),
        None,
    )
    .await;
    assert!(
        wait_mirrored(&a, &b).await,
        "standby {:?} vs active {:?}",
        mirrored(&b.shared.status()),
        mirrored(&a.shared.status())
    );
    let s = b.shared.status();
    assert_eq!(
        (s.algorithm.as_str(), s.mode.as_str()),
        ("least_connections", "manual")
    );
    assert_eq!(
        mirrored(&s).2,
        vec![(w1.to_string(), 1, true), (w2.to_string(), 3, false)]
    );

    admin(Method::DELETE, &a, &format!("/admin/workers/{w2}"), None).await;
    admin(
        Method::PUT,
        &a,
        "/admin/mode",
        Some(r#"{"mode":"adaptive"}"#),
    )
    .await;
    assert!(
        wait_mirrored(&a, &b).await,
        "standby {:?}",
        mirrored(&b.shared.status())
    );
    assert_eq!(b.shared.status().mode, "adaptive");
    assert_eq!(b.shared.status().workers.len(), 1);

    // The active dies: the standby keeps what it mirrored last.
    let last = mirrored(&b.shared.status());
    a.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mirrored(&b.shared.status()), last);
    b.shutdown().await;
}

#[tokio::test]
async fn a_balancer_holding_the_virtual_address_mirrors_nothing() {
    let (w1, w2) = (spawn_worker().await, spawn_worker().await);
    let a = active(&[w1, w2]).await;
    use reqwest::Method;
    admin(
        Method::PUT,
        &a,
        "/admin/algorithm",
        Some(r#"{"algorithm":"peak_ewma"}"#),
    )
    .await;
    // 127.0.0.1 is on this host: this one is the active of its pair and keeps its own state.
    let holder = server::start(standby(&[w1], a.admin_addr, Some("127.0.0.1")), 0)
        .await
        .expect("starts");
    // 192.0.2.1 (TEST-NET-1) is on no interface: this one is a standby and follows.
    let follower = server::start(standby(&[w1], a.admin_addr, Some("192.0.2.1")), 0)
        .await
        .expect("starts");
    assert!(wait_mirrored(&a, &follower).await, "the follower mirrors");
    // Ten more polls of the follower's period: the holder would have mirrored by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = holder.shared.status();
    // Mirroring would have made it manual (peak_ewma) over two workers; in adaptive mode its
    // own engine may switch, so the algorithm is not compared.
    assert_eq!((s.mode.as_str(), s.workers.len()), ("adaptive", 1));
    for b in [a, holder, follower] {
        b.shutdown().await;
    }
}

#[tokio::test]
async fn bad_peer_flags_are_refused_naming_the_flag() {
    let f = |url: &str, vip: Option<&str>| {
        let flags = lb_live::balancer::config::Overrides {
            peer: PeerFlags {
                url: Some(url.into()),
                vip: vip.map(str::to_string),
                interval_ms: None,
            },
            ..Default::default()
        };
        Settings::from_parts(Default::default(), "b.toml", &flags)
            .expect_err("refused")
            .to_string()
    };
    let e = f("10.0.0.2:9090", None);
    assert!(e.starts_with("--peer: "), "{e}");
    let e = f("http://10.0.0.2:9090", Some("10.0.0"));
    assert!(e.starts_with("--peer-vip: "), "{e}");
    let text = "[peer]\nurl = \"http://10.0.0.2:9090\"\nspeed = 1\n";
    let e = toml::from_str::<lb_live::balancer::config::ConfigFile>(text)
        .expect_err("unknown field")
        .to_string();
    assert!(e.contains("speed"), "{e}");
}
