//! The similarity matrix of a geometry task: linear CKA (Kornblith et al.,
//! "Similarity of Neural Network Representations Revisited", ICML 2019,
//! on column-centred raw embeddings, as
//! [`repbench_framework::similarity::linear_cka`]) between every pair of
//! encoder × layer units on the same test items, so a layer-wise study sees
//! where representations change. Computed from each unit's `n × n` Gram
//! matrix on at most [`MAX_ITEMS`] test items (a seeded sample: the Grams
//! dominate memory), with a percentile-bootstrap interval over those items
//! (at most [`MAX_RESAMPLES`] resamples, the same for every pair). Each
//! resample costs `O(n²)` per unit and per pair, using
//! `⟨HKH, HLH⟩ = ⟨K, L⟩ − (2/m)(K1)·(L1) + (1ᵀK1)(1ᵀL1)/m²` on the
//! resampled rows ([`repbench_framework::similarity::CentredGram`]: each
//! unit's part once per resample, then one product per pair).

use crate::bootstrap::{interval, resample_indices};
use crate::rows::rows_f64;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use repbench_framework::dataset::{rows_in, Item, Split};
use repbench_framework::evaluator::{PairMeasurement, UnitEmbeddings};
use repbench_framework::record::Measurement;
use repbench_framework::similarity::{linear_cka_centred, CentredGram};
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// Test items the matrix reads at most (one `n × n` Gram per unit).
pub const MAX_ITEMS: usize = 500;
/// Resamples of the matrix's intervals at most.
pub const MAX_RESAMPLES: usize = 50;
/// Metric name of a matrix entry.
pub const METRIC: &str = "linear_cka";

/// Every pair `a < b` of `units` with its CKA and interval.
pub fn matrix(
    task: &str,
    items: &[Item],
    run_seed: u64,
    bootstrap: usize,
    units: &[UnitEmbeddings<'_>],
) -> Result<Vec<PairMeasurement>> {
    let fail = |reason: String| Error::Task {
        task: task.into(),
        reason,
    };
    let mut rows = rows_in(items, Split::Test);
    if rows.len() < 3 {
        return Err(fail(
            "the similarity matrix needs at least three test items".into(),
        ));
    }
    if rows.len() > MAX_ITEMS {
        rows.shuffle(&mut seed::rng(run_seed, &["similarity-items", task]));
        rows.truncate(MAX_ITEMS);
        rows.sort_unstable();
    }
    let grams: Vec<Array2<f64>> = units
        .par_iter()
        .map(|u| {
            if u.embeddings.nrows() != items.len() {
                return Err(fail(format!(
                    "{} / {} has {} rows for {} items",
                    u.encoder,
                    u.layer,
                    u.embeddings.nrows(),
                    items.len()
                )));
            }
            let x = rows_f64(u.embeddings, &rows);
            if x.iter().any(|v| !v.is_finite()) {
                return Err(fail(format!(
                    "an embedding of {} / {} contains NaN or infinity",
                    u.encoder, u.layer
                )));
            }
            Ok(x.dot(&x.t()))
        })
        .collect::<Result<_>>()?;
    let m = rows.len();
    let pairs: Vec<(usize, usize)> = (0..units.len())
        .flat_map(|a| (a + 1..units.len()).map(move |b| (a, b)))
        .collect();
    let all_pairs = |idx: &[usize]| -> Vec<f64> {
        let c: Vec<CentredGram> = grams
            .iter()
            .map(|g| CentredGram::of(g.view(), idx))
            .collect();
        pairs
            .iter()
            .map(|&(a, b)| {
                linear_cka_centred((grams[a].view(), &c[a]), (grams[b].view(), &c[b]), idx)
            })
            .collect()
    };
    let all: Vec<usize> = (0..m).collect();
    let point = all_pairs(&all);
    let resamples = resample_indices(
        m,
        bootstrap.min(MAX_RESAMPLES),
        &mut seed::rng(run_seed, &["bootstrap", task, "similarity"]),
    );
    let stats: Vec<Vec<f64>> = resamples.par_iter().map(|idx| all_pairs(idx)).collect();
    Ok(pairs
        .iter()
        .enumerate()
        .map(|(p, &(a, b))| {
            let column: Vec<f64> = stats.iter().map(|s| s[p]).collect();
            let e = if column.is_empty() {
                interval(point[p], &[point[p]])
            } else {
                interval(point[p], &column)
            };
            PairMeasurement {
                a,
                b,
                measurement: Measurement::from_estimate(
                    ("similarity", None),
                    METRIC,
                    true,
                    e,
                    m,
                    BTreeMap::new(),
                ),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::similarity::linear_cka;
    use std::collections::BTreeMap;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: format!("i{i}"),
                split: if i % 4 == 0 {
                    Split::Train
                } else {
                    Split::Test
                },
                labels: BTreeMap::new(),
                content_key: String::new(),
                source: String::new(),
            })
            .collect()
    }

    /// Entries equal the feature-form CKA on the test items; a rotated,
    /// scaled copy is 1; an unrelated representation is low; every pair
    /// once, in order.
    #[test]
    fn entries_are_the_linear_cka_of_each_pair() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 80;
        let x = Array2::from_shape_fn((n, 5), |_| rng.gen_range(-1.0f32..1.0));
        // Swap two columns, negate one, scale by 3: CKA 1.
        let mut rotated = x.clone() * 3.0;
        let c0 = rotated.column(0).to_owned();
        let c1 = rotated.column(1).to_owned();
        rotated.column_mut(0).assign(&c1);
        rotated.column_mut(1).assign(&(-c0));
        let noise = Array2::from_shape_fn((n, 7), |_| rng.gen_range(-1.0f32..1.0));
        let units = [
            UnitEmbeddings {
                encoder: "a",
                layer: "l0",
                embeddings: x.view(),
            },
            UnitEmbeddings {
                encoder: "a",
                layer: "l1",
                embeddings: rotated.view(),
            },
            UnitEmbeddings {
                encoder: "b",
                layer: "b",
                embeddings: noise.view(),
            },
        ];
        let items = items(n);
        let out = matrix("t", &items, 1, 30, &units).unwrap();
        let pairs: Vec<(usize, usize)> = out.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 2)]);
        assert!((out[0].measurement.value - 1.0).abs() < 1e-9);
        let test = rows_in(&items, Split::Test);
        let want = linear_cka(
            rows_f64(x.view(), &test).view(),
            rows_f64(noise.view(), &test).view(),
        );
        assert!((out[1].measurement.value - want).abs() < 1e-9);
        assert!(want < 0.5, "{want}");
        let m = &out[1].measurement;
        assert!(m.ci_low <= m.ci_high && m.n == test.len());
        assert_eq!(m.metric, METRIC);
    }
}
