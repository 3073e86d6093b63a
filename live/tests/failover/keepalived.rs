//! keepalived for one balancer of the pair: its configuration rendered from the committed
//! template (deploy/failover/keepalived.conf.in, so what the README shows is what is tested),
//! run in the balancer's namespace in the foreground with pid files of its own.

use crate::netns::{self, Net};
use crate::procs::{Proc, Stop};
use rustix::process::{Pid, Signal, kill_process};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../../../deploy/failover/keepalived.conf.in");

/// The readiness check keepalived runs.
pub fn check_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/failover/check-ready.sh")
}

/// One side of the pair.
#[derive(Debug, Clone)]
pub struct Side {
    /// `a` or `b`.
    pub name: &'static str,
    /// Its own address.
    pub ip: Ipv4Addr,
    /// The other side's.
    pub peer_ip: Ipv4Addr,
    /// VRRP priority.
    pub priority: u8,
    /// Its balancer's admin port (on `ip`).
    pub admin_port: u16,
}

/// The template with every `@NAME@` filled in for `side`.
pub fn render(side: &Side) -> Result<String, String> {
    let check = format!("/bin/bash {}", check_script().display());
    let fields = [
        ("ROUTER_ID", format!("lb_{}", side.name)),
        ("CHECK", check),
        ("ADMIN_IP", side.ip.to_string()),
        ("ADMIN_PORT", side.admin_port.to_string()),
        ("IFACE", netns::IFACE.to_string()),
        ("VRID", "51".to_string()),
        ("PRIORITY", side.priority.to_string()),
        ("SELF_IP", side.ip.to_string()),
        ("PEER_IP", side.peer_ip.to_string()),
        ("VIP", netns::VIP.to_string()),
        ("PREFIX_LEN", netns::PREFIX_LEN.to_string()),
    ];
    let mut text = TEMPLATE.to_string();
    for (k, v) in fields {
        text = text.replace(&format!("@{k}@"), &v);
    }
    match text
        .lines()
        .find(|l| !l.trim_start().starts_with('#') && l.contains('@'))
    {
        Some(line) => Err(format!("keepalived.conf.in: unfilled field in {line:?}")),
        None => Ok(text),
    }
}

/// keepalived running for one side; stopped (SIGTERM, which releases the address) on drop.
#[derive(Debug)]
pub struct Keepalived {
    /// The process (the parent; the VRRP child's pid is in `vrrp_pid`).
    pub proc: Proc,
    vrrp_pid: PathBuf,
}

impl Keepalived {
    /// Write the configuration of `side` into `dir` and start keepalived in namespace `ns`.
    pub fn start(
        keepalived: &Path,
        net: &Net,
        ns: &str,
        side: &Side,
        dir: &Path,
    ) -> Result<Keepalived, String> {
        let conf = dir.join(format!("keepalived-{}.conf", side.name));
        std::fs::write(&conf, render(side)?).map_err(|e| format!("{}: {e}", conf.display()))?;
        let pid = dir.join(format!("keepalived-{}.pid", side.name));
        let vrrp_pid = dir.join(format!("keepalived-{}.vrrp.pid", side.name));
        let path = |p: &Path| p.display().to_string();
        // Foreground, log to the console (our log file), no syslog, no respawn of a child.
        let args = [
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "--dont-respawn",
            "--vrrp",
        ]
        .map(str::to_string)
        .into_iter()
        .chain(["-f".into(), path(&conf), "-p".into(), path(&pid)])
        .chain(["-r".into(), path(&vrrp_pid)])
        .collect::<Vec<String>>();
        let proc = Proc::spawn(
            &format!("keepalived {}", side.name),
            net.ip_tool(),
            &Net::exec_args(ns, keepalived, &args),
            dir.join(format!("keepalived-{}.log", side.name)),
            Stop::Term,
        )?;
        Ok(Keepalived { proc, vrrp_pid })
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // Read the child's pid before the parent goes: a parent that had to be SIGKILLed
        // leaves its VRRP child (and its pid file) behind.
        let child = std::fs::read_to_string(&self.vrrp_pid)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .and_then(Pid::from_raw);
        self.proc.stop();
        if let Some(pid) = child.filter(|_| self.vrrp_pid.exists()) {
            let _ = kill_process(pid, Signal::KILL);
        }
    }
}
