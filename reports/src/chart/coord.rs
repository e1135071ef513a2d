//! The x axis's coordinate: linear or logarithmic, with the ticks placed
//! where the data are (a sweep's severities, a model's layers) rather than
//! at "nice" numbers that no measurement was taken at.

use plotters::coord::ranged1d::{BoldPoints, DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use std::ops::Range;

/// An x range, mapped linearly or by the logarithm, with explicit ticks
/// (none: plotters' nice numbers, or powers of ten on a log axis).
pub(super) struct XCoord {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<f64>,
}

impl XCoord {
    fn position(&self, v: f64) -> f64 {
        if self.log {
            v.ln()
        } else {
            v
        }
    }

    /// 1-2-5 steps of each decade inside the range, for a log axis
    /// without explicit ticks.
    fn decade_ticks(&self) -> Vec<f64> {
        let mut out = Vec::new();
        let mut decade = 10f64.powf(self.lo.log10().floor());
        while decade <= self.hi {
            for m in [1.0, 2.0, 5.0] {
                let t = decade * m;
                if t >= self.lo && t <= self.hi {
                    out.push(t);
                }
            }
            decade *= 10.0;
        }
        out
    }
}

impl Ranged for XCoord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.position(self.lo), self.position(self.hi));
        let t = (self.position(*value) - a) / (b - a);
        if !t.is_finite() {
            return limit.0;
        }
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only bold grid lines: light ones would be invisible SVG bytes.
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        if !self.ticks.is_empty() {
            return self.ticks.clone();
        }
        if self.log {
            return self.decade_ticks();
        }
        RangedCoordf64::from(self.lo..self.hi).key_points(hint)
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// A tick label: integers without a decimal point, other values with three
/// significant digits and no trailing zeros (`1000`, `0.975`, `12.5`).
pub fn tick_text(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_nan() { "–".into() } else { "0".into() };
    }
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        return format!("{}", v.round() as i64);
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Decimals that write every one of evenly spaced `ticks` distinctly: as
/// many as their step needs (0.05 → 2, 0.25 → 2, 10 → 0); `None` with
/// fewer than two ticks.
pub fn step_decimals(ticks: &[f64]) -> Option<usize> {
    let step = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .find(|d| *d > 0.0)?;
    (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .or(Some(6))
}

/// The y axis's tick labels for `lo..hi` drawn with `n` labels: plotters'
/// positions, written with the decimals their step needs.
pub fn y_tick_formatter(lo: f64, hi: f64, n: usize) -> impl Fn(&f64) -> String {
    let ticks = RangedCoordf64::from(lo..hi).key_points(BoldPoints(n));
    let decimals = step_decimals(&ticks);
    move |v: &f64| match decimals {
        Some(d) if v.is_finite() => {
            let text = format!("{v:.d$}");
            // "-0.00" reads as zero.
            if text
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                text.trim_start_matches('-').to_owned()
            } else {
                text
            }
        }
        _ => tick_text(*v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_numbers_people_write() {
        assert_eq!(tick_text(1000.0), "1000");
        assert_eq!(tick_text(-24.0), "-24");
        assert_eq!(tick_text(0.975), "0.975");
        assert_eq!(tick_text(0.05), "0.05");
        assert_eq!(tick_text(12.5), "12.5");
        assert_eq!(tick_text(0.30000000000000004), "0.3");
        assert_eq!(tick_text(-0.0001), "-0.0001");
        assert_eq!(tick_text(0.0), "0");
    }

    /// A narrow range (12.30–12.36) must not print "12.3" four times.
    #[test]
    fn y_ticks_get_the_decimals_their_step_needs() {
        assert_eq!(step_decimals(&[0.0, 0.25, 0.5]), Some(2));
        assert_eq!(step_decimals(&[10.0, 20.0]), Some(0));
        assert_eq!(step_decimals(&[1.0]), None);
        let format = y_tick_formatter(12.30, 12.36, 8);
        let ticks = RangedCoordf64::from(12.30..12.36).key_points(BoldPoints(8));
        let labels: Vec<String> = ticks.iter().map(&format).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique, labels, "every tick distinct");
        assert!(
            labels.len() > 2 && labels.iter().all(|l| l.starts_with("12.3")),
            "{labels:?}"
        );
        assert_eq!(y_tick_formatter(-1.0, 1.0, 8)(&-0.0), "0.0");
    }

    #[test]
    fn log_axis_puts_equal_ratios_at_equal_distances() {
        let x = XCoord {
            lo: 32.0,
            hi: 512.0,
            log: true,
            ticks: vec![32.0, 128.0, 512.0],
        };
        assert_eq!(x.map(&32.0, (0, 400)), 0);
        assert_eq!(x.map(&128.0, (0, 400)), 200);
        assert_eq!(x.map(&512.0, (0, 400)), 400);
        assert_eq!(x.key_points(BoldPoints(10)), vec![32.0, 128.0, 512.0]);
        let auto = XCoord {
            ticks: Vec::new(),
            ..x
        };
        assert_eq!(
            auto.key_points(BoldPoints(10)),
            vec![50.0, 100.0, 200.0, 500.0]
        );
    }

    #[test]
    fn linear_axis_maps_proportionally() {
        let x = XCoord {
            lo: 0.0,
            hi: 40.0,
            log: false,
            ticks: Vec::new(),
        };
        assert_eq!(x.map(&10.0, (100, 500)), 200);
        assert!(x.key_points(BoldPoints(6)).contains(&20.0));
    }
}
