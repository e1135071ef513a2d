//! Intrinsic geometry (`type = "geometry"`): how many dimensions an
//! encoder's embeddings use and how fast their variance decays, from the
//! test items' embeddings alone — no labels, nothing fitted. RankMe
//! (effective rank) and α-ReQ (eigenspectrum decay), see
//! [`crate::metrics::geometry`], each with a percentile-bootstrap interval
//! over test items (seeded by task, so paired across encoders; at most
//! [`MAX_RESAMPLES`] resamples). A resample repeats items, which biases
//! both statistics (it cannot raise the algebraic rank, but it reweights
//! the spectrum RankMe's entropy reads), so an interval need not contain
//! its point estimate. Neither statistic is "higher is better" in
//! general (α-ReQ argues for α near 1), so reports mark no best value.
//! Across units, the task measures the linear-CKA similarity matrix of
//! every encoder × layer pair ([`crate::similarity`]).

use crate::bootstrap::{interval, resample_indices, Estimate};
use crate::metrics::geometry::{alpha_req, covariance_spectrum, rankme};
use crate::rows::rows_f64;
use crate::{versions, TaskSpec};
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use repbench_framework::dataset::{rows_in, Split};
use repbench_framework::evaluator::{
    EvalInput, Evaluation, Evaluator, PairMeasurement, UnitEmbeddings,
};
use repbench_framework::record::Measurement;
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// Each resample needs one eigendecomposition of a `min(n, d)²` matrix; the
/// interval uses at most this many of the task's `bootstrap` resamples.
pub const MAX_RESAMPLES: usize = 200;

/// The geometry evaluator.
pub struct GeometryEvaluator {
    spec: TaskSpec,
}

impl GeometryEvaluator {
    /// Wraps a validated task spec (`type = "geometry"`).
    pub fn new(spec: TaskSpec) -> Self {
        GeometryEvaluator { spec }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }
}

impl Evaluator for GeometryEvaluator {
    fn implementation(&self) -> String {
        format!(
            "geometry-evaluator/{} metrics-geometry/{} similarity/{}",
            versions::GEOMETRY_EVALUATOR,
            versions::METRICS_GEOMETRY,
            versions::SIMILARITY
        )
    }

    fn fingerprint(&self) -> String {
        format!(
            "geometry:max_resamples={MAX_RESAMPLES}:{}",
            serde_json::to_string(&self.spec).expect("task specs serialise")
        )
    }

    /// The similarity matrix between every encoder × layer of the task.
    fn across_units(&self) -> bool {
        true
    }

    fn evaluate_across(
        &self,
        input: &EvalInput<'_>,
        units: &[UnitEmbeddings<'_>],
    ) -> Result<Vec<PairMeasurement>> {
        crate::similarity::matrix(
            &self.spec.name,
            input.items,
            input.seed,
            self.spec.bootstrap,
            units,
        )
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let rows: Vec<usize> = rows_in(input.items, Split::Test);
        if rows.len() < 3 {
            return Err(self.fail("geometry needs at least three test items"));
        }
        let x: Array2<f64> = rows_f64(input.embeddings, &rows);
        if let Some(((r, _), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(self.fail(format!(
                "embedding of item \"{}\" contains NaN or infinity",
                input.items[rows[r]].id
            )));
        }
        let n = rows.len();
        let statistics = |idx: &[usize]| -> [f64; 2] {
            let spectrum = covariance_spectrum(x.select(Axis(0), idx).view());
            [rankme(&spectrum), alpha_req(&spectrum)]
        };
        let all: Vec<usize> = (0..n).collect();
        let point = statistics(&all);
        let resamples = resample_indices(
            n,
            self.spec.bootstrap.min(MAX_RESAMPLES),
            &mut seed::rng(input.seed, &["bootstrap", input.task]),
        );
        let stats: Vec<[f64; 2]> = resamples.par_iter().map(|idx| statistics(idx)).collect();
        let measurement = |metric: &str, higher_is_better: bool, e: Estimate| Measurement {
            evaluator: "geometry".into(),
            probe: None,
            metric: metric.into(),
            higher_is_better,
            value: e.value,
            ci_low: e.low,
            ci_high: e.high,
            n,
            params: BTreeMap::from([("dimensions".to_string(), x.ncols() as f64)]),
            probe_seed: None,
            seed_sd: None,
            undefined_resamples: e.undefined,
        };
        let estimate = |m: usize| {
            if resamples.is_empty() {
                interval(point[m], &[point[m]])
            } else {
                interval(point[m], &stats.iter().map(|s| s[m]).collect::<Vec<_>>())
            }
        };
        Ok(Evaluation {
            measurements: vec![
                measurement("rankme", true, estimate(0)),
                measurement("alpha_req", false, estimate(1)),
            ],
            predictions: serde_json::Value::Null,
            // No validation score: layers are not compared pairwise.
            selection_score: f64::NEG_INFINITY,
            probe_selection: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::dataset::Item;

    #[test]
    fn a_collapsed_representation_has_undefined_rank_and_a_spread_one_a_high_rank() {
        let items: Vec<Item> = (0..60)
            .map(|i| Item {
                id: format!("i{i}"),
                split: if i % 2 == 0 {
                    Split::Test
                } else {
                    Split::Train
                },
                labels: BTreeMap::new(),
                content_key: String::new(),
                source: String::new(),
            })
            .collect();
        let spec: TaskSpec = serde_json::from_value(
            serde_json::json!({"name": "g", "dataset": "d", "type": "geometry", "bootstrap": 50}),
        )
        .unwrap();
        let run = |x: &Array2<f32>| {
            GeometryEvaluator::new(spec.clone())
                .evaluate(&EvalInput {
                    task: "g",
                    items: &items,
                    embeddings: x.view(),
                    seed: 0,
                    low_memory: false,
                })
                .unwrap()
        };
        let get = |e: &Evaluation, m: &str| {
            e.measurements
                .iter()
                .find(|r| r.metric == m)
                .unwrap()
                .clone()
        };
        let collapsed = run(&Array2::from_elem((60, 8), 3.0));
        assert!(get(&collapsed, "rankme").value.is_nan());
        assert_eq!(get(&collapsed, "rankme").undefined_resamples, 50);
        let spread = Array2::from_shape_fn((60, 8), |(i, j)| ((i * 31 + j * 17) % 13) as f32);
        let e = run(&spread);
        let r = get(&e, "rankme");
        assert!(r.value > 5.0 && r.ci_low.is_finite(), "{r:?}");
        assert_eq!(r.n, 30);
    }
}
