//! Label-efficiency curves in the report: per task and probe, the primary
//! metric against the fraction of training labels (log axis), one line per
//! encoder at its layer chosen on validation, with 95% bands, and a table
//! of each curve's normalised area.

use crate::answer::best_by_validation;
use crate::chart::{line_chart, Chart, Series, Size, Ticks, XAxis};
use repbench_framework::record::ResultRecord;
use repbench_framework::Result;
use serde::Serialize;

/// One task × probe: its chart and area table.
#[derive(Serialize)]
pub struct LabelCurve {
    title: String,
    svg: Option<String>,
    /// The smallest fraction on the curve, for the table's header.
    smallest_fraction: String,
    rows: Vec<AreaRow>,
}

/// One encoder's curve summarised.
#[derive(Serialize)]
struct AreaRow {
    encoder: String,
    layer: String,
    area: String,
    interval: String,
    smallest: String,
    full: String,
    best: bool,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Every label-efficiency curve of `records`, task by task in first-seen
/// order.
pub fn curves(records: &[ResultRecord]) -> Result<Vec<LabelCurve>> {
    let curve: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| r.is_label_curve() && r.perturbation == "none")
        .collect();
    let mut keys = Vec::new();
    for r in &curve {
        push_unique(
            &mut keys,
            &format!("{}\u{1f}{}", r.task, r.probe.clone().unwrap_or_default()),
        );
    }
    let mut out = Vec::new();
    for key in keys {
        let (task, probe) = key.split_once('\u{1f}').unwrap_or_default();
        let of_key: Vec<&ResultRecord> = curve
            .iter()
            .copied()
            .filter(|r| r.task == task && r.probe.as_deref().unwrap_or_default() == probe)
            .collect();
        // The primary metric: the first curve point's (the suite lists it
        // first).
        let Some(metric) = of_key
            .iter()
            .find(|r| r.params.contains_key("label_fraction"))
            .map(|r| r.metric.clone())
        else {
            continue;
        };
        out.push(one_curve(records, &of_key, task, probe, &metric)?);
    }
    Ok(out)
}

