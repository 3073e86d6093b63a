//! The scenario's fault timeline, applied to live workers at the scheduled times (seconds from
//! the start of the run, as in the simulator). `/admin/fault` requests go to each worker's
//! control listener ([`WorkerPool::controls`]), not to the address the balancer proxies to:
//!
//! | scenario action | live |
//! |---|---|
//! | `slow` (factor f) | `PUT /admin/fault {"slow_factor": f}` |
//! | `errors` (rate r, mode m) | `PUT /admin/fault {"error_rate": r, "error_mode": m}` |
//! | `down` | SIGKILL the worker's process: connections refused, work in progress lost |
//! | `recover` | restart the process on the same address if it is down, then `DELETE /admin/fault` |
//!
//! A `slow` and an `errors` fault on one worker add up (the worker is sent both fields), as in
//! the simulator, until `recover` clears them.

use crate::client::HttpClient;
use crate::target::Target;
use crate::worker_process::WorkerPool;
use bytes::Bytes;
use lb_core::scenario::{Fault, FaultAction};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// Apply `faults` (sorted by time) to `pool` from `start` on; returns what could not be done.
pub async fn apply_timeline(
    pool: &mut WorkerPool,
    faults: &[Fault],
    start: Instant,
) -> Vec<String> {
    let client = HttpClient::new(Duration::from_secs(2));
    let mut current: Vec<Map<String, Value>> = vec![Map::new(); pool.addrs().len()];
    let mut warnings = Vec::new();
    for f in faults {
        tokio::time::sleep_until(start + Duration::from_nanos(f.at.as_nanos())).await;
        let t = f.at.as_secs_f64();
        let i = f.worker;
        let Some(control) = pool.controls().get(i).copied() else {
            warnings.push(format!("fault at {t} s: no worker {i}"));
            continue;
        };
        let url = format!("http://{control}/admin/fault");
        let request = match f.action {
            FaultAction::Slow(factor) => {
                current[i].insert("slow_factor".into(), json!(factor));
                Some(("PUT", Value::Object(current[i].clone()).to_string()))
            }
            FaultAction::Errors(rate, mode) => {
                current[i].insert("error_rate".into(), json!(rate));
                current[i].insert("error_mode".into(), json!(mode.name()));
                Some(("PUT", Value::Object(current[i].clone()).to_string()))
            }
            FaultAction::Down => {
                pool.kill(i).await;
                None
            }
            FaultAction::Recover => {
                current[i].clear();
                if !pool.is_up(i)
                    && let Err(e) = pool.restart(i).await
                {
                    warnings.push(format!("fault at {t} s: recover: {e}"));
                    continue;
                }
                Some(("DELETE", String::new()))
            }
        };
        let Some((method, body)) = request else {
            continue;
        };
        let target = Target::new(
            &url,
            method,
            Bytes::from(body),
            &["content-type: application/json".to_string()],
        );
        let answer = match target {
            Ok(target) => client.send(&target).await,
            Err(e) => {
                warnings.push(format!("fault at {t} s: {e}"));
                continue;
            }
        };
        if !answer.is_ok() {
            warnings.push(format!(
                "fault at {t} s: {method} {url} answered {answer:?}"
            ));
        }
    }
    warnings
}
