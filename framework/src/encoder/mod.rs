//! Encoders turn mono audio into per-layer frame embeddings.
//!
//! Every encoder has a [`Encoder::fingerprint`] that covers every option that
//! changes its output; the embedding cache keys on it, so changing an option
//! can never serve stale embeddings. Built-ins: [`logmel::LogMelStats`] and
//! [`mfcc::MfccStats`], [`random_network`], [`precomputed`] and, with the
//! `torch` feature, [`torchscript`]. Adding an encoder is one file plus one
//! variant of [`EncoderSpec`].

pub mod logmel;
pub mod mfcc;
pub mod precomputed;
pub mod random_network;
pub mod torchscript;

use crate::pooling::Pooling;
use crate::{Error, Result};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// An audio encoder.
pub trait Encoder: Send + Sync {
    /// The name the user gave it in the config.
    fn name(&self) -> &str;
    /// Canonical description of everything that determines the output
    /// (kind, implementation version, every option, weight hashes).
    fn fingerprint(&self) -> String;
    /// The sample rate `encode` expects.
    fn sample_rate(&self) -> u32;
    /// Names of the layers `encode` returns, in order.
    fn layers(&self) -> Vec<String>;
    /// Frame embeddings per layer, each `(frames, dim)` with `frames ≥ 1`.
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>>;
    /// Whether the runner should hand this encoder several items at once
    /// ([`Encoder::encode_batch`]) rather than one item per thread.
    fn batches_items(&self) -> bool {
        false
    }
    /// [`Encoder::encode`] for several items, one result per item, in order.
    /// Encoders that batch across items (TorchScript) override it; the
    /// default encodes the items in parallel.
    fn encode_batch(&self, audios: &[Vec<f32>]) -> Vec<Result<Vec<Array2<f32>>>> {
        audios.par_iter().map(|a| self.encode(a)).collect()
    }
    /// Temporal pooling applied to the frames before caching.
    fn pooling(&self) -> Pooling;
    /// Fixed input duration in seconds (crop or zero-pad), if any.
    fn duration_s(&self) -> Option<f64>;
    /// Frame embeddings that do not come from audio (made elsewhere), by
    /// item id; `None` for encoders that encode audio.
    fn lookup(&self, _item_id: &str) -> Option<Result<Vec<Array2<f32>>>> {
        None
    }
}

/// An encoder as written in the config (`[[encoders]]`), tagged by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EncoderSpec {
    /// Log-mel spectrogram frames, pooled.
    LogmelStats(logmel::MelSpec),
    /// MFCC frames, pooled.
    MfccStats(logmel::MelSpec),
    /// A fixed random network on log-mel frames (untrained baseline).
    RandomNetwork(random_network::RandomNetworkSpec),
    /// Embeddings computed elsewhere, joined by item id.
    Precomputed(precomputed::PrecomputedSpec),
    /// A TorchScript module run through libtorch (`torch` feature).
    Torchscript(torchscript::TorchScriptSpec),
}

impl EncoderSpec {
    /// The user-given name.
    pub fn name(&self) -> &str {
        match self {
            EncoderSpec::LogmelStats(s) | EncoderSpec::MfccStats(s) => &s.name,
            EncoderSpec::RandomNetwork(s) => &s.name,
            EncoderSpec::Precomputed(s) => &s.name,
            EncoderSpec::Torchscript(s) => &s.name,
        }
    }

    /// The sample rate the encoder takes audio at.
    pub fn sample_rate(&self) -> u32 {
        match self {
            EncoderSpec::LogmelStats(s) | EncoderSpec::MfccStats(s) => s.sample_rate,
            EncoderSpec::RandomNetwork(s) => s.sample_rate,
            EncoderSpec::Precomputed(_) => 0,
            EncoderSpec::Torchscript(s) => s.rate(),
        }
    }

    /// Whether the encoder computes embeddings from audio (so perturbations
    /// can apply to it).
    pub fn reads_audio(&self) -> bool {
        !matches!(self, EncoderSpec::Precomputed(_))
    }

