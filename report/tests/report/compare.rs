//! The simulator next to the live run: both comparison charts and `render_comparison`.

use std::fs;
use std::path::Path;

use lb_report::{
    CHART_SIZE, ReportError, SummaryRow, TimeseriesRow, render_comparison,
    sim_vs_live_p99_over_time, sim_vs_live_percentiles, write_csv,
};

use crate::fixtures::{Results, Scratch, png_size, results};

/// The simulator's twin of [`results`]: the same runs, latencies 20% lower and a smoother tail.
fn sim_results() -> Results {
    let mut sim = results();
    for row in &mut sim.summary {
        row.p50_ms *= 0.8;
        row.p99_ms *= 0.8;
    }
    for row in &mut sim.timeseries {
        row.p99_ms *= 0.8;
    }
    sim
}

/// Draws both comparison charts of `scenario`, seed 3, into `dir` under `prefix`.
fn draw_both(
    sim: &Results,
    live: &Results,
    scenario: &str,
    dir: &Path,
    prefix: &str,
) -> Result<(), ReportError> {
    sim_vs_live_percentiles(
        &sim.summary,
        &live.summary,
        scenario,
        &dir.join(format!("{prefix}percentiles.png")),
    )?;
    sim_vs_live_p99_over_time(
        &sim.timeseries,
        &live.timeseries,
        &live.faults,
        &live.decisions,
        scenario,
        3,
        &dir.join(format!("{prefix}over_time.png")),
    )
}

#[test]
fn both_charts_are_pngs_and_the_same_rows_give_the_same_bytes() {
    let scratch = Scratch::new("compare_determinism");
    let (sim, live) = (sim_results(), results());
    draw_both(&sim, &live, "slow_worker", scratch.path(), "a-").unwrap();
    draw_both(&sim, &live, "slow_worker", scratch.path(), "b-").unwrap();
    for name in ["percentiles.png", "over_time.png"] {
        let a = scratch.join(&format!("a-{name}"));
        assert_eq!(png_size(&a), CHART_SIZE, "{name}");
        let bytes = fs::read(&a).unwrap();
        assert!(bytes.len() > 20_000, "{name}: only {} bytes", bytes.len());
        let b = fs::read(scratch.join(&format!("b-{name}"))).unwrap();
        assert!(bytes == b, "{name} differs between two renders");
    }
}

#[test]
fn the_charts_show_the_difference_between_the_sources() {
    let scratch = Scratch::new("compare_difference");
    let live = results();
    draw_both(
        &sim_results(),
        &live,
        "slow_worker",
        scratch.path(),
        "apart-",
    )
    .unwrap();
    draw_both(&live, &live, "slow_worker", scratch.path(), "same-").unwrap();
    for name in ["percentiles.png", "over_time.png"] {
        let apart = fs::read(scratch.join(&format!("apart-{name}"))).unwrap();
        let same = fs::read(scratch.join(&format!("same-{name}"))).unwrap();
        assert!(apart != same, "{name} ignores the simulator's rows");
    }
}

#[test]
fn nothing_to_compare_gives_a_no_data_chart_not_an_error() {
    let scratch = Scratch::new("compare_empty");
    let full = results();
    draw_both(
        &sim_results(),
        &full,
        "slow_worker",
        scratch.path(),
        "full-",
    )
    .unwrap();
    let empty = Results {
        summary: Vec::new(),
        timeseries: Vec::new(),
        workers: Vec::new(),
        decisions: Vec::new(),
        faults: Vec::new(),
    };
    draw_both(&empty, &empty, "slow_worker", scratch.path(), "empty-").unwrap();
    // Live rows only: nothing is in both sources.
    draw_both(&empty, &full, "slow_worker", scratch.path(), "one-sided-").unwrap();
    // Another scenario's rows only.
    draw_both(&full, &full, "no_such_scenario", scratch.path(), "other-").unwrap();
    for prefix in ["empty-", "other-"] {
        for name in ["percentiles.png", "over_time.png"] {
            let path = scratch.join(&format!("{prefix}{name}"));
            assert_eq!(png_size(&path), CHART_SIZE, "{prefix}{name}");
            let small = fs::metadata(&path).unwrap().len();
            let real = fs::metadata(scratch.join(&format!("full-{name}")))
                .unwrap()
                .len();
            assert!(
                small < real,
                "{prefix}{name}: {small} bytes, not a no-data frame"
            );
        }
    }
    let read = |name: &str| fs::read(scratch.join(name)).unwrap();
    // Algorithms in one source only: the same "no data" frame as no rows at all...
    assert!(read("one-sided-percentiles.png") == read("empty-percentiles.png"));
    // ... while one source's time series alone is still drawn.
    assert!(read("one-sided-over_time.png") != read("empty-over_time.png"));

    // Seconds that all went without requests: the same "no data" frame as no rows at all.
    let mut idle = results();
    for row in &mut idle.timeseries {
        row.requests = 0;
    }
    draw_both(&idle, &idle, "slow_worker", scratch.path(), "idle-").unwrap();
    assert!(read("idle-over_time.png") == read("empty-over_time.png"));
}

