//! DCI importance heatmaps (Eastwood & Williams, 2018): per disentanglement
//! task and encoder, the share of all importance each code holds for each
//! factor, from the run's `matrices.jsonl`, for the encoder's first layer
//! (the layer "Who wins" shows for scores of the whole set).

use crate::heat::{shade, BLUE};
use repbench_framework::record::MatrixRecord;
use serde::Serialize;

/// One encoder's importance heatmap.
#[derive(Serialize)]
pub struct ImportanceMap {
    task: String,
    encoder: String,
    layer: String,
    columns: Vec<String>,
    rows: Vec<ImportanceRow>,
    /// "16 of 1024 codes hold 87.0 % of the importance".
    summary: String,
    /// Train items the Lassos were fitted on.
    n: usize,
}

/// One factor.
#[derive(Serialize)]
pub struct ImportanceRow {
    factor: String,
    cells: Vec<ImportanceCell>,
}

/// One share with its interval, shaded relative to the matrix's largest.
#[derive(Serialize)]
pub struct ImportanceCell {
    value: String,
    interval: String,
    style: String,
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// The heatmaps of every task's encoders, in the run's order; each
/// encoder's first layer only.
pub fn maps(matrices: &[MatrixRecord]) -> Vec<ImportanceMap> {
    let mut out: Vec<ImportanceMap> = Vec::new();
    for m in matrices
        .iter()
        .filter(|m| m.matrix.name == "dci_importance")
    {
        if out
            .iter()
            .any(|o| o.task == m.task && o.encoder == m.encoder)
        {
            continue;
        }
        let cells = &m.matrix.cells;
        if cells.len() != m.matrix.rows.len()
            || cells
                .iter()
                .any(|row| row.len() != m.matrix.columns.len() || row.iter().any(|c| c.len() != 3))
        {
            continue;
        }
        let largest = cells
            .iter()
            .flatten()
            .map(|c| c[0])
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let rows = m
            .matrix
            .rows
            .iter()
            .zip(cells)
            .map(|(factor, row)| ImportanceRow {
                factor: factor.clone(),
                cells: row
                    .iter()
                    .map(|c| ImportanceCell {
                        value: number(c[0]),
                        interval: format!("[{}, {}]", number(c[1]), number(c[2])),
                        style: shade(
                            if largest > 0.0 {
                                c[0] / largest
                            } else {
                                f64::NAN
                            },
                            BLUE,
                        ),
                    })
                    .collect(),
            })
            .collect();
        let codes = m.matrix.params.get("codes").copied().unwrap_or(f64::NAN);
        let share = m
            .matrix
            .params
            .get("shown_share")
            .copied()
            .unwrap_or(f64::NAN);
        let shown = m
            .matrix
            .columns
            .iter()
            .filter(|c| !c.starts_with("other "))
            .count();
        let summary = if share.is_finite() && codes.is_finite() {
            format!(
                "{shown} of {codes:.0} codes hold {:.1} % of the importance",
                100.0 * share
            )
        } else {
            "no code is important for any factor (DCI undefined)".into()
        };
        out.push(ImportanceMap {
            task: m.task.clone(),
            encoder: m.encoder.clone(),
            layer: m.layer.clone(),
            columns: m.matrix.columns.clone(),
            rows,
            summary,
            n: m.matrix.n,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::record::UnitMatrix;
    use std::collections::BTreeMap;

    fn record(encoder: &str, layer: &str, top: f64) -> MatrixRecord {
        MatrixRecord {
            run_id: "r".into(),
            dataset: "d".into(),
            task: "factors".into(),
            encoder: encoder.into(),
            layer: layer.into(),
            implementation: "disentanglement-evaluator/6".into(),
            matrix: UnitMatrix {
                name: "dci_importance".into(),
                rows: vec!["pitch".into(), "velocity".into()],
                columns: vec!["dim 3".into(), "dim 0".into(), "other 30 codes".into()],
                cells: vec![
                    vec![
                        vec![top, 0.4, 0.6],
                        vec![0.0, 0.0, 0.01],
                        vec![0.05, 0.02, 0.1],
                    ],
                    vec![vec![0.0, 0.0, 0.0], vec![0.2, 0.1, 0.3], vec![f64::NAN; 3]],
                ],
                params: BTreeMap::from([
                    ("codes".to_string(), 32.0),
                    ("shown_share".to_string(), 0.75),
                ]),
                n: 40,
            },
        }
    }

    #[test]
    fn first_layer_per_encoder_shaded_by_the_largest_share() {
        let m = maps(&[
            record("mfcc", "mfcc", 0.5),
            record("net", "block0", 0.5),
            record("net", "block1", 0.9),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].layer, "block0", "the first layer, as Who wins shows");
        assert_eq!(m[0].summary, "2 of 32 codes hold 75.0 % of the importance");
        let top = &m[0].rows[0].cells[0];
        assert_eq!(
            (top.value.as_str(), top.interval.as_str()),
            ("0.500", "[0.400, 0.600]")
        );
        assert_eq!(top.style, shade(1.0, BLUE));
        assert_eq!(m[0].rows[1].cells[2].value, "–");
    }

    #[test]
    fn malformed_matrices_are_left_out() {
        let mut bad = record("mfcc", "mfcc", 0.5);
        bad.matrix.cells.pop();
        let mut other = record("mfcc", "mfcc", 0.5);
        other.matrix.name = "something_else".into();
        assert!(maps(&[bad, other]).is_empty());
    }
}