    /// Checks every option's range; `key` is this entry's path in the
    /// config, e.g. `encoders[1]`.
    pub fn validate(&self, key: &str) -> Result<()> {
        match self {
            EncoderSpec::LogmelStats(s) => {
                if s.n_mfcc.is_some() {
                    return Err(Error::config(
                        format!("{key}.n_mfcc"),
                        "only kind = \"mfcc_stats\" takes n_mfcc; remove it or change the kind",
                    ));
                }
                s.validate(key)
            }
            EncoderSpec::MfccStats(s) => {
                s.validate(key)?;
                let n = s.n_mfcc.unwrap_or(mfcc::DEFAULT_N_MFCC);
                if n == 0 || n > s.n_mels {
                    return Err(Error::config(
                        format!("{key}.n_mfcc"),
                        format!("must be in 1..=n_mels ({}) (got {n})", s.n_mels),
                    ));
                }
                Ok(())
            }
            EncoderSpec::RandomNetwork(s) => s.validate(key),
            EncoderSpec::Precomputed(s) => s.validate(key),
            EncoderSpec::Torchscript(s) => s.validate(key),
        }
    }
}

/// Builds the encoder a spec describes (after [`EncoderSpec::validate`]);
/// relative paths resolve against `base_dir` (the config file's directory).
pub fn build_encoder(spec: &EncoderSpec, base_dir: &std::path::Path) -> Result<Box<dyn Encoder>> {
    spec.validate(&format!("encoder \"{}\"", spec.name()))?;
    Ok(match spec {
        EncoderSpec::LogmelStats(s) => Box::new(logmel::LogMelStats::new(s.clone())),
        EncoderSpec::MfccStats(s) => Box::new(mfcc::MfccStats::new(s.clone())),
        EncoderSpec::RandomNetwork(s) => Box::new(random_network::RandomNetwork::new(s.clone())),
        EncoderSpec::Precomputed(s) => {
            Box::new(precomputed::Precomputed::open(s.clone(), base_dir)?)
        }
        #[cfg(feature = "torch")]
        EncoderSpec::Torchscript(s) => {
            Box::new(torchscript::TorchScript::open(s.clone(), base_dir)?)
        }
        #[cfg(not(feature = "torch"))]
        EncoderSpec::Torchscript(s) => {
            return Err(Error::Encoder {
                encoder: s.name.clone(),
                reason: "kind = \"torchscript\" needs libtorch, and this repbench was built without it; \
                         run scripts/fetch-libtorch.sh, then build with `cargo build --release --features torch` (README, \"TorchScript models\")"
                    .into(),
            })
        }
    })
}

/// Checks an optional crop/pad length (`key.duration_s`): positive seconds.
pub(crate) fn check_duration(key: &str, duration_s: Option<f64>) -> Result<()> {
    match duration_s {
        Some(d) if !(d.is_finite() && d > 0.0) => Err(Error::config(
            format!("{key}.duration_s"),
            format!("must be a positive number of seconds (got {d})"),
        )),
        _ => Ok(()),
    }
}

/// Checks that encoder output is finite, naming the encoder if not.
pub fn check_finite(encoder: &str, layers: &[Array2<f32>]) -> Result<()> {
    for (i, l) in layers.iter().enumerate() {
        if l.nrows() == 0 {
            return Err(Error::Encoder {
                encoder: encoder.into(),
                reason: format!("layer {i} returned zero frames; expected at least one"),
            });
        }
        if l.iter().any(|v| !v.is_finite()) {
            return Err(Error::Encoder {
                encoder: encoder.into(),
                reason: format!("layer {i} contains NaN or infinite values"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default build has no libtorch: a TorchScript encoder must say how
    /// to get it instead of failing obscurely.
    #[cfg(not(feature = "torch"))]
    #[test]
    fn torchscript_without_the_feature_says_how_to_get_it() {
        let spec: EncoderSpec = toml::from_str(
            "kind = \"torchscript\"\nname = \"net\"\npath = \"m.pt\"\nsample_rate = 16000",
        )
        .unwrap();
        let err = build_encoder(&spec, std::path::Path::new("."))
            .err()
            .expect("no libtorch in this build")
            .to_string();
        assert!(
            err.contains("encoder \"net\"")
                && err.contains("scripts/fetch-libtorch.sh")
                && err.contains("--features torch"),
            "{err}"
        );
    }

    /// With libtorch, the same spec reaches the loader (here: a missing file).
    #[cfg(feature = "torch")]
    #[test]
    fn torchscript_with_the_feature_opens_the_file() {
        let spec: EncoderSpec = toml::from_str(
            "kind = \"torchscript\"\nname = \"net\"\npath = \"no-such-file.pt\"\nsample_rate = 16000",
        )
        .unwrap();
        let err = build_encoder(&spec, std::path::Path::new("."))
            .err()
            .expect("the file is missing")
            .to_string();
        assert!(err.contains("cannot read the TorchScript file"), "{err}");
    }
}
