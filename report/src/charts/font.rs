//! Chart text without system font libraries.
//!
//! plotters is built with its `ab_glyph` feature and without `ttf`, so it never looks for
//! fontconfig or system fonts: text is rasterised from font files registered in-process. We
//! register DejaVu Sans (regular and bold), embedded by the `dejavu` crate, under plotters'
//! `sans-serif` family name, once per process, before the first chart is drawn. A fresh CI
//! machine with no fonts installed draws the same pixels as a laptop.
//!
//! Caveat: if any crate of the build enables plotters' `ttf` (or default) features, Cargo unifies
//! the features and plotters switches to font-kit, which reads system fonts. Keep plotters'
//! `default-features = false` in every crate of the workspace.

use std::sync::OnceLock;

use plotters::style::{BLACK, FontStyle, IntoFont, RGBColor, TextStyle, register_font};

use crate::error::ReportError;

/// The font family every chart uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the bundled fonts on first call; later calls return the first call's outcome.
pub(crate) fn ensure_registered() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}

/// Regular text of `size` pixels in `colour`.
pub(crate) fn text(size: f64, colour: &RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(colour)
}

/// Bold black text of `size` pixels.
pub(crate) fn bold(size: f64) -> TextStyle<'static> {
    (FAMILY, size, FontStyle::Bold).into_font().color(&BLACK)
}
