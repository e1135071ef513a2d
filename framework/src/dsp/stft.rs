//! Short-time Fourier transform to a power spectrogram.

use ndarray::Array2;
use repbench_fft::{RealPlanner32, RealToComplex};
use std::sync::Arc;

/// A planned STFT: FFT size, hop, and a periodic Hann window of length `n_fft`.
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl Stft {
    /// Plans an STFT. `n_fft` and `hop` must be ≥ 1 (checked at config time).
    pub fn new(n_fft: usize, hop: usize) -> Self {
        let window = (0..n_fft)
            .map(|i| {
                let phase = 2.0 * std::f64::consts::PI * i as f64 / n_fft as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let fft = RealPlanner32::new().forward(n_fft);
        Stft {
            n_fft,
            hop,
            window,
            fft,
        }
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Power spectrogram `|X|^2`, shape `(frames, n_bins)`.
    ///
    /// Frames are centred: the signal is zero-padded by `n_fft / 2` on each
    /// side, giving `1 + len / hop` frames (librosa `center=True,
    /// pad_mode="constant"`).
    pub fn power(&self, signal: &[f32]) -> Array2<f32> {
        let mut out = Array2::zeros((self.n_frames(signal.len()), self.n_bins()));
        self.for_each_power_frame(signal, |t, power| {
            out.row_mut(t)
                .iter_mut()
                .zip(power)
                .for_each(|(o, p)| *o = *p)
        });
        out
    }

    /// Number of (centred) frames of a signal of `len` samples.
    pub fn n_frames(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// Calls `visit(t, power)` with each frame's power spectrum in turn
    /// (frames as in [`Stft::power`]), without holding the whole
    /// spectrogram: a consumer that reduces each frame (a mel filterbank)
    /// keeps its working set in cache.
    pub fn for_each_power_frame(&self, signal: &[f32], mut visit: impl FnMut(usize, &[f32])) {
        let pad = self.n_fft / 2;
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.n_bins()];
        for t in 0..self.n_frames(signal.len()) {
            let start = (t * self.hop) as isize - pad as isize;
            let inside = usize::try_from(start)
                .ok()
                .and_then(|s| signal.get(s..s + self.n_fft));
            if let Some(samples) = inside {
                // Most frames: no padding, so no bounds test per sample.
                for ((slot, x), w) in frame.iter_mut().zip(samples).zip(&self.window) {
                    *slot = x * w;
                }
            } else {
                for (k, slot) in frame.iter_mut().enumerate() {
                    let idx = start + k as isize;
                    let x = if idx >= 0 && (idx as usize) < signal.len() {
                        signal[idx as usize]
                    } else {
                        0.0
                    };
                    *slot = x * self.window[k];
                }
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffers come from the same planned FFT");
            for (o, c) in power.iter_mut().zip(&spectrum) {
                *o = c.norm_sqr();
            }
            visit(t, &power);
        }
    }
}

/// One-shot convenience over [`Stft`].
pub fn power_spectrogram(signal: &[f32], n_fft: usize, hop: usize) -> Array2<f32> {
    Stft::new(n_fft, hop).power(signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_peaks_at_its_bin_and_parseval_holds() {
        let sr = 16000.0;
        let n_fft = 512;
        let bin = 32; // 1000 Hz
        let f = bin as f32 * sr / n_fft as f32;
        let x: Vec<f32> = (0..4096)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / sr).sin())
            .collect();
        let s = power_spectrogram(&x, n_fft, 128);
        assert_eq!(s.dim(), (1 + 4096 / 128, 257));
        let row = s.row(10);
        let argmax = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(argmax, bin);
        // Hann-windowed sine: peak |X| = N/4 per side.
        let expected = (n_fft as f32 / 4.0).powi(2);
        assert!((row[bin] / expected - 1.0).abs() < 1e-3, "{}", row[bin]);
    }
}
