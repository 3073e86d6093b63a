//! The simulator next to the live run of the same scenario and seed, on the same axes: how far
//! the model's latencies are from what the real system did.
//!
//! - [`sim_vs_live_percentiles`]: one category per algorithm present in both sources; at each,
//!   the simulated p50 and p99 (hollow markers, left) and the live ones (filled markers, right),
//!   circle = p50 and triangle = p99, in the algorithm's colour, joined by a thin line per
//!   percentile and labelled with the live/sim ratio (`×1.32`: live is 32% slower). Latency is
//!   on a log axis; with several seeds, each marker is the mean over that source's seeds.
//! - [`sim_vs_live_p99_over_time`]: small multiples, one panel per algorithm present in either
//!   source, all with the same time axis and the same log latency axis; in each, the simulated
//!   p99 per 1-second bucket in dark grey and the live one in the algorithm's colour, seconds
//!   without requests as gaps, the scenario's faults as dashed vertical lines and the live
//!   run's engine switches as triangles on the live line, as in `timeline`.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{
    self, BACKDROP, Canvas, GRID_BOLD, GRID_LIGHT, LegendEntry, Marker, REFERENCE, SUBTLE, Shape,
    Swatch, switch_marker, text_box,
};
use super::scale::{Axis, Scale, clamp_ms, format_number, time_axis};
use super::timeline::{
    Buckets, Label, LabelRows, fault_label, runs, series, unlabelled, value_near,
};
use super::{font, palette};
use crate::error::ReportError;
use crate::schema::{DecisionRow, FaultRow, SummaryRow, TimeseriesRow};

/// The simulator's line in the over-time chart: a neutral dark grey, distinct from every
/// algorithm's colour (`random` is a lighter grey).
const SIM_GREY: RGBColor = RGBColor(45, 45, 45);

/// Reads one latency column of a summary row.
type Column = fn(&SummaryRow) -> f64;

/// The percentiles drawn, with the column each comes from and its marker shape.
const PERCENTILES: [(&str, Column, Shape); 2] = [
    ("p50", |row| row.p50_ms, Shape::Circle),
    ("p99", |row| row.p99_ms, Shape::Triangle),
];

/// Smallest vertical distance between the two ratio labels of one algorithm, pixels.
const LABEL_SPACING: i32 = 16;

/// The mean p50 and p99 of one algorithm over the seeds of one source, ms, clamped to the
/// chart's floor.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Means {
    /// Mean of each of [`PERCENTILES`].
    values: [f64; 2],
    /// Seeds averaged.
    seeds: usize,
}

/// One algorithm of the percentiles chart.
#[derive(Debug)]
struct Pair<'a> {
    algorithm: &'a str,
    sim: Means,
    live: Means,
}

