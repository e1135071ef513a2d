//! Additive noise at a target signal-to-noise ratio.
//!
//! Parameters: `snr_db` (severity axis, in [-40, 100] dB) and `color`
//! (`white`, `pink` or `brown`; default `white`).
//!
//! The noise is scaled so that `10·log10(P_x / P_n) = snr_db` exactly, where
//! `P` is the mean square over the whole clip (signal `x`, added noise `n`).
//! White noise is Gaussian; pink and brown are Gaussian noise shaped in the
//! frequency domain to power spectral densities ∝ 1/f and ∝ 1/f² (amplitude
//! ∝ f^-1/2 and f^-1 per FFT bin, DC removed). Silent input (`P_x = 0`) has
//! no defined SNR and is returned unchanged.

use super::fft_len::fast_len;
use super::random::gaussian;
use super::{check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::{Error, Result};
use repbench_fft::RealPlanner64;
use serde::{Deserialize, Serialize};

/// Lowest allowed SNR: noise 10 000× the signal's power.
pub const MIN_SNR_DB: f64 = -40.0;
/// Highest allowed SNR: beyond this the noise is below f32 resolution.
pub const MAX_SNR_DB: f64 = 100.0;

/// Spectral colour of the added noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseColor {
    /// Flat power spectral density.
    #[default]
    White,
    /// Power spectral density ∝ 1/f (equal power per octave).
    Pink,
    /// Power spectral density ∝ 1/f² (Brownian, a random walk's spectrum).
    Brown,
}

impl NoiseColor {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            NoiseColor::White => "white",
            NoiseColor::Pink => "pink",
            NoiseColor::Brown => "brown",
        }
    }
}

/// `kind = "noise"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    /// Target SNR in dB (severity axis; lower is more severe).
    pub snr_db: Sweep,
    /// Noise colour.
    #[serde(default)]
    pub color: NoiseColor,
}

impl NoiseSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.snr_db
    }

    pub(crate) fn build(&self, snr_db: f64) -> Noise {
        Noise {
            snr_db,
            color: self.color,
        }
    }
}

/// Adds noise of one colour at one SNR.
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    snr_db: f64,
    color: NoiseColor,
}

impl Noise {
    /// Checks the parameters (see the module docs for ranges).
    pub fn new(snr_db: f64, color: NoiseColor) -> Result<Self> {
        let noise = Noise { snr_db, color };
        noise.check("noise", None)?;
        Ok(noise)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_range(key, "snr_db", self.snr_db, MIN_SNR_DB, MAX_SNR_DB)
    }
}

impl Perturbation for Noise {
    fn id(&self) -> String {
        format!(
            "noise/v1;color={};snr_db={}",
            self.color.name(),
            num(self.snr_db)
        )
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("noise", sample_rate)?;
        self.check("noise", Some(sample_rate))?;
        let signal_power = mean_square(audio.iter().map(|&v| v as f64));
        if audio.is_empty() || signal_power == 0.0 {
            return Ok(audio.to_vec());
        }
        let noise = colored_noise(rng, audio.len(), self.color);
        let noise_power = mean_square(noise.iter().copied());
        if noise_power == 0.0 {
            return Err(Error::Other(format!(
                "noise: the generated {} noise for a {}-sample clip is silent; use a longer clip",
                self.color.name(),
                audio.len()
            )));
        }
        let scale = (signal_power / (noise_power * 10f64.powf(self.snr_db / 10.0))).sqrt();
        Ok(audio
            .iter()
            .zip(&noise)
            .map(|(&x, &n)| (x as f64 + scale * n) as f32)
            .collect())
    }
}

fn mean_square(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    values.map(|v| v * v).sum::<f64>() / n as f64
}

