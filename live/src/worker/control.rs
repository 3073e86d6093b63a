//! Where a worker's control API listens, and who may use it.
//!
//! The fault API (`/admin/fault`) changes what the worker does to every request, so it is not on
//! the data port: anything that can reach the data port (every client of a balancer in front of
//! the worker) could otherwise make every worker hang. It gets its own listener instead,
//! `--control ADDR`:
//!
//! - by default `127.0.0.1:0`: loopback, on a free port the worker prints at start;
//! - `--control off`: no control listener at all (a start-up fault from the flags still works);
//! - with `--control-token TOKEN` (or `LB_WORKER_TOKEN` for `lb-worker`), every control request
//!   needs `Authorization: Bearer TOKEN`;
//! - a control address that is not loopback (`0.0.0.0`, a LAN address) without a token is
//!   refused at start: a fault API open to the network is a remote off switch.
//!
//! [`ControlArgs`] are the flags; [`ControlArgs::settings`] checks them into [`ControlSettings`]
//! before anything is bound. [`ControlToken`] never shows its value in `Debug` output.

use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;

/// The control address unless told otherwise: loopback, any free port.
pub const DEFAULT_CONTROL: &str = "127.0.0.1:0";

/// The environment variable `lb-worker` reads the control token from when `--control-token` is
/// not given.
pub const TOKEN_ENV: &str = "LB_WORKER_TOKEN";

/// Where the control listener goes: an address, or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAddr {
    /// `--control off`: no control listener.
    Off,
    /// `--control IP:PORT` (port 0: any free port).
    At(SocketAddr),
}

impl std::str::FromStr for ControlAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(ControlAddr::Off);
        }
        s.parse::<SocketAddr>().map(ControlAddr::At).map_err(|_| {
            format!("expected IP:PORT (e.g. 127.0.0.1:9101, port 0 for any free port) or `off`, got {s:?}")
        })
    }
}

/// The bearer token control requests must carry. Its `Debug` form hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken(Arc<[u8]>);

impl std::fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ControlToken(<{} bytes, hidden>)", self.0.len())
    }
}

impl ControlToken {
    /// A token: non-empty visible ASCII (it travels in an `Authorization` header).
    pub fn new(token: &str) -> Result<ControlToken, ControlError> {
        if token.is_empty() {
            return Err(ControlError::EmptyToken);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ControlError::TokenChars);
        }
        Ok(ControlToken(Arc::from(token.as_bytes())))
    }

    /// Whether `given` is this token, in time that depends only on the token's length.
    pub fn matches(&self, given: &[u8]) -> bool {
        let expected = &self.0;
        let mut diff = u8::from(given.len() != expected.len());
        for (i, e) in expected.iter().enumerate() {
            diff |= e ^ given.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

/// A checked control listener: where, and the token it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlSettings {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Token every request must carry; `None`: none asked (loopback only).
    pub token: Option<ControlToken>,
}

/// Why the control flags were refused; each message names the flag.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ControlError {
    /// `--control-token ""`.
    #[error("--control-token: must not be empty")]
    EmptyToken,
    /// A token with spaces or non-ASCII characters.
    #[error(
        "--control-token: must be visible ASCII without spaces (it is sent as `Authorization: Bearer TOKEN`)"
    )]
    TokenChars,
    /// A control address reachable from other hosts, and no token.
    #[error(
        "--control {0}: not a loopback address, and no --control-token (or {TOKEN_ENV}): anyone \
         who can reach it could hang or fail this worker; give a token, or bind 127.0.0.1 or [::1]"
    )]
    OpenWithoutToken(SocketAddr),
    /// A token but no control listener to guard.
    #[error("--control-token: given with --control off (there is no control listener to protect)")]
    TokenWithoutListener,
}

/// The control flags, shared by `lb-worker` and `lb-loadgen worker`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ControlArgs {
    /// Where the control API (/admin/fault) listens: IP:PORT (port 0: any free port; the address
    /// is printed) or `off`. Not loopback only with --control-token.
    #[arg(long, value_name = "ADDR|off", default_value = DEFAULT_CONTROL)]
    pub control: ControlAddr,
    /// Bearer token every control request must carry (`Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "TOKEN")]
    pub control_token: Option<String>,
}

impl Default for ControlArgs {
    fn default() -> Self {
        ControlArgs {
            control: ControlAddr::At(([127, 0, 0, 1], 0).into()),
            control_token: None,
        }
    }
}

