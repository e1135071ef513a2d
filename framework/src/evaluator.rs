//! The interface between cached embeddings and result values.

use crate::dataset::Item;
use crate::perturb::TransformSpec;
use crate::record::{Comparison, Measurement};
use crate::Result;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an evaluator sees: one layer's pooled embeddings, row `i` belonging
/// to `items[i]`.
pub struct EvalInput<'a> {
    /// Task name, for messages and seed streams.
    pub task: &'a str,
    /// Items with splits and labels.
    pub items: &'a [Item],
    /// `(items, dim)` embeddings.
    pub embeddings: ArrayView2<'a, f32>,
    /// The run's global seed; evaluators derive their own streams from it.
    pub seed: u64,
    /// The run's memory budget (`run.max_memory_gb`) leaves this unit less
    /// than its estimate: an evaluator that can should not copy the rows
    /// whole (the probes then standardise training rows block by block as
    /// they read them). It must change no result, only speed and memory.
    pub low_memory: bool,
}

/// An evaluator's output for one (encoder, layer): the measured values plus
/// whatever it needs later to compare two encoders on the same items
/// (opaque to the framework, cached with the measurements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Measured values.
    pub measurements: Vec<Measurement>,
    /// Per-item test predictions and the validation score used to pick a
    /// layer; `Null` when the evaluator does not compare.
    pub predictions: serde_json::Value,
    /// Validation score of this unit (higher is better), used to choose each
    /// encoder's layer for comparisons when there is no per-probe score.
    #[serde(deserialize_with = "crate::record::nan_as_null::deserialize")]
    pub selection_score: f64,
    /// Validation score per probe kind: with several probes each encoder's
    /// layer is chosen per probe, never by the first probe's score alone.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::record::nan_as_null::deserialize_map"
    )]
    pub probe_selection: BTreeMap<String, f64>,
}

impl Evaluation {
    /// The validation score that chooses a layer for comparisons of
    /// `probe` (its own score when known, else the unit's). Undefined
    /// scores (NaN, and −∞, which JSON stores as `null` too) rank lowest:
    /// −∞, the same fresh and from the cache.
    pub fn selection_for(&self, probe: Option<&str>) -> f64 {
        let score = probe
            .and_then(|p| self.probe_selection.get(p).copied())
            .unwrap_or(self.selection_score);
        if score.is_nan() {
            f64::NEG_INFINITY
        } else {
            score
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An undefined validation score is stored as `null` and must read
    /// back (not make the cache entry unreadable) and rank lowest.
    #[test]
    fn undefined_selection_scores_survive_a_round_trip() {
        let e = Evaluation {
            measurements: Vec::new(),
            predictions: serde_json::Value::Null,
            selection_score: f64::NEG_INFINITY,
            probe_selection: BTreeMap::from([
                ("mlp".to_string(), f64::NEG_INFINITY),
                ("ridge".to_string(), 0.5),
            ]),
        };
        let text = serde_json::to_string(&e).unwrap();
        let back: Evaluation = serde_json::from_str(&text).unwrap();
        assert_eq!(back.selection_for(Some("mlp")), f64::NEG_INFINITY);
        assert_eq!(back.selection_for(None), f64::NEG_INFINITY);
        assert_eq!(back.selection_for(Some("ridge")), 0.5);
    }
}

/// Perturbed embeddings of one sweep, one matrix per severity.
pub enum Variants<'a> {
    /// Rows are the test items, in item order; train/valid stay clean.
    TestRows(Vec<ArrayView2<'a, f32>>),
    /// Rows are all items: everything was perturbed.
    Full(Vec<ArrayView2<'a, f32>>),
}

impl Variants<'_> {
    /// Number of severities.
    pub fn len(&self) -> usize {
        match self {
            Variants::TestRows(v) | Variants::Full(v) => v.len(),
        }
    }

    /// True when the sweep is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The full `(items, dim)` matrix of severity `i`: for test-only
    /// perturbation, the clean matrix with its test rows replaced.
    pub fn full_matrix(
        &self,
        i: usize,
        clean: ArrayView2<f32>,
        items: &[Item],
    ) -> ndarray::Array2<f32> {
        match self {
            Variants::Full(v) => v[i].to_owned(),
            Variants::TestRows(v) => {
                let mut full = clean.to_owned();
                let test_rows = items
                    .iter()
                    .enumerate()
                    .filter(|(_, it)| it.split == crate::dataset::Split::Test);
                for ((row, _), perturbed) in test_rows.zip(v[i].rows()) {
                    full.row_mut(row).assign(&perturbed);
                }
                full
            }
        }
    }
}

/// An evaluator's output for one perturbation sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResults {
    /// One evaluation per severity, in sweep order (may include
    /// `*_drop` measurements relative to clean).
    pub per_variant: Vec<Evaluation>,
    /// Summaries over the whole sweep (e.g. normalised area under the
    /// metric-vs-severity curve).
    pub summary: Vec<Measurement>,
}

/// One transformed view of every item (a property task's transform at one
/// draw or grid value): θ per item and the item's embedding after it.
#[derive(Clone)]
pub struct TransformedView<'a> {
    /// θ of each item, in item order, on the transform's θ scale.
    pub theta: Vec<f64>,
    /// `(items, dim)` embeddings of the transformed items, in item order.
    pub embeddings: ArrayView2<'a, f32>,
}

