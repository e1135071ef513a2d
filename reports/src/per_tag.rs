//! Per-tag scores of multilabel tasks: per task and encoder (the layer and
//! probe chosen on validation, as in "Who wins"), each tag's ROC-AUC and
//! average precision over every test item, from the run's
//! `predictions.jsonl` — the table MagnaTagATune papers print, which
//! shows the tags an encoder misses behind a good macro average.

use crate::confusion::chosen_predictions;
use ndarray::Array2;
use repbench_framework::record::{PredictionRecord, ResultRecord};
use repbench_tasks::metrics::multilabel::per_label;
use repbench_tasks::targets::Targets;
use serde::Serialize;

/// One unit's per-tag table.
#[derive(Serialize)]
pub struct TagTable {
    task: String,
    encoder: String,
    layer: String,
    probe: String,
    /// Probe seeds averaged.
    seeds: usize,
    rows: Vec<TagRow>,
}

/// One tag.
#[derive(Serialize)]
pub struct TagRow {
    tag: String,
    /// Test items carrying it.
    positives: usize,
    roc_auc: String,
    average_precision: String,
}

/// Mean of the defined values ("–" when none is).
fn mean_text(values: &[Option<f64>]) -> String {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    if defined.is_empty() {
        "–".into()
    } else {
        format!("{:.3}", defined.iter().sum::<f64>() / defined.len() as f64)
    }
}

/// The tables of every multilabel task's representatives, in the order
/// of "Who wins"; units without tag predictions are left out.
pub fn tables(records: &[ResultRecord], predictions: &[PredictionRecord]) -> Vec<TagTable> {
    let mut out = Vec::new();
    for (r, probe, p) in chosen_predictions(records, predictions, "tags") {
        let exported = &p.predictions;
        let Ok(Targets::Tags { y, names }) =
            Targets::from_export(&exported.target, &exported.names, &exported.truth)
        else {
            continue;
        };
        let (n, k) = y.dim();
        // Per tag, its (ROC-AUC, AP) on each usable seed.
        let mut per_seed: Vec<Vec<(Option<f64>, Option<f64>)>> = Vec::new();
        for rows in &exported.scores {
            if rows.len() != n || rows.iter().any(|row| row.len() != k) {
                continue;
            }
            let scores = Array2::from_shape_fn((n, k), |(i, j)| rows[i][j]);
            per_seed.push(per_label(scores.view(), y.view()));
        }
        if per_seed.is_empty() {
            continue;
        }
        let rows = names
            .iter()
            .enumerate()
            .map(|(j, tag)| {
                let auc: Vec<Option<f64>> = per_seed.iter().map(|s| s[j].0).collect();
                let ap: Vec<Option<f64>> = per_seed.iter().map(|s| s[j].1).collect();
                TagRow {
                    tag: tag.clone(),
                    positives: y.column(j).iter().filter(|&&v| v > 0.5).count(),
                    roc_auc: mean_text(&auc),
                    average_precision: mean_text(&ap),
                }
            })
            .collect();
        out.push(TagTable {
            task: r.task.clone(),
            encoder: r.encoder.clone(),
            layer: r.layer.clone(),
            probe: probe.clone(),
            seeds: per_seed.len(),
            rows,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tag "rock" ranked perfectly (AUC 1, AP 1); "jazz" ranked worst
    /// (AUC 0; AP = 1/3 for its one positive, third of three); "vocal" has
    /// no positive item, so both its scores are undefined.
    #[test]
    fn scores_each_tag_of_the_chosen_unit() {
        let record = ResultRecord {
            dataset: "d".into(),
            metric: "roc_auc_macro".into(),
            ..crate::tests::record("logmel", 0.6)
        };
        let line = crate::tests::prediction_line(
            "tags",
            &["jazz", "rock", "vocal"],
            serde_json::json!([[1, 1, 0], [0, 0, 0], [0, 1, 0]]),
            vec![vec![
                vec![0.1, 0.9, 0.5],
                vec![0.8, 0.2, 0.5],
                vec![0.5, 0.7, 0.5],
            ]],
        );
        let t = tables(&[record], &[line]);
        assert_eq!(t.len(), 1);
        let cells: Vec<(&str, usize, &str, &str)> = t[0]
            .rows
            .iter()
            .map(|r| {
                (
                    r.tag.as_str(),
                    r.positives,
                    r.roc_auc.as_str(),
                    r.average_precision.as_str(),
                )
            })
            .collect();
        assert_eq!(
            cells,
            [
                ("jazz", 1, "0.000", "0.333"),
                ("rock", 2, "1.000", "1.000"),
                ("vocal", 0, "–", "–"),
            ]
        );
    }
}
