//! The conditions the engine evaluates, each a plain function of one observation and the
//! thresholds, so each can be tested at the edges of its threshold on hand-built numbers.
//!
//! Only workers that take traffic count: an ejected or unhealthy worker is already out of
//! rotation, and outlier ejection, not the algorithm, is what handles it. A worker's own numbers
//! count only when its window holds at least `min_worker_samples` responses.
//!
//! | name | holds when |
//! |---|---|
//! | `prolonged_processing` | a worker's recent latency (EWMA) is `latency_skew_enter` x the median of the workers' recent latencies, or its recent latency over its own calm latency is `latency_skew_enter` x the median of that ratio; else the pool's window mean is `pool_slowdown_enter` x its calm baseline |
//! | `elevated_error_rate` | a worker fails `worker_error_enter` of its requests, or the pool `pool_error_enter` |
//! | `fast_failure` | some worker failing `worker_error_enter` of its requests fails in at most `fast_failure_ratio` of the median latency: it looks idle and quick (every failing worker is checked) |
//! | `load_imbalance` | a worker's mean in flight (Little's law over the window) is `in_flight_skew_enter` x the pool's mean |
//! | `back_to_normal` | no other condition holds, and every available worker has enough samples, window and recent latency within `calm_latency_skew` of the pool's (and of its own baseline), errors at most `calm_error_rate`, in-flight skew at most `calm_in_flight_skew` |

use super::config::EngineConfig;
use super::memory::Memory;
use super::observation::{Observation, WorkerObservation};
use std::fmt;

/// A condition's stable name, as it appears in the decision log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    /// Some worker much slower than the rest, or the pool slower than its baseline.
    ProlongedProcessing,
    /// A worker or the pool failing above threshold.
    ElevatedErrorRate,
    /// A failing worker whose failures are fast: latency- and load-aware algorithms reward it.
    FastFailure,
    /// Requests in flight skewed across workers.
    LoadImbalance,
    /// The pool has been even and healthy for a while.
    BackToNormal,
}

impl Condition {
    /// Every condition.
    pub const ALL: [Condition; 5] = [
        Condition::ProlongedProcessing,
        Condition::ElevatedErrorRate,
        Condition::FastFailure,
        Condition::LoadImbalance,
        Condition::BackToNormal,
    ];

    /// The snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Condition::ProlongedProcessing => "prolonged_processing",
            Condition::ElevatedErrorRate => "elevated_error_rate",
            Condition::FastFailure => "fast_failure",
            Condition::LoadImbalance => "load_imbalance",
            Condition::BackToNormal => "back_to_normal",
        }
    }

    /// Index in [`Condition::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A condition that holds, with the numbers that made it hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    /// Which condition.
    pub condition: Condition,
    /// The worker concerned, if one is: its index in [`Observation::workers`].
    pub worker: Option<usize>,
    /// The measured value that crossed the threshold.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The numbers in words, for the decision log.
    pub detail: String,
}

/// Everything the conditions found in one observation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Assessment {
    /// Responses in the pool's window (available workers).
    pub samples: u64,
    /// Median of the available workers' mean latencies, ms.
    pub median_ms: Option<f64>,
    /// The pool's mean latency, ms.
    pub pool_mean_ms: Option<f64>,
    /// Whether all available workers share one weight.
    pub uniform_weights: bool,
    /// Each worker's latency skew, by its index in the observation (`None`: not counted).
    pub skews: Vec<Option<f64>>,
    /// Share of the window's responses that came from workers at or over the skew threshold:
    /// when it is under 1%, those workers hardly reach the pool's p99.
    pub slow_share: f64,
    /// The conditions that hold (at most one signal per condition).
    pub signals: Vec<Signal>,
}

impl Assessment {
    /// The signal for `c`, if it holds.
    pub fn signal(&self, c: Condition) -> Option<&Signal> {
        self.signals.iter().find(|s| s.condition == c)
    }

