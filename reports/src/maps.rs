//! Embedding maps: per task, each encoder's test items in 2-D (PCA and
//! t-SNE of the layer chosen on validation, from the run's `maps.jsonl`),
//! coloured by class or by value, with how faithful each map is.

use crate::chart::{scatter_chart, Colouring, Scatter};
use repbench_framework::record::MapRecord;
use repbench_framework::Result;
use serde::Serialize;

/// One task's maps.
#[derive(Serialize)]
pub struct TaskMaps {
    task: String,
    /// Mapped items (the same sample for every encoder).
    items: usize,
    figures: Vec<MapFigure>,
}

/// One drawn map with its caption.
#[derive(Serialize)]
pub struct MapFigure {
    svg: String,
    caption: String,
}

fn percent(v: Option<&f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "–".into(), |v| format!("{:.1} %", 100.0 * v))
}

fn title(m: &MapRecord) -> String {
    let method = if m.map.method == "tsne" {
        "t-SNE"
    } else {
        "PCA"
    };
    if m.layer == m.encoder {
        format!("{} · {method}", m.encoder)
    } else {
        format!("{} / {} · {method}", m.encoder, m.layer)
    }
}

/// The caption: what the map keeps (trustworthiness) and, for PCA, the
/// variance its axes explain.
fn caption(m: &MapRecord) -> String {
    let trust = m
        .map
        .params
        .get("trustworthiness")
        .filter(|v| v.is_finite())
        .map_or_else(|| "–".into(), |v| format!("{v:.3}"));
    match m.map.method.as_str() {
        "tsne" => format!(
            "trustworthiness {trust} (k = 5) · perplexity {:.0}",
            m.map.params.get("perplexity").copied().unwrap_or(f64::NAN)
        ),
        _ => format!(
            "trustworthiness {trust} (k = 5) · PC 1 and PC 2 explain {} and {} of the variance",
            percent(m.map.params.get("pc1_variance")),
            percent(m.map.params.get("pc2_variance"))
        ),
    }
}

fn figure(m: &MapRecord) -> Result<Option<MapFigure>> {
    let points: Vec<(f64, f64)> = m
        .map
        .x
        .iter()
        .copied()
        .zip(m.map.y.iter().copied())
        .collect();
    if points.len() != m.map.x.len().max(m.map.y.len()) {
        return Ok(None);
    }
    let tsne = m.map.method == "tsne";
    let (x_label, y_label) = if tsne {
        ("t-SNE 1".to_string(), "t-SNE 2".to_string())
    } else {
        (
            format!("PC 1 ({})", percent(m.map.params.get("pc1_variance"))),
            format!("PC 2 ({})", percent(m.map.params.get("pc2_variance"))),
        )
    };
    let title = title(m);
    let value_label = format!("{} (value)", m.task);
    // Owned first, so one call draws either kind.
    let (index, values): (Vec<usize>, Vec<f64>) = match m.map.target.as_str() {
        "classes" => match serde_json::from_value(m.map.truth.clone()) {
            Ok(index) => (index, Vec::new()),
            Err(_) => return Ok(None),
        },
        "values" => match serde_json::from_value::<Vec<Option<f64>>>(m.map.truth.clone()) {
            Ok(v) => (
                Vec::new(),
                v.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            ),
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    let colouring = if m.map.target == "classes" {
        Colouring::Classes {
            index: &index,
            names: &m.map.names,
        }
    } else {
        Colouring::Values {
            values: &values,
            label: &value_label,
        }
    };
    let svg = scatter_chart(&Scatter {
        title: &title,
        x_label: &x_label,
        y_label: &y_label,
        ticks: !tsne,
        points: &points,
        colouring,
    })?;
    Ok(svg.map(|svg| MapFigure {
        svg,
        caption: caption(m),
    }))
}

/// The maps of every task, in the run's order (task, then encoder: PCA
/// beside t-SNE); maps that cannot be drawn are left out.
pub fn sections(maps: &[MapRecord]) -> Result<Vec<TaskMaps>> {
    let mut out: Vec<TaskMaps> = Vec::new();
    for m in maps {
        let Some(fig) = figure(m)? else { continue };
        match out.last_mut() {
            Some(t) if t.task == m.task => t.figures.push(fig),
            _ => out.push(TaskMaps {
                task: m.task.clone(),
                items: m.map.ids.len(),
                figures: vec![fig],
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::record::ItemMap;
    use std::collections::BTreeMap;

    fn map(task: &str, encoder: &str, method: &str, target: &str) -> MapRecord {
        let truth = if target == "classes" {
            serde_json::json!([0, 1, 0, 1])
        } else {
            serde_json::json!([1.5, null, 3.0, 4.0])
        };
        MapRecord {
            run_id: "r".into(),
            dataset: "d".into(),
            task: task.into(),
            encoder: encoder.into(),
            layer: "l2".into(),
            test_set: "t".into(),
            map: ItemMap {
                method: method.into(),
                params: BTreeMap::from([
                    ("trustworthiness".to_string(), 0.9123),
                    ("pc1_variance".to_string(), 0.4),
                    ("pc2_variance".to_string(), f64::NAN),
                    ("perplexity".to_string(), 1.0),
                ]),
                target: target.into(),
                names: if target == "classes" {
                    vec!["a".into(), "b".into()]
                } else {
                    Vec::new()
                },
                ids: (0..4).map(|i| format!("i{i}")).collect(),
                truth,
                x: vec![0.0, 1.0, 2.0, 3.0],
                y: vec![1.0, 0.0, 1.0, 0.0],
            },
        }
    }

    #[test]
    fn maps_group_by_task_with_captions_in_words() {
        let maps = vec![
            map("pitch", "logmel", "pca", "classes"),
            map("pitch", "logmel", "tsne", "classes"),
            map("tempo", "mfcc", "pca", "values"),
        ];
        let s = sections(&maps).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].figures.len(), 2);
        assert_eq!(s[0].items, 4);
        assert!(s[0].figures[0].caption.contains("trustworthiness 0.912"));
        assert!(
            s[0].figures[0]
                .caption
                .contains("40.0 % and – of the variance"),
            "an undefined share reads –: {}",
            s[0].figures[0].caption
        );
        assert!(s[0].figures[1].svg.contains("t-SNE 2"));
        assert!(s[1].figures[0].svg.contains("tempo (value)"));
        assert!(s[0].figures[0].svg.contains("PC 1 (40.0 %)"));
    }

    #[test]
    fn unreadable_or_unknown_maps_are_left_out() {
        let mut bad = map("pitch", "logmel", "pca", "classes");
        bad.map.truth = serde_json::json!(["x"]);
        let mut tags = map("pitch", "logmel", "pca", "classes");
        tags.map.target = "tags".into();
        let mut short = map("pitch", "logmel", "pca", "classes");
        short.map.y.pop();
        assert!(sections(&[bad, tags, short]).unwrap().is_empty());
    }
}
