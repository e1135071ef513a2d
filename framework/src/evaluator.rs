//! The interface between cached embeddings and result values.

use crate::dataset::Item;
use crate::record::{Comparison, Measurement};
use crate::Result;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

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
    /// encoder's layer for comparisons.
    pub selection_score: f64,
}

/// Turns embeddings plus targets into measurements.
pub trait Evaluator: Send + Sync {
    /// Canonical description of every setting that changes the output; the
    /// result cache keys on it.
    fn fingerprint(&self) -> String;
    /// Computes the measurements.
    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation>;
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
