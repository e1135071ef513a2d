//! Band-limited resampling with rubato's FFT resampler, delay-compensated so
//! that sample `i` of the output lines up with time `i / to` of the input.

use crate::{Error, Result};
use repbench_fft::FftResampler;

/// Input frames per FFT-resampler chunk: large enough to amortise the FFTs.
const CHUNK: usize = 4096;

/// Resamples mono `samples` from rate `from` to rate `to`.
///
/// The output has `round(len * to / from)` samples. Identity when the rates
/// are equal. A NaN or infinite sample is an error.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let fail = |e: &dyn std::fmt::Display| {
        Error::Other(format!("resampling {from} Hz -> {to} Hz failed: {e}"))
    };
    // NaN or Inf would make the FFT library panic rather than return.
    if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
        return Err(fail(&format!("sample {i} is not a finite number")));
    }
    let mut r = FftResampler::new(from as usize, to as usize, CHUNK, 2).map_err(|e| fail(&e))?;
    let delay = r.output_delay();
    let want = ((samples.len() as u64 * to as u64 + from as u64 / 2) / from as u64) as usize;
    let mut out = Vec::with_capacity(want + delay + CHUNK);
    let mut pos = 0;
    let mut chunk = vec![0.0f32; CHUNK];
    // Feed zeros after the signal until the delayed tail has come out.
    while out.len() < want + delay {
        let take = samples.len().saturating_sub(pos).min(CHUNK);
        chunk[..take].copy_from_slice(&samples[pos..pos + take]);
        chunk[take..].fill(0.0);
        pos += take;
        let produced = r.process(&chunk).map_err(|e| fail(&e))?;
        out.extend_from_slice(&produced);
    }
    Ok(out[delay..delay + want].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, sr: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / sr as f32).sin())
            .collect()
    }

    /// NaN once made the FFT library panic inside `process`.
    #[test]
    fn non_finite_input_is_an_error_not_a_panic() {
        let mut x = sine(440.0, 16000, 8000);
        x[4000] = f32::NAN;
        let err = resample(&x, 16000, 22050).unwrap_err().to_string();
        assert!(err.contains("sample 4000"), "{err}");
    }

    #[test]
    fn resampled_sine_keeps_frequency_amplitude_and_timing() {
        let (from, to, f) = (44100u32, 16000u32, 440.0f64);
        let x = sine(f as f32, from, from as usize);
        let y = resample(&x, from, to).unwrap();
        assert_eq!(y.len(), 16000);
        // Least-squares fit of a*sin + b*cos at 440 Hz away from the edges.
        let w = 2.0 * std::f64::consts::PI * f / to as f64;
        let range = 400..15600;
        let n = range.len() as f64;
        let (mut a, mut b) = (0.0, 0.0);
        for i in range.clone() {
            a += 2.0 / n * y[i] as f64 * (w * i as f64).sin();
            b += 2.0 / n * y[i] as f64 * (w * i as f64).cos();
        }
        let amplitude = a.hypot(b);
        assert!((amplitude - 1.0).abs() < 1e-3, "amplitude {amplitude}");
        let residual = range
            .map(|i| (y[i] as f64 - a * (w * i as f64).sin() - b * (w * i as f64).cos()).abs())
            .fold(0.0, f64::max);
        assert!(residual < 1e-3, "residual {residual}");
        // Any constant delay is below one input sample.
        let delay_s = b.atan2(a).abs() / (2.0 * std::f64::consts::PI * f);
        assert!(delay_s < 1.0 / from as f64, "delay {delay_s} s");
    }

    #[test]
    fn equal_rates_are_identity() {
        let x = sine(100.0, 8000, 1000);
        assert_eq!(resample(&x, 8000, 8000).unwrap(), x);
    }
}
