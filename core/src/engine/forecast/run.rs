//! One forecast: the core's own algorithm, picking on a [`PoolModel`] for a few thousand
//! requests of virtual time.
//!
//! A small event loop, sans IO: Poisson arrivals at the model's rate; each arrival is given to
//! the worker the algorithm picks (the very `Pick` code the balancer runs, on a [`Pool`] that
//! reports the forecast's own in-flight counts and peak-EWMA estimates); its latency is a
//! lognormal draw stretched by how far the worker is over its capacity, or a failure. Every
//! candidate sees the same arrival times and the same draws in the same order (common random
//! numbers), so differences between candidates come from the algorithms, not from luck. The
//! first quarter of the requests warms the algorithm up and is not scored.

use super::Forecast;
use super::model::PoolModel;
use crate::pick::{Algorithm, AnyPicker, Pick, Pool};
use crate::stats::PeakEwma;
use crate::time::{Duration, Instant};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Decay time constant of the forecast's peak EWMA (the balancer's default).
const PEAK_TAU: Duration = Duration::from_secs(10);

/// The forecast's pool: in-flight counts and peak-EWMA estimates at the loop's `now`.
struct ForecastPool<'a> {
    model: &'a PoolModel,
    in_flight: Vec<u32>,
    peak: Vec<PeakEwma>,
    now: Instant,
}

impl Pool for ForecastPool<'_> {
    fn len(&self) -> usize {
        self.model.stations.len()
    }
    fn available_count(&self) -> usize {
        self.model.stations.len()
    }
    fn is_available(&self, i: usize) -> bool {
        i < self.model.stations.len()
    }
    fn weight(&self, i: usize) -> u32 {
        self.model.stations.get(i).map_or(1, |s| s.weight)
    }
    fn in_flight(&self, i: usize) -> u32 {
        self.in_flight.get(i).copied().unwrap_or(0)
    }
    fn latency_cost(&self, i: usize) -> f64 {
        self.peak.get(i).map_or(0.0, |p| p.get_at(self.now))
    }
}

/// A request in service: when it ends (ns), which worker, how long it took (ns).
type Completion = Reverse<(u64, u32, u64)>;

/// Forecast `algorithm` on `model` for `requests` requests, with draws seeded by `seed`.
pub fn forecast(model: &PoolModel, algorithm: Algorithm, requests: u32, seed: u64) -> Forecast {
    let n = model.stations.len();
    let mut pool = ForecastPool {
        model,
        in_flight: vec![0; n],
        peak: model
            .stations
            .iter()
            .map(|s| {
                let mut p = PeakEwma::new(PEAK_TAU, Duration::ZERO);
                p.observe(s.recent_ns, Instant::ZERO);
                p
            })
            .collect(),
        now: Instant::ZERO,
    };
    let mut picker = AnyPicker::new(algorithm);
    let mut draws = ChaCha8Rng::seed_from_u64(seed);
    let mut pick_rng = ChaCha8Rng::seed_from_u64(seed);
    pick_rng.set_stream(1);
    let mut busy: BinaryHeap<Completion> = BinaryHeap::with_capacity(64);
    let warm = requests / 4;
    let mut latencies: Vec<f64> = Vec::with_capacity((requests - warm) as usize);
    let mut errors = 0u64;
    let gap_ns = 1e9 / model.rate.max(1e-9);
    let mut t = 0.0f64;
    for k in 0..requests {
        let gap: f64 = Exp1.sample(&mut draws);
        let z: f64 = StandardNormal.sample(&mut draws);
        let u: f64 = draws.random();
        t += gap * gap_ns;
        let now_ns = t as u64;
        settle(&mut pool, &mut busy, now_ns);
        pool.now = Instant::ZERO + Duration::from_nanos(now_ns);
        let scored = k >= warm;
        let Some(w) = picker.pick(&pool, &mut pick_rng) else {
            errors += u64::from(scored);
            continue;
        };
        let s = &model.stations[w];
        let failed = u < s.error_rate;
        let latency = match (failed, s.error_ns) {
            (true, Some(e)) => e,
            _ => {
                let over = f64::from(pool.in_flight[w] + 1) / s.capacity;
                (s.mu + s.sigma * z).exp() * over.max(1.0)
            }
        };
        pool.in_flight[w] += 1;
        busy.push(Reverse((
            now_ns.saturating_add(latency as u64),
            w as u32,
            latency as u64,
        )));
        if scored {
            latencies.push(latency);
            errors += u64::from(failed);
        }
    }
    let scored = (requests - warm).max(1);
    Forecast {
        algorithm,
        p99_ms: p99(&mut latencies) / 1e6,
        error_rate: errors as f64 / f64::from(scored),
    }
}

/// Finish every request that ended by `now_ns`: free its slot, teach peak EWMA its latency.
fn settle(pool: &mut ForecastPool<'_>, busy: &mut BinaryHeap<Completion>, now_ns: u64) {
    while let Some(Reverse((end, w, latency))) = busy.peek().copied() {
        if end > now_ns {
            break;
        }
        busy.pop();
        let w = w as usize;
        pool.in_flight[w] = pool.in_flight[w].saturating_sub(1);
        pool.peak[w].observe(latency as f64, Instant::ZERO + Duration::from_nanos(end));
    }
}

/// The 99th percentile of `v` (0 when empty); reorders `v`.
fn p99(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() as f64) * 0.99).ceil() as usize - 1;
    let k = k.min(v.len() - 1);
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}
