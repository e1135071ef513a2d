//! Reverberation by convolution with a room impulse response (IR).
//!
//! Parameters, in one of two forms:
//! * synthetic room: `rt60_s` (severity axis, in [0.05, 10] s) and `wet`
//!   (one value in [0, 1], default 0.5). The IR is Gaussian noise from the
//!   caller's RNG under the envelope `10^(−3t / rt60_s)`, so its energy
//!   decays by 60 dB in `rt60_s` (the definition of RT60); it lasts
//!   `1.5 · rt60_s` (down 90 dB) so truncation does not shorten the decay.
//! * recorded room: `ir_path` (an audio file, decoded with [`crate::audio`],
//!   mixed to mono and resampled to the audio's rate) and `wet` (severity
//!   axis, [0, 1]). `rt60_s` must then be absent: the file sets the decay.
//!   The IR is used as recorded (its pre-delay and direct sound included);
//!   the id holds a hash of the file's bytes, not its path.
//!
//! Either IR is scaled to unit energy (`Σh² = 1`) so the reverberant part
//! has about the input's power, and the output is
//! `(1 − wet)·x + wet·(h ∗ x)`, FFT-convolved and trimmed to the input's
//! length (the tail after the input's end is dropped).

use super::convolve::convolve;
use super::random::gaussian;
use super::{bad, check_range, check_sample_rate, num, Perturbation, Sweep};
use crate::audio::{decode_file, resample, Audio};
use crate::seed::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Allowed RT60 range in seconds.
pub const RT60_RANGE: (f64, f64) = (0.05, 10.0);

fn default_wet() -> Sweep {
    Sweep::one(0.5)
}

/// `kind = "reverb"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverbSpec {
    /// Target RT60 of a synthetic room in seconds (severity axis when
    /// there is no `ir_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt60_s: Option<Sweep>,
    /// Dry/wet mix in [0, 1] (severity axis when `ir_path` is set; one
    /// value otherwise).
    #[serde(default = "default_wet")]
    pub wet: Sweep,
    /// A recorded impulse response to use instead of a synthetic room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ir_path: Option<PathBuf>,
}

impl ReverbSpec {
    /// `wet` with a recorded IR, else `rt60_s`.
    pub(crate) fn severity_name(&self) -> &'static str {
        if self.ir_path.is_some() {
            "wet"
        } else {
            "rt60_s"
        }
    }

    /// Checks which fields are present and that the non-severity field has
    /// one value, before the per-value checks.
    pub(crate) fn check_shape(&self, key: &str) -> Result<()> {
        match (&self.rt60_s, &self.ir_path) {
            (Some(_), Some(_)) => Err(bad(
                key,
                "rt60_s",
                "give rt60_s (synthetic room) or ir_path (recorded room), not both: \
                 a recorded IR has its own decay",
            )),
            (None, None) => Err(bad(
                key,
                "rt60_s",
                "missing: give rt60_s (synthetic room, seconds) or ir_path (an impulse response file)",
            )),
            (Some(_), None) if self.wet.values().len() != 1 => Err(bad(
                key,
                "wet",
                format!(
                    "with a synthetic room the severity axis is rt60_s, so wet takes one value (got {})",
                    self.wet.values().len()
                ),
            )),
            (Some(rt60), None) => {
                rt60.check(key, "rt60_s")?;
                self.wet.check(key, "wet")
            }
            (None, Some(path)) => {
                self.wet.check(key, "wet")?;
                load_ir(path)
                    .map(|_| ())
                    .map_err(|reason| bad(key, "ir_path", reason))
            }
        }
    }

    /// The severity values.
    pub(crate) fn sweep(&self) -> &Sweep {
        match (&self.rt60_s, &self.ir_path) {
            (Some(rt60), None) => rt60,
            _ => &self.wet,
        }
    }

    /// One effect per severity value; a recorded IR is loaded once and
    /// shared by all of them.
    pub(crate) fn build_all(&self) -> Vec<(f64, Reverb)> {
        match (&self.rt60_s, &self.ir_path) {
            (_, Some(path)) => {
                let file = Arc::new(IrFile {
                    path: path.clone(),
                    loaded: OnceLock::new(),
                });
                self.wet
                    .values()
                    .iter()
                    .map(|&wet| {
                        let source = Source::File(file.clone());
                        (wet, Reverb { source, wet })
                    })
                    .collect()
            }
            (Some(rt60), None) => {
                let wet = self.wet.values().first().copied().unwrap_or(f64::NAN);
                rt60.values()
                    .iter()
                    .map(|&r| {
                        (
                            r,
                            Reverb {
                                source: Source::Synthetic(r),
                                wet,
                            },
                        )
                    })
                    .collect()
            }
            (None, None) => Vec::new(),
        }
    }
}

/// A decoded IR file and the hash of its bytes.
#[derive(Debug)]
struct LoadedIr {
    audio: Audio,
    hash: String,
}

