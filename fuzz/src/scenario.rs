//! The scenario parser and validator: any UTF-8 text through `Scenario::from_toml_str`.
//!
//! A refusal must be an error, not a panic. A scenario that is accepted is then used the way a
//! run uses it, on a budget: the balancer and engine configuration for every strategy, a few
//! service-time samples per worker (finite and not negative), and the first arrivals of the
//! schedule (never going back in time).

use lb_core::Strategy;
use lb_core::scenario::Scenario;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Service-time samples drawn per worker.
const SAMPLES: usize = 8;
/// Arrivals pulled from the schedule.
const ARRIVALS: usize = 256;

/// Parse `data` as a scenario; use it if it is valid.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = Scenario::from_toml_str(text, "fuzz.toml") {
        exercise(&scenario);
    }
}

fn exercise(s: &Scenario) {
    for strategy in Strategy::NAMED {
        if s.check_strategy(strategy).is_ok() {
            let _ = s.balancer_config(strategy);
            let _ = s.engine_for(strategy);
        }
    }
    let _ = (s.script_start(), s.weights(), s.base_utilisation());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (i, w) in s.workers.iter().enumerate() {
        for _ in 0..SAMPLES {
            let ms = w.service.sample_ms(&mut rng);
            assert!(
                ms.is_finite() && ms >= 0.0,
                "worker {i}: service time sample {ms} ms from {:?}",
                w.service_file
            );
        }
    }
    let mut schedule = s.arrivals.schedule(None);
    let mut last = lb_core::Instant::ZERO;
    for _ in 0..ARRIVALS {
        let Some(t) = schedule.next_arrival(&mut rng) else {
            break;
        };
        assert!(
            t >= last,
            "arrival at {t:?} before the previous one {last:?}"
        );
        last = t;
    }
}
