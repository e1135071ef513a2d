//! Line charts as inline SVG (plotters): one line per series with its
//! confidence band (a light fill with thin edges, so overlapping bands stay
//! readable), the clean value as a thin horizontal line in the series'
//! colour, a legend beside the plot, and the x ticks where the data are.
//!
//! Text is measured with an embedded DejaVu Sans font (registered once), so
//! no system fonts are needed and the SVG is identical on every machine.

mod coord;
mod legend;
mod marks;
mod scatter;

pub use coord::tick_text;
use coord::{y_tick_formatter, XCoord};
use legend::Entry;
use marks::Look;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle, FontTransform};
use repbench_framework::{Error, Result};
pub use scatter::{scatter_chart, Colouring, Scatter};
use std::sync::Once;

/// One line of a chart.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, value, ci_low, ci_high)` in x order.
    pub points: Vec<(f64, f64, f64, f64)>,
    /// The value without perturbation, drawn as a thin reference line; a
    /// series with no points and a clean value is drawn as a reference
    /// line in its own dash pattern (a single-layer encoder on a layer
    /// plot).
    pub clean: Option<f64>,
}

/// Where the x axis's ticks go.
pub enum Ticks {
    /// Round numbers (powers of ten on a log axis).
    Auto,
    /// At these values (a sweep's severities).
    At(Vec<f64>),
    /// At 0, 1, …, labelled with these names (a model's layers).
    Named(Vec<String>),
}

/// The x axis.
pub struct XAxis {
    /// Label in words, with the unit and, for a sweep, which way is
    /// stronger.
    pub label: String,
    /// Logarithmic, for multiplicative parameters (bitrate, cutoff).
    pub log: bool,
    /// Tick placement.
    pub ticks: Ticks,
}

impl XAxis {
    /// A linear axis with round-number ticks.
    pub fn plain(label: impl Into<String>) -> Self {
        XAxis {
            label: label.into(),
            log: false,
            ticks: Ticks::Auto,
        }
    }
}

/// How large the plot area is drawn, and where its legend goes.
#[derive(Clone, Copy)]
pub enum Size {
    /// A chart of its own, the legend to the right of the plot.
    Full,
    /// One of several side by side (small multiples), the legend below
    /// the plot so that two fit across a page.
    Small,
}

impl Size {
    fn plot(self) -> (u32, u32) {
        match self {
            Size::Full => (600, 340),
            Size::Small => (400, 270),
        }
    }
}

/// What a chart shows.
pub struct Chart<'a> {
    /// Caption above the plot.
    pub title: &'a str,
    /// The x axis.
    pub x: &'a XAxis,
    /// The y axis's label.
    pub y_label: &'a str,
    /// Plot size.
    pub size: Size,
}

fn ensure_font() -> Result<()> {
    static REGISTER: Once = Once::new();
    let mut failed = false;
    REGISTER.call_once(|| {
        failed = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_err();
    });
    if failed {
        return Err(Error::Other(
            "the embedded chart font could not be loaded".into(),
        ));
    }
    Ok(())
}

fn chart_error(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("drawing a chart failed: {e}"))
}

/// The drawn x and y ranges, padded so that markers sit inside the frame.
fn extent(x: &XAxis, log: bool, series: &[Series]) -> Option<(f64, f64, f64, f64)> {
    let finite = |v: &f64| v.is_finite();
    let xs: Vec<f64> = match &x.ticks {
        Ticks::Named(names) => vec![0.0, names.len().saturating_sub(1) as f64],
        _ => series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(finite)
            .collect(),
    };
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| [p.1, p.2, p.3]).chain(s.clean))
        .filter(finite)
        .collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut x_lo, mut x_hi) = (min(&xs), max(&xs));
    let (y_lo, y_hi) = (min(&ys), max(&ys));
    if !x_lo.is_finite() || !y_lo.is_finite() {
        return None;
    }
    if log {
        let pad = if x_hi > x_lo {
            (x_hi / x_lo).powf(0.04)
        } else {
            2.0
        };
        (x_lo, x_hi) = (x_lo / pad, x_hi * pad);
    } else if matches!(x.ticks, Ticks::Named(_)) {
        (x_lo, x_hi) = (x_lo - 0.3, x_hi + 0.3);
    } else {
        let pad = if x_hi > x_lo {
            (x_hi - x_lo) * 0.04
        } else {
            1.0
        };
        (x_lo, x_hi) = (x_lo - pad, x_hi + pad);
    }
    let pad = ((y_hi - y_lo) * 0.08).max(1e-3);
    Some((x_lo, x_hi, y_lo - pad, y_hi + pad))
}

