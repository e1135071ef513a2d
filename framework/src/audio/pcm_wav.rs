//! Plain PCM WAV files (16- and 24-bit integers, 32-bit floats) read
//! without the decoding library: one pass from the file's bytes to mono
//! `f32`. The conversions are the decoder's own (`i16 / 32768`,
//! `i24 / 8388608`, floats as stored) and channels are summed in the same
//! order and scaled by the same factor, so both paths give bit-identical
//! audio; the decoder's generic per-packet buffers cost several times more.

use super::decode::{damaged_sample, is_damaged, PcmEncoding, WavLayout};
use super::Audio;
use crate::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Frames converted per read: enough to amortise the system call, few
/// enough that the bytes stay in cache while they are converted.
const FRAMES_PER_READ: usize = 16_384;

/// Reads `path`, whose header is `layout`, when its samples are one of the
/// [`PcmEncoding`]s and its header is consistent: the `data` chunk is
/// non-empty, a whole number of frames of the declared size, inside the
/// RIFF chunk and inside the file. `None` leaves the file to the decoding
/// library, which handles (warns about, or refuses) everything else, so
/// the direct path never accepts a file the library would refuse.
pub(super) fn read(path: &Path, layout: &WavLayout) -> Option<Result<Audio>> {
    let encoding = layout.encoding?;
    let data = layout.data.clone()?;
    let channels = usize::from(layout.channels);
    let frame_bytes = (channels * encoding.bytes()) as u64;
    let len = data.end.checked_sub(data.start)?;
    let consistent = channels > 0
        && len > 0
        && len % frame_bytes == 0
        && u64::from(layout.block_align) == frame_bytes
        && data.end <= layout.riff_end;
    if !consistent {
        return None;
    }
    // A file that cannot be opened here is reported by the decoder's path.
    let mut file = File::open(path).ok()?;
    if data.end > file.metadata().ok()?.len() {
        return None;
    }
    let frames = usize::try_from(len / frame_bytes).ok()?;
    Some(
        read_frames(&mut file, data.start, frames, encoding, channels)
            .map_err(|e| match e {
                Damage::Io(e) => Error::io(path, e),
                Damage::Sample(reason) => Error::Decode {
                    path: path.to_path_buf(),
                    reason,
                },
            })
            .map(|samples| Audio {
                samples,
                sample_rate: layout.sample_rate,
            }),
    )
}

/// Why [`read_frames`] stopped.
enum Damage {
    /// The file could not be read (it changed since its header was read).
    Io(std::io::Error),
    /// A float sample is NaN, infinite or absurdly large.
    Sample(String),
}

