//! The interface between cached embeddings and result values.

use crate::dataset::Item;
use crate::record::Measurement;
use crate::Result;
use ndarray::ArrayView2;

/// What an evaluator sees: one layer's pooled embeddings, row `i` belonging
/// to `items[i]`.
pub struct EvalInput<'a> {
    /// Task name, for messages.
    pub task: &'a str,
    /// Items with splits and labels.
    pub items: &'a [Item],
    /// `(items, dim)` embeddings.
    pub embeddings: ArrayView2<'a, f32>,
    /// The run's global seed; evaluators derive their own streams from it.
    pub seed: u64,
}

/// Turns embeddings plus targets into measurements.
pub trait Evaluator: Send + Sync {
    /// Canonical description of every setting that changes the output; the
    /// result cache keys on it.
    fn fingerprint(&self) -> String;
    /// Computes the measurements.
    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Vec<Measurement>>;
}
