//! Phase-vocoder time stretching with identity phase locking.
//!
//! Method (Laroche & Dolson, "Improved phase vocoder time-scale
//! modification of audio", IEEE TSAP 1999): output frames are `hop = N/4`
//! apart; output frame `m` (centred at `m·hop`) is built from the input
//! frame centred at `round(m·hop·rate)`. For each spectral peak the
//! instantaneous frequency `ω` is measured from the phase difference
//! between that frame and one `hop` samples earlier (unambiguous at any
//! rate, and measured over the input that leads up to the frame); the
//! peak's output phase advances by `ω·hop` from the previous output frame.
//! At rate 1 this reproduces the input's phase advances exactly, so the
//! input comes back unchanged. Every bin in the peak's region of influence (up to the
//! lowest bin between neighbouring peaks) is rotated by the same angle as
//! the peak, which keeps the phase relations inside each partial's main
//! lobe and avoids the "phasiness" of a bin-by-bin vocoder. Rotations are
//! done on phasors, so only peaks need `atan2`, `sin` and `cos`.
//!
//! Frames use a periodic Hann window for analysis and synthesis; at 75 %
//! overlap the squared windows sum to 1.5, which the synthesis divides out.

use repbench_fft::num_complex::Complex32;
use repbench_fft::RealPlanner32;
use std::f64::consts::{PI, TAU};

/// Frame length for a sample rate: the power of two nearest above 80 ms,
/// which resolves partials of low notes (≈ 12 Hz bins) while keeping
/// transient smearing short.
pub(crate) fn frame_len(sample_rate: u32) -> usize {
    ((sample_rate as f64 * 0.08).round() as usize)
        .next_power_of_two()
        .clamp(256, 8192)
}

/// Windowed frame of `x` starting at `start` (zero outside `x`).
fn fill(x: &[f32], start: i64, window: &[f32], out: &mut [f32]) {
    for (k, (o, w)) in out.iter_mut().zip(window).enumerate() {
        let i = start + k as i64;
        *o = if i >= 0 && (i as usize) < x.len() {
            x[i as usize] * w
        } else {
            0.0
        };
    }
}

/// Time-scales `x` so that input time `t` lands at output time `t / rate`
/// (rate 0.5 = twice as long), keeping pitch. Returns exactly `out_len`
/// samples.
pub(crate) fn stretch(x: &[f32], rate: f64, out_len: usize, sample_rate: u32) -> Vec<f32> {
    let n = frame_len(sample_rate);
    let hop = n / 4;
    let delta = n / 4;
    let bins = n / 2 + 1;
    let half = (n / 2) as i64;
    let window: Vec<f32> = (0..n)
        .map(|i| (0.5 - 0.5 * (TAU * i as f64 / n as f64).cos()) as f32)
        .collect();
    let mut planner = RealPlanner32::new();
    let forward = planner.forward(n);
    let inverse = planner.inverse(n);
    let mut fwd_scratch = forward.make_scratch_vec();
    let mut inv_scratch = inverse.make_scratch_vec();
    let mut frame = vec![0.0f32; n];
    let mut now = forward.make_output_vec();
    let mut earlier = forward.make_output_vec();
    let mut synth = forward.make_output_vec();
    let mut prev = forward.make_output_vec();
    let mut power = vec![0.0f32; bins];
    let mut peaks: Vec<usize> = Vec::with_capacity(bins / 2);
    let mut first = true;

    // Output samples t live at acc[t + n]; frames start n/2 before their centre.
    let mut acc = vec![0.0f32; out_len + 2 * n];
    let scale = 1.0 / (n as f32 * 1.5);
    let first_frame = -(half / hop as i64);
    let last_frame = (out_len as i64 + half) / hop as i64 + 1;
    for m in first_frame..=last_frame {
        let centre = ((m * hop as i64) as f64 * rate).round() as i64;
        fill(x, centre - half, &window, &mut frame);
        forward
            .process_with_scratch(&mut frame, &mut now, &mut fwd_scratch)
            .expect("buffers come from the same planned FFT");
        fill(x, centre - delta as i64 - half, &window, &mut frame);
        forward
            .process_with_scratch(&mut frame, &mut earlier, &mut fwd_scratch)
            .expect("buffers come from the same planned FFT");

        for (p, c) in power.iter_mut().zip(&now) {
            *p = c.norm_sqr();
        }
        peaks.clear();
        for k in 1..bins - 1 {
            let v = power[k];
            let left_ok = v > power[k - 1] && (k < 2 || v > power[k - 2]);
            let right_ok = v >= power[k + 1] && (k + 2 >= bins || v >= power[k + 2]);
            if left_ok && right_ok {
                peaks.push(k);
            }
        }

        if peaks.is_empty() {
            synth.copy_from_slice(&now);
        } else {
            let mut lo = 0;
            for (i, &k) in peaks.iter().enumerate() {
                let hi = match peaks.get(i + 1) {
                    // The lowest bin between two peaks starts the next region.
                    Some(&next) => (k + 1..next)
                        .min_by(|&a, &b| power[a].total_cmp(&power[b]))
                        .unwrap_or(next),
                    None => bins,
                };
                let rotation = peak_rotation(earlier[k], now[k], prev[k], k, n, delta, hop, first);
                for b in lo..hi {
                    synth[b] = now[b] * rotation;
                }
                lo = hi;
            }
        }
        prev.copy_from_slice(&synth);
        first = false;

        // A real signal's DC and Nyquist bins are real.
        synth[0].im = 0.0;
        synth[bins - 1].im = 0.0;
        inverse
            .process_with_scratch(&mut synth, &mut frame, &mut inv_scratch)
            .expect("DC and Nyquist bins are real");
        let start = m * hop as i64 - half + n as i64;
        if start >= 0 && (start as usize) < acc.len() {
            let dest = &mut acc[start as usize..];
            for ((a, v), w) in dest.iter_mut().zip(&frame).zip(&window) {
                *a += v * w * scale;
            }
        }
    }
    acc[n..n + out_len].to_vec()
}

