//! Cosine k-nearest-neighbour probe; `k` chosen on the validation split.
//!
//! Scores: for classes the fraction of the k neighbours in each class, for
//! tags the fraction carrying each tag, for values the neighbours' mean.
//! Neighbours are ranked by cosine similarity, ties by training order.

use super::{FitData, Fitted, Predictor};
use crate::suite::selection_score;
use crate::targets::{Scores, Targets};
use ndarray::{s, Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    normalised(x.to_owned())
}

/// [`normalise`] in place.
fn normalised(mut out: Array2<f64>) -> Array2<f64> {
    for mut row in out.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    out
}

struct Neighbours {
    /// Training rows scaled to unit length.
    train: Array2<f64>,
    /// Training targets, dense.
    targets: Array2<f64>,
    template: Targets,
    k: usize,
}

/// Bytes of the similarities one block of queries holds: the query ×
/// training matrix is never made whole (15 000 × 70 000 would be 8.4 GB).
const BLOCK_BYTES: usize = 64 << 20;

impl Neighbours {
    /// Each query's `k` most similar training items (`x`: unit rows), most
    /// similar first, ties by training order. Queries go in blocks holding
    /// [`BLOCK_BYTES`] of similarities, in parallel, collected in order.
    fn nearest(&self, x: ArrayView2<f64>, k: usize) -> Vec<Vec<usize>> {
        let n = self.train.nrows();
        let rows = (BLOCK_BYTES / 8 / n.max(1)).clamp(1, 1024);
        let starts: Vec<usize> = (0..x.nrows()).step_by(rows).collect();
        let blocks: Vec<Vec<Vec<usize>>> = starts
            .par_iter()
            .map(|&a| {
                let sim = x
                    .slice(s![a..(a + rows).min(x.nrows()), ..])
                    .dot(&self.train.t());
                let mut order: Vec<usize> = Vec::with_capacity(n);
                sim.axis_iter(Axis(0))
                    .map(|row| {
                        // A total order, so selecting the k first and
                        // sorting them gives the prefix a full sort would,
                        // in O(n) rather than O(n log n).
                        let first =
                            |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
                        order.clear();
                        order.extend(0..n);
                        order.select_nth_unstable_by(k - 1, first);
                        order[..k].sort_by(first);
                        order[..k].to_vec()
                    })
                    .collect()
            })
            .collect();
        blocks.into_iter().flatten().collect()
    }

    /// Per query, the mean target of its first `k` neighbours in
    /// `nearest` (which lists at least `k`).
    fn scores(&self, nearest: &[Vec<usize>], k: usize) -> Scores {
        let mut out = Array2::zeros((nearest.len(), self.targets.ncols()));
        for (i, neighbours) in nearest.iter().enumerate() {
            for &j in &neighbours[..k] {
                out.row_mut(i)
                    .scaled_add(1.0 / k as f64, &self.targets.row(j));
            }
        }
        self.template.scores_from_dense(out)
    }
}

impl Predictor for Neighbours {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        self.scores(&self.nearest(normalise(x).view(), self.k), self.k)
    }
}

/// Tries every `k` and keeps the best on validation (ties: the earlier
/// one). The validation neighbours are found once, for the largest `k`:
/// each smaller `k` reads the first of them, which are its own nearest.
pub fn fit_select(params: &KnnParams, data: &FitData<'_>) -> Result<Fitted, String> {
    let n = data.x_train.nrows();
    let ks: Vec<usize> = params.ks.iter().copied().filter(|&k| k <= n).collect();
    let Some(&largest) = ks.iter().max() else {
        return Err(format!(
            "every k in {:?} exceeds the {n} training items",
            params.ks
        ));
    };
    let probe = Neighbours {
        train: normalised(data.x_train.whole().into_owned()),
        targets: data.t_train.dense(),
        template: data.t_train.select(&[]),
        k: largest,
    };
    let nearest = probe.nearest(normalise(data.x_valid).view(), largest);
    let mut best: Option<(usize, f64)> = None;
    for &k in &ks {
        let score = selection_score(data.t_valid, &probe.scores(&nearest, k));
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((k, score));
        }
    }
    let (k, valid_score) = best.expect("ks is not empty");
    Ok(Fitted {
        params: BTreeMap::from([("k".to_string(), k as f64)]),
        valid_score,
        model: Box::new(Neighbours { k, ..probe }),
    })
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
            x_train: x.view().into(),
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
        let unit = normalise(train.view());
        let targets = t.dense();
        for k in [1, 2, 5, 50, 300] {
            let model = Neighbours {
                train: unit.clone(),
                targets: targets.clone(),
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
            let unit_queries = normalise(queries.view());
            let one_row_blocks = Array2::from_shape_fn((70, 4), |(i, c)| {
                let nearest = model.nearest(unit_queries.slice(s![i..i + 1, ..]), k);
                let Scores::Classes(m) = model.scores(&nearest, k) else {
                    panic!("class scores")
                };
                m[[0, c]]
            });
            assert_eq!(one_row_blocks, expected, "k = {k}, blocks of one row");
        }
    }

    /// Choosing k from one neighbour search is the choice of fitting and
    /// scoring each k on its own (the earlier tie wins).
    #[test]
    fn one_search_chooses_as_one_model_per_k() {
        let mut state = 3u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let x = Array2::from_shape_fn((200, 5), |_| next());
        let t = |r: std::ops::Range<usize>| Targets::Classes {
            y: r.map(|i| (i * 5 + i / 7) % 3).collect(),
            names: (0..3).map(|c| c.to_string()).collect(),
        };
        let (tt, tv) = (t(0..150), t(150..200));
        let data = FitData {
            x_train: x.slice(s![..150, ..]).into(),
            t_train: &tt,
            x_valid: x.slice(s![150.., ..]),
            t_valid: &tv,
        };
        let ks = vec![1, 3, 5, 10, 20, 50, 150, 200];
        let fitted = fit_select(&KnnParams { ks: ks.clone() }, &data).unwrap();
        let one_per_k = super::super::select_best(
            &data,
            ks.iter().filter(|&&k| k <= 150).map(|&k| {
                let model: Box<dyn Predictor> = Box::new(Neighbours {
                    train: normalised(data.x_train.whole().into_owned()),
                    targets: tt.dense(),
                    template: tt.select(&[]),
                    k,
                });
                Ok((BTreeMap::from([("k".to_string(), k as f64)]), model))
            }),
        )
        .unwrap();
        assert_eq!(fitted.params, one_per_k.params);
        assert_eq!(
            fitted.valid_score.to_bits(),
            one_per_k.valid_score.to_bits()
        );
        let x_test = x.slice(s![..40, ..]);
        let (Scores::Classes(a), Scores::Classes(b)) = (
            fitted.model.predict(x_test),
            one_per_k.model.predict(x_test),
        ) else {
            panic!("class scores")
        };
        assert_eq!(a, b);
    }
}
