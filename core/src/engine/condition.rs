//! The conditions the engine evaluates, each a plain function of one observation and the
//! thresholds, so each can be tested at the edges of its threshold on hand-built numbers.
//!
//! Only workers that take traffic count: an ejected or unhealthy worker is already out of
//! rotation, and outlier ejection, not the algorithm, is what handles it. A worker's own numbers
//! count only when its window holds at least `min_worker_samples` responses.
//!
//! | name | holds when |
//! |---|---|
//! | `prolonged_processing` | a worker's recent latency (EWMA) is `latency_skew_enter` x the median of the workers' recent latencies, or the pool's window mean is `pool_slowdown_enter` x its calm baseline |
//! | `elevated_error_rate` | a worker fails `worker_error_enter` of its requests, or the pool `pool_error_enter` |
//! | `fast_failure` | an elevated-error worker's failures take at most `fast_failure_ratio` of the median latency: it looks idle and quick |
//! | `load_imbalance` | a worker's mean in flight (Little's law over the window) is `in_flight_skew_enter` x the pool's mean |
//! | `back_to_normal` | every available worker has enough samples, latency within `calm_latency_skew` of the median, errors at most `calm_error_rate`, in-flight skew at most `calm_in_flight_skew` |

use super::config::{EngineConfig, Thresholds};
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

