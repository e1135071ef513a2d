//! Scatter maps of embeddings (PCA, t-SNE) as inline SVG: one point per
//! item, coloured by its class (Okabe–Ito colour and a marker shape per
//! class, so print in grey still separates them) or by its value
//! (viridis, with a colour bar).
//!
//! The frame, axes and caption come from plotters; the points are written
//! as one compact `<path>` per colour (`M x y` + a relative marker outline
//! per point): plotters writes every marker as its own element, about
//! 100 bytes each, which for 500 points × 2 maps × encoders × tasks would
//! make the report several megabytes larger; a path costs about 15 bytes
//! a point.

use super::marks::Look;
use super::{chart_error, ensure_font};
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use repbench_framework::Result;
use std::fmt::Write as _;

/// How points are coloured.
pub enum Colouring<'a> {
    /// Class index per point and the class names.
    Classes {
        /// Per point, an index into `names`.
        index: &'a [usize],
        /// Class names.
        names: &'a [String],
    },
    /// A number per point (a regression target) on a continuous scale.
    Values {
        /// Per point.
        values: &'a [f64],
        /// What the numbers are, for the colour bar.
        label: &'a str,
    },
}

/// What a map shows.
pub struct Scatter<'a> {
    /// Caption above the plot.
    pub title: &'a str,
    /// Axis labels.
    pub x_label: &'a str,
    /// Axis labels.
    pub y_label: &'a str,
    /// Whether the axes carry tick values (PCA's do; t-SNE's mean nothing).
    pub ticks: bool,
    /// `(x, y)` per point.
    pub points: &'a [(f64, f64)],
    /// Their colours.
    pub colouring: Colouring<'a>,
}

const PLOT: (u32, u32) = (380, 340);
const FONT: (&str, u32) = ("sans-serif", 12);
/// Colour steps of a continuous scale: enough that neighbouring steps are
/// hard to tell apart, few enough to keep one path per step.
const VALUE_STEPS: usize = 16;

/// A marker's outline as a relative SVG path from its top-left start.
const SHAPES: [&str; 5] = [
    // circle-ish octagon, square, triangle up, diamond, triangle down
    "m-2-4h4l2 2v4l-2 2h-4l-2-2v-4z",
    "m-3-3h6v6h-6z",
    "m0-4l4 7h-8z",
    "m0-4l4 4-4 4-4-4z",
    "m0 4l4-7h-8z",
];

/// Draws the map; `None` when no point has finite coordinates or the
/// colouring does not match the points.
pub fn scatter_chart(s: &Scatter<'_>) -> Result<Option<String>> {
    ensure_font()?;
    let n = s.points.len();
    let matches = match &s.colouring {
        Colouring::Classes { index, names } => {
            index.len() == n && index.iter().all(|&c| c < names.len())
        }
        Colouring::Values { values, .. } => values.len() == n,
    };
    let finite: Vec<usize> = (0..n)
        .filter(|&i| s.points[i].0.is_finite() && s.points[i].1.is_finite())
        .collect();
    if !matches || finite.is_empty() {
        return Ok(None);
    }
    let range = |pick: fn(&(f64, f64)) -> f64| {
        let v = finite.iter().map(|&i| pick(&s.points[i]));
        let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo - pad)..(hi + pad)
    };
    let (xr, yr) = (range(|p| p.0), range(|p| p.1));
    let groups = colour_groups(&s.colouring, &finite);
    let legend = Legend::of(&s.colouring, PLOT.0);
    let (width, height) = (PLOT.0, PLOT.1 + legend.height());
    let mut svg = String::new();
    let mut paths = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let (plot, below) = root.split_vertically(PLOT.1);
        let label_area = if s.ticks { 48 } else { 24 };
        let mut ctx = ChartBuilder::on(&plot)
            .caption(s.title, ("sans-serif", 14))
            .margin(8)
            .margin_right(14)
            .x_label_area_size(label_area - 8)
            .y_label_area_size(label_area)
            .build_cartesian_2d(xr, yr)
            .map_err(chart_error)?;
        let mut mesh = ctx.configure_mesh();
        mesh.x_desc(s.x_label)
            .y_desc(s.y_label)
            .disable_x_mesh()
            .disable_y_mesh()
            .x_labels(if s.ticks { 5 } else { 0 })
            .y_labels(if s.ticks { 5 } else { 0 })
            .x_label_formatter(&|v| super::tick_text(*v))
            .y_label_formatter(&|v| super::tick_text(*v));
        mesh.draw().map_err(chart_error)?;
        for (fill, shape, members) in &groups {
            let mut d = String::new();
            for &i in members {
                let (px, py) = ctx.backend_coord(&s.points[i]);
                let _ = write!(d, "M{px} {py}{}", SHAPES[*shape]);
            }
            let _ = writeln!(
                paths,
                "<path fill=\"{fill}\" fill-opacity=\"0.75\" stroke=\"none\" d=\"{d}\"/>"
            );
        }
        legend.draw(&below).map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    // The points go on top of the frame, before the closing tag.
    let Some(end) = svg.rfind("</svg>") else {
        return Ok(None);
    };
    svg.insert_str(end, &paths);
    Ok(Some(svg))
}

fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// The finite points grouped by fill colour and marker shape, in class (or
/// colour-step) order.
fn colour_groups(colouring: &Colouring<'_>, finite: &[usize]) -> Vec<(String, usize, Vec<usize>)> {
    match colouring {
        Colouring::Classes { index, names } => (0..names.len())
            .map(|c| {
                let look = Look::of(c);
                let members = finite.iter().copied().filter(|&i| index[i] == c).collect();
                (hex(look.color), look.marker, members)
            })
            .filter(|g: &(String, usize, Vec<usize>)| !g.2.is_empty())
            .collect(),
        Colouring::Values { values, .. } => {
            let (lo, hi) = value_range(values);
            (0..VALUE_STEPS)
                .map(|step| {
                    let members: Vec<usize> = finite
                        .iter()
                        .copied()
                        .filter(|&i| values[i].is_finite() && value_step(values[i], lo, hi) == step)
                        .collect();
                    (hex(step_colour(step)), 0, members)
                })
                .chain(std::iter::once((
                    // Points without a value: grey.
                    "#BBBBBB".to_string(),
                    0,
                    finite
                        .iter()
                        .copied()
                        .filter(|&i| !values[i].is_finite())
                        .collect(),
                )))
                .filter(|g| !g.2.is_empty())
                .collect()
        }
    }
}

fn value_range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

fn value_step(v: f64, lo: f64, hi: f64) -> usize {
    if hi <= lo {
        return VALUE_STEPS / 2;
    }
    (((v - lo) / (hi - lo)) * VALUE_STEPS as f64)
        .floor()
        .clamp(0.0, (VALUE_STEPS - 1) as f64) as usize
}

fn step_colour(step: usize) -> RGBColor {
    let t = (step as f64 + 0.5) / VALUE_STEPS as f64;
    ViridisRGB.get_color_normalized(t, 0.0, 1.0)
}

/// The legend under the plot: class markers in columns, or a colour bar
/// with the value range.
enum Legend {
    Classes {
        entries: Vec<(String, Look)>,
        columns: usize,
        column_width: u32,
    },
    Bar {
        label: String,
        lo: f64,
        hi: f64,
    },
}

const ROW: u32 = 17;

impl Legend {
    fn of(colouring: &Colouring<'_>, width: u32) -> Legend {
        match colouring {
            Colouring::Classes { names, .. } => {
                let font = FontDesc::from(FONT);
                let widest = names
                    .iter()
                    .map(|n| font.box_size(n).map_or(7 * n.len() as u32, |b| b.0))
                    .max()
                    .unwrap_or(0);
                let column_width = (widest + 24).min(width - 20);
                let columns = ((width - 20) / column_width).max(1) as usize;
                Legend::Classes {
                    entries: names
                        .iter()
                        .enumerate()
                        .map(|(c, n)| (n.clone(), Look::of(c)))
                        .collect(),
                    columns,
                    column_width,
                }
            }
            Colouring::Values { values, label } => {
                let (lo, hi) = value_range(values);
                Legend::Bar {
                    label: (*label).to_string(),
                    lo,
                    hi,
                }
            }
        }
    }

