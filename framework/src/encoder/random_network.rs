//! `random_network`: a fixed, randomly initialised network on log-mel
//! frames — the untrained-model baseline (random weights are a known strong
//! baseline for audio representations), pure Rust.
//!
//! Each frame is the log-mel spectrum (per-item standardised) stacked with
//! its `context − 1` predecessors; `depth` fully connected ReLU layers of
//! `width` units with He-normal weights (He et al., 2015) drawn from
//! `seed`. Every layer is exposed, for layer-wise evaluation.

use super::logmel::{d_hop, d_n_fft, d_n_mels, d_sample_rate, d_top_db, LogMelFrontEnd, MelSpec};
use super::Encoder;
use crate::pooling::Pooling;
use crate::{seed, Error, Result};
use ndarray::{Array1, Array2};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// Bumped whenever the computation changes (2: the log-mel front end sums
/// mel bands per frame over their non-zero bins).
const IMPL_VERSION: u32 = 2;

fn d_context() -> usize {
    5
}
fn d_width() -> usize {
    512
}
fn d_depth() -> usize {
    3
}

/// Options of `kind = "random_network"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomNetworkSpec {
    /// Name used in results.
    pub name: String,
    /// Input sample rate.
    #[serde(default = "d_sample_rate")]
    pub sample_rate: u32,
    /// FFT size of the log-mel front end.
    #[serde(default = "d_n_fft")]
    pub n_fft: usize,
    /// Hop of the log-mel front end.
    #[serde(default = "d_hop")]
    pub hop_length: usize,
    /// Mel bands.
    #[serde(default = "d_n_mels")]
    pub n_mels: usize,
    /// Frames stacked per input vector.
    #[serde(default = "d_context")]
    pub context: usize,
    /// Units per layer.
    #[serde(default = "d_width")]
    pub width: usize,
    /// Number of layers.
    #[serde(default = "d_depth")]
    pub depth: usize,
    /// Seed of the weights.
    #[serde(default)]
    pub seed: u64,
    /// Temporal pooling.
    #[serde(default)]
    pub pooling: Pooling,
    /// Crop or zero-pad every item to this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

impl RandomNetworkSpec {
    fn mel(&self) -> MelSpec {
        MelSpec {
            name: self.name.clone(),
            sample_rate: self.sample_rate,
            n_fft: self.n_fft,
            hop_length: self.hop_length,
            n_mels: self.n_mels,
            fmin: 0.0,
            fmax: None,
            top_db: d_top_db(),
            pooling: self.pooling,
            duration_s: self.duration_s,
            n_mfcc: None,
        }
    }

    /// Range checks with the offending key in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.mel().validate(key)?;
        for (field, value, max) in [
            ("context", self.context, 64),
            ("width", self.width, 8192),
            ("depth", self.depth, 16),
        ] {
            if value == 0 || value > max {
                return Err(Error::config(
                    format!("{key}.{field}"),
                    format!("must be in 1..={max} (got {value})"),
                ));
            }
        }
        Ok(())
    }
}

/// The encoder: front end plus fixed layers.
pub struct RandomNetwork {
    spec: RandomNetworkSpec,
    front: LogMelFrontEnd,
    layers: Vec<(Array2<f32>, Array1<f32>)>,
}

impl RandomNetwork {
    /// Draws the weights from the spec's seed.
    pub fn new(spec: RandomNetworkSpec) -> Self {
        let front = LogMelFrontEnd::new(&spec.mel());
        let mut fan_in = spec.n_mels * spec.context;
        let mut layers = Vec::with_capacity(spec.depth);
        for l in 0..spec.depth {
            let mut rng = seed::rng(spec.seed, &["random_network", &l.to_string()]);
            let sd = (2.0 / fan_in as f64).sqrt();
            let w = Array2::from_shape_fn((fan_in, spec.width), |_| {
                (sd * standard_normal(&mut rng)) as f32
            });
            layers.push((w, Array1::zeros(spec.width)));
            fan_in = spec.width;
        }
        RandomNetwork {
            spec,
            front,
            layers,
        }
    }
}

/// Box–Muller standard normal.
fn standard_normal(rng: &mut seed::Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Encoder for RandomNetwork {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn fingerprint(&self) -> String {
        format!(
            "random_network/v{IMPL_VERSION};{}",
            serde_json::to_string(&self.spec).expect("spec serialises")
        )
    }
    fn sample_rate(&self) -> u32 {
        self.spec.sample_rate
    }
    fn layers(&self) -> Vec<String> {
        (1..=self.spec.depth).map(|l| format!("layer{l}")).collect()
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        let mel = self.front.log_mel(audio);
        // Per-item standardisation keeps the ReLUs in their working range.
        let mean = mel.mean().unwrap_or(0.0);
        let sd = mel.std(0.0).max(1e-6);
        let mel = mel.mapv(|v| (v - mean) / sd);
        let (frames, bands) = mel.dim();
        let c = self.spec.context;
        // Frame t sees frames t−c+1 ..= t (zeros before the start).
        let mut h = Array2::zeros((frames, bands * c));
        for t in 0..frames {
            for k in 0..c {
                if t >= k {
                    h.slice_mut(ndarray::s![t, k * bands..(k + 1) * bands])
                        .assign(&mel.row(t - k));
                }
            }
        }
        let mut out = Vec::with_capacity(self.layers.len());
        for (w, b) in &self.layers {
            h = (h.dot(w) + b).mapv(|v| v.max(0.0));
            out.push(h.clone());
        }
        Ok(out)
    }
    fn pooling(&self) -> Pooling {
        self.spec.pooling
    }
    fn duration_s(&self) -> Option<f64> {
        self.spec.duration_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_by_seed_and_every_layer_exposed() {
        let spec: RandomNetworkSpec = serde_json::from_value(
            serde_json::json!({"name": "r", "width": 32, "depth": 2, "seed": 3}),
        )
        .unwrap();
        let a = RandomNetwork::new(spec.clone());
        let tone: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin()).collect();
        let out = a.encode(&tone).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].ncols(), 32);
        assert_eq!(out, RandomNetwork::new(spec.clone()).encode(&tone).unwrap());
        let other = RandomNetwork::new(RandomNetworkSpec { seed: 4, ..spec });
        assert_ne!(out, other.encode(&tone).unwrap());
        assert_ne!(a.fingerprint(), other.fingerprint());
    }
}