fn one_curve(
    records: &[ResultRecord],
    of_key: &[&ResultRecord],
    task: &str,
    probe: &str,
    metric: &str,
) -> Result<LabelCurve> {
    // Each encoder's full-data score at its layer chosen on validation:
    // the same rule as "who wins" and the comparisons.
    let full_scores = records.iter().filter(|r| {
        r.task == task
            && r.evaluator == "probe"
            && r.perturbation == "none"
            && r.probe_seed.is_none()
            && r.probe.as_deref().unwrap_or_default() == probe
            && r.metric == metric
    });
    let chosen = best_by_validation(full_scores, |r| r.encoder.clone(), |r| r);
    let auc_metric = format!("{metric}_auc");
    let mut series = Vec::new();
    let mut rows = Vec::new();
    let mut fractions: Vec<f64> = Vec::new();
    for full in &chosen {
        let same_unit = |r: &&&ResultRecord| r.encoder == full.encoder && r.layer == full.layer;
        let mut points: Vec<(f64, f64, f64, f64)> = of_key
            .iter()
            .filter(same_unit)
            .filter(|r| r.metric == metric)
            .filter_map(|r| {
                let f = *r.params.get("label_fraction")?;
                Some((f, r.value, r.ci_low, r.ci_high))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let smallest = points[0].1;
        points.push((1.0, full.value, full.ci_low, full.ci_high));
        points
            .iter()
            .for_each(|p| push_fraction(&mut fractions, p.0));
        let area = of_key
            .iter()
            .filter(same_unit)
            .find(|r| r.metric == auc_metric);
        rows.push(AreaRow {
            encoder: full.encoder.clone(),
            layer: full.layer.clone(),
            area: area.map_or_else(|| "–".into(), |a| fmt(a.value)),
            interval: area.map_or_else(String::new, |a| {
                format!("[{}, {}]", fmt(a.ci_low), fmt(a.ci_high))
            }),
            smallest: fmt(smallest),
            full: fmt(full.value),
            best: false,
        });
        series.push(Series {
            name: format!("{} / {}", full.encoder, full.layer),
            points,
            clean: None,
        });
    }
    let higher_is_better = chosen.first().is_none_or(|r| r.higher_is_better);
    mark_best(&mut rows, of_key, &auc_metric, higher_is_better);
    fractions.sort_by(f64::total_cmp);
    let smallest_fraction = fractions
        .first()
        .map_or_else(String::new, |f| format!("{f}"));
    let title = format!("{task}: {metric} by fraction of training labels ({probe} probe)");
    let chart = Chart {
        title: &title,
        x: &XAxis {
            label: "fraction of the training split's labels (log scale)".into(),
            log: true,
            ticks: Ticks::At(fractions),
        },
        y_label: metric,
        size: Size::Full,
    };
    Ok(LabelCurve {
        svg: line_chart(&chart, &series)?,
        title,
        smallest_fraction,
        rows,
    })
}

fn push_fraction(list: &mut Vec<f64>, f: f64) {
    if !list.contains(&f) {
        list.push(f);
    }
}

/// Marks the row with the best area (ties: every one of them).
fn mark_best(rows: &mut [AreaRow], of_key: &[&ResultRecord], auc: &str, higher: bool) {
    let value = |row: &AreaRow| {
        of_key
            .iter()
            .find(|r| r.encoder == row.encoder && r.layer == row.layer && r.metric == auc)
            .map(|r| r.value)
            .filter(|v| v.is_finite())
    };
    let best = rows
        .iter()
        .filter_map(value)
        .reduce(|a, b| if (b > a) == higher { b } else { a });
    if let Some(best) = best {
        for row in rows.iter_mut() {
            row.best = value(row) == Some(best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::record;
    use repbench_framework::record::LABEL_EFFICIENCY;
    use std::collections::BTreeMap;

    fn point(encoder: &str, fraction: f64, value: f64) -> ResultRecord {
        ResultRecord {
            evaluator: LABEL_EFFICIENCY.into(),
            params: BTreeMap::from([("label_fraction".to_string(), fraction)]),
            ..record(encoder, value)
        }
    }

    fn area(encoder: &str, value: f64) -> ResultRecord {
        ResultRecord {
            evaluator: LABEL_EFFICIENCY.into(),
            metric: "accuracy_auc".into(),
            ..record(encoder, value)
        }
    }

    /// Each encoder's curve ends at its own full-data score, the best
    /// area is marked, and the curve's records stay out of the task table.
    #[test]
    fn curves_end_at_the_full_score_and_mark_the_best_area() {
        let recs = vec![
            record("mfcc", 0.8),
            record("logmel", 0.9),
            point("mfcc", 0.1, 0.3),
            point("mfcc", 0.5, 0.6),
            area("mfcc", 0.5),
            point("logmel", 0.1, 0.5),
            point("logmel", 0.5, 0.8),
            area("logmel", 0.7),
        ];
        let curves = curves(&recs).unwrap();
        assert_eq!(curves.len(), 1);
        let c = &curves[0];
        assert!(c.svg.as_deref().is_some_and(|s| s.contains("<svg")));
        assert_eq!(c.smallest_fraction, "0.1");
        let row = |e: &str| c.rows.iter().find(|r| r.encoder == e).unwrap();
        assert_eq!(
            (row("mfcc").smallest.as_str(), row("mfcc").full.as_str()),
            ("0.300", "0.800")
        );
        assert!(row("logmel").best && !row("mfcc").best);
        let tables = crate::table::task_tables(&recs);
        assert!(
            tables
                .iter()
                .all(|t| serde_json::to_string(t).unwrap().matches("0.300").count() == 0),
            "curve points leak into the task table"
        );
    }
}
