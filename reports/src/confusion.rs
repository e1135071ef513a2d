//! Confusion matrices of multiclass tasks: per task and encoder, the
//! layer and probe it is represented by (chosen on validation, as in "Who
//! wins"), counted from the run's `predictions.jsonl` over every test item
//! (true class × predicted class, the argmax of the scores; with several
//! probe seeds, the mean count per seed).

use crate::answer::representatives;
use crate::heat::{shade, BLUE};
use crate::leaderboard::PredictionKey;
use repbench_framework::record::{PredictionRecord, ResultRecord};
use repbench_tasks::targets::{Scores, Targets};
use serde::Serialize;
use std::collections::HashSet;

/// One confusion matrix.
#[derive(Serialize)]
pub struct Confusion {
    task: String,
    encoder: String,
    layer: String,
    probe: String,
    /// Class names, the order of rows and columns.
    classes: Vec<String>,
    rows: Vec<ConfusionRow>,
    /// Probe seeds pooled (counts are means per seed when above 1).
    seeds: usize,
}

/// One true class: its counts per predicted class and its scores.
#[derive(Serialize)]
pub struct ConfusionRow {
    class: String,
    cells: Vec<ConfusionCell>,
    /// Share of the class's items predicted as it ("–" without items).
    recall: String,
    /// Share of the items predicted as the class that are it ("–" when
    /// none is).
    precision: String,
    /// Harmonic mean of precision and recall ("–" where either is
    /// undefined; 0 when both are 0).
    f1: String,
    /// Test items of the class (mean per seed).
    support: String,
}

/// A count, shaded by its share of the row.
#[derive(Serialize)]
pub struct ConfusionCell {
    count: String,
    style: String,
}

/// The prediction lines the matrices need: each clean multiclass
/// representative's unit (run id as the label).
pub fn needed(records: &[ResultRecord]) -> HashSet<PredictionKey> {
    representatives(records)
        .into_iter()
        .filter(|r| r.evaluator == "probe")
        .filter_map(|r| {
            Some((
                r.run_id.clone(),
                r.dataset.clone(),
                r.task.clone(),
                r.encoder.clone(),
                r.layer.clone(),
                r.probe.clone()?,
            ))
        })
        .collect()
}

/// A count as shown: an integer, or one decimal for a mean over seeds.
fn count_text(c: f64) -> String {
    if c.fract() == 0.0 {
        format!("{c:.0}")
    } else {
        format!("{c:.1}")
    }
}

/// Recall and precision of a class from its correct count, its items and
/// the items predicted as it (scikit-learn's `classification_report`; NaN
/// where a denominator is 0).
fn per_class(correct: f64, items: f64, predicted: f64) -> (f64, f64) {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    (ratio(correct, items), ratio(correct, predicted))
}

