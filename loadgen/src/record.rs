//! What a run measured: an HdrHistogram of latencies, counts by status, and one bucket per
//! second (answers, errors, p50, p99, mean requests in flight). [`Recorder::record`] buckets an
//! answer by when its request was *meant* to start (open loop) or started (closed loop);
//! [`Recorder::record_at`] takes the bucket's time from the caller (the live experiment buckets
//! by completion, as the simulator does).

use crate::client::Answer;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latencies are recorded in microseconds, from 1 us to 1 hour, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

/// One second of the run.
#[derive(Debug, Clone)]
pub struct Second {
    /// Answers.
    pub requests: u64,
    /// Failed answers (status >= 400, timeouts, transport errors).
    pub errors: u64,
    /// Their latencies.
    pub latency: Histogram<u64>,
    /// Sum of the time requests spent in flight during this second, in seconds.
    pub in_flight_s: f64,
}

/// Everything measured.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// All latencies, microseconds.
    pub latency: Histogram<u64>,
    /// Answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests that failed below HTTP (refused, reset).
    pub transport_errors: u64,
    /// Sum of latencies, microseconds (for the exact mean).
    pub latency_sum_us: u128,
    /// The per-second series.
    pub seconds: Vec<Second>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: histogram(),
            by_status: BTreeMap::new(),
            timeouts: 0,
            transport_errors: 0,
            latency_sum_us: 0,
            seconds: Vec::new(),
        }
    }
}

impl Recorder {
    /// Record one answer: `start` is its (intended) start since the run began, `latency` from
    /// that start to the end of the answer.
    pub fn record(&mut self, start: Duration, latency: Duration, answer: Answer) {
        self.record_at(start, start, latency, answer);
    }

    /// Record one answer in the second holding `bucket` (time in flight still goes to the
    /// seconds between `start` and `start + latency`).
    pub fn record_at(
        &mut self,
        bucket: Duration,
        start: Duration,
        latency: Duration,
        answer: Answer,
    ) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency.saturating_record(us);
        self.latency_sum_us += u128::from(us);
        match answer {
            Answer::Status(s) => *self.by_status.entry(s).or_default() += 1,
            Answer::Timeout => self.timeouts += 1,
            Answer::Transport => self.transport_errors += 1,
        }
        let sec = bucket.as_secs() as usize;
        let last = (start + latency).as_secs() as usize;
        while self.seconds.len() <= last.max(sec) {
            self.seconds.push(Second {
                requests: 0,
                errors: 0,
                latency: Histogram::new_with_bounds(1, 3_600_000_000, 2)
                    .expect("constant histogram bounds are valid"),
                in_flight_s: 0.0,
            });
        }
        let s = &mut self.seconds[sec];
        s.requests += 1;
        s.errors += u64::from(!answer.is_ok());
        s.latency.saturating_record(us);
        // Spread the request's time in flight over the seconds it spans.
        let (mut from, to) = (start.as_secs_f64(), (start + latency).as_secs_f64());
        while from < to {
            let i = from as usize;
            let end = ((i + 1) as f64).min(to);
            match self.seconds.get_mut(i) {
                Some(b) => b.in_flight_s += end - from,
                None => break,
            }
            from = end;
        }
    }

    /// Answers recorded.
    pub fn count(&self) -> u64 {
        self.latency.len()
    }

    /// Successful answers (2xx, 3xx).
    pub fn ok(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| **s < 400)
            .map(|(_, n)| n)
            .sum()
    }

    /// Failed answers.
    pub fn errors(&self) -> u64 {
        self.count() - self.ok()
    }

    /// Mean latency, ms.
    pub fn mean_ms(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.latency_sum_us as f64 / self.count() as f64 / 1e3
        }
    }

    /// Latency at quantile `q`, ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.latency.value_at_quantile(q) as f64 / 1e3
        }
    }

    /// Largest latency, ms.
    pub fn max_ms(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.latency.max() as f64 / 1e3
        }
    }

    /// Answers slower than `ms`.
    pub fn slower_than(&self, ms: f64) -> u64 {
        let us = (ms * 1e3) as u64;
        self.latency
            .iter_recorded()
            .filter(|v| v.value_iterated_to() > us)
            .map(|v| v.count_at_value())
            .sum()
    }

    /// Merge another recorder (from another task) into this one.
    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.latency.add(&other.latency);
        for (s, n) in &other.by_status {
            *self.by_status.entry(*s).or_default() += n;
        }
        self.timeouts += other.timeouts;
        self.transport_errors += other.transport_errors;
        self.latency_sum_us += other.latency_sum_us;
        for (i, s) in other.seconds.iter().enumerate() {
            if let Some(mine) = self.seconds.get_mut(i) {
                mine.requests += s.requests;
                mine.errors += s.errors;
                let _ = mine.latency.add(&s.latency);
                mine.in_flight_s += s.in_flight_s;
            } else {
                self.seconds.push(s.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_statuses_errors_quantiles_and_in_flight() {
        let mut r = Recorder::default();
        let ms = Duration::from_millis;
        r.record(ms(100), ms(10), Answer::Status(200));
        r.record(ms(900), ms(200), Answer::Status(503));
        r.record(ms(1500), ms(20), Answer::Timeout);
        assert_eq!((r.count(), r.ok(), r.errors()), (3, 1, 2));
        assert_eq!(r.by_status[&503], 1);
        assert_eq!(r.timeouts, 1);
        assert!((r.max_ms() - 200.0).abs() < 0.5);
        assert!((r.mean_ms() - 230.0 / 3.0).abs() < 0.01);
        assert_eq!(r.slower_than(100.0), 1);
        assert_eq!(r.seconds.len(), 2);
        // A request that ends in a second nobody started in still gets its bucket.
        let mut long = Recorder::default();
        long.record(ms(500), ms(2000), Answer::Status(200));
        assert_eq!(long.seconds.len(), 3);
        assert!((long.seconds[2].in_flight_s - 0.5).abs() < 1e-9);
        assert_eq!((r.seconds[0].requests, r.seconds[0].errors), (2, 1));
        // 10 ms + 100 of the 200 ms request in second 0; its other 100 ms and 20 ms in second 1.
        assert!((r.seconds[0].in_flight_s - 0.110).abs() < 1e-9);
        assert!((r.seconds[1].in_flight_s - 0.120).abs() < 1e-9);
        let mut m = Recorder::default();
        m.merge(&r);
        m.merge(&r);
        assert_eq!(m.count(), 6);
        assert_eq!(m.seconds[1].requests, 2);
        // Bucketed by completion: the 200 ms request due at 0.9 s ends in second 1.
        let mut end = Recorder::default();
        end.record_at(ms(1100), ms(900), ms(200), Answer::Status(503));
        assert_eq!(end.seconds.len(), 2);
        assert_eq!((end.seconds[0].requests, end.seconds[1].requests), (0, 1));
        assert!((end.seconds[0].in_flight_s - 0.1).abs() < 1e-9);
    }
}
