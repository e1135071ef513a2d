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

fn classes(t: &Targets) -> (&[usize], usize) {
    match t {
        Targets::Classes { y, names } => (y, names.len()),
        _ => (&[], 0),
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
/// Multiclass targets whose class names all parse as keys ("C major",
/// "A minor", …) also get the MIREX weighted key score.
pub fn metrics_for(targets: &Targets) -> Vec<Metric> {
    match targets {
        Targets::Classes { names, .. } => {
            let mut out = vec![
                metric("accuracy", |t, s| cls::accuracy(classes(t).0, &s.argmax())),
                metric("balanced_accuracy", |t, s| {
                    let (y, k) = classes(t);
                    cls::balanced_accuracy(y, &s.argmax(), k)
                }),
                metric("f1_macro", |t, s| {
                    let (y, k) = classes(t);
                    cls::f1_macro(y, &s.argmax(), k)
                }),
            ];
            let keys: Option<Vec<Key>> = names.iter().map(|n| Key::parse(n)).collect();
            if let Some(keys) = keys {
                out.push(metric("mirex_key_weighted", move |t, s| {
                    let reference: Vec<Key> = classes(t).0.iter().map(|&c| keys[c]).collect();
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
