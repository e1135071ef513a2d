//! File decoding with symphonia (WAV, FLAC, MP3, OGG/Vorbis), mixed to mono.

use super::Audio;
use crate::{Error, Result};
use std::io::Read;
use std::path::Path;
use symphonia::core::audio::{AudioBuffer, Signal};
use symphonia::core::codecs::{
    CodecParameters, CodecType, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32BE,
    CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64BE, CODEC_TYPE_PCM_F64LE, CODEC_TYPE_PCM_S16BE,
    CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24BE, CODEC_TYPE_PCM_S24LE, CODEC_TYPE_PCM_S32BE,
    CODEC_TYPE_PCM_S32LE, CODEC_TYPE_PCM_S8, CODEC_TYPE_PCM_U16LE, CODEC_TYPE_PCM_U24LE,
    CODEC_TYPE_PCM_U8,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Largest sample magnitude a file may hold: full scale is 1, and float
/// files with headroom reach a few units; beyond this a float file is
/// damaged (its samples would overflow the DSP downstream).
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1000.0;

/// Lowest sample rate a file may declare: below it a header is damaged (a
/// 1 Hz header would turn a few kilobytes into gigabytes after resampling).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate a file may declare (the top rate of studio formats).
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Most mono samples a file may decode to per byte of its size: 8-bit PCM
/// gives 1, low-bitrate MP3/Vorbis about 10; more means a damaged stream,
/// stopped before it fills memory.
pub const MAX_SAMPLES_PER_BYTE: u64 = 64;

/// Decodes the first audio track of `path` and averages its channels.
///
/// A missing file is an [`Error::Io`]; a file that exists but is not audio,
/// is truncated before any sample, holds no samples, declares a sample rate
/// outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`], decodes to more than
/// [`MAX_SAMPLES_PER_BYTE`] samples per byte or holds NaN, infinite or
/// samples beyond ±[`MAX_SAMPLE_MAGNITUDE`] is an [`Error::Decode`]. Both name the path.
pub fn decode_file(path: &Path) -> Result<Audio> {
    decode(path, Mode::Whole, Route::Direct).map(|(audio, _)| audio)
}

/// Checks that `path` is audio with at least one decodable sample and a
/// plausible sample rate, reading only its header and first good packet
/// (cheap enough to run on every file of a corpus when a dataset is
/// opened), except for floating-point PCM, which is read whole because only
/// it can hold NaN, infinite or huge samples. Errors as [`decode_file`]; returns
/// warnings about a file that is usable but damaged (a PCM file shorter
/// than its header declares).
pub fn check_decodable(path: &Path) -> Result<Vec<String>> {
    decode(path, Mode::Check, Route::Direct).map(|(_, notes)| notes)
}

/// How much of a file [`decode`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Every packet.
    Whole,
    /// Up to the first packet that yields samples (float PCM: every packet).
    Check,
}

/// Integer PCM codecs, whose size in bytes follows from the header.
const INTEGER_PCM: [CodecType; 10] = [
    CODEC_TYPE_PCM_S16LE,
    CODEC_TYPE_PCM_S16BE,
    CODEC_TYPE_PCM_S24LE,
    CODEC_TYPE_PCM_S24BE,
    CODEC_TYPE_PCM_S32LE,
    CODEC_TYPE_PCM_S32BE,
    CODEC_TYPE_PCM_U8,
    CODEC_TYPE_PCM_S8,
    CODEC_TYPE_PCM_U16LE,
    CODEC_TYPE_PCM_U24LE,
];

/// Floating-point PCM codecs: the only ones that can carry NaN or Inf.
const FLOAT_PCM: [CodecType; 4] = [
    CODEC_TYPE_PCM_F32LE,
    CODEC_TYPE_PCM_F32BE,
    CODEC_TYPE_PCM_F64LE,
    CODEC_TYPE_PCM_F64BE,
];

fn check_rate(rate: u32) -> std::result::Result<u32, String> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "the file declares a sample rate of {rate} Hz, outside the {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz that repbench reads; its header is damaged or it is not a sound file"
        ))
    }
}

