//! Spectral front ends, written to match librosa's conventions exactly
//! (tests compare against librosa output committed as fixtures):
//! centred frames with zero padding, periodic Hann window, Slaney mel scale
//! with Slaney area normalisation, orthonormal DCT-II.

mod dct;
mod mel;
mod stft;

pub use dct::dct2_ortho;
pub use mel::{hz_to_mel, mel_filterbank, mel_to_hz, MelBands};
pub use stft::{power_spectrogram, Stft};

use ndarray::Array2;

/// `10 * log10(max(amin, x))`, elementwise (librosa `power_to_db` with
/// `ref=1.0` and `top_db=None`).
pub fn power_to_db(x: &Array2<f32>, amin: f32) -> Array2<f32> {
    x.mapv(|v| to_db(v, amin))
}

/// [`power_to_db`] of one value.
pub fn to_db(power: f32, amin: f32) -> f32 {
    10.0 * power.max(amin).log10()
}

#[cfg(test)]
mod librosa_reference {
    //! Compares against `tests/fixtures/librosa_dsp.json`, written by
    //! `scripts/make_dsp_fixtures.py` with librosa.
    use super::*;
    use ndarray::Array2;
    use serde_json::Value;

    fn fixture() -> Value {
        let text = include_str!("../../tests/fixtures/librosa_dsp.json");
        serde_json::from_str(text).unwrap()
    }

    fn matrix(v: &Value) -> Array2<f32> {
        let rows: Vec<Vec<f32>> = serde_json::from_value(v.clone()).unwrap();
        let (r, c) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((r, c), rows.into_iter().flatten().collect()).unwrap()
    }

    fn assert_close(ours: &Array2<f32>, theirs: &Array2<f32>, rel: f32, abs: f32, what: &str) {
        assert_eq!(ours.dim(), theirs.dim(), "{what} shape");
        for ((i, a), b) in ours.indexed_iter().zip(theirs.iter()) {
            let tol = abs + rel * b.abs();
            assert!(
                (a - b).abs() <= tol,
                "{what} at {i:?}: ours {a}, librosa {b}"
            );
        }
    }

    #[test]
    fn filterbank_matches_librosa() {
        let f = fixture();
        let fb = &f["filterbank"];
        let ours = mel_filterbank(16000, 512, 40, 30.0, 7600.0);
        assert_close(&ours, &matrix(&fb["weights"]), 1e-5, 1e-7, "filterbank");
    }

    #[test]
    fn melspec_db_and_mfcc_match_librosa() {
        let f = fixture();
        let signal: Vec<f32> = serde_json::from_value(f["signal"].clone()).unwrap();
        let power = power_spectrogram(&signal, 512, 160);
        let fb = mel_filterbank(16000, 512, 40, 0.0, 8000.0);
        let mel = power.dot(&fb.t());
        assert_close(&mel, &matrix(&f["melspec"]["power"]), 1e-4, 1e-6, "melspec");
        let db = power_to_db(&mel, 1e-10);
        assert_close(&db, &matrix(&f["melspec"]["db"]), 0.0, 1e-3, "dB");
        let mfcc = dct2_ortho(db.view(), 13);
        assert_close(&mfcc, &matrix(&f["mfcc"]["values"]), 0.0, 5e-3, "mfcc");
    }
}
