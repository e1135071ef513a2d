//! Audio in: decode any supported file to mono `f32`, resample to the rate an
//! encoder needs, and crop or pad to a fixed duration.

mod decode;
#[cfg(test)]
mod fuzz_tests;
mod pcm_wav;
mod resample;

pub use decode::{
    check_decodable, decode_file, wav_layout, PcmEncoding, WavLayout, MAX_SAMPLES_PER_BYTE,
    MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
};
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

/// Encodes channels of equal length as a 16-bit PCM WAV file (samples are
/// clipped to [-1, 1]). Used to write test corpora and perturbed audio.
pub fn wav_pcm16(channels: &[Vec<f32>], sample_rate: u32) -> Vec<u8> {
    let n_ch = channels.len() as u16;
    let n = channels.first().map_or(0, Vec::len);
    let data_len = (n * n_ch as usize * 2) as u32;
    let mut b = wav_header(1, n_ch, sample_rate, 16, data_len);
    for i in 0..n {
        for ch in channels {
            let v = (ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    b
}

/// A mono 32-bit IEEE-float WAV (format tag 3), for tests of the float
/// paths (NaN and Inf can only come from these).
#[cfg(test)]
pub(crate) fn wav_f32(samples: &[f32], rate: u32) -> Vec<u8> {
    let mut b = wav_header(3, 1, rate, 32, (samples.len() * 4) as u32);
    samples
        .iter()
        .for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    b
}

/// A canonical 44-byte RIFF/WAVE header (`fmt ` then `data` of
/// `data_len` bytes), with room reserved for the data.
fn wav_header(format_tag: u16, channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format_tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b
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