fn counted<'a>(
    obs: &'a Observation<'_>,
    min: u64,
) -> impl Iterator<Item = (usize, &'a WorkerObservation)> + 'a {
    obs.workers
        .iter()
        .enumerate()
        .filter(move |(_, w)| w.available && w.window.requests >= min.max(1))
}

/// Evaluate every condition on `obs`. `baseline_ms` is the pool's calm latency baseline, if one
/// has been learnt.
pub fn assess(obs: &Observation<'_>, cfg: &EngineConfig, baseline_ms: Option<f64>) -> Assessment {
    let t: &Thresholds = &cfg.thresholds;
    let min = cfg.min_worker_samples;
    let available: Vec<(usize, &WorkerObservation)> = obs
        .workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.available)
        .collect();
    let samples: u64 = available.iter().map(|(_, w)| w.window.requests).sum();
    let errors: u64 = available.iter().map(|(_, w)| w.window.errors).sum();
    let latency_sum: f64 = available
        .iter()
        .map(|(_, w)| w.mean_ms().unwrap_or(0.0) * w.window.requests as f64)
        .sum();
    let pool_mean_ms = (samples > 0).then(|| latency_sum / samples as f64);
    let mut means: Vec<f64> = counted(obs, min).filter_map(|(_, w)| w.mean_ms()).collect();
    let median_ms = median(&mut means);
    let uniform_weights = available.windows(2).all(|p| p[0].1.weight == p[1].1.weight);
    let mut a = Assessment {
        samples,
        median_ms,
        pool_mean_ms,
        uniform_weights,
        signals: Vec::new(),
    };

    // Elevated error rate and fast failure: the worst-failing worker.
    let worst =
        counted(obs, min).max_by(|x, y| x.1.window.error_rate.total_cmp(&y.1.window.error_rate));
    if let Some((i, w)) = worst
        && w.window.error_rate >= t.worker_error_enter
    {
        let rate = w.window.error_rate;
        a.signals.push(Signal {
            condition: Condition::ElevatedErrorRate,
            worker: Some(i),
            value: rate,
            threshold: t.worker_error_enter,
            detail: format!(
                "worker {} fails {:.1}% of {} requests (threshold {:.1}%)",
                w.label,
                rate * 100.0,
                w.window.requests,
                t.worker_error_enter * 100.0
            ),
        });
        if let (Some(err), Some(med)) = (w.window.error_mean, median_ms)
            && med > 0.0
        {
            let ratio = err.as_millis_f64() / med;
            if ratio <= t.fast_failure_ratio {
                a.signals.push(Signal {
                    condition: Condition::FastFailure,
                    worker: Some(i),
                    value: ratio,
                    threshold: t.fast_failure_ratio,
                    detail: format!(
                        "worker {} fails {:.1}% of requests in {:.2} ms, {:.2}x the median latency {:.2} ms (threshold {:.2}x)",
                        w.label,
                        rate * 100.0,
                        err.as_millis_f64(),
                        ratio,
                        med,
                        t.fast_failure_ratio
                    ),
                });
            }
        }
    } else if samples >= cfg.min_samples.max(1) {
        let rate = errors as f64 / samples as f64;
        if rate >= t.pool_error_enter {
            a.signals.push(Signal {
                condition: Condition::ElevatedErrorRate,
                worker: None,
                value: rate,
                threshold: t.pool_error_enter,
                detail: format!(
                    "pool fails {:.1}% of {samples} requests (threshold {:.1}%)",
                    rate * 100.0,
                    t.pool_error_enter * 100.0
                ),
            });
        }
    }

    // Prolonged processing: the slowest worker against the median, by recent latency (the EWMA
    // reacts in a second or two; the window mean would lag by half a window), else the pool
    // against its baseline.
    let mut recent: Vec<f64> = counted(obs, min)
        .filter_map(|(_, w)| w.recent_ms())
        .collect();
    let recent_median = median(&mut recent);
    let slowest = counted(obs, min)
        .filter_map(|(i, w)| w.recent_ms().map(|m| (i, m)))
        .max_by(|x, y| x.1.total_cmp(&y.1));
    let mut prolonged = false;
    if let (Some((i, m)), Some(med)) = (slowest, recent_median)
        && med > 0.0
        && m / med >= t.latency_skew_enter
    {
        prolonged = true;
        a.signals.push(Signal {
            condition: Condition::ProlongedProcessing,
            worker: Some(i),
            value: m / med,
            threshold: t.latency_skew_enter,
            detail: format!(
                "worker {} latency {m:.2} ms is {:.2}x the median {med:.2} ms (threshold {:.1}x)",
                obs.workers[i].label,
                m / med,
                t.latency_skew_enter
            ),
        });
    }
    if !prolonged
        && let (Some(pool), Some(base)) = (pool_mean_ms, baseline_ms)
        && base > 0.0
        && samples >= cfg.min_samples.max(1)
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

    // Load imbalance: mean in flight by Little's law, over available workers with samples.
    let loads: Vec<(usize, f64)> = counted(obs, min)
        .map(|(i, w)| (i, w.mean_in_flight() / f64::from(w.weight.max(1))))
        .collect();
    let in_flight_skew = if loads.len() >= 2 {
        let mean = loads.iter().map(|l| l.1).sum::<f64>() / loads.len() as f64;
        let (i, max) = loads
            .iter()
            .copied()
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .unwrap_or((0, 0.0));
        (mean >= t.in_flight_floor && mean > 0.0).then_some((i, max / mean, mean))
    } else {
        None
    };
    if let Some((i, skew, mean)) = in_flight_skew
        && skew >= t.in_flight_skew_enter
    {
        a.signals.push(Signal {
            condition: Condition::LoadImbalance,
            worker: Some(i),
            value: skew,
            threshold: t.in_flight_skew_enter,
            detail: format!(
                "worker {} holds {:.2} requests in flight per unit weight, {skew:.2}x the pool mean {mean:.2} (threshold {:.1}x)",
                obs.workers[i].label,
                skew * mean,
                t.in_flight_skew_enter
            ),
        });
    }

    // Back to normal: every available worker has evidence, and all of it is calm.
    let every_counted = !available.is_empty()
        && available
            .iter()
            .all(|(_, w)| w.window.requests >= min.max(1));
    if every_counted && let Some(med) = median_ms {
        let max_skew = available
            .iter()
            .filter_map(|(_, w)| w.mean_ms())
            .map(|m| if med > 0.0 { m / med } else { 1.0 })
            .fold(0.0, f64::max);
        let max_err = available
            .iter()
            .map(|(_, w)| w.window.error_rate)
            .fold(0.0, f64::max);
        let if_skew = in_flight_skew.map_or(1.0, |s| s.1);
        if max_skew <= t.calm_latency_skew
            && max_err <= t.calm_error_rate
            && if_skew <= t.calm_in_flight_skew
        {
            a.signals.push(Signal {
                condition: Condition::BackToNormal,
                worker: None,
                value: max_skew,
                threshold: t.calm_latency_skew,
                detail: format!(
                    "all {} workers within {max_skew:.2}x of the median latency {med:.2} ms, worst error rate {:.2}%, in-flight skew {if_skew:.2}",
                    available.len(),
                    max_err * 100.0
                ),
            });
        }
    }
    a
}
