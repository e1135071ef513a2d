//! Layer-wise curves (as MARBLE/MERT report them): for every task, the
//! primary metric of each layer of every multi-layer encoder, in the
//! encoder's layer order, one line per encoder and probe with its 95% band.

use crate::chart::{line_chart, Series};
use repbench_framework::record::ResultRecord;
use repbench_framework::Result;
use serde::Serialize;

/// One chart.
#[derive(Serialize)]
pub struct LayerChart {
    title: String,
    svg: String,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// Charts for tasks where at least one encoder has several layers.
pub fn charts(records: &[ResultRecord]) -> Result<Vec<LayerChart>> {
    let clean: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| {
            r.perturbation == "none"
                && r.probe_seed.is_none()
                && r.evaluator != "drift"
                && r.evaluator != "robustness"
                && !r.is_pairwise()
        })
        .collect();
    let mut tasks = Vec::new();
    clean.iter().for_each(|r| push_unique(&mut tasks, &r.task));
    let mut out = Vec::new();
    for task in tasks {
        let Some(metric) = clean
            .iter()
            .find(|r| r.task == task)
            .map(|r| r.metric.clone())
        else {
            continue;
        };
        let rows: Vec<&&ResultRecord> = clean
            .iter()
            .filter(|r| r.task == task && r.metric == metric)
            .collect();
        let mut lines = Vec::new();
        rows.iter().for_each(|r| {
            push_unique(
                &mut lines,
                &format!("{} / {}", r.encoder, r.probe.as_deref().unwrap_or("-")),
            )
        });
        let series: Vec<Series> = lines
            .into_iter()
            .map(|name| {
                // Records come in the encoder's layer order: x is the layer's position.
                let points = rows
                    .iter()
                    .filter(|r| {
                        format!("{} / {}", r.encoder, r.probe.as_deref().unwrap_or("-")) == name
                    })
                    .enumerate()
                    .map(|(i, r)| (i as f64, r.value, r.ci_low, r.ci_high))
                    .collect();
                Series {
                    name,
                    points,
                    clean: None,
                }
            })
            .filter(|s| s.points.len() > 1)
            .collect();
        if series.is_empty() {
            continue;
        }
        let title = format!("{task}: {metric} by layer");
        let svg = line_chart(&title, "layer (0 = first)", &metric, &series)?;
        out.push(LayerChart { title, svg });
    }
    Ok(out)
}
