//! `[[switches]]`: a good script reads into typed switches and sets where `scripted` starts; a
//! bad one names the entry, the field and the reason.

use super::*;

fn with(top: &str, switches: &str) -> String {
    format!(
        "{top}\n[arrivals]\nrate = 100\n[[workers]]\nservice = {{ distribution = \"constant\", ms = 1 }}\n{switches}"
    )
}

fn switch(at_s: &str, algorithm: &str) -> String {
    format!("[[switches]]\nat_s = {at_s}\nalgorithm = \"{algorithm}\"\n")
}

fn read(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml_str(text, "experiments/script.toml").map_err(|e| e.to_string())
}

#[test]
fn a_script_reads_in_order_and_starts_on_its_first_entry_at_zero() {
    let text = with(
        "duration_s = 60",
        &[
            switch("0", "round_robin"),
            switch("20.5", "peak_ewma"),
            switch("40", "round_robin"),
        ]
        .concat(),
    );
    let s = read(&text).unwrap();
    let at = |secs: f64| Instant::ZERO + Duration::from_secs_f64(secs);
    assert_eq!(
        s.switches,
        vec![
            Switch {
                at: at(0.0),
                algorithm: Algorithm::RoundRobin
            },
            Switch {
                at: at(20.5),
                algorithm: Algorithm::PeakEwma
            },
            Switch {
                at: at(40.0),
                algorithm: Algorithm::RoundRobin
            },
        ]
    );
    assert_eq!(s.script_start(), Algorithm::RoundRobin);
    assert_eq!(
        s.balancer_config(Strategy::Scripted).algorithm,
        Algorithm::RoundRobin
    );
    assert!(s.engine_for(Strategy::Scripted).is_none());
    assert!(s.check_strategy(Strategy::Scripted).is_ok());
}

#[test]
fn a_script_starting_later_starts_on_the_engine_baseline() {
    let s = read(&with("duration_s = 60", &switch("10", "random"))).unwrap();
    assert_eq!(s.script_start(), Algorithm::LeastConnections);
    let text = with(
        "duration_s = 60",
        &format!(
            "[engine]\nbaseline = \"power_of_two\"\n{}",
            switch("10", "random")
        ),
    );
    assert_eq!(read(&text).unwrap().script_start(), Algorithm::PowerOfTwo);
    // No script: nothing to follow, and no `[[switches]]` is the default.
    let s = read(&with("duration_s = 60", "")).unwrap();
    assert!(s.switches.is_empty());
}

#[test]
fn bad_scripts_name_the_entry_the_field_and_why() {
    let cases: &[(&str, String, &str)] = &[
        (
            "duration_s = 60",
            [switch("10", "random"), switch("10", "peak_ewma")].concat(),
            "field `switches[1].at_s`: switches must be in strictly increasing time order; 10 s comes after 10 s",
        ),
        (
            "duration_s = 60",
            [switch("30", "random"), switch("20", "peak_ewma")].concat(),
            "field `switches[1].at_s`: switches must be in strictly increasing time order; 20 s comes after 30 s",
        ),
        (
            "duration_s = 60",
            switch("60", "random"),
            "field `switches[0].at_s`: must be before the end of the run (60 s), got 60",
        ),
        (
            "duration_s = 60",
            switch("-1", "random"),
            "field `switches[0].at_s`: must be a number >= 0, got -1",
        ),
        (
            "duration_s = 60",
            switch("5", "fastest"),
            "field `switches[0].algorithm`: unknown algorithm \"fastest\"; expected one of: round_robin,",
        ),
        (
            "duration_s = 60",
            switch("5", "adaptive"),
            "field `switches[0].algorithm`: `adaptive` is not a static algorithm; a switch names one of: round_robin, weighted_round_robin,",
        ),
        (
            "duration_s = 60",
            switch("5", "oracle"),
            "field `switches[0].algorithm`: `oracle` is not a static algorithm",
        ),
        (
            "duration_s = 60\nalgorithms = [\"round_robin\", \"scripted\"]",
            String::new(),
            "field `algorithms[1]`: `scripted` runs the scenario's `[[switches]]` and this scenario has none",
        ),
    ];
    for (top, switches, want) in cases {
        let m = read(&with(top, switches)).expect_err(want);
        assert!(m.starts_with("experiments/script.toml: "), "{m}");
        assert!(m.contains(want), "want {want:?} in {m:?}");
    }
    // A typo in a switch's keys is refused by name.
    let m = read(&with(
        "duration_s = 60",
        "[[switches]]\nat = 5\nalgorithm = \"random\"\n",
    ))
    .unwrap_err();
    assert!(m.contains("unknown field `at`"), "{m}");
}

#[test]
fn scripted_without_a_script_is_a_clear_error_and_listing_it_with_one_is_fine() {
    let s = read(&with("duration_s = 60", "")).unwrap();
    let e = s
        .check_strategy(Strategy::Scripted)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("experiments/script.toml: field `switches`: `scripted` runs"),
        "{e}"
    );
    assert!(s.check_strategy(Strategy::Oracle).is_ok());
    assert!(s.check_strategy(Strategy::Adaptive).is_ok());
    let text = with(
        "duration_s = 60\nalgorithms = [\"scripted\", \"oracle\"]",
        &switch("5", "random"),
    );
    let s = read(&text).unwrap();
    assert_eq!(s.algorithms, vec![Strategy::Scripted, Strategy::Oracle]);
}
