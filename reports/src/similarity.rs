//! The similarity matrix in the report: per task, linear CKA between every
//! pair of encoder × layer units (records with a `versus_encoder`), as a
//! symmetric heatmap with the value and its interval in each cell.

use crate::heat::{shade, BLUE};
use repbench_framework::record::ResultRecord;
use serde::Serialize;

/// One cell.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    interval: String,
    style: String,
}

/// One task's matrix over its units (`encoder / layer`).
#[derive(Serialize)]
pub struct Matrix {
    task: String,
    metric: String,
    units: Vec<String>,
    /// Row-major cells; the diagonal is 1 by definition.
    rows: Vec<Vec<Option<Cell>>>,
}

fn unit(encoder: &str, layer: &str) -> String {
    if encoder == layer {
        encoder.to_string()
    } else {
        format!("{encoder} / {layer}")
    }
}

/// Every task's matrix, in first-seen order.
pub fn matrices(records: &[ResultRecord]) -> Vec<Matrix> {
    let pairs: Vec<(&ResultRecord, String, String)> = records
        .iter()
        .filter(|r| r.perturbation == "none")
        .filter_map(|r| {
            let other = unit(r.versus_encoder.as_deref()?, r.versus_layer.as_deref()?);
            Some((r, unit(&r.encoder, &r.layer), other))
        })
        .collect();
    let mut tasks: Vec<(&str, &str)> = Vec::new();
    for (r, _, _) in &pairs {
        if !tasks.contains(&(r.task.as_str(), r.metric.as_str())) {
            tasks.push((&r.task, &r.metric));
        }
    }
    tasks
        .into_iter()
        .map(|(task, metric)| {
            let mine: Vec<&(&ResultRecord, String, String)> = pairs
                .iter()
                .filter(|(r, _, _)| r.task == task && r.metric == metric)
                .collect();
            let mut units: Vec<String> = Vec::new();
            for (_, a, b) in &mine {
                for u in [a, b] {
                    if !units.contains(u) {
                        units.push(u.clone());
                    }
                }
            }
            let rows = units
                .iter()
                .map(|a| {
                    units
                        .iter()
                        .map(|b| {
                            if a == b {
                                return Some(Cell {
                                    value: "1".into(),
                                    interval: String::new(),
                                    style: shade(1.0, BLUE),
                                });
                            }
                            mine.iter()
                                .find(|(_, x, y)| (x == a && y == b) || (x == b && y == a))
                                .map(|(r, _, _)| Cell {
                                    value: format!("{:.2}", r.value),
                                    interval: format!("[{:.2}, {:.2}]", r.ci_low, r.ci_high),
                                    style: shade(r.value, BLUE),
                                })
                        })
                        .collect()
                })
                .collect();
            Matrix {
                task: task.to_string(),
                metric: metric.to_string(),
                units,
                rows,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: (&str, &str), b: (&str, &str), value: f64) -> ResultRecord {
        ResultRecord {
            evaluator: "similarity".into(),
            task: "geo".into(),
            metric: "linear_cka".into(),
            layer: a.1.into(),
            versus_encoder: Some(b.0.into()),
            versus_layer: Some(b.1.into()),
            ..crate::tests::record(a.0, value)
        }
    }

    #[test]
    fn a_symmetric_matrix_with_a_unit_diagonal() {
        let records = vec![
            crate::tests::record("m", 0.4),
            pair(("m", "l0"), ("m", "l1"), 0.8),
            pair(("m", "l0"), ("logmel", "logmel"), 0.3),
            pair(("m", "l1"), ("logmel", "logmel"), 0.5),
        ];
        let m = matrices(&records);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].units, ["m / l0", "m / l1", "logmel"]);
        let v = |i: usize, j: usize| m[0].rows[i][j].as_ref().unwrap().value.clone();
        assert_eq!(v(0, 0), "1");
        assert_eq!(v(0, 1), "0.80");
        assert_eq!(v(1, 0), "0.80");
        assert_eq!(v(2, 1), "0.50");
    }
}
