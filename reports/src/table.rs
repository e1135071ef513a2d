//! Arranges result records into one table per task for the template.

use repbench_framework::bootstrap::holm;
use repbench_framework::record::{ComparisonRecord, ResultRecord};
use serde::Serialize;

/// One metric cell: value, interval and bar geometry.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    low: String,
    high: String,
    /// `± sd` over probe seeds, when several were trained.
    sd: Option<String>,
    /// Bars are drawn for scores on [0, 1] only.
    bar: bool,
    value_pct: f64,
    low_pct: f64,
    width_pct: f64,
    best: bool,
}

/// One (encoder, layer, probe) row.
#[derive(Serialize)]
pub struct Row {
    encoder: String,
    layer: String,
    probe: String,
    cells: Vec<Option<Cell>>,
    /// Warnings a reader needs beside the numbers (grid edge, features
    /// constant on train, undefined resamples).
    flags: Vec<String>,
}

/// Plain-language warnings from a row's records.
fn flags(recs: &[&&ResultRecord]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(first) = recs.first() else {
        return out;
    };
    for (key, value) in &first.params {
        if let Some(name) = key.strip_suffix("_at_grid_edge") {
            out.push(format!(
                "{name} = {} is at the edge of its grid even after extending it: the best value may lie beyond",
                first.params.get(name).map_or(String::from("?"), |v| format!("{v}"))
            ));
        }
        if key == "max_iter_reached" {
            out.push(
                "the probe stopped at max_iter before its tolerance (scikit-learn would warn ConvergenceWarning); raise max_iter".into(),
            );
        }
        if key == "peaked_layer" {
            out.push(format!(
                "{:.0}% of this layer's test variance lies in features constant on the train items (a sharply peaked layer, e.g. a pitch activation): maps and probes fitted on train cannot read it; try normalization = \"unit_norm\" or a split whose train items cover the factor's values",
                100.0 * first.params.get("test_energy_outside_train").copied().unwrap_or(f64::NAN)
            ));
        }
        if key == "collapsed" {
            out.push(
                "every test item has the same embedding: invariance is undefined (a collapsed representation is not invariant)".into(),
            );
        }
        if key == "near_constant_features" {
            out.push(format!(
                "{value} feature(s) constant on the train split were set to 0 (they would blow up on unseen items)"
            ));
        }
    }
    let undefined = recs
        .iter()
        .map(|r| r.undefined_resamples)
        .max()
        .unwrap_or(0);
    if undefined > 0 {
        out.push(format!(
            "up to {undefined} bootstrap resample(s) left a metric undefined and were left out of its interval"
        ));
    }
    out
}

/// One task's table.
#[derive(Serialize)]
pub struct TaskTable {
    name: String,
    dataset: String,
    n: usize,
    /// What `n` counts: test items, or test users of a recommendation task.
    counted: &'static str,
    /// The heading of the column that names a row's probe (a
    /// recommendation task's rows are models).
    probe_heading: &'static str,
    metrics: Vec<String>,
    rows: Vec<Row>,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// Groups clean (unperturbed) summary records by task, in first-seen order
/// (per-seed rows stay in `results.jsonl`; the mean row carries ± sd).
pub fn task_tables(records: &[ResultRecord]) -> Vec<TaskTable> {
    let clean: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| {
            r.perturbation == "none"
                && r.probe_seed.is_none()
                && !crate::properties::is_curve_point(r)
                && !r.is_pairwise()
                && !r.is_label_curve()
                && !crate::cross::is_cross_transform(r)
        })
        .collect();
    let mut task_names = Vec::new();
    for r in &clean {
        push_unique(&mut task_names, &r.task);
    }
    task_names
        .iter()
        .map(|task| {
            let recs: Vec<&&ResultRecord> = clean.iter().filter(|r| &r.task == task).collect();
            let mut metrics = Vec::new();
            let mut row_keys: Vec<(String, String, String)> = Vec::new();
            for r in &recs {
                push_unique(&mut metrics, &r.metric);
                let key = (
                    r.encoder.clone(),
                    r.layer.clone(),
                    r.probe.clone().unwrap_or_default(),
                );
                if !row_keys.contains(&key) {
                    row_keys.push(key);
                }
            }
            let best: Vec<f64> = metrics
                .iter()
                .map(|m| {
                    let values = recs.iter().filter(|r| &r.metric == m);
                    if values.clone().all(|r| r.higher_is_better) {
                        values.map(|r| r.value).fold(f64::NEG_INFINITY, f64::max)
                    } else {
                        values.map(|r| r.value).fold(f64::INFINITY, f64::min)
                    }
                })
                .collect();
            let rows = row_keys
                .into_iter()
                .map(|(encoder, layer, probe)| {
                    let row_recs: Vec<&&ResultRecord> = recs
                        .iter()
                        .copied()
                        .filter(|r| {
                            r.encoder == encoder
                                && r.layer == layer
                                && r.probe.clone().unwrap_or_default() == probe
                        })
                        .collect();
                    let cells = metrics
                        .iter()
                        .zip(&best)
                        .map(|(m, &best)| {
                            recs.iter()
                                .find(|r| {
                                    &r.metric == m
                                        && r.encoder == encoder
                                        && r.layer == layer
                                        && r.probe.clone().unwrap_or_default() == probe
                                })
                                .map(|r| cell(r, best))
                        })
                        .collect();
                    Row {
                        flags: flags(&row_recs),
                        encoder,
                        layer,
                        probe,
                        cells,
                    }
                })
                .collect();
            let recommends = recs.iter().any(|r| r.evaluator == "recommendation");
            TaskTable {
                name: task.clone(),
                dataset: recs.first().map(|r| r.dataset.clone()).unwrap_or_default(),
                n: recs.first().map_or(0, |r| r.n),
                counted: if recommends {
                    "test users"
                } else {
                    "test items"
                },
                probe_heading: if recommends { "model" } else { "probe" },
                metrics,
                rows,
            }
        })
        .collect()
}

