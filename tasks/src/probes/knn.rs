//! Cosine k-nearest-neighbour probe; `k` chosen on the validation split.
//!
//! Scores: for classes the fraction of the k neighbours in each class, for
//! tags the fraction carrying each tag, for values the neighbours' mean.
//! Neighbours are ranked by cosine similarity, ties by training order.

use super::{select_best, Candidate, FitData, Fitted, Predictor};
use crate::targets::{Scores, Targets};
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

fn d_ks() -> Vec<usize> {
    vec![1, 3, 5, 10, 20, 50]
}

/// Options of the `knn` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnnParams {
    /// Neighbour counts tried (those above the training size are skipped).
    /// Default `[1, 3, 5, 10, 20, 50]`.
    #[serde(default = "d_ks")]
    pub ks: Vec<usize>,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams { ks: d_ks() }
    }
}

impl KnnParams {
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.ks.is_empty()
            || self.ks.len() > 64
            || self.ks.iter().any(|&k| k == 0 || k > crate::MAX_K)
        {
            return Err((
                "ks",
                format!(
                    "must be a list of 1 to 64 integers in 1..={} (got {:?})",
                    crate::MAX_K,
                    self.ks
                ),
            ));
        }
        Ok(())
    }
}

/// Rows scaled to unit length (zero rows stay zero).
fn normalise(x: ArrayView2<f64>) -> Array2<f64> {
    let mut out = x.to_owned();
    for mut row in out.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    out
}

struct Neighbours {
    train: Arc<Array2<f64>>,
    targets: Arc<Array2<f64>>,
    template: Targets,
    k: usize,
}

impl Predictor for Neighbours {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let sim = normalise(x).dot(&self.train.t());
        let mut out = Array2::zeros((x.nrows(), self.targets.ncols()));
        let mut order: Vec<usize> = (0..self.train.nrows()).collect();
        for (i, row) in sim.axis_iter(Axis(0)).enumerate() {
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            for &j in &order[..self.k] {
                out.row_mut(i)
                    .scaled_add(1.0 / self.k as f64, &self.targets.row(j));
            }
        }
        self.template.scores_from_dense(out)
    }
}

/// Tries every `k` and keeps the best on validation.
pub fn fit_select(params: &KnnParams, data: &FitData<'_>) -> Result<Fitted, String> {
    let train = Arc::new(normalise(data.x_train));
    let targets = Arc::new(data.t_train.dense());
    let template = data.t_train.select(&[]);
    let n = data.x_train.nrows();
    let ks: Vec<usize> = params.ks.iter().copied().filter(|&k| k <= n).collect();
    if ks.is_empty() {
        return Err(format!(
            "every k in {:?} exceeds the {n} training items",
            params.ks
        ));
    }
    select_best(
        data,
        ks.into_iter().map(|k| {
            let model: Box<dyn Predictor> = Box::new(Neighbours {
                train: Arc::clone(&train),
                targets: Arc::clone(&targets),
                template: template.clone(),
                k,
            });
            Ok::<Candidate, String>((BTreeMap::from([("k".to_string(), k as f64)]), model))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_by_angle_not_by_length() {
        let x = array![[1.0, 0.0], [10.0, 0.5], [0.0, 1.0], [0.2, 5.0]];
        let t = Targets::Classes {
            y: vec![0, 0, 1, 1],
            names: vec!["a".into(), "b".into()],
        };
        let data = FitData {
            x_train: x.view(),
            t_train: &t,
            x_valid: x.view(),
            t_valid: &t,
        };
        let fitted = fit_select(&KnnParams { ks: vec![1] }, &data).unwrap();
        assert_eq!(
            fitted
                .model
                .predict(array![[100.0, 1.0], [0.01, 0.3]].view())
                .argmax(),
            vec![0, 1]
        );
    }
}
