//! The HTTP client: hyper's pooled client over plain TCP (`TCP_NODELAY`), one request at a time
//! per call, the whole response body read so the connection can be reused.

use crate::target::Target;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::HeaderName;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP status.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// Connection refused, reset, or a broken response.
    Transport,
}

impl Answer {
    /// A 2xx or 3xx status.
    pub fn is_ok(self) -> bool {
        matches!(self, Answer::Status(s) if s < 400)
    }
}

/// An answer with what [`HttpClient::send_reading`] was asked to keep.
#[derive(Debug, Clone)]
pub struct Reply {
    /// How it ended.
    pub answer: Answer,
    /// The value of the header asked for, if present.
    pub header: Option<String>,
    /// The body of a failed answer (status >= 400).
    pub error_body: Option<Bytes>,
}

impl Reply {
    fn bare(answer: Answer) -> Reply {
        Reply {
            answer,
            header: None,
            error_body: None,
        }
    }
}

/// A pooled client for one target.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose requests give up after `timeout` (connect, head and body).
    pub fn new(timeout: Duration) -> Self {
        let mut c = HttpConnector::new();
        c.set_nodelay(true);
        c.set_connect_timeout(Some(timeout));
        HttpClient {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(usize::MAX)
                .build(c),
            timeout,
        }
    }

    /// Send one request to `target` and read the whole answer.
    pub async fn send(&self, target: &Target) -> Answer {
        self.send_reading(target, None).await.answer
    }

    /// Send one request to `target`, read the whole answer, and return it with the value of
    /// the response header `header` (when asked for and present, as text) and, for a failed
    /// answer (status >= 400), its body.
    pub async fn send_reading(&self, target: &Target, header: Option<&HeaderName>) -> Reply {
        let mut req = Request::new(Full::new(target.body.clone()));
        *req.method_mut() = target.method.clone();
        *req.uri_mut() = target.uri.clone();
        *req.headers_mut() = target.headers.clone();
        let work = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|_| Answer::Transport)?;
            let status = resp.status().as_u16();
            let value = header
                .and_then(|h| resp.headers().get(h))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|_| Answer::Transport)?
                .to_bytes();
            Ok::<_, Answer>((status, value, body))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok((status, header, body))) => Reply {
                answer: Answer::Status(status),
                header,
                error_body: (status >= 400).then_some(body),
            },
            Ok(Err(answer)) => Reply::bare(answer),
            Err(_) => Reply::bare(Answer::Timeout),
        }
    }
}