/// One encoder × layer of a task, for measurements across units.
pub struct UnitEmbeddings<'a> {
    /// Encoder name.
    pub encoder: &'a str,
    /// Layer name.
    pub layer: &'a str,
    /// `(items, dim)` embeddings, in item order.
    pub embeddings: ArrayView2<'a, f32>,
}

/// A value measured between units `a` and `b` (indices into the units
/// given to [`Evaluator::evaluate_across`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairMeasurement {
    /// First unit.
    pub a: usize,
    /// Second unit.
    pub b: usize,
    /// The value.
    pub measurement: Measurement,
}

/// Turns embeddings plus targets into measurements.
pub trait Evaluator: Send + Sync {
    /// Canonical description of every setting that changes the output; the
    /// result cache keys on it.
    fn fingerprint(&self) -> String;
    /// Implementation versions of the code that computes the output (the
    /// evaluator, its probes and metric families, e.g.
    /// `probe-evaluator/2 logistic/2 metrics-classification/2`). Part of
    /// every cache key of its results and comparisons, and of each record,
    /// so a fix to a computation recomputes exactly the results it
    /// affects: bump the version of what changed.
    fn implementation(&self) -> String;
    /// Computes the measurements.
    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation>;
    /// Evaluates a perturbation sweep. The default evaluates each severity's
    /// full matrix on its own; evaluators that can reuse work (train a probe
    /// once on clean data) or report drops and summaries override it.
    fn evaluate_variants(
        &self,
        input: &EvalInput<'_>,
        variants: &Variants<'_>,
    ) -> Result<VariantResults> {
        let per_variant = (0..variants.len())
            .map(|i| {
                let full = variants.full_matrix(i, input.embeddings, input.items);
                self.evaluate(&EvalInput {
                    embeddings: full.view(),
                    ..*input
                })
            })
            .collect::<Result<_>>()?;
        Ok(VariantResults {
            per_variant,
            summary: Vec::new(),
        })
    }

    /// The transforms whose views this evaluator reads (property tasks
    /// read one, a cross-transform disentanglement task several); the
    /// runner then embeds every item once per view of each and calls
    /// [`Evaluator::evaluate_transformed`] instead of [`Evaluator::evaluate`].
    fn transforms(&self) -> Vec<&TransformSpec> {
        Vec::new()
    }

    /// Measures clean embeddings against their transformed views:
    /// `views[t]` holds transform `t`'s views (in [`Evaluator::transforms`]
    /// order), one per draw or grid value in [`TransformSpec::views`] order.
    fn evaluate_transformed(
        &self,
        input: &EvalInput<'_>,
        _views: &[Vec<TransformedView<'_>>],
    ) -> Result<Evaluation> {
        Err(crate::Error::Task {
            task: input.task.into(),
            reason: "this evaluator reads no transformed views".into(),
        })
    }

    /// Whether the evaluator also measures across every encoder × layer
    /// of its task at once ([`Evaluator::evaluate_across`]).
    fn across_units(&self) -> bool {
        false
    }

    /// Values between pairs of units of the task (e.g. a similarity
    /// matrix), from every unit's embeddings of the same items.
    fn evaluate_across(
        &self,
        input: &EvalInput<'_>,
        _units: &[UnitEmbeddings<'_>],
    ) -> Result<Vec<PairMeasurement>> {
        Err(crate::Error::Task {
            task: input.task.into(),
            reason: "this evaluator measures nothing across units".into(),
        })
    }

    /// The per-item test predictions of `evaluation` (one of this
    /// evaluator's, on `items`), for the run's `predictions.jsonl`. The
    /// default exports none (evaluators without per-item predictions).
    fn item_predictions(
        &self,
        _items: &[Item],
        _evaluation: &Evaluation,
    ) -> Result<Vec<crate::record::ItemPredictions>> {
        Ok(Vec::new())
    }

    /// Matrices of values `evaluation` (one of this evaluator's, on clean
    /// embeddings) holds beside its measurements, for the run's
    /// `matrices.jsonl`. The default exports none.
    fn unit_matrices(&self, _evaluation: &Evaluation) -> Result<Vec<crate::record::UnitMatrix>> {
        Ok(Vec::new())
    }

    /// The implementation version of this evaluator's embedding maps
    /// (part of their cache key), or `None` when it draws none. The runner
    /// asks for maps of each encoder's layer chosen on validation only.
    fn map_implementation(&self) -> Option<String> {
        None
    }

    /// 2-D maps (e.g. PCA, t-SNE) of the test embeddings in `input`,
    /// coloured by the task's target; empty when nothing can be mapped.
    fn embedding_maps(&self, _input: &EvalInput<'_>) -> Result<Vec<crate::record::ItemMap>> {
        Ok(Vec::new())
    }

    /// Paired comparisons of two evaluations of the same items (`a − b`).
    /// The default compares nothing.
    fn compare(
        &self,
        _items: &[Item],
        _seed: u64,
        _a: &Evaluation,
        _b: &Evaluation,
    ) -> Result<Vec<Comparison>> {
        Ok(Vec::new())
    }
}
