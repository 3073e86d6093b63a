//! The peer's settings: the `[peer]` section of the file and the `--peer*` flags, checked.
//!
//! ```toml
//! [peer]
//! url = "http://10.200.0.12:9090"   # the other balancer's admin API
//! vip = "10.200.0.100"              # mirror only while this address is not on this host
//! interval_ms = 500                 # time between two polls
//! ```

use crate::balancer::config::ConfigError;
use hyper::Uri;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `[peer]`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    /// The peer's admin API, `http://host:port`.
    pub url: Option<String>,
    /// The virtual address: while it is on a local interface, this balancer is the active one
    /// and mirrors nothing.
    pub vip: Option<String>,
    /// Time between two polls, ms.
    pub interval_ms: Option<u64>,
}

/// `--peer`, `--peer-vip`, `--peer-interval-ms` (all optional, over the file).
#[derive(Debug, Default, Clone)]
pub struct PeerFlags {
    /// `--peer`
    pub url: Option<String>,
    /// `--peer-vip`
    pub vip: Option<String>,
    /// `--peer-interval-ms`
    pub interval_ms: Option<u64>,
}

/// What the mirroring task needs, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSettings {
    /// `GET` this for the peer's state: `http://host:port/admin/status`.
    pub status_uri: Uri,
    /// Mirror only while this address is not local (none: always mirror).
    pub vip: Option<IpAddr>,
    /// Time between two polls (also the longest wait for an answer).
    pub interval: Duration,
}

const DEFAULT_INTERVAL_MS: u64 = 500;

fn invalid<T>(setting: impl Into<String>, reason: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        setting: setting.into(),
        reason: reason.into(),
    })
}

/// The peer settings from the file's `[peer]` (`field` names a field of it in messages) and
/// the flags; `None` when no peer is given. `admin` is this balancer's own admin address, which
/// cannot be its peer.
pub fn settings(
    file: Option<&PeerFile>,
    flags: &PeerFlags,
    field: &dyn Fn(&str) -> String,
    admin: SocketAddr,
) -> Result<Option<PeerSettings>, ConfigError> {
    let empty = PeerFile::default();
    let file = file.unwrap_or(&empty);
    let pick = |flag: &Option<String>, name: &str, from_file: &Option<String>, key: &str| match (
        flag, from_file,
    ) {
        (Some(v), _) => Some((name.to_string(), v.clone())),
        (None, Some(v)) => Some((field(key), v.clone())),
        (None, None) => None,
    };
    let url = pick(&flags.url, "--peer", &file.url, "peer.url");
    let vip = pick(&flags.vip, "--peer-vip", &file.vip, "peer.vip");
    let interval_ms = match (flags.interval_ms, file.interval_ms) {
        (Some(v), _) => Some(("--peer-interval-ms".to_string(), v)),
        (None, Some(v)) => Some((field("peer.interval_ms"), v)),
        (None, None) => None,
    };
    let Some((url_setting, url)) = url else {
        if let Some((setting, _)) = vip {
            return invalid(setting, "needs a peer: give --peer http://HOST:PORT");
        }
        if let Some((setting, _)) = interval_ms {
            return invalid(setting, "needs a peer: give --peer http://HOST:PORT");
        }
        return Ok(None);
    };
    let status_uri = status_uri(&url_setting, &url, admin)?;
    let vip = match vip {
        None => None,
        Some((setting, v)) => Some(v.parse::<IpAddr>().or_else(|_| {
            invalid(
                setting,
                format!("{v:?} is not an IP address like 10.200.0.100"),
            )
        })?),
    };
    let interval = match interval_ms {
        None => Duration::from_millis(DEFAULT_INTERVAL_MS),
        Some((setting, v)) if !(10..=60_000).contains(&v) => {
            return invalid(setting, format!("must be between 10 and 60000 ms, got {v}"));
        }
        Some((_, v)) => Duration::from_millis(v),
    };
    Ok(Some(PeerSettings {
        status_uri,
        vip,
        interval,
    }))
}