fn legend_entries(series: &[Series]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Entry::Series {
            name: s.name.clone(),
            look: Look::of(i),
            marker: !s.points.is_empty(),
        })
        .collect();
    if series
        .iter()
        .any(|s| s.clean.is_some() && !s.points.is_empty())
    {
        entries.push(Entry::Clean);
    }
    entries
}

/// Width an upright layer name needs on the x axis, in pixels.
const NAMED_TICK_PX: u32 = 14;

/// A tick label of at most 22 characters: long layer names keep their
/// start and their end (`encoder.l…final_norm`), where they differ.
fn short_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 22 {
        return name.to_owned();
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 11..].iter().collect();
    format!("{head}…{tail}")
}

/// Renders `series` as an SVG line chart: the plot at `chart.size` and the
/// legend beside or below it; `None` when no value is defined (every
/// point NaN), so that one undefined curve never costs the whole report.
pub fn line_chart(chart: &Chart<'_>, series: &[Series]) -> Result<Option<String>> {
    ensure_font()?;
    let log = chart.x.log
        && series
            .iter()
            .flat_map(|s| s.points.iter())
            .all(|p| p.0 > 0.0);
    let Some((x_lo, x_hi, y_lo, y_hi)) = extent(chart.x, log, series) else {
        return Ok(None);
    };
    let (ticks, names) = match &chart.x.ticks {
        Ticks::Auto => (Vec::new(), Vec::new()),
        Ticks::At(at) => (at.clone(), Vec::new()),
        Ticks::Named(names) => {
            // Upright labels need about 14 px each: past what fits, name
            // every k-th layer (and leave the others unlabelled) rather
            // than print labels over each other.
            let fits = ((chart.size.plot().0 - 70) / NAMED_TICK_PX).max(1) as usize;
            let step = names.len().div_ceil(fits).max(1);
            (
                (0..names.len())
                    .filter(|i| i % step == 0)
                    .map(|i| i as f64)
                    .collect(),
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        if i % step == 0 {
                            short_name(n)
                        } else {
                            String::new()
                        }
                    })
                    .collect(),
            )
        }
    };
    let x_coord = XCoord {
        lo: x_lo,
        hi: x_hi,
        log,
        ticks,
    };
    let entries = legend_entries(series);
    let (plot_w, plot_h) = chart.size.plot();
    // Layer names stand upright when they do not fit side by side.
    let label_font = FontDesc::from(("sans-serif", 11));
    let widest = names
        .iter()
        .map(|n| label_font.box_size(n).map_or(7 * n.len() as u32, |b| b.0))
        .max()
        .unwrap_or(0);
    let labelled = names.iter().filter(|n| !n.is_empty()).count().max(1) as u32;
    let upright = !names.is_empty() && widest + 6 > (plot_w - 70) / labelled;
    let x_area = if upright { widest.min(140) + 30 } else { 40 };
    let plot_h = plot_h + x_area.saturating_sub(40);
    let beside = matches!(chart.size, Size::Full);
    // Beside: level with the plot area under the caption; below: under
    // the x axis's label.
    let legend_top = if beside { 44 } else { 10 };
    let (width, height) = if beside {
        (
            plot_w + legend::width(&entries),
            plot_h.max(legend::height(&entries, legend_top) + 8),
        )
    } else {
        (
            plot_w.max(legend::width(&entries) + 50),
            plot_h + legend::height(&entries, legend_top),
        )
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let (plot, side) = if beside {
            root.split_horizontally(plot_w)
        } else {
            root.split_vertically(plot_h)
        };
        let mut ctx = ChartBuilder::on(&plot)
            .caption(chart.title, ("sans-serif", 15))
            .margin(10)
            .margin_right(18)
            .x_label_area_size(x_area)
            .y_label_area_size(62)
            .build_cartesian_2d(x_coord, y_lo..y_hi)
            .map_err(chart_error)?;
        let name_of = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let x_text = |v: &f64| {
            if names.is_empty() {
                tick_text(*v)
            } else {
                name_of(v)
            }
        };
        let y_text = y_tick_formatter(y_lo, y_hi, 8);
        let mut mesh = ctx.configure_mesh();
        mesh.x_desc(chart.x.label.as_str())
            .y_desc(chart.y_label)
            .x_labels(names.len().max(10))
            .y_labels(8)
            .x_label_formatter(&x_text)
            .y_label_formatter(&y_text)
            .y_max_light_lines(0)
            .x_max_light_lines(0)
            .bold_line_style(BLACK.mix(0.1));
        if upright {
            mesh.x_label_style(
                FontDesc::from(("sans-serif", 11)).transform(FontTransform::Rotate90),
            );
        }
        mesh.draw().map_err(chart_error)?;
        for (i, s) in series.iter().enumerate() {
            draw_series(&mut ctx, s, Look::of(i), (x_lo, x_hi))?;
        }
        let legend_at = if beside {
            (6, legend_top)
        } else {
            (62, legend_top)
        };
        legend::draw(&side, &entries, legend_at).map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(Some(svg))
}

