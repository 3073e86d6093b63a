//! Share of requests per worker for one scenario: did each algorithm spread load evenly, and did
//! it steer away from the workers that faults made slow?
//!
//! Grouped bars: one group per worker index, one bar per algorithm within the group, the height
//! being the worker's share of the run's requests in percent, averaged over the seeds of that
//! algorithm (a worker missing from a seed's rows counts as 0 for that seed). A dashed line marks
//! the even share, 100/N percent for N workers (N = largest index + 1).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::prelude::*;

use super::canvas::{self, Canvas, GRID_BOLD, GRID_LIGHT, LegendEntry, REFERENCE, Swatch};
use super::scale::{Axis, format_number, linear_axis};
use super::{font, palette};
use crate::error::ReportError;
use crate::schema::WorkerRow;

/// Fraction of a group's width covered by its bars.
const GROUP_WIDTH: f64 = 0.8;
/// At most this many worker indices are labelled on the x axis.
const MAX_X_LABELS: usize = 24;

/// One algorithm's bars: mean share per worker in percent, and how many seeds were averaged.
#[derive(Debug, PartialEq)]
struct Bars<'a> {
    algorithm: &'a str,
    seeds: usize,
    percent: Vec<f64>,
}

/// Draws the share of requests each worker received under each algorithm in `scenario`, from
/// `workers`, to the PNG at `path`.
///
/// Grouped bars: one group per worker index, one bar per algorithm, height = share of requests
/// in percent averaged over the algorithm's seeds (a worker missing from a seed counts as 0);
/// a dashed line marks the even share 100/N %. Rows of other scenarios are ignored; a scenario
/// without rows gives a chart that says so. Non-finite shares count as 0.
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn worker_share(workers: &[WorkerRow], scenario: &str, path: &Path) -> Result<(), ReportError> {
    let title = format!("Share of requests per worker — {scenario}");
    let bars = bars(workers, scenario);
    let Some(worker_count) = bars.first().map(|b| b.percent.len()) else {
        let message = format!("no data: workers has no rows for scenario {scenario:?}");
        return canvas::no_data(path, &title, &message);
    };

    let even = 100.0 / worker_count as f64;
    let tallest = bars
        .iter()
        .flat_map(|b| b.percent.iter().copied())
        .fold(even, f64::max);
    let axis = linear_axis((tallest * 1.12).min(100.0).max(tallest));
    let seeds: BTreeSet<usize> = bars.iter().map(|b| b.seeds).collect();
    let seeds = match (seeds.first(), seeds.last()) {
        (Some(1), Some(1)) => "one seed".to_owned(),
        (Some(a), Some(b)) if a == b => format!("mean over {a} seeds"),
        (Some(a), Some(b)) => format!("mean over {a} to {b} seeds"),
        _ => String::new(),
    };
    let subtitle =
        format!("{worker_count} workers; {seeds}; dashed line: even share (100% / {worker_count})");
    let mut legend: Vec<LegendEntry> = bars
        .iter()
        .map(|b| LegendEntry::new(b.algorithm, Swatch::Bar(palette::colour(b.algorithm))))
        .collect();
    legend.push(LegendEntry::new(
        format!(
            "even share {}%",
            format_number((even * 10.0).round() / 10.0)
        ),
        Swatch::Dashed(REFERENCE),
    ));
    let canvas = Canvas::new(path, &title, &subtitle, &legend)?;

    let every = worker_count.div_ceil(MAX_X_LABELS);
    let mut chart = ChartBuilder::on(&canvas.plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(Axis::categories(worker_count, every), axis)
        .map_err(canvas.error())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("worker index")
        .y_desc("share of requests (%)")
        .x_label_formatter(&|x| format!("{}", x.round()))
        .y_label_formatter(&|y| format!("{}%", format_number(*y)))
        .label_style(font::text(14.0, &BLACK))
        .axis_desc_style(font::text(16.0, &BLACK))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .map_err(canvas.error())?;

    let bar_width = GROUP_WIDTH / bars.len() as f64;
    let gap = bar_width * 0.12;
    for (index, algorithm) in bars.iter().enumerate() {
        let colour = palette::colour(algorithm.algorithm);
        let rectangles = algorithm
            .percent
            .iter()
            .enumerate()
            .map(|(worker, percent)| {
                let left = worker as f64 - GROUP_WIDTH / 2.0 + index as f64 * bar_width;
                Rectangle::new(
                    [
                        (left + gap / 2.0, 0.0),
                        (left + bar_width - gap / 2.0, *percent),
                    ],
                    colour.filled(),
                )
            });
        chart.draw_series(rectangles).map_err(canvas.error())?;
    }

    let right = worker_count as f64 - 0.5;
    chart
        .draw_series(DashedLineSeries::new(
            [(-0.5, even), (right, even)],
            8,
            5,
            REFERENCE.stroke_width(2),
        ))
        .map_err(canvas.error())?;

    canvas.legend(&legend)?;
    canvas.present()
}

/// The bars of `scenario`, in legend order, all with one entry per worker index.
fn bars<'a>(workers: &'a [WorkerRow], scenario: &str) -> Vec<Bars<'a>> {
    let rows: Vec<&WorkerRow> = workers.iter().filter(|r| r.scenario == scenario).collect();
    let Some(worker_count) = rows.iter().map(|r| r.worker as usize + 1).max() else {
        return Vec::new();
    };
    let mut sums: BTreeMap<&str, (BTreeSet<u64>, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let (seeds, sum) = sums
            .entry(&row.algorithm)
            .or_insert_with(|| (BTreeSet::new(), vec![0.0; worker_count]));
        seeds.insert(row.seed);
        if row.share.is_finite() {
            sum[row.worker as usize] += row.share;
        }
    }
    palette::legend_order(sums.keys().copied())
        .into_iter()
        .map(|algorithm| {
            let (seeds, sum) = &sums[algorithm];
            let seeds_len = seeds.len().max(1);
            Bars {
                algorithm,
                seeds: seeds.len(),
                percent: sum.iter().map(|s| 100.0 * s / seeds_len as f64).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(algorithm: &str, seed: u64, worker: u32, share: f64) -> WorkerRow {
        WorkerRow {
            scenario: "s".into(),
            algorithm: algorithm.into(),
            seed,
            worker,
            requests: 1,
            share,
            errors: 0,
            mean_ms: 1.0,
        }
    }

    #[test]
    fn shares_are_averaged_over_seeds_with_missing_workers_as_zero() {
        let rows = [
            row("random", 1, 0, 0.5),
            row("random", 1, 1, 0.5),
            row("random", 2, 0, 1.0),
            row("adaptive", 1, 2, 1.0),
        ];
        let bars = bars(&rows, "s");
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].algorithm, "random");
        assert_eq!(bars[0].seeds, 2);
        assert_eq!(bars[0].percent, [75.0, 25.0, 0.0]);
        assert_eq!(bars[1].percent, [0.0, 0.0, 100.0]);
    }
}
