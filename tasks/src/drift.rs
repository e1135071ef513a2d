//! Embedding drift (task `embedding_drift`, added by the runner's plan for
//! every dataset when the config has perturbation sweeps): how far each
//! perturbation moves the test items' embeddings, with no probe, per
//! severity — an evaluator like the others (cached, parallel over units),
//! fed the clean and perturbed embeddings by the runner.
//!
//! On embeddings standardised with the clean *train* items' statistics
//! (features constant on train set to 0, [`Standardizer`]; raw pooled
//! features such as log-mel in dB share an offset that makes every cosine
//! close to 1):
//!
//! * `cosine_distance`: mean `1 − cos(e, e′)` between clean and perturbed
//!   embeddings of the same item; an item whose standardised embedding is
//!   zero has no direction and is left out (NaN if all are: a collapsed
//!   representation is not "unmoved").
//! * `linear_cka` between the two sets (Kornblith et al. 2019, on the
//!   standardised embeddings; [`repbench_framework::similarity`]).
//! * `relative_shift`: `E‖e − e′‖² / E_{x≠x′}‖e(x) − e(x′)‖²` — how far
//!   items move relative to how far apart they are (0 = unmoved, 1 = as
//!   far as another item; NaN when the clean items have no spread).
//! * `displacement_consistency`: the mean cosine between different items'
//!   shifts `e′ − e` (1 when every item moves the same way, a shared
//!   translation). Read it with `relative_shift`: a perturbation that
//!   throws every item onto one far point is also "consistent", but its
//!   relative shift is large.
//!
//! 95% percentile-bootstrap intervals over the perturbed items (CKA: at
//! most [`CKA_RESAMPLES`] resamples of at most [`CKA_MAX_ITEMS`] items, a
//! seeded subsample above that).

use crate::bootstrap::{estimate, interval, resample_indices, Estimate};
use crate::metrics::properties::{pair_distance_shares, squared_distances};
use crate::standardize::Standardizer;
use crate::versions;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use repbench_framework::dataset::{rows_in, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, VariantResults, Variants};
use repbench_framework::record::Measurement;
use repbench_framework::similarity::linear_cka_gram;
use repbench_framework::{seed, Result};
use std::collections::BTreeMap;

/// The `task` value of embedding-drift records (reserved in configs).
pub const DRIFT_TASK: &str = "embedding_drift";
/// Resamples for the intervals.
const RESAMPLES: usize = 1000;
/// CKA recomputes an `m × m` centring per resample: its interval uses the
/// first this-many of the shared resamples.
pub const CKA_RESAMPLES: usize = 200;
/// CKA holds two `m × m` Gram matrices: above this many items it is
/// computed on a seeded subsample of this size (with its own resamples).
pub const CKA_MAX_ITEMS: usize = 3000;

/// Cosine distance; NaN (undefined) when either vector is zero.
pub fn cosine_distance(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    let (ab, aa, bb) = (a.dot(&b), a.dot(&a), b.dot(&b));
    if aa > 0.0 && bb > 0.0 {
        1.0 - ab / (aa.sqrt() * bb.sqrt())
    } else {
        f64::NAN
    }
}

