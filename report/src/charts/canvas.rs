//! The frame every chart shares: a white 1000×600 PNG with a bold title and a one-line subtitle
//! on top, the plot on the left and the legend in a column of its own on the right, so the
//! legend never covers data. A chart with nothing to show is still written, as a frame that says
//! why, so a report directory always has the same files.
//!
//! The legend column is as wide as its longest line needs, measured with the embedded font's
//! metrics, between [`LEGEND_MIN_WIDTH`] and [`LEGEND_MAX_WIDTH`] pixels; the plot gets the rest.
//! A legend entry may carry a short note (e.g. `2 unlabelled`) on a second, smaller line, so a
//! count never widens the column. A line that would still be wider than the widest column is cut
//! with `…`: no text ever runs off the image.

use std::path::Path;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::CHART_SIZE;
use super::font;
use crate::error::ReportError;

/// Narrowest legend column, pixels: what `weighted_round_robin` needs, so that charts of the
/// known algorithms share one layout.
const LEGEND_MIN_WIDTH: u32 = 215;
/// Widest legend column, pixels; the plot keeps at least `1000 - 15 - 340` pixels.
const LEGEND_MAX_WIDTH: u32 = 340;
/// Height of the title and subtitle band, pixels.
const HEADER_HEIGHT: u32 = 72;
/// Vertical distance between legend entries, pixels.
const LEGEND_LINE: i32 = 26;
/// Extra height of an entry with a note, pixels.
const NOTE_LINE: i32 = 17;
/// Where legend text starts, from the left edge of the legend column, pixels.
const LEGEND_TEXT_X: i32 = 48;
/// Space kept between legend text and the right edge of the legend column, pixels.
const LEGEND_PADDING: i32 = 10;
/// Size of legend labels, pixels.
const LEGEND_FONT: f64 = 15.0;
/// Size of legend notes, pixels.
const NOTE_FONT: f64 = 13.0;

/// Secondary text: subtitles, annotations.
pub(crate) const SUBTLE: RGBColor = RGBColor(85, 85, 85);
/// Grid lines at labelled ticks.
pub(crate) const GRID_BOLD: RGBColor = RGBColor(205, 205, 205);
/// Grid lines between labelled ticks.
pub(crate) const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
/// Reference lines: faults, the even share.
pub(crate) const REFERENCE: RGBColor = RGBColor(110, 110, 110);
/// Behind labels drawn over data: white, slightly see-through.
pub(crate) const BACKDROP: RGBAColor = RGBAColor(255, 255, 255, 0.75);

/// A drawing area in pixels.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Maps any plotters error to a [`ReportError::Chart`] naming `path`.
pub(crate) fn chart_error<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> ReportError {
    let path = path.to_path_buf();
    move |error| ReportError::Chart {
        path,
        message: error.to_string(),
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A line with a dot, for a data series.
    Series(RGBColor),
    /// A dashed line, for a reference line.
    Dashed(RGBColor),
    /// A triangle, for an event marker.
    Triangle(RGBColor),
    /// A filled square, for bars.
    Bar(RGBColor),
    /// A point marker, for a value drawn as a dot.
    Point(Marker),
}

/// The shape of a [`Marker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A circle.
    Circle,
    /// A triangle pointing up.
    Triangle,
}

/// A point marker: a circle or a triangle, hollow (white inside) or filled, outlined in its
/// colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    /// The shape.
    pub(crate) shape: Shape,
    /// Filled with the colour, or white inside.
    pub(crate) filled: bool,
    /// Outline (and fill) colour.
    pub(crate) colour: RGBColor,
}

/// The corners of a [`Shape::Triangle`] marker, pixels from its centre.
const TRIANGLE: [(i32, i32); 3] = [(0, -7), (6, 4), (-6, 4)];
/// The radius of a [`Shape::Circle`] marker, pixels.
const CIRCLE_RADIUS: i32 = 5;