/// `http://host:port` (a trailing `/` allowed) as the URI of the peer's `/admin/status`.
fn status_uri(setting: &str, url: &str, admin: SocketAddr) -> Result<Uri, ConfigError> {
    let expected = "expected the other balancer's admin address, like http://10.200.0.12:9090";
    let Ok(uri) = url.parse::<Uri>() else {
        return invalid(setting, format!("{url:?} is not a URL; {expected}"));
    };
    if uri.scheme_str() != Some("http") {
        return invalid(
            setting,
            format!("{url:?}: only http:// is supported; {expected}"),
        );
    }
    let Some(authority) = uri.authority().filter(|a| a.port().is_some()) else {
        return invalid(setting, format!("{url:?}: missing host:port; {expected}"));
    };
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return invalid(
            setting,
            format!("{url:?}: give no path, the admin routes are found under it; {expected}"),
        );
    }
    if authority.as_str().parse::<SocketAddr>().ok() == Some(admin) {
        return invalid(
            setting,
            format!("{url:?} is this balancer's own admin address (--admin); give the other one's"),
        );
    }
    format!("http://{authority}/admin/status")
        .parse::<Uri>()
        .or_else(|e| invalid(setting, format!("{url:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> SocketAddr {
        "127.0.0.1:8081".parse().expect("addr")
    }

    fn field(name: &str) -> String {
        format!("b.toml: field `{name}`")
    }

    fn flags(url: Option<&str>, vip: Option<&str>) -> PeerFlags {
        PeerFlags {
            url: url.map(str::to_string),
            vip: vip.map(str::to_string),
            interval_ms: None,
        }
    }

    fn err(file: Option<&PeerFile>, f: &PeerFlags) -> String {
        settings(file, f, &field, admin())
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn no_peer_is_none_and_a_flag_beats_the_file() {
        assert_eq!(
            settings(None, &PeerFlags::default(), &field, admin()).expect("ok"),
            None
        );
        let file = PeerFile {
            url: Some("http://10.0.0.1:1".into()),
            vip: Some("10.0.0.100".into()),
            interval_ms: Some(200),
        };
        let s = settings(
            Some(&file),
            &flags(Some("http://10.0.0.2:9090/"), None),
            &field,
            admin(),
        )
        .expect("ok")
        .expect("a peer");
        assert_eq!(
            s.status_uri.to_string(),
            "http://10.0.0.2:9090/admin/status"
        );
        assert_eq!(s.vip, Some("10.0.0.100".parse().expect("ip")));
        assert_eq!(s.interval, Duration::from_millis(200));
    }

    #[test]
    fn bad_peer_settings_name_the_setting() {
        let e = err(None, &flags(Some("https://10.0.0.2:9090"), None));
        assert!(
            e.starts_with("--peer: ") && e.contains("only http://"),
            "{e}"
        );
        let e = err(None, &flags(Some("http://10.0.0.2"), None));
        assert!(e.contains("missing host:port"), "{e}");
        let e = err(None, &flags(Some("http://10.0.0.2:1/admin"), None));
        assert!(e.contains("give no path"), "{e}");
        let e = err(None, &flags(Some("http://127.0.0.1:8081"), None));
        assert!(e.contains("own admin address"), "{e}");
        let e = err(None, &flags(Some("http://10.0.0.2:1"), Some("nope")));
        assert!(e.starts_with("--peer-vip: \"nope\" is not an IP"), "{e}");
        let e = err(None, &flags(None, Some("10.0.0.100")));
        assert!(e.starts_with("--peer-vip: needs a peer"), "{e}");
        let file = PeerFile {
            url: Some("http://10.0.0.1:1".into()),
            interval_ms: Some(0),
            ..PeerFile::default()
        };
        let e = err(Some(&file), &PeerFlags::default());
        assert!(
            e.starts_with("b.toml: field `peer.interval_ms`: must be between"),
            "{e}"
        );
        let file = PeerFile {
            url: Some("ftp://10.0.0.1:1".into()),
            ..PeerFile::default()
        };
        let e = err(Some(&file), &PeerFlags::default());
        assert!(e.starts_with("b.toml: field `peer.url`: "), "{e}");
    }
}
