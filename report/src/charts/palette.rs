//! One colour per algorithm, the same in every chart.
//!
//! The algorithms of the testbed have fixed colours (a colour-blind-friendlier subset of the
//! Tableau 10 palette, with `adaptive` in the strongest red since it is the one under study), and
//! the legend lists them in the order of [`ALGORITHMS`]. Any other name gets a colour derived
//! from an FNV-1a hash of the name, so it too is the same in every chart and every run, and is
//! listed after the known algorithms, alphabetically.

use std::collections::BTreeSet;

use plotters::style::{Color, HSLColor, RGBColor};

/// The known algorithms, in legend order, with their colours (then the simulator's two
/// schedules: `scripted` and the hindsight `oracle`).
const ALGORITHMS: [(&str, RGBColor); 9] = [
    ("round_robin", RGBColor(31, 119, 180)),
    ("weighted_round_robin", RGBColor(23, 190, 207)),
    ("random", RGBColor(127, 127, 127)),
    ("least_connections", RGBColor(44, 160, 44)),
    ("power_of_two", RGBColor(255, 127, 14)),
    ("peak_ewma", RGBColor(148, 103, 189)),
    ("adaptive", RGBColor(214, 39, 40)),
    ("scripted", RGBColor(227, 119, 194)),
    ("oracle", RGBColor(140, 86, 75)),
];

/// The colour of `algorithm`.
pub(crate) fn colour(algorithm: &str) -> RGBColor {
    match ALGORITHMS.iter().find(|(name, _)| *name == algorithm) {
        Some((_, colour)) => *colour,
        None => fallback(algorithm),
    }
}

/// A deterministic colour for a name outside [`ALGORITHMS`]: a hue from the name's hash, with a
/// saturation and lightness that read well on white.
fn fallback(name: &str) -> RGBColor {
    let hue = (fnv1a(name) % 360) as f64 / 360.0;
    let (r, g, b) = HSLColor(hue, 0.6, 0.42).to_backend_color().rgb;
    RGBColor(r, g, b)
}

/// 64-bit FNV-1a: stable across platforms and Rust versions, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The distinct names of `names` in legend order: known algorithms first, in [`ALGORITHMS`]
/// order, then the others alphabetically.
pub(crate) fn legend_order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let distinct: BTreeSet<&str> = names.into_iter().collect();
    let rank = |name: &str| {
        ALGORITHMS
            .iter()
            .position(|(known, _)| *known == name)
            .unwrap_or(ALGORITHMS.len())
    };
    let mut ordered: Vec<&str> = distinct.into_iter().collect();
    // Stable sort: unknown names share one rank and keep their alphabetical order.
    ordered.sort_by_key(|name| rank(name));
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_algorithms_have_distinct_fixed_colours() {
        let colours: BTreeSet<(u8, u8, u8)> = ALGORITHMS
            .iter()
            .map(|(name, _)| {
                let RGBColor(r, g, b) = colour(name);
                (r, g, b)
            })
            .collect();
        assert_eq!(colours.len(), ALGORITHMS.len());
        assert_eq!(colour("adaptive"), RGBColor(214, 39, 40));
    }

    #[test]
    fn unknown_names_get_a_stable_colour() {
        let a = colour("my_experimental_picker");
        assert_eq!(a, colour("my_experimental_picker"));
        assert_ne!(a, colour("another_picker"));
    }

    #[test]
    fn legend_lists_known_algorithms_first_then_others_alphabetically() {
        let names = ["zeta", "adaptive", "round_robin", "alpha", "adaptive"];
        assert_eq!(
            legend_order(names),
            vec!["round_robin", "adaptive", "alpha", "zeta"]
        );
    }
}
