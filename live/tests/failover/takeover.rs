//! The failover itself: three `lb-worker` processes and a client in namespace `c`, two
//! `lb-balancer` processes in `a` and `b` (each the other's `--peer`, with `--peer-vip`), and
//! keepalived in `a` and `b` moving 10.200.0.100 by VRRP, tracking each balancer's `/readyz`.
//! At run time a worker is added to the active balancer and an algorithm pinned; the standby
//! mirrors both. Then, under 1,000 requests/s through the virtual address, the active balancer
//! is SIGKILLed: the standby must serve within 3 s, with the added worker and the pinned
//! algorithm in force. The numbers are printed (`-- --nocapture`).
//!
//! Needs root, `ip netns` and keepalived; without them the test says why and passes without
//! running.

use crate::client::{Load, in_namespace, load};
use crate::keepalived::{Keepalived, Side, check_script};
use crate::netns::{A_IP, B_IP, CLIENT_IP, Net, VIP};
use crate::procs::{Proc, Stop, run, tool};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "failover-token";
const ADMIN_PORT: u16 = 9090;
const DATA_PORT: u16 = 8080;
const WORKER_PORTS: [u16; 3] = [9001, 9002, 9003];
const RATE: u32 = 1000;
const LOAD: Duration = Duration::from_secs(8);
const KILL_AT: Duration = Duration::from_secs(2);
const TAKEOVER_LIMIT: Duration = Duration::from_secs(3);

struct Tools {
    ip: PathBuf,
    keepalived: PathBuf,
}

/// The tools, or why the test cannot run here.
fn tools() -> Result<Tools, String> {
    let uid = rustix::process::geteuid().as_raw();
    if uid != 0 {
        return Err(format!(
            "needs root for network namespaces (running as uid {uid})"
        ));
    }
    let ip = tool("ip").ok_or("no `ip` tool (iproute2) on PATH or in /usr/sbin, /sbin")?;
    let keepalived = tool("keepalived")
        .ok_or("no `keepalived` on PATH or in /usr/sbin (apt-get install keepalived)")?;
    run(&ip, &["netns", "list"]).map_err(|e| format!("`ip netns` does not work here: {e}"))?;
    Ok(Tools { ip, keepalived })
}

/// Everything one run started; stopped in this order when dropped, then the network goes.
struct Setup {
    keepalived: Vec<Keepalived>,
    balancers: Vec<Proc>,
    workers: Vec<Proc>,
    dir: PathBuf,
    net: Net,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.keepalived.iter().map(|k| &k.proc);
            for p in logs.chain(&self.balancers).chain(&self.workers) {
                eprintln!("---- {} (last lines)\n{}", p.name, p.log_tail(25));
            }
        }
        self.keepalived.clear();
        self.balancers.clear();
        self.workers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn worker_addr(port: u16) -> String {
    format!("{CLIENT_IP}:{port}")
}