impl Marker {
    /// Draws the marker centred on `at` of `area`.
    pub(crate) fn draw<'b, CT: CoordTranslate>(
        &self,
        area: &DrawingArea<BitMapBackend<'b>, CT>,
        at: CT::From,
    ) -> Result<(), DrawingAreaErrorKind<<BitMapBackend<'b> as DrawingBackend>::ErrorType>> {
        let fill = if self.filled {
            self.colour.filled()
        } else {
            WHITE.filled()
        };
        let outline = self.colour.stroke_width(2);
        match self.shape {
            // A disc in the colour with a white or coloured disc inside: plotters' thick
            // circle outlines are ragged.
            Shape::Circle => area.draw(
                &(EmptyElement::at(at)
                    + Circle::new((0, 0), CIRCLE_RADIUS, self.colour.filled())
                    + Circle::new((0, 0), CIRCLE_RADIUS - 2, fill)),
            ),
            Shape::Triangle => {
                let mut closed = TRIANGLE.to_vec();
                closed.push(TRIANGLE[0]);
                area.draw(
                    &(EmptyElement::at(at)
                        + Polygon::new(TRIANGLE.to_vec(), fill)
                        + PathElement::new(closed, outline)),
                )
            }
        }
    }
}

/// One entry of the legend.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    /// The text.
    pub(crate) label: String,
    /// A second, smaller line under the text, e.g. `2 unlabelled`.
    pub(crate) note: Option<String>,
    /// The symbol before the text.
    pub(crate) swatch: Swatch,
}

impl LegendEntry {
    /// An entry without a note.
    pub(crate) fn new(label: impl Into<String>, swatch: Swatch) -> Self {
        LegendEntry {
            label: label.into(),
            note: None,
            swatch,
        }
    }

    /// Height of the entry, pixels.
    fn height(&self) -> i32 {
        if self.note.is_some() {
            LEGEND_LINE + NOTE_LINE
        } else {
            LEGEND_LINE
        }
    }
}

/// Style of legend labels.
fn label_style() -> TextStyle<'static> {
    font::text(LEGEND_FONT, &BLACK).pos(Pos::new(HPos::Left, VPos::Center))
}

/// Style of legend notes.
fn note_style() -> TextStyle<'static> {
    font::text(NOTE_FONT, &SUBTLE).pos(Pos::new(HPos::Left, VPos::Center))
}

/// Width of `text` drawn in `style`, pixels (estimated if the font cannot measure it).
fn text_width(style: &TextStyle, text: &str) -> i32 {
    let [low, high] = text_box(style, text, (0, 0));
    high.0 - low.0 - 6
}

/// The width of the legend column for `entries`: enough for the widest label or note, within
/// [`LEGEND_MIN_WIDTH`]..=[`LEGEND_MAX_WIDTH`]. The font must be registered.
pub(crate) fn legend_width(entries: &[LegendEntry]) -> u32 {
    let (label, note) = (label_style(), note_style());
    let widest = entries
        .iter()
        .flat_map(|entry| {
            let note = entry.note.as_deref().map(|text| text_width(&note, text));
            [Some(text_width(&label, &entry.label)), note]
        })
        .flatten()
        .max()
        .unwrap_or(0);
    let needed = u32::try_from(LEGEND_TEXT_X + widest + LEGEND_PADDING).unwrap_or(0);
    needed.clamp(LEGEND_MIN_WIDTH, LEGEND_MAX_WIDTH)
}

/// `text`, cut and ended with `…` if needed so that it is at most `max_width` pixels wide in
/// `style`.
fn fit_text(style: &TextStyle, text: &str, max_width: i32) -> String {
    if text_width(style, text) <= max_width {
        return text.to_owned();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut: String = chars.iter().chain(['…'].iter()).collect();
        if text_width(style, &cut) <= max_width {
            return cut;
        }
    }
    "…".to_owned()
}

/// An open chart file: the header is drawn, the plot and legend areas wait for content.
pub(crate) struct Canvas<'a> {
    path: &'a Path,
    root: Area<'a>,
    /// Where the chart itself goes.
    pub(crate) plot: Area<'a>,
    legend: Area<'a>,
}

