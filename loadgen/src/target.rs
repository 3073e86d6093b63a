//! What to send where, checked before any load starts: a URL that is not `http://host:port/...`
//! or a target that refuses connections stops the run at once with a message that says so.

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Uri};
use std::net::SocketAddr;
use std::time::Duration;

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A header given with `-H` is not `Name: value`.
    #[error("invalid header {header:?}: {reason}")]
    Header {
        /// The header given.
        header: String,
        /// Why.
        reason: String,
    },
    /// The method is not an HTTP method.
    #[error("invalid method {0:?}")]
    Method(String),
    /// The target does not answer.
    #[error("target {url} does not answer: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why (connection refused, timeout, name not resolved).
        reason: String,
    },
}

/// One kind of request, sent again and again.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL (`http` only).
    pub uri: Uri,
    /// The method.
    pub method: Method,
    /// The body (empty for none).
    pub body: Bytes,
    /// Extra headers.
    pub headers: HeaderMap,
}

impl Target {
    /// Check and build a target from command-line text.
    pub fn new(
        url: &str,
        method: &str,
        body: Bytes,
        headers: &[String],
    ) -> Result<Target, TargetError> {
        let bad = |reason: &str| TargetError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if !url.contains("://") {
            return Err(bad("missing scheme; write http://host:port/path"));
        }
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported; use http://")),
            Some(other) => {
                return Err(bad(&format!(
                    "scheme {other:?} is not supported; use http://"
                )));
            }
            None => return Err(bad("missing scheme; write http://host:port/path")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("missing host"));
        }
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| TargetError::Method(method.to_string()))?;
        let mut map = HeaderMap::new();
        for h in headers {
            let herr = |reason: &str| TargetError::Header {
                header: h.clone(),
                reason: reason.to_string(),
            };
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| herr("expected `Name: value`"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| herr("bad header name"))?;
            let value =
                HeaderValue::from_str(value.trim()).map_err(|_| herr("bad header value"))?;
            map.append(name, value);
        }
        Ok(Target {
            uri,
            method,
            body,
            headers: map,
        })
    }

    /// `host:port` of the target (port 80 when absent).
    pub fn authority(&self) -> String {
        let host = self.uri.host().unwrap_or("");
        let port = self.uri.port_u16().unwrap_or(80);
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }

    /// Connect once (within `timeout`) to make sure something listens there.
    pub async fn preflight(&self, timeout: Duration) -> Result<(), TargetError> {
        let url = self.uri.to_string();
        let unreachable = |reason: String| TargetError::Unreachable {
            url: url.clone(),
            reason,
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(self.authority())
            .await
            .map_err(|e| unreachable(format!("cannot resolve {}: {e}", self.authority())))?
            .collect();
        let Some(addr) = addrs.first() else {
            return Err(unreachable(format!(
                "{} resolves to nothing",
                self.authority()
            )));
        };
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unreachable(format!("cannot connect to {addr}: {e}"))),
            Err(_) => Err(unreachable(format!(
                "no answer from {addr} within {} ms",
                timeout.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_methods_and_headers_are_checked() {
        let t = Target::new(
            "http://127.0.0.1:8080/work",
            "post",
            Bytes::new(),
            &["X-A: 1".into()],
        )
        .unwrap();
        assert_eq!(t.authority(), "127.0.0.1:8080");
        assert_eq!(t.method, Method::from_bytes(b"post").unwrap());
        assert_eq!(t.headers["x-a"], "1");
        assert_eq!(
            Target::new("http://localhost/", "GET", Bytes::new(), &[])
                .unwrap()
                .authority(),
            "localhost:80"
        );
        for (url, want) in [
            ("https://127.0.0.1/", "https is not supported"),
            ("127.0.0.1:8080/work", "missing scheme"),
            ("http://", "invalid URL"),
            ("ftp://x/", "not supported"),
        ] {
            let e = Target::new(url, "GET", Bytes::new(), &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{url}: {e}");
        }
        let e = Target::new("http://a/", "GET", Bytes::new(), &["nocolon".into()]).unwrap_err();
        assert!(e.to_string().contains("expected `Name: value`"), "{e}");
        assert!(Target::new("http://a/", "BAD METHOD", Bytes::new(), &[]).is_err());
    }
}
