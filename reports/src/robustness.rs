//! Robustness and drift sections of the report: one chart per task and
//! perturbation (the task's primary metric against severity, one line per
//! encoder/layer/probe with its 95% band and the clean value as a reference
//! line), the sweep's normalised AUC, and embedding-drift charts.

use crate::chart::{line_chart, Series};
use repbench_framework::record::ResultRecord;
use repbench_framework::Result;
use serde::Serialize;
use std::collections::HashMap;

/// One chart with its caption and summary rows.
#[derive(Serialize)]
pub struct Section {
    title: String,
    svg: String,
    summary: Vec<(String, String)>,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// Series key: encoder, layer and (when present) probe.
fn label(r: &ResultRecord) -> String {
    match &r.probe {
        Some(p) => format!("{} / {} / {p}", r.encoder, r.layer),
        None => format!("{} / {}", r.encoder, r.layer),
    }
}

fn series_for(recs: &[&ResultRecord], clean: &[&ResultRecord]) -> Vec<Series> {
    let mut names = Vec::new();
    recs.iter().for_each(|r| push_unique(&mut names, &label(r)));
    names
        .into_iter()
        .map(|name| Series {
            points: recs
                .iter()
                .filter(|r| label(r) == name)
                .filter_map(|r| r.severity.map(|s| (s, r.value, r.ci_low, r.ci_high)))
                .collect(),
            clean: clean.iter().find(|r| label(r) == name).map(|r| r.value),
            name,
        })
        .collect()
}

/// Robustness charts per (task, perturbation) and drift charts per
/// perturbation. `axis` maps a perturbation name to its severity
/// parameter's name (from `run.json`).
pub fn sections(
    records: &[ResultRecord],
    axis: &HashMap<String, String>,
) -> Result<(Vec<Section>, Vec<Section>)> {
    let recs: Vec<&ResultRecord> = records.iter().filter(|r| r.probe_seed.is_none()).collect();
    let mut tasks = Vec::new();
    let mut perturbations = Vec::new();
    for r in &recs {
        if r.perturbation != "none" {
            push_unique(&mut perturbations, &r.perturbation);
            if r.evaluator != "drift" {
                push_unique(&mut tasks, &r.task);
            }
        }
    }
    let x_label = |p: &str| axis.get(p).cloned().unwrap_or_else(|| "severity".into());
    let mut robustness = Vec::new();
    for task in &tasks {
        // The task's primary metric: the first clean probe/retrieval metric.
        let Some(primary) = recs
            .iter()
            .find(|r| &r.task == task && r.perturbation == "none" && r.evaluator != "robustness")
            .map(|r| r.metric.clone())
        else {
            continue;
        };
        let clean: Vec<&ResultRecord> = recs
            .iter()
            .copied()
            .filter(|r| &r.task == task && r.perturbation == "none" && r.metric == primary)
            .collect();
        for p in &perturbations {
            let curve: Vec<&ResultRecord> = recs
                .iter()
                .copied()
                .filter(|r| {
                    &r.task == task
                        && &r.perturbation == p
                        && r.metric == primary
                        && r.severity.is_some()
                })
                .collect();
            if curve.is_empty() {
                continue;
            }
            let title = format!("{task}: {primary} under {p}");
            let svg = line_chart(&title, &x_label(p), &primary, &series_for(&curve, &clean))?;
            let nauc = format!("{primary}_nauc");
            let summary = recs
                .iter()
                .filter(|r| &r.task == task && &r.perturbation == p && r.metric == nauc)
                .map(|r| {
                    (
                        label(r),
                        format!("{:.3} [{:.3}, {:.3}]", r.value, r.ci_low, r.ci_high),
                    )
                })
                .collect();
            robustness.push(Section {
                title,
                svg,
                summary,
            });
        }
    }
    let mut drift = Vec::new();
    for p in &perturbations {
        for (metric, axis_label, what) in [
            (
                "cosine_distance",
                "cosine distance to clean",
                "embedding drift",
            ),
            (
                "linear_cka",
                "linear CKA with clean",
                "embedding similarity (CKA)",
            ),
            (
                "relative_shift",
                "shift / distance between items",
                "relative shift",
            ),
        ] {
            let curve: Vec<&ResultRecord> = recs
                .iter()
                .copied()
                .filter(|r| r.evaluator == "drift" && &r.perturbation == p && r.metric == metric)
                .collect();
            if curve.is_empty() {
                continue;
            }
            let title = format!("{what} under {p}");
            let svg = line_chart(&title, &x_label(p), axis_label, &series_for(&curve, &[]))?;
            drift.push(Section {
                title,
                svg,
                summary: Vec::new(),
            });
        }
    }
    Ok((robustness, drift))
}
