//! The terminal summary of a run: one line per task and encoder (the
//! primary metric of the layer and probe chosen on validation, as the
//! report's "who wins" table), one line
//! per task and perturbation sweep (nAUC per encoder), and the significant
//! comparisons. Every value is in `results.jsonl` and the report; this is
//! the answer at a glance.

use repbench_framework::record::{ComparisonRecord, ResultRecord};

/// Distinct values of `key` in first-seen order.
fn ordered(records: &[&ResultRecord], key: impl Fn(&ResultRecord) -> &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if !out.iter().any(|k| k == key(r)) {
            out.push(key(r).to_owned());
        }
    }
    out
}

fn interval(r: &ResultRecord) -> String {
    format!("{:.3} [{:.3}, {:.3}]", r.value, r.ci_low, r.ci_high)
}

/// The summary lines.
pub fn lines(records: &[ResultRecord], comparisons: &[ComparisonRecord]) -> Vec<String> {
    let mut out = vec![format!(
        "{:<16} {:<12} {:<10} {:<9} {:<20} {:>7}  95% CI",
        "task", "encoder", "layer", "probe", "metric", "value"
    )];
    // The report's rule: each encoder's primary metric for the layer and
    // probe it scores best with on validation.
    let representatives = repbench_reports::representatives(records);
    for r in &representatives {
        let sd = r
            .seed_sd
            .map(|sd| format!("  ± {sd:.3} over seeds"))
            .unwrap_or_default();
        out.push(format!(
            "{:<16} {:<12} {:<10} {:<9} {:<20} {:>7.3}  [{:.3}, {:.3}]{sd}",
            r.task,
            r.encoder,
            r.layer,
            r.probe.as_deref().unwrap_or("-"),
            r.metric,
            r.value,
            r.ci_low,
            r.ci_high
        ));
    }
    out.push(
        "(each encoder's layer and probe with the best validation score, primary metric; every value: results.jsonl and the report)".into(),
    );
    let nauc: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| r.metric.ends_with("_nauc") && r.severity.is_none())
        .filter(|r| {
            representatives.iter().any(|c| {
                c.task == r.task
                    && c.encoder == r.encoder
                    && c.layer == r.layer
                    && c.probe == r.probe
                    && r.metric == format!("{}_nauc", c.metric)
            })
        })
        .collect();
    if !nauc.is_empty() {
        let encoders = ordered(&nauc, |r| &r.encoder);
        out.push(String::new());
        out.push(format!(
            "robustness: nAUC of the primary metric over each sweep (1 = no loss)\n{:<16} {:<14} {}",
            "task",
            "perturbation",
            encoders
                .iter()
                .map(|e| format!("{e:<24}"))
                .collect::<String>()
                .trim_end()
        ));
        for task in ordered(&nauc, |r| &r.task) {
            let of_task: Vec<&ResultRecord> =
                nauc.iter().copied().filter(|r| r.task == *task).collect();
            for perturbation in ordered(&of_task, |r| &r.perturbation) {
                let cells: String = encoders
                    .iter()
                    .map(|e| {
                        of_task
                            .iter()
                            .find(|r| r.perturbation == *perturbation && r.encoder == *e)
                            .map_or_else(|| "–".into(), |r| interval(r))
                    })
                    .map(|c| format!("{c:<24}"))
                    .collect();
                out.push(
                    format!("{task:<16} {perturbation:<14} {cells}")
                        .trim_end()
                        .into(),
                );
            }
        }
    }
    out.extend(label_areas(records, &representatives));
    let significant: Vec<&ComparisonRecord> =
        comparisons.iter().filter(|c| c.p_holm < 0.05).collect();
    if !comparisons.is_empty() {
        out.push(format!(
            "\npaired comparisons: {} of {} differences significant at 5% after Holm correction per task (comparisons.jsonl)",
            significant.len(),
            comparisons.len()
        ));
        for c in significant {
            let k = &c.comparison;
            out.push(format!(
                "  {:<16} {} − {} ({}, {}): {:+.3} [{:+.3}, {:+.3}], p = {:.3}, Holm p = {:.3}",
                c.task,
                c.encoder_a,
                c.encoder_b,
                k.probe,
                k.metric,
                k.delta,
                k.ci_low,
                k.ci_high,
                k.p_value,
                c.p_holm
            ));
        }
    }
    out
}

