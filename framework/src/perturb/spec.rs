//! The config form of a perturbation and its expansion into effects.

use super::bitcrush::{Bitcrush, BitcrushSpec};
use super::chain::{Chain, ChainSpec};
use super::clipping::{Clipping, ClippingSpec};
use super::filter::{BandpassSpec, Filter, FilterSpec};
use super::gain::{Gain, GainSpec};
use super::mp3::{Mp3, Mp3Spec};
use super::noise::{Noise, NoiseSpec};
use super::pitch_shift::{PitchShift, PitchShiftSpec};
use super::resample::{Resample, ResampleSpec};
use super::reverb::{Reverb, ReverbSpec};
use super::time_stretch::{TimeStretch, TimeStretchSpec};
use super::{Perturbation, Sweep};
use crate::seed::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A perturbation as written in the config, tagged by `kind`.
///
/// Each kind has one severity axis ([`PerturbationSpec::severity_name`])
/// that takes one number or a list; every other parameter takes one value.
/// Unknown kinds and unknown keys are parse errors.
///
/// ```toml
/// [[perturbations]]
/// kind = "noise"
/// snr_db = [40, 30, 20, 10, 0]
/// color = "pink"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PerturbationSpec {
    /// Additive noise: `snr_db` (axis), `color`.
    Noise(NoiseSpec),
    /// Gain: `gain_db` (axis).
    Gain(GainSpec),
    /// MP3 round trip: `bitrate_kbps` (axis).
    Mp3(Mp3Spec),
    /// Butterworth lowpass: `cutoff_hz` (axis), `order`.
    Lowpass(FilterSpec),
    /// Butterworth highpass: `cutoff_hz` (axis), `order`.
    Highpass(FilterSpec),
    /// Butterworth bandpass: `low_hz`, `high_hz` (axis), `order`.
    Bandpass(BandpassSpec),
    /// Convolution reverb: `rt60_s` (axis) and `wet`, or `ir_path` and
    /// `wet` (axis).
    Reverb(ReverbSpec),
    /// Pitch shift keeping duration: `semitones` (axis).
    PitchShift(PitchShiftSpec),
    /// Tempo change keeping pitch: `rate` (axis).
    TimeStretch(TimeStretchSpec),
    /// Clipping at a percentile of |x|: `percentile` (axis).
    Clipping(ClippingSpec),
    /// Bit-depth reduction: `bits` (axis).
    Bitcrush(BitcrushSpec),
    /// Down- and up-sampling: `rate_hz` (axis).
    Resample(ResampleSpec),
    /// Steps applied in order: `steps` (no axis).
    Chain(ChainSpec),
}

/// A concrete effect that can re-check its parameters under any key.
pub(crate) trait Effect: Perturbation {
    /// Range checks; with a sample rate, also the rate-dependent ones.
    fn check(&self, key: &str, sample_rate: Option<u32>) -> Result<()>;
    /// The same effect as a plain [`Perturbation`].
    fn into_perturbation(self: Box<Self>) -> Box<dyn Perturbation>;
}

macro_rules! effects {
    ($($t:ty),* $(,)?) => {$(
        impl Effect for $t {
            fn check(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
                <$t>::check(self, key, sample_rate)
            }
            fn into_perturbation(self: Box<Self>) -> Box<dyn Perturbation> {
                self
            }
        }
    )*};
}
effects!(
    Noise,
    Gain,
    Mp3,
    Filter,
    Reverb,
    PitchShift,
    TimeStretch,
    Clipping,
    Bitcrush,
    Resample,
    Chain
);

type Built = Vec<(f64, Box<dyn Effect>)>;

fn each<E: Effect + 'static>(sweep: &Sweep, build: impl Fn(f64) -> E) -> Built {
    sweep
        .values()
        .iter()
        .map(|&v| (v, Box::new(build(v)) as Box<dyn Effect>))
        .collect()
}

