//! Which metrics a task reports, and which one selects hyper-parameters.

use crate::metrics::key::{mean_weighted_score, Key};
use crate::metrics::{classification as cls, multilabel as ml, regression as reg};
use crate::targets::{Scores, Targets};

/// Computes a metric from targets and scores of the same items.
pub type MetricFn = Box<dyn Fn(&Targets, &Scores) -> f64 + Send + Sync>;

/// A named metric over (targets, scores) of the same items.
pub struct Metric {
    /// Name used in results.
    pub name: &'static str,
    /// Whether larger values are better.
    pub higher_is_better: bool,
    /// Computes it from targets and scores of the same items.
    pub compute: MetricFn,
}

fn classes(t: &Targets) -> &[usize] {
    match t {
        Targets::Classes { y, .. } => y,
        _ => &[],
    }
}

fn tag_matrices<'a>(
    t: &'a Targets,
    s: &'a Scores,
) -> Option<(ndarray::ArrayView2<'a, f64>, ndarray::ArrayView2<'a, f64>)> {
    match (t, s) {
        (Targets::Tags { y, .. }, Scores::Tags(m)) => Some((m.view(), y.view())),
        _ => None,
    }
}

fn values<'a>(t: &'a Targets, s: &'a Scores) -> (&'a [f64], &'a [f64]) {
    match (t, s) {
        (Targets::Values(y), Scores::Values(p)) => (y, p),
        _ => (&[], &[]),
    }
}

fn metric(
    name: &'static str,
    f: impl Fn(&Targets, &Scores) -> f64 + Send + Sync + 'static,
) -> Metric {
    Metric {
        name,
        higher_is_better: !matches!(name, "rmse" | "mae"),
        compute: Box::new(f),
    }
}

/// The metrics for `targets`' kind; the first one selects hyper-parameters
/// on the validation split.
///
/// `targets` are the full evaluation set (all test items): balanced
/// accuracy and macro-F1 average over its classes on every subset they are
/// later computed on (bootstrap resamples), so each resample measures the
/// same quantity (scikit-learn's `labels=`).
///
/// Multiclass targets whose class names all parse as keys ("C major",
/// "A minor", …) also get the MIREX weighted key score.
pub fn metrics_for(targets: &Targets) -> Vec<Metric> {
    match targets {
        Targets::Classes { names, y } => {
            let present = std::sync::Arc::new(cls::classes_of(y));
            let for_f1 = std::sync::Arc::clone(&present);
            let mut out = vec![
                metric("accuracy", |t, s| cls::accuracy(classes(t), &s.argmax())),
                metric("balanced_accuracy", move |t, s| {
                    cls::balanced_accuracy(classes(t), &s.argmax(), &present)
                }),
                metric("f1_macro", move |t, s| {
                    cls::f1_macro(classes(t), &s.argmax(), &for_f1)
                }),
            ];
            let keys: Option<Vec<Key>> = names.iter().map(|n| Key::parse(n)).collect();
            if let Some(keys) = keys {
                out.push(metric("mirex_key_weighted", move |t, s| {
                    let reference: Vec<Key> = classes(t).iter().map(|&c| keys[c]).collect();
                    let estimate: Vec<Key> = s.argmax().iter().map(|&c| keys[c]).collect();
                    mean_weighted_score(&reference, &estimate)
                }));
            }
            out
        }
        Targets::Tags { .. } => vec![
            metric("average_precision_macro", |t, s| {
                tag_matrices(t, s).map_or(f64::NAN, |(m, y)| ml::average_precision_macro(m, y))
            }),
            metric("roc_auc_macro", |t, s| {
                tag_matrices(t, s).map_or(f64::NAN, |(m, y)| ml::roc_auc_macro(m, y))
            }),
            metric("average_precision_micro", |t, s| {
                tag_matrices(t, s).map_or(f64::NAN, |(m, y)| ml::average_precision_micro(m, y))
            }),
            metric("roc_auc_micro", |t, s| {
                tag_matrices(t, s).map_or(f64::NAN, |(m, y)| ml::roc_auc_micro(m, y))
            }),
        ],
        Targets::Values(_) => vec![
            metric("r2", |t, s| {
                let (y, p) = values(t, s);
                reg::r2(y, p)
            }),
            metric("pearson_r", |t, s| {
                let (y, p) = values(t, s);
                reg::pearson_r(y, p)
            }),
            metric("rmse", |t, s| {
                let (y, p) = values(t, s);
                reg::rmse(y, p)
            }),
            metric("mae", |t, s| {
                let (y, p) = values(t, s);
                reg::mae(y, p)
            }),
        ],
    }
}

/// The selection score on validation data: the first metric, or for
/// regression R² (all "higher is better").
pub fn selection_score(targets: &Targets, scores: &Scores) -> f64 {
    let m = &metrics_for(targets)[0];
    let v = (m.compute)(targets, scores);
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A resample that lost a class still averages over the test set's
    /// classes (reference: `scripts/make_probe_reference.py`).
    #[test]
    fn resamples_average_over_the_test_sets_classes() {
        let r: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/probe_reference.json")).unwrap();
        let c = &r["classification"];
        let y: Vec<usize> = serde_json::from_value(c["y_true"].clone()).unwrap();
        let p: Vec<usize> = serde_json::from_value(c["y_pred"].clone()).unwrap();
        let names: Vec<String> = (0..3).map(|i| i.to_string()).collect();
        // The full test set holds classes 0, 1 and 2; the resample (the
        // reference's items) lost class 1.
        let full = Targets::Classes {
            y: [y.clone(), vec![1]].concat(),
            names: names.clone(),
        };
        let metrics = metrics_for(&full);
        let resample = Targets::Classes { y, names };
        let scores = Scores::Classes(Array2::from_shape_fn((p.len(), 3), |(i, k)| {
            f64::from(u8::from(p[i] == k))
        }));
        let value = |name: &str| {
            let m = metrics.iter().find(|m| m.name == name).unwrap();
            (m.compute)(&resample, &scores)
        };
        let expected = c["f1_macro_labels"].as_f64().unwrap();
        assert!(
            (value("f1_macro") - expected).abs() < 1e-12,
            "{}",
            value("f1_macro")
        );
        assert!(value("balanced_accuracy").is_nan());
    }
}
