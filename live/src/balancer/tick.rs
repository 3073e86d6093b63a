//! The engine's clock: every `tick` (one second by default) the balancer's periodic work runs on
//! real time, as the simulator runs it on virtual time: expired ejections end in every shard,
//! then the decision engine looks at the merged pool and may switch the algorithm
//! (`lb_core::Control::tick`). Each switch is logged with its reason and numbers.

use super::state::Shared;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Run the balancer's periodic tick (outlier expiry and the decision engine) every `every`
/// until `shutdown` completes, logging each switch.
pub async fn run(
    shared: Arc<Shared>,
    every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // Configuration guarantees at least 1 ms; never hand tokio a zero period.
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Some(d) = shared.tick() {
                    tracing::info!("engine: {} -> {} ({}): {}", d.from, d.to, d.reason, d.detail);
                }
            }
            () = &mut shutdown => return,
        }
    }
}
