//! Writing and reading the CSV files.

use std::fs;

use lb_report::{
    DecisionRow, FaultRow, ReportError, Row, SummaryRow, TimeseriesRow, WorkerRow, read_csv,
    write_csv,
};

use crate::fixtures::{Scratch, results};

/// Writes `rows`, reads them back, and checks they are equal. The fixture's floats have more
/// digits than the file keeps, so compare against rows passed once through the file.
fn round_trip<T: Row + PartialEq + std::fmt::Debug>(scratch: &Scratch, rows: &[T]) {
    assert!(!rows.is_empty());
    let first = scratch.join(&format!("first-{}", T::FILE_NAME));
    let second = scratch.join(&format!("second-{}", T::FILE_NAME));
    write_csv(&first, rows).unwrap();
    let read: Vec<T> = read_csv(&first).unwrap();
    assert_eq!(read.len(), rows.len());
    write_csv(&second, &read).unwrap();
    assert_eq!(read_csv::<T>(&second).unwrap(), read);
    assert_eq!(fs::read(&first).unwrap(), fs::read(&second).unwrap());
}

#[test]
fn every_row_type_round_trips() {
    let scratch = Scratch::new("round_trip");
    let r = results();
    round_trip(&scratch, &r.summary);
    round_trip(&scratch, &r.timeseries);
    round_trip(&scratch, &r.workers);
    round_trip(&scratch, &r.decisions);
    round_trip(&scratch, &r.faults);
}

#[test]
fn values_that_fit_the_decimals_read_back_exactly() {
    let scratch = Scratch::new("exact");
    let path = scratch.join("faults.csv");
    let rows = vec![FaultRow {
        scenario: "a, \"quoted\" name".into(),
        t_s: 12.25,
        worker: 3,
        kind: "slow".into(),
        detail: "x5".into(),
    }];
    write_csv(&path, &rows).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "scenario,t_s,worker,kind,detail\n\"a, \"\"quoted\"\" name\",12.250,3,slow,x5\n"
    );
    assert_eq!(read_csv::<FaultRow>(&path).unwrap(), rows);
}

#[test]
fn floats_are_written_with_fixed_decimals_per_column() {
    let scratch = Scratch::new("decimals");
    let path = scratch.join("summary.csv");
    let mut row = results().summary.remove(0);
    row.error_rate = 1.0 / 3.0;
    row.throughput_rps = 1234.5678;
    row.p50_ms = 0.1 + 0.2;
    row.p999_ms = f64::NAN;
    row.max_ms = f64::INFINITY;
    row.mean_in_flight = -0.0;
    write_csv(&path, &[row]).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let record: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    let cell = |column: &str| {
        let index = SummaryRow::HEADER
            .iter()
            .position(|c| *c == column)
            .unwrap();
        record[index]
    };
    assert_eq!(cell("error_rate"), "0.333333");
    assert_eq!(cell("throughput_rps"), "1234.57");
    assert_eq!(cell("p50_ms"), "0.300");
    assert_eq!(cell("p999_ms"), "0.000", "NaN is written as 0");
    assert_eq!(cell("max_ms"), "0.000", "inf is written as 0");
    assert_eq!(cell("mean_in_flight"), "0.000");
    let back: Vec<SummaryRow> = read_csv(&path).unwrap();
    assert_eq!(back[0].p999_ms, 0.0);
}

#[test]
fn empty_files_still_have_their_header() {
    let scratch = Scratch::new("empty");
    fn check<T: Row>(scratch: &Scratch) {
        let path = scratch.join(T::FILE_NAME);
        write_csv::<T>(&path, &[]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", T::HEADER.join(",")));
        assert!(read_csv::<T>(&path).unwrap().is_empty());
    }
    check::<SummaryRow>(&scratch);
    check::<TimeseriesRow>(&scratch);
    check::<WorkerRow>(&scratch);
    check::<DecisionRow>(&scratch);
    check::<FaultRow>(&scratch);
}

#[test]
fn a_bad_cell_is_reported_with_file_line_and_column() {
    let scratch = Scratch::new("bad_cell");
    let path = scratch.join("workers.csv");
    fs::write(
        &path,
        "scenario,algorithm,seed,worker,requests,share,errors,mean_ms\n\
         s,random,1,0,10,0.5,0,1.0\n\
         s,random,one,1,10,0.5,0,1.0\n",
    )
    .unwrap();
    let error = read_csv::<WorkerRow>(&path).unwrap_err();
    assert!(
        matches!(&error, ReportError::Malformed { line: 3, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("column `seed`"), "{message}");
}

#[test]
fn a_short_record_is_reported_with_its_line() {
    let scratch = Scratch::new("short_record");
    let path = scratch.join("faults.csv");
    fs::write(
        &path,
        "scenario,t_s,worker,kind,detail\ns,1.0,0,slow,x5\ns,2.0\n",
    )
    .unwrap();
    let message = read_csv::<FaultRow>(&path).unwrap_err().to_string();
    assert!(
        message.contains("faults.csv: line 3: 2 fields"),
        "{message}"
    );
}

#[test]
fn a_missing_column_or_header_is_reported_on_line_1() {
    let scratch = Scratch::new("bad_header");
    let path = scratch.join("faults.csv");
    fs::write(&path, "scenario,t_s,worker,detail\n").unwrap();
    let message = read_csv::<FaultRow>(&path).unwrap_err().to_string();
    assert!(
        message.contains("faults.csv: line 1: missing column `kind`"),
        "{message}"
    );

    fs::write(&path, "").unwrap();
    let message = read_csv::<FaultRow>(&path).unwrap_err().to_string();
    assert!(
        message.contains("faults.csv: line 1: empty file"),
        "{message}"
    );
}

#[test]
fn columns_are_matched_by_name() {
    let scratch = Scratch::new("reordered");
    let path = scratch.join("faults.csv");
    fs::write(
        &path,
        "worker,scenario,extra,detail,kind,t_s\n2,s,ignored,,down,3.5\n",
    )
    .unwrap();
    let rows: Vec<FaultRow> = read_csv(&path).unwrap();
    assert_eq!(rows[0].worker, 2);
    assert_eq!(rows[0].kind, "down");
    assert_eq!(rows[0].t_s, 3.5);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let scratch = Scratch::new("missing");
    let path = scratch.join("nope.csv");
    let error = read_csv::<SummaryRow>(&path).unwrap_err();
    assert!(
        matches!(&error, ReportError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(error.to_string().contains("nope.csv"));
}
