//! Digital Butterworth filters as cascaded second-order sections.
//!
//! Design: the analog Butterworth prototype of order `N` (poles
//! `exp(iπ(2k + N − 1) / 2N)`, k = 1..N) is mapped to lowpass (`s → s/Ω`),
//! highpass (`s → Ω/s`) or bandpass (`s → (s² + Ω₁Ω₂) / (s(Ω₂ − Ω₁))`), then
//! to the z-plane with the bilinear transform `z = (2fs + s) / (2fs − s)`.
//! Edge frequencies are pre-warped (`Ω = 2fs·tan(πf/fs)`), so the digital
//! response is exactly −3 dB at each requested edge. Conjugate pole pairs
//! become biquads; the overall gain is normalised to 1 in the passband
//! (DC, Nyquist, or the band's geometric centre).

use repbench_fft::num_complex::Complex64;
use std::f64::consts::PI;

/// Which band a filter passes, with edges in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Passes below the cutoff.
    Lowpass(f64),
    /// Passes above the cutoff.
    Highpass(f64),
    /// Passes between the low and high edges.
    Bandpass(f64, f64),
}

/// One second-order section, `(b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    /// Numerator coefficients.
    pub b: [f64; 3],
    /// Denominator coefficients `a1`, `a2` (`a0 = 1`).
    pub a: [f64; 2],
}

impl Biquad {
    fn response(&self, z_inv: Complex64) -> Complex64 {
        let num = self.b[0] + z_inv * (self.b[1] + z_inv * self.b[2]);
        let den = 1.0 + z_inv * (self.a[0] + z_inv * self.a[1]);
        num / den
    }
}

/// Designs a Butterworth filter. `order` is the prototype order (even, ≥ 2):
/// the roll-off is `6·order` dB per octave on each skirt. Lowpass and
/// highpass give `order / 2` sections, bandpass `order`. Edges must lie in
/// (0, fs/2), with low < high for bandpass (the callers check this).
pub fn design(band: Band, order: usize, sample_rate: f64) -> Vec<Biquad> {
    let fs2 = 2.0 * sample_rate;
    let warp = |f: f64| fs2 * (PI * f / sample_rate).tan();
    let bilinear = |s: Complex64| (fs2 + s) / (fs2 - s);
    // Upper-half-plane prototype poles; their conjugates are implied.
    let proto: Vec<Complex64> = (1..=order / 2)
        .map(|k| Complex64::from_polar(1.0, PI * (2 * k + order - 1) as f64 / (2 * order) as f64))
        .collect();
    // (analog pole of the pair, numerator, frequency where the gain is 1)
    let (poles, numerator, unity_hz): (Vec<Complex64>, [f64; 3], f64) = match band {
        Band::Lowpass(fc) => {
            let w = warp(fc);
            (proto.iter().map(|p| p * w).collect(), [1.0, 2.0, 1.0], 0.0)
        }
        Band::Highpass(fc) => {
            let w = warp(fc);
            (
                proto.iter().map(|p| w / p).collect(),
                [1.0, -2.0, 1.0],
                sample_rate / 2.0,
            )
        }
        Band::Bandpass(lo, hi) => {
            let (w1, w2) = (warp(lo), warp(hi));
            let (w0_sq, bw) = (w1 * w2, w2 - w1);
            let mut poles = Vec::with_capacity(order);
            for p in &proto {
                let pb = p * bw;
                let root = (pb * pb - 4.0 * w0_sq).sqrt();
                poles.push((pb + root) / 2.0);
                poles.push((pb - root) / 2.0);
            }
            let centre = sample_rate / PI * (w0_sq.sqrt() / fs2).atan();
            (poles, [1.0, 0.0, -1.0], centre)
        }
    };
    let mut sections: Vec<Biquad> = poles
        .into_iter()
        .map(|s| {
            let z = bilinear(s);
            Biquad {
                b: numerator,
                a: [-2.0 * z.re, z.norm_sqr()],
            }
        })
        .collect();
    // Spread the normalising gain evenly so no section's scale is extreme.
    let gain = response(&sections, unity_hz, sample_rate).norm();
    let per_section = gain.powf(-1.0 / sections.len() as f64);
    for s in &mut sections {
        for b in &mut s.b {
            *b *= per_section;
        }
    }
    sections
}

/// Complex frequency response of the cascade at `freq` Hz.
pub fn response(sections: &[Biquad], freq: f64, sample_rate: f64) -> Complex64 {
    let z_inv = Complex64::from_polar(1.0, -2.0 * PI * freq / sample_rate);
    sections
        .iter()
        .fold(Complex64::new(1.0, 0.0), |acc, s| acc * s.response(z_inv))
}

/// Runs `x` through the cascade (transposed direct form II, f64 state so
/// low cutoffs at high orders stay stable and accurate).
pub fn filter(sections: &[Biquad], x: &[f32]) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for s in sections {
        let [b0, b1, b2] = s.b;
        let [a1, a2] = s.a;
        let (mut z1, mut z2) = (0.0, 0.0);
        for v in &mut y {
            let input = *v;
            let out = b0 * input + z1;
            z1 = b1 * input - a1 * out + z2;
            z2 = b2 * input - a2 * out;
            *v = out;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |H|² of the analog Butterworth at the pre-warped frequency.
    fn ideal_db(band: Band, order: usize, f: f64, sr: f64) -> f64 {
        let w = |f: f64| (PI * f / sr).tan();
        let ratio = match band {
            Band::Lowpass(fc) => w(f) / w(fc),
            Band::Highpass(fc) => w(fc) / w(f),
            Band::Bandpass(lo, hi) => {
                let (w1, w2, x) = (w(lo), w(hi), w(f));
                (x * x - w1 * w2) / (x * (w2 - w1))
            }
        };
        -10.0 * (1.0 + ratio.abs().powi(2 * order as i32)).log10()
    }

    #[test]
    fn designed_response_equals_the_butterworth_formula() {
        let sr = 16000.0;
        for order in [2, 4, 6, 8] {
            for band in [
                Band::Lowpass(1000.0),
                Band::Lowpass(7000.0),
                Band::Highpass(50.0),
                Band::Highpass(3000.0),
                Band::Bandpass(300.0, 3400.0),
                Band::Bandpass(900.0, 1100.0),
            ] {
                let sos = design(band, order, sr);
                for f in [
                    20.0, 100.0, 300.0, 950.0, 1000.0, 2000.0, 3400.0, 6000.0, 7900.0,
                ] {
                    let got = 20.0 * response(&sos, f, sr).norm().log10();
                    let want = ideal_db(band, order, f, sr);
                    // Compare where the numbers are meaningful (> -200 dB).
                    if want > -200.0 {
                        assert!(
                            (got - want).abs() < 1e-6 * want.abs().max(1.0),
                            "{band:?} {order} {f}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
