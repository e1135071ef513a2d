//! The property profile: every encoder and layer's score on each property
//! the run measured — informativeness (probe and retrieval tasks),
//! invariance, equivariance, disentanglement, geometry — side by side,
//! with one plain-language reading per encoder (its validation-chosen
//! layer per task, as in "Who wins").

use crate::answer::{best_by_validation, representatives};
use crate::properties::is_curve_point;
use repbench_framework::record::ResultRecord;
use serde::Serialize;

/// The property a record measures, from its evaluator; `None` for drift
/// and anything else that is not a property of the clean representation.
fn property(evaluator: &str) -> Option<&'static str> {
    Some(match evaluator {
        "probe" | "retrieval" => "informativeness",
        "invariance" => "invariance",
        "equivariance" => "equivariance",
        "disentanglement" => "disentanglement",
        "geometry" => "geometry",
        _ => return None,
    })
}

/// The headline of cross-transform disentanglement (the tasks crate's
/// `cross_transform::SUMMARY_METRIC`).
const CROSS_TRANSFORM_SUMMARY: &str = "cross_transform_disentanglement";

const ORDER: [&str; 5] = [
    "informativeness",
    "invariance",
    "equivariance",
    "disentanglement",
    "geometry",
];

/// One column: a task's primary metric.
#[derive(Serialize)]
pub struct Column {
    property: &'static str,
    task: String,
    metric: String,
}

/// A cell: value and interval.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    interval: String,
    probe: String,
}

/// One encoder and layer.
#[derive(Serialize)]
pub struct Row {
    encoder: String,
    layer: String,
    cells: Vec<Option<Cell>>,
}

/// The profile table and its readings.
#[derive(Serialize)]
pub struct Profile {
    /// `(property, number of columns)` for the grouped header.
    groups: Vec<(&'static str, usize)>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    readings: Vec<String>,
}

fn clean(records: &[ResultRecord]) -> Vec<&ResultRecord> {
    records
        .iter()
        .filter(|r| {
            r.perturbation == "none"
                && r.probe_seed.is_none()
                && !is_curve_point(r)
                && property(&r.evaluator).is_some()
        })
        .collect()
}

/// What a score says, in words (thresholds stated in the report).
fn reading(property: &str, value: f64) -> &'static str {
    match property {
        _ if value.is_nan() => "undefined",
        "invariance" if value >= 0.9 => "largely invariant",
        "invariance" if value >= 0.5 => "partly invariant",
        "invariance" => "not invariant",
        "equivariance" if value >= 0.8 => "θ explains most of the move",
        "equivariance" if value >= 0.3 => "θ explains part of the move",
        "equivariance" => "θ adds little",
        _ => "",
    }
}

