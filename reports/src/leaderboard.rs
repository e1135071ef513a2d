//! A leaderboard across runs: clean results of several run directories,
//! one ranked table per (dataset, task, test set), and each encoder's mean
//! rank over the tasks.
//!
//! The rules, each a fix of a wrong answer the first version gave:
//! - one entry per (run, encoder) and task: its layer and probe are the
//!   ones with the best *validation* score (the rule the run's own
//!   comparisons use), never the best test score;
//! - ranks are over those entries, ties share the average rank (1.5, 1.5,
//!   3), and an undefined value is not ranked;
//! - results merge only when they were scored on the same test set (the
//!   `test_set` fingerprint of item ids, labels and audio content), not
//!   merely the same number of items; other runs form their own table,
//!   and the page and `notes` say why;
//! - the mean rank is over the main table of every task (where runs
//!   scored different test sets, the one with most entries); an entry
//!   missing one is listed apart rather than ranked on fewer tasks.
//!
//! Only informativeness (probe) and retrieval tasks are ranked:
//! disentanglement, geometry, drift and robustness values describe a
//! representation rather than score it against a target.

use crate::answer::{best_by_validation, SCORED};
use repbench_framework::record::ResultRecord;
use serde::Serialize;
use std::collections::BTreeMap;

/// One ranked entry.
#[derive(Serialize)]
pub struct Row {
    /// Average rank among the table's entries ("–" when undefined).
    rank: String,
    run: String,
    encoder: String,
    layer: String,
    probe: String,
    value: String,
    low: String,
    high: String,
    valid: String,
    n: usize,
    #[serde(skip)]
    rank_value: Option<f64>,
}

/// One (dataset, task, test set) table.
#[derive(Serialize)]
pub struct Table {
    dataset: String,
    task: String,
    metric: String,
    higher_is_better: bool,
    test_set: String,
    /// False for a table of runs that scored a different test set than
    /// the task's main table: shown, but not in the overall ranking.
    main: bool,
    warnings: Vec<String>,
    rows: Vec<Row>,
}

/// An entry's mean rank over tasks.
#[derive(Serialize)]
pub struct Overall {
    run: String,
    encoder: String,
    mean_rank: String,
    tasks: usize,
}

/// Everything the leaderboard page shows.
#[derive(Serialize)]
pub struct Leaderboard {
    /// Ranked tables.
    pub tables: Vec<Table>,
    /// Entries present in every table, by mean rank.
    pub overall: Vec<Overall>,
    /// Entries missing some table (not ranked overall).
    pub apart: Vec<Overall>,
    /// Why results were kept apart or flagged (also printed by the CLI).
    pub notes: Vec<String>,
}

/// Ranks `values` (best first), ties sharing their average rank; NaN is
/// not ranked.
fn average_ranks(values: &[f64], higher_is_better: bool) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (values[a], values[b]);
        if higher_is_better {
            y.total_cmp(&x)
        } else {
            x.total_cmp(&y)
        }
    });
    let mut ranks = vec![None; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share the mean of ranks i+1..=j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = Some(rank);
        }
        i = j + 1;
    }
    ranks
}

fn distinct(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = values.collect();
    v.sort();
    v.dedup();
    v
}