impl Setup {
    fn new(tools: &Tools) -> Result<Setup, String> {
        let net = Net::create(&tools.ip)?;
        let dir = std::env::temp_dir().join(&net.c);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Setup {
            keepalived: Vec::new(),
            balancers: Vec::new(),
            workers: Vec::new(),
            dir,
            net,
        })
    }

    fn spawn_in(
        &self,
        ns: &str,
        name: &str,
        program: &str,
        args: &[String],
    ) -> Result<Proc, String> {
        let log = self.dir.join(format!("{}.log", name.replace(' ', "-")));
        let args = Net::exec_args(ns, std::path::Path::new(program), args);
        Proc::spawn(name, self.net.ip_tool(), &args, log, Stop::Kill)
    }

    fn start_workers(&mut self) -> Result<(), String> {
        for port in WORKER_PORTS {
            let args = [
                "--listen",
                &worker_addr(port),
                "--service-ms",
                "1",
                "--concurrency",
                "64",
            ];
            let args: Vec<String> = args.map(str::to_string).to_vec();
            let ns = self.net.c.clone();
            let w = self.spawn_in(
                &ns,
                &format!("worker {port}"),
                env!("CARGO_BIN_EXE_lb-worker"),
                &args,
            )?;
            self.workers.push(w);
        }
        Ok(())
    }

    /// Balancers `a` and `b`, each the other's peer, over the first two workers.
    fn start_balancers(&mut self) -> Result<(), String> {
        for (name, ns, me, peer) in [
            ("a", self.net.a.clone(), A_IP, B_IP),
            ("b", self.net.b.clone(), B_IP, A_IP),
        ] {
            let mut args = vec![
                "--listen".to_string(),
                format!("0.0.0.0:{DATA_PORT}"),
                "--admin".into(),
                format!("{me}:{ADMIN_PORT}"),
                "--algorithm".into(),
                "adaptive".into(),
                "--token".into(),
                TOKEN.into(),
                "--peer".into(),
                format!("http://{peer}:{ADMIN_PORT}"),
                "--peer-vip".into(),
                VIP.to_string(),
                "--peer-interval-ms".into(),
                "200".into(),
                "--health-interval-ms".into(),
                "500".into(),
            ];
            for port in &WORKER_PORTS[..2] {
                args.extend(["--worker".to_string(), worker_addr(*port)]);
            }
            let b = self.spawn_in(
                &ns,
                &format!("balancer {name}"),
                env!("CARGO_BIN_EXE_lb-balancer"),
                &args,
            )?;
            self.balancers.push(b);
        }
        Ok(())
    }

    /// Poll `check` every 50 ms for at most `limit`; fail naming `what` (with a process that
    /// exited meanwhile, if one did).
    fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        check: impl Fn(&Setup) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if check(self) {
                return Ok(());
            }
            for p in self.balancers.iter_mut().chain(&mut self.workers) {
                if let Some(why) = p.exited() {
                    return Err(format!(
                        "{what}: {} exited ({why}):\n{}",
                        p.name,
                        p.log_tail(20)
                    ));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{what}: not within {limit:?}"))
    }

    /// The readiness check keepalived runs, run from the client namespace.
    fn ready(&self, ip: std::net::Ipv4Addr) -> bool {
        let script = check_script().display().to_string();
        let port = ADMIN_PORT.to_string();
        let args = [
            "netns",
            "exec",
            &self.net.c,
            "/bin/bash",
            &script,
            &ip.to_string(),
            &port,
        ];
        run(self.net.ip_tool(), &args).is_ok()
    }

    fn start_keepalived(&mut self, tools: &Tools, side: &Side) -> Result<(), String> {
        let ns = if side.name == "a" {
            self.net.a.clone()
        } else {
            self.net.b.clone()
        };
        let k = Keepalived::start(&tools.keepalived, &self.net, &ns, side, &self.dir)?;
        self.keepalived.push(k);
        Ok(())
    }
}

fn side(name: &'static str) -> Side {
    let (ip, peer_ip, priority) = if name == "a" {
        (A_IP, B_IP, 150)
    } else {
        (B_IP, A_IP, 100)
    };
    Side {
        name,
        ip,
        peer_ip,
        priority,
        admin_port: ADMIN_PORT,
    }
}

/// What the client saw.
struct Seen {
    load: Load,
    standby: Value,
}

