//! Cell shading of the report's heatmaps: white at 0, a full colour-blind
//! safe hue at 1, the text colour switched where the cell gets dark.

/// ColorBrewer Dark2 orange, for losses (degradation).
pub const ORANGE: [f64; 3] = [217.0, 95.0, 2.0];
/// The report's bar blue, for similarities.
pub const BLUE: [f64; 3] = [31.0, 95.0, 168.0];

/// Inline CSS for a cell of `value` (clamped to [0, 1]); grey when
/// undefined.
pub fn shade(value: f64, hue: [f64; 3]) -> String {
    if value.is_nan() {
        return "background:#eeeeee".into();
    }
    let t = value.clamp(0.0, 1.0);
    let mix = |c: f64| (255.0 + (c - 255.0) * t).round() as u8;
    let text = if t > 0.6 { "#ffffff" } else { "#1d1d1f" };
    format!(
        "background:#{:02x}{:02x}{:02x};color:{text}",
        mix(hue[0]),
        mix(hue[1]),
        mix(hue[2])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_at_zero_full_hue_at_one_grey_when_undefined() {
        assert_eq!(shade(-0.3, ORANGE), "background:#ffffff;color:#1d1d1f");
        assert_eq!(shade(1.0, ORANGE), "background:#d95f02;color:#ffffff");
        assert_eq!(shade(2.0, BLUE), "background:#1f5fa8;color:#ffffff");
        assert_eq!(shade(f64::NAN, BLUE), "background:#eeeeee");
    }
}
