//! Robustness and drift sections of the report. Per task, two heatmaps of
//! encoder × perturbation: the sweep's nAUC, and the drop at the strongest
//! severity with its paired interval and Holm-adjusted significance. Then
//! the curves as small multiples grouped by perturbation (the task's
//! primary metric against severity, one line per encoder/layer/probe with
//! its band and the clean value as a reference line), and the drift
//! curves grouped the same way.

use crate::chart::{line_chart, Chart, Series, Size, XAxis};
use crate::heat::{shade, BLUE, ORANGE};
use crate::sweep_axis::Sweep;
use repbench_framework::bootstrap::holm;
use repbench_framework::record::ResultRecord;
use repbench_framework::Result;
use serde::Serialize;

/// Significance level of the drop heatmap, after Holm's correction.
const ALPHA: f64 = 0.05;

/// A chart with its title.
#[derive(Serialize)]
pub struct Figure {
    title: String,
    svg: String,
}

/// The charts of one perturbation, shown side by side.
#[derive(Serialize)]
pub struct Group {
    perturbation: String,
    charts: Vec<Figure>,
}

/// One heatmap cell.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    interval: String,
    style: String,
    /// Holm-adjusted p of a drop (empty for nAUC).
    p_holm: String,
    significant: bool,
}

/// One encoder/layer/probe across the perturbations.
#[derive(Serialize)]
pub struct Row {
    unit: String,
    nauc: Vec<Option<Cell>>,
    drop: Vec<Option<Cell>>,
}

/// A perturbation column: its name and strongest severity.
#[derive(Serialize)]
pub struct Column {
    perturbation: String,
    strongest: String,
}

/// The heatmaps of one task.
#[derive(Serialize)]
pub struct TaskSummary {
    task: String,
    metric: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    /// Drops significant after Holm's correction, and drops tested.
    significant: usize,
    tested: usize,
}

/// The robustness section: heatmaps per task, then curves per perturbation.
#[derive(Serialize, Default)]
pub struct Robustness {
    summaries: Vec<TaskSummary>,
    curves: Vec<Group>,
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
        .map(|name| {
            let mut points: Vec<(f64, f64, f64, f64)> = recs
                .iter()
                .filter(|r| label(r) == name)
                .filter_map(|r| r.severity.map(|s| (s, r.value, r.ci_low, r.ci_high)))
                .collect();
            // Sweeps listed by magnitude (±1, ±2 semitones) are drawn left to right.
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                points,
                clean: clean.iter().find(|r| label(r) == name).map(|r| r.value),
                name,
            }
        })
        .collect()
}

/// The perturbations of the records, in `sweeps` order where `run.json`
/// lists them (older runs: in order of appearance).
fn ordered_sweeps(recs: &[&ResultRecord], sweeps: &[Sweep]) -> Vec<Sweep> {
    let mut names = Vec::new();
    recs.iter()
        .filter(|r| r.perturbation != "none")
        .for_each(|r| push_unique(&mut names, &r.perturbation));
    let mut out: Vec<Sweep> = sweeps
        .iter()
        .filter(|s| names.contains(&s.name))
        .cloned()
        .collect();
    for name in names {
        if !out.iter().any(|s| s.name == name) {
            let mut severities = Vec::new();
            recs.iter()
                .filter(|r| r.perturbation == name)
                .filter_map(|r| r.severity)
                .for_each(|s| {
                    if !severities.contains(&s) {
                        severities.push(s);
                    }
                });
            out.push(Sweep {
                name,
                severity_name: "severity".into(),
                severities,
            });
        }
    }
    out
}

fn interval(r: &ResultRecord) -> String {
    format!("[{:.3}, {:.3}]", r.ci_low, r.ci_high)
}

/// The task's primary metric: the first clean probe/retrieval metric.
fn primary_metric(recs: &[&ResultRecord], task: &str) -> Option<String> {
    recs.iter()
        .find(|r| {
            r.task == task
                && r.perturbation == "none"
                && r.evaluator != "robustness"
                && !r.is_label_curve()
        })
        .map(|r| r.metric.clone())
}

