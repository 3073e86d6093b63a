//! p99 over time for one scenario and seed: what the tail did when faults hit and when the
//! decision engine switched algorithms.
//!
//! Each algorithm is a line through the p99 of its 1-second buckets, drawn at the middle of the
//! bucket (`t_s + 0.5`), so a fault at `t = 10` sits just before the bucket it first affects.
//! Buckets without requests are gaps in the line, never zeros; a bucket with data on neither side
//! is a dot. The y axis is linear when the largest p99 is less than 20 times the smallest and
//! log10 otherwise, so a calm run shows its detail and a fault spike does not flatten everything
//! else.
//!
//! Faults (from `faults.csv`) are dashed grey vertical lines labelled `w<worker> <kind>
//! <detail>` along the top; labels of nearby faults are staggered over three rows, in headroom
//! added above the data. Switches (from `decisions.csv`, rows whose `from` differs from `to`)
//! are triangles on the line of the algorithm that made them (typically `adaptive`), labelled
//! `→ <new algorithm>`. Labels sit on a white backdrop over the data; a label that would overlap
//! an earlier one is left out, and the legend says how many were (`fault (3 unlabelled)`).

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{
    self, BACKDROP, Canvas, GRID_BOLD, GRID_LIGHT, LegendEntry, REFERENCE, SUBTLE, Swatch,
    switch_marker, text_box,
};
use super::scale::{Axis, Scale, clamp_ms, format_number, linear_axis};
use super::{font, palette};
use crate::error::ReportError;
use crate::schema::{DecisionRow, FaultRow, TimeseriesRow};

/// p99 in ms by bucket start, for the buckets that had requests.
type Buckets = BTreeMap<u64, f64>;

/// Fault labels cycle over this many rows at the top of the plot.
const FAULT_LABEL_ROWS: usize = 3;

