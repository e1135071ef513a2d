//! Hard clipping at a percentile of the absolute sample values.
//!
//! Parameter: `percentile` (severity axis, in [1, 100]; lower is more
//! severe). The threshold `t` is the `percentile`-th percentile of `|x|`
//! with linear interpolation between order statistics (NumPy's default
//! `"linear"` method: rank `p/100 · (n − 1)`); the output is
//! `clamp(x, −t, t)`. At 100 the threshold is `max |x|` and nothing changes.

use super::{check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// `kind = "clipping"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClippingSpec {
    /// Percentile of `|x|` to clip at (severity axis).
    pub percentile: Sweep,
}

impl ClippingSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.percentile
    }

    pub(crate) fn build(&self, percentile: f64) -> Clipping {
        Clipping { percentile }
    }
}

/// Clips at a percentile of the clip's own amplitude distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Clipping {
    percentile: f64,
}

impl Clipping {
    /// Checks the parameter (see the module docs for its range).
    pub fn new(percentile: f64) -> Result<Self> {
        let c = Clipping { percentile };
        c.check("clipping", None)?;
        Ok(c)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        check_range(key, "percentile", self.percentile, 1.0, 100.0)
    }
}

/// The `p`-th percentile of `|x|` (linear interpolation), in O(n).
fn abs_percentile(x: &[f32], p: f64) -> f32 {
    let mut a: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let rank = p / 100.0 * (a.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let frac = rank - lo as f64;
    let (_, &mut lower, above) = a.select_nth_unstable_by(lo, f32::total_cmp);
    if frac == 0.0 || above.is_empty() {
        return lower;
    }
    let upper = above.iter().copied().fold(f32::INFINITY, f32::min);
    (lower as f64 + frac * (upper as f64 - lower as f64)) as f32
}

impl Perturbation for Clipping {
    fn id(&self) -> String {
        format!("clipping/v1;percentile={}", num(self.percentile))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("clipping", sample_rate)?;
        self.check("clipping", Some(sample_rate))?;
        if audio.is_empty() {
            return Ok(Vec::new());
        }
        let t = abs_percentile(audio, self.percentile);
        Ok(audio.iter().map(|&v| v.clamp(-t, t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::music_like;
    use crate::seed::rng;

    #[test]
    fn threshold_matches_sorted_percentile_and_clips_that_share() {
        let x = music_like(16000, 2.0, 4);
        let mut sorted: Vec<f64> = x.iter().map(|v| v.abs() as f64).collect();
        sorted.sort_by(f64::total_cmp);
        for p in [50.0, 90.0, 99.0, 99.9] {
            let rank = p / 100.0 * (sorted.len() - 1) as f64;
            let (lo, frac) = (rank.floor() as usize, rank.fract());
            let expected = sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
            let y = Clipping::new(p)
                .unwrap()
                .apply(&x, 16000, &mut rng(0, &[]))
                .unwrap();
            let t = y.iter().map(|v| v.abs()).fold(0.0f32, f32::max) as f64;
            assert!((t - expected).abs() < 1e-6, "{p}: {t} vs {expected}");
            let clipped = x.iter().filter(|v| v.abs() as f64 > t).count() as f64;
            let share = clipped / x.len() as f64;
            assert!((share - (1.0 - p / 100.0)).abs() < 1e-3, "{p}: {share}");
            // Samples under the threshold are untouched.
            assert!(x.iter().zip(&y).all(|(a, b)| a.abs() as f64 > t || a == b));
        }
    }

    #[test]
    fn hundredth_percentile_is_identity_and_range_is_checked() {
        let x = music_like(8000, 0.5, 1);
        let y = Clipping::new(100.0)
            .unwrap()
            .apply(&x, 8000, &mut rng(0, &[]))
            .unwrap();
        assert_eq!(x, y);
        let err = Clipping::new(0.0).unwrap_err().to_string();
        assert_eq!(err, "clipping.percentile: must be in [1, 100] (got 0)");
    }
}
