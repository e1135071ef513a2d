//! Bandwidth loss by resampling down and back up.
//!
//! Parameter: `rate_hz` (severity axis, a whole number of Hz in
//! [1000, 384000] and below the audio's sample rate; lower is more severe).
//! The audio goes to `rate_hz` and back with a Kaiser-windowed sinc
//! resampler (`sinc.rs`), which removes everything above about
//! `0.95 · rate_hz / 2` and keeps timing exactly: the output lines up with
//! the input to a thousandth of a sample and has the input's length.
//! (Not [`crate::audio::resample`]: its FFT resampler leaves a constant
//! shift of up to one input sample for some pairs of rates, e.g. 0.73
//! samples for 16000 ↔ 11025 Hz, which would add a time shift to the
//! bandwidth loss this perturbation is meant to measure.)

use super::sinc::resample_rates;
use super::{bad, check_integer, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// `kind = "resample"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResampleSpec {
    /// Intermediate sample rate in Hz (severity axis).
    pub rate_hz: Sweep,
}

impl ResampleSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.rate_hz
    }

    pub(crate) fn build(&self, rate_hz: f64) -> Resample {
        Resample { rate_hz }
    }
}

/// Resamples to an intermediate rate and back.
#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    rate_hz: f64,
}

impl Resample {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(rate_hz: u32) -> Result<Self> {
        let r = Resample {
            rate_hz: rate_hz as f64,
        };
        r.check("resample", None)?;
        Ok(r)
    }

    pub(crate) fn check(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
        check_integer(key, "rate_hz", self.rate_hz, 1000, 384_000)?;
        match sample_rate {
            Some(sr) if self.rate_hz >= sr as f64 => Err(bad(
                key,
                "rate_hz",
                format!(
                    "must be below the audio's sample rate ({sr} Hz) (got {}); \
                     a higher rate would remove no bandwidth",
                    num(self.rate_hz)
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl Perturbation for Resample {
    fn id(&self) -> String {
        format!("resample/v1;rate_hz={}", num(self.rate_hz))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("resample", sample_rate)?;
        self.check("resample", Some(sample_rate))?;
        let rate = self.rate_hz as u32;
        let low_len = (audio.len() as u64 * rate as u64).div_ceil(sample_rate as u64) as usize;
        let low = resample_rates(audio, sample_rate, rate, low_len);
        Ok(resample_rates(&low, rate, sample_rate, audio.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{rms, sine};
    use crate::seed::rng;

    #[test]
    fn removes_content_above_the_new_nyquist_and_keeps_the_rest_in_place() {
        for (sr, mid) in [
            (22050u32, 8000u32),
            (16000, 11025),
            (44100, 8000),
            (48000, 16000),
        ] {
            let r = Resample::new(mid).unwrap();
            let keep = sine(0.3 * mid as f64, sr, sr as usize, 0.5);
            let lose = sine(0.6 * mid as f64, sr, sr as usize, 0.5);
            let y_keep = r.apply(&keep, sr, &mut rng(0, &[])).unwrap();
            let y_lose = r.apply(&lose, sr, &mut rng(0, &[])).unwrap();
            assert_eq!(y_keep.len(), keep.len());
            let inner = 2000..keep.len() - 2000;
            let err: Vec<f32> = inner.clone().map(|i| y_keep[i] - keep[i]).collect();
            assert!(
                rms(&err) < 1e-3,
                "{sr} <-> {mid}: passband error {}",
                rms(&err)
            );
            assert!(
                rms(&y_lose[inner]) < 1e-3,
                "{sr} <-> {mid}: stopband tone survives"
            );
        }
    }

    #[test]
    fn rate_must_be_below_the_audio_rate() {
        let r = Resample::new(16000).unwrap();
        let err = r
            .apply(&[0.0; 100], 16000, &mut rng(0, &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "resample.rate_hz: must be below the audio's sample rate (16000 Hz) (got 16000)"
            ),
            "{err}"
        );
        let err = Resample::new(10).unwrap_err().to_string();
        assert_eq!(
            err,
            "resample.rate_hz: must be a whole number in 1000..=384000 (got 10)"
        );
    }
}