async fn call(method: reqwest::Method, url: String, body: Option<String>) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.request(method.clone(), &url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{method} {url}: {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn poll(
    what: &str,
    limit: Duration,
    mut ok: impl AsyncFnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ok().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what}: not within {limit:?}"))
}

fn has_worker(status: &Value, addr: &str) -> bool {
    status["workers"]
        .as_array()
        .is_some_and(|ws| ws.iter().any(|w| w["addr"] == addr))
}

/// In the client namespace: change the active at run time, wait for the standby to mirror it,
/// then the load and the kill.
async fn client_side(victim: u32) -> Result<Seen, String> {
    let (a, b) = (
        format!("http://{A_IP}:{ADMIN_PORT}"),
        format!("http://{B_IP}:{ADMIN_PORT}"),
    );
    let get = reqwest::Method::GET;
    for port in WORKER_PORTS {
        let url = format!("http://{}/health", worker_addr(port));
        poll(
            &format!("worker {port} up"),
            Duration::from_secs(10),
            async || call(get.clone(), url.clone(), None).await.is_ok(),
        )
        .await?;
    }
    let added = worker_addr(WORKER_PORTS[2]);
    call(
        reqwest::Method::POST,
        format!("{a}/admin/workers"),
        Some(format!(r#"{{"addr":"{added}"}}"#)),
    )
    .await?;
    call(
        reqwest::Method::PUT,
        format!("{a}/admin/algorithm"),
        Some(r#"{"algorithm":"least_connections"}"#.into()),
    )
    .await?;
    poll(
        "the standby mirrors the active",
        Duration::from_secs(5),
        async || {
            call(get.clone(), format!("{b}/admin/status"), None)
                .await
                .is_ok_and(|s| {
                    s["algorithm"] == "least_connections"
                        && s["mode"] == "manual"
                        && has_worker(&s, &added)
                })
        },
    )
    .await?;
    let active = call(get.clone(), format!("{a}/admin/status"), None).await?;
    if !has_worker(&active, &added) || active["algorithm"] != "least_connections" {
        return Err(format!(
            "the active lost its own changes (it mirrored the standby?): {active}"
        ));
    }
    let vip = format!("http://{VIP}:{DATA_PORT}/work");
    poll(
        "the virtual address serves",
        Duration::from_secs(5),
        async || call(get.clone(), vip.clone(), None).await.is_ok(),
    )
    .await?;
    let load = load(&vip, RATE, LOAD, KILL_AT, victim).await;
    let standby = call(get.clone(), format!("{b}/admin/status"), None).await?;
    Ok(Seen { load, standby })
}

#[test]
fn a_killed_active_balancer_is_replaced_within_3_s() {
    let tools = match tools() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED a_killed_active_balancer_is_replaced_within_3_s: {why}");
            return;
        }
    };
    let mut setup = Setup::new(&tools).expect("network namespaces");
    setup.start_workers().expect("workers start");
    setup.start_balancers().expect("balancers start");
    for ip in [A_IP, B_IP] {
        setup
            .wait(
                &format!("balancer {ip} ready"),
                Duration::from_secs(15),
                |s| s.ready(ip),
            )
            .expect("ready");
    }
    // `a` first, alone, so it is the one that takes the address; then `b` as its backup.
    setup
        .start_keepalived(&tools, &side("a"))
        .expect("keepalived a");
    let (a_ns, b_ns) = (setup.net.a.clone(), setup.net.b.clone());
    setup
        .wait(
            "a holds the virtual address",
            Duration::from_secs(10),
            |s| s.net.holds(&a_ns, VIP),
        )
        .expect("VRRP master");
    setup
        .start_keepalived(&tools, &side("b"))
        .expect("keepalived b");

    let victim = setup.balancers[0].pid();
    let c = setup.net.c.clone();
    let seen = in_namespace(&c, async move || client_side(victim).await)
        .and_then(|r| r)
        .expect("client side");
    let o = seen.load.outage();
    let s = &seen.standby;
    let added = worker_addr(WORKER_PORTS[2]);
    let through_added = s["workers"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["addr"] == added.as_str()))
        .map(|w| w["requests_total"].clone());
    println!(
        "failover: SIGKILL of the active balancer under {RATE} requests/s: the standby served {} after the kill; \
         {} of {} requests failed ({} before the kill); standby after: algorithm {}, mode {}, {} workers, {} requests to the worker added at run time ({added})",
        o.takeover
            .map_or("never".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
        o.failed,
        o.total,
        o.failed_before_kill,
        s["algorithm"],
        s["mode"],
        s["workers"].as_array().map_or(0, Vec::len),
        through_added.clone().unwrap_or(Value::Null),
    );
    assert!(
        setup.net.holds(&b_ns, VIP),
        "the virtual address moved to b"
    );
    assert!(
        !setup.net.holds(&a_ns, VIP),
        "a released the virtual address"
    );
    assert_eq!(
        o.failed_before_kill, 0,
        "requests failed before the kill: the setup is not clean"
    );
    let takeover = o.takeover.expect("the standby never served");
    assert!(takeover <= TAKEOVER_LIMIT, "takeover took {takeover:?}");
    assert_eq!(
        (s["algorithm"].as_str(), s["mode"].as_str()),
        (Some("least_connections"), Some("manual")),
        "{s}"
    );
    assert!(
        through_added
            .and_then(|v| v.as_u64())
            .is_some_and(|n| n > 0),
        "the added worker served nothing on the standby: {s}"
    );
}
