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
//! - each rank carries a 95% interval from paired bootstrap resamples of
//!   the test items (the runs' `predictions.jsonl`, see
//!   [`crate::rank_intervals`]), and so does the mean rank; an entry whose
//!   interval overlaps the next one's is not separable from it;
//! - the wide table (MTEB's layout: entries × tasks, grouped by kind of
//!   task) gives per entry its mean rank, its Borda count (entries ranked
//!   below it, summed over tasks) and its mean normalised score (each
//!   task's values mapped to 0 = worst entry, 1 = best).
//!
//! Only scored tasks are ranked (probes, retrieval, invariance and
//! equivariance): disentanglement, geometry, drift and robustness values
//! describe a representation rather than score it against a target.

use crate::answer::{best_by_validation, SCORED};
use crate::rank_intervals::{rank_samples, RankSamples};
use repbench_framework::record::{ItemPredictions, PredictionRecord, ResultRecord};
use serde::Serialize;
use std::collections::HashMap;

/// One run directory's contents, as the leaderboard reads them.
pub struct RunInput {
    /// How the run is named in the page (its run id, and its directory
    /// when two share an id).
    pub label: String,
    /// `results.jsonl`.
    pub records: Vec<ResultRecord>,
    /// `predictions.jsonl` (empty for runs written before it existed).
    pub predictions: Vec<PredictionRecord>,
}

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
    /// 95% interval of the rank over paired resamples ("" without one).
    rank_interval: String,
    /// The interval overlaps the next row's: the two are not separable.
    tied_with_next: bool,
    /// First, and better than every other entry by paired bootstrap tests
    /// after Holm's adjustment (see [`RankSamples::significantly_best`]).
    significantly_best: bool,
    #[serde(skip)]
    rank_value: Option<f64>,
    #[serde(skip)]
    value_number: f64,
    #[serde(skip)]
    ci: (f64, f64),
    /// The probe as `predictions.jsonl` names it (`none` without one).
    #[serde(skip)]
    probe_key: String,
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
    /// Kind of task, the wide table's column group.
    group: &'static str,
    /// Anchor of the table in the page.
    anchor: String,
    warnings: Vec<String>,
    rows: Vec<Row>,
    /// Each row's ranks on the paired resamples, when predictions allow.
    #[serde(skip)]
    samples: Option<RankSamples>,
}

/// An entry's mean rank over tasks, with the wide table's row.
#[derive(Serialize)]
pub struct Overall {
    pub(crate) run: String,
    pub(crate) encoder: String,
    pub(crate) mean_rank: String,
    pub(crate) tasks: usize,
    /// 95% interval of the mean rank ("" without predictions for every
    /// main table).
    pub(crate) rank_interval: String,
    /// The interval overlaps the next entry's.
    pub(crate) tied_with_next: bool,
    /// Entries ranked below it, summed over the main tables (ties count
    /// half).
    pub(crate) borda: String,
    /// Mean over the main tables of its value mapped to 0 (the table's
    /// worst entry) … 1 (its best).
    pub(crate) mean_score: String,
    /// Per main table (in [`Leaderboard::columns`] order): the value with
    /// its interval (empty where missing).
    pub(crate) cells: Vec<Cell>,
    /// The mean-rank interval as a small inline SVG on the 1 … N axis.
    pub(crate) interval_svg: String,
    #[serde(skip)]
    pub(crate) interval: Option<(f64, f64)>,
    /// The mean rank, Borda count and mean normalised score as numbers
    /// (NaN where the entry has no ranked task).
    #[serde(skip)]
    pub(crate) numbers: [f64; 3],
}

/// A value of the wide table with its 95% interval.
#[derive(Serialize, Clone, Default)]
pub struct Cell {
    pub(crate) value: String,
    pub(crate) low: String,
    pub(crate) high: String,
    /// Significantly best in its column (shown bold).
    pub(crate) best: bool,
    /// The value, its interval and its rank in the column, as numbers
    /// (`None` where the entry has no value in the column).
    #[serde(skip)]
    pub(crate) numbers: Option<CellNumbers>,
}

/// A wide-table cell as numbers, for the data exports.
#[derive(Clone, Copy)]
pub(crate) struct CellNumbers {
    pub(crate) value: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// Rank in the column's table (`None` when the value is undefined).
    pub(crate) rank: Option<f64>,
}