/// What a RIFF/WAVE file's header says, read without the decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct WavLayout {
    /// The `fmt ` chunk's sample rate.
    pub sample_rate: u32,
    /// Bits per sample.
    pub bits: u16,
    /// Interleaved channels.
    pub channels: u16,
    /// The sample encoding when it is one that [`super::pcm_wav`] reads
    /// without the decoding library.
    pub encoding: Option<PcmEncoding>,
    /// Bytes per frame, as the `fmt ` chunk declares.
    pub block_align: u16,
    /// Where the RIFF chunk ends, as its header declares: the decoding
    /// library refuses a `data` chunk that runs past it.
    pub riff_end: u64,
    /// Byte range of the `data` chunk's samples (as its header declares),
    /// if the chunk starts in the first 4 KiB of the file.
    pub data: Option<std::ops::Range<u64>>,
}

impl WavLayout {
    /// The byte every sample byte of a silent file has: `0x80` for 8-bit
    /// (unsigned) PCM, zero for every other PCM and float format.
    pub fn silence_byte(&self) -> u8 {
        if self.bits == 8 {
            0x80
        } else {
            0
        }
    }
}

/// The layout of `path` if it is a RIFF/WAVE file with a `fmt ` chunk,
/// read before the decoder sees the file (symphonia panics on a 0 Hz
/// header) and used for cheap whole-file checks while hashing.
pub fn wav_layout(path: &Path) -> Option<WavLayout> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut head)
        .ok()?;
    let u32_at = |at: usize| Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?));
    if !matches!(head.get(..4), Some(b"RIFF" | b"RF64")) || head.get(8..12) != Some(b"WAVE") {
        return None;
    }
    let mut format = None;
    let mut at = 12;
    while let (Some(id), Some(len)) = (head.get(at..at + 4), u32_at(at + 4)) {
        if id == b"fmt " {
            let u16_at =
                |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?));
            let bits = u16_at(at + 22)?;
            let mut tag = u16_at(at + 8)?;
            // WAVE_FORMAT_EXTENSIBLE names the real format in its sub-format
            // GUID; a container wider than its valid bits stays with the decoder.
            if tag == 0xFFFE && len >= 40 && u16_at(at + 26) == Some(bits) {
                tag = u16_at(at + 32)?;
            }
            let encoding = PcmEncoding::from_tag(tag, bits).filter(|_| len >= 16);
            format = Some(WavLayout {
                sample_rate: u32_at(at + 12)?,
                bits,
                channels: u16_at(at + 10)?,
                encoding,
                block_align: u16_at(at + 20)?,
                riff_end: 8 + u64::from(u32_at(4)?),
                data: None,
            });
        }
        if id == b"data" {
            let start = at as u64 + 8;
            return format.map(|layout| WavLayout {
                data: Some(start..start + u64::from(len)),
                ..layout
            });
        }
        // Chunks are padded to an even length.
        at = at.checked_add(8 + len as usize + (len as usize & 1))?;
    }
    format
}

/// The PCM sample encodings of WAV files that repbench reads directly: by
/// far the most common ones (16- and 24-bit integers, 32-bit floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcmEncoding {
    /// Signed 16-bit little-endian integers.
    Int16,
    /// Signed 24-bit little-endian integers, packed in 3 bytes.
    Int24,
    /// 32-bit little-endian IEEE floats.
    Float32,
}

impl PcmEncoding {
    /// The encoding of WAV format tag `tag` (1 integer PCM, 3 IEEE float)
    /// at `bits` per sample, if it is one of these.
    fn from_tag(tag: u16, bits: u16) -> Option<Self> {
        match (tag, bits) {
            (1, 16) => Some(Self::Int16),
            (1, 24) => Some(Self::Int24),
            (3, 32) => Some(Self::Float32),
            _ => None,
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            Self::Int16 => 2,
            Self::Int24 => 3,
            Self::Float32 => 4,
        }
    }
}

