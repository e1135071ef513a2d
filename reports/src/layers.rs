//! Layer-wise curves (as MARBLE/MERT report them): for every task, the
//! primary metric of each layer of every multi-layer encoder, in the
//! encoder's layer order, one line per encoder and probe with its 95% band;
//! layers are named as the encoder names them, and single-layer encoders
//! (DSP baselines) are drawn as horizontal reference lines.

use crate::chart::{line_chart, Chart, Series, Size, Ticks, XAxis};
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
                && !r.is_label_curve()
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
        let line_of =
            |r: &ResultRecord| format!("{} / {}", r.encoder, r.probe.as_deref().unwrap_or("-"));
        rows.iter()
            .for_each(|r| push_unique(&mut lines, &line_of(r)));
        // Records come in the encoder's layer order: x is the layer's position.
        let layered: Vec<(String, Vec<&ResultRecord>)> = lines
            .into_iter()
            .map(|name| {
                let of_line = rows
                    .iter()
                    .filter(|r| line_of(r) == name)
                    .map(|r| **r)
                    .collect();
                (name, of_line)
            })
            .collect();
        let layer_names = |recs: &[&ResultRecord]| -> Vec<String> {
            recs.iter().map(|r| r.layer.clone()).collect()
        };
        let multi: Vec<&(String, Vec<&ResultRecord>)> =
            layered.iter().filter(|(_, r)| r.len() > 1).collect();
        let Some(first) = multi.first() else {
            continue;
        };
        let shared_names = multi
            .iter()
            .all(|(_, r)| layer_names(r) == layer_names(&first.1));
        let deepest = multi.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let x = if shared_names {
            XAxis {
                label: "layer".into(),
                log: false,
                ticks: Ticks::Named(layer_names(&first.1)),
            }
        } else {
            XAxis {
                label: "layer (0 = first)".into(),
                log: false,
                ticks: Ticks::At((0..deepest).map(|i| i as f64).collect()),
            }
        };
        let series: Vec<Series> = layered
            .into_iter()
            .map(|(name, recs)| {
                if recs.len() == 1 {
                    Series {
                        name: format!("{name} (single layer)"),
                        points: Vec::new(),
                        clean: Some(recs[0].value),
                    }
                } else {
                    Series {
                        name,
                        points: recs
                            .iter()
                            .enumerate()
                            .map(|(i, r)| (i as f64, r.value, r.ci_low, r.ci_high))
                            .collect(),
                        clean: None,
                    }
                }
            })
            .collect();
        let title = format!("{task}: {metric} by layer");
        let Some(svg) = line_chart(
            &Chart {
                title: &title,
                x: &x,
                y_label: &metric,
                size: Size::Full,
            },
            &series,
        )?
        else {
            continue;
        };
        out.push(LayerChart { title, svg });
    }
    Ok(out)
}
