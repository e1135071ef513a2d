//! The result record: one JSON object per measured value in `results.jsonl`.

use crate::fsutil::write_atomic;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What an evaluator measures, before the runner stamps where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// `probe`, `invariance`, …
    pub evaluator: String,
    /// Probe kind, when a probe was trained.
    pub probe: Option<String>,
    /// Metric name, e.g. `accuracy`.
    pub metric: String,
    /// Point estimate on the full test set.
    pub value: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
    /// Number of test items the value is computed on.
    pub n: usize,
    /// Selected hyper-parameters (e.g. `alpha`), for reproducibility.
    pub params: BTreeMap<String, f64>,
}

/// One line of `results.jsonl`. No timestamps: two runs of one config give
/// byte-identical files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// Derived from the config hash, so it is stable across re-runs.
    pub run_id: String,
    /// Encoder name from the config.
    pub encoder: String,
    /// Layer name within the encoder.
    pub layer: String,
    /// Dataset name from the config.
    pub dataset: String,
    /// Task name from the config.
    pub task: String,
    /// Which evaluator produced it.
    pub evaluator: String,
    /// Probe kind, when one was trained.
    pub probe: Option<String>,
    /// Perturbation applied to the audio (`none` for clean audio).
    pub perturbation: String,
    /// Perturbation severity, when one applies.
    pub severity: Option<f64>,
    /// The run's global seed.
    pub seed: u64,
    /// Metric name.
    pub metric: String,
    /// Point estimate.
    pub value: f64,
    /// Lower end of the 95% CI.
    pub ci_low: f64,
    /// Upper end of the 95% CI.
    pub ci_high: f64,
    /// Number of test items.
    pub n: usize,
    /// Selected hyper-parameters.
    pub params: BTreeMap<String, f64>,
    /// Cache key of the embeddings evaluated.
    pub embedding_key: String,
    /// Hash of the canonical config.
    pub config_hash: String,
    /// repbench version that computed it.
    pub repbench_version: String,
}

/// Serialises records one per line.
pub fn to_jsonl(records: &[ResultRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).expect("records serialise to JSON"));
        out.push('\n');
    }
    out
}

/// Writes `results.jsonl` atomically.
pub fn write_jsonl(path: &Path, records: &[ResultRecord]) -> Result<()> {
    write_atomic(path, to_jsonl(records).as_bytes())
}

/// Reads `results.jsonl`, naming the line of any malformed record.
pub fn read_jsonl(path: &Path) -> Result<Vec<ResultRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::Other(format!(
                    "{}:{}: not a result record: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}