/// Checks a FLAC file's Vorbis comment and picture blocks against their own
/// lengths before the decoder sees them: symphonia allocates whatever a
/// length field inside them says (up to 4 GiB for a 2 KB file) before
/// reading it.
fn check_flac_comments(path: &Path) -> std::result::Result<(), String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != b"fLaC" {
        return Ok(());
    }
    loop {
        let mut header = [0u8; 4];
        if file.read_exact(&mut header).is_err() {
            return Ok(());
        }
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let mut block = Vec::new();
        (&mut file)
            .take(len as u64)
            .read_to_end(&mut block)
            .map_err(|e| e.to_string())?;
        let fits = match header[0] & 0x7f {
            4 => vorbis_comment_fits(&block),
            6 => picture_fits(&block),
            _ => true,
        };
        if !fits {
            return Err("damaged metadata: a comment or picture is longer than its block".into());
        }
        if header[0] & 0x80 != 0 || block.len() < len {
            return Ok(());
        }
    }
}

/// Whether every length field of a Vorbis comment block (vendor string,
/// comment count, each comment) stays inside the block.
fn vorbis_comment_fits(block: &[u8]) -> bool {
    let u32_at = |at: usize| {
        block
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let Some(vendor) = u32_at(0) else {
        return false;
    };
    let mut at = 4usize.saturating_add(vendor);
    let Some(count) = u32_at(at) else {
        return false;
    };
    at += 4;
    for _ in 0..count {
        let Some(len) = u32_at(at) else {
            return false;
        };
        at = at.saturating_add(4).saturating_add(len);
        if at > block.len() {
            return false;
        }
    }
    at <= block.len()
}

/// Whether a FLAC picture block's length fields (MIME type, description,
/// picture data; big-endian) stay inside the block.
fn picture_fits(block: &[u8]) -> bool {
    let u32_at = |at: usize| {
        block
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let mut at = 4; // picture type
    for fixed_after in [0usize, 16] {
        // MIME type, then description followed by four 32-bit fields.
        let Some(len) = u32_at(at) else {
            return false;
        };
        at = at
            .saturating_add(4)
            .saturating_add(len)
            .saturating_add(fixed_after);
    }
    u32_at(at).is_some_and(|data| at.saturating_add(4).saturating_add(data) <= block.len())
}

/// Runs `f`, turning a panic inside the decoding library (a malformed file
/// it does not guard against) into an error instead of an abort, and
/// without the panic message on stderr: the error names the file.
fn guarded<T>(f: impl FnOnce() -> Result<T>, bad: impl FnOnce(String) -> Error) -> Result<T> {
    quiet_panics::install();
    quiet_panics::QUIET.with(|q| q.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    quiet_panics::QUIET.with(|q| q.set(false));
    outcome.unwrap_or_else(|_| {
        Err(bad(
            "the decoder failed on this file (malformed header or stream)".into(),
        ))
    })
}

/// A panic hook that stays silent on threads inside [`guarded`] and defers
/// to the previous hook everywhere else.
mod quiet_panics {
    use std::cell::Cell;
    use std::sync::Once;

    thread_local! {
        /// Whether this thread is decoding inside [`super::guarded`].
        pub static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    /// Installs the hook once per process.
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
    }
}

/// Whether [`decode`] may read plain PCM WAV files directly.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// Directly where [`super::pcm_wav`] can, else the decoding library.
    Direct,
    /// Always the decoding library (the reference in tests).
    #[cfg(test)]
    Library,
}

/// Decodes `path` per `mode`; returns the audio read and warnings.
fn decode(path: &Path, mode: Mode, route: Route) -> Result<(Audio, Vec<String>)> {
    let bad = |reason: String| Error::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let layout = wav_layout(path);
    if let Some(layout) = &layout {
        check_rate(layout.sample_rate).map_err(bad)?;
        // Plain PCM needs no decoder: read it directly, several times
        // faster. A cheap check of integer PCM stays with the decoder,
        // which reads one packet.
        let whole = mode == Mode::Whole || layout.encoding == Some(PcmEncoding::Float32);
        if whole && route == Route::Direct {
            if let Some(audio) = super::pcm_wav::read(path, layout) {
                return audio.map(|audio| (audio, Vec::new()));
            }
        }
    }
    check_flac_comments(path).map_err(bad)?;
    guarded(|| decode_unguarded(path, mode), bad)
}

/// Decodes all of `path` with the decoding library, never the direct PCM
/// path, with every guard of [`decode_file`]: the reference the direct
/// path is tested against.
#[cfg(test)]
pub(super) fn decode_with_library(path: &Path) -> Result<Audio> {
    decode(path, Mode::Whole, Route::Library).map(|(audio, _)| audio)
}

fn decode_unguarded(path: &Path, mode: Mode) -> Result<(Audio, Vec<String>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_bytes = file.metadata().map_err(|e| Error::io(path, e))?.len();
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
    let params = track.codec_params.clone();
    let mut sample_rate = params
        .sample_rate
        .map(check_rate)
        .transpose()
        .map_err(bad)?;
    let mut notes = Vec::new();
    if let Some(note) = truncation(&params, file_bytes) {
        notes.push(note);
    }
    let first_only = mode == Mode::Check && !FLOAT_PCM.contains(&params.codec);
    let max_samples = file_bytes.saturating_mul(MAX_SAMPLES_PER_BYTE);
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| bad(format!("unsupported codec ({e})")))?;
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
        sample_rate = Some(check_rate(spec.rate).map_err(bad)?);
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
        if let Some((c, i)) = (0..channels).find_map(|c| {
            buf.chan(c)
                .iter()
                .position(|v| is_damaged(*v))
                .map(|i| (c, i))
        }) {
            return Err(bad(damaged_sample(start + i, c, buf.chan(c)[i])));
        }
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
        if mono.len() as u64 > max_samples {
            return Err(bad(format!(
                "decodes to more than {MAX_SAMPLES_PER_BYTE} samples per byte of the file ({file_bytes} bytes); the stream is damaged"
            )));
        }
        if first_only && !mono.is_empty() {
            break;
        }
    }
    let sample_rate = sample_rate.ok_or_else(|| bad("unknown sample rate".into()))?;
    if mono.is_empty() {
        return Err(bad("no audio samples could be decoded".into()));
    }
    Ok((
        Audio {
            samples: mono,
            sample_rate,
        },
        notes,
    ))
}

