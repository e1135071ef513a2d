//! The result record: one JSON object per measured value in `results.jsonl`.

use crate::fsutil::write_atomic;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// serde helpers that read `null` back as NaN: JSON has no NaN, serde_json
/// writes non-finite numbers as `null`, and an undefined value (mAP with no
/// relevant item, say) must survive a cache round trip and `results.jsonl`.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer};

    /// Deserialises a number or `null` (as NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// Deserialises a map of numbers or `null`s (as NaN).
    pub fn deserialize_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<std::collections::BTreeMap<String, f64>, D::Error> {
        let raw = std::collections::BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
            .collect())
    }

    /// Deserialises nested lists of numbers or `null`s (as NaN).
    pub fn deserialize_nested<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Vec<Vec<f64>>>, D::Error> {
        let raw = Vec::<Vec<Vec<Option<f64>>>>::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|rows| {
                rows.into_iter()
                    .map(|row| row.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                    .collect()
            })
            .collect())
    }
}

/// What an evaluator measures, before the runner stamps where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// `probe`, `invariance`, …
    pub evaluator: String,
    /// Probe kind, when a probe was trained.
    pub probe: Option<String>,
    /// Metric name, e.g. `accuracy`.
    pub metric: String,
    /// Whether larger values are better (false for errors such as RMSE).
    pub higher_is_better: bool,
    /// Point estimate on the full test set.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub value: f64,
    /// Lower end of the 95% confidence interval.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_high: f64,
    /// Number of test items the value is computed on.
    pub n: usize,
    /// Selected hyper-parameters (e.g. `alpha`), for reproducibility.
    pub params: BTreeMap<String, f64>,
    /// The probe-training seed, for per-seed values; `None` for the mean
    /// over seeds.
    pub probe_seed: Option<u64>,
    /// Standard deviation over probe seeds (mean rows of multi-seed runs).
    pub seed_sd: Option<f64>,
    /// Bootstrap resamples on which the metric was undefined (a class or
    /// tag missing from the resample), left out of the interval; omitted
    /// when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub undefined_resamples: usize,
}

impl Measurement {
    /// A measurement of `metric` from a bootstrap estimate over `n` items,
    /// with no probe seed.
    pub fn from_estimate(
        (evaluator, probe): (&str, Option<&str>),
        metric: &str,
        higher_is_better: bool,
        e: crate::bootstrap::Estimate,
        n: usize,
        params: BTreeMap<String, f64>,
    ) -> Measurement {
        Measurement {
            evaluator: evaluator.into(),
            probe: probe.map(Into::into),
            metric: metric.into(),
            higher_is_better,
            value: e.value,
            ci_low: e.low,
            ci_high: e.high,
            n,
            params,
            probe_seed: None,
            seed_sd: None,
            undefined_resamples: e.undefined,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A paired comparison of two encoders on the same test items, as an
/// evaluator computes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Probe kind.
    pub probe: String,
    /// Metric compared.
    pub metric: String,
    /// `metric(a) − metric(b)` on all test items.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub delta: f64,
    /// Lower end of the 95% paired-bootstrap interval of the difference.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_low: f64,
    /// Upper end of that interval.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_high: f64,
    /// Two-sided paired-bootstrap p-value of "no difference".
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub p_value: f64,
    /// Number of test items.
    pub n: usize,
}

impl Comparison {
    /// The comparison of `metric` under `probe` from a paired bootstrap
    /// estimate over `n` items.
    pub fn from_paired(
        probe: impl Into<String>,
        metric: impl Into<String>,
        r: &crate::bootstrap::PairedEstimate,
        n: usize,
    ) -> Comparison {
        Comparison {
            probe: probe.into(),
            metric: metric.into(),
            delta: r.delta.value,
            ci_low: r.delta.low,
            ci_high: r.delta.high,
            p_value: r.p_value,
            n,
        }
    }
}

/// One line of `comparisons.jsonl`: a [`Comparison`] with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRecord {
    /// Stable run id.
    pub run_id: String,
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// First encoder.
    pub encoder_a: String,
    /// Its layer (the one with the best validation score).
    pub layer_a: String,
    /// Second encoder.
    pub encoder_b: String,
    /// Its layer.
    pub layer_b: String,
    /// The comparison.
    #[serde(flatten)]
    pub comparison: Comparison,
    /// `p_value` after Holm's correction over every comparison of the task
    /// (pairs × probes × metrics): what "significant" means in the report
    /// and the terminal summary.
    #[serde(default = "nan", deserialize_with = "nan_as_null::deserialize")]
    pub p_holm: f64,
}

fn nan() -> f64 {
    f64::NAN
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
    /// Whether larger values are better (false for errors such as RMSE).
    pub higher_is_better: bool,
    /// Point estimate.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub value: f64,
    /// Lower end of the 95% CI.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_low: f64,
    /// Upper end of the 95% CI.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub ci_high: f64,
    /// Number of test items.
    pub n: usize,
    /// Selected hyper-parameters.
    pub params: BTreeMap<String, f64>,
    /// Probe-training seed of a per-seed value; `None` on the mean row.
    pub probe_seed: Option<u64>,
    /// Standard deviation over probe seeds, on mean rows.
    pub seed_sd: Option<f64>,
    /// Bootstrap resamples on which the metric was undefined, left out of
    /// the interval; omitted when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub undefined_resamples: usize,
    /// Implementation versions of the evaluator, probes and metrics that
    /// computed it (see `Evaluator::implementation`); runs that differ here
    /// are not directly comparable.
    #[serde(default)]
    pub implementation: String,
    /// Fingerprint of the test items scored (ids, labels, content keys):
    /// leaderboards merge runs only where it matches.
    #[serde(default)]
    pub test_set: String,
    /// Validation score that ranks this (layer, probe) among an encoder's
    /// others (the rule comparisons and leaderboards choose by); absent
    /// where there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_score: Option<f64>,
    /// For a value measured between two encoder × layer units (a
    /// similarity), the other unit's encoder; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versus_encoder: Option<String>,
    /// The other unit's layer (see `versus_encoder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versus_layer: Option<String>,
    /// Cache key of the embeddings evaluated.
    pub embedding_key: String,
    /// Hash of the canonical config.
    pub config_hash: String,
    /// repbench version that computed it.
    pub repbench_version: String,
}

/// The `evaluator` of a label-efficiency curve's records (a probe task's
/// score at a fraction of its training labels, and the curve's area).
pub const LABEL_EFFICIENCY: &str = "label_efficiency";

impl ResultRecord {
    /// True for a point or the area of a label-efficiency curve: drawn in
    /// its own section, never mixed into the task's table of scores.
    pub fn is_label_curve(&self) -> bool {
        self.evaluator == LABEL_EFFICIENCY
    }

