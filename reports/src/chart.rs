//! Line charts as inline SVG (plotters), for robustness curves: one line
//! per series with its confidence band, and the clean value as a thin
//! horizontal reference line in the same colour.
//!
//! Text is measured with an embedded DejaVu Sans font (registered once), so
//! no system fonts are needed and the SVG is identical on every machine.

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use repbench_framework::{Error, Result};
use std::sync::Once;

/// One line of a chart.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, value, ci_low, ci_high)` in x order.
    pub points: Vec<(f64, f64, f64, f64)>,
    /// The value without perturbation, drawn as a reference line.
    pub clean: Option<f64>,
}

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

/// Renders `series` as an SVG line chart of `width × height` pixels.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<String> {
    ensure_font()?;
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, v, lo, hi) in points {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(lo).min(v);
        y_hi = y_hi.max(hi).max(v);
    }
    for c in series.iter().filter_map(|s| s.clean) {
        y_lo = y_lo.min(c);
        y_hi = y_hi.max(c);
    }
    if !x_lo.is_finite() || !y_lo.is_finite() {
        return Err(Error::Other(format!(
            "chart \"{title}\" has no finite points"
        )));
    }
    if x_hi == x_lo {
        x_hi = x_lo + 1.0;
    }
    let pad = ((y_hi - y_lo) * 0.08).max(1e-3);
    let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(chart_error)?;
        for (i, s) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let mut band: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.3)).collect();
            band.extend(s.points.iter().rev().map(|p| (p.0, p.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    color.mix(0.15).filled(),
                )))
                .map_err(chart_error)?;
            if let Some(c) = s.clean {
                chart
                    .draw_series(LineSeries::new(
                        [(x_lo, c), (x_hi, c)],
                        color.mix(0.5).stroke_width(1),
                    ))
                    .map_err(chart_error)?;
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|p| Circle::new((p.0, p.1), 3, color.filled())),
                )
                .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines_bands_and_legend_as_svg() {
        let s = vec![
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
        ];
        let svg = line_chart("noise", "snr_db", "accuracy", &s).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
        assert!(svg.contains("logmel") && svg.contains("mfcc") && svg.contains("snr_db"));
        assert!(
            svg.contains("<polygon") || svg.contains("<path"),
            "bands drawn"
        );
        assert_eq!(
            svg,
            line_chart("noise", "snr_db", "accuracy", &s).unwrap(),
            "deterministic"
        );
        assert!(line_chart("empty", "x", "y", &[]).is_err());
    }
}
