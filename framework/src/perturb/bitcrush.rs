//! Bit-depth reduction.
//!
//! Parameter: `bits` (severity axis, a whole number in 1..=16; lower is more
//! severe). Like PCM at that depth: with `q = 2^(bits−1)` the output is
//! `clamp(round(x·q), −q, q − 1) / q`, i.e. exactly `2^bits` levels over
//! [−1, 1) including zero, so silence stays silent. Samples beyond ±1 are
//! clipped, as a fixed-point converter would.

use super::{check_integer, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// `kind = "bitcrush"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitcrushSpec {
    /// Bit depth (severity axis).
    pub bits: Sweep,
}

impl BitcrushSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.bits
    }

    pub(crate) fn build(&self, bits: f64) -> Bitcrush {
        Bitcrush { bits }
    }
}

/// Quantises to `2^bits` levels.
#[derive(Debug, Clone, PartialEq)]
pub struct Bitcrush {
    // Kept as f64 so a non-integer config value reaches `check` intact.
    bits: f64,
}

impl Bitcrush {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(bits: u32) -> Result<Self> {
        let b = Bitcrush { bits: bits as f64 };
        b.check("bitcrush", None)?;
        Ok(b)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_integer(key, "bits", self.bits, 1, 16)
    }
}

impl Perturbation for Bitcrush {
    fn id(&self) -> String {
        format!("bitcrush/v1;bits={}", num(self.bits))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("bitcrush", sample_rate)?;
        self.check("bitcrush", Some(sample_rate))?;
        let q = 2f64.powf(self.bits - 1.0);
        Ok(audio
            .iter()
            .map(|&x| ((x as f64 * q).round().clamp(-q, q - 1.0) / q) as f32)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::music_like;
    use crate::seed::rng;
    use std::collections::BTreeSet;

    #[test]
    fn output_has_at_most_two_to_the_bits_levels_on_the_grid() {
        let x: Vec<f32> = music_like(16000, 1.0, 5).iter().map(|v| v * 2.5).collect();
        for bits in [1u32, 2, 4, 8, 12] {
            let y = Bitcrush::new(bits)
                .unwrap()
                .apply(&x, 16000, &mut rng(0, &[]))
                .unwrap();
            let q = 2f64.powi(bits as i32 - 1);
            let levels: BTreeSet<i64> = y.iter().map(|&v| (v as f64 * q) as i64).collect();
            assert!(levels.len() <= 1 << bits, "{bits}: {}", levels.len());
            assert!(y.iter().all(|&v| (v as f64 * q).fract() == 0.0));
            for (&a, &b) in x.iter().zip(&y) {
                if (a as f64).abs() < 1.0 - 1.0 / q {
                    assert!(
                        (a as f64 - b as f64).abs() <= 0.5 / q + 1e-7,
                        "{bits}: {a} -> {b}"
                    );
                }
            }
        }
        let silent = vec![0.0f32; 10];
        assert_eq!(
            Bitcrush::new(3)
                .unwrap()
                .apply(&silent, 8000, &mut rng(0, &[]))
                .unwrap(),
            silent
        );
    }

    #[test]
    fn bits_must_be_a_whole_number_in_range() {
        let err = Bitcrush::new(17).unwrap_err().to_string();
        assert_eq!(
            err,
            "bitcrush.bits: must be a whole number in 1..=16 (got 17)"
        );
        let err = Bitcrush { bits: 4.5 }
            .check("p[2]", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p[2].bits: must be a whole number"),
            "{err}"
        );
    }
}
