//! Stage 3: embedding drift — how far a perturbation moves each item's
//! embedding, with no probe: the mean cosine distance `1 − cos(e, e′)`
//! between clean and perturbed embeddings of the same items, and the
//! linear CKA between the two sets (does the geometry of the items survive,
//! up to rotation and scale? [`crate::similarity`]), and the displacement
//! consistency (does the perturbation move every item the same way — the
//! simplest equivariance, a shared translation?), each with a 95%
//! bootstrap interval over items.
//!
//! Both embeddings are first standardised per dimension with the clean
//! embeddings' mean and standard deviation over all items: raw pooled
//! features (log-mel in dB, say) share a large common offset that makes
//! every cosine close to 1, and probes see standardised features too.

use super::embed::Embeddings;
use super::RunPlan;
use crate::bootstrap::{estimate, interval, resample_indices};
use crate::record::ResultRecord;
use crate::similarity::linear_cka_gram;
use crate::{seed, VERSION};
use ndarray::{Array1, Array2, ArrayView1, Axis};

/// Implementation version of the drift statistics, stamped on their records.
/// 2: a zero vector has no direction, so its cosine distance is undefined.
const DRIFT_IMPLEMENTATION: &str = "drift/2";
/// Resamples used for drift intervals.
const RESAMPLES: usize = 1000;
/// CKA recomputes an `n × n` centring per resample: its interval uses the
/// first this-many of the shared resamples.
const CKA_RESAMPLES: usize = 200;
/// CKA holds two `n × n` Gram matrices: above this many items it is
/// computed on a seeded subsample of this size (with its own resamples).
const CKA_MAX_ITEMS: usize = 3000;

/// Cosine distance; NaN (undefined) when either vector is zero. A
/// representation that collapses every item onto its mean standardises to
/// zero vectors: calling that distance 0 ("perfectly invariant") was wrong.
pub fn cosine_distance(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
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
fn unit(v: &Array1<f64>) -> Array1<f64> {
    let norm = v.dot(v).sqrt();
    if norm > 0.0 {
        v / norm
    } else {
        Array1::zeros(v.len())
    }
}

/// Mean cosine similarity between the displacement directions `units[i]`
/// of distinct pairs among `idx` (pairs of the same item, which resampling
/// repeats, excluded): `(‖Σ uᵢ‖² − Σ ‖uᵢ‖²) / (m² − Σ_i c_i²)`, where `c_i`
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
    // Same-item pairs contribute ‖u_i‖² c_i² to ‖Σu‖²; they are not pairs of items.
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

/// Per-column mean and standard deviation (1 where a column is constant).
fn column_stats(m: &Array2<f32>) -> (Array1<f32>, Array1<f32>) {
    let mean = m
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(m.ncols()));
    let scale = m
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-12 { s } else { 1.0 });
    (mean, scale)
}

/// Linear CKA between standardised clean embeddings `x` and their
/// perturbed counterparts `y` (same items, same order), with its interval
/// over the shared resamples; through the items' Gram matrices, so each
/// resample costs `O(n²)` whatever the width. Above `max_items` items, on a
/// seeded subsample with its own resamples.
fn cka_estimate(
    x: &Array2<f32>,
    y: &Array2<f32>,
    resamples: &[Vec<usize>],
    (max_items, subsample_rng): (usize, impl FnOnce() -> crate::seed::Rng),
) -> crate::bootstrap::Estimate {
    let n = x.nrows();
    let (picked, own_resamples): (Vec<usize>, Option<Vec<Vec<usize>>>) = if n > max_items {
        let mut rng = subsample_rng();
        let mut picked = rand::seq::index::sample(&mut rng, n, max_items).into_vec();
        picked.sort_unstable();
        let own = resample_indices(max_items, CKA_RESAMPLES, &mut rng);
        (picked, Some(own))
    } else {
        ((0..n).collect(), None)
    };
    let wide = |m: &Array2<f32>| m.select(Axis(0), &picked).mapv(f64::from);
    let (x, y) = (wide(x), wide(y));
    let (gx, gy) = (x.dot(&x.t()), y.dot(&y.t()));
    let all: Vec<usize> = (0..picked.len()).collect();
    let value = linear_cka_gram(gx.view(), gy.view(), &all);
    let stats: Vec<f64> = own_resamples
        .as_deref()
        .unwrap_or(resamples)
        .iter()
        .take(CKA_RESAMPLES)
        .map(|idx| linear_cka_gram(gx.view(), gy.view(), idx))
        .collect();
    interval(value, &stats)
}