/// Draws p50 and p99 per algorithm of `scenario`, simulated next to live, to the PNG at `path`.
///
/// x: the algorithms with summary rows of `scenario` in both `sim` and `live`, in legend order;
/// y: latency, log scale. At each algorithm the simulated p50 (hollow circle) and p99 (hollow
/// triangle) sit a little left, the live ones (filled) a little right, in the algorithm's
/// colour, each percentile joined by a thin line and its live marker labelled with the ratio
/// live / sim, with three significant digits at most (`×1.32`, `×12.3`, `×0.087`). With
/// several seeds, each marker is the mean over that
/// source's seeds. Latencies below 0.001 ms (including zero and non-finite values) are drawn
/// at 0.001 ms. Rows of other scenarios are ignored; when no algorithm is in both sources the
/// chart says so.
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn sim_vs_live_percentiles(
    sim: &[SummaryRow],
    live: &[SummaryRow],
    scenario: &str,
    path: &Path,
) -> Result<(), ReportError> {
    let title = format!("Simulator vs live: latency percentiles — {scenario}");
    let sim_means = means(sim, scenario);
    let live_means = means(live, scenario);
    let pairs: Vec<Pair> = palette::legend_order(sim_means.keys().copied())
        .into_iter()
        .filter_map(|algorithm| {
            Some(Pair {
                algorithm,
                sim: *sim_means.get(algorithm)?,
                live: *live_means.get(algorithm)?,
            })
        })
        .collect();
    if pairs.is_empty() {
        let message =
            format!("no data: no algorithm has summary rows of {scenario:?} in both sources");
        return canvas::no_data(path, &title, &message);
    }

    let one_sided = palette::legend_order(sim_means.keys().chain(live_means.keys()).copied()).len()
        - pairs.len();
    let most_seeds = pairs
        .iter()
        .map(|p| p.sim.seeds.max(p.live.seeds))
        .max()
        .unwrap_or(1);
    let mut subtitle =
        "same scenario and seed; hollow = simulator, filled = live; label = live / sim".to_owned();
    if most_seeds > 1 {
        subtitle.push_str(&format!("; mean over up to {most_seeds} seeds"));
    }
    if one_sided > 0 {
        subtitle.push_str(&format!(
            "; {one_sided} algorithm(s) in one source only left out"
        ));
    }

    let mut legend: Vec<LegendEntry> = pairs
        .iter()
        .map(|p| LegendEntry::new(p.algorithm, Swatch::Bar(palette::colour(p.algorithm))))
        .collect();
    for (source, filled) in [("simulator", false), ("live", true)] {
        for (name, _, shape) in PERCENTILES {
            let marker = Marker {
                shape,
                filled,
                colour: SUBTLE,
            };
            legend.push(LegendEntry::new(
                format!("{source} {name}"),
                Swatch::Point(marker),
            ));
        }
    }
    let canvas = Canvas::new(path, &title, &subtitle, &legend)?;

    let values = pairs
        .iter()
        .flat_map(|p| p.sim.values.iter().chain(p.live.values.iter()));
    let lo = values.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = values.copied().fold(0.0, f64::max);
    let axis = Scale::Log.axis(lo, hi);
    let y_bottom = axis.range.start;
    let y = |ms: f64| Scale::Log.position(ms);

    let mut chart = ChartBuilder::on(&canvas.plot)
        .margin(10)
        .x_label_area_size(62)
        .y_label_area_size(75)
        .build_cartesian_2d(Axis::categories(pairs.len(), 1), axis)
        .map_err(canvas.error())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("algorithm")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|position| format_number(Scale::Log.value_at(*position)))
        .label_style(font::text(14.0, &BLACK))
        .axis_desc_style(font::text(16.0, &BLACK))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .map_err(canvas.error())?;

    // Pixels per category, to keep the markers of one algorithm close together however many
    // algorithms there are, and to know whether the names fit side by side.
    let category_px = f64::from(chart.plotting_area().dim_in_pixel().0) / pairs.len() as f64;
    let offset = (26.0 / category_px.max(1.0)).min(0.15);

    // Algorithm names under the axis, staggered over two rows when they would touch.
    let name_style = font::text(14.0, &BLACK).pos(Pos::new(HPos::Center, VPos::Top));
    let widest = pairs
        .iter()
        .map(|p| {
            let [low, high] = text_box(&name_style, p.algorithm, (0, 0));
            high.0 - low.0
        })
        .max()
        .unwrap_or(0);
    let stagger = f64::from(widest) > category_px;
    for (index, pair) in pairs.iter().enumerate() {
        let dy = if stagger && index % 2 == 1 { 24 } else { 6 };
        chart
            .draw_series([EmptyElement::at((index as f64, y_bottom))
                + Text::new(pair.algorithm.to_owned(), (0, dy), name_style.clone())])
            .map_err(canvas.error())?;
    }

    let label_style = font::text(13.0, &BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (index, pair) in pairs.iter().enumerate() {
        let colour = palette::colour(pair.algorithm);
        let (x_sim, x_live) = (index as f64 - offset, index as f64 + offset);
        for (i, (_, _, shape)) in PERCENTILES.iter().enumerate() {
            let (sim, live) = (y(pair.sim.values[i]), y(pair.live.values[i]));
            chart
                .draw_series([PathElement::new(
                    [(x_sim, sim), (x_live, live)],
                    colour.stroke_width(1),
                )])
                .map_err(canvas.error())?;
            for (x, value, filled) in [(x_sim, sim, false), (x_live, live, true)] {
                let marker = Marker {
                    shape: *shape,
                    filled,
                    colour,
                };
                marker
                    .draw(chart.plotting_area(), (x, value))
                    .map_err(canvas.error())?;
            }
        }

        // Ratio labels right of the live markers, pushed apart when p50 and p99 are close.
        let pixel = |ms: f64| chart.backend_coord(&(x_live, y(ms))).1;
        let (p50_px, p99_px) = (pixel(pair.live.values[0]), pixel(pair.live.values[1]));
        let missing = (LABEL_SPACING - (p50_px - p99_px)).max(0);
        let shifts = [missing - missing / 2, -(missing / 2)];
        for (i, shift) in shifts.into_iter().enumerate() {
            let text = ratio_label(pair.live.values[i], pair.sim.values[i]);
            let at = (x_live, y(pair.live.values[i]));
            let offset = (10, shift);
            let backdrop = text_box(&label_style, &text, offset);
            chart
                .draw_series([EmptyElement::at(at) + Rectangle::new(backdrop, BACKDROP.filled())])
                .map_err(canvas.error())?;
            chart
                .draw_series([EmptyElement::at(at) + Text::new(text, offset, label_style.clone())])
                .map_err(canvas.error())?;
        }
    }

    canvas.legend(&legend)?;
    canvas.present()
}

