//! repbench core: everything between a dataset item and a result record that
//! does not depend on a concrete dataset, task or report.
//!
//! * [`audio`] decodes files, mixes to mono, resamples and crops.
//! * [`dsp`] holds the spectral front ends (STFT, mel filterbank, DCT-II).
//! * [`encoder`] defines the [`encoder::Encoder`] trait and the built-in DSP
//!   baselines (`logmel_stats`, `mfcc_stats`).
//! * [`dataset`] defines what a dataset is ([`dataset::Dataset`], [`dataset::Item`]).
//! * [`cache`] is the content-addressed, checksummed embedding and result cache.
//! * [`evaluator`] is the interface tasks implement; [`runner`] drives a whole run.
//! * [`perturb`] holds the audio perturbations (noise, codecs, filters, reverb, …)
//!   used to measure robustness.
//! * [`record`] is the `results.jsonl` schema; [`seed`] derives every seed.
//!
//! ```
//! use repbench_framework::encoder::{EncoderSpec, build_encoder};
//! let spec: EncoderSpec = serde_json::from_str(
//!     r#"{"kind": "logmel_stats", "name": "logmel", "n_mels": 32}"#).unwrap();
//! let encoder = build_encoder(&spec, std::path::Path::new(".")).unwrap();
//! let tone: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.1).sin()).collect();
//! let frames = encoder.encode(&tone).unwrap();
//! assert_eq!(frames[0].ncols(), 32);
//! ```

pub mod audio;
pub mod bootstrap;
pub mod cache;
pub mod dataset;
pub mod dsp;
pub mod encoder;
pub mod error;
pub mod evaluator;
pub mod fsutil;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;

/// Unit tests record each thread's largest allocation (see [`fuzz`]).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: fuzz::PeakAlloc = fuzz::PeakAlloc;
pub mod music;
pub mod perturb;
pub mod pooling;
pub mod progress;
pub mod record;
pub mod runner;
pub mod seed;
pub mod similarity;

pub use error::{Error, Result};

/// The repbench version stamped into every result record and cache key.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
