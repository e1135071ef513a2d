//! Multiclass metrics over class indices `0..n_classes`.

/// Per-class true positives, false positives and false negatives.
fn confusion_counts(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<(f64, f64, f64)> {
    let mut counts = vec![(0.0, 0.0, 0.0); n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if t == p {
            counts[t].0 += 1.0;
        } else {
            counts[p].1 += 1.0;
            counts[t].2 += 1.0;
        }
    }
    counts
}

/// Fraction of exact matches (`accuracy_score`). Empty input gives 0.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return 0.0;
    }
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    hits as f64 / y_true.len() as f64
}

/// Mean per-class recall over the classes present in `y_true`
/// (`balanced_accuracy_score`, Brodersen et al. 2010).
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = confusion_counts(y_true, y_pred, n_classes);
    let recalls: Vec<f64> = counts
        .iter()
        .filter(|(tp, _, fneg)| tp + fneg > 0.0)
        .map(|(tp, _, fneg)| tp / (tp + fneg))
        .collect();
    if recalls.is_empty() {
        return 0.0;
    }
    recalls.iter().sum::<f64>() / recalls.len() as f64
}

/// Per-class F1 `2TP / (2TP + FP + FN)` for the classes that occur in
/// `y_true` or `y_pred`, with their support in `y_true`.
fn f1_per_class(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<(f64, f64)> {
    confusion_counts(y_true, y_pred, n_classes)
        .into_iter()
        .filter(|(tp, fp, fneg)| tp + fp + fneg > 0.0)
        .map(|(tp, fp, fneg)| (2.0 * tp / (2.0 * tp + fp + fneg), tp + fneg))
        .collect()
}

/// Unweighted mean of per-class F1 over the classes in `y_true ∪ y_pred`
/// (`f1_score(average="macro")`; a class never predicted scores 0).
pub fn f1_macro(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let f1 = f1_per_class(y_true, y_pred, n_classes);
    if f1.is_empty() {
        return 0.0;
    }
    f1.iter().map(|(f, _)| f).sum::<f64>() / f1.len() as f64
}

/// Per-class F1 weighted by support in `y_true` (`f1_score(average="weighted")`).
pub fn f1_weighted(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let f1 = f1_per_class(y_true, y_pred, n_classes);
    let support: f64 = f1.iter().map(|(_, s)| s).sum();
    if support == 0.0 {
        return 0.0;
    }
    f1.iter().map(|(f, s)| f * s).sum::<f64>() / support
}

#[cfg(test)]
mod tests {
    use super::super::reference_cases;
    use super::*;
    use serde_json::Value;

    fn ints(v: &Value) -> Vec<usize> {
        serde_json::from_value(v.clone()).unwrap()
    }

    #[test]
    fn multiclass_metrics_equal_scikit_learn() {
        let cases = reference_cases("multiclass");
        assert!(!cases.is_empty());
        for case in cases {
            let (t, p) = (ints(&case["y_true"]), ints(&case["y_pred"]));
            let k = case["n_classes"].as_u64().unwrap() as usize;
            let e = &case["expected"];
            let close = |ours: f64, key: &str| {
                let theirs = e[key].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() < 1e-9,
                    "{key}: ours {ours}, sklearn {theirs}"
                );
            };
            close(accuracy(&t, &p), "accuracy");
            close(balanced_accuracy(&t, &p, k), "balanced_accuracy");
            close(f1_macro(&t, &p, k), "f1_macro");
            close(f1_weighted(&t, &p, k), "f1_weighted");
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(accuracy(&[], &[]), 0.0);
        // Class 2 only predicted, never true: it counts in macro-F1 with 0.
        assert!((f1_macro(&[0, 1], &[0, 2], 3) - (1.0 + 0.0 + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(balanced_accuracy(&[0, 0, 1], &[0, 0, 1], 2), 1.0);
    }
}