/// Builds the leaderboard from `(run label, records)` pairs.
pub fn build(runs: &[(String, Vec<ResultRecord>)]) -> Leaderboard {
    let clean = |r: &&ResultRecord| {
        r.perturbation == "none" && r.probe_seed.is_none() && SCORED.contains(&r.evaluator.as_str())
    };
    // (dataset, task) in first-seen order, with the task's primary metric
    // (its first, which also selects on validation).
    let mut tasks: Vec<(String, String, String)> = Vec::new();
    for (_, records) in runs {
        for r in records.iter().filter(clean) {
            if !tasks.iter().any(|t| t.0 == r.dataset && t.1 == r.task) {
                tasks.push((r.dataset.clone(), r.task.clone(), r.metric.clone()));
            }
        }
    }
    let mut tables = Vec::new();
    let mut notes = Vec::new();
    for (dataset, task, metric) in &tasks {
        let records: Vec<(&String, &ResultRecord)> = runs
            .iter()
            .flat_map(|(label, recs)| recs.iter().filter(clean).map(move |r| (label, r)))
            .filter(|(_, r)| &r.dataset == dataset && &r.task == task && &r.metric == metric)
            .collect();
        let fingerprints = distinct(records.iter().map(|(_, r)| r.test_set.clone()));
        if fingerprints.len() > 1 {
            let described: Vec<String> = fingerprints
                .iter()
                .map(|f| {
                    let which = distinct(
                        records
                            .iter()
                            .filter(|(_, r)| &r.test_set == f)
                            .map(|(l, _)| (*l).clone()),
                    );
                    format!("{} ({})", shown(f), which.join(", "))
                })
                .collect();
            notes.push(format!(
                "{dataset} / {task}: runs scored different test sets, kept in separate tables: {}",
                described.join(" vs ")
            ));
        }
        let first = tables.len();
        for fingerprint in fingerprints {
            let group: Vec<&(&String, &ResultRecord)> = records
                .iter()
                .filter(|(_, r)| r.test_set == fingerprint)
                .collect();
            tables.push(table(dataset, task, metric, &fingerprint, &group));
        }
        // The main table: most entries, the first on a tie.
        let main = (first..tables.len()).fold(first, |m, i| {
            if tables[i].rows.len() > tables[m].rows.len() {
                i
            } else {
                m
            }
        });
        tables[main].main = true;
    }
    for t in &tables {
        notes.extend(
            t.warnings
                .iter()
                .map(|w| format!("{} / {}: {w}", t.dataset, t.task)),
        );
    }
    let (overall, apart) = overall(&tables);
    Leaderboard {
        tables,
        overall,
        apart,
        notes,
    }
}

fn shown(fingerprint: &str) -> String {
    if fingerprint.is_empty() {
        "no test-set fingerprint".into()
    } else {
        format!("test set {fingerprint}")
    }
}

/// One table: an entry per (run, encoder), chosen on validation, ranked.
fn table(
    dataset: &str,
    task: &str,
    metric: &str,
    fingerprint: &str,
    group: &[&(&String, &ResultRecord)],
) -> Table {
    let higher_is_better = group.first().is_none_or(|(_, r)| r.higher_is_better);
    let unscored = group.iter().any(|(_, r)| r.valid_score.is_none());
    let chosen: Vec<(&String, &ResultRecord)> = best_by_validation(
        group.iter().map(|&&(label, r)| (label, r)),
        |(label, r)| ((*label).clone(), r.encoder.clone()),
        |(_, r)| *r,
    );
    let values: Vec<f64> = chosen.iter().map(|(_, r)| r.value).collect();
    let ranks = average_ranks(&values, higher_is_better);
    let mut rows: Vec<Row> = chosen
        .iter()
        .zip(ranks)
        .map(|((label, r), rank)| Row {
            rank: rank.map_or_else(|| "–".into(), |v| format!("{v}")),
            run: (*label).clone(),
            encoder: r.encoder.clone(),
            layer: r.layer.clone(),
            probe: r.probe.clone().unwrap_or_else(|| "-".into()),
            value: format!("{:.3}", r.value),
            low: format!("{:.3}", r.ci_low),
            high: format!("{:.3}", r.ci_high),
            valid: r
                .valid_score
                .map_or_else(|| "–".into(), |v| format!("{v:.3}")),
            n: r.n,
            rank_value: rank,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Row| r.rank_value.unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b))
    });
    let mut warnings = Vec::new();
    if fingerprint.is_empty() {
        warnings.push(
            "results without a test-set fingerprint (written by an older repbench): comparability cannot be checked".into(),
        );
    }
    if unscored {
        warnings.push(
            "some results carry no validation score (older repbench): their layer and probe could not be chosen on validation".into(),
        );
    }
    let implementations = distinct(group.iter().map(|(_, r)| r.implementation.clone()));
    if implementations.len() > 1 {
        warnings.push(format!(
            "results computed by different implementations ({}): values may differ for that reason alone",
            implementations.join(" | ")
        ));
    }
    let versions = distinct(group.iter().map(|(_, r)| r.repbench_version.clone()));
    if versions.len() > 1 {
        warnings.push(format!(
            "runs come from different repbench versions ({})",
            versions.join(", ")
        ));
    }
    Table {
        dataset: dataset.into(),
        task: task.into(),
        metric: metric.into(),
        higher_is_better,
        test_set: fingerprint.into(),
        main: false,
        warnings,
        rows,
    }
}

