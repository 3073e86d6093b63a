//! Latency percentiles of one scenario: how each algorithm's tail grows from p50 to p99.9.
//!
//! The x axis holds the four percentiles as evenly spaced categories; the y axis is latency on a
//! log scale, since tails are often orders of magnitude above medians. Each algorithm is a line
//! with dots at the mean over its seeds; with several seeds, a whisker at each dot spans the
//! smallest to the largest value across seeds. Algorithms are nudged apart horizontally by a
//! small fixed offset so their whiskers do not hide each other.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::canvas::{self, Canvas, GRID_BOLD, GRID_LIGHT, LegendEntry, Swatch};
use super::scale::{Axis, Scale, clamp_ms, format_number};
use super::{font, palette};
use crate::error::ReportError;
use crate::schema::SummaryRow;

/// Reads one latency column of a summary row.
type Column = fn(&SummaryRow) -> f64;

/// The percentiles drawn, in x order, with the column each comes from.
const PERCENTILES: [(&str, Column); 4] = [
    ("p50", |row| row.p50_ms),
    ("p90", |row| row.p90_ms),
    ("p99", |row| row.p99_ms),
    ("p99.9", |row| row.p999_ms),
];

/// Mean, smallest and largest of one percentile over the seeds of one algorithm, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    mean: f64,
    min: f64,
    max: f64,
}

/// One algorithm's line.
#[derive(Debug)]
struct Line<'a> {
    algorithm: &'a str,
    seeds: usize,
    points: [Spread; 4],
}

/// Draws the latency percentiles of `scenario` from `summary` to the PNG at `path`.
///
/// x: p50, p90, p99, p99.9 as categories; y: latency, log scale. One line with dots per
/// algorithm at the mean over its seeds; with several seeds a whisker spans min..max across
/// seeds. Rows of other scenarios are ignored; a scenario without rows gives a chart that says
/// so. Latencies below 0.001 ms (including zero and non-finite values) are drawn at 0.001 ms.
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn latency_percentiles(
    summary: &[SummaryRow],
    scenario: &str,
    path: &Path,
) -> Result<(), ReportError> {
    let title = format!("Latency percentiles — {scenario}");
    let lines = lines(summary, scenario);
    if lines.is_empty() {
        let message = format!("no data: summary has no rows for scenario {scenario:?}");
        return canvas::no_data(path, &title, &message);
    }

    let most_seeds = lines.iter().map(|l| l.seeds).max().unwrap_or(1);
    let subtitle = if most_seeds > 1 {
        format!(
            "mean over up to {most_seeds} seeds per algorithm; whiskers span min..max across seeds"
        )
    } else {
        "one seed per algorithm".to_owned()
    };
    let legend: Vec<LegendEntry> = lines
        .iter()
        .map(|line| {
            LegendEntry::new(
                line.algorithm,
                Swatch::Series(palette::colour(line.algorithm)),
            )
        })
        .collect();
    let canvas = Canvas::new(path, &title, &subtitle, &legend)?;

    let values = lines.iter().flat_map(|l| l.points.iter());
    let lo = values.clone().map(|s| s.min).fold(f64::INFINITY, f64::min);
    let hi = values.map(|s| s.max).fold(0.0, f64::max);
    let axis = Scale::Log.axis(lo, hi);
    let y = |ms: f64| Scale::Log.position(ms);

    let mut chart = ChartBuilder::on(&canvas.plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(Axis::categories(PERCENTILES.len(), 1), axis)
        .map_err(canvas.error())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|x| {
            let index = x.round() as usize;
            PERCENTILES
                .get(index)
                .map(|p| p.0.to_owned())
                .unwrap_or_default()
        })
        .y_label_formatter(&|position| format_number(Scale::Log.value_at(*position)))
        .label_style(font::text(14.0, &BLACK))
        .axis_desc_style(font::text(16.0, &BLACK))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .map_err(canvas.error())?;

    let step = (0.5 / lines.len() as f64).min(0.06);
    let centre = (lines.len() as f64 - 1.0) / 2.0;
    for (index, line) in lines.iter().enumerate() {
        let colour = palette::colour(line.algorithm);
        let dx = (index as f64 - centre) * step;
        let at = |i: usize| i as f64 + dx;
        chart
            .draw_series(LineSeries::new(
                line.points
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (at(i), y(s.mean))),
                colour.stroke_width(2),
            ))
            .map_err(canvas.error())?;
        if line.seeds > 1 {
            for (i, spread) in line.points.iter().enumerate() {
                let (x, lo, hi) = (at(i), y(spread.min), y(spread.max));
                let whisker = [
                    PathElement::new([(x, lo), (x, hi)], colour.stroke_width(2)),
                    PathElement::new([(x - 0.02, lo), (x + 0.02, lo)], colour.stroke_width(2)),
                    PathElement::new([(x - 0.02, hi), (x + 0.02, hi)], colour.stroke_width(2)),
                ];
                chart.draw_series(whisker).map_err(canvas.error())?;
            }
        }
        chart
            .draw_series(
                line.points
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Circle::new((at(i), y(s.mean)), 5, colour.filled())),
            )
            .map_err(canvas.error())?;
    }

    canvas.legend(&legend)?;
    canvas.present()
}

/// The lines of `scenario`, in legend order.
fn lines<'a>(summary: &'a [SummaryRow], scenario: &str) -> Vec<Line<'a>> {
    let mut by_algorithm: BTreeMap<&str, Vec<&SummaryRow>> = BTreeMap::new();
    for row in summary.iter().filter(|row| row.scenario == scenario) {
        by_algorithm.entry(&row.algorithm).or_default().push(row);
    }
    palette::legend_order(by_algorithm.keys().copied())
        .into_iter()
        .map(|algorithm| {
            let rows = &by_algorithm[algorithm];
            Line {
                algorithm,
                seeds: rows.len(),
                points: PERCENTILES.map(|(_, column)| spread(rows.iter().map(|r| column(r)))),
            }
        })
        .collect()
}

/// The spread of latencies clamped to the chart's floor; `values` is never empty here.
fn spread(values: impl Iterator<Item = f64> + Clone) -> Spread {
    let clamped = values.map(clamp_ms);
    let count = clamped.clone().count().max(1) as f64;
    Spread {
        mean: clamped.clone().sum::<f64>() / count,
        min: clamped.clone().fold(f64::INFINITY, f64::min),
        max: clamped.fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(algorithm: &str, seed: u64, p50: f64) -> SummaryRow {
        SummaryRow {
            scenario: "s".into(),
            algorithm: algorithm.into(),
            seed,
            requests: 10,
            ok: 10,
            errors: 0,
            error_rate: 0.0,
            throughput_rps: 1.0,
            mean_ms: p50,
            p50_ms: p50,
            p90_ms: 2.0 * p50,
            p99_ms: 4.0 * p50,
            p999_ms: 8.0 * p50,
            max_ms: 9.0 * p50,
            mean_in_flight: 1.0,
            switches: 0,
        }
    }

    #[test]
    fn lines_average_seeds_and_keep_their_range() {
        let rows = [
            row("adaptive", 1, 1.0),
            row("adaptive", 2, 3.0),
            row("random", 1, 0.0),
        ];
        let lines = lines(&rows, "s");
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].algorithm, lines[0].seeds), ("random", 1));
        assert_eq!(
            lines[0].points[0].mean, 0.001,
            "zero is clamped to the floor"
        );
        let adaptive = &lines[1];
        assert_eq!(adaptive.seeds, 2);
        assert_eq!(
            adaptive.points[0],
            Spread {
                mean: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
    }
}