impl<'a> Canvas<'a> {
    /// Starts the PNG at `path` with a title and a subtitle, and a legend column wide enough for
    /// `legend` (see [`legend_width`]; notes added later should be short).
    pub(crate) fn new(
        path: &'a Path,
        title: &str,
        subtitle: &str,
        legend: &[LegendEntry],
    ) -> Result<Self, ReportError> {
        font::ensure_registered()?;
        // plotters only opens the file when the drawing is done, and reports a failure as an
        // opaque backend error; open it now for a plain "<path>: No such file or directory".
        std::fs::File::create(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let root = BitMapBackend::new(path, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error(path))?;
        root.draw(&Text::new(title, (20, 12), font::bold(24.0)))
            .map_err(chart_error(path))?;
        root.draw(&Text::new(subtitle, (20, 44), font::text(15.0, &SUBTLE)))
            .map_err(chart_error(path))?;
        let body = root.margin(HEADER_HEIGHT, 5, 5, 10);
        let legend_width = legend_width(legend);
        let (plot, legend) = body.split_horizontally(CHART_SIZE.0 - legend_width - 15);
        Ok(Canvas {
            path,
            root,
            plot,
            legend,
        })
    }

    /// The error mapper for this chart's file.
    pub(crate) fn error<E: std::fmt::Display>(&self) -> impl FnOnce(E) -> ReportError {
        chart_error(self.path)
    }

    /// Draws the legend column; entries that do not fit below each other are summarised in a
    /// last line, and text too wide for the column is cut with `…`.
    pub(crate) fn legend(&self, entries: &[LegendEntry]) -> Result<(), ReportError> {
        let (width, height) = self.legend.dim_in_pixel();
        let room = height as i32 - 20;
        let total: i32 = entries.iter().map(LegendEntry::height).sum();
        let shown = if total <= room {
            entries.len()
        } else {
            // Keep one line for "… n more".
            let mut used = LEGEND_LINE;
            entries
                .iter()
                .take_while(|entry| {
                    used += entry.height();
                    used <= room
                })
                .count()
        };
        let more = entries.len() - shown;
        let bottom = 8
            + entries[..shown]
                .iter()
                .map(LegendEntry::height)
                .sum::<i32>()
            + if more > 0 { LEGEND_LINE } else { 0 };
        self.legend
            .draw(&Rectangle::new(
                [(0, 0), (width as i32 - 1, bottom)],
                GRID_BOLD.stroke_width(1),
            ))
            .map_err(self.error())?;
        let (label_style, note_style) = (label_style(), note_style());
        let max_width = width as i32 - LEGEND_TEXT_X - LEGEND_PADDING;
        let mut top = 4;
        for entry in &entries[..shown] {
            let y = top + LEGEND_LINE / 2;
            self.swatch(entry.swatch, 10, y)?;
            self.text(&label_style, &entry.label, y, max_width)?;
            if let Some(note) = &entry.note {
                self.text(&note_style, note, y + NOTE_LINE, max_width)?;
            }
            top += entry.height();
        }
        if more > 0 {
            let text = format!("… {more} more");
            self.text(&label_style, &text, top + LEGEND_LINE / 2, max_width)?;
        }
        Ok(())
    }

    /// Draws one line of legend text centred on `y`, cut to `max_width` pixels.
    fn text(
        &self,
        style: &TextStyle,
        text: &str,
        y: i32,
        max_width: i32,
    ) -> Result<(), ReportError> {
        let text = fit_text(style, text, max_width);
        self.legend
            .draw(&Text::new(text, (LEGEND_TEXT_X, y), style.clone()))
            .map_err(self.error())
    }

    /// Draws a 30-pixel-wide swatch whose left end is at `(x, y)` of the legend area.
    fn swatch(&self, swatch: Swatch, x: i32, y: i32) -> Result<(), ReportError> {
        let area = &self.legend;
        match swatch {
            Swatch::Series(colour) => {
                area.draw(&PathElement::new(
                    [(x, y), (x + 30, y)],
                    colour.stroke_width(2),
                ))
                .map_err(self.error())?;
                area.draw(&Circle::new((x + 15, y), 4, colour.filled()))
                    .map_err(self.error())?;
            }
            Swatch::Dashed(colour) => {
                for dash in 0..3 {
                    let x0 = x + dash * 11;
                    area.draw(&PathElement::new(
                        [(x0, y), (x0 + 7, y)],
                        colour.stroke_width(2),
                    ))
                    .map_err(self.error())?;
                }
            }
            Swatch::Triangle(colour) => {
                for marker in switch_marker((x + 15, y + 2), colour) {
                    area.draw(&marker).map_err(self.error())?;
                }
            }
            Swatch::Bar(colour) => {
                area.draw(&Rectangle::new(
                    [(x + 6, y - 8), (x + 24, y + 8)],
                    colour.filled(),
                ))
                .map_err(self.error())?;
            }
            Swatch::Point(marker) => {
                marker.draw(area, (x + 15, y)).map_err(self.error())?;
            }
        }
        Ok(())
    }

    /// Writes the PNG.
    pub(crate) fn present(self) -> Result<(), ReportError> {
        self.root.present().map_err(chart_error(self.path))
    }
}

/// A triangle in `colour` with a dark outline, for algorithm switches.
pub(crate) fn switch_marker<C: Clone>(at: C, colour: RGBColor) -> [TriangleMarker<C, i32>; 2] {
    [
        TriangleMarker::new(at.clone(), 9, BLACK.filled()),
        TriangleMarker::new(at, 6, colour.filled()),
    ]
}

/// The pixel box, relative to the anchor point, covered by `text` drawn in `style` at `offset`
/// from that point, with a little margin: for a backdrop behind the text, or to tell whether
/// two labels overlap.
pub(crate) fn text_box(style: &TextStyle, text: &str, offset: (i32, i32)) -> [(i32, i32); 2] {
    let size = style.font.get_size();
    let (width, height) = style.font.box_size(text).unwrap_or((
        (text.chars().count() as f64 * size * 0.6) as u32,
        size as u32,
    ));
    let (width, height) = (width as i32, height as i32);
    let left = match style.pos.h_pos {
        HPos::Left => offset.0,
        HPos::Center => offset.0 - width / 2,
        HPos::Right => offset.0 - width,
    };
    let top = match style.pos.v_pos {
        VPos::Top => offset.1,
        VPos::Center => offset.1 - height / 2,
        VPos::Bottom => offset.1 - height,
    };
    [(left - 3, top - 3), (left + width + 3, top + height + 4)]
}

/// Writes a chart that only says `message`, for inputs with nothing to draw.
pub(crate) fn no_data(path: &Path, title: &str, message: &str) -> Result<(), ReportError> {
    let canvas = Canvas::new(path, title, "", &[])?;
    let (width, height) = CHART_SIZE;
    let style = font::text(22.0, &SUBTLE).pos(Pos::new(HPos::Center, VPos::Center));
    canvas
        .root
        .draw(&Text::new(
            message,
            (width as i32 / 2, height as i32 / 2),
            style,
        ))
        .map_err(canvas.error())?;
    canvas.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(label: &str, note: Option<&str>) -> LegendEntry {
        LegendEntry {
            label: label.to_owned(),
            note: note.map(str::to_owned),
            swatch: Swatch::Bar(BLACK),
        }
    }

    /// Whether every line of `entries` fits a column of `width` pixels without being cut.
    fn fits(entries: &[LegendEntry], width: u32) -> bool {
        let max_width = width as i32 - LEGEND_TEXT_X - LEGEND_PADDING;
        entries.iter().all(|e| {
            text_width(&label_style(), &e.label) <= max_width
                && e.note
                    .as_deref()
                    .is_none_or(|n| text_width(&note_style(), n) <= max_width)
        })
    }

    #[test]
    fn the_legend_column_is_as_wide_as_its_longest_line() {
        font::ensure_registered().unwrap();
        let short = [entry("random", None), entry("fault", Some("3 unlabelled"))];
        assert_eq!(legend_width(&short), LEGEND_MIN_WIDTH);
        assert_eq!(legend_width(&[]), LEGEND_MIN_WIDTH);

        let known = [entry("weighted_round_robin", None)];
        assert!(
            fits(&known, LEGEND_MIN_WIDTH),
            "the narrowest column fits every algorithm"
        );

        for long in [
            vec![entry("weighted_round_robin switch", Some("12 unlabelled"))],
            vec![entry("adaptive switch (1 unlabelled)", None)],
            vec![
                entry("power_of_two", None),
                entry("my_experimental_picker_v2", None),
            ],
        ] {
            let width = legend_width(&long);
            assert!(
                width > LEGEND_MIN_WIDTH && width <= LEGEND_MAX_WIDTH,
                "{width}"
            );
            assert!(fits(&long, width), "{:?} in {width} px", long[0].label);
        }
    }

    #[test]
    fn text_wider_than_the_widest_column_is_cut_with_an_ellipsis() {
        font::ensure_registered().unwrap();
        let long = "an_algorithm_name_far_too_long_for_any_legend_column_at_all switch";
        let width = legend_width(&[entry(long, None)]);
        assert_eq!(width, LEGEND_MAX_WIDTH);
        let max_width = width as i32 - LEGEND_TEXT_X - LEGEND_PADDING;
        let cut = fit_text(&label_style(), long, max_width);
        assert!(cut.ends_with('…') && cut.len() < long.len(), "{cut}");
        assert!(text_width(&label_style(), &cut) <= max_width);
        assert_eq!(fit_text(&label_style(), "random", max_width), "random");
    }
}
