//! Stage 3: embedding drift — how far a perturbation moves each item's
//! embedding, with no probe: the mean cosine distance `1 − cos(e, e′)`
//! between clean and perturbed embeddings of the same items, and the
//! linear CKA between the two sets (does the geometry of the items survive,
//! up to rotation and scale? [`crate::similarity`]), each with a 95%
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

/// Resamples used for drift intervals.
const RESAMPLES: usize = 1000;
/// CKA recomputes an `n × n` centring per resample: its interval uses the
/// first this-many of the shared resamples.
const CKA_RESAMPLES: usize = 200;

/// Cosine distance; 0 between two zero vectors, 1 between a zero and a
/// non-zero vector (no direction in common).
pub fn cosine_distance(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    match (aa > 0.0, bb > 0.0) {
        (false, false) => 0.0,
        (true, true) => 1.0 - ab / (aa.sqrt() * bb.sqrt()),
        _ => 1.0,
    }
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

/// Linear CKA between the standardised clean rows `rows` of `clean` and
/// the perturbed matrix (same items, in order), with its interval over the
/// shared resamples; through the items' Gram matrices, so each resample
/// costs `O(n²)` whatever the width.
fn cka_estimate(
    clean: &Array2<f32>,
    moved: &Array2<f32>,
    rows: &[usize],
    (mean, scale): (&Array1<f32>, &Array1<f32>),
    resamples: &[Vec<usize>],
) -> crate::bootstrap::Estimate {
    let z = |m: Array2<f32>| ((&m - mean) / scale).mapv(f64::from);
    let x = z(clean.select(Axis(0), rows));
    let y = z(moved.clone());
    let (gx, gy) = (x.dot(&x.t()), y.dot(&y.t()));
    let all: Vec<usize> = (0..rows.len()).collect();
    let value = linear_cka_gram(gx.view(), gy.view(), &all);
    let stats: Vec<f64> = resamples
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
        let resamples = resample_indices(
            rows.len(),
            RESAMPLES,
            &mut seed::rng(plan.seed, &["bootstrap", "drift", dataset.name()]),
        );
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            let clean = &emb.clean[&(di, ei)].shard;
            for (pi, p) in plan.perturbations.iter().enumerate() {
                let perturbed = &emb.perturbed[&(di, ei, pi)];
                for (li, layer) in clean.layers.iter().enumerate() {
                    let (mean, scale) = column_stats(&layer.matrix);
                    let z = |v: ArrayView1<f32>| -> Array1<f32> { (&v - &mean) / &scale };
                    let moved = &perturbed.shard.layers[li].matrix;
                    let d: Vec<f64> = rows
                        .iter()
                        .enumerate()
                        .map(|(k, &r)| {
                            cosine_distance(z(layer.matrix.row(r)).view(), z(moved.row(k)).view())
                        })
                        .collect();
                    let e = estimate(d.len(), &resamples, |idx| {
                        idx.iter().map(|&i| d[i]).sum::<f64>() / idx.len() as f64
                    });
                    let cka = cka_estimate(&layer.matrix, moved, rows, (&mean, &scale), &resamples);
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
                                embedding_key: perturbed.key.clone(),
                                config_hash: plan.config_hash.clone(),
                                repbench_version: VERSION.into(),
                            }
                        };
                    out.push(record("cosine_distance", false, e));
                    out.push(record("linear_cka", true, cka));
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
        assert_eq!(
            cosine_distance(array![0.0f32, 0.0].view(), array![0.0f32, 0.0].view()),
            0.0
        );
    }
}