/// The label of a live value next to its simulated one: `×` and `live / sim` with three
/// significant digits at most (`×1.32`, `×12.3`, `×250`, `×0.087`); `×?` when the ratio is not
/// a positive finite number (a zero or non-finite input), `×<0.001` below a thousandth.
pub(crate) fn ratio_label(live: f64, sim: f64) -> String {
    let ratio = live / sim;
    if !(ratio.is_finite() && ratio > 0.0) {
        return "×?".to_owned();
    }
    if ratio < 0.001 {
        return "×<0.001".to_owned();
    }
    let decimals = if ratio >= 100.0 {
        0
    } else if ratio >= 10.0 {
        1
    } else if ratio >= 0.1 {
        2
    } else {
        // 0.001 <= ratio < 0.1: two significant digits.
        (1 - ratio.log10().floor() as i32).clamp(2, 4) as usize
    };
    format!("×{ratio:.decimals$}")
}

/// The mean p50 and p99 of each algorithm over its rows of `scenario`.
fn means<'a>(summary: &'a [SummaryRow], scenario: &str) -> BTreeMap<&'a str, Means> {
    let mut sums: BTreeMap<&str, ([f64; 2], usize)> = BTreeMap::new();
    for row in summary.iter().filter(|r| r.scenario == scenario) {
        let (values, count) = sums.entry(&row.algorithm).or_insert(([0.0; 2], 0));
        for (i, (_, column, _)) in PERCENTILES.iter().enumerate() {
            values[i] += clamp_ms(column(row));
        }
        *count += 1;
    }
    sums.into_iter()
        .map(|(algorithm, (values, seeds))| {
            let n = seeds.max(1) as f64;
            let means = Means {
                values: values.map(|sum| clamp_ms(sum / n)),
                seeds,
            };
            (algorithm, means)
        })
        .collect()
}