/// The unit phasor that turns the analysis phase of peak bin `k` into its
/// output phase.
#[allow(clippy::too_many_arguments)]
fn peak_rotation(
    earlier: Complex32,
    now: Complex32,
    prev: Complex32,
    k: usize,
    n: usize,
    delta: usize,
    hop: usize,
    first: bool,
) -> Complex32 {
    let now_norm = now.norm();
    let prev_norm = prev.norm();
    if first || prev_norm == 0.0 || now_norm == 0.0 {
        return Complex32::new(1.0, 0.0);
    }
    let bin_omega = TAU * k as f64 / n as f64;
    let advance = (now * earlier.conj()).arg() as f64 - bin_omega * delta as f64;
    let deviation = advance - TAU * (advance / TAU).round();
    let omega = bin_omega + deviation / delta as f64;
    let step = (omega * hop as f64).rem_euclid(TAU) - PI;
    // e^{i(ω·hop)} = −e^{i(ω·hop − π)}; the shift keeps the f32 angle small.
    let turn = -Complex32::from_polar(1.0, step as f32);
    let target = prev / prev_norm * turn;
    target * (now.conj() / now_norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{music_like, peak_frequency, snr_db};

    /// Magnitude spectrogram distance `‖|X| − |Y|‖ / ‖X‖` (phase ignored:
    /// a vocoder keeps each partial's phase continuous, not equal to the
    /// input's, so waveforms drift apart while spectra match).
    fn spectral_distance(x: &[f32], y: &[f32]) -> f64 {
        let sx = crate::dsp::power_spectrogram(x, 1024, 256);
        let sy = crate::dsp::power_spectrogram(y, 1024, 256);
        let (mut num, mut den) = (0.0, 0.0);
        for (a, b) in sx.iter().zip(sy.iter()) {
            num += (a.sqrt() as f64 - b.sqrt() as f64).powi(2);
            den += *a as f64;
        }
        (num / den).sqrt()
    }

    #[test]
    fn rate_one_is_transparent_and_near_one_keeps_the_spectrogram() {
        let x = music_like(22050, 2.0, 8);
        let y = stretch(&x, 1.0, x.len(), 22050);
        let n = frame_len(22050);
        let snr = snr_db(&x[n..x.len() - n], &y[n..x.len() - n]);
        assert!(snr > 60.0, "snr {snr} dB");
        // Slightly off 1, the spectrogram still matches closely.
        let y = stretch(&x, 0.999, x.len(), 22050);
        let d = spectral_distance(&x[n..x.len() - n], &y[n..x.len() - n]);
        assert!(d < 0.06, "spectral distance {d}");
    }

    #[test]
    fn stretched_tone_keeps_its_frequency() {
        let sr = 22050;
        let x = crate::perturb::testutil::sine(440.0, sr, sr as usize, 0.5);
        for rate in [0.25, 0.7, 1.5, 4.0] {
            let out_len = (x.len() as f64 / rate).round() as usize;
            let y = stretch(&x, rate, out_len, sr);
            let mid = &y[out_len / 4..3 * out_len / 4];
            let f = peak_frequency(mid, sr);
            assert!((f / 440.0 - 1.0).abs() < 0.002, "rate {rate}: {f} Hz");
        }
    }
}