/// An IR file, decoded on first use.
#[derive(Debug)]
struct IrFile {
    path: PathBuf,
    loaded: OnceLock<std::result::Result<LoadedIr, String>>,
}

impl IrFile {
    fn get(&self) -> std::result::Result<&LoadedIr, &str> {
        self.loaded
            .get_or_init(|| load_ir(&self.path))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Reads, hashes and decodes an IR file; the message names the path.
fn load_ir(path: &Path) -> std::result::Result<LoadedIr, String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e).to_string())?;
    let hash = blake3::hash(&bytes).to_hex()[..16].to_string();
    let audio = decode_file(path).map_err(|e| e.to_string())?;
    if audio.samples.iter().all(|&v| v == 0.0) {
        return Err(format!(
            "{}: the impulse response is silent; give a recorded IR",
            path.display()
        ));
    }
    Ok(LoadedIr { audio, hash })
}

#[derive(Debug, Clone)]
enum Source {
    Synthetic(f64),
    File(Arc<IrFile>),
}

/// Convolution reverb with a synthetic or recorded IR.
#[derive(Debug, Clone)]
pub struct Reverb {
    source: Source,
    wet: f64,
}

impl Reverb {
    /// A synthetic room (see the module docs for ranges).
    pub fn synthetic(rt60_s: f64, wet: f64) -> Result<Self> {
        let r = Reverb {
            source: Source::Synthetic(rt60_s),
            wet,
        };
        r.check("reverb", None)?;
        Ok(r)
    }

    /// A recorded IR; the file is read and decoded now, so a missing or
    /// non-audio file is reported here, naming the path.
    pub fn from_file(ir_path: &Path, wet: f64) -> Result<Self> {
        let file = Arc::new(IrFile {
            path: ir_path.to_path_buf(),
            loaded: OnceLock::new(),
        });
        if let Err(reason) = file.get() {
            return Err(bad("reverb", "ir_path", reason));
        }
        let r = Reverb {
            source: Source::File(file),
            wet,
        };
        r.check("reverb", None)?;
        Ok(r)
    }

    pub(crate) fn check(&self, key: &str, _sample_rate: Option<u32>) -> Result<()> {
        if let Source::Synthetic(rt60) = self.source {
            check_range(key, "rt60_s", rt60, RT60_RANGE.0, RT60_RANGE.1)?;
        }
        check_range(key, "wet", self.wet, 0.0, 1.0)
    }

    /// The unit-energy IR at `sample_rate`.
    fn impulse_response(&self, sample_rate: u32, rng: &mut Rng) -> Result<Vec<f32>> {
        let h = match &self.source {
            Source::Synthetic(rt60) => synthetic_ir(*rt60, sample_rate, rng),
            Source::File(file) => {
                let ir = file.get().map_err(|r| bad("reverb", "ir_path", r))?;
                resample(&ir.audio.samples, ir.audio.sample_rate, sample_rate)?
            }
        };
        let energy: f64 = h.iter().map(|&v| (v as f64).powi(2)).sum();
        if energy == 0.0 {
            return Err(bad(
                "reverb",
                "ir_path",
                format!("the impulse response is silent at {sample_rate} Hz"),
            ));
        }
        let scale = energy.sqrt().recip();
        Ok(h.iter().map(|&v| (v as f64 * scale) as f32).collect())
    }
}

/// Exponentially decaying Gaussian noise with energy falling 60 dB in
/// `rt60_s`, `1.5 · rt60_s` long.
fn synthetic_ir(rt60_s: f64, sample_rate: u32, rng: &mut Rng) -> Vec<f32> {
    let sr = sample_rate as f64;
    let len = ((1.5 * rt60_s * sr).ceil() as usize).max(1);
    // Amplitude falls 60 dB (a factor 1000) per rt60: 10^(-3 t / rt60).
    let per_sample = 10f64.powf(-3.0 / (rt60_s * sr));
    let mut envelope = 1.0;
    gaussian(rng, len)
        .into_iter()
        .map(|g| {
            let v = g * envelope;
            envelope *= per_sample;
            v as f32
        })
        .collect()
}