/// Draws the p99 of each 1-second bucket over time for `scenario` and `seed`, simulated next
/// to live, one panel per algorithm, to the PNG at `path`.
///
/// Panels are the algorithms with time series rows of `scenario` and `seed` in either `sim` or
/// `live`, in legend order, on a grid (1×n up to three, then as square as it gets); all share
/// one time axis and one log latency axis, so panels compare at a glance. In each panel the
/// simulated p99 is a dark grey line and the live p99 a line in the algorithm's colour, through
/// the bucket middles; seconds without requests are gaps. The faults of `scenario` are dashed
/// vertical lines labelled like `w3 slow x5`, and the switches in `decisions` of this scenario,
/// seed and algorithm (the live run's, `from` differing from `to`) are triangles on the live
/// line labelled with the new algorithm. p99 below 0.001 ms is drawn at 0.001 ms; faults and
/// switches at negative or non-finite times are ignored. When neither source has a bucket with
/// requests the chart says so.
///
/// # Errors
///
/// [`ReportError::Io`] if the PNG file cannot be created, [`ReportError::Chart`] if plotters
/// fails while drawing or encoding it.
pub fn sim_vs_live_p99_over_time(
    sim: &[TimeseriesRow],
    live: &[TimeseriesRow],
    faults: &[FaultRow],
    decisions: &[DecisionRow],
    scenario: &str,
    seed: u64,
    path: &Path,
) -> Result<(), ReportError> {
    let title = format!("Simulator vs live: p99 over time — {scenario}");
    let p99 = |row: &TimeseriesRow| clamp_ms(row.p99_ms);
    let sim_series: BTreeMap<&str, Buckets> =
        series(sim, scenario, seed, p99).into_iter().collect();
    let live_series: BTreeMap<&str, Buckets> =
        series(live, scenario, seed, p99).into_iter().collect();
    let all_values = sim_series
        .values()
        .chain(live_series.values())
        .flat_map(|b| b.values().copied());
    let lo = all_values.clone().fold(f64::INFINITY, f64::min);
    let hi = all_values.fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        let message = format!("no data: no requests for scenario {scenario:?}, seed {seed}");
        return canvas::no_data(path, &title, &message);
    }
    let empty = Buckets::new();
    let panels: Vec<Panel> =
        palette::legend_order(sim_series.keys().chain(live_series.keys()).copied())
            .into_iter()
            .map(|algorithm| Panel {
                algorithm,
                sim: sim_series.get(algorithm).unwrap_or(&empty),
                live: live_series.get(algorithm).unwrap_or(&empty),
            })
            .collect();

    let mut faults: Vec<&FaultRow> = faults
        .iter()
        .filter(|f| f.scenario == scenario && f.t_s.is_finite() && f.t_s >= 0.0)
        .collect();
    faults.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let switches: Vec<&DecisionRow> = decisions
        .iter()
        .filter(|d| d.scenario == scenario && d.seed == seed)
        .filter(|d| d.from != d.to && d.t_s.is_finite() && d.t_s >= 0.0)
        .filter(|d| panels.iter().any(|p| p.algorithm == d.algorithm))
        .collect();

    let last_bucket = panels
        .iter()
        .flat_map(|p| [p.sim.keys().next_back(), p.live.keys().next_back()])
        .flatten()
        .max()
        .map_or(0.0, |t| *t as f64 + 1.0);
    let x_end = faults
        .iter()
        .map(|f| f.t_s)
        .chain(switches.iter().map(|d| d.t_s))
        .fold(last_bucket, f64::max)
        .max(1.0);
    let x_axis = time_axis(x_end);
    let mut y_axis = Scale::Log.axis(lo, hi);
    if !faults.is_empty() {
        // Headroom for the fault labels along the top of each panel.
        y_axis.range.end += 0.18 * (y_axis.range.end - y_axis.range.start);
    }

    let switched: Vec<&str> = palette::legend_order(switches.iter().map(|d| d.algorithm.as_str()));
    let legend = |unlabelled_faults: usize, unlabelled_switches: &BTreeMap<&str, usize>| {
        let mut legend = vec![LegendEntry::new("simulator", Swatch::Series(SIM_GREY))];
        legend.extend(panels.iter().map(|p| {
            LegendEntry::new(
                format!("live {}", p.algorithm),
                Swatch::Series(palette::colour(p.algorithm)),
            )
        }));
        if !faults.is_empty() {
            legend.push(LegendEntry {
                note: unlabelled(unlabelled_faults),
                ..LegendEntry::new("fault", Swatch::Dashed(REFERENCE))
            });
        }
        for algorithm in &switched {
            let count = unlabelled_switches.get(algorithm).copied().unwrap_or(0);
            legend.push(LegendEntry {
                note: unlabelled(count),
                ..LegendEntry::new(
                    format!("live {algorithm} switch"),
                    Swatch::Triangle(palette::colour(algorithm)),
                )
            });
        }
        legend
    };
    let subtitle = format!(
        "seed {seed}; p99 of each 1-second bucket; grey = simulator, colour = live; \
         shared axes; gaps: no requests"
    );
    let canvas = Canvas::new(path, &title, &subtitle, &legend(0, &BTreeMap::new()))?;

    let (rows, cols) = grid(panels.len());
    let areas = canvas.plot.split_evenly((rows, cols));
    let mut unlabelled_faults = 0;
    let mut unlabelled_switches: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        let context = PanelContext {
            first_column: index % cols == 0,
            bottom_row: index + cols >= panels.len(),
            x_axis: &x_axis,
            y_axis: &y_axis,
            x_end,
            faults: &faults,
            switches: &switches,
        };
        let marks = context.draw(panel, area, &canvas)?;
        // Every panel has the same axes and faults, so the same faults go unlabelled in each.
        unlabelled_faults = unlabelled_faults.max(marks.unlabelled_faults);
        if marks.unlabelled_switches > 0 {
            *unlabelled_switches.entry(panel.algorithm).or_default() += marks.unlabelled_switches;
        }
    }

    canvas.legend(&legend(unlabelled_faults, &unlabelled_switches))?;
    canvas.present()
}