    /// Whether `c` holds.
    pub fn holds(&self, c: Condition) -> bool {
        self.signal(c).is_some()
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Workers that take traffic and have at least `min` responses in their window.
fn counted<'a>(
    obs: &'a Observation<'_>,
    min: u64,
) -> impl Iterator<Item = (usize, &'a WorkerObservation)> + 'a {
    obs.workers
        .iter()
        .enumerate()
        .filter(move |(_, w)| w.available && w.window.requests >= min.max(1))
}

/// The median of `sorted` without its element at `skip`, `None` if nothing is left.
fn median_without(sorted: &[f64], skip: usize) -> Option<f64> {
    let n = sorted.len().checked_sub(1).filter(|n| *n > 0)?;
    let at = |k: usize| sorted[if k >= skip { k + 1 } else { k }];
    Some(if n % 2 == 1 {
        at(n / 2)
    } else {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    })
}

/// For each value, its ratio to the median of the *other* values (a slow worker does not pull
/// the median toward itself: in a pool of two, the plain median would be halfway to it).
fn skew_to_others(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let sorted: Vec<f64> = order.iter().map(|o| o.1).collect();
    let mut out = vec![None; values.len()];
    for (rank, (i, v)) in order.iter().enumerate() {
        out[*i] = median_without(&sorted, rank)
            .filter(|m| *m > 0.0)
            .map(|m| v / m);
    }
    out
}

/// Each worker's latency skew (`None` for a worker not counted): the larger of its recent
/// latency over the median of the others' recent latencies, and its recent latency over its own
/// calm baseline divided by the others' median of that ratio (see [`Memory`]). A lone counted
/// worker has no skew.
fn latency_skews(obs: &Observation<'_>, min: u64, memory: &Memory) -> Vec<Option<f64>> {
    let recent: Vec<Option<f64>> = obs
        .workers
        .iter()
        .map(|w| {
            (w.available && w.window.requests >= min.max(1))
                .then(|| w.recent_ms())
                .flatten()
        })
        .collect();
    let own: Vec<Option<f64>> = obs
        .workers
        .iter()
        .zip(&recent)
        .map(|(w, r)| {
            let base = memory.base_ms(w.id).filter(|b| *b > 0.0)?;
            r.map(|r| r / base)
        })
        .collect();
    skew_to_others(&recent)
        .into_iter()
        .zip(skew_to_others(&own))
        .map(|(raw, norm)| raw.map(|r| norm.map_or(r, |n| r.max(n))))
        .collect()
}

/// Evaluate every condition on `obs`. `baseline_ms` is the pool's calm latency baseline, if one
/// has been learnt; `memory` holds each worker's own calm latency.
pub fn assess(
    obs: &Observation<'_>,
    cfg: &EngineConfig,
    baseline_ms: Option<f64>,
    memory: &Memory,
) -> Assessment {
    let min = cfg.min_worker_samples;
    let available: Vec<&WorkerObservation> = obs.workers.iter().filter(|w| w.available).collect();
    let samples: u64 = available.iter().map(|w| w.window.requests).sum();
    let latency_sum: f64 = available
        .iter()
        .map(|w| w.mean_ms().unwrap_or(0.0) * w.window.requests as f64)
        .sum();
    let mut means: Vec<f64> = counted(obs, min).filter_map(|(_, w)| w.mean_ms()).collect();
    let mut a = Assessment {
        samples,
        median_ms: median(&mut means),
        pool_mean_ms: (samples > 0).then(|| latency_sum / samples as f64),
        uniform_weights: available.windows(2).all(|p| p[0].weight == p[1].weight),
        skews: latency_skews(obs, min, memory),
        slow_share: 0.0,
        signals: Vec::new(),
    };
    let slow: u64 = obs
        .workers
        .iter()
        .zip(&a.skews)
        .filter(|(_, s)| s.is_some_and(|s| s >= cfg.thresholds.latency_skew_enter))
        .map(|(w, _)| w.window.requests)
        .sum();
    a.slow_share = if samples > 0 {
        slow as f64 / samples as f64
    } else {
        0.0
    };
    errors(obs, cfg, &mut a);
    prolonged(obs, cfg, baseline_ms, &mut a);
    if let Some(p) = a
        .signals
        .iter_mut()
        .find(|s| s.condition == Condition::ProlongedProcessing && s.worker.is_some())
    {
        p.detail.push_str(&format!(
            "; slow workers serve {:.2}% of requests",
            a.slow_share * 100.0
        ));
    }
    let in_flight_skew = imbalance(obs, cfg, &mut a);
    calm(obs, cfg, in_flight_skew, &mut a);
    a
}

/// `elevated_error_rate` (the worst-failing worker, else the pool) and `fast_failure` (the
/// worst of the workers whose failures are quick: a timing-out worker must not mask one that
/// fails at once).
fn errors(obs: &Observation<'_>, cfg: &EngineConfig, a: &mut Assessment) {
    let t = &cfg.thresholds;
    let min = cfg.min_worker_samples;
    let failing = || counted(obs, min).filter(|(_, w)| w.window.error_rate >= t.worker_error_enter);
    let rate = |x: &(usize, &WorkerObservation)| x.1.window.error_rate;
    if let Some((i, w)) = failing().max_by(|x, y| rate(x).total_cmp(&rate(y))) {
        let r = w.window.error_rate;
        a.signals.push(Signal {
            condition: Condition::ElevatedErrorRate,
            worker: Some(i),
            value: r,
            threshold: t.worker_error_enter,
            detail: format!(
                "worker {} fails {:.1}% of {} requests (threshold {:.1}%)",
                w.label,
                r * 100.0,
                w.window.requests,
                t.worker_error_enter * 100.0
            ),
        });
    } else if a.samples >= cfg.min_samples.max(1) {
        let errors: u64 = obs
            .workers
            .iter()
            .filter(|w| w.available)
            .map(|w| w.window.errors)
            .sum();
        let r = errors as f64 / a.samples as f64;
        if r >= t.pool_error_enter {
            a.signals.push(Signal {
                condition: Condition::ElevatedErrorRate,
                worker: None,
                value: r,
                threshold: t.pool_error_enter,
                detail: format!(
                    "pool fails {:.1}% of {} requests (threshold {:.1}%)",
                    r * 100.0,
                    a.samples,
                    t.pool_error_enter * 100.0
                ),
            });
        }
    }
    let Some(med) = a.median_ms.filter(|m| *m > 0.0) else {
        return;
    };
    let fast = failing()
        .filter_map(|(i, w)| {
            let ratio = w.window.error_mean?.as_millis_f64() / med;
            (ratio <= t.fast_failure_ratio).then_some((i, w, ratio))
        })
        .max_by(|x, y| x.1.window.error_rate.total_cmp(&y.1.window.error_rate));
    if let Some((i, w, ratio)) = fast {
        let err_ms = w.window.error_mean.map_or(0.0, |d| d.as_millis_f64());
        a.signals.push(Signal {
            condition: Condition::FastFailure,
            worker: Some(i),
            value: ratio,
            threshold: t.fast_failure_ratio,
            detail: format!(
                "worker {} fails {:.1}% of requests in {err_ms:.2} ms, {ratio:.2}x the median latency {med:.2} ms (threshold {:.2}x)",
                w.label,
                w.window.error_rate * 100.0,
                t.fast_failure_ratio
            ),
        });
    }
}

/// `prolonged_processing`: the worker with the largest latency skew, by recent latency (the EWMA
/// reacts in a second or two; the window mean would lag by half a window) against the median and
/// against its own calm latency; else the pool against its baseline.
fn prolonged(
    obs: &Observation<'_>,
    cfg: &EngineConfig,
    baseline_ms: Option<f64>,
    a: &mut Assessment,
) {
    let t = &cfg.thresholds;
    let worst = a
        .skews
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .max_by(|x, y| x.1.total_cmp(&y.1));
    if let Some((i, skew)) = worst
        && skew >= t.latency_skew_enter
    {
        let w = &obs.workers[i];
        let m = w.recent_ms().unwrap_or(0.0);
        a.signals.push(Signal {
            condition: Condition::ProlongedProcessing,
            worker: Some(i),
            value: skew,
            threshold: t.latency_skew_enter,
            detail: format!(
                "worker {} latency {m:.2} ms is {skew:.2}x the pool's (median {:.2} ms; threshold {:.1}x)",
                w.label,
                a.median_ms.unwrap_or(0.0),
                t.latency_skew_enter
            ),
        });
        return;
    }
    if let (Some(pool), Some(base)) = (a.pool_mean_ms, baseline_ms)
        && base > 0.0
        && a.samples >= cfg.min_samples.max(1)
        && pool / base >= t.pool_slowdown_enter
    {
        a.signals.push(Signal {
            condition: Condition::ProlongedProcessing,
            worker: None,
            value: pool / base,
            threshold: t.pool_slowdown_enter,
            detail: format!(
                "pool mean {pool:.2} ms is {:.2}x its baseline {base:.2} ms (threshold {:.1}x)",
                pool / base,
                t.pool_slowdown_enter
            ),
        });
    }
}

/// `load_imbalance`: mean in flight by Little's law per unit weight, over counted workers.
/// Returns the largest in-flight skew, if the pool is loaded enough to judge it.
fn imbalance(obs: &Observation<'_>, cfg: &EngineConfig, a: &mut Assessment) -> Option<f64> {
    let t = &cfg.thresholds;
    let loads: Vec<(usize, f64)> = counted(obs, cfg.min_worker_samples)
        .map(|(i, w)| (i, w.mean_in_flight() / f64::from(w.weight.max(1))))
        .collect();
    if loads.len() < 2 {
        return None;
    }
    let mean = loads.iter().map(|l| l.1).sum::<f64>() / loads.len() as f64;
    let (i, max) = loads.iter().copied().max_by(|x, y| x.1.total_cmp(&y.1))?;
    if mean < t.in_flight_floor || mean <= 0.0 {
        return None;
    }
    let skew = max / mean;
    if skew >= t.in_flight_skew_enter {
        a.signals.push(Signal {
            condition: Condition::LoadImbalance,
            worker: Some(i),
            value: skew,
            threshold: t.in_flight_skew_enter,
            detail: format!(
                "worker {} holds {max:.2} requests in flight per unit weight, {skew:.2}x the pool mean {mean:.2} (threshold {:.1}x)",
                obs.workers[i].label,
                t.in_flight_skew_enter
            ),
        });
    }
    Some(skew)
}

/// Whether worker `i` looks well: enough samples, latency skew (window mean and recent, against
/// the pool and its own baseline) within `calm_latency_skew`, errors within `calm_error_rate`.
pub fn worker_calm(obs: &Observation<'_>, cfg: &EngineConfig, a: &Assessment, i: usize) -> bool {
    let t = &cfg.thresholds;
    let w = &obs.workers[i];
    let mean_skew = match (w.mean_ms(), a.median_ms) {
        (Some(m), Some(med)) if med > 0.0 => m / med,
        _ => return false,
    };
    w.available
        && w.window.requests >= cfg.min_worker_samples.max(1)
        && mean_skew <= t.calm_latency_skew
        && a.skews[i].is_some_and(|s| s <= t.calm_latency_skew)
        && w.window.error_rate <= t.calm_error_rate
}

/// `back_to_normal`: no other condition holds, every available worker has evidence and looks
/// well, and in-flight skew is within `calm_in_flight_skew`.
fn calm(
    obs: &Observation<'_>,
    cfg: &EngineConfig,
    in_flight_skew: Option<f64>,
    a: &mut Assessment,
) {
    let t = &cfg.thresholds;
    let avail: Vec<usize> = (0..obs.workers.len())
        .filter(|&i| obs.workers[i].available)
        .collect();
    let if_skew = in_flight_skew.unwrap_or(1.0);
    let calm = a.signals.is_empty()
        && !avail.is_empty()
        && if_skew <= t.calm_in_flight_skew
        && avail.iter().all(|&i| worker_calm(obs, cfg, a, i));
    if !calm {
        return;
    }
    let max_skew = avail.iter().filter_map(|&i| a.skews[i]).fold(0.0, f64::max);
    let max_err = avail
        .iter()
        .map(|&i| obs.workers[i].window.error_rate)
        .fold(0.0, f64::max);
    a.signals.push(Signal {
        condition: Condition::BackToNormal,
        worker: None,
        value: max_skew,
        threshold: t.calm_latency_skew,
        detail: format!(
            "all {} workers within {max_skew:.2}x of the pool's latency (median {:.2} ms), worst error rate {:.2}%, in-flight skew {if_skew:.2}",
            avail.len(),
            a.median_ms.unwrap_or(0.0),
            max_err * 100.0
        ),
    });
}
