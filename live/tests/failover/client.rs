//! The client side of the failover run, on a thread that has entered the client namespace
//! (`setns`, which moves only the calling thread): every socket it opens is in that namespace.
//! It sends requests open loop at a fixed rate, SIGKILLs the active balancer at a set moment,
//! and records when each request was sent and whether it succeeded.

use rustix::process::{Pid, Signal, kill_process};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Run `f` on a new thread inside network namespace `ns`, on a single-threaded runtime.
pub fn in_namespace<T: Send + 'static>(
    ns: &str,
    f: impl AsyncFnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let path = format!("/run/netns/{ns}");
    let thread = std::thread::spawn(move || -> Result<T, String> {
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))
            .map_err(|e| format!("setns {path}: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok(rt.block_on(f()))
    });
    thread
        .join()
        .map_err(|p| match p.downcast_ref::<String>() {
            Some(s) => s.clone(),
            None => format!("{:?}", p.downcast_ref::<&str>()),
        })?
}

/// One request: when it was sent (since the start of the load) and whether it got a 2xx.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// Send time since the start.
    pub at: Duration,
    /// A 2xx within the timeout.
    pub ok: bool,
}

/// What a load run saw.
#[derive(Debug, Clone)]
pub struct Load {
    /// Every request, in send order.
    pub requests: Vec<Sent>,
    /// When the balancer was killed, since the start.
    pub killed_at: Duration,
}

/// Send `GET url` `rate` times a second for `duration`; SIGKILL `victim` at `kill_at`.
pub async fn load(
    url: &str,
    rate: u32,
    duration: Duration,
    kill_at: Duration,
    victim: u32,
) -> Load {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("reqwest client");
    let period = Duration::from_secs(1) / rate;
    let total = (duration.as_secs_f64() * f64::from(rate)) as u32;
    let start = Instant::now();
    let mut killed_at = None;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        tokio::time::sleep_until((start + period * i).into()).await;
        let at = start.elapsed();
        if killed_at.is_none() && at >= kill_at {
            if let Some(pid) = i32::try_from(victim).ok().and_then(Pid::from_raw) {
                let _ = kill_process(pid, Signal::KILL);
            }
            killed_at = Some(start.elapsed());
        }
        let (client, url) = (client.clone(), url.to_string());
        tasks.spawn(async move {
            let ok = match client.get(url).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            Sent { at, ok }
        });
    }
    let mut requests = Vec::with_capacity(total as usize);
    while let Some(done) = tasks.join_next().await {
        if let Ok(s) = done {
            requests.push(s);
        }
    }
    requests.sort_by_key(|s| s.at);
    Load {
        requests,
        killed_at: killed_at.unwrap_or(duration),
    }
}

/// The numbers of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// Requests sent.
    pub total: usize,
    /// Requests that failed.
    pub failed: usize,
    /// Failed requests sent more than 100 ms before the kill (requests in flight at the kill
    /// fail, and count only in `failed`).
    pub failed_before_kill: usize,
    /// From the kill to the first request that succeeded after the last failure (`None`: the
    /// service did not come back).
    pub takeover: Option<Duration>,
}

impl Load {
    /// Count failures and measure the takeover.
    pub fn outage(&self) -> Outage {
        let failed: Vec<&Sent> = self.requests.iter().filter(|s| !s.ok).collect();
        let settled = self.killed_at.saturating_sub(Duration::from_millis(100));
        let before = failed.iter().filter(|s| s.at < settled).count();
        let takeover = match failed.last() {
            None => Some(Duration::ZERO),
            Some(last) => self
                .requests
                .iter()
                .find(|s| s.ok && s.at > last.at)
                .map(|s| s.at.saturating_sub(self.killed_at)),
        };
        Outage {
            total: self.requests.len(),
            failed: failed.len(),
            failed_before_kill: before,
            takeover,
        }
    }
}
