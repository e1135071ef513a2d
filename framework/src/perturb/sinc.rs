//! Band-limited resampling by any real ratio, exactly aligned.
//!
//! Output sample `j` is the input evaluated at time `t = j / ratio` (in
//! input samples) through a Kaiser-windowed sinc (β = 8.6, ≈ 86 dB
//! stopband) spanning 64 zero crossings on each side, with its cutoff at
//! 0.95 of the lower of the two Nyquist frequencies (the kernel widens by
//! `1 / ratio` when downsampling, so aliasing is suppressed too). The kernel
//! is tabulated at 512 phases per sample (fewer in proportion when
//! downsampling, where it is smoother on the input grid) and linearly
//! interpolated; each phase is normalised to unit DC gain. Work and table
//! size per input sample are the same at every ratio. The kernel is symmetric, so there
//! is no delay to compensate: output sample 0 lines up with input sample 0
//! at every ratio. (`audio::resample`'s FFT resampler leaves a constant
//! offset of up to one input sample that depends on the pair of rates,
//! which turns an up/down round trip into a visible time shift.)

/// Zero crossings of the sinc on each side of the centre.
const ZEROS: f64 = 64.0;
/// Kaiser window shape parameter.
const BETA: f64 = 8.6;
/// Cutoff relative to the lower Nyquist frequency.
const ROLLOFF: f64 = 0.95;
/// Tabulated kernel phases per input sample when upsampling.
const PHASES: usize = 512;

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Sum of products with eight independent accumulators, so the compiler
/// can keep it in SIMD registers (a single running sum cannot be reordered).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Resamples `x` by `ratio` (output rate / input rate, > 0) and returns
/// `out_len` samples; samples outside `x` count as zero.
pub(crate) fn resample_by(x: &[f32], ratio: f64, out_len: usize) -> Vec<f32> {
    let scale = ratio.min(1.0);
    let cutoff = 0.5 * ROLLOFF * scale; // cycles per input sample
    let half = (ZEROS / scale).ceil() as usize; // taps on each side
    let taps = 2 * half;
    let phases = ((PHASES as f64 * scale).ceil() as usize).max(16);
    // Row p holds the kernel for fractional position p / phases; entry k
    // weights input sample floor(t) - half + 1 + k.
    let mut table = vec![0.0f32; (phases + 1) * taps];
    let i0_beta = bessel_i0(BETA);
    for (p, row) in table.chunks_exact_mut(taps).enumerate() {
        let frac = p as f64 / phases as f64;
        let mut sum = 0.0;
        let weights: Vec<f64> = (0..taps)
            .map(|k| {
                let tau = frac + half as f64 - 1.0 - k as f64;
                let u = tau / half as f64;
                if u.abs() >= 1.0 {
                    return 0.0;
                }
                let arg = 2.0 * cutoff * tau;
                let sinc = if arg == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                let w = sinc * bessel_i0(BETA * (1.0 - u * u).sqrt()) / i0_beta;
                sum += w;
                w
            })
            .collect();
        for (r, w) in row.iter_mut().zip(weights) {
            *r = (w / sum) as f32;
        }
    }

    let mut window = vec![0.0f32; taps];
    (0..out_len)
        .map(|j| {
            let t = j as f64 / ratio;
            let base = t.floor();
            let pos = (t - base) * phases as f64;
            let p = (pos as usize).min(phases - 1);
            let a = (pos - p as f64) as f32;
            let start = base as i64 - half as i64 + 1;
            let segment: &[f32] = if start >= 0 && start as usize + taps <= x.len() {
                &x[start as usize..start as usize + taps]
            } else {
                for (k, w) in window.iter_mut().enumerate() {
                    let i = start + k as i64;
                    *w = if i >= 0 && (i as usize) < x.len() {
                        x[i as usize]
                    } else {
                        0.0
                    };
                }
                &window
            };
            let d0 = dot(segment, &table[p * taps..(p + 1) * taps]);
            let d1 = dot(segment, &table[(p + 1) * taps..(p + 2) * taps]);
            d0 + a * (d1 - d0)
        })
        .collect()
}

/// Resamples from rate `from` to rate `to`, returning `out_len` samples.
pub(crate) fn resample_rates(x: &[f32], from: u32, to: u32, out_len: usize) -> Vec<f32> {
    if from == to {
        let mut y = x.to_vec();
        y.resize(out_len, 0.0);
        return y;
    }
    resample_by(x, to as f64 / from as f64, out_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{peak_frequency, rms, sine, snr_db};
    use std::f64::consts::TAU;

    /// Amplitude and phase (radians) of `freq` in `y` (sampled at `sr`),
    /// by least squares away from the edges.
    fn fit(y: &[f32], freq: f64, sr: f64) -> (f64, f64) {
        let w = TAU * freq / sr;
        let range = y.len() / 8..7 * y.len() / 8;
        let n = range.len() as f64;
        let (mut s, mut c) = (0.0, 0.0);
        for i in range {
            s += 2.0 / n * y[i] as f64 * (w * i as f64).sin();
            c += 2.0 / n * y[i] as f64 * (w * i as f64).cos();
        }
        (s.hypot(c), c.atan2(s))
    }

    #[test]
    fn tones_keep_amplitude_and_phase_at_every_ratio() {
        for (from, to) in [
            (22050u32, 32000u32),
            (32000, 22050),
            (16000, 11025),
            (44100, 8000),
            (48000, 16000),
            (8000, 44100),
        ] {
            for f in [300.0, 1000.0, 3000.0] {
                let x = sine(f, from, from as usize, 0.5);
                let out_len = (x.len() as f64 * to as f64 / from as f64).round() as usize;
                let y = resample_rates(&x, from, to, out_len);
                let (amp, phase) = fit(&y, f, to as f64);
                assert!(
                    (amp - 0.5).abs() < 1e-3,
                    "{from}->{to} {f} Hz: amplitude {amp}"
                );
                // Phase 0 means no time shift: within 1/1000 of a sample at 3 kHz.
                let shift = phase / (TAU * f / to as f64);
                assert!(
                    shift.abs() < 1e-3,
                    "{from}->{to} {f} Hz: shifted {shift} samples"
                );
            }
        }
    }

    #[test]
    fn round_trip_is_transparent_below_the_lower_nyquist() {
        let x: Vec<f32> = [200.0, 1100.0, 2900.0]
            .iter()
            .map(|&f| sine(f, 22050, 22050, 0.3))
            .fold(vec![0.0f32; 22050], |acc, s| {
                acc.iter().zip(&s).map(|(a, b)| a + b).collect()
            });
        for mid in [8000u32, 11025, 16000, 32000] {
            let down = resample_rates(
                &x,
                22050,
                mid,
                (x.len() as f64 * mid as f64 / 22050.0).round() as usize,
            );
            let back = resample_rates(&down, mid, 22050, x.len());
            let inner = 2000..x.len() - 2000;
            let snr = snr_db(&x[inner.clone()], &back[inner]);
            assert!(snr > 60.0, "22050 <-> {mid}: {snr} dB");
        }
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let x = sine(5000.0, 22050, 22050, 0.5);
        let y = resample_rates(&x, 22050, 8000, 8000);
        assert!(rms(&y[500..7500]) < 1e-4, "aliased: {}", rms(&y));
        let x = sine(3000.0, 22050, 22050, 0.5);
        let y = resample_by(&x, 0.5, 11025);
        let f = peak_frequency(&y[1000..10000], 11025);
        assert!((f - 3000.0).abs() < 1.0, "{f}");
    }
}
