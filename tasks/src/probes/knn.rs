//! Cosine k-nearest-neighbour probe; `k` chosen on the validation split.
//!
//! Scores: for classes the fraction of the k neighbours in each class, for
//! tags the fraction carrying each tag, for values the neighbours' mean.
//! Neighbours are ranked by cosine similarity, ties by training order.

use super::{select_best, Candidate, FitData, Fitted, Predictor};
use crate::targets::{Scores, Targets};
use ndarray::{s, Array2, ArrayView2, Axis};
use rayon::prelude::*;
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

/// Bytes of the similarities one block of queries holds: the query ×
/// training matrix is never made whole (15 000 × 70 000 would be 8.4 GB).
const BLOCK_BYTES: usize = 64 << 20;

impl Neighbours {
    /// Scores of `x` (unit rows): per query, the mean target of its `k`
    /// most similar training items.
    fn block_scores(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let sim = x.dot(&self.train.t());
        let mut out = Array2::zeros((x.nrows(), self.targets.ncols()));
        let mut order: Vec<usize> = Vec::with_capacity(self.train.nrows());
        for (i, row) in sim.axis_iter(Axis(0)).enumerate() {
            // Most similar first, ties by training order: a total order, so
            // selecting the k first and sorting them gives the prefix a
            // full sort would, in O(n) rather than O(n log n).
            let first = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
            order.clear();
            order.extend(0..self.train.nrows());
            order.select_nth_unstable_by(self.k - 1, first);
            order[..self.k].sort_by(first);
            for &j in &order[..self.k] {
                out.row_mut(i)
                    .scaled_add(1.0 / self.k as f64, &self.targets.row(j));
            }
        }
        out
    }
}

impl Predictor for Neighbours {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let x = normalise(x);
        let rows = (BLOCK_BYTES / 8 / self.train.nrows().max(1)).clamp(1, 1024);
        let starts: Vec<usize> = (0..x.nrows()).step_by(rows).collect();
        // Blocks in parallel, collected in order.
        let blocks: Vec<Array2<f64>> = starts
            .par_iter()
            .map(|&a| self.block_scores(x.slice(s![a..(a + rows).min(x.nrows()), ..])))
            .collect();
        let mut out = Array2::zeros((x.nrows(), self.targets.ncols()));
        for (&a, block) in starts.iter().zip(&blocks) {
            out.slice_mut(s![a..a + block.nrows(), ..]).assign(block);
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

    /// The blocked, selected neighbours equal a full sort of the whole
    /// similarity matrix, bit for bit, with ties (repeated rows), k from 1
    /// to every item, and blocks of one row.
    #[test]
    fn blocks_and_selection_equal_a_full_sort() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let mut train = Array2::from_shape_fn((300, 6), |_| next());
        // Exact ties: rows 100.. repeat rows 0..
        for r in 100..150 {
            let copy = train.row(r - 100).to_owned();
            train.row_mut(r).assign(&copy);
        }
        let queries = Array2::from_shape_fn((70, 6), |_| next());
        let y: Vec<usize> = (0..300).map(|i| (i * 7 + i / 13) % 4).collect();
        let t = Targets::Classes {
            y,
            names: (0..4).map(|c| c.to_string()).collect(),
        };
        let unit = Arc::new(normalise(train.view()));
        let targets = Arc::new(t.dense());
        for k in [1, 2, 5, 50, 300] {
            let model = Neighbours {
                train: Arc::clone(&unit),
                targets: Arc::clone(&targets),
                template: t.select(&[]),
                k,
            };
            // The reference: every query's full sort of the whole matrix.
            let sim = normalise(queries.view()).dot(&unit.t());
            let mut expected = Array2::<f64>::zeros((70, 4));
            for (i, row) in sim.axis_iter(Axis(0)).enumerate() {
                let mut order: Vec<usize> = (0..300).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                for &j in &order[..k] {
                    expected
                        .row_mut(i)
                        .scaled_add(1.0 / k as f64, &targets.row(j));
                }
            }
            let Scores::Classes(got) = model.predict(queries.view()) else {
                panic!("class scores")
            };
            assert_eq!(got, expected, "k = {k}");
            let one_row_blocks = Array2::from_shape_fn((70, 4), |(i, c)| {
                model.block_scores(normalise(queries.view()).slice(s![i..i + 1, ..]))[[0, c]]
            });
            assert_eq!(one_row_blocks, expected, "k = {k}, blocks of one row");
        }
    }
}