impl Cell {
    /// `value [low, high]`, or "–" for a missing value.
    pub(crate) fn text(&self) -> String {
        if self.value.is_empty() {
            "–".into()
        } else {
            format!("{} [{}, {}]", self.value, self.low, self.high)
        }
    }
}

/// A rank (or rank percentile) as shown: at most two decimals, no
/// trailing zeros (1, 2.5, 1.74).
fn rank_text(r: f64) -> String {
    let s = format!("{r:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One column of the wide table: a main table.
#[derive(Serialize)]
pub struct Column {
    /// Whether the overall ranking counts this task.
    pub(crate) in_ranking: bool,
    pub(crate) group: &'static str,
    pub(crate) dataset: String,
    pub(crate) task: String,
    pub(crate) metric: String,
    pub(crate) anchor: String,
}

/// Everything the leaderboard page shows.
#[derive(Serialize)]
pub struct Leaderboard {
    /// Ranked tables.
    pub tables: Vec<Table>,
    /// The wide table's columns (the main tables, grouped by kind).
    pub columns: Vec<Column>,
    /// The groups present, in column order.
    pub groups: Vec<&'static str>,
    /// Entries present in every table, by mean rank.
    pub overall: Vec<Overall>,
    /// Entries missing some table (not ranked overall).
    pub apart: Vec<Overall>,
    /// Why results were kept apart or flagged (also printed by the CLI).
    pub notes: Vec<String>,
}

/// Ranks `values` (best first), ties sharing their average rank; NaN is
/// not ranked.
pub(crate) fn average_ranks(values: &[f64], higher_is_better: bool) -> Vec<Option<f64>> {
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

/// The column group of a task, from its evaluator and primary metric.
fn group_of(evaluator: &str, metric: &str) -> &'static str {
    match evaluator {
        "retrieval" => "retrieval",
        "invariance" | "equivariance" => "properties",
        _ if metric.starts_with("average_precision") || metric.starts_with("roc_auc") => "tagging",
        _ if matches!(metric, "r2" | "pearson_r" | "rmse" | "mae") => "regression",
        _ => "classification",
    }
}

/// Column groups in the order the wide table shows them (MTEB's layout).
const GROUPS: [&str; 5] = [
    "classification",
    "tagging",
    "regression",
    "retrieval",
    "properties",
];

/// Builds the leaderboard from the runs' records and predictions.
pub fn build(runs: &[RunInput]) -> Leaderboard {
    let clean = |r: &&ResultRecord| {
        r.perturbation == "none"
            && r.probe_seed.is_none()
            && !r.is_pairwise()
            && SCORED.contains(&r.evaluator.as_str())
    };
    // (dataset, task) in first-seen order, with the task's primary metric
    // (its first, which also selects on validation).
    let mut tasks: Vec<(String, String, String)> = Vec::new();
    for run in runs {
        for r in run.records.iter().filter(clean) {
            if !tasks.iter().any(|t| t.0 == r.dataset && t.1 == r.task) {
                tasks.push((r.dataset.clone(), r.task.clone(), r.metric.clone()));
            }
        }
    }
    // Clean predictions by (run, dataset, task, encoder, layer, probe).
    let mut predictions: HashMap<PredictionKey, &ItemPredictions> = HashMap::new();
    for run in runs {
        for p in run.predictions.iter().filter(|p| p.perturbation == "none") {
            let key = (
                run.label.clone(),
                p.dataset.clone(),
                p.task.clone(),
                p.encoder.clone(),
                p.layer.clone(),
                p.predictions.probe.clone(),
            );
            predictions.insert(key, &p.predictions);
        }
    }
    let mut tables = Vec::new();
    let mut notes = Vec::new();
    for (dataset, task, metric) in &tasks {
        let records: Vec<(&String, &ResultRecord)> = runs
            .iter()
            .flat_map(|run| {
                run.records
                    .iter()
                    .filter(clean)
                    .map(move |r| (&run.label, r))
            })
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
            let mut t = table(dataset, task, metric, &fingerprint, &group);
            t.anchor = format!("t{}", tables.len() + 1);
            tables.push(t);
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
    for t in &mut tables {
        attach_intervals(t, &predictions);
    }
    for t in &tables {
        notes.extend(
            t.warnings
                .iter()
                .map(|w| format!("{} / {}: {w}", t.dataset, t.task)),
        );
    }
    let columns: Vec<usize> = GROUPS
        .iter()
        .flat_map(|g| {
            tables
                .iter()
                .enumerate()
                .filter(move |(_, t)| t.main && t.group == *g)
                .map(|(i, _)| i)
        })
        .collect();
    let (overall, apart, ranked_set) = overall(&tables, &columns);
    if !apart.is_empty() && !overall.is_empty() {
        let names: Vec<String> = ranked_set
            .iter()
            .map(|&c| {
                format!(
                    "{} / {}",
                    tables[columns[c]].dataset, tables[columns[c]].task
                )
            })
            .collect();
        notes.push(format!(
            "the overall ranking is over the {} task(s) most entries share ({}); {} entr{} missing one of them {} listed apart, not ranked on fewer tasks",
            names.len(),
            names.join(", "),
            apart.len(),
            if apart.len() == 1 { "y" } else { "ies" },
            if apart.len() == 1 { "is" } else { "are" },
        ));
    }
    let groups = GROUPS
        .iter()
        .copied()
        .filter(|g| columns.iter().any(|&c| tables[c].group == *g))
        .collect();
    Leaderboard {
        columns: columns
            .iter()
            .enumerate()
            .map(|(k, &c)| Column {
                in_ranking: ranked_set.contains(&k),
                group: tables[c].group,
                dataset: tables[c].dataset.clone(),
                task: tables[c].task.clone(),
                metric: tables[c].metric.clone(),
                anchor: tables[c].anchor.clone(),
            })
            .collect(),
        groups,
        tables,
        overall,
        apart,
        notes,
    }
}

/// A unit whose predictions a leaderboard reads: (run label, dataset,
/// task, encoder, layer, probe).
pub type PredictionKey = (String, String, String, String, String, String);

/// The units whose clean predictions `board`'s rank intervals need (each
/// ranked row of each table), so that a reader can skip every other line
/// of the runs' `predictions.jsonl`.
pub fn needed_predictions(board: &Leaderboard) -> std::collections::HashSet<PredictionKey> {
    board
        .tables
        .iter()
        .flat_map(|t| {
            t.rows
                .iter()
                .filter(|r| r.rank_value.is_some())
                .map(move |r| prediction_key(t, r))
        })
        .collect()
}

/// The unit of row `r` of table `t`.
fn prediction_key(t: &Table, r: &Row) -> PredictionKey {
    (
        r.run.clone(),
        t.dataset.clone(),
        t.task.clone(),
        r.encoder.clone(),
        r.layer.clone(),
        r.probe_key.clone(),
    )
}

/// Rank intervals for `t`'s ranked rows from their predictions; a warning
/// says why when some entry has none.
fn attach_intervals(t: &mut Table, predictions: &HashMap<PredictionKey, &ItemPredictions>) {
    let ranked: Vec<usize> = (0..t.rows.len())
        .filter(|&i| t.rows[i].rank_value.is_some())
        .collect();
    if ranked.len() < 2 {
        return;
    }
    let found: Option<Vec<&ItemPredictions>> = ranked
        .iter()
        .map(|&i| predictions.get(&prediction_key(t, &t.rows[i])).copied())
        .collect();
    let Some(found) = found else {
        t.warnings.push(
            "no rank intervals: some entries have no per-item predictions (predictions.jsonl; written by repbench runs of this version, for probe, retrieval and property tasks)".into(),
        );
        return;
    };
    match rank_samples(&found, &t.metric, t.higher_is_better, &t.test_set) {
        Ok(samples) => {
            for (k, &i) in ranked.iter().enumerate() {
                let (low, high) = samples.interval(k);
                t.rows[i].rank_interval = format!("[{}, {}]", rank_text(low), rank_text(high));
            }
            for k in 0..ranked.len().saturating_sub(1) {
                let (_, high) = samples.interval(k);
                let (low, _) = samples.interval(k + 1);
                t.rows[ranked[k]].tied_with_next = low <= high;
            }
            // Rows are in rank order: a sole first is tested against the rest.
            let sole_first = t.rows[ranked[0]].rank_value == Some(1.0)
                && t.rows[ranked[1]].rank_value != Some(1.0);
            if sole_first {
                let others: Vec<usize> = (1..ranked.len()).collect();
                t.rows[ranked[0]].significantly_best =
                    samples.significantly_best(0, &others, t.higher_is_better);
            }
            // Samples indexed by row (unranked rows have none).
            let mut by_row = RankSamples {
                ranks: vec![Vec::new(); t.rows.len()],
                values: vec![Vec::new(); t.rows.len()],
            };
            for (k, &i) in ranked.iter().enumerate() {
                by_row.ranks[i] = samples.ranks[k].clone();
                by_row.values[i] = samples.values[k].clone();
            }
            t.samples = Some(by_row);
        }
        Err(why) => t.warnings.push(format!("no rank intervals: {why}")),
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
    let kind = group
        .first()
        .map_or("classification", |(_, r)| group_of(&r.evaluator, metric));
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
            rank_interval: String::new(),
            tied_with_next: false,
            significantly_best: false,
            rank_value: rank,
            value_number: r.value,
            ci: (r.ci_low, r.ci_high),
            probe_key: r.probe.clone().unwrap_or_else(|| "none".into()),
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
        group: kind,
        anchor: String::new(),
        warnings,
        rows,
        samples: None,
    }
}

/// Each (run, encoder)'s mean rank, Borda count, mean normalised score
/// and wide-table cells over the main tables `columns` (indices into
/// `tables`); entries missing one (or unranked in one) are returned apart.
fn overall(tables: &[Table], columns: &[usize]) -> (Vec<Overall>, Vec<Overall>, Vec<usize>) {
    let mut order: Vec<(String, String)> = Vec::new();
    for t in tables {
        for row in &t.rows {
            let who = (row.run.clone(), row.encoder.clone());
            if !order.contains(&who) {
                order.push(who);
            }
        }
    }
    struct Tally {
        ranks: Vec<f64>,
        borda: f64,
        scores: Vec<f64>,
        samples: Vec<Option<Vec<f64>>>,
        cells: Vec<Cell>,
    }
    let mut tallies: Vec<Tally> = order
        .iter()
        .map(|_| Tally {
            ranks: Vec::new(),
            borda: 0.0,
            scores: Vec::new(),
            samples: Vec::new(),
            cells: vec![Cell::default(); columns.len()],
        })
        .collect();
    let entry_of = |row: &Row| {
        order
            .iter()
            .position(|w| w.0 == row.run && w.1 == row.encoder)
    };
    // Which columns each entry is ranked in; the overall ranking is over
    // the column set that covers most (entries × tasks), ties → more
    // entries: entries with disjoint tasks are not ranked on fewer.
    let mut has: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (c, &ti) in columns.iter().enumerate() {
        for row in tables[ti].rows.iter().filter(|r| r.rank_value.is_some()) {
            if let Some(e) = entry_of(row) {
                has[e].push(c);
            }
        }
    }
    let covers = |h: &[usize], set: &[usize]| set.iter().all(|c| h.contains(c));
    let mut ranked_set: Vec<usize> = Vec::new();
    let mut best_cover = (0, 0);
    for candidate in has.iter().filter(|h| !h.is_empty()) {
        let n = has.iter().filter(|h| covers(h, candidate)).count();
        let cover = (n * candidate.len(), n);
        if cover > best_cover {
            best_cover = cover;
            ranked_set = candidate.clone();
        }
    }
    for (c, &ti) in columns.iter().enumerate() {
        let t = &tables[ti];
        let in_ranking = ranked_set.contains(&c);
        let ranked: Vec<&Row> = t.rows.iter().filter(|r| r.rank_value.is_some()).collect();
        let (best, worst) = ranked
            .iter()
            .fold((f64::NEG_INFINITY, f64::INFINITY), |(hi, lo), r| {
                (hi.max(r.value_number), lo.min(r.value_number))
            });
        for (ri, row) in t.rows.iter().enumerate() {
            let Some(e) = entry_of(row) else {
                continue;
            };
            let tally = &mut tallies[e];
            tally.cells[c] = Cell {
                value: row.value.clone(),
                low: row.low.clone(),
                high: row.high.clone(),
                best: row.significantly_best,
                numbers: Some(CellNumbers {
                    value: row.value_number,
                    low: row.ci.0,
                    high: row.ci.1,
                    rank: row.rank_value,
                }),
            };
            // A ranked entry counts the ranking's tasks only; one listed
            // apart shows its mean over the tasks it has.
            let counted = in_ranking || !covers(&has[e], &ranked_set);
            let (Some(rank), true) = (row.rank_value, counted) else {
                continue;
            };
            tally.ranks.push(rank);
            tally.borda += ranked.len() as f64 - rank;
            let span = best - worst;
            let normalised = if span > 0.0 {
                let up = (row.value_number - worst) / span;
                if t.higher_is_better {
                    up
                } else {
                    1.0 - up
                }
            } else {
                1.0
            };
            tally.scores.push(normalised);
            tally
                .samples
                .push(t.samples.as_ref().map(|s| s.ranks[ri].clone()));
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let entries = order.len();
    let (mut complete, mut apart) = (Vec::new(), Vec::new());
    for ((who, tally), h) in order.into_iter().zip(tallies).zip(&has) {
        let full = !ranked_set.is_empty() && covers(h, &ranked_set);
        // The mean rank on each resample, when every table has samples.
        let interval = tally
            .samples
            .iter()
            .map(Option::as_ref)
            .collect::<Option<Vec<&Vec<f64>>>>()
            .filter(|s| full && !s.is_empty())
            .map(|samples| {
                let b = samples[0].len();
                let means: Vec<f64> = (0..b)
                    .map(|k| samples.iter().map(|s| s[k]).sum::<f64>() / samples.len() as f64)
                    .collect();
                (
                    repbench_framework::bootstrap::percentile(&means, 2.5),
                    repbench_framework::bootstrap::percentile(&means, 97.5),
                )
            });
        let m = mean(&tally.ranks);
        let entry = Overall {
            run: who.0,
            encoder: who.1,
            mean_rank: if tally.ranks.is_empty() {
                "–".into()
            } else {
                format!("{m:.2}")
            },
            tasks: tally.ranks.len(),
            rank_interval: interval.map_or_else(String::new, |(l, h)| format!("[{l:.2}, {h:.2}]")),
            tied_with_next: false,
            borda: format!("{}", tally.borda),
            mean_score: if tally.scores.is_empty() {
                "–".into()
            } else {
                format!("{:.3}", mean(&tally.scores))
            },
            numbers: [
                if tally.ranks.is_empty() { f64::NAN } else { m },
                tally.borda,
                if tally.scores.is_empty() {
                    f64::NAN
                } else {
                    mean(&tally.scores)
                },
            ],
            cells: tally.cells,
            interval_svg: interval
                .map_or_else(String::new, |(l, h)| interval_svg(l, m, h, entries)),
            interval,
        };
        if full {
            complete.push((m, entry));
        } else {
            apart.push(entry);
        }
    }
    complete.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut complete: Vec<Overall> = complete.into_iter().map(|(_, o)| o).collect();
    for k in 0..complete.len().saturating_sub(1) {
        if let (Some((_, high)), Some((low, _))) = (complete[k].interval, complete[k + 1].interval)
        {
            complete[k].tied_with_next = low <= high;
        }
    }
    (complete, apart, ranked_set)
}

/// A mean rank `mean` with its interval `[low, high]` on the axis 1 … `n`
/// (best on the left), as a 120 × 14 inline SVG.
fn interval_svg(low: f64, mean: f64, high: f64, n: usize) -> String {
    let span = (n.max(2) - 1) as f64;
    let x = |r: f64| 4.0 + 112.0 * (r - 1.0) / span;
    format!(
        "<svg class=\"rank\" width=\"120\" height=\"14\" viewBox=\"0 0 120 14\" role=\"img\" aria-label=\"mean rank {mean:.2}, 95% interval {low:.2} to {high:.2} of {n}\">\
<line x1=\"4\" y1=\"7\" x2=\"116\" y2=\"7\" stroke=\"#ccc\"/>\
<line x1=\"{:.1}\" y1=\"7\" x2=\"{:.1}\" y2=\"7\" stroke=\"#0072b2\" stroke-width=\"3\"/>\
<circle cx=\"{:.1}\" cy=\"7\" r=\"3\" fill=\"#000\"/></svg>",
        x(low),
        x(high),
        x(mean)
    )
}

#[cfg(test)]
pub(crate) mod tests {
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

    pub(crate) fn run(
        label: &str,
        records: Vec<ResultRecord>,
        predictions: Vec<PredictionRecord>,
    ) -> RunInput {
        RunInput {
            label: label.into(),
            records,
            predictions,
        }
    }

    /// A clean record of `task` with its predictions: `correct` of the 40
    /// test items right (the first ones wrong), so the record's value is
    /// `correct / 40`.
    pub(crate) fn scored(
        encoder: &str,
        task: &str,
        correct: usize,
    ) -> (ResultRecord, PredictionRecord) {
        let n = 40;
        let truth: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let scores: Vec<Vec<f64>> = truth
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let c = if i < n - correct { 1 - t } else { t };
                if c == 0 {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect();
        let value = correct as f64 / n as f64;
        let r = ResultRecord {
            task: task.into(),
            ..record(encoder, 0, value, value, "same")
        };
        let p = clean_predictions(
            encoder,
            task,
            ItemPredictions {
                probe: "logistic".into(),
                target: "classes".into(),
                names: vec!["a".into(), "b".into()],
                ids: (0..n).map(|i| format!("i{i}")).collect(),
                truth: serde_json::json!(truth),
                seeds: vec![0],
                scores: vec![scores],
                forms: Vec::new(),
            },
        );
        (r, p)
    }

    /// The clean `predictions` line of `encoder`'s layer 0 on `task`.
    fn clean_predictions(
        encoder: &str,
        task: &str,
        predictions: ItemPredictions,
    ) -> PredictionRecord {
        PredictionRecord {
            run_id: "r".into(),
            dataset: "tones".into(),
            task: task.into(),
            encoder: encoder.into(),
            layer: "0".into(),
            perturbation: "none".into(),
            severity: None,
            test_set: "same".into(),
            predictions,
        }
    }

    /// Hand-computed wide table: three runs over the same data, two tasks.
    /// pitch: x 40/40, y 30/40, z 30/40 → ranks 1, 2.5, 2.5 (Borda 2, 0.5,
    /// 0.5; normalised 1, 0, 0); timbre: x 20/40, y 36/40, z 28/40 → ranks
    /// 3, 1, 2 (Borda 0, 2, 1; normalised 0, 1, 0.5). Mean ranks 2, 1.75,
    /// 2.25 → order y, x, z; Borda 2.5, 2, 1.5; mean scores 0.5, 0.5, 0.25.
    #[test]
    fn the_wide_table_has_mean_ranks_borda_scores_and_rank_intervals() {
        let mut runs = Vec::new();
        for (label, encoder, pitch, timbre) in [
            ("run-x", "x", 40, 20),
            ("run-y", "y", 30, 36),
            ("run-z", "z", 30, 28),
        ] {
            let (r1, p1) = scored(encoder, "pitch", pitch);
            let (r2, p2) = scored(encoder, "timbre", timbre);
            runs.push(run(label, vec![r1, r2], vec![p1, p2]));
        }
        let board = build(&runs);
        assert_eq!(board.columns.len(), 2);
        assert_eq!(board.groups, ["classification"]);
        let got: Vec<(&str, &str, &str, &str)> = board
            .overall
            .iter()
            .map(|o| {
                (
                    o.encoder.as_str(),
                    o.mean_rank.as_str(),
                    o.borda.as_str(),
                    o.mean_score.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("y", "1.75", "2.5", "0.500"),
                ("x", "2.00", "2", "0.500"),
                ("z", "2.25", "1.5", "0.250")
            ]
        );
        assert_eq!(board.overall[0].cells[0].text(), "0.750 [0.650, 0.800]");
        // Intervals everywhere; x is perfect on pitch on every resample.
        let pitch = &board.tables[0];
        assert!(pitch.rows.iter().all(|r| !r.rank_interval.is_empty()));
        assert_eq!(pitch.rows[0].encoder, "x");
        assert_eq!(pitch.rows[0].rank_interval, "[1, 1]");
        assert!(
            !pitch.rows[0].tied_with_next,
            "x separates from the 30/40 pair"
        );
        assert!(
            pitch.rows[1].tied_with_next,
            "y and z tie on the same items"
        );
        assert!(board.overall.iter().all(|o| !o.rank_interval.is_empty()));
        assert!(board.overall[0].interval_svg.contains("<svg"));
        let md = crate::wide_table::markdown(&board);
        assert!(
            md.starts_with("| run | encoder | tones / pitch (accuracy; classification) |"),
            "{md}"
        );
        assert!(
            md.contains("| run-y | y | 0.750 [0.650, 0.800] | **0.900** [0.800, 0.950] | 1.75 |"),
            "y leads timbre by 8 of 40 items on every resample: significantly best. {md}"
        );
        // x leads pitch by 10 items: bold in its column, and only there.
        let bold: Vec<(usize, usize)> = board
            .overall
            .iter()
            .enumerate()
            .flat_map(|(e, o)| {
                o.cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.best)
                    .map(move |(c, _)| (e, c))
            })
            .collect();
        assert_eq!(bold, [(0, 1), (1, 0)]);
        // The wrong items are nested (each encoder misses the first ones),
        // so every resample orders the entries alike: degenerate intervals.
        let z = &board.overall[2];
        assert_eq!(z.interval, Some((2.25, 2.25)));
        let n = z.cells[1].numbers.unwrap();
        assert_eq!((n.value, n.rank), (0.7, Some(2.0)));
    }

    /// One item apart is not a significant lead: the leader is not bold.
    #[test]
    fn a_lead_that_resamples_do_not_support_is_not_significantly_best() {
        let (r1, p1) = scored("x", "pitch", 21);
        let (r2, p2) = scored("y", "pitch", 20);
        let (r3, p3) = scored("z", "pitch", 5);
        let board = build(&[run("a", vec![r1, r2, r3], vec![p1, p2, p3])]);
        let t = &board.tables[0];
        assert_eq!(t.rows[0].encoder, "x");
        assert!(!t.rows[0].significantly_best);
        assert!(!board.overall[0].cells[0].best);
        // Against z alone (16 items behind) x would be: the test is per pair.
        let (r1, p1) = scored("x", "pitch", 21);
        let (r3, p3) = scored("z", "pitch", 5);
        let board = build(&[run("a", vec![r1, r3], vec![p1, p3])]);
        assert!(board.tables[0].rows[0].significantly_best);
    }

    /// Retrieval entries (no probe) rank with intervals from their
    /// per-query values: x's queries all score 1, y's alternate 1 and 0.
    #[test]
    fn retrieval_ranks_resample_queries() {
        let n = 30;
        let entry = |encoder: &str, ap: &dyn Fn(usize) -> f64| {
            let values: Vec<f64> = (0..n).map(ap).collect();
            let map = values.iter().sum::<f64>() / n as f64;
            let r = ResultRecord {
                task: "query".into(),
                evaluator: "retrieval".into(),
                probe: None,
                metric: "map".into(),
                ..record(encoder, 0, map, map, "same")
            };
            let p = clean_predictions(
                encoder,
                "query",
                ItemPredictions {
                    probe: "none".into(),
                    target: "per_query".into(),
                    names: vec!["map".into()],
                    ids: (0..n).map(|i| format!("i{i}")).collect(),
                    truth: serde_json::json!(vec!["a"; n]),
                    seeds: vec![0],
                    scores: vec![values.iter().map(|v| vec![*v]).collect()],
                    forms: Vec::new(),
                },
            );
            (r, p)
        };
        let (rx, px) = entry("x", &|_| 1.0);
        let (ry, py) = entry("y", &|i| (i % 2) as f64);
        let board = build(&[run("a", vec![rx, ry], vec![px, py])]);
        let t = &board.tables[0];
        assert_eq!(t.group, "retrieval");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.rows[0].encoder, "x");
        assert_eq!(t.rows[0].rank_interval, "[1, 1]");
        assert!(t.rows[0].significantly_best);
    }

    #[test]
    fn missing_predictions_are_said_not_hidden() {
        let (r1, p1) = scored("x", "pitch", 40);
        let (r2, _) = scored("y", "pitch", 30);
        let board = build(&[run("a", vec![r1], vec![p1]), run("b", vec![r2], vec![])]);
        assert!(board.tables[0]
            .rows
            .iter()
            .all(|r| r.rank_interval.is_empty()));
        assert!(
            board.notes.iter().any(|n| n.contains("no rank intervals")),
            "{:?}",
            board.notes
        );
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
            run("run-a", a, vec![]),
            run("run-b", b, vec![]),
            run("run-c", c, vec![]),
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
