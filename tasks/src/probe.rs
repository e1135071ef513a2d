//! The probe evaluator: read a target from embeddings with a trained probe,
//! scored once on the test split with bootstrap confidence intervals.
//!
//! Protocol: standardise with training statistics, select hyper-parameters
//! on the validation split, predict every test item (no batching remainder
//! is dropped), bootstrap over test items with indices shared by all
//! encoders of a task (seeded by task name only, so intervals are paired).

use crate::bootstrap::{estimate, resample_indices};
use crate::logistic::{fit_select, LogisticParams};
use crate::metrics::{accuracy, balanced_accuracy, f1_macro};
use crate::standardize::Standardizer;
use crate::TaskSpec;
use ndarray::{Array2, Axis};
use repbench_framework::dataset::Split;
use repbench_framework::evaluator::{EvalInput, Evaluator};
use repbench_framework::record::Measurement;
use repbench_framework::{seed, Error, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Probes for a multiclass task.
pub struct ProbeEvaluator {
    spec: TaskSpec,
}

impl ProbeEvaluator {
    /// Wraps a validated task spec.
    pub fn new(spec: TaskSpec) -> Self {
        ProbeEvaluator { spec }
    }

    fn fail(&self, reason: String) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason,
        }
    }
}

/// Class index of every item, and the sorted class names.
fn encode_targets(
    input: &EvalInput<'_>,
    target: &str,
) -> std::result::Result<(Vec<usize>, Vec<String>), String> {
    let mut names = Vec::with_capacity(input.items.len());
    for item in input.items {
        match item.labels.get(target) {
            Some(label) => names.push(label.class_name()),
            None => {
                let available: Vec<&str> = item.labels.keys().map(String::as_str).collect();
                return Err(format!(
                    "item \"{}\" has no label \"{target}\"; its labels are: {}",
                    item.id,
                    available.join(", ")
                ));
            }
        }
    }
    let classes: Vec<String> = names
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    Ok((names.iter().map(|n| index[n.as_str()]).collect(), classes))
}

impl Evaluator for ProbeEvaluator {
    fn fingerprint(&self) -> String {
        serde_json::to_string(&self.spec).expect("task specs serialise")
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Vec<Measurement>> {
        let (y, classes) = encode_targets(input, &self.spec.target).map_err(|e| self.fail(e))?;
        let rows = |split: Split| -> Vec<usize> {
            input
                .items
                .iter()
                .enumerate()
                .filter(|(_, it)| it.split == split)
                .map(|(i, _)| i)
                .collect()
        };
        let (train, valid, test) = (rows(Split::Train), rows(Split::Valid), rows(Split::Test));
        for (split, idx) in [
            (Split::Train, &train),
            (Split::Valid, &valid),
            (Split::Test, &test),
        ] {
            if idx.is_empty() {
                return Err(self.fail(format!(
                    "the {split} split has no items; every split needs some"
                )));
            }
        }
        let train_classes: BTreeSet<usize> = train.iter().map(|&i| y[i]).collect();
        if train_classes.len() < 2 {
            return Err(
                self.fail("the train split holds fewer than two classes; nothing to learn".into())
            );
        }
        let unseen: BTreeSet<&str> = test
            .iter()
            .chain(&valid)
            .filter(|&&i| !train_classes.contains(&y[i]))
            .map(|&i| classes[y[i]].as_str())
            .collect();
        if !unseen.is_empty() {
            return Err(self.fail(format!(
                "classes {unseen:?} occur in valid/test but never in train; use more items or another split"
            )));
        }
        let x = input.embeddings.mapv(f64::from);
        let take = |idx: &[usize]| -> Array2<f64> { x.select(Axis(0), idx) };
        let pick = |idx: &[usize]| -> Vec<usize> { idx.iter().map(|&i| y[i]).collect() };
        let std = Standardizer::fit(take(&train).view());
        let (x_train, x_valid, x_test) = (
            std.transform(take(&train).view()),
            std.transform(take(&valid).view()),
            std.transform(take(&test).view()),
        );
        let y_test = pick(&test);
        let n_classes = classes.len();
        let mut rng = seed::rng(input.seed, &["bootstrap", input.task]);
        let resamples = resample_indices(test.len(), self.spec.bootstrap, &mut rng);
        let mut out = Vec::new();
        for probe in &self.spec.probes {
            let ProbeSpec::Logistic(params) = probe;
            let selected = fit_select(
                params,
                x_train.view(),
                &pick(&train),
                x_valid.view(),
                &pick(&valid),
            )
            .map_err(|e| self.fail(e))?;
            let y_pred = selected.predict(x_test.view());
            let subset = |idx: &[usize]| -> (Vec<usize>, Vec<usize>) {
                (
                    idx.iter().map(|&i| y_test[i]).collect(),
                    idx.iter().map(|&i| y_pred[i]).collect(),
                )
            };
            type MetricFn = fn(&[usize], &[usize], usize) -> f64;
            let metrics: [(&str, MetricFn); 3] = [
                ("accuracy", |t, p, _| accuracy(t, p)),
                ("balanced_accuracy", balanced_accuracy),
                ("f1_macro", f1_macro),
            ];
            for (name, metric) in metrics {
                let e = estimate(test.len(), &resamples, |idx| {
                    let (t, p) = subset(idx);
                    metric(&t, &p, n_classes)
                });
                out.push(Measurement {
                    evaluator: "probe".into(),
                    probe: Some(probe.kind().into()),
                    metric: name.into(),
                    value: e.value,
                    ci_low: e.low,
                    ci_high: e.high,
                    n: test.len(),
                    params: BTreeMap::from([("alpha".to_string(), selected.alpha)]),
                });
            }
        }
        Ok(out)
    }
}

/// Default probe options, used when a task lists none.
pub fn default_probes() -> Vec<ProbeSpec> {
    vec![ProbeSpec::Logistic(LogisticParams::default())]
}

/// A probe and its hyper-parameter grid (`probes = [{ kind = "logistic" }]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeSpec {
    /// Multinomial logistic regression; grid documented on [`LogisticParams`].
    Logistic(LogisticParams),
}

