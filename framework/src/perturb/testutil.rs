//! Signals and measurements shared by the perturbation tests.

use repbench_fft::RealPlanner64;
use std::f64::consts::TAU;

/// A music-like test signal: three harmonic notes that change every half
/// second, with decaying partials, vibrato and a little noise. Peak ≈ 0.5.
pub fn music_like(sample_rate: u32, seconds: f64, seed: u64) -> Vec<f32> {
    let sr = sample_rate as f64;
    let n = (seconds * sr).round() as usize;
    let noise = super::random::gaussian(&mut crate::seed::rng(seed, &["music_like"]), n);
    let notes = [220.0, 277.18, 329.63, 392.0, 246.94, 311.13];
    let mut phases = [0.0f64; 3];
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let step = (t * 2.0) as usize;
            let vibrato = 1.0 + 0.003 * (TAU * 5.0 * t).sin();
            let mut v = 0.0;
            for (voice, phase) in phases.iter_mut().enumerate() {
                let f0 = notes[(step + 2 * voice + seed as usize) % notes.len()] * vibrato;
                *phase += TAU * f0 / sr;
                for h in 1..=8 {
                    if f0 * h as f64 >= sr / 2.0 {
                        break;
                    }
                    v += 0.06 / h as f64 * (*phase * h as f64).sin();
                }
            }
            let envelope = 0.6 + 0.4 * (-(t * 2.0).fract() * 3.0).exp();
            (v * envelope + 0.01 * noise[i]) as f32
        })
        .collect()
}

/// A pure tone.
pub fn sine(freq: f64, sample_rate: u32, n: usize, amplitude: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amplitude * (TAU * freq * i as f64 / sample_rate as f64).sin()) as f32)
        .collect()
}

/// `10·log10(P_x / P_(y-x))`.
pub fn snr_db(x: &[f32], y: &[f32]) -> f64 {
    let ps: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
    let pn: f64 = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (b as f64 - a as f64).powi(2))
        .sum();
    10.0 * (ps / pn).log10()
}

/// Root mean square.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Frequency of the strongest spectral peak of `x`: Hann window, FFT zero-
/// padded to 4× the length, parabolic interpolation on log magnitude.
pub fn peak_frequency(x: &[f32], sample_rate: u32) -> f64 {
    let n = x.len();
    let m = (4 * n).next_power_of_two();
    let mut buf = vec![0.0f64; m];
    for (i, &v) in x.iter().enumerate() {
        buf[i] = v as f64 * (0.5 - 0.5 * (TAU * i as f64 / n as f64).cos());
    }
    let fft = RealPlanner64::new().forward(m);
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).unwrap();
    let mag: Vec<f64> = spec.iter().map(|c| c.norm().max(1e-300).ln()).collect();
    let k = (1..mag.len() - 1)
        .max_by(|&a, &b| mag[a].total_cmp(&mag[b]))
        .unwrap();
    let (a, b, c) = (mag[k - 1], mag[k], mag[k + 1]);
    let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + offset) * sample_rate as f64 / m as f64
}

/// Magnitude response in dB of the impulse response `h` at `n_fft / 2 + 1`
/// equally spaced frequencies from 0 to Nyquist.
pub fn magnitude_db(h: &[f32], n_fft: usize) -> Vec<f64> {
    let mut buf = vec![0.0f64; n_fft];
    for (b, &v) in buf.iter_mut().zip(h) {
        *b = v as f64;
    }
    let fft = RealPlanner64::new().forward(n_fft);
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).unwrap();
    spec.iter()
        .map(|c| 20.0 * c.norm().max(1e-300).log10())
        .collect()
}

/// Frequencies (Hz) where the response `db` (from [`magnitude_db`])
/// crosses `level` dB, linearly interpolated between bins.
pub fn crossings(db: &[f64], sample_rate: u32, level: f64) -> Vec<f64> {
    let bin_hz = sample_rate as f64 / (2.0 * (db.len() - 1) as f64);
    db.windows(2)
        .enumerate()
        .filter(|(_, w)| (w[0] - level) * (w[1] - level) < 0.0)
        .map(|(k, w)| (k as f64 + (level - w[0]) / (w[1] - w[0])) * bin_hz)
        .collect()
}

/// Start and end (seconds) of the region where the 10 ms RMS envelope of
/// `x` is above half its maximum.
pub fn active_span(x: &[f32], sample_rate: u32) -> (f64, f64) {
    let win = (sample_rate as usize / 100).max(1);
    let env: Vec<f64> = (0..x.len().saturating_sub(win))
        .map(|i| rms(&x[i..i + win]))
        .collect();
    let peak = env.iter().cloned().fold(0.0, f64::max);
    let first = env.iter().position(|&e| e > peak / 2.0).unwrap();
    let last = env.iter().rposition(|&e| e > peak / 2.0).unwrap();
    let centre = win as f64 / 2.0;
    (
        (first as f64 + centre) / sample_rate as f64,
        (last as f64 + centre) / sample_rate as f64,
    )
}
