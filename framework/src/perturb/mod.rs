//! Perturbations: audio effects applied to an item before encoding, to
//! measure how a representation degrades under noise, codecs, filtering,
//! reverberation, pitch and tempo changes, and distortion.
//!
//! * [`Perturbation`] is the one shape every effect has: parameters are
//!   checked once when the effect is built, then [`Perturbation::apply`]
//!   runs it on mono audio. [`Perturbation::id`] fingerprints the kind, the
//!   implementation version and every parameter, for cache keys.
//! * [`PerturbationSpec`] is the config form (`kind = "noise"`, …). Each kind
//!   has one severity axis that takes one number or a list (a [`Sweep`]);
//!   [`PerturbationSpec::expand`] yields one effect per severity value.
//! * Randomness (noise, synthetic reverb) comes only from the `rng` passed
//!   to `apply`, so the same seed gives byte-identical output.
//!
//! ```
//! use repbench_framework::perturb::PerturbationSpec;
//! let spec: PerturbationSpec = serde_json::from_str(
//!     r#"{"kind": "noise", "snr_db": [30, 10], "color": "pink"}"#).unwrap();
//! spec.validate("perturbations[0]").unwrap();
//! let mut rng = repbench_framework::seed::rng(1, &["noise"]);
//! let tone: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.1).sin()).collect();
//! for (snr_db, effect) in spec.expand() {
//!     let noisy = effect.apply(&tone, 16000, &mut rng).unwrap();
//!     assert_eq!(noisy.len(), tone.len());
//!     assert!(effect.id().contains(&format!("snr_db={snr_db}")));
//! }
//! ```

pub mod bitcrush;
pub mod butterworth;
pub mod chain;
pub mod clipping;
mod convolve;
mod fft_len;
pub mod filter;
pub mod gain;
pub mod mp3;
pub mod noise;
pub mod pitch_shift;
mod random;
pub mod resample;
pub mod reverb;
mod sinc;
mod spec;
mod sweep;
#[cfg(test)]
mod testutil;
pub mod time_stretch;
pub mod transform;
mod vocoder;

pub use bitcrush::{Bitcrush, BitcrushSpec};
pub use chain::{Chain, ChainSpec};
pub use clipping::{Clipping, ClippingSpec};
pub use filter::{BandpassSpec, Filter, FilterSpec};
pub use gain::{Gain, GainSpec};
pub use mp3::{Mp3, Mp3Spec};
pub use noise::{Noise, NoiseColor, NoiseSpec};
pub use pitch_shift::{PitchShift, PitchShiftSpec};
pub use resample::{Resample, ResampleSpec};
pub use reverb::{Reverb, ReverbSpec};
pub use spec::PerturbationSpec;
pub use sweep::Sweep;
pub use time_stretch::{TimeStretch, TimeStretchSpec};
pub use transform::{ThetaPlan, ThetaScale, TransformSpec, View};

use crate::{Error, Result};

/// An audio effect with fixed, already-checked parameters.
pub trait Perturbation: Send + Sync {
    /// Canonical fingerprint of kind, implementation version and every
    /// parameter (goes into cache keys), e.g.
    /// `noise/v1;color=white;snr_db=20`.
    fn id(&self) -> String;
    /// Applies the effect to mono `audio` at `sample_rate`. The output has
    /// the input's length, except for `time_stretch`. Parameters that depend
    /// on the sample rate (cutoffs below Nyquist, …) are checked here.
    fn apply(
        &self,
        audio: &[f32],
        sample_rate: u32,
        rng: &mut crate::seed::Rng,
    ) -> Result<Vec<f32>>;
}

/// The config error for `field` of the entry at `key`.
pub(crate) fn bad(key: &str, field: &str, reason: impl Into<String>) -> Error {
    Error::config(format!("{key}.{field}"), reason)
}

/// Formats a parameter for an id: shortest round-trip form, and `-0` shown
/// as `0` so equal settings always give equal ids.
pub(crate) fn num(v: f64) -> String {
    format!("{}", v + 0.0)
}

/// Checks that `value` is finite and in `[lo, hi]`.
pub(crate) fn check_range(key: &str, field: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(bad(
            key,
            field,
            format!("must be in [{}, {}] (got {})", num(lo), num(hi), num(value)),
        ));
    }
    Ok(())
}

/// Checks that `value` is a whole number in `[lo, hi]`.
pub(crate) fn check_integer(key: &str, field: &str, value: f64, lo: u32, hi: u32) -> Result<()> {
    if !value.is_finite() || value.fract() != 0.0 || value < lo as f64 || value > hi as f64 {
        return Err(bad(
            key,
            field,
            format!("must be a whole number in {lo}..={hi} (got {})", num(value)),
        ));
    }
    Ok(())
}

/// Checks that a sample rate is usable at all.
pub(crate) fn check_sample_rate(kind: &str, sample_rate: u32) -> Result<()> {
    if sample_rate == 0 {
        return Err(Error::config(
            kind,
            "sample rate must be positive (got 0 Hz)",
        ));
    }
    Ok(())
}
