//! Values over time for one scenario and seed, with the scenario's faults and the decision
//! engine's switches marked: what the tail latency ([`p99_over_time`]) and the error rate
//! ([`error_rate_over_time`]) did when faults hit and when the engine switched algorithms.
//!
//! Both charts are drawn by one [`Timeline`], so they share every convention. Each algorithm is
//! a line through the values of its 1-second buckets, drawn at the middle of the bucket
//! (`t_s + 0.5`), so a fault at `t = 10` sits just before the bucket it first affects. Buckets
//! without requests are gaps in the line, never zeros; a bucket with data on neither side is a
//! dot.
//!
//! - p99: the y axis is linear when the largest p99 is less than 20 times the smallest and log10
//!   otherwise, so a calm run shows its detail and a fault spike does not flatten everything
//!   else.
//! - Error rate: `errors / requests × 100` of each bucket, on a linear axis from 0 to a round
//!   value at least 1% (so an error-free run is a flat line at the bottom, not noise blown up).
//!
//! Faults (from `faults.csv`) are dashed grey vertical lines labelled `w<worker> <kind>
//! <detail>` along the top; labels of nearby faults are staggered over three rows, in headroom
//! added above the data. Switches (from `decisions.csv`, rows whose `from` differs from `to`)
//! are triangles on the line of the algorithm that made them (typically `adaptive`), labelled
//! `→ <new algorithm>`. Labels sit on a white backdrop over the data; a label that would overlap
//! an earlier one is left out, and the legend says how many were, on a second line under the
//! entry (`fault` / `(3 unlabelled)`).

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{
    self, BACKDROP, Canvas, GRID_BOLD, GRID_LIGHT, LegendEntry, REFERENCE, SUBTLE, Swatch,
    switch_marker, text_box,
};
use super::scale::{Axis, Scale, clamp_ms, format_number, linear_axis, time_axis};
use super::{font, palette};
use crate::error::ReportError;
use crate::schema::{DecisionRow, FaultRow, TimeseriesRow};

/// A value (p99 in ms, error rate in %) by bucket start, for the buckets that had requests.
pub(crate) type Buckets = BTreeMap<u64, f64>;

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
    let series = series(ts, scenario, seed, |row| clamp_ms(row.p99_ms));
    let Some((lo, hi)) = bounds(&series) else {
        return no_data(path, &title, scenario, seed);
    };
    let scale = Scale::for_values(lo, hi);
    let axis = match scale {
        Scale::Linear => scale.axis(lo, hi * 1.05),
        Scale::Log => scale.axis(lo, hi),
    };
    Timeline {
        title,
        subtitle: format!(
            "seed {seed}; p99 of each 1-second bucket, drawn at the bucket's middle; \
             gaps are seconds without requests"
        ),
        y_desc: match scale {
            Scale::Linear => "p99 latency (ms)",
            Scale::Log => "p99 latency (ms, log scale)",
        },
        y_unit: "",
        scale,
        axis,
        series,
    }
    .draw(faults, decisions, scenario, seed, path)
}

/// Draws the error rate over time for `scenario` and `seed` to the PNG at `path`, marking the
/// scenario's faults and the switches made in that run, like [`p99_over_time`].
///
/// Each algorithm's line goes through the error rate of its 1-second buckets in percent,
/// `errors / requests × 100` (errors beyond `requests` count as 100%), at the bucket middles;
/// seconds without requests are gaps. The y axis is linear, from 0 to a round value at or above
/// the largest rate and at least 1%. Faults, switches, rows of other scenarios and seeds, and a
/// run without any bucket that has requests are handled as in [`p99_over_time`].
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn error_rate_over_time(
    ts: &[TimeseriesRow],
    faults: &[FaultRow],
    decisions: &[DecisionRow],
    scenario: &str,
    seed: u64,
    path: &Path,
) -> Result<(), ReportError> {
    let title = format!("Error rate over time — {scenario}");
    let series = series(ts, scenario, seed, error_percent);
    let Some((_, hi)) = bounds(&series) else {
        return no_data(path, &title, scenario, seed);
    };
    Timeline {
        title,
        subtitle: format!(
            "seed {seed}; failed requests in % of each 1-second bucket's requests, at the \
             bucket's middle; gaps: no requests"
        ),
        y_desc: "error rate (% of requests)",
        y_unit: "%",
        scale: Scale::Linear,
        axis: linear_axis((hi * 1.05).min(100.0).max(hi).max(1.0)),
        series,
    }
    .draw(faults, decisions, scenario, seed, path)
}

/// The error rate of a bucket with requests, in percent.
fn error_percent(row: &TimeseriesRow) -> f64 {
    100.0 * row.errors.min(row.requests) as f64 / row.requests.max(1) as f64
}

/// The chart written when no bucket of the run had requests.
fn no_data(path: &Path, title: &str, scenario: &str, seed: u64) -> Result<(), ReportError> {
    let message = format!("no data: no requests for scenario {scenario:?}, seed {seed}");
    canvas::no_data(path, title, &message)
}

