//! Drawing every chart of a results directory.

use std::fs;

use lb_report::{
    CHART_SIZE, DecisionRow, FaultRow, ReportError, TimeseriesRow, error_rate_over_time, read_csv,
    render_dir, write_csv,
};

use crate::fixtures::{Results, Scratch, png_size, results};

fn write_results(scratch: &Scratch, r: &Results, optional: bool) {
    write_csv(&scratch.join("summary.csv"), &r.summary).unwrap();
    write_csv(&scratch.join("timeseries.csv"), &r.timeseries).unwrap();
    write_csv(&scratch.join("workers.csv"), &r.workers).unwrap();
    if optional {
        write_csv(&scratch.join("decisions.csv"), &r.decisions).unwrap();
        write_csv(&scratch.join("faults.csv"), &r.faults).unwrap();
    }
}

#[test]
fn every_scenario_gets_its_four_charts_in_a_stable_order() {
    let scratch = Scratch::new("render_dir");
    write_results(&scratch, &results(), true);
    let written = render_dir(scratch.path()).unwrap();
    let expected: Vec<_> = ["baseline", "slow_worker"]
        .iter()
        .flat_map(|scenario| {
            [
                "latency_percentiles.png",
                "p99_over_time.png",
                "errors_over_time.png",
                "worker_share.png",
            ]
            .map(|chart| scratch.path().join(scenario).join(chart))
        })
        .collect();
    assert_eq!(written, expected);
    for path in &written {
        assert_eq!(png_size(path), CHART_SIZE, "{}", path.display());
    }

    // Rendering again rewrites the same bytes.
    let before: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    assert_eq!(render_dir(scratch.path()).unwrap(), written);
    let after: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    assert!(before == after, "second render differs");
}

#[test]
fn the_error_chart_shows_the_same_seed_as_the_p99_chart() {
    let scratch = Scratch::new("render_dir_errors");
    write_results(&scratch, &results(), true);
    render_dir(scratch.path()).unwrap();
    // The smallest seed of the fixture is 3; draw it directly from the files render_dir read.
    let timeseries: Vec<TimeseriesRow> = read_csv(&scratch.join("timeseries.csv")).unwrap();
    let faults: Vec<FaultRow> = read_csv(&scratch.join("faults.csv")).unwrap();
    let decisions: Vec<DecisionRow> = read_csv(&scratch.join("decisions.csv")).unwrap();
    let direct = scratch.join("direct.png");
    error_rate_over_time(&timeseries, &faults, &decisions, "slow_worker", 3, &direct).unwrap();
    let rendered = scratch.path().join("slow_worker/errors_over_time.png");
    assert!(fs::read(rendered).unwrap() == fs::read(direct).unwrap());
}

#[test]
fn decisions_and_faults_are_optional() {
    let scratch = Scratch::new("render_dir_optional");
    write_results(&scratch, &results(), false);
    assert_eq!(render_dir(scratch.path()).unwrap().len(), 8);
}

#[test]
fn a_missing_summary_is_an_error_naming_it() {
    let scratch = Scratch::new("render_dir_missing");
    write_results(&scratch, &results(), true);
    fs::remove_file(scratch.join("summary.csv")).unwrap();
    let error = render_dir(scratch.path()).unwrap_err();
    assert!(matches!(error, ReportError::Missing { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&scratch.join("summary.csv").display().to_string()),
        "{message}"
    );
}

#[test]
fn a_malformed_optional_file_is_still_an_error() {
    let scratch = Scratch::new("render_dir_malformed");
    write_results(&scratch, &results(), true);
    fs::write(
        scratch.join("faults.csv"),
        "scenario,t_s,worker,kind,detail\ns,soon,1,slow,\n",
    )
    .unwrap();
    let message = render_dir(scratch.path()).unwrap_err().to_string();
    assert!(
        message.contains("faults.csv: line 2: column `t_s`"),
        "{message}"
    );
}

#[test]
fn scenario_names_that_would_escape_the_directory_are_rejected_before_drawing() {
    for bad in ["../escape", "a/b", "..", ""] {
        let scratch = Scratch::new("render_dir_bad_name");
        let mut r = results();
        r.workers[0].scenario = bad.into();
        write_results(&scratch, &r, true);
        let error = render_dir(scratch.path()).unwrap_err();
        assert!(
            matches!(error, ReportError::ScenarioName { .. }),
            "{bad:?}: {error:?}"
        );
        assert!(error.to_string().contains("workers.csv"), "{error}");
        assert!(
            !scratch.join("baseline").exists(),
            "drew before checking names"
        );
    }
}