impl PerturbationSpec {
    /// Resolves relative file paths (a reverb's `ir_path`, also inside a
    /// chain) against `base`, the config file's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        match self {
            PerturbationSpec::Reverb(r) => {
                if let Some(p) = r.ir_path.as_mut() {
                    if p.is_relative() {
                        *p = base.join(&*p);
                    }
                }
            }
            PerturbationSpec::Chain(c) => c.steps.iter_mut().for_each(|s| s.resolve_paths(base)),
            _ => {}
        }
    }

    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        use PerturbationSpec::*;
        match self {
            Noise(_) => "noise",
            Gain(_) => "gain",
            Mp3(_) => "mp3",
            Lowpass(_) => "lowpass",
            Highpass(_) => "highpass",
            Bandpass(_) => "bandpass",
            Reverb(_) => "reverb",
            PitchShift(_) => "pitch_shift",
            TimeStretch(_) => "time_stretch",
            Clipping(_) => "clipping",
            Bitcrush(_) => "bitcrush",
            Resample(_) => "resample",
            Chain(_) => "chain",
        }
    }

    /// The name of the severity axis: the field that may hold a list
    /// (`"none"` for a chain).
    pub fn severity_name(&self) -> &'static str {
        use PerturbationSpec::*;
        match self {
            Noise(_) => "snr_db",
            Gain(_) => "gain_db",
            Mp3(_) => "bitrate_kbps",
            Lowpass(_) | Highpass(_) => "cutoff_hz",
            Bandpass(_) => "high_hz",
            Reverb(s) => s.severity_name(),
            PitchShift(_) => "semitones",
            TimeStretch(_) => "rate",
            Clipping(_) => "percentile",
            Bitcrush(_) => "bits",
            Resample(_) => "rate_hz",
            Chain(_) => "none",
        }
    }

    /// The severity values in sweep order (`[0]` for a chain).
    pub fn severities(&self) -> Vec<f64> {
        use PerturbationSpec::*;
        let sweep = match self {
            Noise(s) => s.sweep(),
            Gain(s) => s.sweep(),
            Mp3(s) => s.sweep(),
            Lowpass(s) | Highpass(s) => s.sweep(),
            Bandpass(s) => s.sweep(),
            Reverb(s) => s.sweep(),
            PitchShift(s) => s.sweep(),
            TimeStretch(s) => s.sweep(),
            Clipping(s) => s.sweep(),
            Bitcrush(s) => s.sweep(),
            Resample(s) => s.sweep(),
            Chain(_) => return vec![0.0],
        };
        sweep.values().to_vec()
    }

    /// Checks every parameter that does not depend on the audio; `key` is
    /// this entry's path in the config (e.g. `perturbations[0]`) and starts
    /// every error message (`perturbations[0].snr_db: must be in …`).
    /// Edges below Nyquist are checked by [`Self::validate_at`] and at
    /// apply time.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.validate_inner(key, None)
    }

    /// [`Self::validate`] plus the checks that need the audio's sample rate
    /// (filter edges below Nyquist, resampling below the rate), for callers
    /// that know the rate at config time.
    pub fn validate_at(&self, key: &str, sample_rate: u32) -> Result<()> {
        if sample_rate == 0 {
            return Err(Error::config(
                key,
                "sample rate must be positive (got 0 Hz)",
            ));
        }
        self.validate_inner(key, Some(sample_rate))
    }

    pub(crate) fn validate_inner(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
        match self {
            PerturbationSpec::Chain(s) => return s.validate(key, sample_rate),
            PerturbationSpec::Reverb(s) => s.check_shape(key)?,
            _ => Sweep::many(self.severities()).check(key, self.severity_name())?,
        }
        for (_, effect) in self.build_all() {
            effect.check(key, sample_rate)?;
        }
        Ok(())
    }

    /// One effect per severity value, in sweep order, each paired with its
    /// severity (`0` for a chain).
    ///
    /// Call [`Self::validate`] first. An invalid spec expands to a single
    /// entry with severity NaN whose `apply` returns the validation error,
    /// so a skipped check surfaces as an error, never as wrong audio.
    pub fn expand(&self) -> Vec<(f64, Box<dyn Perturbation>)> {
        if let Err(e) = self.validate(self.kind()) {
            let rejected = Rejected {
                kind: self.kind(),
                reason: e.to_string(),
            };
            return vec![(f64::NAN, Box::new(rejected))];
        }
        self.build_all()
            .into_iter()
            .map(|(v, e)| (v, e.into_perturbation()))
            .collect()
    }

    pub(crate) fn build_all(&self) -> Built {
        use PerturbationSpec::*;
        match self {
            Noise(s) => each(s.sweep(), |v| s.build(v)),
            Gain(s) => each(s.sweep(), |v| s.build(v)),
            Mp3(s) => each(s.sweep(), |v| s.build(v)),
            Lowpass(s) => each(s.sweep(), |v| s.build_lowpass(v)),
            Highpass(s) => each(s.sweep(), |v| s.build_highpass(v)),
            Bandpass(s) => each(s.sweep(), |v| s.build(v)),
            Reverb(s) => s
                .build_all()
                .into_iter()
                .map(|(v, r)| (v, Box::new(r) as Box<dyn Effect>))
                .collect(),
            PitchShift(s) => each(s.sweep(), |v| s.build(v)),
            TimeStretch(s) => each(s.sweep(), |v| s.build(v)),
            Clipping(s) => each(s.sweep(), |v| s.build(v)),
            Bitcrush(s) => each(s.sweep(), |v| s.build(v)),
            Resample(s) => each(s.sweep(), |v| s.build(v)),
            Chain(s) => vec![(0.0, Box::new(s.build()) as Box<dyn Effect>)],
        }
    }
}