    /// True for a value measured between two units (it has a
    /// `versus_encoder`): a matrix entry, not a score of this unit.
    pub fn is_pairwise(&self) -> bool {
        self.versus_encoder.is_some()
    }
}

/// An evaluation's per-item test predictions for one probe, as an
/// evaluator exports them (see [`crate::evaluator::Evaluator::item_predictions`]):
/// enough to recompute every metric of the evaluation on any subset of
/// its test items, e.g. the paired bootstrap resamples a leaderboard draws
/// across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemPredictions {
    /// Probe kind (`logistic`, `ridge`, …; `none` for an evaluator that
    /// trains no probe, as in `comparisons.jsonl`).
    pub probe: String,
    /// What `truth` and `scores` hold: `classes`, `tags`, `values`,
    /// `per_query` (each item's own value of each metric, e.g. a retrieval
    /// query's average precision: the metric is their mean), or
    /// `per_item_sums` (a property score, a function of sums over items).
    pub target: String,
    /// Class or tag names (index → name); empty for values; the metrics of
    /// `per_query` and `per_item_sums`, the records' primary metric first.
    pub names: Vec<String>,
    /// Test item ids, in the order of `truth` and of each seed's scores.
    pub ids: Vec<String>,
    /// Per item: the class index (`classes`), the 0/1 row over `names`
    /// (`tags`), the number (`values`), the class the item queries with
    /// (`per_query`); null for `per_item_sums`.
    pub truth: serde_json::Value,
    /// The probe seeds, in the order of `scores`.
    pub seeds: Vec<u64>,
    /// Per seed, per item: the class scores (argmax = prediction), the tag
    /// scores, `[value]`, or the query's value of each metric in `names`
    /// (`per_query`; null where undefined, e.g. no relevant item).
    /// (`per_item_sums`: per item, the numerator and denominator parts of
    /// each metric in `names`, `[a₁, b₁, a₂, b₂, …]`.)
    #[serde(deserialize_with = "nan_as_null::deserialize_nested")]
    pub scores: Vec<Vec<Vec<f64>>>,
    /// `per_item_sums` only: how each metric in `names` follows from its
    /// summed parts `Σa`, `Σb` (`ratio` = Σa/Σb, `one_minus_ratio`,
    /// `one_minus_sqrt_ratio`, `sqrt_ratio`, `ratio_at_most_one`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<String>,
}

