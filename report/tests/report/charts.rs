//! Drawing each chart: size, determinism, and inputs with little or nothing in them.

use std::fs;
use std::path::Path;

use lb_report::{
    CHART_SIZE, DecisionRow, FaultRow, ReportError, SummaryRow, TimeseriesRow, WorkerRow,
    error_rate_over_time, latency_percentiles, p99_over_time, worker_share,
};

use crate::fixtures::{Results, Scratch, png_size, results};

/// Draws all four charts of `scenario` into `dir` under `prefix`.
fn draw_all(r: &Results, scenario: &str, dir: &Path, prefix: &str) -> Result<(), ReportError> {
    latency_percentiles(
        &r.summary,
        scenario,
        &dir.join(format!("{prefix}percentiles.png")),
    )?;
    p99_over_time(
        &r.timeseries,
        &r.faults,
        &r.decisions,
        scenario,
        3,
        &dir.join(format!("{prefix}timeline.png")),
    )?;
    error_rate_over_time(
        &r.timeseries,
        &r.faults,
        &r.decisions,
        scenario,
        3,
        &dir.join(format!("{prefix}errors.png")),
    )?;
    worker_share(
        &r.workers,
        scenario,
        &dir.join(format!("{prefix}shares.png")),
    )
}

const NAMES: [&str; 4] = [
    "percentiles.png",
    "timeline.png",
    "errors.png",
    "shares.png",
];

#[test]
fn each_chart_is_a_png_of_the_chart_size() {
    let scratch = Scratch::new("chart_size");
    draw_all(&results(), "slow_worker", scratch.path(), "").unwrap();
    for name in NAMES {
        assert_eq!(png_size(&scratch.join(name)), CHART_SIZE, "{name}");
    }
}

#[test]
fn same_rows_give_the_same_bytes() {
    let scratch = Scratch::new("determinism");
    let r = results();
    draw_all(&r, "slow_worker", scratch.path(), "a-").unwrap();
    draw_all(&r, "slow_worker", scratch.path(), "b-").unwrap();
    for name in NAMES {
        let a = fs::read(scratch.join(&format!("a-{name}"))).unwrap();
        let b = fs::read(scratch.join(&format!("b-{name}"))).unwrap();
        assert!(a == b, "{name} differs between two renders");
    }
}

#[test]
fn charts_show_text_drawn_with_the_embedded_font() {
    // A blank-text failure (no font found) would still give a valid PNG; compare a chart with
    // a long title against one with a short title: only text can make them differ.
    let scratch = Scratch::new("text");
    let r = results();
    let mut renamed = r.summary.clone();
    for row in &mut renamed {
        row.scenario = "a_much_longer_scenario_name".into();
    }
    latency_percentiles(&r.summary, "slow_worker", &scratch.join("short.png")).unwrap();
    latency_percentiles(
        &renamed,
        "a_much_longer_scenario_name",
        &scratch.join("long.png"),
    )
    .unwrap();
    assert_ne!(
        fs::read(scratch.join("short.png")).unwrap(),
        fs::read(scratch.join("long.png")).unwrap()
    );
}

#[test]
fn one_algorithm_and_one_second_are_enough() {
    let scratch = Scratch::new("one_second");
    let r = results();
    let one = |algorithm: &str, scenario: &str| algorithm == "peak_ewma" && scenario == "baseline";
    let summary: Vec<SummaryRow> = r
        .summary
        .iter()
        .filter(|x| one(&x.algorithm, &x.scenario) && x.seed == 3)
        .cloned()
        .collect();
    let timeseries: Vec<TimeseriesRow> = r
        .timeseries
        .iter()
        .filter(|x| one(&x.algorithm, &x.scenario) && x.seed == 3 && x.t_s == 0)
        .cloned()
        .collect();
    let workers: Vec<WorkerRow> = r
        .workers
        .iter()
        .filter(|x| one(&x.algorithm, &x.scenario) && x.seed == 3 && x.worker == 0)
        .cloned()
        .collect();
    assert_eq!((summary.len(), timeseries.len(), workers.len()), (1, 1, 1));
    let p = |name: &str| scratch.join(name);
    latency_percentiles(&summary, "baseline", &p("percentiles.png")).unwrap();
    p99_over_time(&timeseries, &[], &[], "baseline", 3, &p("timeline.png")).unwrap();
    error_rate_over_time(&timeseries, &[], &[], "baseline", 3, &p("errors.png")).unwrap();
    worker_share(&workers, "baseline", &p("shares.png")).unwrap();
    for name in NAMES {
        assert_eq!(png_size(&p(name)), CHART_SIZE, "{name}");
    }
}

#[test]
fn all_zero_latencies_do_not_break_the_log_axis() {
    let scratch = Scratch::new("zero_latency");
    let mut r = results();
    for row in &mut r.summary {
        (row.p50_ms, row.p90_ms, row.p99_ms, row.p999_ms) = (0.0, 0.0, 0.0, 0.0);
    }
    for row in &mut r.timeseries {
        row.p99_ms = 0.0;
    }
    for row in &mut r.workers {
        row.share = 0.0;
    }
    draw_all(&r, "slow_worker", scratch.path(), "").unwrap();
    for name in NAMES {
        assert_eq!(png_size(&scratch.join(name)), CHART_SIZE, "{name}");
    }
}

