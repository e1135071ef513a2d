//! The cross-transform disentanglement matrix in the report: per task,
//! encoder and layer, a factor × transform heatmap of
//! `degradation_<factor>_under_<transform>` with the value and its
//! interval written in each cell, and the cells whose transform changes
//! the factor itself marked as such.

use crate::heat::{shade, ORANGE};
use repbench_framework::record::ResultRecord;
use serde::Serialize;

/// Metric prefix of a degradation record.
const PREFIX: &str = "degradation_";
/// Separator between factor and transform kind in the metric name.
const UNDER: &str = "_under_";

/// One cell of a matrix.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    interval: String,
    /// Inline CSS: background shade by degradation, readable text colour.
    style: String,
    /// The transform changes this factor by declaration.
    alters: bool,
}

/// One factor's row: its clean probe score and its cells.
#[derive(Serialize)]
pub struct Row {
    factor: String,
    /// The factor's probe on clean test items, e.g. `accuracy 0.983 [0.950, 1.000]`.
    clean: String,
    /// Cells in transform order.
    cells: Vec<Option<Cell>>,
}

/// One factor × transform matrix.
#[derive(Serialize)]
pub struct Matrix {
    task: String,
    encoder: String,
    layer: String,
    transforms: Vec<String>,
    rows: Vec<Row>,
}

/// True for a record of cross-transform disentanglement other than its
/// summary: the only probe records a disentanglement task makes. The
/// matrix shows them; task tables leave them out.
pub fn is_cross_transform(r: &ResultRecord) -> bool {
    r.evaluator == "disentanglement" && r.probe.is_some()
}

/// `(factor, transform kind)` of a degradation record.
fn pair(r: &ResultRecord) -> Option<(&str, &str)> {
    if r.evaluator != "disentanglement" || r.perturbation != "none" {
        return None;
    }
    r.metric.strip_prefix(PREFIX)?.rsplit_once(UNDER)
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// Every matrix of `records`, in first-seen order of task and unit.
pub fn matrices(records: &[ResultRecord]) -> Vec<Matrix> {
    let points: Vec<(&ResultRecord, &str, &str)> = records
        .iter()
        .filter(|r| !r.metric.ends_with("_curve"))
        .filter_map(|r| pair(r).map(|(f, t)| (r, f, t)))
        .collect();
    let mut units: Vec<(String, String, String)> = Vec::new();
    for (r, _, _) in &points {
        let u = (r.task.clone(), r.encoder.clone(), r.layer.clone());
        if !units.contains(&u) {
            units.push(u);
        }
    }
    units
        .into_iter()
        .map(|(task, encoder, layer)| {
            let mine: Vec<&(&ResultRecord, &str, &str)> = points
                .iter()
                .filter(|(r, _, _)| r.task == task && r.encoder == encoder && r.layer == layer)
                .collect();
            let (mut factors, mut transforms) = (Vec::new(), Vec::new());
            for (_, f, t) in &mine {
                push_unique(&mut factors, f);
                push_unique(&mut transforms, t);
            }
            let rows = factors
                .into_iter()
                .map(|f| {
                    let cells = transforms
                        .iter()
                        .map(|t| {
                            mine.iter()
                                .find(|(_, rf, rt)| *rf == f && rt == t)
                                .map(|(r, _, _)| Cell {
                                    // Undefined: the clean score is not positive.
                                    value: if r.value.is_nan() {
                                        "undefined".into()
                                    } else {
                                        format!("{:.3}", r.value)
                                    },
                                    interval: if r.value.is_nan() {
                                        String::new()
                                    } else {
                                        format!("[{:.3}, {:.3}]", r.ci_low, r.ci_high)
                                    },
                                    style: shade(r.value, ORANGE),
                                    alters: r.params.contains_key("transform_alters_factor"),
                                })
                        })
                        .collect();
                    let clean = records
                        .iter()
                        .find(|r| {
                            is_cross_transform(r)
                                && r.perturbation == "none"
                                && r.task == task
                                && r.encoder == encoder
                                && r.layer == layer
                                && ["accuracy", "r2"]
                                    .iter()
                                    .any(|m| r.metric == format!("{m}_{f}"))
                        })
                        .map(|r| {
                            let metric = r.metric.strip_suffix(&format!("_{f}")).unwrap_or("");
                            format!(
                                "{metric} {:.3} [{:.3}, {:.3}]",
                                r.value, r.ci_low, r.ci_high
                            )
                        })
                        .unwrap_or_default();
                    Row {
                        factor: f,
                        clean,
                        cells,
                    }
                })
                .collect();
            Matrix {
                task,
                encoder,
                layer,
                transforms,
                rows,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rec(metric: &str, value: f64, alters: bool) -> ResultRecord {
        let mut r = ResultRecord {
            evaluator: "disentanglement".into(),
            task: "x".into(),
            metric: metric.into(),
            value,
            ci_low: value - 0.1,
            ci_high: value + 0.1,
            ..crate::tests::record("e", value)
        };
        if alters {
            r.params = BTreeMap::from([("transform_alters_factor".to_string(), 1.0)]);
        }
        r
    }

    #[test]
    fn factors_by_transforms_with_factor_names_that_contain_underscores() {
        let records = vec![
            rec("accuracy_pitch_class", 0.9, false),
            rec("degradation_pitch_class_under_pitch_shift", 0.8, true),
            rec("degradation_pitch_class_under_gain", 0.0, false),
            rec("degradation_instrument_under_gain", 0.25, false),
            rec("degradation_instrument_under_gain_curve", 0.3, false),
            rec("degradation_velocity_under_gain", f64::NAN, false),
            rec("mig", 0.4, false),
        ];
        let m = matrices(&records);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].transforms, ["pitch_shift", "gain"]);
        let factors: Vec<&str> = m[0].rows.iter().map(|r| r.factor.as_str()).collect();
        assert_eq!(factors, ["pitch_class", "instrument", "velocity"]);
        assert_eq!(m[0].rows[0].clean, "accuracy 0.900 [0.800, 1.000]");
        assert!(m[0].rows[1].clean.is_empty());
        let undefined = m[0].rows[2].cells[1].as_ref().unwrap();
        assert!(undefined.value == "undefined" && undefined.interval.is_empty());
        let cell = m[0].rows[0].cells[0].as_ref().unwrap();
        assert!(cell.alters && cell.value == "0.800");
        // instrument was not measured under pitch_shift.
        assert!(m[0].rows[1].cells[0].is_none());
        assert_eq!(
            m[0].rows[1].cells[1].as_ref().unwrap().interval,
            "[0.150, 0.350]"
        );
    }
}