/// Draws p99 latency over time for `scenario` and `seed` to the PNG at `path`, marking the
/// scenario's faults and the switches made in that run.
///
/// Each algorithm's line goes through the p99 of its 1-second buckets, at the bucket middles;
/// seconds without requests are gaps. The y axis is linear when the largest p99 is under 20
/// times the smallest, log10 otherwise; p99 below 0.001 ms is drawn at 0.001 ms. Faults are
/// dashed vertical lines labelled like `w3 slow x5`; switches (decision rows of this run whose
/// `from` differs from `to`) are triangles on the line of the algorithm that made them,
/// labelled with the new algorithm.
///
/// Rows of other scenarios and seeds are ignored (faults belong to the scenario, so they apply
/// to every seed), as are faults and switches at negative or non-finite times. A run without
/// any bucket that has requests gives a chart that says so.
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn p99_over_time(
    ts: &[TimeseriesRow],
    faults: &[FaultRow],
    decisions: &[DecisionRow],
    scenario: &str,
    seed: u64,
    path: &Path,
) -> Result<(), ReportError> {
    let title = format!("p99 latency over time — {scenario}");
    let series = series(ts, scenario, seed);
    let points = series.iter().flat_map(|(_, buckets)| buckets.values());
    let lo = points.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = points.copied().fold(0.0, f64::max);
    if !lo.is_finite() {
        let message = format!("no data: no requests for scenario {scenario:?}, seed {seed}");
        return canvas::no_data(path, &title, &message);
    }

    let mut faults: Vec<&FaultRow> = faults
        .iter()
        .filter(|f| f.scenario == scenario && f.t_s.is_finite() && f.t_s >= 0.0)
        .collect();
    faults.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let switches: Vec<&DecisionRow> = decisions
        .iter()
        .filter(|d| d.scenario == scenario && d.seed == seed)
        .filter(|d| d.from != d.to && d.t_s.is_finite() && d.t_s >= 0.0)
        .collect();

    let last_bucket = series
        .iter()
        .filter_map(|(_, buckets)| buckets.keys().next_back())
        .max()
        .map_or(0.0, |t| *t as f64 + 1.0);
    let x_end = faults
        .iter()
        .map(|f| f.t_s)
        .chain(switches.iter().map(|d| d.t_s))
        .fold(last_bucket, f64::max)
        .max(1.0);

    let scale = Scale::for_values(lo, hi);
    let mut axis = match scale {
        Scale::Linear => scale.axis(lo, hi * 1.05),
        Scale::Log => scale.axis(lo, hi),
    };
    if !faults.is_empty() {
        // Headroom for the fault labels along the top.
        axis.range.end += 0.15 * (axis.range.end - axis.range.start);
    }
    let (y_bottom, y_top) = (axis.range.start, axis.range.end);

    let subtitle = format!(
        "seed {seed}; p99 of each 1-second bucket, drawn at the bucket's middle; \
         gaps are seconds without requests"
    );
    let canvas = Canvas::new(path, &title, &subtitle)?;
    let mut chart = ChartBuilder::on(&canvas.plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(linear_axis(x_end), axis)
        .map_err(canvas.error())?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(match scale {
            Scale::Linear => "p99 latency (ms)",
            Scale::Log => "p99 latency (ms, log scale)",
        })
        .x_label_formatter(&|t| format_number(*t))
        .y_label_formatter(&|position| format_number(scale.value_at(*position)))
        .label_style(font::text(14.0, &BLACK))
        .axis_desc_style(font::text(16.0, &BLACK))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .map_err(canvas.error())?;

    // Fault lines first, so data is drawn over them; their labels last, so they stay legible.
    for fault in &faults {
        chart
            .draw_series(DashedLineSeries::new(
                [(fault.t_s, y_bottom), (fault.t_s, y_top)],
                6,
                4,
                REFERENCE.stroke_width(1),
            ))
            .map_err(canvas.error())?;
    }

    for (algorithm, buckets) in &series {
        let colour = palette::colour(algorithm);
        let y = |ms: f64| scale.position(ms);
        for run in runs(buckets) {
            let points = run.iter().map(|(t, ms)| (*t as f64 + 0.5, y(*ms)));
            if run.len() == 1 {
                let dots = points.map(|at| Circle::new(at, 4, colour.filled()));
                chart.draw_series(dots).map_err(canvas.error())?;
            } else {
                chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                    .map_err(canvas.error())?;
            }
        }
    }

    let mut rows = LabelRows::new(FAULT_LABEL_ROWS);
    let mut unlabelled_faults = 0;
    for fault in &faults {
        let mut text = format!("w{} {}", fault.worker, fault.kind);
        if !fault.detail.is_empty() {
            text = format!("{text} {}", fault.detail);
        }
        let label = Label::beside((fault.t_s, y_top), fault.t_s > 0.8 * x_end, 4, VPos::Top);
        let style = font::text(13.0, &SUBTLE).pos(label.pos);
        let extent = label.extent(&chart, &style, &text, 0);
        match rows.place(extent) {
            Some(row) => label.draw(&mut chart, style, text, 4 + 17 * row as i32, &canvas)?,
            None => unlabelled_faults += 1,
        }
    }

    let mut rows = LabelRows::new(1);
    let mut unlabelled_switches: BTreeMap<&str, usize> = BTreeMap::new();
    for switch in &switches {
        let colour = palette::colour(&switch.algorithm);
        let y = series
            .iter()
            .find(|(algorithm, _)| *algorithm == switch.algorithm)
            .and_then(|(_, buckets)| value_near(buckets, switch.t_s))
            .map_or(y_bottom, |ms| scale.position(ms));
        let at = (switch.t_s, y);
        chart
            .draw_series(switch_marker(at, colour))
            .map_err(canvas.error())?;
        let text = format!("→ {}", switch.to);
        let label = Label::beside(at, switch.t_s > 0.8 * x_end, 7, VPos::Bottom);
        let style = font::text(13.0, &BLACK).pos(label.pos);
        match rows.place(label.extent(&chart, &style, &text, -8)) {
            Some(_) => label.draw(&mut chart, style, text, -8, &canvas)?,
            None => *unlabelled_switches.entry(&switch.algorithm).or_default() += 1,
        }
    }

    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|(algorithm, _)| LegendEntry {
            label: (*algorithm).to_owned(),
            swatch: Swatch::Series(palette::colour(algorithm)),
        })
        .collect();
    if !faults.is_empty() {
        legend.push(LegendEntry {
            label: with_unlabelled("fault".to_owned(), unlabelled_faults),
            swatch: Swatch::Dashed(REFERENCE),
        });
    }
    for algorithm in palette::legend_order(switches.iter().map(|d| d.algorithm.as_str())) {
        let unlabelled = unlabelled_switches.get(algorithm).copied().unwrap_or(0);
        legend.push(LegendEntry {
            label: with_unlabelled(format!("{algorithm} switch"), unlabelled),
            swatch: Swatch::Triangle(palette::colour(algorithm)),
        });
    }
    canvas.legend(&legend)?;
    canvas.present()
}