/// The profile, or `None` when the run measured fewer than two
/// properties (the task tables already say everything).
pub fn profile(records: &[ResultRecord]) -> Option<Profile> {
    let recs = clean(records);
    let mut columns: Vec<Column> = Vec::new();
    for p in ORDER {
        for r in recs.iter().filter(|r| property(&r.evaluator) == Some(p)) {
            // A task's first record carries its primary metric; a
            // disentanglement task with transforms adds its
            // cross-transform summary.
            let summary = r.metric == CROSS_TRANSFORM_SUMMARY;
            if !columns
                .iter()
                .any(|c| c.task == r.task && (!summary || c.metric == r.metric))
            {
                columns.push(Column {
                    property: p,
                    task: r.task.clone(),
                    metric: r.metric.clone(),
                });
            }
        }
    }
    let mut groups: Vec<(&'static str, usize)> = Vec::new();
    for c in &columns {
        match groups.last_mut() {
            Some((p, n)) if *p == c.property => *n += 1,
            _ => groups.push((c.property, 1)),
        }
    }
    if groups.len() < 2 {
        return None;
    }
    let mut units: Vec<(String, String)> = Vec::new();
    for r in &recs {
        let u = (r.encoder.clone(), r.layer.clone());
        if !units.contains(&u) {
            units.push(u);
        }
    }
    let rows = units
        .into_iter()
        .map(|(encoder, layer)| {
            let cells = columns
                .iter()
                .map(|c| {
                    let candidates = recs.iter().copied().filter(|r| {
                        r.task == c.task
                            && r.metric == c.metric
                            && r.encoder == encoder
                            && r.layer == layer
                    });
                    // Several probes: the one with the best validation score.
                    best_by_validation(candidates, |_| (), |r| *r)
                        .first()
                        .map(|r| Cell {
                            value: format!("{:.3}", r.value),
                            interval: format!("[{:.3}, {:.3}]", r.ci_low, r.ci_high),
                            probe: r.probe.clone().unwrap_or_default(),
                        })
                })
                .collect();
            Row {
                encoder,
                layer,
                cells,
            }
        })
        .collect();
    let reps = representatives(records);
    let mut encoders: Vec<&str> = Vec::new();
    for r in &recs {
        if !encoders.contains(&r.encoder.as_str()) {
            encoders.push(&r.encoder);
        }
    }
    let readings = encoders
        .into_iter()
        .filter_map(|e| {
            let parts: Vec<String> = columns
                .iter()
                .filter(|c| {
                    matches!(
                        c.property,
                        "informativeness" | "invariance" | "equivariance"
                    )
                })
                .filter_map(|c| {
                    let r = reps
                        .iter()
                        .find(|r| r.encoder == e && r.task == c.task && r.metric == c.metric)?;
                    let words = reading(c.property, r.value);
                    Some(if words.is_empty() {
                        format!("{} {:.3} on {} ({})", c.metric, r.value, c.task, r.layer)
                    } else {
                        format!(
                            "{} on {}: {:.3}, {words} ({})",
                            c.metric, c.task, r.value, r.layer
                        )
                    })
                })
                .collect();
            // Encoders with no reading (only descriptive columns) get no line.
            (!parts.is_empty()).then(|| format!("{e}: {}.", parts.join("; ")))
        })
        .collect();
    Some(Profile {
        groups,
        columns,
        rows,
        readings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(encoder: &str, evaluator: &str, task: &str, metric: &str, value: f64) -> ResultRecord {
        ResultRecord {
            evaluator: evaluator.into(),
            task: task.into(),
            metric: metric.into(),
            probe: (evaluator == "probe").then(|| "logistic".into()),
            valid_score: Some(value),
            ..crate::tests::record(encoder, value)
        }
    }

    #[test]
    fn properties_side_by_side_with_readings_and_nothing_for_one_property() {
        let records = vec![
            rec("a", "probe", "pitch", "accuracy", 0.9),
            rec("a", "invariance", "gain", "invariance", 0.95),
            rec("a", "invariance", "gain", "invariance_curve", 0.2),
            rec("b", "probe", "pitch", "accuracy", 0.7),
            rec("b", "invariance", "gain", "invariance", 0.4),
            rec("b", "equivariance", "shift", "equivariance", 0.85),
        ];
        let p = profile(&records).unwrap();
        assert_eq!(
            p.groups,
            [
                ("informativeness", 1),
                ("invariance", 1),
                ("equivariance", 1)
            ]
        );
        assert_eq!(p.rows.len(), 2);
        assert!(p.rows[0].cells[2].is_none(), "a has no equivariance");
        assert_eq!(p.rows[1].cells[1].as_ref().unwrap().value, "0.400");
        assert!(
            p.readings[0].contains("largely invariant"),
            "{:?}",
            p.readings
        );
        assert!(
            p.readings[1].contains("not invariant") && p.readings[1].contains("most of the move")
        );
        assert!(profile(&records[..1]).is_none());
    }

    /// Only descriptive and disentanglement columns: no reading line at all
    /// (it used to print "mfcc: ." for each encoder).
    #[test]
    fn encoders_without_readings_get_no_empty_line() {
        let records = vec![
            rec("mfcc", "disentanglement", "factors", "mig", 0.2),
            rec("mfcc", "geometry", "geometry", "rankme", 13.0),
        ];
        let p = profile(&records).unwrap();
        assert!(p.readings.is_empty(), "{:?}", p.readings);
    }

    /// A disentanglement task with transforms shows its axis-based
    /// headline and its cross-transform summary, not its other metrics.
    #[test]
    fn cross_transform_summary_is_a_second_disentanglement_column() {
        let records = vec![
            rec("a", "probe", "pitch", "accuracy", 0.9),
            rec("a", "disentanglement", "dis", "mig", 0.3),
            rec("a", "disentanglement", "dis", "sap", 0.2),
            rec(
                "a",
                "disentanglement",
                "dis",
                "degradation_pitch_under_gain",
                0.1,
            ),
            rec("a", "disentanglement", "dis", CROSS_TRANSFORM_SUMMARY, 0.8),
        ];
        let p = profile(&records).unwrap();
        let metrics: Vec<&str> = p.columns.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(metrics, ["accuracy", "mig", CROSS_TRANSFORM_SUMMARY]);
        assert_eq!(p.rows[0].cells[2].as_ref().unwrap().value, "0.800");
    }
}
