//! `logmel_stats`: log-mel spectrogram frames (dB), pooled over time.

use super::Encoder;
use crate::dsp::{mel_filterbank, to_db, MelBands, Stft};
use crate::pooling::Pooling;
use crate::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Bumped whenever the computation changes, so old cache entries are not
/// reused (3: mel bands summed per frame over their non-zero bins).
const IMPL_VERSION: u32 = 3;
/// Floor before taking the log (librosa's `amin`).
const AMIN: f32 = 1e-10;

// Defaults shared by every log-mel front end (also `random_network`).
pub(crate) fn d_sample_rate() -> u32 {
    16000
}
pub(crate) fn d_n_fft() -> usize {
    512
}
pub(crate) fn d_hop() -> usize {
    160
}
pub(crate) fn d_n_mels() -> usize {
    64
}
pub(crate) fn d_top_db() -> f64 {
    80.0
}

/// Options of the mel-based encoders, `logmel_stats` and `mfcc_stats`
/// (all but `name` have defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MelSpec {
    /// Name used in results and the report.
    pub name: String,
    /// Rate audio is resampled to before analysis.
    #[serde(default = "d_sample_rate")]
    pub sample_rate: u32,
    /// FFT size (and window length) in samples.
    #[serde(default = "d_n_fft")]
    pub n_fft: usize,
    /// Hop between frames in samples.
    #[serde(default = "d_hop")]
    pub hop_length: usize,
    /// Number of mel bands.
    #[serde(default = "d_n_mels")]
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    #[serde(default)]
    pub fmin: f64,
    /// Highest filter edge in Hz (default: Nyquist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmax: Option<f64>,
    /// Dynamic range kept below each item's loudest bin, in dB (librosa's
    /// `top_db`, default 80): quieter bins are raised to that floor, so
    /// digital silence does not dominate the features and a faint noise
    /// floor does not move them by 100 dB.
    #[serde(default = "d_top_db")]
    pub top_db: f64,
    /// Temporal pooling.
    #[serde(default)]
    pub pooling: Pooling,
    /// Crop or zero-pad every item to this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Cepstral coefficients kept (`mfcc_stats` only; default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_mfcc: Option<usize>,
}

impl MelSpec {
    /// Upper filter edge, defaulting to Nyquist.
    pub fn fmax(&self) -> f64 {
        self.fmax.unwrap_or(self.sample_rate as f64 / 2.0)
    }

    /// Range checks with the offending key in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        let bad =
            |field: &str, reason: String| Err(Error::config(format!("{key}.{field}"), reason));
        if self.sample_rate < 1000 {
            return bad(
                "sample_rate",
                format!("must be at least 1000 Hz (got {})", self.sample_rate),
            );
        }
        if !(16..=65536).contains(&self.n_fft) {
            return bad(
                "n_fft",
                format!("must be in 16..=65536 (got {})", self.n_fft),
            );
        }
        if self.hop_length == 0 || self.hop_length > self.n_fft {
            return bad(
                "hop_length",
                format!(
                    "must be in 1..=n_fft ({}) (got {})",
                    self.n_fft, self.hop_length
                ),
            );
        }
        if self.n_mels == 0 || self.n_mels > self.n_fft / 2 {
            return bad(
                "n_mels",
                format!(
                    "must be in 1..={} (n_fft / 2) (got {})",
                    self.n_fft / 2,
                    self.n_mels
                ),
            );
        }
        let nyquist = self.sample_rate as f64 / 2.0;
        if !(self.fmin >= 0.0 && self.fmin < self.fmax()) {
            return bad(
                "fmin",
                format!(
                    "must be ≥ 0 and below fmax ({}) (got {})",
                    self.fmax(),
                    self.fmin
                ),
            );
        }
        if self.fmax() > nyquist {
            return bad(
                "fmax",
                format!(
                    "must be at most the Nyquist frequency {nyquist} Hz (got {})",
                    self.fmax()
                ),
            );
        }
        if !(self.top_db.is_finite() && self.top_db > 0.0) {
            return bad(
                "top_db",
                format!("must be a positive number of dB (got {})", self.top_db),
            );
        }
        super::check_duration(key, self.duration_s)
    }

    /// Canonical option string shared by the mel-based encoders.
    pub(crate) fn fingerprint_fields(&self) -> String {
        format!(
            "sr={};n_fft={};hop={};n_mels={};fmin={:?};fmax={:?};top_db={:?};pool={};dur={:?}",
            self.sample_rate,
            self.n_fft,
            self.hop_length,
            self.n_mels,
            self.fmin,
            self.fmax(),
            self.top_db,
            self.pooling.as_str(),
            self.duration_s
        )
    }
}

/// The log-mel front end shared by `logmel_stats` and `mfcc_stats`.
pub struct LogMelFrontEnd {
    stft: Stft,
    bands: MelBands,
    top_db: f32,
}

impl LogMelFrontEnd {
    /// Plans the STFT and builds the filterbank once.
    pub fn new(spec: &MelSpec) -> Self {
        LogMelFrontEnd {
            stft: Stft::new(spec.n_fft, spec.hop_length),
            bands: MelBands::from_dense(&mel_filterbank(
                spec.sample_rate,
                spec.n_fft,
                spec.n_mels,
                spec.fmin,
                spec.fmax(),
            )),
            top_db: spec.top_db as f32,
        }
    }

    /// Log-mel frames in dB, shape `(frames, n_mels)`, floored at
    /// `top_db` below the item's maximum.
    ///
    /// Each frame's power spectrum goes straight into its mel bands and
    /// decibels (`10 log10(max(amin, x))`, librosa's `power_to_db`), so
    /// the full spectrogram is never stored.
    pub fn log_mel(&self, audio: &[f32]) -> Array2<f32> {
        let mut db = Array2::zeros((self.stft.n_frames(audio.len()), self.bands.len()));
        let mut mel = vec![0.0f32; self.bands.len()];
        self.stft.for_each_power_frame(audio, |t, power| {
            self.bands.apply(power, &mut mel);
            for (o, m) in db.row_mut(t).iter_mut().zip(&mel) {
                *o = to_db(*m, AMIN);
            }
        });
        let floor = db.fold(f32::NEG_INFINITY, |m, &v| m.max(v)) - self.top_db;
        db.mapv_inplace(|v| v.max(floor));
        db
    }
}

/// The `logmel_stats` encoder.
pub struct LogMelStats {
    spec: MelSpec,
    front: LogMelFrontEnd,
}

impl LogMelStats {
    /// Builds the encoder from validated options.
    pub fn new(spec: MelSpec) -> Self {
        let front = LogMelFrontEnd::new(&spec);
        LogMelStats { spec, front }
    }
}

impl Encoder for LogMelStats {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn fingerprint(&self) -> String {
        format!(
            "logmel_stats/v{IMPL_VERSION};{}",
            self.spec.fingerprint_fields()
        )
    }
    fn sample_rate(&self) -> u32 {
        self.spec.sample_rate
    }
    fn layers(&self) -> Vec<String> {
        vec!["logmel".into()]
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        Ok(vec![self.front.log_mel(audio)])
    }
    fn pooling(&self) -> Pooling {
        self.spec.pooling
    }
    fn duration_s(&self) -> Option<f64> {
        self.spec.duration_s
    }
}
