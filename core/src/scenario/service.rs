//! Service-time distributions: what a worker spends on one request at speed 1.
//!
//! The same sampler serves the simulator and the live worker, so the two draw service times the
//! same way. Parameters are given the way people think about latency: a constant, a mean, a
//! median and a p99 (log-normal: `sigma = ln(p99 / median) / z(0.99)`, with the normal quantile
//! from `statrs`), or a mean and a tail index (Pareto: `scale = mean * (shape - 1) / shape`).

use super::model::ServiceFile;
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto};
use statrs::distribution::{ContinuousCDF, Normal};

/// A ready-to-sample service-time distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    /// Always this many ms.
    Constant(f64),
    /// Exponential.
    Exponential(Exp<f64>),
    /// Log-normal.
    LogNormal(LogNormal<f64>),
    /// Pareto.
    Pareto(Pareto<f64>),
}

/// Why a distribution's parameters were refused: (field, reason).
pub type ParamError = (&'static str, String);

fn positive(field: &'static str, v: f64) -> Result<f64, ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err((field, format!("must be a finite number > 0, got {v}")))
    }
}

impl ServiceTime {
    /// Build from the file's description, checking parameters.
    pub fn from_file(f: &ServiceFile) -> Result<Self, ParamError> {
        match *f {
            ServiceFile::Constant { ms } => {
                if ms.is_finite() && ms >= 0.0 {
                    Ok(ServiceTime::Constant(ms))
                } else {
                    Err(("ms", format!("must be a finite number >= 0, got {ms}")))
                }
            }
            ServiceFile::Exponential { mean_ms } => {
                let m = positive("mean_ms", mean_ms)?;
                Exp::new(1.0 / m)
                    .map(ServiceTime::Exponential)
                    .map_err(|e| ("mean_ms", e.to_string()))
            }
            ServiceFile::Lognormal { median_ms, p99_ms } => {
                let m = positive("median_ms", median_ms)?;
                let p = positive("p99_ms", p99_ms)?;
                if p <= m {
                    return Err((
                        "p99_ms",
                        format!("must be greater than median_ms ({m}), got {p}"),
                    ));
                }
                let z99 = Normal::standard().inverse_cdf(0.99);
                let sigma = (p / m).ln() / z99;
                LogNormal::new(m.ln(), sigma)
                    .map(ServiceTime::LogNormal)
                    .map_err(|e| ("p99_ms", e.to_string()))
            }
            ServiceFile::Pareto { mean_ms, shape } => {
                let m = positive("mean_ms", mean_ms)?;
                let a = positive("shape", shape)?;
                if a <= 1.0 {
                    return Err((
                        "shape",
                        format!("must be > 1 for the mean to exist, got {a}"),
                    ));
                }
                Pareto::new(m * (a - 1.0) / a, a)
                    .map(ServiceTime::Pareto)
                    .map_err(|e| ("shape", e.to_string()))
            }
        }
    }

    /// One service time, in ms.
    #[inline]
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            ServiceTime::Constant(ms) => *ms,
            ServiceTime::Exponential(d) => d.sample(rng),
            ServiceTime::LogNormal(d) => d.sample(rng),
            ServiceTime::Pareto(d) => d.sample(rng),
        }
    }
}

/// The mean of a distribution as described in a file, in ms (for load estimates).
pub fn mean_ms(f: &ServiceFile) -> f64 {
    match *f {
        ServiceFile::Constant { ms } => ms,
        ServiceFile::Exponential { mean_ms } => mean_ms,
        ServiceFile::Lognormal { median_ms, p99_ms } => {
            let sigma = (p99_ms / median_ms).ln() / Normal::standard().inverse_cdf(0.99);
            median_ms * (sigma * sigma / 2.0).exp()
        }
        ServiceFile::Pareto { mean_ms, .. } => mean_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn sample_mean(f: ServiceFile, n: usize) -> (f64, Vec<f64>) {
        let d = ServiceTime::from_file(&f).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut v: Vec<f64> = (0..n).map(|_| d.sample_ms(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        (v.iter().sum::<f64>() / n as f64, v)
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let (mean, v) = sample_mean(
            ServiceFile::Lognormal {
                median_ms: 10.0,
                p99_ms: 50.0,
            },
            200_000,
        );
        let median = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((median - 10.0).abs() < 0.2, "median {median}");
        assert!((p99 - 50.0).abs() < 2.0, "p99 {p99}");
        let expect = mean_ms(&ServiceFile::Lognormal {
            median_ms: 10.0,
            p99_ms: 50.0,
        });
        assert!((mean - expect).abs() / expect < 0.02, "{mean} vs {expect}");
    }

    #[test]
    fn exponential_and_pareto_have_the_asked_mean() {
        let (m, _) = sample_mean(ServiceFile::Exponential { mean_ms: 10.0 }, 200_000);
        assert!((m - 10.0).abs() < 0.1, "{m}");
        // Shape 3 has finite variance, so the sample mean converges reasonably.
        let (m, v) = sample_mean(
            ServiceFile::Pareto {
                mean_ms: 10.0,
                shape: 3.0,
            },
            400_000,
        );
        assert!((m - 10.0).abs() < 0.2, "{m}");
        assert!((v[0] - 10.0 * 2.0 / 3.0).abs() < 0.01, "scale {}", v[0]);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = ServiceTime::from_file(&ServiceFile::Exponential { mean_ms: -1.0 }).unwrap_err();
        assert_eq!(e.0, "mean_ms");
        let e = ServiceTime::from_file(&ServiceFile::Lognormal {
            median_ms: 10.0,
            p99_ms: 5.0,
        })
        .unwrap_err();
        assert_eq!(e.0, "p99_ms");
        let e = ServiceTime::from_file(&ServiceFile::Pareto {
            mean_ms: 10.0,
            shape: 1.0,
        })
        .unwrap_err();
        assert_eq!(e.0, "shape");
        let e = ServiceTime::from_file(&ServiceFile::Constant { ms: f64::NAN }).unwrap_err();
        assert_eq!(e.0, "ms");
    }
}
