//! `mfcc_stats`: MFCC frames (DCT-II of log-mel), pooled over time.

use super::logmel::{LogMelFrontEnd, MelSpec};
use super::Encoder;
use crate::dsp::dct2_ortho;
use crate::pooling::Pooling;
use crate::Result;
use ndarray::Array2;

/// Bumped whenever the computation changes (3: the log-mel front end sums
/// mel bands per frame over their non-zero bins).
const IMPL_VERSION: u32 = 3;
/// Coefficients kept when the config does not say (librosa's default).
pub const DEFAULT_N_MFCC: usize = 20;

/// The `mfcc_stats` encoder.
pub struct MfccStats {
    spec: MelSpec,
    n_mfcc: usize,
    front: LogMelFrontEnd,
}

impl MfccStats {
    /// Builds the encoder from validated options.
    pub fn new(spec: MelSpec) -> Self {
        let front = LogMelFrontEnd::new(&spec);
        let n_mfcc = spec.n_mfcc.unwrap_or(DEFAULT_N_MFCC);
        MfccStats {
            spec,
            n_mfcc,
            front,
        }
    }
}

impl Encoder for MfccStats {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn fingerprint(&self) -> String {
        format!(
            "mfcc_stats/v{IMPL_VERSION};{};n_mfcc={}",
            self.spec.fingerprint_fields(),
            self.n_mfcc
        )
    }
    fn sample_rate(&self) -> u32 {
        self.spec.sample_rate
    }
    fn layers(&self) -> Vec<String> {
        vec!["mfcc".into()]
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        let log_mel = self.front.log_mel(audio);
        Ok(vec![dct2_ortho(log_mel.view(), self.n_mfcc)])
    }
    fn pooling(&self) -> Pooling {
        self.spec.pooling
    }
    fn duration_s(&self) -> Option<f64> {
        self.spec.duration_s
    }
}