impl ProbeSpec {
    /// The config spelling of the kind, used in results.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Logistic(_) => "logistic",
        }
    }

    /// Range checks; `key` is this probe's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        match self {
            ProbeSpec::Logistic(p) => p.validate(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use repbench_framework::dataset::{Item, Label};

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: format!("i{i}"),
                split: [
                    Split::Train,
                    Split::Train,
                    Split::Train,
                    Split::Valid,
                    Split::Test,
                ][i % 5],
                labels: BTreeMap::from([(
                    "y".to_string(),
                    Label::Text(["a", "b", "c"][i % 3].into()),
                )]),
                content_key: String::new(),
                source: String::new(),
            })
            .collect()
    }

    fn spec() -> TaskSpec {
        serde_json::from_value(
            serde_json::json!({"name": "t", "dataset": "d", "target": "y", "bootstrap": 100}),
        )
        .unwrap()
    }

    /// Class `c` sits at `3c` on feature 0; feature 1 is noise-free filler.
    fn separable(items: &[Item]) -> Array2<f32> {
        Array2::from_shape_fn((items.len(), 2), |(i, j)| {
            if j == 0 {
                3.0 * (i % 3) as f32
            } else {
                1.0
            }
        })
    }

    #[test]
    fn separable_classes_are_learnt_and_every_test_item_is_scored() {
        let its = items(101);
        let x = separable(&its);
        let input = EvalInput {
            task: "t",
            items: &its,
            embeddings: x.view(),
            seed: 1,
        };
        let m = ProbeEvaluator::new(spec()).evaluate(&input).unwrap();
        let n_test = its.iter().filter(|i| i.split == Split::Test).count();
        assert_eq!(m.len(), 3);
        for r in &m {
            assert_eq!(r.n, n_test);
            assert_eq!(r.value, 1.0, "{r:?}");
            assert!(r.ci_low <= r.value && r.value <= r.ci_high);
        }
    }

    #[test]
    fn missing_labels_and_empty_splits_are_clear_errors() {
        let mut its = items(30);
        its[7].labels.clear();
        let x = separable(&its);
        let input = EvalInput {
            task: "t",
            items: &its,
            embeddings: x.view(),
            seed: 1,
        };
        let err = ProbeEvaluator::new(spec())
            .evaluate(&input)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"i7\"") && err.contains("no label \"y\""),
            "{err}"
        );

        let mut its = items(30);
        its.iter_mut()
            .filter(|i| i.split == Split::Valid)
            .for_each(|i| i.split = Split::Train);
        let input = EvalInput {
            task: "t",
            items: &its,
            embeddings: x.view(),
            seed: 1,
        };
        let err = ProbeEvaluator::new(spec())
            .evaluate(&input)
            .unwrap_err()
            .to_string();
        assert!(err.contains("valid split has no items"), "{err}");
    }
}