type Ctx<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<XCoord, plotters::coord::types::RangedCoordf64>>;

/// One series: band, clean or reference line, the line and its markers.
fn draw_series(
    ctx: &mut Ctx<'_, '_>,
    s: &Series,
    look: Look,
    (x_lo, x_hi): (f64, f64),
) -> Result<()> {
    let points: Vec<(f64, f64, f64, f64)> = s
        .points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let with_band: Vec<&(f64, f64, f64, f64)> = points
        .iter()
        .filter(|p| p.2.is_finite() && p.3.is_finite())
        .collect();
    if with_band.len() > 1 {
        let mut band: Vec<(f64, f64)> = with_band.iter().map(|p| (p.0, p.3)).collect();
        band.extend(with_band.iter().rev().map(|p| (p.0, p.2)));
        ctx.draw_series(std::iter::once(Polygon::new(
            band,
            look.color.mix(0.12).filled(),
        )))
        .map_err(chart_error)?;
        for edge in [
            with_band.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
            with_band.iter().map(|p| (p.0, p.3)).collect(),
        ] {
            ctx.draw_series(LineSeries::new(edge, look.color.mix(0.35).stroke_width(1)))
                .map_err(chart_error)?;
        }
    }
    if let Some(c) = s.clean.filter(|c| c.is_finite()) {
        // Only a series that has no points at all is a reference line; one
        // whose points are all undefined keeps just its thin clean line.
        if s.points.is_empty() {
            draw_line(ctx, vec![(x_lo, c), (x_hi, c)], look)?;
        } else {
            ctx.draw_series(LineSeries::new(
                [(x_lo, c), (x_hi, c)],
                look.color.mix(0.6).stroke_width(1),
            ))
            .map_err(chart_error)?;
        }
    }
    draw_line(ctx, points.iter().map(|p| (p.0, p.1)).collect(), look)?;
    ctx.draw_series(points.iter().map(|p| {
        EmptyElement::at((p.0, p.1)) + Polygon::new(look.marker_outline(), look.color.filled())
    }))
    .map_err(chart_error)?;
    Ok(())
}

