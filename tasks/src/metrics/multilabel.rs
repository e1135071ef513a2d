//! Multilabel metrics over a score matrix `(items, labels)` and a 0/1 truth
//! matrix of the same shape.
//!
//! Labels without both a positive and a negative item (ROC-AUC) or without
//! a positive (AP) are undefined for that label; macro averages skip them,
//! as they would on a bootstrap resample that happens to miss a rare tag.

use ndarray::{ArrayView1, ArrayView2};

/// Pairs `(score, is_positive)` sorted by descending score.
fn ranked(
    scores: impl Iterator<Item = f64>,
    truth: impl Iterator<Item = bool>,
) -> Vec<(f64, bool)> {
    let mut pairs: Vec<(f64, bool)> = scores.zip(truth).collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    pairs
}

/// Area under the ROC curve of one binary problem, with tied scores
/// counted as half (equivalently the Mann–Whitney U statistic / (P·N);
/// Hanley & McNeil 1982; sklearn `roc_auc_score`). `None` when all items
/// are of one class.
pub fn roc_auc_binary(pairs: &[(f64, bool)]) -> Option<f64> {
    let pos = pairs.iter().filter(|p| p.1).count() as f64;
    let neg = pairs.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    // Walk from the highest score down; for every positive, count the
    // negatives ranked strictly below it plus half the tied negatives.
    let mut negatives_above = 0.0;
    let mut area = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        let (mut p_tie, mut n_tie) = (0.0, 0.0);
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            if pairs[j].1 {
                p_tie += 1.0;
            } else {
                n_tie += 1.0;
            }
            j += 1;
        }
        area += p_tie * (neg - negatives_above - n_tie) + 0.5 * p_tie * n_tie;
        negatives_above += n_tie;
        i = j;
    }
    Some(area / (pos * neg))
}

/// Average precision of one binary problem: `Σ (R_n − R_{n−1}) P_n` over
/// distinct score thresholds in descending order (sklearn
/// `average_precision_score`, no interpolation). `None` without positives.
pub fn average_precision_binary(pairs: &[(f64, bool)]) -> Option<f64> {
    let pos = pairs.iter().filter(|p| p.1).count() as f64;
    if pos == 0.0 {
        return None;
    }
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            if pairs[j].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        let recall = tp / pos;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
        i = j;
    }
    Some(ap)
}

/// Panics unless scores and truth have the same shape (a caller's bug).
fn same_shape(scores: ArrayView2<f64>, truth: ArrayView2<f64>) {
    assert_eq!(
        scores.dim(),
        truth.dim(),
        "multilabel metric: scores {:?} but truth {:?}",
        scores.dim(),
        truth.dim()
    );
}

fn column_pairs(scores: ArrayView1<f64>, truth: ArrayView1<f64>) -> Vec<(f64, bool)> {
    ranked(scores.iter().copied(), truth.iter().map(|&t| t > 0.5))
}

fn macro_average(
    scores: ArrayView2<f64>,
    truth: ArrayView2<f64>,
    f: fn(&[(f64, bool)]) -> Option<f64>,
) -> f64 {
    same_shape(scores, truth);
    let values: Vec<f64> = (0..scores.ncols())
        .filter_map(|c| f(&column_pairs(scores.column(c), truth.column(c))))
        .collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

fn micro(
    scores: ArrayView2<f64>,
    truth: ArrayView2<f64>,
    f: fn(&[(f64, bool)]) -> Option<f64>,
) -> f64 {
    same_shape(scores, truth);
    let pairs = ranked(scores.iter().copied(), truth.iter().map(|&t| t > 0.5));
    f(&pairs).unwrap_or(f64::NAN)
}

/// Per label, its ROC-AUC and average precision (`roc_auc_score` and
/// `average_precision_score` with `average=None`); `None` where undefined
/// (no positive, or no negative for ROC-AUC). Their defined values'
/// means are the macro averages.
pub fn per_label(
    scores: ArrayView2<f64>,
    truth: ArrayView2<f64>,
) -> Vec<(Option<f64>, Option<f64>)> {
    same_shape(scores, truth);
    (0..scores.ncols())
        .map(|c| {
            let pairs = column_pairs(scores.column(c), truth.column(c));
            (roc_auc_binary(&pairs), average_precision_binary(&pairs))
        })
        .collect()
}

/// Mean per-label ROC-AUC (`roc_auc_score(average="macro")`).
pub fn roc_auc_macro(scores: ArrayView2<f64>, truth: ArrayView2<f64>) -> f64 {
    macro_average(scores, truth, roc_auc_binary)
}

/// ROC-AUC of all (item, label) pairs pooled (`average="micro"`).
pub fn roc_auc_micro(scores: ArrayView2<f64>, truth: ArrayView2<f64>) -> f64 {
    micro(scores, truth, roc_auc_binary)
}

/// Mean per-label average precision (`average_precision_score(average="macro")`).
pub fn average_precision_macro(scores: ArrayView2<f64>, truth: ArrayView2<f64>) -> f64 {
    macro_average(scores, truth, average_precision_binary)
}

/// Average precision of all (item, label) pairs pooled (`average="micro"`).
pub fn average_precision_micro(scores: ArrayView2<f64>, truth: ArrayView2<f64>) -> f64 {
    micro(scores, truth, average_precision_binary)
}

#[cfg(test)]
mod tests {
    use super::super::reference_cases;
    use super::*;
    use ndarray::Array2;

    fn matrix(v: &serde_json::Value) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let (r, c) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((r, c), rows.into_iter().flatten().collect()).unwrap()
    }

    #[test]
    fn multilabel_metrics_equal_scikit_learn() {
        let cases = reference_cases("multilabel");
        assert!(!cases.is_empty());
        for case in cases {
            let (t, s) = (matrix(&case["y_true"]), matrix(&case["y_score"]));
            let e = &case["expected"];
            for (key, ours) in [
                ("roc_auc_macro", roc_auc_macro(s.view(), t.view())),
                ("roc_auc_micro", roc_auc_micro(s.view(), t.view())),
                (
                    "average_precision_macro",
                    average_precision_macro(s.view(), t.view()),
                ),
                (
                    "average_precision_micro",
                    average_precision_micro(s.view(), t.view()),
                ),
            ] {
                let theirs = e[key].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() < 1e-9,
                    "{key}: ours {ours}, sklearn {theirs}"
                );
            }
        }
    }

    /// Per-label values average to the macro scores checked against
    /// scikit-learn above.
    #[test]
    fn per_label_values_average_to_the_macro_scores() {
        for case in reference_cases("multilabel") {
            let (t, s) = (matrix(&case["y_true"]), matrix(&case["y_score"]));
            let labels = per_label(s.view(), t.view());
            assert_eq!(labels.len(), t.ncols());
            let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
            let auc = mean(labels.iter().filter_map(|l| l.0).collect());
            let ap = mean(labels.iter().filter_map(|l| l.1).collect());
            assert!((auc - roc_auc_macro(s.view(), t.view())).abs() < 1e-12);
            assert!((ap - average_precision_macro(s.view(), t.view())).abs() < 1e-12);
        }
    }

    #[test]
    fn ties_and_degenerate_labels() {
        // All scores tied: AUC is 0.5; AP is the positive rate.
        let pairs = [(1.0, true), (1.0, false), (1.0, false), (1.0, true)];
        assert_eq!(roc_auc_binary(&pairs), Some(0.5));
        assert_eq!(average_precision_binary(&pairs), Some(0.5));
        assert_eq!(roc_auc_binary(&[(0.3, true)]), None);
        assert_eq!(average_precision_binary(&[(0.3, false)]), None);
    }
}
