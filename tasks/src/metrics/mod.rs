//! Metrics: pure functions over arrays, one per definition.
//!
//! Definitions follow scikit-learn 1.x (`sklearn.metrics`) where it has
//! them; tests check every one against the values in
//! `tests/fixtures/metrics_reference.json` (computed with scikit-learn) or,
//! where scikit-learn has none, against hand-computed values from the cited
//! formula.

pub mod classification;
pub mod disentanglement;
pub mod geometry;
pub mod key;
pub mod multilabel;
pub mod properties;
pub mod recommendation;
pub mod regression;
pub mod retrieval;

pub use classification::{accuracy, balanced_accuracy, f1_macro, f1_weighted};

#[cfg(test)]
pub(crate) fn reference_cases(kind: &str) -> Vec<serde_json::Value> {
    // A copy of the project's shared scikit-learn reference values.
    let text = include_str!("../../tests/fixtures/metrics_reference.json");
    let all: serde_json::Value = serde_json::from_str(text).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}