/// Reads `frames` interleaved frames from byte `start` of `file` and mixes
/// each to mono.
fn read_frames(
    file: &mut File,
    start: u64,
    frames: usize,
    encoding: PcmEncoding,
    channels: usize,
) -> std::result::Result<Vec<f32>, Damage> {
    file.seek(SeekFrom::Start(start)).map_err(Damage::Io)?;
    let width = encoding.bytes();
    let mut mono = Vec::with_capacity(frames);
    let mut bytes = vec![0u8; FRAMES_PER_READ.min(frames) * channels * width];
    while mono.len() < frames {
        let n = (frames - mono.len()).min(FRAMES_PER_READ);
        let block = &mut bytes[..n * channels * width];
        file.read_exact(block).map_err(Damage::Io)?;
        match encoding {
            PcmEncoding::Int16 => mix::<2>(&mut mono, block, channels, |b| {
                f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0
            }),
            PcmEncoding::Int24 => mix::<3>(&mut mono, block, channels, |b| {
                // Sign-extend the 3 bytes through the top of an i32.
                (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
            }),
            PcmEncoding::Float32 => {
                let float = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if let Some((i, v)) = block
                    .chunks_exact(4)
                    .map(float)
                    .enumerate()
                    .find(|(_, v)| is_damaged(*v))
                {
                    let frame = mono.len() + i / channels;
                    return Err(Damage::Sample(damaged_sample(frame, i % channels, v)));
                }
                mix::<4>(&mut mono, block, channels, float)
            }
        }
    }
    Ok(mono)
}

/// Appends the mono mix of the interleaved frames in `block` (samples of
/// `W` bytes) to `mono`: channel 0, plus each further channel in order,
/// times `1 / channels` (mono is copied as is), exactly as the decoder path
/// mixes. The sample width is a constant and stereo has its own loop, so
/// the compiler unrolls the frames; a run-time width costs a division per
/// frame.
#[inline(always)]
fn mix<const W: usize>(
    mono: &mut Vec<f32>,
    block: &[u8],
    channels: usize,
    sample: impl Fn(&[u8]) -> f32,
) {
    let scale = 1.0 / channels as f32;
    match channels {
        1 => mono.extend(block.chunks_exact(W).map(sample)),
        2 => mono.extend(
            block
                .chunks_exact(2 * W)
                .map(|frame| (sample(&frame[..W]) + sample(&frame[W..])) * scale),
        ),
        _ => mono.extend(block.chunks_exact(W * channels).map(|frame| {
            let mut samples = frame.chunks_exact(W).map(&sample);
            let first = samples.next().unwrap_or(0.0);
            samples.fold(first, |sum, v| sum + v) * scale
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::{decode_with_library, wav_layout};
    use super::super::decode_file;

    /// A WAV file: `fmt ` (plain, or WAVE_FORMAT_EXTENSIBLE with the tag as
    /// its sub-format), then `data`, then `trailer` (e.g. a LIST chunk).
    fn wav(
        tag: u16,
        channels: u16,
        bits: u16,
        data: &[u8],
        extensible: bool,
        trailer: &[u8],
    ) -> Vec<u8> {
        let rate = 22_050u32;
        let block_align = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&(if extensible { 0xFFFE } else { tag }).to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        if extensible {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            fmt.extend_from_slice(&((1u32 << channels) - 1).to_le_bytes());
            fmt.extend_from_slice(&tag.to_le_bytes());
            // The rest of the KSDATAFORMAT_SUBTYPE GUID.
            fmt.extend_from_slice(&[
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ]);
        }
        let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        b.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        b.extend_from_slice(&fmt);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b.extend_from_slice(trailer);
        let riff_len = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&riff_len.to_le_bytes());
        b
    }

    /// Deterministic pseudo-random bytes (xorshift), with the extreme
    /// values of each width among them.
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Float samples in about ±1.5, as bytes.
    fn floats(n: usize, seed: u64) -> Vec<u8> {
        noise(n * 4, seed)
            .chunks_exact(4)
            .flat_map(|b| {
                let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / u32::MAX as f32;
                (3.0 * v - 1.5).to_le_bytes()
            })
            .collect()
    }

    /// Every directly read layout gives exactly what the decoding library
    /// gives: 16-bit (including ±full scale), 24-bit and float, mono to
    /// 5 channels, plain and extensible headers, chunks after the data.
    #[test]
    fn direct_reads_equal_the_decoder_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let mut extremes16 = Vec::new();
        for v in [i16::MIN, i16::MAX, -1, 0, 1] {
            extremes16.extend_from_slice(&v.to_le_bytes());
        }
        let mut extremes24 = Vec::new();
        for v in [-8_388_608i32, 8_388_607, -1, 0, 1] {
            extremes24.extend_from_slice(&v.to_le_bytes()[..3]);
        }
        let list = b"LIST\x04\0\0\0INFO";
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "mono16",
                wav(
                    1,
                    1,
                    16,
                    &[noise(40_002, 1), extremes16.clone()].concat(),
                    false,
                    b"",
                ),
            ),
            (
                "stereo16",
                wav(
                    1,
                    2,
                    16,
                    &[noise(80_000, 2), extremes16.clone(), extremes16].concat(),
                    false,
                    list,
                ),
            ),
            (
                "five16",
                wav(1, 5, 16, &noise(50_000 * 5 * 2, 3), true, b""),
            ),
            (
                "stereo24",
                wav(
                    1,
                    2,
                    24,
                    &[noise(30_000 * 6, 4), extremes24.clone(), extremes24].concat(),
                    false,
                    b"",
                ),
            ),
            ("three24x", wav(1, 3, 24, &noise(20_000 * 9, 5), true, list)),
            ("mono32f", wav(3, 1, 32, &floats(30_000, 6), false, b"")),
            ("stereo32f", wav(3, 2, 32, &floats(60_000, 7), true, b"")),
        ];
        for (name, bytes) in cases {
            let p = dir.path().join(format!("{name}.wav"));
            std::fs::write(&p, bytes).unwrap();
            let layout = wav_layout(&p).unwrap();
            assert!(layout.encoding.is_some(), "{name}: {layout:?}");
            let direct = super::read(&p, &layout).expect("read directly").unwrap();
            let library = decode_with_library(&p).unwrap();
            assert_eq!(direct.sample_rate, library.sample_rate, "{name}");
            assert_eq!(direct.samples.len(), library.samples.len(), "{name}");
            let same = direct
                .samples
                .iter()
                .zip(&library.samples)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{name}: the direct read differs from the decoder");
            assert_eq!(decode_file(&p).unwrap(), direct, "{name}");
        }
    }

    /// Files the direct path does not take (8-bit, 32-bit integers, a cut
    /// data chunk, a partial frame) still decode, through the library.
    #[test]
    fn other_layouts_fall_back_to_the_decoder() {
        let dir = tempfile::tempdir().unwrap();
        let whole = wav(1, 2, 16, &noise(4_000, 8), false, b"");
        let mut cut = whole.clone();
        cut.truncate(whole.len() - 1_000);
        let cases = [
            ("u8", wav(1, 1, 8, &noise(1_000, 9), false, b"")),
            ("s32", wav(1, 2, 32, &noise(8_000, 10), false, b"")),
            ("cut", cut),
            ("partial", wav(1, 2, 16, &noise(4_002, 11), false, b"")),
        ];
        for (name, bytes) in cases {
            let p = dir.path().join(format!("{name}.wav"));
            std::fs::write(&p, bytes).unwrap();
            let layout = wav_layout(&p).unwrap();
            assert!(super::read(&p, &layout).is_none(), "{name}");
            let decoded = decode_file(&p).unwrap();
            assert_eq!(decoded, decode_with_library(&p).unwrap(), "{name}");
            assert!(!decoded.samples.is_empty(), "{name}");
        }
    }

    /// A NaN in a float file read directly is refused with the frame and
    /// channel it sits in.
    #[test]
    fn a_damaged_float_sample_names_its_frame_and_channel() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = floats(20_000 * 2, 12);
        let at = (17_000 * 2 + 1) * 4;
        data[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        let p = dir.path().join("nan.wav");
        std::fs::write(&p, wav(3, 2, 32, &data, false, b"")).unwrap();
        let err = decode_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("nan.wav") && err.contains("sample 17000 of channel 1"),
            "{err}"
        );
    }
}