/// One line of a run's `predictions.jsonl`: [`ItemPredictions`] of one
/// task × encoder × layer × probe × perturbation severity, with the fields
/// that join it to `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// Run id (as in `results.jsonl`).
    pub run_id: String,
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// Encoder name.
    pub encoder: String,
    /// Layer name.
    pub layer: String,
    /// Perturbation name, `none` for clean audio.
    pub perturbation: String,
    /// Its severity (absent for clean audio).
    pub severity: Option<f64>,
    /// Fingerprint of the dataset's test items (as in `results.jsonl`).
    pub test_set: String,
    /// The predictions.
    #[serde(flatten)]
    pub predictions: ItemPredictions,
}

/// A 2-D map of one unit's test embeddings (see
/// [`crate::evaluator::Evaluator::embedding_maps`]), with each item's
/// target for colouring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemMap {
    /// Projection: `pca` or `tsne`.
    pub method: String,
    /// Its settings and quality figures (`perplexity`, `pc1_variance`,
    /// `pc2_variance`, `trustworthiness`); NaN (`null`) where undefined.
    #[serde(deserialize_with = "nan_as_null::deserialize_map")]
    pub params: BTreeMap<String, f64>,
    /// What `truth` holds: `classes` or `values`.
    pub target: String,
    /// Class names (index → name); empty for values.
    pub names: Vec<String>,
    /// Mapped test item ids, in the order of `truth`, `x` and `y`.
    pub ids: Vec<String>,
    /// Per item: the class index or the number.
    pub truth: serde_json::Value,
    /// Per item: first map coordinate.
    pub x: Vec<f64>,
    /// Per item: second map coordinate.
    pub y: Vec<f64>,
}

/// One line of a run's `maps.jsonl`: an [`ItemMap`] of one task ×
/// encoder, drawn for the layer chosen on validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRecord {
    /// Run id (as in `results.jsonl`).
    pub run_id: String,
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// Encoder name.
    pub encoder: String,
    /// Layer name (the encoder's best on validation for this task).
    pub layer: String,
    /// Fingerprint of the dataset's test items (as in `results.jsonl`).
    pub test_set: String,
    /// The map.
    #[serde(flatten)]
    pub map: ItemMap,
}

/// A matrix of values one unit measured at once, each with its interval
/// (see [`crate::evaluator::Evaluator::unit_matrices`]): e.g. DCI's
/// importance of each code for each factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitMatrix {
    /// What the values are (`dci_importance`).
    pub name: String,
    /// Row labels (factors).
    pub rows: Vec<String>,
    /// Column labels (codes, e.g. `dim 17`, `PC 3`).
    pub columns: Vec<String>,
    /// Per row, per column: `[value, ci_low, ci_high]`; NaN (`null`)
    /// where undefined.
    #[serde(deserialize_with = "nan_as_null::deserialize_nested")]
    pub cells: Vec<Vec<Vec<f64>>>,
    /// Figures about the whole matrix (e.g. `codes`, the embedding's
    /// width; `shown_share` and its interval); NaN (`null`) where undefined.
    #[serde(deserialize_with = "nan_as_null::deserialize_map")]
    pub params: BTreeMap<String, f64>,
    /// Items the values were computed on.
    pub n: usize,
}

/// One line of a run's `matrices.jsonl`: a [`UnitMatrix`] of one task ×
/// encoder × layer on clean audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRecord {
    /// Run id (as in `results.jsonl`).
    pub run_id: String,
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// Encoder name.
    pub encoder: String,
    /// Layer name.
    pub layer: String,
    /// Versions of the code that computed it (as in `results.jsonl`).
    pub implementation: String,
    /// The matrix.
    #[serde(flatten)]
    pub matrix: UnitMatrix,
}

/// Serialises records one per line.
pub fn to_jsonl<T: Serialize>(records: &[T]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).expect("records serialise to JSON"));
        out.push('\n');
    }
    out
}

/// Writes records as JSON lines, atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, records: &[T]) -> Result<()> {
    write_atomic(path, to_jsonl(records).as_bytes())
}

/// Reads JSON-lines records, naming the line of any malformed record.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_values_survive_a_jsonl_round_trip_as_null() {
        let r = Comparison {
            probe: "none".into(),
            metric: "map".into(),
            delta: f64::NAN,
            ci_low: -0.5,
            ci_high: f64::NAN,
            p_value: 1.0,
            n: 3,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        write_jsonl(&path, std::slice::from_ref(&r)).unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"delta\":null"));
        let back: Vec<Comparison> = read_jsonl(&path).unwrap();
        assert!(back[0].delta.is_nan() && back[0].ci_high.is_nan());
        assert_eq!(back[0].ci_low, -0.5);
    }
}