impl Perturbation for Reverb {
    fn id(&self) -> String {
        match &self.source {
            Source::Synthetic(rt60) => {
                format!("reverb/v1;rt60_s={};wet={}", num(*rt60), num(self.wet))
            }
            Source::File(file) => match file.get() {
                Ok(ir) => format!("reverb/v1;ir=blake3:{};wet={}", ir.hash, num(self.wet)),
                Err(_) => format!(
                    "reverb/v1;ir=unreadable:{};wet={}",
                    file.path.display(),
                    num(self.wet)
                ),
            },
        }
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate("reverb", sample_rate)?;
        self.check("reverb", Some(sample_rate))?;
        if audio.is_empty() {
            return Ok(Vec::new());
        }
        let h = self.impulse_response(sample_rate, rng)?;
        let reverberant = convolve(audio, &h);
        let (dry, wet) = (1.0 - self.wet, self.wet);
        Ok(audio
            .iter()
            .zip(&reverberant)
            .map(|(&x, &r)| (dry * x as f64 + wet * r as f64) as f32)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::wav_pcm16;
    use crate::perturb::testutil::music_like;
    use crate::seed::rng;

    /// RT60 by Schroeder backward integration and a T30 line fit (−5 to
    /// −35 dB), extrapolated to 60 dB (ISO 3382-1).
    fn schroeder_rt60(h: &[f32], sr: u32) -> f64 {
        let mut energy: Vec<f64> = h.iter().map(|&v| (v as f64).powi(2)).collect();
        for i in (0..energy.len() - 1).rev() {
            energy[i] += energy[i + 1];
        }
        let total = energy[0];
        let pts: Vec<(f64, f64)> = energy
            .iter()
            .enumerate()
            .map(|(i, &e)| (i as f64 / sr as f64, 10.0 * (e / total).log10()))
            .filter(|&(_, db)| (-35.0..=-5.0).contains(&db))
            .collect();
        let n = pts.len() as f64;
        let (mt, md) = pts
            .iter()
            .fold((0.0, 0.0), |(a, b), (t, d)| (a + t / n, b + d / n));
        let stt: f64 = pts.iter().map(|(t, _)| (t - mt).powi(2)).sum();
        let cov: f64 = pts.iter().map(|(t, d)| (t - mt) * (d - md)).sum();
        -60.0 / (cov / stt)
    }

    #[test]
    fn synthetic_room_has_the_requested_rt60() {
        for sr in [16000u32, 44100] {
            for target in [0.2, 0.8, 2.5] {
                let mut impulse = vec![0.0f32; (2.0 * target * sr as f64) as usize];
                impulse[0] = 1.0;
                let r = Reverb::synthetic(target, 1.0).unwrap();
                let h = r.apply(&impulse, sr, &mut rng(11, &["room"])).unwrap();
                let energy: f64 = h.iter().map(|&v| (v as f64).powi(2)).sum();
                assert!((energy - 1.0).abs() < 1e-4, "unit-energy IR: {energy}");
                let got = schroeder_rt60(&h, sr);
                assert!(
                    ((got - target) / target).abs() < 0.15,
                    "{sr} Hz, {target} s: {got} s"
                );
            }
        }
    }

    #[test]
    fn dry_mix_is_identity_and_seeds_decide_the_room() {
        let x = music_like(16000, 1.0, 6);
        let dry = Reverb::synthetic(0.5, 0.0).unwrap();
        assert_eq!(dry.apply(&x, 16000, &mut rng(1, &[])).unwrap(), x);
        let r = Reverb::synthetic(0.5, 0.5).unwrap();
        let a = r.apply(&x, 16000, &mut rng(1, &["a"])).unwrap();
        let b = r.apply(&x, 16000, &mut rng(1, &["a"])).unwrap();
        let c = r.apply(&x, 16000, &mut rng(2, &["a"])).unwrap();
        assert_eq!(a.len(), x.len());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(r.id(), "reverb/v1;rt60_s=0.5;wet=0.5");
    }

    #[test]
    fn recorded_ir_is_convolved_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.wav");
        let ir: Vec<f32> = (0..400)
            .map(|i| (-(i as f32) / 60.0).exp() * if i % 2 == 0 { 0.9 } else { -0.3 })
            .collect();
        std::fs::write(&path, wav_pcm16(&[ir], 8000)).unwrap();
        let r = Reverb::from_file(&path, 1.0).unwrap();
        assert!(r.id().starts_with("reverb/v1;ir=blake3:"), "{}", r.id());
        let x = music_like(8000, 0.5, 7);
        let y = r.apply(&x, 8000, &mut rng(0, &[])).unwrap();
        let h = decode_file(&path).unwrap().samples;
        let norm = h.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        for i in (0..x.len()).step_by(37) {
            let direct: f64 = (0..h.len().min(i + 1))
                .map(|k| h[k] as f64 * x[i - k] as f64)
                .sum();
            assert!((y[i] as f64 - direct / norm).abs() < 1e-4, "{i}");
        }
        // The same file at another rate is resampled, not misread.
        assert_eq!(r.apply(&x, 16000, &mut rng(0, &[])).unwrap().len(), x.len());
    }

    #[test]
    fn missing_or_non_audio_ir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.wav");
        let err = Reverb::from_file(&missing, 0.5).unwrap_err().to_string();
        assert!(
            err.starts_with("reverb.ir_path: ") && err.contains("nope.wav"),
            "{err}"
        );
        let text = dir.path().join("notes.wav");
        std::fs::write(&text, "not audio").unwrap();
        let err = Reverb::from_file(&text, 0.5).unwrap_err().to_string();
        assert!(err.contains("notes.wav") && err.contains("decode"), "{err}");
        let err = Reverb::synthetic(20.0, 0.5).unwrap_err().to_string();
        assert_eq!(err, "reverb.rt60_s: must be in [0.05, 10] (got 20)");
    }
}
