//! MP3 coding artefacts: encode with LAME, decode with symphonia.
//!
//! Parameter: `bitrate_kbps` (severity axis; one of LAME's constant
//! bitrates 8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256,
//! 320; lower is more severe).
//!
//! Encoding: LAME 3.100 (bundled by the `mp3lame-encoder` crate), mono, CBR,
//! quality 3 (LAME's default), no Xing/LAME header frame, with LAME's own
//! bitrate-dependent lowpass. MP3 only exists at 8–48 kHz and each MPEG
//! version only allows some bitrates (MPEG-1, 32–48 kHz: 32–320 kbps;
//! MPEG-2, 16–24 kHz: 8–160; MPEG-2.5, 8–12 kHz: 8–64), so the stream is
//! coded at the lowest MPEG rate at or above the audio's rate that allows
//! the bitrate (the highest allowed one if none is above), resampling with
//! the exactly aligned windowed-sinc resampler (`sinc.rs`) on the way in and
//! out. LAME is told that rate explicitly, because left alone it resamples
//! low bitrates further.
//!
//! Alignment: the decoded stream starts 1105 samples late (LAME's 576-sample
//! encoder delay plus the 529-sample MP3 synthesis delay); those are
//! dropped, and the result is trimmed or zero-padded to the input's length.

use super::sinc::resample_rates;
use super::{bad, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::{Error, Result};
use mp3lame_encoder::{Bitrate, Builder, FlushGap, Mode, MonoPcm, Quality};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::sync::Mutex;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Bitrates LAME accepts through `mp3lame-encoder`, in kbps.
pub const BITRATES: [u32; 16] = [
    8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
];

/// Samples between an input sample and its decoded copy.
const CODEC_DELAY: usize = 576 + 529;

/// LAME initialises global lookup tables on first use without a lock;
/// building encoders one at a time keeps parallel workers from racing there.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// `kind = "mp3"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mp3Spec {
    /// Constant bitrate in kbps (severity axis).
    pub bitrate_kbps: Sweep,
}

impl Mp3Spec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.bitrate_kbps
    }

    pub(crate) fn build(&self, bitrate_kbps: f64) -> Mp3 {
        Mp3 { bitrate_kbps }
    }
}

/// An MP3 encode/decode round trip at one bitrate.
#[derive(Debug, Clone, PartialEq)]
pub struct Mp3 {
    bitrate_kbps: f64,
}

impl Mp3 {
    /// Checks the bitrate (see the module docs for the allowed values).
    pub fn new(bitrate_kbps: u32) -> Result<Self> {
        let m = Mp3 {
            bitrate_kbps: bitrate_kbps as f64,
        };
        m.check("mp3", None)?;
        Ok(m)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        if !BITRATES.iter().any(|&b| b as f64 == self.bitrate_kbps) {
            let list: Vec<String> = BITRATES.iter().map(u32::to_string).collect();
            return Err(bad(
                key,
                "bitrate_kbps",
                format!(
                    "must be one of LAME's bitrates {} (got {})",
                    list.join(", "),
                    num(self.bitrate_kbps)
                ),
            ));
        }
        Ok(())
    }

    fn bitrate(&self) -> Bitrate {
        use Bitrate::*;
        match self.bitrate_kbps as u32 {
            8 => Kbps8,
            16 => Kbps16,
            24 => Kbps24,
            32 => Kbps32,
            40 => Kbps40,
            48 => Kbps48,
            64 => Kbps64,
            80 => Kbps80,
            96 => Kbps96,
            112 => Kbps112,
            128 => Kbps128,
            160 => Kbps160,
            192 => Kbps192,
            224 => Kbps224,
            256 => Kbps256,
            // `check` admits only the listed values.
            _ => Kbps320,
        }
    }
}

/// Whether an MPEG sample rate allows a bitrate (LAME's `bitrate_table`).
fn allows(rate: u32, kbps: u32) -> bool {
    match rate {
        32000.. => (32..=320).contains(&kbps),
        16000.. => kbps <= 160,
        _ => kbps <= 64,
    }
}

/// The MPEG sample rate the stream is coded at (see the module docs).
pub fn coding_rate(sample_rate: u32, kbps: u32) -> u32 {
    const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
    let allowed = || RATES.into_iter().filter(move |&r| allows(r, kbps));
    allowed()
        .find(|&r| r >= sample_rate)
        .or_else(|| allowed().next_back())
        .unwrap_or(48000)
}

fn encode(audio: &[f32], rate: u32, bitrate: Bitrate) -> Result<Vec<u8>> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::Other(format!("mp3: LAME {what} failed at {rate} Hz: {e}"))
    };
    let mut encoder = {
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut b = Builder::new().ok_or_else(|| fail("allocation", &"out of memory"))?;
        b.set_num_channels(1).map_err(|e| fail("setup", &e))?;
        b.set_sample_rate(rate).map_err(|e| fail("setup", &e))?;
        b.set_output_sample_rate(NonZeroU32::new(rate))
            .map_err(|e| fail("setup", &e))?;
        b.set_brate(bitrate).map_err(|e| fail("setup", &e))?;
        b.set_mode(Mode::Mono).map_err(|e| fail("setup", &e))?;
        b.set_quality(Quality::VeryNice)
            .map_err(|e| fail("setup", &e))?;
        b.set_to_write_vbr_tag(false)
            .map_err(|e| fail("setup", &e))?;
        b.build().map_err(|e| fail("setup", &e))?
    };
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(audio.len()));
    encoder
        .encode_to_vec(MonoPcm(audio), &mut out)
        .map_err(|e| fail("encoding", &e))?;
    out.reserve(7200);
    encoder
        .flush_to_vec::<FlushGap>(&mut out)
        .map_err(|e| fail("flush", &e))?;
    Ok(out)
}

