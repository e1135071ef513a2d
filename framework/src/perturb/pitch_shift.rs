//! Pitch change without duration change.
//!
//! Parameter: `semitones` (severity axis, in [-24, 24]). With
//! `p = 2^(semitones / 12)` the clip is first time-stretched to `p` times
//! its length by the phase vocoder (pitch kept), then resampled by `1 / p`
//! with a windowed-sinc interpolator (`sinc.rs`) back to exactly the input's length,
//! which multiplies every frequency by `p` (the method of librosa's
//! `pitch_shift`). Formants move with the pitch.

use super::sinc::resample_by;
use super::vocoder::stretch;
use super::{check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// Largest shift in either direction, in semitones (two octaves).
pub const MAX_SEMITONES: f64 = 24.0;

/// `kind = "pitch_shift"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PitchShiftSpec {
    /// Shift in semitones (severity axis; negative lowers the pitch).
    pub semitones: Sweep,
}

impl PitchShiftSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.semitones
    }

    pub(crate) fn build(&self, semitones: f64) -> PitchShift {
        PitchShift { semitones }
    }
}

/// Shifts pitch by a fixed number of semitones.
#[derive(Debug, Clone, PartialEq)]
pub struct PitchShift {
    semitones: f64,
}

impl PitchShift {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(semitones: f64) -> Result<Self> {
        let p = PitchShift { semitones };
        p.check("pitch_shift", None)?;
        Ok(p)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_range(
            key,
            "semitones",
            self.semitones,
            -MAX_SEMITONES,
            MAX_SEMITONES,
        )
    }
}

impl Perturbation for PitchShift {
    fn id(&self) -> String {
        format!("pitch_shift/v1;semitones={}", num(self.semitones))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("pitch_shift", sample_rate)?;
        self.check("pitch_shift", Some(sample_rate))?;
        if self.semitones == 0.0 || audio.is_empty() {
            return Ok(audio.to_vec());
        }
        let factor = 2f64.powf(self.semitones / 12.0);
        let stretched_len = (audio.len() as f64 * factor).round() as usize;
        let stretched = stretch(audio, 1.0 / factor, stretched_len, sample_rate);
        Ok(resample_by(&stretched, 1.0 / factor, audio.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{active_span, music_like, peak_frequency, sine};
    use crate::seed::rng;

    #[test]
    fn octave_up_doubles_frequency_and_keeps_duration() {
        let sr = 22050;
        let mut x = vec![0.0f32; 4 * sr as usize];
        x[sr as usize..3 * sr as usize].copy_from_slice(&sine(440.0, sr, 2 * sr as usize, 0.5));
        for (semitones, want_hz) in [
            (12.0, 880.0),
            (-12.0, 220.0),
            (7.0, 440.0 * 2f64.powf(7.0 / 12.0)),
        ] {
            let y = PitchShift::new(semitones)
                .unwrap()
                .apply(&x, sr, &mut rng(0, &[]))
                .unwrap();
            assert_eq!(y.len(), x.len());
            let (start, end) = active_span(&y, sr);
            assert!(
                ((end - start) / 2.0 - 1.0).abs() < 0.01,
                "{semitones}: lasts {} s",
                end - start
            );
            assert!(
                (start - 1.0).abs() < 0.02,
                "{semitones}: starts at {start} s"
            );
            let f = peak_frequency(
                &y[(1.5 * sr as f64) as usize..(2.5 * sr as f64) as usize],
                sr,
            );
            assert!(
                (f / want_hz - 1.0).abs() < 0.01,
                "{semitones}: {f} Hz, want {want_hz}"
            );
        }
    }

    #[test]
    fn zero_shift_is_identity_and_range_is_checked() {
        let x = music_like(16000, 0.5, 1);
        assert_eq!(
            PitchShift::new(0.0)
                .unwrap()
                .apply(&x, 16000, &mut rng(0, &[]))
                .unwrap(),
            x
        );
        let err = PitchShift::new(30.0).unwrap_err().to_string();
        assert_eq!(err, "pitch_shift.semitones: must be in [-24, 24] (got 30)");
    }
}