#[test]
fn all_zero_and_all_failed_seconds_give_an_error_chart() {
    let scratch = Scratch::new("error_extremes");
    let mut r = results();
    let draw = |r: &Results, name: &str| {
        let path = scratch.join(name);
        error_rate_over_time(
            &r.timeseries,
            &r.faults,
            &r.decisions,
            "slow_worker",
            3,
            &path,
        )
        .unwrap();
        assert_eq!(png_size(&path), CHART_SIZE, "{name}");
        fs::read(path).unwrap()
    };
    let some = draw(&r, "some.png");
    for row in &mut r.timeseries {
        row.errors = 0;
    }
    let zero = draw(&r, "zero.png");
    for row in &mut r.timeseries {
        // More errors than requests is drawn as 100%.
        row.errors = row.requests + 1;
    }
    let all = draw(&r, "all.png");
    assert!(some != zero && zero != all && some != all);
}

#[test]
fn error_chart_depends_on_errors_not_on_latency() {
    let scratch = Scratch::new("error_inputs");
    let r = results();
    let mut slower = results();
    for row in &mut slower.timeseries {
        row.p99_ms *= 3.0;
    }
    let draw = |r: &Results, name: &str| {
        let path = scratch.join(name);
        error_rate_over_time(
            &r.timeseries,
            &r.faults,
            &r.decisions,
            "slow_worker",
            3,
            &path,
        )
        .unwrap();
        fs::read(path).unwrap()
    };
    assert!(draw(&r, "a.png") == draw(&slower, "b.png"));
}

#[test]
fn long_algorithm_names_and_unlabelled_marks_are_drawn() {
    // Every algorithm switches often, so labels are left out and the legend notes how many;
    // names are long. Look at the output with LB_REPORT_KEEP_TEST_OUTPUT=1.
    let scratch = Scratch::new("long_names");
    let mut r = results();
    let rename = |name: &mut String| {
        *name = match name.as_str() {
            "round_robin" => "weighted_round_robin".to_owned(),
            "peak_ewma" => "an_experimental_picker_with_a_long_name".to_owned(),
            other => other.to_owned(),
        }
    };
    for row in &mut r.summary {
        rename(&mut row.algorithm);
    }
    for row in &mut r.timeseries {
        rename(&mut row.algorithm);
    }
    for row in &mut r.workers {
        rename(&mut row.algorithm);
    }
    for algorithm in ["weighted_round_robin", "adaptive"] {
        for i in 0..12 {
            r.decisions.push(DecisionRow {
                scenario: "slow_worker".into(),
                algorithm: algorithm.into(),
                seed: 3,
                t_s: 25.0 + f64::from(i),
                from: "random".into(),
                to: "least_connections".into(),
                condition: "test".into(),
                worker: String::new(),
                value: String::new(),
                threshold: String::new(),
                forecast: String::new(),
                detail: String::new(),
            });
        }
    }
    for i in 0..6 {
        r.faults.push(FaultRow {
            scenario: "slow_worker".into(),
            t_s: 30.0 + f64::from(i) * 0.5,
            worker: i,
            kind: "errors".into(),
            detail: "50%".into(),
        });
    }
    draw_all(&r, "slow_worker", scratch.path(), "").unwrap();
    for name in NAMES {
        assert_eq!(png_size(&scratch.join(name)), CHART_SIZE, "{name}");
    }
}

#[test]
fn non_finite_values_are_drawn_not_panicked_on() {
    let scratch = Scratch::new("non_finite");
    let mut r = results();
    r.summary[0].p99_ms = f64::NAN;
    r.summary[1].p999_ms = f64::INFINITY;
    r.timeseries[5].p99_ms = f64::NAN;
    r.workers[0].share = f64::NAN;
    r.faults.push(FaultRow {
        scenario: "slow_worker".into(),
        t_s: f64::NAN,
        worker: 0,
        kind: "down".into(),
        detail: String::new(),
    });
    draw_all(&r, "slow_worker", scratch.path(), "").unwrap();
}

#[test]
fn empty_inputs_give_a_no_data_chart() {
    let scratch = Scratch::new("empty_inputs");
    let p = |name: &str| scratch.join(name);
    latency_percentiles(&[], "nothing", &p("percentiles.png")).unwrap();
    p99_over_time(&[], &[], &[], "nothing", 0, &p("timeline.png")).unwrap();
    error_rate_over_time(&[], &[], &[], "nothing", 0, &p("errors.png")).unwrap();
    worker_share(&[], "nothing", &p("shares.png")).unwrap();
    for name in NAMES {
        assert_eq!(png_size(&p(name)), CHART_SIZE, "{name}");
    }

    // Rows exist, but not for this scenario or seed; or only idle seconds.
    let r = results();
    p99_over_time(
        &r.timeseries,
        &r.faults,
        &r.decisions,
        "slow_worker",
        999,
        &p("seed.png"),
    )
    .unwrap();
    let idle: Vec<TimeseriesRow> = r
        .timeseries
        .iter()
        .filter(|x| x.requests == 0)
        .cloned()
        .collect();
    assert!(!idle.is_empty());
    p99_over_time(&idle, &[], &[], "slow_worker", 3, &p("idle.png")).unwrap();
    error_rate_over_time(
        &r.timeseries,
        &r.faults,
        &r.decisions,
        "slow_worker",
        999,
        &p("errors-seed.png"),
    )
    .unwrap();
    error_rate_over_time(&idle, &[], &[], "slow_worker", 3, &p("errors-idle.png")).unwrap();
    for name in ["seed.png", "idle.png", "errors-seed.png", "errors-idle.png"] {
        assert_eq!(png_size(&p(name)), CHART_SIZE, "{name}");
    }
}

#[test]
fn an_unwritable_path_is_an_error_naming_it() {
    let scratch = Scratch::new("unwritable");
    let path = scratch.join("no/such/dir/chart.png");
    let error = worker_share(&results().workers, "slow_worker", &path).unwrap_err();
    assert!(matches!(error, ReportError::Io { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&path.display().to_string()),
        "{error}"
    );
}