/// `n` samples of unit-ish noise of the given colour (the caller rescales).
fn colored_noise(rng: &mut Rng, n: usize, color: NoiseColor) -> Vec<f64> {
    let exponent = match color {
        NoiseColor::White => return gaussian(rng, n),
        NoiseColor::Pink => 0.5,
        NoiseColor::Brown => 1.0,
    };
    // Shaping a whole-clip spectrum gives the exact slope down to the lowest
    // frequency the clip can hold; the circular wrap is harmless for noise.
    let m = fast_len(n.max(64));
    let mut planner = RealPlanner64::new();
    let forward = planner.forward(m);
    let inverse = planner.inverse(m);
    let mut time = gaussian(rng, m);
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut time, &mut spectrum)
        .expect("buffers come from the same planned FFT");
    spectrum[0] = 0.0.into();
    for (k, bin) in spectrum.iter_mut().enumerate().skip(1) {
        *bin *= (k as f64).powf(-exponent);
    }
    // The Nyquist bin of an even-length real signal must be real.
    if m % 2 == 0 {
        let last = spectrum.len() - 1;
        spectrum[last].im = 0.0;
    }
    inverse
        .process(&mut spectrum, &mut time)
        .expect("spectrum is Hermitian-consistent by construction");
    time.truncate(n);
    time
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{music_like, snr_db};
    use crate::seed::rng;

    #[test]
    fn measured_snr_matches_request_for_every_colour() {
        let x = music_like(16000, 3.0, 1);
        for color in [NoiseColor::White, NoiseColor::Pink, NoiseColor::Brown] {
            for target in [40.0, 20.0, 0.0, -10.0] {
                let p = Noise::new(target, color).unwrap();
                let y = p.apply(&x, 16000, &mut rng(1, &["t"])).unwrap();
                assert_eq!(y.len(), x.len());
                let got = snr_db(&x, &y);
                assert!((got - target).abs() < 0.1, "{color:?} {target}: {got}");
            }
        }
    }

    /// Slope of log power vs log frequency, fitted from 100 Hz to 4 kHz on
    /// an averaged periodogram.
    fn spectral_slope(noise: &[f64], sr: f64) -> f64 {
        let n = 4096;
        let mut planner = RealPlanner64::new();
        let fft = planner.forward(n);
        let mut psd = vec![0.0; n / 2 + 1];
        for frame in noise.chunks_exact(n) {
            let mut buf: Vec<f64> = frame
                .iter()
                .enumerate()
                .map(|(i, v)| v * (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()))
                .collect();
            let mut out = fft.make_output_vec();
            fft.process(&mut buf, &mut out).unwrap();
            for (p, c) in psd.iter_mut().zip(&out) {
                *p += c.norm_sqr();
            }
        }
        let pts: Vec<(f64, f64)> = (1..psd.len())
            .map(|k| (k as f64 * sr / n as f64, psd[k]))
            .filter(|(f, _)| (100.0..4000.0).contains(f))
            .map(|(f, p)| (f.ln(), p.ln()))
            .collect();
        let m = pts.len() as f64;
        let (mx, my) = pts
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / m, b + y / m));
        let sxy: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = pts.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        sxy / sxx
    }

    #[test]
    fn colours_have_their_spectral_slopes() {
        for (color, slope) in [
            (NoiseColor::White, 0.0),
            (NoiseColor::Pink, -1.0),
            (NoiseColor::Brown, -2.0),
        ] {
            let n = colored_noise(&mut rng(5, &["c"]), 16000 * 20, color);
            let got = spectral_slope(&n, 16000.0);
            assert!((got - slope).abs() < 0.1, "{color:?}: slope {got}");
        }
    }

    #[test]
    fn same_seed_same_output_other_seed_differs() {
        let x = music_like(16000, 1.0, 2);
        let p = Noise::new(10.0, NoiseColor::Pink).unwrap();
        let a = p.apply(&x, 16000, &mut rng(9, &["a"])).unwrap();
        let b = p.apply(&x, 16000, &mut rng(9, &["a"])).unwrap();
        let c = p.apply(&x, 16000, &mut rng(10, &["a"])).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn silence_and_empty_input_are_returned_unchanged() {
        let p = Noise::new(10.0, NoiseColor::White).unwrap();
        let silent = vec![0.0f32; 1000];
        assert_eq!(p.apply(&silent, 16000, &mut rng(1, &[])).unwrap(), silent);
        assert!(p.apply(&[], 16000, &mut rng(1, &[])).unwrap().is_empty());
    }

    #[test]
    fn out_of_range_snr_names_the_key_and_range() {
        let err = Noise::new(200.0, NoiseColor::White)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "noise.snr_db: must be in [-40, 100] (got 200)");
        assert_eq!(
            Noise::new(20.0, NoiseColor::White).unwrap().id(),
            "noise/v1;color=white;snr_db=20"
        );
    }
}
