//! Disentanglement: do a dataset's known factors (pitch, instrument,
//! loudness…) live in separate embedding dimensions? MIG, SAP and DCI
//! (see [`crate::metrics::disentanglement`]) on the test items' raw
//! embeddings, each with a bootstrap interval over those items (seeded by
//! task, so paired across encoders; at most [`MAX_RESAMPLES`] resamples,
//! [`DCI_MAX_RESAMPLES`] for DCI). Nothing is fitted on other splits:
//! these are descriptive statistics of the representation. Resampling
//! repeats items, which biases mutual-information and Lasso statistics, so
//! an interval need not contain its point estimate.

use crate::bootstrap::{interval, resample_indices, Estimate};
use crate::metrics::disentanglement::{dci_from, mig, sap, DciFits, Factor};
use crate::{versions, TaskSpec};
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use repbench_framework::dataset::{rows_in, Item, Label, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, VariantResults, Variants};
use repbench_framework::record::Measurement;
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// Equal-width bins per code for MIG (disentanglement_lib's default).
pub const MIG_BINS: usize = 20;
/// Lasso penalty of the DCI importances (on standardised codes/factors).
pub const DCI_ALPHA: f64 = 0.02;
/// Every resample recomputes MIG and SAP over all codes; their intervals
/// use at most this many of the task's `bootstrap` resamples.
pub const MAX_RESAMPLES: usize = 200;
/// DCI refits one Lasso per factor (per class of a categorical one) on
/// every resample; its interval uses at most this many resamples.
pub const DCI_MAX_RESAMPLES: usize = 100;

/// The disentanglement evaluator.
pub struct DisentanglementEvaluator {
    spec: TaskSpec,
}

impl DisentanglementEvaluator {
    /// Wraps a validated task spec (`type = "disentanglement"`).
    pub fn new(spec: TaskSpec) -> Self {
        DisentanglementEvaluator { spec }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    /// Each factor's value per row: numbers stay numbers, text labels become
    /// classes in sorted order.
    fn factors(&self, items: &[Item], rows: &[usize]) -> Result<Vec<Factor>> {
        self.spec
            .factors
            .iter()
            .map(|name| {
                let labels: Vec<&Label> = rows
                    .iter()
                    .map(|&r| {
                        items[r].labels.get(name).ok_or_else(|| {
                            self.fail(format!("item \"{}\" has no factor \"{name}\"", items[r].id))
                        })
                    })
                    .collect::<Result<_>>()?;
                if let Some((&r, _)) = rows.iter().zip(&labels).find(
                    |(_, l)| matches!(l, Label::Number(v) if !v.is_finite()),
                ) {
                    return Err(self.fail(format!(
                        "item \"{}\" has a non-finite value of factor \"{name}\"",
                        items[r].id
                    )));
                }
                let mut distinct: Vec<String> = labels.iter().map(|l| l.class_name()).collect();
                distinct.sort();
                distinct.dedup();
                if distinct.len() < 2 {
                    return Err(self.fail(format!(
                        "factor \"{name}\" has one value on the test items; a disentanglement factor must vary"
                    )));
                }
                if let Some(values) = labels
                    .iter()
                    .map(|l| match l {
                        Label::Number(v) => Some(*v),
                        Label::Text(_) => None,
                    })
                    .collect::<Option<Vec<f64>>>()
                {
                    return Ok(Factor::Numeric(values));
                }
                let mut names: Vec<String> = labels.iter().map(|l| l.class_name()).collect();
                names.sort();
                names.dedup();
                Ok(Factor::Categorical(
                    labels
                        .iter()
                        .map(|l| names.binary_search(&l.class_name()).expect("listed"))
                        .collect(),
                ))
            })
            .collect()
    }

    fn measurement(&self, metric: &str, e: Estimate, n: usize) -> Measurement {
        Measurement {
            evaluator: "disentanglement".into(),
            probe: None,
            metric: metric.into(),
            higher_is_better: true,
            value: e.value,
            ci_low: e.low,
            ci_high: e.high,
            n,
            params: BTreeMap::from([
                ("mig_bins".to_string(), MIG_BINS as f64),
                ("dci_alpha".to_string(), DCI_ALPHA),
            ]),
            probe_seed: None,
            seed_sd: None,
            undefined_resamples: e.undefined,
        }
    }
}

/// The codes and factors of `rows` (a resample, or every test item).
fn subset(codes: &Array2<f64>, factors: &[Factor], rows: &[usize]) -> (Array2<f64>, Vec<Factor>) {
    let f = factors.iter().map(|f| f.select(rows)).collect();
    (codes.select(Axis(0), rows), f)
}

/// `[mig, sap, dci_disentanglement, dci_completeness]`; DCI is NaN when
/// `dci` is `None` (resamples past [`DCI_MAX_RESAMPLES`]), else warm-started
/// from the full-data fits it holds.
fn scores(x: &Array2<f64>, f: &[Factor], dci: Option<&DciFits>) -> [f64; 4] {
    let (d, c) = dci.map_or((f64::NAN, f64::NAN), |fits| {
        let (d, c, _) = dci_from(x.view(), f, DCI_ALPHA, Some(fits));
        (d, c)
    });
    [mig(x.view(), f, MIG_BINS), sap(x.view(), f), d, c]
}

impl Evaluator for DisentanglementEvaluator {
    fn implementation(&self) -> String {
        format!(
            "disentanglement-evaluator/{} metrics-disentanglement/{}",
            versions::DISENTANGLEMENT_EVALUATOR,
            versions::METRICS_DISENTANGLEMENT
        )
    }