/// What an invalid spec expands to: applying it reports why.
struct Rejected {
    kind: &'static str,
    reason: String,
}

impl Perturbation for Rejected {
    fn id(&self) -> String {
        format!("{}/invalid;{}", self.kind, self.reason)
    }

    fn apply(&self, _audio: &[f32], _sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        Err(Error::Other(format!(
            "invalid perturbation (validate the config first): {}",
            self.reason
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::music_like;
    use crate::seed::rng;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Config {
        perturbations: Vec<PerturbationSpec>,
    }

    const EVERY_KIND: &str = r#"
[[perturbations]]
kind = "noise"
snr_db = [40, 30, 20, 10, 0]
color = "pink"

[[perturbations]]
kind = "gain"
gain_db = -6

[[perturbations]]
kind = "mp3"
bitrate_kbps = [128, 32]

[[perturbations]]
kind = "lowpass"
cutoff_hz = [6000, 2000]
order = 8

[[perturbations]]
kind = "highpass"
cutoff_hz = 200

[[perturbations]]
kind = "bandpass"
low_hz = 300
high_hz = [3400, 2000]
order = 2

[[perturbations]]
kind = "reverb"
rt60_s = [0.3, 1.2]
wet = 0.4

[[perturbations]]
kind = "pitch_shift"
semitones = [-2, 2]

[[perturbations]]
kind = "time_stretch"
rate = [0.8, 1.25]

[[perturbations]]
kind = "clipping"
percentile = 99

[[perturbations]]
kind = "bitcrush"
bits = [8, 4]

[[perturbations]]
kind = "resample"
rate_hz = 8000

[[perturbations]]
kind = "chain"
steps = [{ kind = "lowpass", cutoff_hz = 3400 }, { kind = "noise", snr_db = 20 }]
"#;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_parses_validates_and_expands_in_sweep_order() {
        let cfg = parse(EVERY_KIND).unwrap();
        let expected = [
            ("noise", "snr_db", vec![40.0, 30.0, 20.0, 10.0, 0.0]),
            ("gain", "gain_db", vec![-6.0]),
            ("mp3", "bitrate_kbps", vec![128.0, 32.0]),
            ("lowpass", "cutoff_hz", vec![6000.0, 2000.0]),
            ("highpass", "cutoff_hz", vec![200.0]),
            ("bandpass", "high_hz", vec![3400.0, 2000.0]),
            ("reverb", "rt60_s", vec![0.3, 1.2]),
            ("pitch_shift", "semitones", vec![-2.0, 2.0]),
            ("time_stretch", "rate", vec![0.8, 1.25]),
            ("clipping", "percentile", vec![99.0]),
            ("bitcrush", "bits", vec![8.0, 4.0]),
            ("resample", "rate_hz", vec![8000.0]),
            ("chain", "none", vec![0.0]),
        ];
        assert_eq!(cfg.perturbations.len(), expected.len());
        for (i, (spec, (kind, axis, values))) in cfg.perturbations.iter().zip(&expected).enumerate()
        {
            let key = format!("perturbations[{i}]");
            spec.validate(&key).unwrap();
            spec.validate_at(&key, 16000).unwrap();
            assert_eq!(spec.kind(), *kind);
            assert_eq!(spec.severity_name(), *axis);
            assert_eq!(&spec.severities(), values);
            let expanded = spec.expand();
            let got: Vec<f64> = expanded.iter().map(|(v, _)| *v).collect();
            assert_eq!(&got, values, "{kind}");
            for (_, p) in &expanded {
                assert!(p.id().starts_with(&format!("{kind}/v1;")), "{}", p.id());
            }
        }
        // Ids differ between severities and settle every parameter.
        let noise_ids: Vec<String> = cfg.perturbations[0]
            .expand()
            .iter()
            .map(|(_, p)| p.id())
            .collect();
        assert_eq!(noise_ids[2], "noise/v1;color=pink;snr_db=20");
        let ids: std::collections::BTreeSet<&String> = noise_ids.iter().collect();
        assert_eq!(ids.len(), 5);
    }

    #[test]
    fn every_perturbation_is_seeded_and_keeps_length() {
        let cfg = parse(EVERY_KIND).unwrap();
        let x = music_like(16000, 1.0, 12);
        for spec in &cfg.perturbations {
            for (_, p) in spec.expand() {
                let a = p.apply(&x, 16000, &mut rng(1, &[spec.kind()])).unwrap();
                let b = p.apply(&x, 16000, &mut rng(1, &[spec.kind()])).unwrap();
                assert_eq!(a, b, "{}: same seed, different output", p.id());
                assert!(a.iter().all(|v| v.is_finite()), "{}", p.id());
                if spec.kind() == "time_stretch" {
                    assert_ne!(a.len(), x.len(), "{}", p.id());
                } else {
                    assert_eq!(a.len(), x.len(), "{}", p.id());
                }
                let c = p.apply(&x, 16000, &mut rng(2, &[spec.kind()])).unwrap();
                let random = matches!(spec.kind(), "noise" | "reverb" | "chain");
                assert_eq!(a != c, random, "{}: seed dependence", p.id());
            }
        }
    }

    #[test]
    fn empty_and_tiny_inputs_and_odd_rates_are_handled() {
        let cfg = parse(EVERY_KIND).unwrap();
        for spec in &cfg.perturbations {
            for (_, p) in spec.expand() {
                for len in [0usize, 1, 7, 300] {
                    let x = music_like(16000, len as f64 / 16000.0, 1);
                    let y = p.apply(&x, 16000, &mut rng(0, &[])).unwrap();
                    if spec.kind() != "time_stretch" {
                        assert_eq!(y.len(), len, "{}", p.id());
                    }
                    assert!(y.iter().all(|v| v.is_finite()), "{}", p.id());
                }
                // Rates that are not MPEG rates, and a high one.
                for sr in [12345u32, 96000] {
                    let x = music_like(sr, 0.2, 1);
                    let y = p.apply(&x, sr, &mut rng(0, &[])).unwrap();
                    assert!(y.iter().all(|v| v.is_finite()), "{} at {sr} Hz", p.id());
                }
            }
        }
        let err = cfg.perturbations[1].expand()[0]
            .1
            .apply(&[0.0; 4], 0, &mut rng(0, &[]))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "gain: sample rate must be positive (got 0 Hz)");
    }

    #[test]
    fn config_round_trips_through_toml_and_json() {
        let cfg = parse(EVERY_KIND).unwrap();
        let text = toml::to_string(&cfg).unwrap();
        assert_eq!(parse(&text).unwrap(), cfg, "{text}");
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), cfg);
        assert!(
            json.contains(r#""snr_db":[40.0,30.0,20.0,10.0,0.0]"#),
            "{json}"
        );
    }

    #[test]
    fn unknown_kinds_keys_and_choices_are_parse_errors_that_list_the_options() {
        let err = parse("[[perturbations]]\nkind = \"blur\"\namount = 3\n").unwrap_err();
        assert!(err.contains("unknown variant `blur`"), "{err}");
        assert!(
            err.contains("`noise`") && err.contains("`pitch_shift`") && err.contains("`chain`"),
            "{err}"
        );
        let err = parse("[[perturbations]]\nkind = \"noise\"\nsnr_db = 10\ncolour = \"pink\"\n")
            .unwrap_err();
        assert!(
            err.contains("unknown field `colour`, expected `snr_db` or `color`"),
            "{err}"
        );
        let err = parse("[[perturbations]]\nkind = \"noise\"\nsnr_db = 10\ncolor = \"blue\"\n")
            .unwrap_err();
        assert!(
            err.contains("unknown variant `blue`, expected one of `white`, `pink`, `brown`"),
            "{err}"
        );
        let err = parse("[[perturbations]]\nkind = \"gain\"\ngain_db = \"loud\"\n").unwrap_err();
        assert!(err.contains("a number or a list of numbers"), "{err}");
        let err = parse("[[perturbations]]\nkind = \"noise\"\ncolor = \"pink\"\n").unwrap_err();
        assert!(err.contains("missing field `snr_db`"), "{err}");
        let err = parse("[[perturbations]]\nkind = \"chain\"\nsteps = [{ kind = \"gain\", gain_db = 1, gain = 2 }]\n").unwrap_err();
        assert!(err.contains("unknown field `gain`"), "{err}");
    }

    fn validate(text: &str, sample_rate: Option<u32>) -> String {
        let cfg = parse(text).unwrap();
        let spec = &cfg.perturbations[0];
        match sample_rate {
            Some(sr) => spec.validate_at("perturbations[0]", sr),
            None => spec.validate("perturbations[0]"),
        }
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn range_errors_name_the_key_and_the_valid_range() {
        let err = validate(
            "[[perturbations]]\nkind = \"mp3\"\nbitrate_kbps = [128, -64]\n",
            None,
        );
        assert!(
            err.starts_with(
                "perturbations[0].bitrate_kbps: must be one of LAME's bitrates 8, 16, 24"
            ),
            "{err}"
        );
        assert!(err.ends_with("(got -64)"), "{err}");
        let err = validate(
            "[[perturbations]]\nkind = \"lowpass\"\ncutoff_hz = 9000\n",
            Some(16000),
        );
        assert_eq!(
            err,
            "perturbations[0].cutoff_hz: must be below Nyquist (8000 Hz) (got 9000); the audio is at 16000 Hz"
        );
        let err = validate(
            "[[perturbations]]\nkind = \"noise\"\nsnr_db = [20, 500]\n",
            None,
        );
        assert_eq!(
            err,
            "perturbations[0].snr_db: must be in [-40, 100] (got 500)"
        );
        let err = validate("[[perturbations]]\nkind = \"noise\"\nsnr_db = []\n", None);
        assert_eq!(
            err,
            "perturbations[0].snr_db: give a number or a non-empty list of numbers"
        );
        let err = validate(
            "[[perturbations]]\nkind = \"lowpass\"\ncutoff_hz = 1000\norder = 5\n",
            None,
        );
        assert_eq!(err, "perturbations[0].order: must be 2, 4, 6 or 8 (got 5)");
        let err = validate(
            "[[perturbations]]\nkind = \"resample\"\nrate_hz = 22050\n",
            Some(16000),
        );
        assert!(
            err.starts_with(
                "perturbations[0].rate_hz: must be below the audio's sample rate (16000 Hz)"
            ),
            "{err}"
        );
        let err = validate("[[perturbations]]\nkind = \"bitcrush\"\nbits = 0\n", None);
        assert_eq!(
            err,
            "perturbations[0].bits: must be a whole number in 1..=16 (got 0)"
        );
    }

    #[test]
    fn reverb_takes_a_synthetic_or_a_recorded_room() {
        let err = validate("[[perturbations]]\nkind = \"reverb\"\nwet = 0.5\n", None);
        assert!(
            err.starts_with("perturbations[0].rt60_s: missing: give rt60_s"),
            "{err}"
        );
        let err = validate(
            "[[perturbations]]\nkind = \"reverb\"\nrt60_s = 1\nir_path = \"room.wav\"\n",
            None,
        );
        assert!(
            err.starts_with("perturbations[0].rt60_s: give rt60_s (synthetic room) or ir_path"),
            "{err}"
        );
        let err = validate(
            "[[perturbations]]\nkind = \"reverb\"\nrt60_s = 1\nwet = [0.2, 0.8]\n",
            None,
        );
        assert!(
            err.starts_with(
                "perturbations[0].wet: with a synthetic room the severity axis is rt60_s"
            ),
            "{err}"
        );
        let err = validate("[[perturbations]]\nkind = \"reverb\"\nir_path = \"/no/such/room.wav\"\nwet = [0.2, 0.8]\n", None);
        assert!(
            err.starts_with("perturbations[0].ir_path: /no/such/room.wav: "),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.wav");
        let ir: Vec<f32> = (0..800)
            .map(|i| (-(i as f32) / 100.0).exp() * if i % 3 == 0 { 0.8 } else { -0.4 })
            .collect();
        std::fs::write(&path, crate::audio::wav_pcm16(&[ir], 16000)).unwrap();
        let text = format!(
            "[[perturbations]]\nkind = \"reverb\"\nir_path = {:?}\nwet = [0.2, 0.8]\n",
            path.display().to_string()
        );
        let spec = &parse(&text).unwrap().perturbations[0];
        spec.validate("perturbations[0]").unwrap();
        assert_eq!(spec.severity_name(), "wet");
        let expanded = spec.expand();
        assert_eq!(expanded.len(), 2);
        assert!(
            expanded[1].1.id().starts_with("reverb/v1;ir=blake3:")
                && expanded[1].1.id().ends_with(";wet=0.8")
        );
    }

    #[test]
    fn an_unvalidated_bad_spec_expands_to_an_error_not_to_audio() {
        let spec = &parse("[[perturbations]]\nkind = \"gain\"\ngain_db = [0, 1000]\n")
            .unwrap()
            .perturbations[0];
        let expanded = spec.expand();
        assert_eq!(expanded.len(), 1);
        assert!(expanded[0].0.is_nan());
        let err = expanded[0]
            .1
            .apply(&[0.5; 10], 16000, &mut rng(0, &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gain.gain_db: must be in [-120, 60] (got 1000)"),
            "{err}"
        );
    }
}
