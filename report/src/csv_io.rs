//! Writing and reading the schema's CSV files.
//!
//! [`write_csv`] always writes the header line, even for zero rows (the `csv` crate takes its
//! header from the first serialized record, so an empty run would otherwise leave an empty file
//! that no reader can tell apart from a truncated one). [`read_csv`] checks the header before the
//! first record and reports every problem as `<file>: line <n>: <what>`, naming the column when a
//! cell does not parse. Columns are matched by name, so extra columns are ignored and a reordered
//! file still reads.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use csv::{ErrorKind, StringRecord};

use crate::error::ReportError;
use crate::schema::Row;

/// Writes `rows` to `path` (created or truncated) with the header of `T`.
///
/// # Errors
///
/// [`ReportError::Io`] if the file cannot be created or written, [`ReportError::Csv`] if a row
/// cannot be serialized.
pub fn write_csv<T: Row>(path: &Path, rows: &[T]) -> Result<(), ReportError> {
    let file = File::create(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(BufWriter::new(file));
    writer
        .write_record(T::HEADER)
        .map_err(|e| csv_error(path, e, None))?;
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| csv_error(path, e, None))?;
    }
    writer.flush().map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every row of `path`.
///
/// # Errors
///
/// [`ReportError::Io`] if the file cannot be opened or read (a missing file gives an `Io` error
/// of kind `NotFound`); [`ReportError::Malformed`] with the line number if the file is empty,
/// lacks a column of `T`, or has a record that does not parse.
pub fn read_csv<T: Row>(path: &Path) -> Result<Vec<T>, ReportError> {
    let file = File::open(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, e, None))?
        .clone();
    check_header::<T>(path, &headers)?;
    reader
        .deserialize()
        .map(|row| row.map_err(|e| csv_error(path, e, Some(&headers))))
        .collect()
}

/// Fails unless every column of `T` is in `headers`.
fn check_header<T: Row>(path: &Path, headers: &StringRecord) -> Result<(), ReportError> {
    let expected = T::HEADER.join(",");
    let message = if headers.is_empty() {
        format!("empty file, expected the header `{expected}`")
    } else if let Some(missing) = T::HEADER.iter().find(|c| !headers.iter().any(|h| h == **c)) {
        format!("missing column `{missing}` in the header, expected `{expected}`")
    } else {
        return Ok(());
    };
    Err(ReportError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        message,
    })
}

/// Turns a `csv` error into a [`ReportError`] that names the file, the line and, when `headers`
/// are known, the column.
fn csv_error(path: &Path, error: csv::Error, headers: Option<&StringRecord>) -> ReportError {
    let line = error.position().map(csv::Position::line);
    let message = match error.kind() {
        ErrorKind::Deserialize { err, .. } => {
            let column = err
                .field()
                .and_then(|field| headers?.get(usize::try_from(field).ok()?));
            match column {
                Some(column) => format!("column `{column}`: {}", err.kind()),
                None => err.to_string(),
            }
        }
        ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        ErrorKind::Utf8 { err, .. } => format!("field {}: invalid UTF-8", err.field() + 1),
        _ => error.to_string(),
    };
    match (error.into_kind(), line) {
        (ErrorKind::Io(source), _) => ReportError::Io {
            path: path.to_path_buf(),
            source,
        },
        (_, Some(line)) => ReportError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
        },
        (_, None) => ReportError::Csv {
            path: path.to_path_buf(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DecisionRow, FaultRow, SummaryRow, TimeseriesRow, WorkerRow};

    /// The header serde derives from the field order, as `csv` would write it.
    fn serde_header<T: Row>(row: &T) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_owned()
    }

    fn assert_header<T: Row>(row: &T) {
        assert_eq!(serde_header(row), T::HEADER.join(","), "{}", T::FILE_NAME);
    }

    #[test]
    fn header_constants_follow_the_field_order() {
        let (s, a) = (String::from("s"), String::from("a"));
        assert_header(&SummaryRow {
            scenario: s.clone(),
            algorithm: a.clone(),
            seed: 1,
            requests: 1,
            ok: 1,
            errors: 0,
            error_rate: 0.0,
            throughput_rps: 0.0,
            mean_ms: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            p999_ms: 0.0,
            max_ms: 0.0,
            mean_in_flight: 0.0,
            switches: 0,
        });
        assert_header(&TimeseriesRow {
            scenario: s.clone(),
            algorithm: a.clone(),
            seed: 1,
            t_s: 0,
            requests: 0,
            errors: 0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            mean_in_flight: 0.0,
            active_algorithm: a.clone(),
        });
        assert_header(&WorkerRow {
            scenario: s.clone(),
            algorithm: a.clone(),
            seed: 1,
            worker: 0,
            requests: 0,
            share: 0.0,
            errors: 0,
            mean_ms: 0.0,
        });
        assert_header(&DecisionRow {
            scenario: s.clone(),
            algorithm: a.clone(),
            seed: 1,
            t_s: 0.0,
            from: a.clone(),
            to: a,
            condition: String::new(),
            worker: String::new(),
            value: String::new(),
            threshold: String::new(),
            forecast: String::new(),
            detail: String::new(),
        });
        assert_header(&FaultRow {
            scenario: s,
            t_s: 0.0,
            worker: 0,
            kind: String::new(),
            detail: String::new(),
        });
    }
}
