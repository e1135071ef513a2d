//! The config form of a perturbation and its expansion into effects.

use super::bitcrush::{Bitcrush, BitcrushSpec};
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
    Resample
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
        }
    }

    /// The name of the severity axis: the field that may hold a list.
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
        }
    }

    /// The severity values in sweep order.
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
            PerturbationSpec::Reverb(s) => s.check_shape(key)?,
            _ => Sweep::many(self.severities()).check(key, self.severity_name())?,
        }
        for (_, effect) in self.build_all() {
            effect.check(key, sample_rate)?;
        }
        Ok(())
    }

    /// One effect per severity value, in sweep order, each paired with its
    /// severity.
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