    fn fingerprint(&self) -> String {
        format!(
            "disentanglement/v1:mig_bins={MIG_BINS},dci_alpha={DCI_ALPHA},max_resamples={MAX_RESAMPLES},dci_max_resamples={DCI_MAX_RESAMPLES}:{}",
            serde_json::to_string(&self.spec).expect("task specs serialise")
        )
    }

    /// A perturbation sweep does not change which factors a representation
    /// separates on clean audio, and each severity would cost a full DCI
    /// with its interval: nothing is measured per severity.
    fn evaluate_variants(
        &self,
        _input: &EvalInput<'_>,
        variants: &Variants<'_>,
    ) -> Result<VariantResults> {
        let nothing = || Evaluation {
            measurements: Vec::new(),
            predictions: serde_json::Value::Null,
            selection_score: f64::NEG_INFINITY,
            probe_selection: BTreeMap::new(),
        };
        Ok(VariantResults {
            per_variant: (0..variants.len()).map(|_| nothing()).collect(),
            summary: Vec::new(),
        })
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let rows: Vec<usize> = rows_in(input.items, Split::Test);
        if rows.len() < 3 {
            return Err(self.fail(format!(
                "disentanglement needs at least 3 test items (got {})",
                rows.len()
            )));
        }
        if input.embeddings.ncols() < 2 {
            return Err(self.fail("disentanglement needs embeddings of at least 2 dimensions"));
        }
        let codes: Array2<f64> = input.embeddings.select(Axis(0), &rows).mapv(f64::from);
        if codes.iter().any(|v| !v.is_finite()) {
            return Err(self.fail("an embedding contains NaN or infinity"));
        }
        let factors = self.factors(input.items, &rows)?;
        let n = rows.len();
        let (d, c, fits) = dci_from(codes.view(), &factors, DCI_ALPHA, None);
        let point = [
            mig(codes.view(), &factors, MIG_BINS),
            sap(codes.view(), &factors),
            d,
            c,
        ];
        let resamples = resample_indices(
            n,
            self.spec.bootstrap.min(MAX_RESAMPLES),
            &mut seed::rng(input.seed, &["bootstrap", &self.spec.name]),
        );
        // Resamples are independent and collected in order: thread count
        // does not change the result.
        let per_resample: Vec<[f64; 4]> = resamples
            .par_iter()
            .enumerate()
            .map(|(i, idx)| {
                let (x, f) = subset(&codes, &factors, idx);
                scores(&x, &f, (i < DCI_MAX_RESAMPLES).then_some(&fits))
            })
            .collect();
        let names = ["mig", "sap", "dci_disentanglement", "dci_completeness"];
        let measurements = names
            .iter()
            .enumerate()
            .map(|(m, name)| {
                let stats: Vec<f64> = per_resample.iter().map(|s| s[m]).collect();
                let e = if resamples.is_empty() {
                    interval(point[m], &[point[m]])
                } else {
                    interval(point[m], &stats)
                };
                self.measurement(name, e, n)
            })
            .collect();
        Ok(Evaluation {
            measurements,
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
    use ndarray::Array2;

    fn items(velocity: impl Fn(usize) -> f64) -> Vec<Item> {
        (0..12)
            .map(|i| Item {
                id: format!("n{i}"),
                split: Split::Test,
                labels: BTreeMap::from([
                    ("pitch".to_string(), Label::Number((i % 4) as f64)),
                    (
                        "instrument".to_string(),
                        Label::Text(["a", "b", "c"][i % 3].into()),
                    ),
                    ("velocity".to_string(), Label::Number(velocity(i))),
                ]),
                content_key: String::new(),
                source: String::new(),
            })
            .collect()
    }

    fn run(items: &[Item], factors: &[&str]) -> Result<Evaluation> {
        let spec: TaskSpec = toml::from_str(&format!(
            "name = \"d\"\ndataset = \"x\"\ntype = \"disentanglement\"\nfactors = {factors:?}\nbootstrap = 20"
        ))
        .unwrap();
        let codes = Array2::from_shape_fn((items.len(), 3), |(i, j)| ((i * (j + 3)) % 7) as f32);
        DisentanglementEvaluator::new(spec).evaluate(&EvalInput {
            task: "d",
            items,
            embeddings: codes.view(),
            seed: 1,
        })
    }

    #[test]
    fn every_metric_is_reported_with_an_interval() {
        let e = run(
            &items(|i| (i % 2) as f64),
            &["pitch", "instrument", "velocity"],
        )
        .unwrap();
        let names: Vec<&str> = e.measurements.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(
            names,
            ["mig", "sap", "dci_disentanglement", "dci_completeness"]
        );
        assert!(e
            .measurements
            .iter()
            .all(|m| m.n == 12 && m.ci_low.is_finite()));
    }

    #[test]
    fn constant_and_non_finite_factors_are_errors_naming_them() {
        let err = run(&items(|_| 80.0), &["pitch", "velocity"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("factor \"velocity\" has one value"), "{err}");
        let err = run(
            &items(|i| if i == 5 { f64::NAN } else { 1.0 }),
            &["pitch", "velocity"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("item \"n5\"") && err.contains("non-finite"),
            "{err}"
        );
    }

    /// A sweep of three severities costs nothing: no DCI per severity.
    #[test]
    fn perturbation_sweeps_are_not_re_measured() {
        let spec: TaskSpec = toml::from_str(
            "name = \"d\"\ndataset = \"x\"\ntype = \"disentanglement\"\nfactors = [\"pitch\", \"velocity\"]",
        )
        .unwrap();
        let items = items(|i| (i % 2) as f64);
        let codes = Array2::from_shape_fn((12, 3), |(i, j)| ((i * (j + 3)) % 7) as f32);
        let input = EvalInput {
            task: "d",
            items: &items,
            embeddings: codes.view(),
            seed: 1,
        };
        let variants = Variants::Full(vec![codes.view(); 3]);
        let r = DisentanglementEvaluator::new(spec)
            .evaluate_variants(&input, &variants)
            .unwrap();
        assert_eq!(r.per_variant.len(), 3);
        assert!(r.per_variant.iter().all(|e| e.measurements.is_empty()));
    }
}