/// Drift records for every (dataset, encoder, layer, perturbation).
pub fn measure(plan: &RunPlan, emb: &Embeddings) -> Vec<ResultRecord> {
    let mut out = Vec::new();
    for (di, dataset) in plan.datasets.iter().enumerate() {
        let rows = &emb.perturbed_rows[&di];
        if rows.is_empty() {
            continue;
        }
        let test_set = crate::dataset::test_set_fingerprint(dataset.items());
        let resamples = resample_indices(
            rows.len(),
            RESAMPLES,
            &mut seed::rng(plan.seed, &["bootstrap", "drift", dataset.name()]),
        );
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            let clean = &emb.clean[&(di, ei)].shard;
            // Per layer, once for every perturbation: the clean statistics and
            // the standardised clean rows of the perturbed items.
            let standardised: Vec<(Array1<f32>, Array1<f32>, Array2<f32>)> = clean
                .layers
                .iter()
                .map(|layer| {
                    let (mean, scale) = column_stats(&layer.matrix);
                    let rows_z = (&layer.matrix.select(Axis(0), rows) - &mean) / &scale;
                    (mean, scale, rows_z)
                })
                .collect();
            for (pi, p) in plan.perturbations.iter().enumerate() {
                let perturbed = &emb.perturbed[&(di, ei, pi)];
                for (li, layer) in clean.layers.iter().enumerate() {
                    let (mean, scale, clean_z) = &standardised[li];
                    let moved_z = (&perturbed.shard.layers[li].matrix - mean) / scale;
                    let d: Vec<f64> = clean_z
                        .rows()
                        .into_iter()
                        .zip(moved_z.rows())
                        .map(|(a, b)| cosine_distance(a, b))
                        .collect();
                    let e = estimate(d.len(), &resamples, |idx| mean_defined(&d, idx));
                    let cka = cka_estimate(
                        clean_z,
                        &moved_z,
                        &resamples,
                        (CKA_MAX_ITEMS, || {
                            seed::rng(plan.seed, &["cka", dataset.name()])
                        }),
                    );
                    let record =
                        |metric: &str, higher_is_better: bool, e: crate::bootstrap::Estimate| {
                            ResultRecord {
                                run_id: plan.run_id.clone(),
                                encoder: encoder.name().into(),
                                layer: layer.name.clone(),
                                dataset: dataset.name().into(),
                                task: super::DRIFT_TASK.into(),
                                evaluator: "drift".into(),
                                probe: None,
                                perturbation: p.name.clone(),
                                severity: Some(p.severity),
                                seed: plan.seed,
                                metric: metric.into(),
                                higher_is_better,
                                value: e.value,
                                ci_low: e.low,
                                ci_high: e.high,
                                n: d.len(),
                                params: Default::default(),
                                probe_seed: None,
                                seed_sd: None,
                                undefined_resamples: e.undefined,
                                implementation: DRIFT_IMPLEMENTATION.into(),
                                test_set: test_set.clone(),
                                valid_score: None,
                                embedding_key: perturbed.key.clone(),
                                config_hash: plan.config_hash.clone(),
                                repbench_version: VERSION.into(),
                            }
                        };
                    out.push(record("cosine_distance", false, e));
                    out.push(record("linear_cka", true, cka));
                    let units: Vec<Array1<f64>> = (&moved_z - clean_z)
                        .rows()
                        .into_iter()
                        .map(|shift| unit(&shift.mapv(f64::from)))
                        .collect();
                    let consistency = estimate(units.len(), &resamples, |idx| {
                        displacement_consistency(&units, idx)
                    });
                    out.push(record("displacement_consistency", true, consistency));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cka_is_one_for_an_orthogonal_copy_and_less_for_a_stretched_one() {
        let clean = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 13 + j * 7) % 11) as f32);
        // The perturbed rows are test rows 5..35: swapped columns (orthogonal,
        // CKA 1) and one column stretched fivefold (not orthogonal).
        let rows: Vec<usize> = (5..35).collect();
        let mut swapped = clean.select(Axis(0), &rows);
        let first = swapped.column(0).to_owned();
        let second = swapped.column(1).to_owned();
        swapped.column_mut(0).assign(&second);
        swapped.column_mut(1).assign(&first);
        let mut stretched = clean.select(Axis(0), &rows);
        stretched.column_mut(0).mapv_inplace(|v| 5.0 * v);
        let resamples = resample_indices(rows.len(), 50, &mut seed::rng(1, &["t"]));
        for cap in [100, 12] {
            let cka = |moved: &Array2<f32>| {
                let subsample = (cap, || seed::rng(1, &["cka"]));
                cka_estimate(&clean.select(Axis(0), &rows), moved, &resamples, subsample)
            };
            let e = cka(&swapped);
            assert!(
                (e.value - 1.0).abs() < 1e-9 && (e.low - 1.0).abs() < 1e-9,
                "{cap}: {e:?}"
            );
            let s = cka(&stretched);
            assert!(s.value < 0.99, "{cap}: {s:?}");
        }
    }

    #[test]
    fn displacement_consistency_is_the_mean_cosine_over_distinct_pairs() {
        let dirs = [
            array![1.0, 0.0],
            array![0.6, 0.8],
            array![0.0, -1.0],
            array![0.0, 0.0],
        ];
        let units: Vec<Array1<f64>> = dirs.iter().map(unit).collect();
        // Direct: average of cos over ordered pairs of distinct items.
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
        // One shared translation: consistency 1.
        let same = vec![unit(&array![3.0, 4.0]); 5];
        assert!((displacement_consistency(&same, &[0, 1, 2, 3, 4]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cosine_distance_values() {
        assert!(
            (cosine_distance(array![1.0f32, 0.0].view(), array![2.0f32, 0.0].view())).abs() < 1e-12
        );
        assert!(
            (cosine_distance(array![1.0f32, 0.0].view(), array![0.0f32, 3.0].view()) - 1.0).abs()
                < 1e-12
        );
        assert!(
            (cosine_distance(array![1.0f32, 0.0].view(), array![-1.0f32, 0.0].view()) - 2.0).abs()
                < 1e-12
        );
        // No direction: undefined, not "unmoved".
        assert!(cosine_distance(array![0.0f32, 0.0].view(), array![0.0f32, 0.0].view()).is_nan());
        assert!(cosine_distance(array![0.0f32, 0.0].view(), array![1.0f32, 0.0].view()).is_nan());
        assert!(mean_defined(&[f64::NAN, f64::NAN], &[0, 1]).is_nan());
        assert_eq!(
            mean_defined(&[0.5, f64::NAN, 0.25], &[0, 1, 2, 2]),
            1.0 / 3.0
        );
    }
}