/// Decodes an in-memory MP3 stream to mono samples.
fn decode(bytes: Vec<u8>) -> Result<Vec<f32>> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Other(format!("mp3: decoding LAME's output failed: {e}"))
    };
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| fail(&e))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or_else(|| fail(&"no track"))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| fail(&e))?;
    let mut samples = Vec::new();
    let mut buf: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(fail(&e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = decoder.decode(&packet).map_err(|e| fail(&e))?;
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let needed = decoded.capacity() as u64 * channels as u64;
        if buf.as_ref().is_none_or(|b| (b.capacity() as u64) < needed) {
            buf = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
        }
        let sb = buf.as_mut().expect("sample buffer was just allocated");
        sb.copy_interleaved_ref(decoded);
        let scale = 1.0 / channels as f32;
        samples.extend(
            sb.samples()
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * scale),
        );
    }
    Ok(samples)
}

impl Perturbation for Mp3 {
    fn id(&self) -> String {
        format!(
            "mp3/v1;bitrate_kbps={};lame={};quality=3",
            num(self.bitrate_kbps),
            mp3lame_encoder::mp3lame_version()
        )
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("mp3", sample_rate)?;
        self.check("mp3", Some(sample_rate))?;
        if audio.is_empty() {
            return Ok(Vec::new());
        }
        let rate = coding_rate(sample_rate, self.bitrate_kbps as u32);
        let coded_len = (audio.len() as u64 * rate as u64).div_ceil(sample_rate as u64) as usize;
        let input = resample_rates(audio, sample_rate, rate, coded_len);
        let mut decoded = decode(encode(&input, rate, self.bitrate())?)?;
        let aligned = decoded.split_off(CODEC_DELAY.min(decoded.len()));
        Ok(resample_rates(&aligned, rate, sample_rate, audio.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::music_like;
    use crate::seed::rng;

    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let dot = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(&p, &q)| p as f64 * q as f64)
                .sum::<f64>()
        };
        dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
    }

    /// The lag (in samples, within ±max) at which `y` best matches `x`.
    fn best_lag(x: &[f32], y: &[f32], max: i64) -> i64 {
        let n = x.len() as i64;
        (-max..=max)
            .max_by(|&a, &b| {
                let c = |lag: i64| {
                    (max..n - max)
                        .map(|i| x[i as usize] as f64 * y[(i + lag) as usize] as f64)
                        .sum::<f64>()
                };
                c(a).total_cmp(&c(b))
            })
            .unwrap()
    }

    #[test]
    fn round_trip_is_aligned_same_length_and_close_at_128_kbps() {
        for sr in [8000u32, 16000, 22050, 44100] {
            let x = music_like(sr, 3.0, 2);
            let y = Mp3::new(128)
                .unwrap()
                .apply(&x, sr, &mut rng(0, &[]))
                .unwrap();
            assert_eq!(y.len(), x.len(), "{sr} Hz");
            assert_eq!(best_lag(&x, &y, 40), 0, "{sr} Hz: misaligned");
            let skip = sr as usize / 20;
            let r = correlation(&x[skip..x.len() - skip], &y[skip..y.len() - skip]);
            assert!(r > 0.95, "{sr} Hz: correlation {r}");
        }
    }

    #[test]
    fn lower_bitrates_degrade_more() {
        let sr = 22050;
        let x = music_like(sr, 3.0, 3);
        let err = |kbps: u32| {
            let y = Mp3::new(kbps)
                .unwrap()
                .apply(&x, sr, &mut rng(0, &[]))
                .unwrap();
            x.iter()
                .zip(&y)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
        };
        let (e320, e64, e16) = (err(320), err(64), err(16));
        assert!(e320 < e64 && e64 < e16, "{e320} {e64} {e16}");
    }

    #[test]
    fn coding_rate_respects_each_mpeg_versions_bitrates() {
        assert_eq!(coding_rate(22050, 128), 22050);
        assert_eq!(coding_rate(16000, 320), 32000);
        assert_eq!(coding_rate(44100, 8), 24000);
        assert_eq!(coding_rate(8000, 128), 16000);
        assert_eq!(coding_rate(8000, 64), 8000);
        assert_eq!(coding_rate(96000, 128), 48000);
        assert_eq!(coding_rate(20000, 96), 22050);
    }

    #[test]
    fn bad_bitrate_lists_the_allowed_values() {
        let err = Mp3::new(100).unwrap_err().to_string();
        assert!(
            err.starts_with("mp3.bitrate_kbps: must be one of LAME's bitrates 8, 16,"),
            "{err}"
        );
        assert!(err.ends_with("320 (got 100)"), "{err}");
        assert!(Mp3::new(128)
            .unwrap()
            .id()
            .starts_with("mp3/v1;bitrate_kbps=128;lame=3.100"));
    }
}