fn summary(
    recs: &[&ResultRecord],
    task: &str,
    primary: &str,
    sweeps: &[Sweep],
) -> Option<TaskSummary> {
    let nauc_metric = format!("{primary}_nauc");
    let drop_metric = format!("{primary}_drop");
    let of_task: Vec<&ResultRecord> = recs
        .iter()
        .copied()
        .filter(|r| r.task == task && (r.metric == nauc_metric || r.metric == drop_metric))
        .collect();
    let mut units = Vec::new();
    of_task
        .iter()
        .for_each(|r| push_unique(&mut units, &label(r)));
    if units.is_empty() {
        return None;
    }
    let clean = |unit: &str| {
        recs.iter()
            .find(|r| {
                r.task == task
                    && r.perturbation == "none"
                    && r.metric == primary
                    && label(r) == unit
            })
            .map(|r| r.value)
    };
    let strongest_drop = |unit: &str, sweep: &Sweep| {
        let mut drops = of_task.iter().filter(|r| {
            r.metric == drop_metric && r.perturbation == sweep.name && label(r) == unit
        });
        match sweep.severities.last() {
            Some(&s) => drops.rfind(|r| r.severity == Some(s)).copied(),
            None => drops.next_back().copied(),
        }
    };
    // Holm over every drop this table shows: the family a reader scans.
    let drops: Vec<Vec<Option<&ResultRecord>>> = units
        .iter()
        .map(|u| sweeps.iter().map(|s| strongest_drop(u, s)).collect())
        .collect();
    let p_values: Vec<f64> = drops
        .iter()
        .flatten()
        .map(|d| {
            d.and_then(|r| r.params.get("p_value").copied())
                .unwrap_or(f64::NAN)
        })
        .collect();
    let adjusted = holm(&p_values);
    let mut adjusted = adjusted.iter();
    let rows = units
        .iter()
        .zip(&drops)
        .map(|(unit, unit_drops)| {
            let nauc = sweeps
                .iter()
                .map(|s| {
                    of_task
                        .iter()
                        .find(|r| {
                            r.metric == nauc_metric && r.perturbation == s.name && &label(r) == unit
                        })
                        .map(|r| Cell {
                            value: format!("{:.3}", r.value),
                            interval: interval(r),
                            style: shade(r.value, BLUE),
                            p_holm: String::new(),
                            significant: false,
                        })
                })
                .collect();
            let base = clean(unit).filter(|c| c.abs() > 0.0);
            let drop = unit_drops
                .iter()
                .map(|d| {
                    let p = adjusted.next().copied().unwrap_or(f64::NAN);
                    d.map(|r| Cell {
                        value: format!("{:.3}", r.value),
                        interval: interval(r),
                        // Shaded by the share of the clean score lost.
                        style: shade(base.map_or(r.value, |c| r.value / c.abs()), ORANGE),
                        p_holm: if p.is_nan() {
                            String::new()
                        } else {
                            format!("{p:.3}")
                        },
                        significant: p < ALPHA,
                    })
                })
                .collect();
            Row {
                unit: unit.clone(),
                nauc,
                drop,
            }
        })
        .collect();
    Some(TaskSummary {
        task: task.to_owned(),
        metric: primary.to_owned(),
        columns: sweeps
            .iter()
            .map(|s| Column {
                perturbation: s.name.clone(),
                strongest: s.strongest().unwrap_or_default(),
            })
            .collect(),
        rows,
        significant: p_values
            .iter()
            .zip(holm(&p_values))
            .filter(|(_, a)| *a < ALPHA)
            .count(),
        tested: p_values.iter().filter(|p| !p.is_nan()).count(),
    })
}

/// The robustness section of `records`; `sweeps` come from `run.json`.
pub fn robustness(records: &[ResultRecord], sweeps: &[Sweep]) -> Result<Robustness> {
    let recs: Vec<&ResultRecord> = records.iter().filter(|r| r.probe_seed.is_none()).collect();
    let sweeps = ordered_sweeps(&recs, sweeps);
    let mut tasks = Vec::new();
    recs.iter()
        .filter(|r| r.perturbation != "none" && r.evaluator != "drift")
        .for_each(|r| push_unique(&mut tasks, &r.task));
    let primaries: Vec<(String, String)> = tasks
        .iter()
        .filter_map(|t| Some((t.clone(), primary_metric(&recs, t)?)))
        .collect();
    let mut out = Robustness::default();
    for (task, primary) in &primaries {
        out.summaries.extend(summary(&recs, task, primary, &sweeps));
    }
    for sweep in &sweeps {
        let axis = sweep.axis();
        let mut charts = Vec::new();
        for (task, primary) in &primaries {
            let clean: Vec<&ResultRecord> = recs
                .iter()
                .copied()
                .filter(|r| &r.task == task && r.perturbation == "none" && &r.metric == primary)
                .collect();
            let curve: Vec<&ResultRecord> = recs
                .iter()
                .copied()
                .filter(|r| {
                    &r.task == task
                        && r.perturbation == sweep.name
                        && &r.metric == primary
                        && r.severity.is_some()
                })
                .collect();
            if curve.is_empty() {
                continue;
            }
            let title = format!("{task}: {primary} under {}", sweep.name);
            let chart = Chart {
                title: &title,
                x: &axis,
                y_label: primary,
                size: Size::Small,
            };
            if let Some(svg) = line_chart(&chart, &series_for(&curve, &clean))? {
                charts.push(Figure { title, svg });
            }
        }
        if !charts.is_empty() {
            out.curves.push(Group {
                perturbation: sweep.name.clone(),
                charts,
            });
        }
    }
    Ok(out)
}