/// Mean of the defined values among `idx`; NaN when none is defined.
fn mean_defined(values: &[f64], idx: &[usize]) -> f64 {
    let (sum, count) = idx
        .iter()
        .map(|&i| values[i])
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// `v / ‖v‖`, or zeros for a zero vector (an item the perturbation did
/// not move).
fn unit(v: ArrayView1<f64>) -> Array1<f64> {
    let norm = v.dot(&v).sqrt();
    if norm > 0.0 {
        &v / norm
    } else {
        Array1::zeros(v.len())
    }
}

/// Mean cosine similarity between the displacement directions `units[i]`
/// of distinct pairs among `idx` (pairs of the same item, which resampling
/// repeats, excluded): `(‖Σ uᵢ‖² − Σ ‖uᵢ‖² cᵢ²) / (m² − Σ cᵢ²)`, where `cᵢ`
/// counts item i's copies. 1 when the perturbation is the same translation
/// for every item, about 0 when directions are unrelated; NaN for fewer
/// than two distinct items.
pub fn displacement_consistency(units: &[Array1<f64>], idx: &[usize]) -> f64 {
    let Some(first) = units.first() else {
        return f64::NAN;
    };
    let mut sum = Array1::<f64>::zeros(first.len());
    // A vector, not a hash map: summation order must not vary between runs.
    let mut counts = vec![0usize; units.len()];
    for &i in idx {
        sum += &units[i];
        counts[i] += 1;
    }
    let same: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| units[i].dot(&units[i]) * (c * c) as f64)
        .sum();
    let m = idx.len() as f64;
    let pairs = m * m - counts.iter().map(|&c| (c * c) as f64).sum::<f64>();
    if pairs <= 0.0 {
        return f64::NAN;
    }
    (sum.dot(&sum) - same) / pairs
}

/// Linear CKA between `x` and `y` (same items, same order) with its
/// interval, through the items' Gram matrices; above [`CKA_MAX_ITEMS`]
/// items on a seeded subsample with its own resamples.
fn cka_estimate(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    resamples: &[Vec<usize>],
    subsample_rng: impl FnOnce() -> seed::Rng,
) -> Estimate {
    let n = x.nrows();
    let (picked, own): (Vec<usize>, Option<Vec<Vec<usize>>>) = if n > CKA_MAX_ITEMS {
        let mut rng = subsample_rng();
        let mut picked = rand::seq::index::sample(&mut rng, n, CKA_MAX_ITEMS).into_vec();
        picked.sort_unstable();
        let own = resample_indices(CKA_MAX_ITEMS, CKA_RESAMPLES, &mut rng);
        (picked, Some(own))
    } else {
        ((0..n).collect(), None)
    };
    let (x, y) = (x.select(Axis(0), &picked), y.select(Axis(0), &picked));
    let (gx, gy) = (x.dot(&x.t()), y.dot(&y.t()));
    let all: Vec<usize> = (0..picked.len()).collect();
    let value = linear_cka_gram(gx.view(), gy.view(), &all);
    let stats: Vec<f64> = own
        .as_deref()
        .unwrap_or(resamples)
        .iter()
        .take(CKA_RESAMPLES)
        .map(|idx| linear_cka_gram(gx.view(), gy.view(), idx))
        .collect();
    interval(value, &stats)
}

/// The drift evaluator.
#[derive(Debug, Default)]
pub struct DriftEvaluator;

impl DriftEvaluator {
    /// Drift measurements of one severity: `clean` and `moved` are the
    /// standardised embeddings of the perturbed items.
    fn measure(
        &self,
        clean: ArrayView2<f64>,
        moved: ArrayView2<f64>,
        resamples: &[Vec<usize>],
        cka_rng: impl FnOnce() -> seed::Rng,
    ) -> Vec<Measurement> {
        let n = clean.nrows();
        let d: Vec<f64> = clean
            .rows()
            .into_iter()
            .zip(moved.rows())
            .map(|(a, b)| cosine_distance(a, b))
            .collect();
        let distance = estimate(n, resamples, |idx| mean_defined(&d, idx));
        let cka = cka_estimate(clean, moved, resamples, cka_rng);
        let shifts = squared_distances(clean, moved);
        let spread = pair_distance_shares(clean);
        let total_spread: f64 = spread.iter().sum();
        let energy: f64 = clean.iter().chain(moved.iter()).map(|v| v * v).sum();
        let collapsed = total_spread.is_nan() || total_spread <= 1e-9 * energy;
        let relative = estimate(n, resamples, |idx| {
            let a: f64 = idx.iter().map(|&i| shifts[i]).sum();
            let b: f64 = idx.iter().map(|&i| spread[i]).sum();
            if collapsed || b <= 0.0 {
                f64::NAN
            } else {
                a / b
            }
        });
        let units: Vec<Array1<f64>> = (&moved - &clean).rows().into_iter().map(unit).collect();
        let consistency = estimate(n, resamples, |idx| displacement_consistency(&units, idx));
        let m = |metric: &str, higher_is_better: bool, e: Estimate| {
            Measurement::from_estimate(
                ("drift", None),
                metric,
                higher_is_better,
                e,
                n,
                BTreeMap::new(),
            )
        };
        vec![
            m("cosine_distance", false, distance),
            m("linear_cka", true, cka),
            m("relative_shift", false, relative),
            m("displacement_consistency", true, consistency),
        ]
    }
}