/// What a timeline shows besides faults and switches: its texts, its y axis and one series per
/// algorithm.
struct Timeline<'a> {
    title: String,
    subtitle: String,
    /// The y axis description.
    y_desc: &'static str,
    /// Appended to the y tick labels, e.g. `%`.
    y_unit: &'static str,
    /// How values map to y positions.
    scale: Scale,
    /// The y axis for the data, before headroom for fault labels is added.
    axis: Axis,
    /// Values per bucket, per algorithm in legend order.
    series: Vec<(&'a str, Buckets)>,
}

impl Timeline<'_> {
    /// Draws the timeline with the faults of `scenario` and the switches of its run `seed`.
    fn draw(
        self,
        faults: &[FaultRow],
        decisions: &[DecisionRow],
        scenario: &str,
        seed: u64,
        path: &Path,
    ) -> Result<(), ReportError> {
        let Timeline {
            title,
            subtitle,
            y_desc,
            y_unit,
            scale,
            mut axis,
            series,
        } = self;
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

        if !faults.is_empty() {
            // Headroom for the fault labels along the top.
            axis.range.end += 0.15 * (axis.range.end - axis.range.start);
        }
        let (y_bottom, y_top) = (axis.range.start, axis.range.end);

        let legend = |unlabelled_faults, unlabelled_switches: &BTreeMap<&str, usize>| {
            legend(
                &series,
                !faults.is_empty(),
                &switches,
                unlabelled_faults,
                unlabelled_switches,
            )
        };
        let canvas = Canvas::new(path, &title, &subtitle, &legend(0, &BTreeMap::new()))?;
        let mut chart = ChartBuilder::on(&canvas.plot)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(time_axis(x_end), axis)
            .map_err(canvas.error())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(y_desc)
            .x_label_formatter(&|t| format_number(*t))
            .y_label_formatter(&|position| {
                format!("{}{y_unit}", format_number(scale.value_at(*position)))
            })
            .label_style(font::text(14.0, &BLACK))
            .axis_desc_style(font::text(16.0, &BLACK))
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT)
            .draw()
            .map_err(canvas.error())?;

        // Fault lines first, so data is drawn over them; their labels last, so they stay
        // legible.
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
            for run in runs(buckets) {
                let points = run
                    .iter()
                    .map(|(t, value)| (*t as f64 + 0.5, scale.position(*value)));
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
            let text = fault_label(fault);
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
                .map_or(y_bottom, |value| scale.position(value));
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

        canvas.legend(&legend(unlabelled_faults, &unlabelled_switches))?;
        canvas.present()
    }
}

/// The label of a fault line: `w<worker> <kind> <detail>`, e.g. `w3 slow x5`.
pub(crate) fn fault_label(fault: &FaultRow) -> String {
    if fault.detail.is_empty() {
        format!("w{} {}", fault.worker, fault.kind)
    } else {
        format!("w{} {} {}", fault.worker, fault.kind, fault.detail)
    }
}

/// The legend of a timeline: one entry per algorithm, then `fault` if there are faults, then
/// `<algorithm> switch` per algorithm that switched; entries some of whose marks went without a
/// label say how many on a second line.
fn legend(
    series: &[(&str, Buckets)],
    has_faults: bool,
    switches: &[&DecisionRow],
    unlabelled_faults: usize,
    unlabelled_switches: &BTreeMap<&str, usize>,
) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|(algorithm, _)| {
            LegendEntry::new(*algorithm, Swatch::Series(palette::colour(algorithm)))
        })
        .collect();
    if has_faults {
        legend.push(LegendEntry {
            note: unlabelled(unlabelled_faults),
            ..LegendEntry::new("fault", Swatch::Dashed(REFERENCE))
        });
    }
    for algorithm in palette::legend_order(switches.iter().map(|d| d.algorithm.as_str())) {
        let count = unlabelled_switches.get(algorithm).copied().unwrap_or(0);
        legend.push(LegendEntry {
            note: unlabelled(count),
            ..LegendEntry::new(
                format!("{algorithm} switch"),
                Swatch::Triangle(palette::colour(algorithm)),
            )
        });
    }
    legend
}