fn draw_line(ctx: &mut Ctx<'_, '_>, line: Vec<(f64, f64)>, look: Look) -> Result<()> {
    match look.dash {
        None => ctx
            .draw_series(LineSeries::new(line, look.stroke(2)))
            .map(|_| ()),
        Some((dash, gap)) => ctx
            .draw_series(DashedLineSeries::new(line, dash, gap, look.stroke(2)))
            .map(|_| ()),
    }
    .map_err(chart_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_series() -> Vec<Series> {
        vec![
            Series {
                name: "logmel".into(),
                points: vec![
                    (40.0, 0.9, 0.85, 0.95),
                    (20.0, 0.7, 0.6, 0.8),
                    (0.0, 0.3, 0.2, 0.4),
                ],
                clean: Some(0.93),
            },
            Series {
                name: "mfcc".into(),
                points: vec![
                    (40.0, 0.8, 0.75, 0.85),
                    (20.0, 0.75, 0.7, 0.8),
                    (0.0, 0.5, 0.4, 0.6),
                ],
                clean: None,
            },
        ]
    }

    /// An attribute (` x="` or ` y="`) of the text element that reads `label`.
    fn text_at(svg: &str, label: &str, attribute: &str) -> Option<f64> {
        let at = svg.find(&format!(">\n{label}\n</text>"))?;
        let open = svg[..at].rfind("<text")?;
        let v = svg[open..at].split(attribute).nth(1)?;
        v[..v.find('"')?].parse().ok()
    }

    fn text_x(svg: &str, label: &str) -> Option<f64> {
        text_at(svg, label, " x=\"")
    }

    fn text_y(svg: &str, label: &str) -> Option<f64> {
        text_at(svg, label, " y=\"")
    }

    fn chart<'a>(x: &'a XAxis) -> Chart<'a> {
        Chart {
            title: "noise",
            x,
            y_label: "accuracy",
            size: Size::Small,
        }
    }

    #[test]
    fn renders_lines_bands_and_a_legend_beside_the_plot() {
        let x = XAxis {
            label: "SNR (dB)".into(),
            log: false,
            ticks: Ticks::At(vec![0.0, 20.0, 40.0]),
        };
        let svg = line_chart(&chart(&x), &two_series()).unwrap().unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
        assert!(svg.contains("SNR (dB)") && svg.contains("clean value"));
        assert!(svg.contains("<polygon"), "bands and markers drawn");
        // Small multiples: the legend sits below the 270 px plot area.
        for name in ["logmel", "mfcc"] {
            let y = text_y(&svg, name).expect("legend entry");
            assert!(y >= 270.0, "{name} at y = {y}");
        }
        let full = Chart {
            size: Size::Full,
            ..chart(&x)
        };
        let svg_full = line_chart(&full, &two_series()).unwrap().unwrap();
        for name in ["logmel", "mfcc"] {
            let x = text_x(&svg_full, name).expect("legend entry");
            assert!(x >= 600.0, "beside the 600 px plot area: {name} at x = {x}");
        }
        // Ticks at the severities, written as integers.
        for tick in ["0", "20", "40"] {
            assert!(text_x(&svg, tick).is_some(), "{tick}");
        }
        assert!(text_x(&svg, "20.0").is_none());
        assert_eq!(
            svg,
            line_chart(&chart(&x), &two_series()).unwrap().unwrap(),
            "deterministic"
        );
        assert!(line_chart(&chart(&x), &[]).unwrap().is_none());
        let undefined = vec![Series {
            name: "nan".into(),
            points: vec![(0.0, f64::NAN, f64::NAN, f64::NAN)],
            clean: None,
        }];
        assert!(
            line_chart(&chart(&x), &undefined).unwrap().is_none(),
            "nothing defined: no chart, and no error that would cost the report"
        );
    }

    #[test]
    fn dashes_tell_series_apart_without_colour() {
        let x = XAxis::plain("x");
        let one = line_chart(&chart(&x), &two_series()[..1]).unwrap().unwrap();
        let both = line_chart(&chart(&x), &two_series()).unwrap().unwrap();
        // A dashed line is drawn as many short segments.
        let lines = |svg: &str| svg.matches("<polyline").count() + svg.matches("<line").count();
        assert!(
            lines(&both) > lines(&one) + 6,
            "{} vs {}",
            lines(&both),
            lines(&one)
        );
    }

    #[test]
    fn named_layers_label_the_ticks_and_single_layers_are_reference_lines() {
        let names: Vec<String> = (0..3).map(|i| format!("block{i}")).collect();
        let x = XAxis {
            label: "layer".into(),
            log: false,
            ticks: Ticks::Named(names),
        };
        let series = vec![
            Series {
                name: "net".into(),
                points: vec![
                    (0.0, 0.5, 0.4, 0.6),
                    (1.0, 0.7, 0.6, 0.8),
                    (2.0, 0.6, 0.5, 0.7),
                ],
                clean: None,
            },
            Series {
                name: "mfcc (single layer)".into(),
                points: Vec::new(),
                clean: Some(0.65),
            },
        ];
        let svg = line_chart(&chart(&x), &series).unwrap().unwrap();
        for name in ["block0", "block1", "block2", "mfcc (single layer)"] {
            assert!(text_x(&svg, name).is_some(), "{name}");
        }
        assert!(
            !svg.contains("clean value"),
            "no clean entry without clean lines"
        );
    }

    /// 60 layers do not fit upright under a small chart: every third is
    /// named, none overlaps.
    #[test]
    fn crowded_layer_names_are_thinned_not_overprinted() {
        let names: Vec<String> = (0..60).map(|i| format!("layer_{i:02}")).collect();
        let x = XAxis {
            label: "layer".into(),
            log: false,
            ticks: Ticks::Named(names.clone()),
        };
        let series = vec![Series {
            name: "deep".into(),
            points: (0..60).map(|i| (i as f64, 0.5, 0.4, 0.6)).collect(),
            clean: None,
        }];
        let svg = line_chart(&chart(&x), &series).unwrap().unwrap();
        let shown: Vec<&String> = names
            .iter()
            .filter(|n| svg.contains(&format!(">\n{n}\n</text>")))
            .collect();
        assert_eq!(shown.len(), 20, "{shown:?}");
        assert!(shown.contains(&&names[0]) && shown.contains(&&names[3]));
        assert!(!shown.contains(&&names[1]));
    }

    #[test]
    fn log_axis_places_ticks_at_the_bitrates() {
        let x = XAxis {
            label: "MP3 bitrate (kbit/s)".into(),
            log: true,
            ticks: Ticks::At(vec![32.0, 64.0, 128.0, 320.0]),
        };
        let s = vec![Series {
            name: "a".into(),
            points: vec![(32.0, 0.5, 0.4, 0.6), (320.0, 0.9, 0.8, 1.0)],
            clean: None,
        }];
        let svg = line_chart(&chart(&x), &s).unwrap().unwrap();
        let tick_x = |label: &str| text_x(&svg, label).unwrap();
        // Equal ratios, equal distances: 32→64 and 64→128 are one octave.
        let (a, b, c) = (tick_x("32"), tick_x("64"), tick_x("128"));
        assert!(((b - a) - (c - b)).abs() <= 2.0, "{a} {b} {c}");
    }
}