impl Evaluator for DriftEvaluator {
    fn fingerprint(&self) -> String {
        format!(
            "drift:resamples={RESAMPLES}:cka_resamples={CKA_RESAMPLES}:cka_items={CKA_MAX_ITEMS}"
        )
    }

    fn implementation(&self) -> String {
        format!("drift/{}", versions::DRIFT)
    }

    /// Nothing to measure on clean embeddings alone.
    fn evaluate(&self, _input: &EvalInput<'_>) -> Result<Evaluation> {
        Ok(Evaluation {
            measurements: Vec::new(),
            predictions: serde_json::Value::Null,
            selection_score: f64::NEG_INFINITY,
            probe_selection: BTreeMap::new(),
        })
    }

    fn evaluate_variants(
        &self,
        input: &EvalInput<'_>,
        variants: &Variants<'_>,
    ) -> Result<VariantResults> {
        let all = input.embeddings.mapv(f64::from);
        let train = rows_in(input.items, Split::Train);
        // Without train items (a test-only dataset) the clean items set the scale.
        let fit_rows: Vec<usize> = if train.is_empty() {
            (0..input.items.len()).collect()
        } else {
            train
        };
        let standardizer = Standardizer::fit(all.select(Axis(0), &fit_rows).view());
        let rows: Vec<usize> = match variants {
            Variants::TestRows(_) => rows_in(input.items, Split::Test),
            Variants::Full(_) => (0..input.items.len()).collect(),
        };
        let clean = standardizer.transform(all.select(Axis(0), &rows).view());
        let resamples = resample_indices(
            rows.len(),
            RESAMPLES,
            &mut seed::rng(input.seed, &["bootstrap", input.task]),
        );
        let per_variant = (0..variants.len())
            .map(|i| {
                let moved_rows = match variants {
                    Variants::TestRows(v) | Variants::Full(v) => v[i].mapv(f64::from),
                };
                let moved = standardizer.transform(moved_rows.view());
                let measurements = self.measure(clean.view(), moved.view(), &resamples, || {
                    seed::rng(input.seed, &["cka", input.task])
                });
                Evaluation {
                    measurements,
                    predictions: serde_json::Value::Null,
                    selection_score: f64::NEG_INFINITY,
                    probe_selection: BTreeMap::new(),
                }
            })
            .collect();
        Ok(VariantResults {
            per_variant,
            summary: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn rng(name: &str) -> seed::Rng {
        seed::rng(1, &[name])
    }

    #[test]
    fn cka_is_one_for_an_orthogonal_copy_and_less_for_a_stretched_one() {
        let clean = Array2::from_shape_fn((30, 3), |(i, j)| ((i * 13 + j * 7) % 11) as f64);
        let mut swapped = clean.clone();
        swapped.column_mut(0).assign(&clean.column(1));
        swapped.column_mut(1).assign(&clean.column(0));
        let mut stretched = clean.clone();
        stretched.column_mut(0).mapv_inplace(|v| 5.0 * v);
        let resamples = resample_indices(30, 50, &mut rng("t"));
        let e = cka_estimate(clean.view(), swapped.view(), &resamples, || rng("cka"));
        assert!(
            (e.value - 1.0).abs() < 1e-9 && (e.low - 1.0).abs() < 1e-9,
            "{e:?}"
        );
        let s = cka_estimate(clean.view(), stretched.view(), &resamples, || rng("cka"));
        assert!(s.value < 0.99, "{s:?}");
    }

    #[test]
    fn displacement_consistency_is_the_mean_cosine_over_distinct_pairs() {
        let dirs = [
            array![1.0, 0.0],
            array![0.6, 0.8],
            array![0.0, -1.0],
            array![0.0, 0.0],
        ];
        let units: Vec<Array1<f64>> = dirs.iter().map(|d| unit(d.view())).collect();
        let direct = |idx: &[usize]| {
            let (mut total, mut count) = (0.0, 0.0);
            for (a, &i) in idx.iter().enumerate() {
                for (b, &j) in idx.iter().enumerate() {
                    if a != b && i != j {
                        total += units[i].dot(&units[j]);
                        count += 1.0;
                    }
                }
            }
            total / count
        };
        for idx in [vec![0, 1, 2, 3], vec![0, 0, 1, 2, 2, 2], vec![1, 3, 3]] {
            let got = displacement_consistency(&units, &idx);
            assert!((got - direct(&idx)).abs() < 1e-12, "{idx:?}: {got}");
        }
        assert!(displacement_consistency(&units, &[2, 2]).is_nan());
    }

    #[test]
    fn cosine_distance_values_and_no_direction_is_undefined() {
        let d = |a: Array1<f64>, b: Array1<f64>| cosine_distance(a.view(), b.view());
        assert!(d(array![1.0, 0.0], array![2.0, 0.0]).abs() < 1e-12);
        assert!((d(array![1.0, 0.0], array![0.0, 3.0]) - 1.0).abs() < 1e-12);
        assert!((d(array![1.0, 0.0], array![-1.0, 0.0]) - 2.0).abs() < 1e-12);
        assert!(d(array![0.0, 0.0], array![1.0, 0.0]).is_nan());
        assert_eq!(
            mean_defined(&[0.5, f64::NAN, 0.25], &[0, 1, 2, 2]),
            1.0 / 3.0
        );
    }

    fn get(ms: &[Measurement], metric: &str) -> f64 {
        ms.iter().find(|m| m.metric == metric).unwrap().value
    }

    /// The two extremes the old drift rows misread: a collapse is
    /// undefined (not "unmoved"), and throwing every item onto one far
    /// point is "consistent" but a large shift.
    #[test]
    fn a_collapse_is_undefined_and_a_throw_onto_one_point_is_a_large_shift() {
        let clean = Array2::from_shape_fn((40, 4), |(i, j)| ((i * 7 + j * 3) % 9) as f64 - 4.0);
        let resamples = resample_indices(40, 100, &mut rng("r"));
        let zero = Array2::<f64>::zeros((40, 4));
        let collapsed = DriftEvaluator.measure(zero.view(), zero.view(), &resamples, || rng("c"));
        assert!(get(&collapsed, "cosine_distance").is_nan());
        assert!(get(&collapsed, "relative_shift").is_nan());
        let far = Array2::from_shape_fn((40, 4), |(_, j)| 100.0 + j as f64);
        let thrown = DriftEvaluator.measure(clean.view(), far.view(), &resamples, || rng("c"));
        assert!(get(&thrown, "displacement_consistency") > 0.9);
        assert!(get(&thrown, "relative_shift") > 100.0);
        let small = &clean + 0.01;
        let nudged = DriftEvaluator.measure(clean.view(), small.view(), &resamples, || rng("c"));
        assert!(get(&nudged, "relative_shift") < 1e-3);
        assert!((get(&nudged, "displacement_consistency") - 1.0).abs() < 1e-9);
    }
}
