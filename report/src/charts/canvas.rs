//! The frame every chart shares: a white 1000×600 PNG with a bold title and a one-line subtitle
//! on top, the plot on the left and the legend in a column of its own on the right, so the
//! legend never covers data. A chart with nothing to show is still written, as a frame that says
//! why, so a report directory always has the same files.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::CHART_SIZE;
use super::font;
use crate::error::ReportError;

/// Width of the legend column, pixels.
const LEGEND_WIDTH: u32 = 215;
/// Height of the title and subtitle band, pixels.
const HEADER_HEIGHT: u32 = 72;
/// Vertical distance between legend entries, pixels.
const LEGEND_LINE: i32 = 26;

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
}

/// One line of the legend.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    /// The text.
    pub(crate) label: String,
    /// The symbol before the text.
    pub(crate) swatch: Swatch,
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
    /// Starts the PNG at `path` with a title and a subtitle.
    pub(crate) fn new(path: &'a Path, title: &str, subtitle: &str) -> Result<Self, ReportError> {
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
        let (plot, legend) = body.split_horizontally(CHART_SIZE.0 - LEGEND_WIDTH - 15);
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

    /// Draws the legend column; entries that do not fit are summarised in a last line.
    pub(crate) fn legend(&self, entries: &[LegendEntry]) -> Result<(), ReportError> {
        let (width, height) = self.legend.dim_in_pixel();
        let fits = usize::try_from((height as i32 - 20) / LEGEND_LINE).unwrap_or(0);
        let shown = if entries.len() > fits {
            fits.saturating_sub(1)
        } else {
            entries.len()
        };
        let lines = if shown < entries.len() {
            shown + 1
        } else {
            shown
        };
        let bottom = 8 + LEGEND_LINE * lines as i32;
        self.legend
            .draw(&Rectangle::new(
                [(0, 0), (width as i32 - 1, bottom)],
                GRID_BOLD.stroke_width(1),
            ))
            .map_err(self.error())?;
        let label_style = font::text(15.0, &BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, entry) in entries.iter().take(shown).enumerate() {
            let y = 4 + LEGEND_LINE / 2 + LEGEND_LINE * i as i32;
            self.swatch(entry.swatch, 10, y)?;
            self.legend
                .draw(&Text::new(
                    entry.label.as_str(),
                    (48, y),
                    label_style.clone(),
                ))
                .map_err(self.error())?;
        }
        if shown < entries.len() {
            let y = 4 + LEGEND_LINE / 2 + LEGEND_LINE * shown as i32;
            let more = format!("… {} more", entries.len() - shown);
            self.legend
                .draw(&Text::new(more, (48, y), label_style))
                .map_err(self.error())?;
        }
        Ok(())
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
    let canvas = Canvas::new(path, title, "")?;
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
