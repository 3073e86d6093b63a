//! The worker's fault body: any bytes through `Fault::from_json`.
//!
//! A refusal must be an error with a message, not a panic. An accepted fault must pass its own
//! range check, and the form `GET /admin/fault` answers with (`Fault::to_json`) must be
//! accepted again as the same fault: the module promises it can be sent back as is.

use lb_live::worker::Fault;

/// Read `data` as a fault body.
pub fn run(data: &[u8]) {
    let fault = match Fault::from_json(data) {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a refusal without a message");
            return;
        }
    };
    if let Err(e) = fault.validate() {
        panic!("accepted {fault:?}, which its own check refuses: {e}");
    }
    let echo = fault.to_json().to_string();
    let again = match Fault::from_json(echo.as_bytes()) {
        Ok(f) => f,
        Err(e) => panic!("the echo {echo} of an accepted fault is refused: {e}"),
    };
    // Numbers may come back one unit in the last place off (the JSON reader is not exact),
    // so compare what is not a number exactly and the numbers closely.
    assert_eq!(
        (again.error_mode, again.unhealthy, again.hang),
        (fault.error_mode, fault.unhealthy, fault.hang),
        "echo {echo}"
    );
    for (a, b) in [
        (again.slow_factor, fault.slow_factor),
        (again.delay_ms, fault.delay_ms),
        (again.error_rate, fault.error_rate),
    ] {
        assert!(close(a, b), "echo {echo}: {a:?} came back for {b:?}");
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(f64::MIN_POSITIVE),
        (a, b) => a.is_none() && b.is_none(),
    }
}