/// `value(row)` of every bucket with requests, per algorithm in legend order, for the rows of
/// `scenario` and `seed`. Algorithms whose buckets are all empty are kept, with no buckets, so
/// they still appear in the legend.
pub(crate) fn series<'a>(
    ts: &'a [TimeseriesRow],
    scenario: &str,
    seed: u64,
    value: impl Fn(&TimeseriesRow) -> f64,
) -> Vec<(&'a str, Buckets)> {
    let mut by_algorithm: BTreeMap<&str, Buckets> = BTreeMap::new();
    for row in ts
        .iter()
        .filter(|r| r.scenario == scenario && r.seed == seed)
    {
        let buckets = by_algorithm.entry(&row.algorithm).or_default();
        if row.requests > 0 {
            buckets.insert(row.t_s, value(row));
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

/// The smallest and largest value of all series, or `None` if they have no buckets.
fn bounds(series: &[(&str, Buckets)]) -> Option<(f64, f64)> {
    let values = series.iter().flat_map(|(_, buckets)| buckets.values());
    let lo = values.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = values.copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// The legend note for `count` marks without a label, if any.
pub(crate) fn unlabelled(count: usize) -> Option<String> {
    (count > 0).then(|| format!("({count} unlabelled)"))
}

/// Rows of labels that must not overlap: a label takes the first row whose last label ends to
/// its left, or is left out when none does.
pub(crate) struct LabelRows {
    ends: Vec<i32>,
}

impl LabelRows {
    pub(crate) fn new(rows: usize) -> Self {
        LabelRows {
            ends: vec![i32::MIN; rows],
        }
    }

    /// The row for a label spanning pixels `left..right`, if one has room.
    pub(crate) fn place(&mut self, (left, right): (i32, i32)) -> Option<usize> {
        let row = self.ends.iter().position(|end| *end < left)?;
        self.ends[row] = right;
        Some(row)
    }
}

/// A text label beside a point of the chart: to its right, or to its left near the right edge.
pub(crate) struct Label {
    at: (f64, f64),
    dx: i32,
    pub(crate) pos: Pos,
}

impl Label {
    pub(crate) fn beside(at: (f64, f64), near_right_edge: bool, gap: i32, v_pos: VPos) -> Self {
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
    pub(crate) fn extent(
        &self,
        chart: &Chart,
        style: &TextStyle,
        text: &str,
        dy: i32,
    ) -> (i32, i32) {
        let x = chart.backend_coord(&self.at).0;
        let [low, high] = text_box(style, text, (self.dx, dy));
        (x + low.0, x + high.0)
    }

    /// Draws the label `dy` pixels below the point, on a backdrop.
    pub(crate) fn draw(
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
pub(crate) type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Axis, Axis>>;

/// Splits buckets into runs of consecutive seconds.
pub(crate) fn runs(buckets: &Buckets) -> Vec<Vec<(u64, f64)>> {
    let mut runs: Vec<Vec<(u64, f64)>> = Vec::new();
    for (&t, &ms) in buckets {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(prev, _)| prev + 1 == t) => run.push((t, ms)),
            _ => runs.push(vec![(t, ms)]),
        }
    }
    runs
}

/// The value of the bucket holding `t_s`, or of the bucket whose middle is nearest to it.
pub(crate) fn value_near(buckets: &Buckets, t_s: f64) -> Option<f64> {
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

    fn row(algorithm: &str, t_s: u64, requests: u64, errors: u64) -> TimeseriesRow {
        TimeseriesRow {
            scenario: "s".into(),
            algorithm: algorithm.into(),
            seed: 1,
            t_s,
            requests,
            errors,
            p50_ms: 1.0,
            p99_ms: 2.0,
            mean_in_flight: 1.0,
            active_algorithm: algorithm.into(),
        }
    }

    #[test]
    fn error_rate_is_a_percentage_of_the_seconds_requests_and_idle_seconds_are_gaps() {
        let mut rows = [
            row("adaptive", 0, 200, 3),
            row("adaptive", 1, 0, 0),
            row("adaptive", 2, 10, 25),
            row("random", 0, 0, 0),
            row("random", 0, 50, 0),
        ];
        rows[4].scenario = "other".into();
        let series = series(&rows, "s", 1, error_percent);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].0, "random");
        assert!(series[0].1.is_empty(), "an idle algorithm is kept, empty");
        let adaptive: Vec<(u64, f64)> = series[1].1.iter().map(|(t, v)| (*t, *v)).collect();
        assert_eq!(
            adaptive,
            [(0, 1.5), (2, 100.0)],
            "errors > requests is 100%"
        );
        assert_eq!(bounds(&series), Some((1.5, 100.0)));
        assert_eq!(bounds(&series[..1]), None);
    }

    #[test]
    fn legend_notes_count_unlabelled_marks_on_a_second_line() {
        let decision = DecisionRow {
            scenario: "s".into(),
            algorithm: "adaptive".into(),
            seed: 1,
            t_s: 1.0,
            from: "random".into(),
            to: "round_robin".into(),
            condition: "c".into(),
            worker: String::new(),
            value: String::new(),
            threshold: String::new(),
            forecast: String::new(),
            detail: String::new(),
        };
        let series = vec![("adaptive", Buckets::new())];
        let unlabelled_switches = [("adaptive", 1)].into_iter().collect();
        let entries = legend(&series, true, &[&decision], 0, &unlabelled_switches);
        let lines: Vec<(&str, Option<&str>)> = entries
            .iter()
            .map(|e| (e.label.as_str(), e.note.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                ("adaptive", None),
                ("fault", None),
                ("adaptive switch", Some("(1 unlabelled)"))
            ]
        );
    }
}