#[test]
fn zero_and_non_finite_latencies_are_drawn_without_panicking() {
    let scratch = Scratch::new("compare_odd");
    let mut live = results();
    let mut sim = results();
    for (i, row) in live.summary.iter_mut().enumerate() {
        row.p50_ms = [0.0, f64::NAN, f64::INFINITY, -1.0][i % 4];
    }
    for (i, row) in sim.summary.iter_mut().enumerate() {
        row.p99_ms = [0.0, f64::NAN, 1e9, 0.0005][i % 4];
    }
    for (i, row) in live.timeseries.iter_mut().enumerate() {
        row.p99_ms = [0.0, f64::NAN, f64::INFINITY, 1e-9, 5.0][i % 5];
    }
    live.faults[0].t_s = f64::NAN;
    live.decisions[0].t_s = -3.0;
    draw_both(&sim, &live, "slow_worker", scratch.path(), "").unwrap();
    for name in ["percentiles.png", "over_time.png"] {
        assert_eq!(png_size(&scratch.join(name)), CHART_SIZE, "{name}");
    }
}

/// Writes the files a live run and its simulator twin leave: `live` to `dir`, `sim` to
/// `dir/sim`.
fn write_pair(dir: &Path, sim: &Results, live: &Results) {
    let sim_dir = dir.join("sim");
    fs::create_dir_all(&sim_dir).unwrap();
    for (dir, r) in [(dir, live), (sim_dir.as_path(), sim)] {
        write_csv(&dir.join("summary.csv"), &r.summary).unwrap();
        write_csv(&dir.join("timeseries.csv"), &r.timeseries).unwrap();
        write_csv(&dir.join("workers.csv"), &r.workers).unwrap();
    }
    write_csv(&dir.join("decisions.csv"), &live.decisions).unwrap();
    write_csv(&dir.join("faults.csv"), &live.faults).unwrap();
}

#[test]
fn render_comparison_draws_both_charts_of_every_shared_scenario_in_order() {
    let scratch = Scratch::new("render_comparison");
    let (sim, mut live) = (sim_results(), results());
    // A scenario the simulator did not run is left out.
    let mut live_only: SummaryRow = live.summary[0].clone();
    live_only.scenario = "live_only".into();
    live.summary.push(live_only);
    write_pair(scratch.path(), &sim, &live);

    let written = render_comparison(scratch.path(), &scratch.join("sim")).unwrap();
    let expected: Vec<_> = ["baseline", "slow_worker"]
        .iter()
        .flat_map(|scenario| {
            [
                "sim_vs_live_percentiles.png",
                "sim_vs_live_p99_over_time.png",
            ]
            .map(|chart| scratch.path().join(scenario).join(chart))
        })
        .collect();
    assert_eq!(written, expected);
    assert!(!scratch.join("live_only").exists());
    for path in &written {
        assert_eq!(png_size(path), CHART_SIZE, "{}", path.display());
    }

    // The over-time chart shows the smallest live seed (3), with the live faults and switches,
    // drawn from what the CSV files hold.
    let sim_ts: Vec<TimeseriesRow> =
        lb_report::read_csv(&scratch.join("sim/timeseries.csv")).unwrap();
    let live_ts: Vec<TimeseriesRow> = lb_report::read_csv(&scratch.join("timeseries.csv")).unwrap();
    let faults = lb_report::read_csv(&scratch.join("faults.csv")).unwrap();
    let decisions = lb_report::read_csv(&scratch.join("decisions.csv")).unwrap();
    let direct = scratch.join("direct.png");
    sim_vs_live_p99_over_time(
        &sim_ts,
        &live_ts,
        &faults,
        &decisions,
        "slow_worker",
        3,
        &direct,
    )
    .unwrap();
    assert!(fs::read(&written[3]).unwrap() == fs::read(direct).unwrap());

    // Rendering again rewrites the same bytes.
    let before: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    assert_eq!(
        render_comparison(scratch.path(), &scratch.join("sim")).unwrap(),
        written
    );
    let after: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    assert!(before == after, "second render differs");
}

#[test]
fn render_comparison_needs_both_summaries_and_time_series_but_not_faults() {
    let scratch = Scratch::new("render_comparison_files");
    write_pair(scratch.path(), &sim_results(), &results());
    fs::remove_file(scratch.join("faults.csv")).unwrap();
    fs::remove_file(scratch.join("decisions.csv")).unwrap();
    assert_eq!(
        render_comparison(scratch.path(), &scratch.join("sim"))
            .unwrap()
            .len(),
        4
    );

    fs::remove_file(scratch.join("sim/timeseries.csv")).unwrap();
    let error = render_comparison(scratch.path(), &scratch.join("sim")).unwrap_err();
    assert!(matches!(error, ReportError::Missing { .. }), "{error:?}");
    let message = error.to_string();
    let missing = scratch.join("sim/timeseries.csv").display().to_string();
    assert!(
        message.contains(&missing) && message.contains("render_comparison"),
        "{message}"
    );
}

#[test]
fn render_comparison_rejects_scenario_names_that_would_escape_the_directory() {
    let scratch = Scratch::new("render_comparison_bad_name");
    let (mut sim, mut live) = (sim_results(), results());
    sim.summary[0].scenario = "../escape".into();
    live.summary[0].scenario = "../escape".into();
    write_pair(scratch.path(), &sim, &live);
    let error = render_comparison(scratch.path(), &scratch.join("sim")).unwrap_err();
    assert!(
        matches!(error, ReportError::ScenarioName { .. }),
        "{error:?}"
    );
    assert!(
        !scratch.join("baseline").exists(),
        "drew before checking names"
    );
}