/// Rows and columns of the panel grid for `count` panels: one row up to three, then the
/// squarest grid with at least as many columns as rows.
fn grid(count: usize) -> (usize, usize) {
    if count <= 3 {
        return (1, count.max(1));
    }
    let mut cols = 1;
    while cols * cols < count {
        cols += 1;
    }
    (count.div_ceil(cols), cols)
}

/// One algorithm's panel: its simulated and live buckets.
struct Panel<'a> {
    algorithm: &'a str,
    sim: &'a Buckets,
    live: &'a Buckets,
}

/// What all panels share, and where a panel sits in the grid.
struct PanelContext<'a> {
    first_column: bool,
    bottom_row: bool,
    x_axis: &'a Axis,
    y_axis: &'a Axis,
    x_end: f64,
    faults: &'a [&'a FaultRow],
    switches: &'a [&'a DecisionRow],
}

/// Marks a panel had to leave without a label.
struct PanelMarks {
    unlabelled_faults: usize,
    unlabelled_switches: usize,
}

impl PanelContext<'_> {
    /// Draws `panel` into `area`.
    fn draw(
        &self,
        panel: &Panel,
        area: &canvas::Area,
        canvas: &Canvas,
    ) -> Result<PanelMarks, ReportError> {
        let scale = Scale::Log;
        let (y_bottom, y_top) = (self.y_axis.range.start, self.y_axis.range.end);
        let mut chart = ChartBuilder::on(area)
            .margin(6)
            .caption(panel.algorithm, font::bold(15.0))
            // The same label areas in every panel, so that all plots have the same size and
            // the shared axes line up; only the outer panels carry axis descriptions.
            .x_label_area_size(40)
            .y_label_area_size(62)
            .build_cartesian_2d(self.x_axis.clone(), self.y_axis.clone())
            .map_err(canvas.error())?;
        let x_label = |t: &f64| format_number(*t);
        let y_label = |position: &f64| format_number(scale.value_at(*position));
        let mut mesh = chart.configure_mesh();
        mesh.x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(font::text(12.0, &BLACK))
            .axis_desc_style(font::text(14.0, &BLACK))
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT);
        if self.bottom_row {
            mesh.x_desc("time (s)");
        }
        if self.first_column {
            mesh.y_desc("p99 (ms, log)");
        }
        mesh.draw().map_err(canvas.error())?;

        for fault in self.faults {
            chart
                .draw_series(DashedLineSeries::new(
                    [(fault.t_s, y_bottom), (fault.t_s, y_top)],
                    6,
                    4,
                    REFERENCE.stroke_width(1),
                ))
                .map_err(canvas.error())?;
        }

        for (buckets, colour) in [
            (panel.sim, SIM_GREY),
            (panel.live, palette::colour(panel.algorithm)),
        ] {
            for run in runs(buckets) {
                let points = run
                    .iter()
                    .map(|(t, ms)| (*t as f64 + 0.5, scale.position(*ms)));
                if run.len() == 1 {
                    let dots = points.map(|at| Circle::new(at, 3, colour.filled()));
                    chart.draw_series(dots).map_err(canvas.error())?;
                } else {
                    chart
                        .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                        .map_err(canvas.error())?;
                }
            }
        }
        if panel.sim.is_empty() || panel.live.is_empty() {
            let text = match (panel.sim.is_empty(), panel.live.is_empty()) {
                (true, true) => "no requests",
                (true, false) => "no simulator requests",
                _ => "no live requests",
            };
            let style = font::text(13.0, &SUBTLE).pos(Pos::new(HPos::Center, VPos::Center));
            let middle = (
                (self.x_axis.range.start + self.x_axis.range.end) / 2.0,
                (y_bottom + y_top) / 2.0,
            );
            let backdrop = text_box(&style, text, (0, 0));
            chart
                .draw_series([
                    EmptyElement::at(middle) + Rectangle::new(backdrop, BACKDROP.filled())
                ])
                .map_err(canvas.error())?;
            chart
                .draw_series([EmptyElement::at(middle) + Text::new(text, (0, 0), style)])
                .map_err(canvas.error())?;
        }

        let mut rows = LabelRows::new(2);
        let mut unlabelled_faults = 0;
        for fault in self.faults {
            let text = fault_label(fault);
            let label = Label::beside(
                (fault.t_s, y_top),
                fault.t_s > 0.75 * self.x_end,
                3,
                VPos::Top,
            );
            let style = font::text(12.0, &SUBTLE).pos(label.pos);
            match rows.place(label.extent(&chart, &style, &text, 0)) {
                Some(row) => label.draw(&mut chart, style, text, 3 + 15 * row as i32, canvas)?,
                None => unlabelled_faults += 1,
            }
        }

        let mut rows = LabelRows::new(1);
        let mut unlabelled_switches = 0;
        let colour = palette::colour(panel.algorithm);
        for switch in self
            .switches
            .iter()
            .filter(|d| d.algorithm == panel.algorithm)
        {
            let y =
                value_near(panel.live, switch.t_s).map_or(y_bottom, |value| scale.position(value));
            let at = (switch.t_s, y);
            chart
                .draw_series(switch_marker(at, colour))
                .map_err(canvas.error())?;
            let text = format!("→ {}", switch.to);
            let label = Label::beside(at, switch.t_s > 0.75 * self.x_end, 7, VPos::Bottom);
            let style = font::text(12.0, &BLACK).pos(label.pos);
            match rows.place(label.extent(&chart, &style, &text, -8)) {
                Some(_) => label.draw(&mut chart, style, text, -8, canvas)?,
                None => unlabelled_switches += 1,
            }
        }

        Ok(PanelMarks {
            unlabelled_faults,
            unlabelled_switches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_labels_keep_three_significant_digits_at_most() {
        assert_eq!(ratio_label(13.2, 10.0), "×1.32");
        assert_eq!(ratio_label(10.0, 10.0), "×1.00");
        assert_eq!(ratio_label(8.7, 10.0), "×0.87");
        assert_eq!(ratio_label(123.4, 10.0), "×12.3");
        assert_eq!(ratio_label(2500.0, 10.0), "×250");
        assert_eq!(ratio_label(0.87, 10.0), "×0.087");
        assert_eq!(ratio_label(0.0123, 10.0), "×0.0012");
        assert_eq!(ratio_label(0.000_01, 10.0), "×<0.001");
        assert_eq!(ratio_label(1.0, 0.0), "×?");
        assert_eq!(ratio_label(0.0, 1.0), "×?");
        assert_eq!(ratio_label(f64::NAN, 1.0), "×?");
        assert_eq!(ratio_label(1.0, f64::INFINITY), "×?");
    }

    #[test]
    fn panels_fill_a_grid_no_taller_than_wide() {
        assert_eq!(grid(0), (1, 1));
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(3), (1, 3));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(5), (2, 3));
        assert_eq!(grid(6), (2, 3));
        assert_eq!(grid(7), (3, 3));
        assert_eq!(grid(10), (3, 4));
    }

    fn summary(algorithm: &str, seed: u64, p50: f64, p99: f64) -> SummaryRow {
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
            p90_ms: p99,
            p99_ms: p99,
            p999_ms: p99,
            max_ms: p99,
            mean_in_flight: 1.0,
            switches: 0,
        }
    }

    #[test]
    fn means_average_seeds_and_clamp_to_the_floor() {
        let mut other = summary("random", 1, 50.0, 50.0);
        other.scenario = "other".into();
        let rows = [
            summary("adaptive", 1, 2.0, 10.0),
            summary("adaptive", 2, 4.0, 30.0),
            summary("random", 1, 0.0, f64::NAN),
            other,
        ];
        let means = means(&rows, "s");
        assert_eq!(means.len(), 2);
        assert_eq!(
            means["adaptive"],
            Means {
                values: [3.0, 20.0],
                seeds: 2
            }
        );
        assert_eq!(means["random"].values, [0.001, 0.001]);
    }
}
