//! Header work of the data path: hop-by-hop headers removed, `X-Forwarded-For` appended, our
//! `Via` entry added (and found again, to detect a request that looped back to us), and the
//! request checks a reverse proxy makes before forwarding (one `Host` on HTTP/1.1, no
//! `CONNECT`, no protocol upgrade).

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Version};
use std::net::IpAddr;

/// Hop-by-hop headers (RFC 9110 section 7.6.1), never forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Remove hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Append the client's address to `X-Forwarded-For` (several lines joined into one).
pub fn append_forwarded_for(headers: &mut HeaderMap, client: IpAddr) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let prior: Vec<&str> = headers
        .get_all(&xff)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(xff, v);
    }
}

/// Whether a `Via` entry names `id` (the request already went through this balancer).
pub fn via_contains(headers: &HeaderMap, id: &str) -> bool {
    headers
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.split_whitespace().nth(1))
        .any(|by| by == id)
}

/// Append `1.1 <id>` to `Via`.
pub fn append_via(headers: &mut HeaderMap, id: &str) {
    let prior: Vec<&str> = headers
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        format!("1.1 {id}")
    } else {
        format!("{}, 1.1 {id}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(header::VIA, v);
    }
}

/// Why a request is refused before it is forwarded: status and reason.
pub fn refusal(method: &Method, version: Version, headers: &HeaderMap) -> Option<(u16, String)> {
    if *method == Method::CONNECT {
        return Some((
            405,
            "405 CONNECT is not supported: this is a reverse proxy, not a forward proxy".into(),
        ));
    }
    let hosts = headers.get_all(header::HOST).iter().count();
    if hosts > 1 {
        return Some((400, "400 more than one Host header".into()));
    }
    if hosts == 0 && version == Version::HTTP_11 {
        return Some((400, "400 missing Host header (required by HTTP/1.1)".into()));
    }
    if headers.contains_key(header::UPGRADE) {
        return Some((
            501,
            "501 protocol upgrades (WebSocket and others) are not supported by this balancer"
                .into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_named_by_connection_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        append_forwarded_for(&mut h, "::1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1, ::1");
        // Several header lines are joined, none lost.
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
    }

    #[test]
    fn via_is_appended_and_found_again() {
        let mut h = HeaderMap::new();
        h.insert(header::VIA, HeaderValue::from_static("1.0 squid"));
        assert!(!via_contains(&h, "lb-1"));
        append_via(&mut h, "lb-1");
        assert_eq!(h[header::VIA], "1.0 squid, 1.1 lb-1");
        assert!(via_contains(&h, "lb-1"));
        assert!(!via_contains(&h, "lb-2"));
    }

    #[test]
    fn connect_hostless_and_upgrade_requests_are_refused() {
        let mut h = HeaderMap::new();
        let v11 = Version::HTTP_11;
        assert_eq!(refusal(&Method::GET, v11, &h).unwrap().0, 400);
        assert!(refusal(&Method::GET, Version::HTTP_10, &h).is_none());
        h.insert(header::HOST, HeaderValue::from_static("a"));
        assert!(refusal(&Method::GET, v11, &h).is_none());
        assert_eq!(refusal(&Method::CONNECT, v11, &h).unwrap().0, 405);
        h.append(header::HOST, HeaderValue::from_static("b"));
        assert_eq!(refusal(&Method::GET, v11, &h).unwrap().0, 400);
        h.remove(header::HOST);
        h.insert(header::HOST, HeaderValue::from_static("a"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert_eq!(refusal(&Method::GET, v11, &h).unwrap().0, 501);
    }
}