/// Mean rank of each (run, encoder) over the main tables; entries missing
/// one (or unranked in one) are returned apart.
fn overall(tables: &[Table]) -> (Vec<Overall>, Vec<Overall>) {
    let mut ranks: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for t in tables {
        for row in &t.rows {
            let who = (row.run.clone(), row.encoder.clone());
            if !order.contains(&who) {
                order.push(who.clone());
            }
            if let (true, Some(rank)) = (t.main, row.rank_value) {
                ranks.entry(who).or_default().push(rank);
            }
        }
    }
    let tables: Vec<&Table> = tables.iter().filter(|t| t.main).collect();
    let (mut complete, mut apart) = (Vec::new(), Vec::new());
    for who in order {
        let r = ranks.remove(&who).unwrap_or_default();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let entry = Overall {
            run: who.0,
            encoder: who.1,
            mean_rank: if r.is_empty() {
                "–".into()
            } else {
                format!("{mean:.2}")
            },
            tasks: r.len(),
        };
        if r.len() == tables.len() && !r.is_empty() {
            complete.push((mean, entry));
        } else {
            apart.push(entry);
        }
    }
    complete.sort_by(|a, b| a.0.total_cmp(&b.0));
    (complete.into_iter().map(|(_, o)| o).collect(), apart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(encoder: &str, layer: usize, value: f64, valid: f64, test_set: &str) -> ResultRecord {
        ResultRecord {
            layer: layer.to_string(),
            dataset: "tones".into(),
            valid_score: Some(valid),
            test_set: test_set.into(),
            ..crate::tests::record(encoder, value)
        }
    }

    #[test]
    fn average_ranks_share_ties_and_skip_undefined() {
        let r = average_ranks(&[0.5, 0.9, 0.5, f64::NAN, 0.1], true);
        assert_eq!(r, [Some(2.5), Some(1.0), Some(2.5), None, Some(4.0)]);
        let r = average_ranks(&[3.0, 1.0, 1.0], false);
        assert_eq!(r, [Some(3.0), Some(1.5), Some(1.5)]);
    }

    /// Hand-computed: a 13-layer encoder whose best *test* layer (12) is
    /// not its best *validation* layer (5) enters with layer 5's 0.55; two
    /// encoders of another run tie at 0.60 and share rank 1.5; a run over
    /// a different test set with the same item count gets its own table.
    #[test]
    fn one_entry_per_encoder_chosen_on_validation_ties_averaged_test_sets_apart() {
        let mut a: Vec<ResultRecord> = (0..13)
            .map(|l| {
                let value = if l == 12 {
                    0.70
                } else {
                    0.40 + 0.01 * l as f64
                };
                let valid = if l == 5 { 0.9 } else { 0.5 };
                record("big", l, value, valid, "aaaa")
            })
            .collect();
        a.iter_mut().find(|r| r.layer == "5").unwrap().value = 0.55;
        let b = vec![
            record("small", 0, 0.60, 0.8, "aaaa"),
            record("other", 0, 0.60, 0.7, "aaaa"),
        ];
        let c = vec![record("small", 0, 0.95, 0.9, "bbbb")];
        let board = build(&[
            ("run-a".into(), a),
            ("run-b".into(), b),
            ("run-c".into(), c),
        ]);
        assert_eq!(board.tables.len(), 2);
        let t = &board.tables[0];
        let got: Vec<(&str, &str, &str)> = t
            .rows
            .iter()
            .map(|r| (r.encoder.as_str(), r.layer.as_str(), r.rank.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("small", "0", "1.5"),
                ("other", "0", "1.5"),
                ("big", "5", "3")
            ]
        );
        assert_eq!(board.tables[1].rows.len(), 1);
        assert!(
            board.notes.iter().any(|n| n.contains("different test sets")
                && n.contains("run-a")
                && n.contains("run-c")),
            "{:?}",
            board.notes
        );
        // The first table is the task's main one: its three entries are
        // ranked overall; run-c's, scored on another test set, are not.
        assert!(board.tables[0].main && !board.tables[1].main);
        let overall: Vec<(&str, &str)> = board
            .overall
            .iter()
            .map(|o| (o.run.as_str(), o.mean_rank.as_str()))
            .collect();
        assert_eq!(
            overall,
            [("run-b", "1.50"), ("run-b", "1.50"), ("run-a", "3.00")]
        );
        assert_eq!(board.apart.len(), 1);
        assert_eq!(board.apart[0].run, "run-c");
    }
}