/// F1 from precision and recall: NaN where either is undefined.
fn f1(precision: f64, recall: f64) -> f64 {
    if !(precision.is_finite() && recall.is_finite()) {
        f64::NAN
    } else if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

fn score_text(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Each representative of "Who wins" with its probe and its clean
/// prediction line of `target` (`classes`, `tags`), in that order;
/// representatives without such a line are left out.
pub(crate) fn chosen_predictions<'a>(
    records: &'a [ResultRecord],
    predictions: &'a [PredictionRecord],
    target: &str,
) -> Vec<(&'a ResultRecord, &'a String, &'a PredictionRecord)> {
    representatives(records)
        .into_iter()
        .filter_map(|r| {
            let probe = r.probe.as_ref()?;
            let p = predictions.iter().find(|p| {
                p.perturbation == "none"
                    && p.dataset == r.dataset
                    && p.task == r.task
                    && p.encoder == r.encoder
                    && p.layer == r.layer
                    && &p.predictions.probe == probe
                    && p.predictions.target == target
            })?;
            Some((r, probe, p))
        })
        .collect()
}

/// The matrices of every multiclass task's representatives, in the order
/// of "Who wins"; units without class predictions are left out.
pub fn matrices(records: &[ResultRecord], predictions: &[PredictionRecord]) -> Vec<Confusion> {
    let mut out = Vec::new();
    for (r, probe, p) in chosen_predictions(records, predictions, "classes") {
        let exported = &p.predictions;
        let Ok(Targets::Classes { y, names }) =
            Targets::from_export(&exported.target, &exported.names, &exported.truth)
        else {
            continue;
        };
        let k = names.len();
        let mut counts = vec![vec![0.0f64; k]; k];
        let mut usable = 0usize;
        for rows in &exported.scores {
            if rows.len() != y.len() || rows.iter().any(|row| row.len() != k) {
                continue;
            }
            let targets = Targets::Classes {
                y: y.clone(),
                names: names.clone(),
            };
            for (t, pred) in y.iter().zip(Scores::from_rows(&targets, rows).argmax()) {
                counts[*t][pred] += 1.0;
            }
            usable += 1;
        }
        if usable == 0 {
            continue;
        }
        let predicted: Vec<f64> = (0..k)
            .map(|c| counts.iter().map(|row| row[c]).sum())
            .collect();
        let rows = counts
            .iter()
            .enumerate()
            .map(|(t, row)| {
                let total: f64 = row.iter().sum();
                let (recall, precision) = per_class(row[t], total, predicted[t]);
                ConfusionRow {
                    class: names[t].clone(),
                    cells: row
                        .iter()
                        .map(|c| ConfusionCell {
                            count: count_text(c / usable as f64),
                            style: shade(if total > 0.0 { c / total } else { f64::NAN }, BLUE),
                        })
                        .collect(),
                    recall: score_text(recall),
                    precision: score_text(precision),
                    f1: score_text(f1(precision, recall)),
                    support: count_text(total / usable as f64),
                }
            })
            .collect();
        out.push(Confusion {
            task: r.task.clone(),
            encoder: r.encoder.clone(),
            layer: r.layer.clone(),
            probe: probe.clone(),
            classes: names,
            rows,
            seeds: usable,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Truth a a b b c, predicted a b b b a: the matrix counts each pair
    /// of (true, predicted) class; two identical seeds give the same means.
    #[test]
    fn counts_true_against_predicted_classes_of_the_chosen_unit() {
        let record = ResultRecord {
            dataset: "d".into(),
            ..crate::tests::record("logmel", 0.6)
        };
        let one_hot = |c: usize| (0..3).map(|j| f64::from(u8::from(j == c))).collect();
        let scores: Vec<Vec<f64>> = [0, 1, 1, 1, 0].into_iter().map(one_hot).collect();
        let line = crate::tests::prediction_line(
            "classes",
            &["a", "b", "c"],
            serde_json::json!([0, 0, 1, 1, 2]),
            vec![scores.clone(), scores],
        );
        assert!(needed(std::slice::from_ref(&record)).contains(&(
            "r-1".to_string(),
            "d".to_string(),
            "pitch".to_string(),
            "logmel".to_string(),
            "l".to_string(),
            "logistic".to_string()
        )));
        let m = matrices(&[record], &[line]);
        assert_eq!(m.len(), 1);
        let counts: Vec<Vec<&str>> = m[0]
            .rows
            .iter()
            .map(|r| r.cells.iter().map(|c| c.count.as_str()).collect())
            .collect();
        assert_eq!(counts, [["1", "1", "0"], ["0", "2", "0"], ["1", "0", "0"]]);
        let recall: Vec<&str> = m[0].rows.iter().map(|r| r.recall.as_str()).collect();
        assert_eq!(recall, ["0.500", "1.000", "0.000"]);
        // a: 1 of 2 predicted a are a; b: 2 of 3; nothing is predicted c,
        // so c's precision and F1 are undefined, not 0.
        let column = |f: fn(&ConfusionRow) -> &str| -> Vec<String> {
            m[0].rows.iter().map(|r| f(r).to_string()).collect()
        };
        assert_eq!(column(|r| &r.precision), ["0.500", "0.667", "–"]);
        assert_eq!(column(|r| &r.f1), ["0.500", "0.800", "–"]);
        assert_eq!(column(|r| &r.support), ["2", "2", "1"]);
        assert_eq!(f1(0.0, 0.0), 0.0);
        assert_eq!(m[0].seeds, 2);
        assert_eq!(count_text(0.5), "0.5");
    }
}
