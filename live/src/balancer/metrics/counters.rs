//! The counters updated where the event happens: the proxy's (answers, retries, responses by
//! status code, client latency) and each worker's (responses, errors, latency). This module
//! knows nothing of the balancer's state: the state holds these ([`ProxyMetrics`] in `Shared`,
//! a [`WorkerMetrics`] in each worker entry) and the proxy records into them.
//!
//! Per-worker series live in prometheus-client [`Family`]s keyed by the `worker` label (the
//! worker's address). A request never looks a label up: a worker's [`WorkerMetrics`] resolves
//! its three children once, on its first response (one allocation and one write lock per
//! worker), and keeps the handles, so recording is atomic adds only. A worker's series outlive
//! its removal from the pool (Prometheus sees them stop growing) and continue if the address
//! is added again.

use super::families;
use super::histogram::LatencyHistogram;
use lb_core::time::Duration;
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The label set of the per-worker families.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WorkerLabels {
    /// The worker's address, `ip:port` (`[ip]:port` for IPv6).
    pub worker: String,
}

/// Why the balancer answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 503: no worker available.
    NoWorker,
    /// 504: the worker did not answer in time.
    Timeout,
    /// 502: the worker failed (refused, reset, bad response).
    BadGateway,
    /// 503: admission control shed the request (the in-flight limits were reached).
    Overloaded,
}

impl Answer {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [Answer; 4] = [
        Answer::NoWorker,
        Answer::Timeout,
        Answer::BadGateway,
        Answer::Overloaded,
    ];

    /// The `reason` label value.
    pub fn name(self) -> &'static str {
        match self {
            Answer::NoWorker => "no_worker",
            Answer::Timeout => "timeout",
            Answer::BadGateway => "bad_gateway",
            Answer::Overloaded => "overloaded",
        }
    }
}

impl EncodeLabelValue for Answer {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.name())
    }
}

/// The label set of `lb_proxy_responses_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AnswerLabels {
    /// Why.
    pub reason: Answer,
}

/// The label set of `lb_responses_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CodeLabels {
    /// The HTTP status code, `200`.
    pub code: u16,
}

/// HTTP status codes hyper can carry: 100 to 999.
const FIRST_CODE: u16 = 100;
const CODES: usize = 900;

/// Responses by status code: one atomic per possible code, so counting one is an index and an
/// add, with no label to look up. Encoded as a counter family with a sample per code seen.
#[derive(Debug, Clone)]
pub struct StatusCodes(Arc<[AtomicU64]>);

impl Default for StatusCodes {
    fn default() -> Self {
        StatusCodes((0..CODES).map(|_| AtomicU64::new(0)).collect())
    }
}

