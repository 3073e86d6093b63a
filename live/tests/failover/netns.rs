//! The network of one failover run, made of namespaces the test creates and deletes: `c` holds
//! the client and the workers on a bridge (10.200.0.1), `a` and `b` one balancer each
//! (10.200.0.11 and 10.200.0.12), joined to the bridge by a veth pair; the virtual address
//! 10.200.0.100 moves between `a` and `b`. Only private addresses, only inside these
//! namespaces, which are fresh per run (`lbfo-<pid>-<n>-{c,a,b}`), so runs in parallel do not
//! meet.
//!
//! Everything goes when the [`Net`] is dropped; namespaces left by a run that was killed (its
//! pid gone) are swept at the next start, with the processes still inside them.

use crate::procs::run;
use rustix::process::{Pid, Signal, kill_process};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

const PREFIX: &str = "lbfo";

/// The client's and workers' address (on the bridge in `c`).
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
/// Balancer `a`'s own address.
pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 11);
/// Balancer `b`'s own address.
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 12);
/// The virtual address keepalived moves.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 100);
/// The subnet's prefix length.
pub const PREFIX_LEN: u8 = 24;
/// The balancers' interface towards the bridge (inside `a` and `b`).
pub const IFACE: &str = "eth0";

/// Three namespaces and their links.
#[derive(Debug)]
pub struct Net {
    ip: PathBuf,
    /// The namespace name of the client and workers.
    pub c: String,
    /// Balancer `a`'s namespace.
    pub a: String,
    /// Balancer `b`'s namespace.
    pub b: String,
    created: Vec<String>,
}

impl Net {
    /// Build the network with the `ip` tool at `ip`.
    pub fn create(ip: &Path) -> Result<Net, String> {
        sweep_stale(ip);
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{PREFIX}-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let mut net = Net {
            ip: ip.to_path_buf(),
            c: format!("{tag}-c"),
            a: format!("{tag}-a"),
            b: format!("{tag}-b"),
            created: Vec::new(),
        };
        for ns in [net.c.clone(), net.a.clone(), net.b.clone()] {
            net.ip(&["netns", "add", &ns])?;
            net.created.push(ns.clone());
            net.ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        let c = net.c.clone();
        let cidr = |ip: Ipv4Addr| format!("{ip}/{PREFIX_LEN}");
        net.ip(&["-n", &c, "link", "add", "br0", "type", "bridge"])?;
        net.ip(&["-n", &c, "addr", "add", &cidr(CLIENT_IP), "dev", "br0"])?;
        net.ip(&["-n", &c, "link", "set", "br0", "up"])?;
        for (ns, addr, port) in [(net.a.clone(), A_IP, "pa"), (net.b.clone(), B_IP, "pb")] {
            net.ip(&[
                "-n", &c, "link", "add", port, "type", "veth", "peer", "name", IFACE, "netns", &ns,
            ])?;
            net.ip(&["-n", &c, "link", "set", port, "master", "br0", "up"])?;
            net.ip(&["-n", &ns, "addr", "add", &cidr(addr), "dev", IFACE])?;
            net.ip(&["-n", &ns, "link", "set", IFACE, "up"])?;
        }
        Ok(net)
    }

    fn ip(&self, args: &[&str]) -> Result<String, String> {
        run(&self.ip, args)
    }

    /// Whether `addr` is on an interface of namespace `ns`.
    pub fn holds(&self, ns: &str, addr: Ipv4Addr) -> bool {
        self.ip(&["-n", ns, "-4", "-o", "addr", "show"])
            .is_ok_and(|out| out.contains(&format!(" {addr}/")))
    }

    /// `ip netns exec NS` followed by `program args`, as arguments of `ip`.
    pub fn exec_args(ns: &str, program: &Path, args: &[String]) -> Vec<String> {
        let mut all = vec!["netns".into(), "exec".into(), ns.into()];
        all.push(program.display().to_string());
        all.extend(args.iter().cloned());
        all
    }

    /// The `ip` tool.
    pub fn ip_tool(&self) -> &Path {
        &self.ip
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.drain(..).rev() {
            if let Err(e) = run(&self.ip, &["netns", "del", &ns]) {
                eprintln!("failover: cleanup: {e}");
            }
        }
    }
}

/// Delete the namespaces of runs whose process is gone, killing what still runs inside.
fn sweep_stale(ip: &Path) {
    let Ok(list) = run(ip, &["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let mut parts = name.split('-');
        let (Some(PREFIX), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let pids = run(ip, &["netns", "pids", name]).unwrap_or_default();
        for p in pids.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
            if let Some(p) = Pid::from_raw(p) {
                let _ = kill_process(p, Signal::KILL);
            }
        }
        eprintln!("failover: removing namespace {name} left by an earlier run (pid {pid} is gone)");
        let _ = run(ip, &["netns", "del", name]);
    }
}
