//! Mel scale and triangular mel filterbank.
//!
//! Slaney's Auditory Toolbox mel scale (linear below 1 kHz, logarithmic
//! above) and Slaney area normalisation, as in librosa `filters.mel` with
//! `htk=False, norm="slaney"` (McFee et al., librosa 0.10).

use ndarray::Array2;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hertz to Slaney mel.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

/// Slaney mel to hertz.
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        mel * F_SP
    }
}

/// Mel filterbank, shape `(n_mels, n_fft / 2 + 1)`.
///
/// Filter `i` is a triangle from mel point `i` to `i + 2` (peak at `i + 1`)
/// over `n_mels + 2` points equally spaced in mel between `fmin` and `fmax`,
/// scaled by `2 / (f[i+2] - f[i])` so each filter has unit area in Hz.
pub fn mel_filterbank(sr: u32, n_fft: usize, n_mels: usize, fmin: f64, fmax: f64) -> Array2<f32> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * sr as f64 / n_fft as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = Array2::zeros((n_mels, n_bins));
    for i in 0..n_mels {
        let (left, centre, right) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let norm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            let w = lower.min(upper).max(0.0);
            weights[[i, k]] = (w * norm) as f32;
        }
    }
    weights
}

/// A mel filterbank kept as its non-zero run per band: each triangle
/// covers a few bins of the spectrum, so applying it per frame costs about
/// two multiply-adds per bin instead of `n_mels` (the dense product).
#[derive(Debug, Clone)]
pub struct MelBands {
    /// Per band: the first bin with a non-zero weight, and the weights from
    /// there to the last non-zero one.
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelBands {
    /// The non-zero runs of a dense `(n_mels, n_bins)` filterbank such as
    /// [`mel_filterbank`]'s.
    pub fn from_dense(weights: &Array2<f32>) -> Self {
        let bands = weights
            .outer_iter()
            .map(|row| {
                let first = row.iter().position(|w| *w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|w| *w != 0.0).map_or(0, |l| l + 1);
                (
                    first,
                    row.slice(ndarray::s![first..last.max(first)]).to_vec(),
                )
            })
            .collect();
        MelBands { bands }
    }

    /// Number of bands.
    pub fn len(&self) -> usize {
        self.bands.len()
    }

    /// Whether there are no bands.
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// Band energies of one power spectrum (`n_bins` values) into `out`
    /// (one value per band): each band's weighted sum over its run, in bin
    /// order.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        for ((first, weights), o) in self.bands.iter().zip(out.iter_mut()) {
            *o = weights
                .iter()
                .zip(&power[*first..])
                .fold(0.0, |sum, (w, p)| sum + w * p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sparse bands give the dense product (up to summation order) for
    /// two filterbank settings.
    #[test]
    fn sparse_bands_equal_the_dense_product() {
        for (sr, n_fft, n_mels, fmin, fmax) in [
            (16_000, 512, 64, 0.0, 8_000.0),
            (22_050, 1024, 40, 30.0, 7_600.0),
        ] {
            let dense = mel_filterbank(sr, n_fft, n_mels, fmin, fmax);
            let bands = MelBands::from_dense(&dense);
            assert_eq!(bands.len(), n_mels);
            let power: Vec<f32> = (0..n_fft / 2 + 1)
                .map(|k| ((k * 37 % 101) as f32).powi(2))
                .collect();
            let mut sparse = vec![0.0; n_mels];
            bands.apply(&power, &mut sparse);
            let expected = dense.dot(&ndarray::Array1::from(power.clone()));
            for (a, b) in sparse.iter().zip(&expected) {
                assert!((a - b).abs() <= 1e-5 * b.abs(), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn mel_scale_round_trips_and_matches_slaney_anchor_points() {
        for hz in [0.0, 200.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9);
    }
}