impl ControlArgs {
    /// Check the flags; `env_token` is the token from the environment, used when
    /// `--control-token` is not given (ignored with `--control off`). `Ok(None)`: no control
    /// listener.
    pub fn settings(
        &self,
        env_token: Option<&str>,
    ) -> Result<Option<ControlSettings>, ControlError> {
        let addr = match self.control {
            ControlAddr::Off if self.control_token.is_some() => {
                return Err(ControlError::TokenWithoutListener);
            }
            ControlAddr::Off => return Ok(None),
            ControlAddr::At(addr) => addr,
        };
        let token = match self.control_token.as_deref().or(env_token) {
            Some(t) => Some(ControlToken::new(t)?),
            None => None,
        };
        if token.is_none() && !addr.ip().is_loopback() {
            return Err(ControlError::OpenWithoutToken(addr));
        }
        Ok(Some(ControlSettings { addr, token }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        control: ControlArgs,
    }

    fn settings(args: &[&str], env: Option<&str>) -> Result<Option<ControlSettings>, String> {
        let cli = Cli::try_parse_from(std::iter::once("w").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.control.settings(env).map_err(|e| e.to_string())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_loopback_on_a_free_port_without_token() {
        let s = settings(&[], None).unwrap().unwrap();
        assert_eq!(s.addr, addr("127.0.0.1:0"));
        assert_eq!(s.token, None);
        assert_eq!(Cli::parse_from(["w"]).control, ControlArgs::default());
    }

    #[test]
    fn loopback_needs_no_token_and_off_means_none() {
        let s = settings(&["--control", "[::1]:9101"], None)
            .unwrap()
            .unwrap();
        assert_eq!(s.addr, addr("[::1]:9101"));
        assert_eq!(settings(&["--control", "off"], None).unwrap(), None);
        // The environment's token does not stop `off`.
        assert_eq!(settings(&["--control", "OFF"], Some("t")).unwrap(), None);
    }

    #[test]
    fn non_loopback_without_token_is_refused_naming_the_address() {
        for a in ["0.0.0.0:9101", "[::]:9101", "192.168.1.20:9101"] {
            let e = settings(&["--control", a], None).unwrap_err();
            assert!(e.starts_with(&format!("--control {}", addr(a))), "{a}: {e}");
            assert!(e.contains("--control-token"), "{e}");
        }
        assert_eq!(
            ControlArgs {
                control: ControlAddr::At(addr("0.0.0.0:0")),
                control_token: None,
            }
            .settings(None),
            Err(ControlError::OpenWithoutToken(addr("0.0.0.0:0")))
        );
    }

    #[test]
    fn non_loopback_with_a_token_from_flag_or_environment_is_accepted() {
        let s = settings(
            &["--control", "0.0.0.0:9101", "--control-token", "s3cret"],
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.token, Some(ControlToken::new("s3cret").unwrap()));
        let s = settings(&["--control", "0.0.0.0:9101"], Some("from-env"))
            .unwrap()
            .unwrap();
        assert_eq!(s.token, Some(ControlToken::new("from-env").unwrap()));
        // The flag wins over the environment.
        let s = settings(&["--control-token", "flag"], Some("env"))
            .unwrap()
            .unwrap();
        assert_eq!(s.token, Some(ControlToken::new("flag").unwrap()));
    }

    #[test]
    fn bad_flags_are_refused_naming_the_flag() {
        let cases = [
            (&["--control", "localhost"][..], "--control"),
            (&["--control", "127.0.0.1"], "IP:PORT"),
            (
                &["--control-token", ""],
                "--control-token: must not be empty",
            ),
            (
                &["--control-token", "a b"],
                "--control-token: must be visible ASCII",
            ),
            (
                &["--control-token", "tök"],
                "--control-token: must be visible ASCII",
            ),
            (
                &["--control", "off", "--control-token", "t"],
                "--control off",
            ),
        ];
        for (args, needle) in cases {
            let e = settings(args, None).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        assert_eq!(
            ControlArgs::default().settings(Some("")),
            Err(ControlError::EmptyToken)
        );
    }

    #[test]
    fn tokens_match_exactly_and_debug_hides_them() {
        let t = ControlToken::new("abc").unwrap();
        assert!(t.matches(b"abc"));
        for wrong in [&b""[..], b"ab", b"abd", b"abcd", b"ABC"] {
            assert!(!t.matches(wrong), "{wrong:?}");
        }
        assert!(!format!("{t:?}").contains("abc"), "{t:?}");
    }
}
