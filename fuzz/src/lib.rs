//! # lb-fuzz: what the fuzz targets run
//!
//! Each module is one harness: `run(data)` feeds arbitrary bytes to one entry point of the
//! testbed that takes outside input, and panics only if that entry point panics or breaks a
//! property it promises. The libFuzzer binaries in `fuzz_targets/` are one line each around
//! these functions, so the same harnesses also run on stable as ordinary tests over the seed
//! corpora (`cargo test --manifest-path fuzz/Cargo.toml`).
//!
//! - [`scenario`]: TOML text through `Scenario::from_toml_str` (parse and validate), then the
//!   accessors and samplers a run uses on the result.
//! - [`admin`]: a request with an arbitrary body (and optionally path) to the balancer's admin
//!   router: every answer below 500, every refusal a JSON `{"error": ...}`.
//! - [`fault`]: a worker fault body through `Fault::from_json`: an accepted fault is in range
//!   and its echo is accepted again.
//! - [`proxy`]: arbitrary bytes as one HTTP/1 connection to the proxy service, which forwards
//!   to one real worker on 127.0.0.1: no panic, and no request left counted in flight.
//!
//! `fuzz/run.sh SECONDS` runs every target for that long, seeded from `fuzz/seeds/` and the
//! scenario files in `experiments/`.

pub mod admin;
pub mod fault;
pub mod proxy;
pub mod scenario;
