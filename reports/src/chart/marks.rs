//! How series are told apart: colour (Okabe–Ito), dash pattern and marker
//! shape all change from one series to the next, so charts still read in
//! grey print and for every kind of colour vision.

use plotters::style::{Color, RGBColor, ShapeStyle};

/// Colour-blind-safe palette (Okabe & Ito, 2008).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// Dash length and gap in pixels; `None` is a solid line.
const DASHES: [Option<(i32, i32)>; 4] = [None, Some((9, 4)), Some((2, 3)), Some((14, 4))];

/// Marker outlines, relative to the point, in pixels.
const MARKERS: [&[(i32, i32)]; 5] = [
    // circle (decagon)
    &[
        (4, 0),
        (3, 2),
        (1, 4),
        (-1, 4),
        (-3, 2),
        (-4, 0),
        (-3, -2),
        (-1, -4),
        (1, -4),
        (3, -2),
    ],
    // square
    &[(-3, -3), (3, -3), (3, 3), (-3, 3)],
    // triangle up
    &[(0, -5), (4, 3), (-4, 3)],
    // diamond
    &[(0, -5), (4, 0), (0, 5), (-4, 0)],
    // triangle down
    &[(0, 5), (4, -3), (-4, -3)],
];

/// The look of the `i`-th series of a chart.
#[derive(Clone, Copy)]
pub(super) struct Look {
    pub color: RGBColor,
    pub dash: Option<(i32, i32)>,
    /// Index of the marker shape (circle, square, triangle up, diamond,
    /// triangle down).
    pub marker: usize,
}

impl Look {
    pub fn of(i: usize) -> Self {
        Look {
            color: PALETTE[i % PALETTE.len()],
            dash: DASHES[i % DASHES.len()],
            marker: i % MARKERS.len(),
        }
    }

    /// The line style at `width` pixels.
    pub fn stroke(&self, width: u32) -> ShapeStyle {
        self.color.stroke_width(width)
    }

    /// The marker's outline, in pixels relative to its point (drawn as
    /// `EmptyElement::at(point) + Polygon::new(outline, fill)`).
    pub fn marker_outline(&self) -> Vec<(i32, i32)> {
        MARKERS[self.marker].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_series_differ_in_colour_dash_and_marker() {
        for i in 0..12 {
            let (a, b) = (Look::of(i), Look::of(i + 1));
            assert_ne!(a.color, b.color);
            assert_ne!(a.dash, b.dash);
            assert_ne!(a.marker, b.marker);
        }
    }
}
