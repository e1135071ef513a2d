//! Multiclass metrics over class indices.
//!
//! Undefined values are NaN (an empty input; a class of the averaging set
//! with no true item, for balanced accuracy). Arguments of different
//! lengths are a caller's bug and panic with a message.

/// Panics unless `y_true` and `y_pred` have the same length.
pub(crate) fn same_length(metric: &str, y_true: usize, y_pred: usize) {
    assert_eq!(
        y_true, y_pred,
        "{metric}: {y_true} true values but {y_pred} predictions"
    );
}

/// True positives, false positives and false negatives of `class`.
fn counts(y_true: &[usize], y_pred: &[usize], class: usize) -> (f64, f64, f64) {
    let mut c = (0.0, 0.0, 0.0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        match (t == class, p == class) {
            (true, true) => c.0 += 1.0,
            (false, true) => c.1 += 1.0,
            (true, false) => c.2 += 1.0,
            (false, false) => {}
        }
    }
    c
}

/// The sorted distinct classes of `y`: applied to the whole test split's
/// truth, the averaging set of `balanced_accuracy` and `f1_macro`, fixed
/// once and reused on every bootstrap resample and for every encoder. For
/// balanced accuracy it is scikit-learn's default; for macro-F1 it is
/// `labels=` those classes (scikit-learn's default would add the classes
/// an encoder predicts, so two encoders could average over different
/// sets).
pub fn classes_of(y: &[usize]) -> Vec<usize> {
    let mut c = y.to_vec();
    c.sort_unstable();
    c.dedup();
    c
}

/// Fraction of exact matches (`accuracy_score`); NaN for empty input.
///
/// # Panics
/// If the lengths differ.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    same_length("accuracy", y_true.len(), y_pred.len());
    if y_true.is_empty() {
        return f64::NAN;
    }
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    hits as f64 / y_true.len() as f64
}

/// Mean per-class recall over `classes` (Brodersen et al. 2010; equals
/// `balanced_accuracy_score` when `classes` are those of `y_true`). NaN
/// when `classes` is empty or one of them has no true item: its recall is
/// undefined, and averaging over fewer classes would change what is
/// measured from one bootstrap resample to the next.
///
/// # Panics
/// If the lengths differ.
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], classes: &[usize]) -> f64 {
    same_length("balanced_accuracy", y_true.len(), y_pred.len());
    if classes.is_empty() {
        return f64::NAN;
    }
    let mut sum = 0.0;
    for &c in classes {
        let (tp, _, fneg) = counts(y_true, y_pred, c);
        if tp + fneg == 0.0 {
            return f64::NAN;
        }
        sum += tp / (tp + fneg);
    }
    sum / classes.len() as f64
}

/// Unweighted mean of per-class F1 `2TP / (2TP + FP + FN)` over `classes`,
/// a class with no true and no predicted item scoring 0:
/// `f1_score(y_true, y_pred, labels=classes, average="macro",
/// zero_division=0)`. NaN when `classes` is empty.
///
/// # Panics
/// If the lengths differ.
pub fn f1_macro(y_true: &[usize], y_pred: &[usize], classes: &[usize]) -> f64 {
    same_length("f1_macro", y_true.len(), y_pred.len());
    if classes.is_empty() {
        return f64::NAN;
    }
    classes
        .iter()
        .map(|&c| {
            let (tp, fp, fneg) = counts(y_true, y_pred, c);
            if tp + fp + fneg == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fneg)
            }
        })
        .sum::<f64>()
        / classes.len() as f64
}

/// Per-class F1 weighted by support in `y_true`, over the classes of
/// `y_true` (`f1_score(average="weighted")`); NaN for empty input.
///
/// # Panics
/// If the lengths differ.
pub fn f1_weighted(y_true: &[usize], y_pred: &[usize]) -> f64 {
    same_length("f1_weighted", y_true.len(), y_pred.len());
    if y_true.is_empty() {
        return f64::NAN;
    }
    classes_of(y_true)
        .into_iter()
        .map(|c| {
            let (tp, fp, fneg) = counts(y_true, y_pred, c);
            (tp + fneg) * 2.0 * tp / (2.0 * tp + fp + fneg)
        })
        .sum::<f64>()
        / y_true.len() as f64
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
            let _ = k;
            // scikit-learn's defaults average over the classes of y_true
            // (balanced accuracy) and of y_true ∪ y_pred (macro F1).
            let union = classes_of(&[t.clone(), p.clone()].concat());
            close(accuracy(&t, &p), "accuracy");
            close(
                balanced_accuracy(&t, &p, &classes_of(&t)),
                "balanced_accuracy",
            );
            close(f1_macro(&t, &p, &union), "f1_macro");
            close(f1_weighted(&t, &p), "f1_weighted");
        }
    }

    #[test]
    fn undefined_is_nan_and_the_class_set_is_fixed() {
        assert!(accuracy(&[], &[]).is_nan());
        assert!(f1_weighted(&[], &[]).is_nan());
        assert!(f1_macro(&[], &[], &[]).is_nan());
        // Class 2 only predicted, never true: it counts in macro-F1 with 0.
        assert!((f1_macro(&[0, 1], &[0, 2], &[0, 1, 2]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(balanced_accuracy(&[0, 0, 1], &[0, 0, 1], &[0, 1]), 1.0);
        // A resample that lost class 1 keeps averaging over {0, 1, 2}:
        // macro-F1 counts the missing class as 0 (scikit-learn's
        // `labels=`), balanced accuracy is undefined.
        let (t, p) = ([0, 0, 2, 2], [0, 0, 2, 1]);
        let f1_2 = 2.0 / 3.0;
        assert!((f1_macro(&t, &p, &[0, 1, 2]) - (1.0 + 0.0 + f1_2) / 3.0).abs() < 1e-12);
        assert!(balanced_accuracy(&t, &p, &[0, 1, 2]).is_nan());
        assert!((balanced_accuracy(&t, &p, &[0, 2]) - 0.75).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "accuracy: 2 true values but 1 predictions")]
    fn mismatched_lengths_are_an_error_not_a_truncation() {
        accuracy(&[0, 1], &[0]);
    }
}