fn cell(r: &ResultRecord, best: f64) -> Cell {
    let pct = |v: f64| (v.clamp(0.0, 1.0) * 1000.0).round() / 10.0;
    Cell {
        value: format!("{:.3}", r.value),
        low: format!("{:.3}", r.ci_low),
        high: format!("{:.3}", r.ci_high),
        sd: r.seed_sd.map(|sd| format!("{sd:.3}")),
        bar: r.higher_is_better && r.ci_low >= 0.0 && r.ci_high <= 1.0,
        value_pct: pct(r.value),
        low_pct: pct(r.ci_low),
        width_pct: ((pct(r.ci_high) - pct(r.ci_low)) * 10.0).round() / 10.0,
        // Descriptive geometry statistics have no better direction.
        best: r.value == best && r.evaluator != "geometry",
    }
}

/// One row of the comparisons table.
#[derive(Serialize)]
pub struct ComparisonRow {
    a: String,
    b: String,
    probe: String,
    metric: String,
    delta: String,
    low: String,
    high: String,
    p: String,
    p_holm: String,
    significant: bool,
}

/// A p-value for a table cell ("–" when undefined).
fn format_p(p: f64) -> String {
    if p.is_nan() {
        "–".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// Comparisons of one task.
#[derive(Serialize)]
pub struct ComparisonTable {
    task: String,
    rows: Vec<ComparisonRow>,
}

/// Groups comparison records by task, in first-seen order.
pub fn comparison_tables(records: &[ComparisonRecord]) -> Vec<ComparisonTable> {
    let mut tasks = Vec::new();
    for r in records {
        push_unique(&mut tasks, &r.task);
    }
    tasks
        .into_iter()
        .map(|task| {
            let recs: Vec<&ComparisonRecord> = records.iter().filter(|r| r.task == task).collect();
            // Files written before Holm's adjustment was recorded: adjust
            // here, over the same family (the task's comparisons).
            let adjusted: Vec<f64> = if recs.iter().all(|r| r.p_holm.is_nan()) {
                holm(
                    &recs
                        .iter()
                        .map(|r| r.comparison.p_value)
                        .collect::<Vec<_>>(),
                )
            } else {
                recs.iter().map(|r| r.p_holm).collect()
            };
            ComparisonTable {
                rows: recs
                    .iter()
                    .zip(adjusted)
                    .map(|(r, p_holm)| ComparisonRow {
                        a: format!("{} ({})", r.encoder_a, r.layer_a),
                        b: format!("{} ({})", r.encoder_b, r.layer_b),
                        probe: r.comparison.probe.clone(),
                        metric: r.comparison.metric.clone(),
                        delta: format!("{:+.3}", r.comparison.delta),
                        low: format!("{:+.3}", r.comparison.ci_low),
                        high: format!("{:+.3}", r.comparison.ci_high),
                        p: format_p(r.comparison.p_value),
                        p_holm: format_p(p_holm),
                        significant: p_holm < 0.05,
                    })
                    .collect(),
                task,
            }
        })
        .collect()
}