/// Whether a decoded sample is NaN, infinite or beyond
/// ±[`MAX_SAMPLE_MAGNITUDE`]: a damaged float file.
pub(super) fn is_damaged(v: f32) -> bool {
    !(v.is_finite() && v.abs() <= MAX_SAMPLE_MAGNITUDE)
}

/// Why a file with a damaged sample (see [`is_damaged`]) is refused: the
/// first such sample's frame, channel and value.
pub(super) fn damaged_sample(frame: usize, channel: usize, value: f32) -> String {
    format!(
        "holds NaN, infinite or absurdly large samples (first at sample {frame} of channel {channel}: {value}; full scale is 1, the limit {MAX_SAMPLE_MAGNITUDE}); repair or remove the file"
    )
}

/// A warning when an integer PCM file is shorter than the sample count its
/// header declares (a copy cut off partway): the rest is decoded as is.
fn truncation(params: &CodecParameters, file_bytes: u64) -> Option<String> {
    if !INTEGER_PCM.contains(&params.codec) {
        return None;
    }
    let frames = params.n_frames?;
    let channels = params.channels?.count() as u64;
    let bits = u64::from(params.bits_per_coded_sample.or(params.bits_per_sample)?);
    let declared = frames.saturating_mul(channels).saturating_mul(bits) / 8;
    (file_bytes < declared).then(|| {
        let rate = f64::from(params.sample_rate.unwrap_or(1).max(1));
        let per_second = (channels * bits / 8).max(1) as f64 * rate;
        format!(
            "truncated: its header declares {:.2} s of audio, the file holds at most {:.2} s; the rest is decoded as is",
            frames as f64 / rate,
            file_bytes as f64 / per_second
        )
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

    /// A PCM WAV whose header is patched: `rate` and, when given, a data
    /// length other than the samples written.
    fn patched_wav(samples: usize, rate: u32, declared_bytes: Option<u32>) -> Vec<u8> {
        let mut b = super::super::wav_pcm16(&[vec![0.1; samples]], 8000);
        b[24..28].copy_from_slice(&rate.to_le_bytes());
        if let Some(n) = declared_bytes {
            // As in a copy cut off partway: both lengths promise more.
            b[4..8].copy_from_slice(&(36 + n).to_le_bytes());
            b[40..44].copy_from_slice(&n.to_le_bytes());
        }
        b
    }

    /// A 16 KB file claiming 1 Hz would resample to gigabytes; one claiming
    /// 4 GHz to nothing. Both are refused, naming the rate and the file.
    #[test]
    fn implausible_header_sample_rates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // 0 Hz made the decoding library panic (exit 101).
        for rate in [0, 1, 999, 384_001, 4_000_000_000] {
            let p = dir.path().join(format!("rate{rate}.wav"));
            std::fs::write(&p, patched_wav(8000, rate, None)).unwrap();
            for err in [
                check_decodable(&p).unwrap_err().to_string(),
                decode_file(&p).unwrap_err().to_string(),
            ] {
                assert!(
                    err.contains(&format!("sample rate of {rate} Hz"))
                        && err.contains(&format!("rate{rate}.wav")),
                    "{err}"
                );
            }
        }
        for rate in [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE] {
            let p = dir.path().join("edge.wav");
            std::fs::write(&p, patched_wav(100, rate, None)).unwrap();
            assert_eq!(decode_file(&p).unwrap().sample_rate, rate);
        }
    }

    /// A panic inside the decoding library becomes an error naming the
    /// file, and other threads' panics still reach the usual hook.
    #[test]
    fn a_panic_while_decoding_is_an_error() {
        let bad = |reason: String| Error::Decode {
            path: "x.wav".into(),
            reason,
        };
        let err = guarded::<()>(|| panic!("library bug"), bad).unwrap_err();
        assert!(err.to_string().contains("x.wav") && err.to_string().contains("malformed"));
        assert!(!quiet_panics::QUIET.with(std::cell::Cell::get));
        assert_eq!(guarded(|| Ok(3), bad).unwrap(), 3);
    }

    /// NaN in the last samples of a float WAV is found by the cheap check
    /// (float PCM is read whole) and by a full decode.
    #[test]
    fn nan_and_infinite_samples_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [f32::NAN, f32::INFINITY, -3.0e38, 1001.0] {
            let mut samples = vec![0.25f32; 20_000];
            samples[19_990] = bad;
            let p = dir.path().join("nan.wav");
            std::fs::write(&p, super::super::wav_f32(&samples, 16_000)).unwrap();
            let err = check_decodable(&p).unwrap_err().to_string();
            assert!(
                err.contains("NaN, infinite") && err.contains("19990"),
                "{err}"
            );
            assert!(decode_file(&p).is_err());
        }
        let p = dir.path().join("fine.wav");
        std::fs::write(&p, super::super::wav_f32(&[0.5; 1000], 16_000)).unwrap();
        assert_eq!(check_decodable(&p).unwrap(), Vec::<String>::new());
        assert_eq!(decode_file(&p).unwrap().samples, vec![0.5; 1000]);
    }

    /// A WAV cut off partway decodes what is there, with a warning saying
    /// how much the header promised.
    #[test]
    fn a_truncated_pcm_file_decodes_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.wav");
        // 8000 samples written, 16 000 declared (2 s at 8 kHz).
        std::fs::write(&p, patched_wav(8000, 8000, Some(32_000))).unwrap();
        let notes = check_decodable(&p).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("truncated") && notes[0].contains("2.00 s"),
            "{notes:?}"
        );
        assert_eq!(decode_file(&p).unwrap().samples.len(), 8000);
        let whole = dir.path().join("whole.wav");
        std::fs::write(&whole, patched_wav(8000, 8000, None)).unwrap();
        assert!(check_decodable(&whole).unwrap().is_empty());
    }
}
