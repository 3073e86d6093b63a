//! The HTTP client: hyper's pooled client over plain TCP (`TCP_NODELAY`), one request at a time
//! per call, the whole response body read so the connection can be reused.

use crate::target::Target;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
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
            resp.into_body()
                .collect()
                .await
                .map_err(|_| Answer::Transport)?;
            Ok::<u16, Answer>(status)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(s)) => Answer::Status(s),
            Ok(Err(a)) => a,
            Err(_) => Answer::Timeout,
        }
    }
}
