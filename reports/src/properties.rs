//! Property curves in the report: each property task's per-θ metrics
//! (`invariance_curve`, `map_r2_curve`, `theta_rmse_curve`) as one chart
//! per task, metric and probe, one line per encoder and layer with its 95%
//! band, at the centre of each θ bin.

use crate::chart::{line_chart, Chart, Series, Size, XAxis};
use repbench_framework::record::ResultRecord;
use repbench_framework::Result;
use serde::Serialize;
use std::collections::HashMap;

/// One chart with its title.
#[derive(Serialize)]
pub struct Curve {
    title: String,
    svg: String,
}

/// True for a per-θ point of a property curve (not a table value).
pub fn is_curve_point(r: &ResultRecord) -> bool {
    r.metric.ends_with("_curve")
}

/// The bin centre of a curve point, and whether it bins |θ|.
fn position(r: &ResultRecord) -> Option<(f64, bool)> {
    let p = &r.params;
    if let (Some(lo), Some(hi)) = (p.get("abs_theta_low"), p.get("abs_theta_high")) {
        return Some(((lo + hi) / 2.0, true));
    }
    let (lo, hi) = (p.get("theta_low")?, p.get("theta_high")?);
    Some(((lo + hi) / 2.0, false))
}

/// The x axis's label: θ, or |θ| for invariance bins, in words where the
/// config names the transform (`theta_axes`).
fn theta_label(absolute: bool, words: Option<&String>) -> String {
    let theta = if absolute { "|θ|" } else { "θ" };
    match words {
        Some(w) => format!("{theta}: {w}, bin centre"),
        None => format!("{theta} (bin centre)"),
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// Every property curve of `records`, in first-seen order; `theta_axes`
/// names each task's θ in words.
pub fn curves(
    records: &[ResultRecord],
    theta_axes: &HashMap<String, String>,
) -> Result<Vec<Curve>> {
    let points: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| is_curve_point(r) && r.perturbation == "none" && r.probe_seed.is_none())
        .collect();
    let mut keys = Vec::new();
    for r in &points {
        let probe = r.probe.clone().unwrap_or_default();
        push_unique(
            &mut keys,
            &format!("{}\u{1f}{}\u{1f}{probe}", r.task, r.metric),
        );
    }
    let mut out = Vec::new();
    for key in keys {
        let mut parts = key.split('\u{1f}');
        let (task, metric, probe) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let group: Vec<&&ResultRecord> = points
            .iter()
            .filter(|r| {
                r.task == task && r.metric == metric && r.probe.clone().unwrap_or_default() == probe
            })
            .collect();
        let mut names = Vec::new();
        group
            .iter()
            .for_each(|r| push_unique(&mut names, &format!("{} / {}", r.encoder, r.layer)));
        let mut absolute = false;
        let series = names
            .into_iter()
            .map(|name| {
                let mut pts: Vec<(f64, f64, f64, f64)> = group
                    .iter()
                    .filter(|r| format!("{} / {}", r.encoder, r.layer) == name)
                    .filter_map(|r| {
                        let (x, abs) = position(r)?;
                        absolute = abs;
                        Some((x, r.value, r.ci_low, r.ci_high))
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name,
                    points: pts,
                    clean: None,
                }
            })
            .collect::<Vec<_>>();
        let base = metric.trim_end_matches("_curve");
        let title = if probe.is_empty() {
            format!("{task}: {base} by θ")
        } else {
            format!("{task}: {base} by θ ({probe} probe)")
        };
        let chart = Chart {
            title: &title,
            x: &XAxis::plain(theta_label(absolute, theta_axes.get(task))),
            y_label: base,
            size: Size::Full,
        };
        if let Some(svg) = line_chart(&chart, &series)? {
            out.push(Curve { svg, title });
        }
    }
    Ok(out)
}
