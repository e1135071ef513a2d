//! repbench datasets: where items, splits and labels come from.
//!
//! * [`tones::SyntheticTones`] renders harmonic tones whose factors (pitch,
//!   timbre, loudness) are known exactly, deterministically from a seed.
//! * [`manifest::Manifest`] reads a CSV or JSONL list of audio files with a
//!   split and any number of label columns.
//!
//! Each is configured by one variant of [`DatasetSpec`] (`[[datasets]]` in
//! the experiment config) and built with [`build_dataset`]:
//!
//! ```
//! use repbench_datasets::{build_dataset, DatasetSpec};
//! let spec: DatasetSpec = serde_json::from_str(
//!     r#"{"kind": "synthetic_tones", "name": "tones", "n_items": 30}"#).unwrap();
//! let ds = build_dataset(&spec, std::path::Path::new("."), 7).unwrap();
//! assert_eq!(ds.items().len(), 30);
//! let audio = ds.load(&ds.items()[0], 16000).unwrap();
//! assert_eq!(audio.len(), 16000);
//! ```

pub mod manifest;
pub mod split;
pub mod tones;

use repbench_framework::dataset::Dataset;
use repbench_framework::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A dataset as written in the config, tagged by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DatasetSpec {
    /// Harmonic tones with exact pitch, timbre and loudness factors.
    SyntheticTones(tones::TonesSpec),
    /// A CSV or JSONL manifest of audio files.
    Manifest(manifest::ManifestSpec),
}

impl DatasetSpec {
    /// The user-given name.
    pub fn name(&self) -> &str {
        match self {
            DatasetSpec::SyntheticTones(s) => &s.name,
            DatasetSpec::Manifest(s) => &s.name,
        }
    }

    /// Range checks; `key` is this entry's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        match self {
            DatasetSpec::SyntheticTones(s) => s.validate(key),
            DatasetSpec::Manifest(s) => s.validate(key),
        }
    }
}

/// Builds a dataset. Relative paths resolve against `base_dir` (the config
/// file's directory); `seed` is the run's global seed.
pub fn build_dataset(spec: &DatasetSpec, base_dir: &Path, seed: u64) -> Result<Box<dyn Dataset>> {
    Ok(match spec {
        DatasetSpec::SyntheticTones(s) => Box::new(tones::SyntheticTones::new(s.clone(), seed)),
        DatasetSpec::Manifest(s) => Box::new(manifest::Manifest::open(s.clone(), base_dir)?),
    })
}
