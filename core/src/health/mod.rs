//! Worker health as two pure state machines: active checks and passive outlier ejection.
//!
//! A load balancer learns that a worker is sick in two ways, and production proxies use both:
//!
//! - **Active** ([`ActiveHealth`]): something probes each worker at an interval and the answers
//!   go through HAProxy's `rise`/`fall` hysteresis: `fall` failed probes in a row take a worker
//!   down, `rise` good ones bring it back, so one lost probe never flaps the pool.
//! - **Passive** ([`OutlierDetector`]): Envoy's outlier detection watches the real responses; a
//!   worker with `consecutive_failures` failures in a row is ejected for a time that grows with
//!   each repeat offence, and no more than `max_ejection_percent` of the pool is ever out at once.
//!   Timeouts count against a worker only when it times out more than the rest of the pool.
//! - **Overload** ([`OverloadConfig`]): below a panic threshold of available workers the
//!   balancer routes over ejected workers too, ejection never takes the pool below it, and
//!   optional in-flight limits shed requests at once ([`PickError::Overloaded`]).
//!
//! Neither reads a clock or does I/O, in the spirit of Pingora's `observe_health`: probing lives
//! in the shells (the simulator's probe events, live mode's health task), which feed results in
//! and pass `now` as an argument. A worker is eligible for traffic when it is actively healthy
//! *and* not ejected; that filter lives outside the picking algorithms.
//!
//! ```
//! use lb_core::health::{ActiveConfig, ActiveHealth, OutlierConfig, OutlierDetector};
//! use lb_core::time::{Duration, Instant};
//!
//! let mut probe = ActiveHealth::new(ActiveConfig { rise: 2, fall: 3 }, true);
//! assert_eq!(probe.observe(false), None);
//! assert_eq!(probe.observe(false), None);
//! assert_eq!(probe.observe(false), Some(false)); // third failure in a row: down
//!
//! let mut outlier = OutlierDetector::new(OutlierConfig::default(), 4);
//! let now = Instant::from_nanos(0);
//! for _ in 0..4 {
//!     assert_eq!(outlier.on_outcome(2, false, now), None);
//! }
//! let until = outlier.on_outcome(2, false, now).expect("fifth failure ejects");
//! assert_eq!(until, now + Duration::from_secs(30));
//! assert_eq!(outlier.tick(until), 1); // back in the pool when the ejection ends
//! ```

mod active;
mod outlier;
mod overload;
mod streak;
mod timeouts;

pub use active::{ActiveConfig, ActiveHealth};
pub use outlier::{OutlierConfig, OutlierDetector, Verdict};
pub use overload::{OverloadConfig, PickError};
pub use streak::Streak;