impl StatusCodes {
    /// Count one response with status `code` (one outside 100-999 is not counted).
    #[inline]
    pub fn inc(&self, code: u16) {
        if let Some(c) = self.0.get(usize::from(code.wrapping_sub(FIRST_CODE))) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The responses counted with status `code`.
    pub fn get(&self, code: u16) -> u64 {
        self.0
            .get(usize::from(code.wrapping_sub(FIRST_CODE)))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl TypedMetric for StatusCodes {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for StatusCodes {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (code, c) in (FIRST_CODE..).zip(self.0.iter()) {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                ConstCounter::new(n).encode(encoder.encode_family(&CodeLabels { code })?)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Counters of the proxy itself, and the per-worker families. (Requests received and lock
/// takes are counted per shard, under the shard's lock, so that no counter is shared by every
/// request: see `Shared::shard_totals`.)
#[derive(Debug)]
pub struct ProxyMetrics {
    answers: Family<AnswerLabels, Counter>,
    /// The children of `answers`, in [`Answer::ALL`] order.
    answer: [Counter; Answer::ALL.len()],
    retries: Counter,
    responses: StatusCodes,
    request_duration: LatencyHistogram,
    worker_requests: Family<WorkerLabels, Counter>,
    worker_errors: Family<WorkerLabels, Counter>,
    worker_duration: Family<WorkerLabels, LatencyHistogram>,
    /// Times a request found its shard's lock taken and had to wait for it (counted by the
    /// state, read at scrape time).
    pub lock_contended: AtomicU64,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        let answers = Family::<AnswerLabels, Counter>::default();
        let answer =
            Answer::ALL.map(|reason| answers.get_or_create_owned(&AnswerLabels { reason }));
        ProxyMetrics {
            answers,
            answer,
            retries: Counter::default(),
            responses: StatusCodes::default(),
            request_duration: LatencyHistogram::default(),
            worker_requests: Family::default(),
            worker_errors: Family::default(),
            worker_duration: Family::default(),
            lock_contended: AtomicU64::new(0),
        }
    }
}

impl ProxyMetrics {
    /// The balancer answered a request itself, for `reason`.
    #[inline]
    pub fn answered(&self, reason: Answer) {
        self.answer[reason as usize].inc();
    }

    /// A connection failure was retried on another worker.
    #[inline]
    pub fn retried(&self) {
        self.retries.inc();
    }

    /// A response with status `code` went to a client, `latency` after its request arrived.
    #[inline]
    pub fn responded(&self, code: u16, latency: Duration) {
        self.responses.inc(code);
        self.request_duration.observe(latency);
    }

    /// Answers made for `reason` so far.
    pub fn answers(&self, reason: Answer) -> u64 {
        self.answer[reason as usize].get()
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }

    /// Responses to clients with status `code` so far.
    pub fn responses(&self, code: u16) -> u64 {
        self.responses.get(code)
    }

    /// Register every family here in `registry` (once per exposition).
    pub fn register(&self, registry: &mut Registry) {
        families::RESPONSES.register(registry, self.responses.clone());
        families::REQUEST_DURATION.register(registry, self.request_duration.clone());
        families::PROXY_RESPONSES.register(registry, self.answers.clone());
        families::RETRIES.register(registry, self.retries.clone());
        families::WORKER_REQUESTS.register(registry, self.worker_requests.clone());
        families::WORKER_ERRORS.register(registry, self.worker_errors.clone());
        families::WORKER_REQUEST_DURATION.register(registry, self.worker_duration.clone());
    }

    /// Make sure the per-worker series of `worker` exist, so that a worker in the pool shows
    /// zeros before its first response.
    pub fn touch_worker(&self, worker: &WorkerLabels) {
        self.worker_series(worker);
    }

    fn worker_series(&self, worker: &WorkerLabels) -> WorkerSeries {
        WorkerSeries {
            requests: self.worker_requests.get_or_create_owned(worker),
            errors: self.worker_errors.get_or_create_owned(worker),
            latency: self.worker_duration.get_or_create_owned(worker),
        }
    }
}

/// One worker's series: the handles of its children in the per-worker families.
#[derive(Debug, Clone)]
struct WorkerSeries {
    requests: Counter,
    errors: Counter,
    latency: LatencyHistogram,
}

/// One worker's counters and latency histogram: handles into [`ProxyMetrics`]' per-worker
/// families, resolved on the first response.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    series: OnceLock<WorkerSeries>,
}

impl WorkerMetrics {
    /// Count one response of `latency` from `worker` (its address as the `worker` label);
    /// `ok` is false for a failure (5xx, refused, timeout). The first call resolves the series
    /// in `proxy`'s families under `worker`; later calls keep to those and ignore `worker`.
    #[inline]
    pub fn record(&self, proxy: &ProxyMetrics, worker: &str, latency: Duration, ok: bool) {
        let s = self.series.get_or_init(|| {
            proxy.worker_series(&WorkerLabels {
                worker: worker.to_string(),
            })
        });
        s.requests.inc();
        if !ok {
            s.errors.inc();
        }
        s.latency.observe(latency);
    }

    /// Responses counted so far (0 before the first).
    pub fn requests(&self) -> u64 {
        self.series.get().map_or(0, |s| s.requests.get())
    }

    /// Failures counted so far.
    pub fn errors(&self) -> u64 {
        self.series.get().map_or(0, |s| s.errors.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    fn text(proxy: &ProxyMetrics) -> String {
        let mut registry = Registry::default();
        proxy.register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).expect("encode");
        out
    }

    #[test]
    fn a_worker_records_into_the_family_child_of_its_address() {
        let proxy = ProxyMetrics::default();
        let w = WorkerMetrics::default();
        assert_eq!(w.requests(), 0);
        w.record(&proxy, "127.0.0.1:9001", Duration::from_millis(3), true);
        // The label given later is ignored: the handles were resolved on the first response.
        w.record(&proxy, "ignored", Duration::from_millis(30), false);
        assert_eq!((w.requests(), w.errors()), (2, 1));
        let labels = WorkerLabels {
            worker: "127.0.0.1:9001".into(),
        };
        assert_eq!(proxy.worker_requests.get_or_create(&labels).get(), 2);
        assert_eq!(proxy.worker_errors.get_or_create(&labels).get(), 1);
        assert_eq!(
            proxy
                .worker_duration
                .get_or_create(&labels)
                .snapshot()
                .count,
            2
        );
        let other = WorkerLabels {
            worker: "ignored".into(),
        };
        assert!(proxy.worker_requests.get(&other).is_none());

        // A second entry for the same address (removed and added again) continues the series.
        let again = WorkerMetrics::default();
        again.record(&proxy, "127.0.0.1:9001", Duration::from_millis(3), true);
        assert_eq!(again.requests(), 3);
    }

    #[test]
    fn touched_workers_show_zeros() {
        let proxy = ProxyMetrics::default();
        proxy.touch_worker(&WorkerLabels {
            worker: "127.0.0.1:9002".into(),
        });
        let t = text(&proxy);
        assert!(
            t.contains("lb_worker_requests_total{worker=\"127.0.0.1:9002\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "lb_worker_request_duration_seconds_bucket{worker=\"127.0.0.1:9002\",le=\"+Inf\"} 0\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn answers_retries_and_codes_are_counted_under_their_labels() {
        let proxy = ProxyMetrics::default();
        proxy.answered(Answer::Timeout);
        proxy.answered(Answer::Timeout);
        proxy.answered(Answer::NoWorker);
        proxy.retried();
        proxy.responded(200, Duration::from_millis(2));
        proxy.responded(504, Duration::from_secs(1));
        proxy.responded(999, Duration::ZERO);
        proxy.responded(42, Duration::ZERO); // not an HTTP code: timed, not counted by code
        assert_eq!(proxy.answers(Answer::Timeout), 2);
        assert_eq!(proxy.answers(Answer::BadGateway), 0);
        assert_eq!(proxy.retries(), 1);
        assert_eq!(
            (
                proxy.responses(200),
                proxy.responses(504),
                proxy.responses(999)
            ),
            (1, 1, 1)
        );
        assert_eq!(proxy.responses(42), 0);
        let t = text(&proxy);
        for line in [
            "lb_proxy_responses_total{reason=\"timeout\"} 2\n",
            "lb_proxy_responses_total{reason=\"no_worker\"} 1\n",
            "lb_proxy_responses_total{reason=\"bad_gateway\"} 0\n",
            "lb_retries_total 1\n",
            "lb_responses_total{code=\"200\"} 1\n",
            "lb_responses_total{code=\"504\"} 1\n",
            "lb_request_duration_seconds_count 4\n",
        ] {
            assert!(t.contains(line), "no {line:?} in\n{t}");
        }
        assert!(!t.contains("code=\"201\""), "{t}");
    }
}