    fn height(&self) -> u32 {
        match self {
            Legend::Classes {
                entries, columns, ..
            } => 8 + ROW * entries.len().div_ceil(*columns) as u32,
            Legend::Bar { .. } => 44,
        }
    }

    fn draw(
        &self,
        area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<std::io::Error>> {
        let text = TextStyle::from(FONT)
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        match self {
            Legend::Classes {
                entries,
                columns,
                column_width,
            } => {
                let rows = entries.len().div_ceil(*columns);
                for (k, (name, look)) in entries.iter().enumerate() {
                    // Column-major, so classes read down then across.
                    let (col, row) = (k / rows, k % rows);
                    let x = 14 + (col as u32 * column_width) as i32;
                    let y = 10 + (row as u32 * ROW) as i32;
                    area.draw(
                        &(EmptyElement::at((x + 4, y))
                            + Polygon::new(look.marker_outline(), look.color.filled())),
                    )?;
                    area.draw(&Text::new(name.clone(), (x + 14, y), text.clone()))?;
                }
            }
            Legend::Bar { label, lo, hi } => {
                let (left, top, w) = (60, 8, 200);
                let step_w = w / VALUE_STEPS as i32;
                for step in 0..VALUE_STEPS {
                    let x = left + step as i32 * step_w;
                    area.draw(&Rectangle::new(
                        [(x, top), (x + step_w, top + 12)],
                        step_colour(step).filled(),
                    ))?;
                }
                let below = TextStyle::from(("sans-serif", 11))
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top));
                area.draw(&Text::new(
                    super::tick_text(*lo),
                    (left, top + 15),
                    below.clone(),
                ))?;
                area.draw(&Text::new(
                    super::tick_text(*hi),
                    (left + step_w * VALUE_STEPS as i32, top + 15),
                    below,
                ))?;
                area.draw(&Text::new(label.clone(), (left + w + 12, top + 6), text))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        vec!["bass".into(), "flute".into(), "guitar".into()]
    }

    #[test]
    fn one_path_per_class_with_every_point_and_a_legend_below() {
        let points: Vec<(f64, f64)> = (0..30).map(|i| (i as f64, (i % 7) as f64)).collect();
        let index: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let names = classes();
        let svg = scatter_chart(&Scatter {
            title: "t-SNE",
            x_label: "t-SNE 1",
            y_label: "t-SNE 2",
            ticks: false,
            points: &points,
            colouring: Colouring::Classes {
                index: &index,
                names: &names,
            },
        })
        .unwrap()
        .unwrap();
        assert_eq!(svg.matches("<path fill=").count(), 3);
        // Ten points per class: ten move-to commands in each path.
        for path in svg.split("<path fill=").skip(1) {
            let d = &path[path.find(" d=\"").unwrap()..path.find("/>").unwrap()];
            assert_eq!(d.matches('M').count(), 10, "{d}");
        }
        for name in &names {
            assert!(svg.contains(&format!(">\n{name}\n</text>")), "{name}");
        }
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.len() < 12_000, "{} bytes", svg.len());
    }

    #[test]
    fn values_get_a_colour_bar_and_nothing_drawable_is_none() {
        let points: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, -(i as f64))).collect();
        let values: Vec<f64> = (0..20)
            .map(|i| if i == 3 { f64::NAN } else { i as f64 * 10.0 })
            .collect();
        let map = |points: &[(f64, f64)], values: &[f64]| {
            scatter_chart(&Scatter {
                title: "PCA",
                x_label: "PC 1",
                y_label: "PC 2",
                ticks: true,
                points,
                colouring: Colouring::Values {
                    values,
                    label: "tempo (BPM)",
                },
            })
            .unwrap()
        };
        let svg = map(&points, &values).unwrap();
        assert!(svg.contains("tempo (BPM)") && svg.contains(">\n190\n</text>"));
        assert!(svg.contains("#BBBBBB"), "the point without a value is grey");
        let nowhere = vec![(f64::NAN, 0.0); 20];
        assert!(map(&nowhere, &values).is_none());
        assert!(map(&points, &values[..5]).is_none(), "lengths differ");
    }
}