/// Drift metrics and how their axes read.
const DRIFT: [(&str, &str, &str); 4] = [
    (
        "cosine_distance",
        "cosine distance to clean",
        "embedding drift",
    ),
    ("linear_cka", "linear CKA with clean", "similarity (CKA)"),
    (
        "relative_shift",
        "shift / distance between items",
        "relative shift",
    ),
    (
        "displacement_consistency",
        "mean cosine between items' shifts",
        "displacement consistency",
    ),
];

/// Drift curves per perturbation: drift, CKA, relative shift and
/// displacement consistency side by side.
pub fn drift(records: &[ResultRecord], sweeps: &[Sweep]) -> Result<Vec<Group>> {
    let recs: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| r.probe_seed.is_none() && r.evaluator == "drift")
        .collect();
    let mut out = Vec::new();
    for sweep in ordered_sweeps(&recs, sweeps) {
        let axis: XAxis = sweep.axis();
        let mut charts = Vec::new();
        for (metric, y_label, what) in DRIFT {
            let curve: Vec<&ResultRecord> = recs
                .iter()
                .copied()
                .filter(|r| r.perturbation == sweep.name && r.metric == metric)
                .collect();
            if curve.is_empty() {
                continue;
            }
            let title = format!("{what} under {}", sweep.name);
            let chart = Chart {
                title: &title,
                x: &axis,
                y_label,
                size: Size::Small,
            };
            if let Some(svg) = line_chart(&chart, &series_for(&curve, &[]))? {
                charts.push(Figure { title, svg });
            }
        }
        if !charts.is_empty() {
            out.push(Group {
                perturbation: sweep.name.clone(),
                charts,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::record;

    fn at(
        encoder: &str,
        perturbation: &str,
        severity: Option<f64>,
        metric: &str,
        value: f64,
    ) -> ResultRecord {
        let mut r = record(encoder, value);
        r.perturbation = perturbation.into();
        r.severity = severity;
        r.metric = metric.into();
        if metric != "accuracy" || perturbation != "none" {
            r.evaluator = "robustness".into();
        }
        r
    }

    fn drop(encoder: &str, perturbation: &str, severity: f64, value: f64, p: f64) -> ResultRecord {
        let mut r = at(
            encoder,
            perturbation,
            Some(severity),
            "accuracy_drop",
            value,
        );
        r.params.insert("p_value".into(), p);
        r
    }

    fn sweep(name: &str, parameter: &str, severities: &[f64]) -> Sweep {
        Sweep {
            name: name.into(),
            severity_name: parameter.into(),
            severities: severities.to_vec(),
        }
    }

    /// Two encoders under noise (40 → 10 dB) and gain (−6 → −24 dB).
    fn records() -> Vec<ResultRecord> {
        let mut out = vec![
            at("a", "none", None, "accuracy", 0.9),
            at("b", "none", None, "accuracy", 0.8),
        ];
        for (e, mild, strong) in [("a", 0.02, 0.01), ("b", 0.2, 0.03)] {
            out.push(drop(e, "noise", 40.0, 0.1, mild));
            out.push(drop(e, "noise", 10.0, 0.4, strong));
        }
        out.push(drop("a", "gain", -6.0, 0.0, 0.9));
        out.push(drop("a", "gain", -24.0, 0.05, 0.04));
        out.push(drop("b", "gain", -6.0, 0.0, 0.9));
        out.push(drop("b", "gain", -24.0, 0.02, 0.5));
        for e in ["a", "b"] {
            for (p, s) in [
                ("noise", 40.0),
                ("noise", 10.0),
                ("gain", -6.0),
                ("gain", -24.0),
            ] {
                out.push(at(e, p, Some(s), "accuracy", 0.7));
            }
            out.push(at(e, "noise", None, "accuracy_nauc", 0.6));
            out.push(at(e, "gain", None, "accuracy_nauc", 0.95));
        }
        out
    }

    #[test]
    fn drops_at_the_strongest_severity_are_marked_only_after_holm() {
        let sweeps = [
            sweep("gain", "gain_db", &[-6.0, -24.0]),
            sweep("noise", "snr_db", &[40.0, 10.0]),
        ];
        let section = robustness(&records(), &sweeps).unwrap();
        let [t] = section.summaries.as_slice() else {
            panic!("one task")
        };
        // Columns in run.json's order, each with its strongest severity.
        let columns: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.perturbation.as_str(), c.strongest.as_str()))
            .collect();
        assert_eq!(
            columns,
            [("gain", "gain_db = -24"), ("noise", "snr_db = 10")]
        );
        let cell = |row: usize, col: usize| t.rows[row].drop[col].as_ref().unwrap();
        assert_eq!(
            cell(0, 1).value,
            "0.400",
            "the 10 dB drop, not the 40 dB one"
        );
        // Raw p: a/gain 0.04, a/noise 0.01, b/gain 0.5, b/noise 0.03 — three
        // below 0.05, but Holm leaves one: 0.01·4 = 0.04; 0.03·3 = 0.09.
        assert!(cell(0, 1).significant && cell(0, 1).p_holm == "0.040");
        assert!(!cell(0, 0).significant && !cell(1, 1).significant && !cell(1, 0).significant);
        assert_eq!(cell(1, 1).p_holm, "0.090");
        assert_eq!((t.significant, t.tested), (1, 4));
        // Shaded by the share of the clean score lost: 0.4 / 0.9.
        assert_eq!(cell(0, 1).style, shade(0.4 / 0.9, ORANGE));
        assert_eq!(t.rows[1].nauc[1].as_ref().unwrap().value, "0.600");
        // Curves: one group per perturbation, in the same order.
        let groups: Vec<&str> = section
            .curves
            .iter()
            .map(|g| g.perturbation.as_str())
            .collect();
        assert_eq!(groups, ["gain", "noise"]);
        assert!(section.curves[1].charts[0]
            .svg
            .contains("SNR (dB), ← stronger"));
    }

    /// A sweep listed by magnitude (±1, ±2) is drawn left to right, not as
    /// a zigzag.
    #[test]
    fn curve_points_are_in_x_order_whatever_the_sweep_order() {
        let recs: Vec<ResultRecord> = [1.0, -1.0, 2.0, -2.0]
            .iter()
            .map(|&s| at("a", "pitch_shift", Some(s), "accuracy", 0.5 + s / 10.0))
            .collect();
        let refs: Vec<&ResultRecord> = recs.iter().collect();
        let xs: Vec<f64> = series_for(&refs, &[])[0]
            .points
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(xs, [-2.0, -1.0, 1.0, 2.0]);
    }

    #[test]
    fn runs_without_sweeps_in_run_json_keep_the_records_order() {
        let section = robustness(&records(), &[]).unwrap();
        let t = &section.summaries[0];
        assert_eq!(t.columns[0].perturbation, "noise");
        assert_eq!(
            t.columns[0].strongest, "severity = 10",
            "the last one recorded"
        );
        let last = t.rows[0].drop[0].as_ref().unwrap();
        assert_eq!(last.value, "0.400", "the last severity in record order");
    }

    #[test]
    fn drift_draws_all_four_measures_per_perturbation() {
        let mut recs = Vec::new();
        for metric in [
            "cosine_distance",
            "linear_cka",
            "relative_shift",
            "displacement_consistency",
        ] {
            for s in [40.0, 10.0] {
                let mut r = at("a", "noise", Some(s), metric, 0.5);
                r.evaluator = "drift".into();
                r.probe = None;
                recs.push(r);
            }
        }
        let groups = drift(&recs, &[sweep("noise", "snr_db", &[40.0, 10.0])]).unwrap();
        let titles: Vec<&str> = groups[0].charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "embedding drift under noise",
                "similarity (CKA) under noise",
                "relative shift under noise",
                "displacement consistency under noise"
            ]
        );
    }
}
