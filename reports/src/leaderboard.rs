//! A leaderboard across runs: clean results of several run directories,
//! one ranked table per (dataset, task), plus each encoder's mean rank.
//!
//! Like MTEB's result files, records from different runs are merged only
//! where they describe the same thing; where runs disagree on the number of
//! test items or the repbench version, the table says so.

use repbench_framework::record::ResultRecord;
use serde::Serialize;
use std::collections::BTreeMap;

/// One ranked row.
#[derive(Serialize)]
pub struct Row {
    run: String,
    encoder: String,
    layer: String,
    probe: String,
    value: String,
    low: String,
    high: String,
    n: usize,
    #[serde(skip)]
    raw: f64,
}

/// One (dataset, task) table.
#[derive(Serialize)]
pub struct Table {
    dataset: String,
    task: String,
    metric: String,
    higher_is_better: bool,
    warnings: Vec<String>,
    rows: Vec<Row>,
}

/// An encoder's mean rank over tasks.
#[derive(Serialize)]
pub struct Overall {
    run: String,
    encoder: String,
    mean_rank: String,
    tasks: usize,
}

/// Builds the tables from `(run label, records)` pairs.
pub fn tables(runs: &[(String, Vec<ResultRecord>)]) -> (Vec<Table>, Vec<Overall>) {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut primary: BTreeMap<(String, String), String> = BTreeMap::new();
    for (_, records) in runs {
        for r in records.iter().filter(|r| {
            r.perturbation == "none" && r.probe_seed.is_none() && r.evaluator != "robustness"
        }) {
            let key = (r.dataset.clone(), r.task.clone());
            if !order.contains(&key) {
                order.push(key.clone());
            }
            primary.entry(key).or_insert_with(|| r.metric.clone());
        }
    }
    let mut out = Vec::new();
    let mut ranks: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for key in order {
        let metric = primary[&key].clone();
        let mut rows = Vec::new();
        let mut higher_is_better = true;
        let (mut sizes, mut versions) = (Vec::new(), Vec::new());
        for (label, records) in runs {
            for r in records.iter().filter(|r| {
                r.perturbation == "none"
                    && r.probe_seed.is_none()
                    && r.dataset == key.0
                    && r.task == key.1
                    && r.metric == metric
            }) {
                higher_is_better = r.higher_is_better;
                sizes.push(r.n);
                versions.push(r.repbench_version.clone());
                rows.push(Row {
                    run: label.clone(),
                    encoder: r.encoder.clone(),
                    layer: r.layer.clone(),
                    probe: r.probe.clone().unwrap_or_else(|| "-".into()),
                    value: format!("{:.3}", r.value),
                    low: format!("{:.3}", r.ci_low),
                    high: format!("{:.3}", r.ci_high),
                    n: r.n,
                    raw: r.value,
                });
            }
        }
        // NaN (undefined) sorts last either way.
        rows.sort_by(|a, b| {
            let (x, y) = if higher_is_better {
                (b.raw, a.raw)
            } else {
                (a.raw, b.raw)
            };
            x.is_nan().cmp(&y.is_nan()).then(x.total_cmp(&y))
        });
        let mut seen = Vec::new();
        for (rank, row) in rows.iter().enumerate() {
            let who = (row.run.clone(), row.encoder.clone());
            if !seen.contains(&who) {
                ranks.entry(who.clone()).or_default().push(rank + 1);
                seen.push(who);
            }
        }
        let mut warnings = Vec::new();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.len() > 1 {
            warnings.push(format!("runs scored different numbers of test items ({sizes:?}): values are not directly comparable"));
        }
        versions.sort();
        versions.dedup();
        if versions.len() > 1 {
            warnings.push(format!(
                "runs come from different repbench versions ({})",
                versions.join(", ")
            ));
        }
        out.push(Table {
            dataset: key.0,
            task: key.1,
            metric,
            higher_is_better,
            warnings,
            rows,
        });
    }
    let mut overall: Vec<(f64, Overall)> = ranks
        .into_iter()
        .map(|((run, encoder), r)| {
            let mean = r.iter().sum::<usize>() as f64 / r.len() as f64;
            (
                mean,
                Overall {
                    run,
                    encoder,
                    mean_rank: format!("{mean:.2}"),
                    tasks: r.len(),
                },
            )
        })
        .collect();
    overall.sort_by(|a, b| a.0.total_cmp(&b.0));
    (out, overall.into_iter().map(|(_, o)| o).collect())
}