/// The p99 (clamped to the chart's floor) of every bucket with requests, per algorithm in legend
/// order, for the rows of `scenario` and `seed`. Algorithms whose buckets are all empty are kept,
/// with no buckets, so they still appear in the legend.
fn series<'a>(ts: &'a [TimeseriesRow], scenario: &str, seed: u64) -> Vec<(&'a str, Buckets)> {
    let mut by_algorithm: BTreeMap<&str, Buckets> = BTreeMap::new();
    for row in ts
        .iter()
        .filter(|r| r.scenario == scenario && r.seed == seed)
    {
        let buckets = by_algorithm.entry(&row.algorithm).or_default();
        if row.requests > 0 {
            buckets.insert(row.t_s, clamp_ms(row.p99_ms));
        }
    }
    palette::legend_order(by_algorithm.keys().copied())
        .into_iter()
        .map(|algorithm| {
            (
                algorithm,
                by_algorithm.remove(algorithm).unwrap_or_default(),
            )
        })
        .collect()
}

/// `text`, noting how many of its marks went without a label.
fn with_unlabelled(text: String, unlabelled: usize) -> String {
    if unlabelled == 0 {
        text
    } else {
        format!("{text} ({unlabelled} unlabelled)")
    }
}

/// Rows of labels that must not overlap: a label takes the first row whose last label ends to
/// its left, or is left out when none does.
struct LabelRows {
    ends: Vec<i32>,
}

impl LabelRows {
    fn new(rows: usize) -> Self {
        LabelRows {
            ends: vec![i32::MIN; rows],
        }
    }

    /// The row for a label spanning pixels `left..right`, if one has room.
    fn place(&mut self, (left, right): (i32, i32)) -> Option<usize> {
        let row = self.ends.iter().position(|end| *end < left)?;
        self.ends[row] = right;
        Some(row)
    }
}

/// A text label beside a point of the chart: to its right, or to its left near the right edge.
struct Label {
    at: (f64, f64),
    dx: i32,
    pos: Pos,
}

impl Label {
    fn beside(at: (f64, f64), near_right_edge: bool, gap: i32, v_pos: VPos) -> Self {
        let (dx, h_pos) = if near_right_edge {
            (-gap, HPos::Right)
        } else {
            (gap, HPos::Left)
        };
        Label {
            at,
            dx,
            pos: Pos::new(h_pos, v_pos),
        }
    }

    /// The pixel columns the label covers.
    fn extent(&self, chart: &Chart, style: &TextStyle, text: &str, dy: i32) -> (i32, i32) {
        let x = chart.backend_coord(&self.at).0;
        let [low, high] = text_box(style, text, (self.dx, dy));
        (x + low.0, x + high.0)
    }

    /// Draws the label `dy` pixels below the point, on a backdrop.
    fn draw(
        &self,
        chart: &mut Chart,
        style: TextStyle,
        text: String,
        dy: i32,
        canvas: &Canvas,
    ) -> Result<(), ReportError> {
        let backdrop = text_box(&style, &text, (self.dx, dy));
        chart
            .draw_series([EmptyElement::at(self.at) + Rectangle::new(backdrop, BACKDROP.filled())])
            .map_err(canvas.error())?;
        chart
            .draw_series([EmptyElement::at(self.at) + Text::new(text, (self.dx, dy), style)])
            .map_err(canvas.error())?;
        Ok(())
    }
}

/// The chart type of this module: both axes are ours.
type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Axis, Axis>>;

/// Splits buckets into runs of consecutive seconds.
fn runs(buckets: &Buckets) -> Vec<Vec<(u64, f64)>> {
    let mut runs: Vec<Vec<(u64, f64)>> = Vec::new();
    for (&t, &ms) in buckets {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(prev, _)| prev + 1 == t) => run.push((t, ms)),
            _ => runs.push(vec![(t, ms)]),
        }
    }
    runs
}

/// The p99 of the bucket holding `t_s`, or of the bucket whose middle is nearest to it.
fn value_near(buckets: &Buckets, t_s: f64) -> Option<f64> {
    let bucket = t_s.max(0.0).floor() as u64;
    buckets.get(&bucket).copied().or_else(|| {
        buckets
            .iter()
            .min_by(|(a, _), (b, _)| {
                let distance = |t: u64| (t as f64 + 0.5 - t_s).abs();
                distance(**a).total_cmp(&distance(**b))
            })
            .map(|(_, ms)| *ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_without_requests_split_the_line() {
        let buckets: Buckets = [(0, 1.0), (1, 2.0), (3, 5.0), (5, 1.0), (6, 1.0)]
            .into_iter()
            .collect();
        let lengths: Vec<usize> = runs(&buckets).iter().map(Vec::len).collect();
        assert_eq!(lengths, [2, 1, 2]);
    }

    #[test]
    fn switch_sits_on_its_bucket_or_the_nearest_one() {
        let buckets: Buckets = [(2, 7.0), (9, 3.0)].into_iter().collect();
        assert_eq!(value_near(&buckets, 2.9), Some(7.0));
        assert_eq!(value_near(&buckets, 7.5), Some(3.0));
        assert_eq!(value_near(&BTreeMap::new(), 1.0), None);
    }
}
