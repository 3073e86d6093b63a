//! `--scale K`: the same scenario K times longer. Every time on the timeline (duration, warm-up,
//! phases, bursts, faults, scripted switches) is multiplied by K and request counts too; rates, service times and
//! thresholds stay as they are, so the run has the same shape with K times the data.

use lb_core::Instant;
use lb_core::scenario::{Length, Scenario};
use lb_core::time::Duration;

fn scale_d(d: Duration, k: f64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() * k)
}

fn scale_t(t: Instant, k: f64) -> Instant {
    Instant::ZERO + scale_d(t - Instant::ZERO, k)
}

/// `scenario` with its timeline stretched by `k` (> 0).
pub fn stretch(scenario: &Scenario, k: f64) -> Scenario {
    let mut s = scenario.clone();
    if k == 1.0 {
        return s;
    }
    s.length = match s.length {
        Length::Duration(d) => Length::Duration(scale_d(d, k)),
        Length::Requests(n) => Length::Requests(((n as f64) * k).round().max(1.0) as u64),
    };
    s.warmup = scale_d(s.warmup, k);
    for p in &mut s.arrivals.phases {
        p.0 = scale_t(p.0, k);
    }
    if let Some(b) = &mut s.arrivals.bursts {
        b.start = scale_t(b.start, k);
        b.on = scale_d(b.on, k);
        b.off = scale_d(b.off, k);
    }
    for f in &mut s.faults {
        f.at = scale_t(f.at, k);
    }
    for w in &mut s.switches {
        w.at = scale_t(w.at, k);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretching_scales_the_timeline_not_the_rates() {
        let s = Scenario::from_toml_str(
            "duration_s = 10\nwarmup_s = 1\n[arrivals]\nrate = 50\nphases = [{ at_s = 4, rate = 80 }]\n\
             [[workers]]\nservice = { distribution = \"constant\", ms = 1 }\n\
             [[faults]]\nat_s = 5\nworker = 0\naction = \"down\"\n\
             [[switches]]\nat_s = 2\nalgorithm = \"random\"",
            "s.toml",
        )
        .unwrap();
        let t = stretch(&s, 3.0);
        assert_eq!(t.length, Length::Duration(Duration::from_secs(30)));
        assert_eq!(t.warmup, Duration::from_secs(3));
        assert_eq!(
            t.arrivals.phases[0],
            (Instant::ZERO + Duration::from_secs(12), 80.0)
        );
        assert_eq!(t.faults[0].at, Instant::ZERO + Duration::from_secs(15));
        assert_eq!(t.switches[0].at, Instant::ZERO + Duration::from_secs(6));
        assert_eq!(t.arrivals.rate, 50.0);
        let b = Scenario::from_toml_str(
            "duration_s = 10\n[arrivals]\nrate = 5\nbursts = { start_s = 1, on_s = 2, off_s = 3, on_rate = 50 }\n\
             [[workers]]\nservice = { distribution = \"constant\", ms = 1 }",
            "b.toml",
        )
        .unwrap();
        let bb = stretch(&b, 2.0).arrivals.bursts.unwrap();
        assert_eq!(
            (bb.start, bb.on, bb.off),
            (
                Instant::ZERO + Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(6)
            )
        );
    }
}
