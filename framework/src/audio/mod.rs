//! Audio in: decode any supported file to mono `f32`, resample to the rate an
//! encoder needs, and crop or pad to a fixed duration.

mod decode;
mod resample;

pub use decode::decode_file;
pub use resample::resample;

use crate::Result;
use std::path::Path;

/// Mono audio at a known sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples in [-1, 1] (not enforced: perturbations may exceed it).
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

/// Decodes `path`, mixes it to mono and resamples it to `sample_rate`.
pub fn load_mono(path: &Path, sample_rate: u32) -> Result<Vec<f32>> {
    let audio = decode_file(path)?;
    resample(&audio.samples, audio.sample_rate, sample_rate)
}

/// Crops (keeping the start) or zero-pads `samples` to exactly
/// `round(duration_s * sample_rate)` samples.
pub fn fit_duration(mut samples: Vec<f32>, sample_rate: u32, duration_s: f64) -> Vec<f32> {
    let n = (duration_s * sample_rate as f64).round() as usize;
    samples.resize(n, 0.0);
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_duration_crops_and_pads() {
        assert_eq!(fit_duration(vec![1.0; 10], 10, 0.5), vec![1.0; 5]);
        let padded = fit_duration(vec![1.0; 3], 10, 0.5);
        assert_eq!(padded, vec![1.0, 1.0, 1.0, 0.0, 0.0]);
    }
}
