//! Tempo change without pitch change.
//!
//! Parameter: `rate` (severity axis, in [0.25, 4]): playback speed, so 0.5
//! makes the clip twice as long and 2 half as long. The output has
//! `round(len / rate)` samples — the one perturbation whose output length
//! differs from its input's. Method: phase vocoder with identity phase
//! locking (see `vocoder.rs`; frames of ≈ 80 ms at 75 % overlap).

use super::vocoder::stretch;
use super::{check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// Allowed playback-rate range.
pub const RATE_RANGE: (f64, f64) = (0.25, 4.0);

/// `kind = "time_stretch"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeStretchSpec {
    /// Playback rate (severity axis; 1 is unchanged).
    pub rate: Sweep,
}

impl TimeStretchSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.rate
    }

    pub(crate) fn build(&self, rate: f64) -> TimeStretch {
        TimeStretch { rate }
    }
}

/// Changes duration by `1 / rate`, keeping pitch.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeStretch {
    rate: f64,
}

impl TimeStretch {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(rate: f64) -> Result<Self> {
        let t = TimeStretch { rate };
        t.check("time_stretch", None)?;
        Ok(t)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_range(key, "rate", self.rate, RATE_RANGE.0, RATE_RANGE.1)
    }
}

impl Perturbation for TimeStretch {
    fn id(&self) -> String {
        format!("time_stretch/v1;rate={}", num(self.rate))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("time_stretch", sample_rate)?;
        self.check("time_stretch", Some(sample_rate))?;
        if self.rate == 1.0 {
            return Ok(audio.to_vec());
        }
        let out_len = (audio.len() as f64 / self.rate).round() as usize;
        Ok(stretch(audio, self.rate, out_len, sample_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{active_span, peak_frequency, sine};
    use crate::seed::rng;

    /// 1 s of silence, a 2 s tone, 1 s of silence.
    fn tone_burst(freq: f64, sr: u32) -> Vec<f32> {
        let mut x = vec![0.0f32; 4 * sr as usize];
        let tone = sine(freq, sr, 2 * sr as usize, 0.5);
        x[sr as usize..3 * sr as usize].copy_from_slice(&tone);
        x
    }

    #[test]
    fn half_rate_doubles_duration_and_keeps_pitch() {
        let sr = 22050;
        let x = tone_burst(440.0, sr);
        for rate in [0.5, 0.8, 2.0] {
            let y = TimeStretch::new(rate)
                .unwrap()
                .apply(&x, sr, &mut rng(0, &[]))
                .unwrap();
            assert_eq!(y.len(), (x.len() as f64 / rate).round() as usize);
            let (start, end) = active_span(&y, sr);
            let duration = end - start;
            let want = 2.0 / rate;
            assert!(
                (duration / want - 1.0).abs() < 0.01,
                "rate {rate}: tone lasts {duration} s, want {want}"
            );
            assert!(
                (start - 1.0 / rate).abs() < 0.05,
                "rate {rate}: starts at {start} s"
            );
            let s = (start * sr as f64) as usize;
            let e = (end * sr as f64) as usize;
            let f = peak_frequency(&y[s + (e - s) / 4..e - (e - s) / 4], sr);
            assert!((f / 440.0 - 1.0).abs() < 0.01, "rate {rate}: {f} Hz");
        }
    }

    #[test]
    fn rate_range_is_checked() {
        let err = TimeStretch::new(0.1).unwrap_err().to_string();
        assert_eq!(err, "time_stretch.rate: must be in [0.25, 4] (got 0.1)");
        assert_eq!(
            TimeStretch::new(0.5).unwrap().id(),
            "time_stretch/v1;rate=0.5"
        );
    }
}