/// One line per representative with a label-efficiency curve: the
/// normalised area of its primary metric over the label fractions.
fn label_areas(records: &[ResultRecord], representatives: &[&ResultRecord]) -> Vec<String> {
    let areas: Vec<(&ResultRecord, &ResultRecord)> = representatives
        .iter()
        .filter_map(|c| {
            let metric = format!("{}_auc", c.metric);
            records
                .iter()
                .find(|r| {
                    r.is_label_curve()
                        && r.task == c.task
                        && r.encoder == c.encoder
                        && r.layer == c.layer
                        && r.probe == c.probe
                        && r.metric == metric
                })
                .map(|r| (*c, r))
        })
        .collect();
    if areas.is_empty() {
        return Vec::new();
    }
    let mut out = vec![
        String::new(),
        "label efficiency: area under the primary metric against the fraction of training labels (log axis, normalised: its mean height)".into(),
    ];
    for (c, r) in areas {
        out.push(format!(
            "{:<16} {:<12} {:<10} {:<9} {:<20} {:>7.3}  [{:.3}, {:.3}]",
            c.task,
            c.encoder,
            c.layer,
            c.probe.as_deref().unwrap_or("-"),
            r.metric,
            r.value,
            r.ci_low,
            r.ci_high
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        encoder: &str,
        layer: &str,
        metric: &str,
        value: f64,
        valid: Option<f64>,
    ) -> ResultRecord {
        serde_json::from_value(serde_json::json!({
            "run_id": "r", "encoder": encoder, "layer": layer, "dataset": "d", "task": "pitch",
            "evaluator": "probe", "probe": "logistic", "perturbation": "none", "severity": null,
            "seed": 0, "metric": metric, "higher_is_better": true, "value": value,
            "ci_low": value - 0.1, "ci_high": value, "n": 10, "params": {}, "probe_seed": null,
            "seed_sd": null, "valid_score": valid, "embedding_key": "k", "config_hash": "h",
            "repbench_version": "0"
        }))
        .unwrap()
    }

    #[test]
    fn one_line_per_encoder_and_per_sweep() {
        let mut records = vec![
            record("deep", "1", "accuracy", 0.9, Some(0.6)),
            record("deep", "1", "f1_macro", 0.8, Some(0.6)),
            record("deep", "2", "accuracy", 0.95, Some(0.5)),
            record("flat", "0", "accuracy", 0.7, Some(0.7)),
        ];
        for (encoder, layer, value) in [("deep", "1", 0.8), ("deep", "2", 0.9), ("flat", "0", 0.6)]
        {
            let mut r = record(encoder, layer, "accuracy_nauc", value, None);
            r.perturbation = "noise".into();
            r.evaluator = "robustness".into();
            records.push(r);
            let mut drop = record(encoder, layer, "accuracy_drop", 0.1, None);
            drop.perturbation = "noise".into();
            drop.severity = Some(20.0);
            records.push(drop);
        }
        let text = lines(&records, &[]).join("\n");
        // deep is represented by layer 1 (validation 0.6), not layer 2
        // (better on test); one nAUC line with both encoders.
        assert!(text.contains("deep         1 "), "{text}");
        assert!(!text.contains("deep         2 "), "{text}");
        assert_eq!(text.matches("f1_macro").count(), 0, "{text}");
        let sweep: Vec<&str> = text.lines().filter(|l| l.contains("noise")).collect();
        assert_eq!(sweep.len(), 1, "{text}");
        assert!(
            sweep[0].contains("0.800 [0.700, 0.800]") && sweep[0].contains("0.600"),
            "{text}"
        );
    }

    #[test]
    fn the_label_curve_area_of_each_representative_gets_a_line() {
        let mut records = vec![
            record("deep", "1", "accuracy", 0.9, Some(0.6)),
            record("deep", "2", "accuracy", 0.95, Some(0.5)),
        ];
        for (layer, value) in [("1", 0.71), ("2", 0.52)] {
            let mut area = record("deep", layer, "accuracy_auc", value, Some(0.6));
            area.evaluator = "label_efficiency".into();
            records.push(area);
        }
        let text = lines(&records, &[]).join("\n");
        assert!(text.contains("label efficiency"), "{text}");
        assert!(
            text.contains("accuracy_auc") && text.contains("0.710"),
            "{text}"
        );
        assert!(
            !text.contains("0.520"),
            "only the layer chosen on validation: {text}"
        );
    }
}
