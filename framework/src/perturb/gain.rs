//! Gain change in decibels.
//!
//! Parameter: `gain_db` (severity axis, in [-120, 60] dB). Output is
//! `x · 10^(gain_db / 20)`, computed in f64 and rounded once to f32. Samples
//! are not clipped: values beyond ±1 are kept, as a float pipeline would.

use super::{check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// `kind = "gain"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GainSpec {
    /// Gain in dB (severity axis; negative attenuates).
    pub gain_db: Sweep,
}

impl GainSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.gain_db
    }

    pub(crate) fn build(&self, gain_db: f64) -> Gain {
        Gain { gain_db }
    }
}

/// Multiplies by a fixed gain.
#[derive(Debug, Clone, PartialEq)]
pub struct Gain {
    gain_db: f64,
}

impl Gain {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(gain_db: f64) -> Result<Self> {
        let gain = Gain { gain_db };
        gain.check("gain", None)?;
        Ok(gain)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_range(key, "gain_db", self.gain_db, -120.0, 60.0)
    }
}

impl Perturbation for Gain {
    fn id(&self) -> String {
        format!("gain/v1;gain_db={}", num(self.gain_db))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("gain", sample_rate)?;
        self.check("gain", Some(sample_rate))?;
        let factor = 10f64.powf(self.gain_db / 20.0);
        Ok(audio.iter().map(|&x| (x as f64 * factor) as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{music_like, rms};
    use crate::seed::rng;

    #[test]
    fn gain_is_exact_to_a_ten_thousandth_of_a_db() {
        let x = music_like(16000, 2.0, 3);
        for g in [-60.0, -20.0, -6.0206, 0.0, 0.5, 12.0] {
            let y = Gain::new(g)
                .unwrap()
                .apply(&x, 16000, &mut rng(0, &[]))
                .unwrap();
            let measured = 20.0 * (rms(&y) / rms(&x)).log10();
            assert!((measured - g).abs() < 1e-4, "{g}: {measured}");
        }
    }

    #[test]
    fn range_error_names_key() {
        let err = Gain::new(100.0).unwrap_err().to_string();
        assert_eq!(err, "gain.gain_db: must be in [-120, 60] (got 100)");
        assert_eq!(Gain::new(-6.5).unwrap().id(), "gain/v1;gain_db=-6.5");
    }
}
