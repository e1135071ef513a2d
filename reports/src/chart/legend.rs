//! The legend, drawn in its own strip beside or below the plot so that it
//! never covers data: one entry per series (its colour, dash and marker)
//! and, where clean values are drawn, what the thin reference lines mean.

use super::marks::Look;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Vertical distance between entries.
const STEP: i32 = 18;
const FONT: (&str, u32) = ("sans-serif", 12);

/// One line of the legend.
pub(super) enum Entry {
    /// A series: its line, with its marker unless it is a reference line.
    Series {
        name: String,
        look: Look,
        marker: bool,
    },
    /// The thin lines that mark clean values.
    Clean,
}

impl Entry {
    fn text(&self) -> &str {
        match self {
            Entry::Series { name, .. } => name,
            Entry::Clean => "clean value (thin line)",
        }
    }
}

/// The strip's width for `entries`: the widest label plus the swatch.
pub(super) fn width(entries: &[Entry]) -> u32 {
    let font = FontDesc::from(FONT);
    let widest = entries
        .iter()
        .map(|e| {
            font.box_size(e.text())
                .map_or(8 * e.text().len() as u32, |b| b.0)
        })
        .max()
        .unwrap_or(0);
    widest + 52
}

/// The strip's height for `entries` whose first entry sits at `top`.
pub(super) fn height(entries: &[Entry], top: i32) -> u32 {
    (top + STEP * entries.len() as i32) as u32
}

/// Draws `entries` on `area`, one under the other, the first at `top`
/// pixels from the area's top and the swatches `left` pixels in.
pub(super) fn draw(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[Entry],
    (left, top): (i32, i32),
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let style = TextStyle::from(FONT)
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, entry) in entries.iter().enumerate() {
        let y = top + STEP * i as i32;
        let swatch = vec![(left, y), (left + 30, y)];
        match entry {
            Entry::Series { look, marker, .. } => {
                match look.dash {
                    None => area.draw(&PathElement::new(swatch, look.stroke(2)))?,
                    Some((dash, gap)) => {
                        area.draw(&DashedPathElement::new(swatch, dash, gap, look.stroke(2)))?
                    }
                }
                if *marker {
                    area.draw(
                        &(EmptyElement::at((left + 15, y))
                            + Polygon::new(look.marker_outline(), look.color.filled())),
                    )?;
                }
            }
            Entry::Clean => {
                area.draw(&PathElement::new(swatch, BLACK.mix(0.45).stroke_width(1)))?
            }
        }
        area.draw(&Text::new(
            entry.text().to_owned(),
            (left + 38, y),
            style.clone(),
        ))?;
    }
    Ok(())
}
