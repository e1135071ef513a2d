//! File decoding with symphonia (WAV, FLAC, MP3, OGG/Vorbis), mixed to mono.

use super::Audio;
use crate::{Error, Result};
use std::path::Path;
use symphonia::core::audio::{AudioBuffer, Signal};
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decodes the first audio track of `path` and averages its channels.
///
/// A missing file is an [`Error::Io`]; a file that exists but is not audio,
/// is truncated before any sample, or holds no samples is an
/// [`Error::Decode`]. Both name the path.
pub fn decode_file(path: &Path) -> Result<Audio> {
    decode(path, false)
}

/// Checks that `path` is audio with at least one decodable sample, reading
/// only its header and first good packet (cheap enough to run on every
/// file of a corpus when a dataset is opened). Errors as [`decode_file`].
pub fn check_decodable(path: &Path) -> Result<()> {
    decode(path, true).map(|_| ())
}

/// [`decode_file`], or with `first_only` only up to the first packet that
/// yields samples.
fn decode(path: &Path, first_only: bool) -> Result<Audio> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| bad(format!("not a supported audio file ({e})")))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| bad("no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| bad(format!("unsupported codec ({e})")))?;
    let mut sample_rate = track.codec_params.sample_rate;
    let mut mono = Vec::new();
    let mut planar: Option<AudioBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(bad(format!("corrupt stream ({e})"))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged packet in the middle of a stream is skipped, as every
            // player does; a file with no good packet at all fails below.
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(bad(format!("decoder failed ({e})"))),
        };
        let spec = *decoded.spec();
        sample_rate = Some(spec.rate);
        // Planar f32 conversion, then channel sums: no interleaving step.
        let reusable = planar.as_ref().is_some_and(|b: &AudioBuffer<f32>| {
            *b.spec() == spec && b.capacity() >= decoded.capacity()
        });
        if !reusable {
            planar = Some(AudioBuffer::new(decoded.capacity() as u64, spec));
        }
        let buf = planar.as_mut().expect("planar buffer was just ensured");
        decoded.convert(buf);
        let channels = spec.channels.count();
        if channels == 0 {
            continue;
        }
        let start = mono.len();
        mono.extend_from_slice(buf.chan(0));
        for c in 1..channels {
            mono[start..]
                .iter_mut()
                .zip(buf.chan(c))
                .for_each(|(m, v)| *m += v);
        }
        if channels > 1 {
            let scale = 1.0 / channels as f32;
            mono[start..].iter_mut().for_each(|m| *m *= scale);
        }
        if first_only && !mono.is_empty() {
            break;
        }
    }
    let sample_rate = sample_rate.ok_or_else(|| bad("unknown sample rate".into()))?;
    if mono.is_empty() {
        return Err(bad("no audio samples could be decoded".into()));
    }
    Ok(Audio {
        samples: mono,
        sample_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_stereo_wav_to_mono_average() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let left = vec![0.5f32; 800];
        let right = vec![-0.25f32; 800];
        std::fs::write(&p, super::super::wav_pcm16(&[left, right], 8000)).unwrap();
        let a = decode_file(&p).unwrap();
        assert_eq!(a.sample_rate, 8000);
        assert_eq!(a.samples.len(), 800);
        assert!((a.samples[10] - 0.125).abs() < 1e-3, "{}", a.samples[10]);
    }

    #[test]
    fn missing_and_corrupt_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.wav");
        let err = decode_file(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.wav"), "{err}");
        let corrupt = dir.path().join("corrupt.wav");
        std::fs::write(&corrupt, b"this is not audio at all, just text").unwrap();
        let err = decode_file(&corrupt).unwrap_err().to_string();
        assert!(
            err.contains("corrupt.wav") && err.contains("decode"),
            "{err}"
        );
        assert!(check_decodable(&corrupt).is_err());
    }

    /// A header-only WAV (0 samples) and a text file fail the cheap check;
    /// a real file passes it.
    #[test]
    fn the_cheap_check_finds_files_without_samples() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, super::super::wav_pcm16(&[Vec::new()], 8000)).unwrap();
        let err = check_decodable(&empty).unwrap_err().to_string();
        assert!(err.contains("empty.wav"), "{err}");
        let good = dir.path().join("good.wav");
        std::fs::write(&good, super::super::wav_pcm16(&[vec![0.1; 400]], 8000)).unwrap();
        check_decodable(&good).unwrap();
    }
}
