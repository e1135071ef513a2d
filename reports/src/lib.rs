//! repbench reports: render a run directory's `results.jsonl` into a
//! self-contained HTML page (no scripts, fonts or images fetched).
//!
//! ```no_run
//! // After `repbench run` has written runs/quickstart/results.jsonl:
//! let page = repbench_reports::write_report(std::path::Path::new("runs/quickstart")).unwrap();
//! println!("{}", page.display());
//! ```

mod answer;
mod board_files;
mod chart;
mod confusion;
mod cross;
pub mod export;
mod heat;
mod importance;
mod label_curve;
mod layers;
mod leaderboard;
mod maps;
pub mod outputs;
mod per_tag;
mod profile;
mod properties;
mod provenance;
mod rank_intervals;
mod robustness;
mod similarity;
mod sweep_axis;
mod table;
mod wide_table;

pub use answer::representatives;
use minijinja::{context, Environment};
use repbench_framework::record::{
    read_jsonl, ComparisonRecord, MapRecord, MatrixRecord, PredictionRecord, ResultRecord,
};
use repbench_framework::{fsutil, Error, Result, VERSION};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// File names inside a run directory.
pub mod layout {
    /// One JSON record per measured value.
    pub const RESULTS: &str = "results.jsonl";
    /// Paired comparisons between encoders.
    pub const COMPARISONS: &str = "comparisons.jsonl";
    /// Per-item test predictions on clean audio (one line per task ×
    /// encoder × layer × probe), from which leaderboards resample.
    pub const PREDICTIONS: &str = "predictions.jsonl";
    /// The same per perturbation severity (robustness sweeps), apart so
    /// that readers of clean results need not scan them.
    pub const PREDICTIONS_PERTURBED: &str = "predictions_perturbed.jsonl";
    /// 2-D maps (PCA, t-SNE) of each encoder's test embeddings per task.
    pub const MAPS: &str = "maps.jsonl";
    /// Matrices of values per unit (DCI's importances), one per line.
    pub const MATRICES: &str = "matrices.jsonl";
    /// Timings, cache statistics and provenance of the last run.
    pub const RUN: &str = "run.json";
    /// The config the run used, as given.
    pub const CONFIG: &str = "config.toml";
    /// The report directory.
    pub const REPORT_DIR: &str = "report";
    /// How each item was split.
    pub const SPLITS: &str = "splits.csv";
    /// The output set's manifest, written last (see [`crate::outputs`]).
    pub const MANIFEST: &str = "outputs.json";
}

const TEMPLATE: &str = include_str!("../templates/report.html");
const LEADERBOARD: &str = include_str!("../templates/leaderboard.html");
const STYLE: &str = include_str!("../templates/style.css");

/// Renders the report page for `records`.
///
/// `predictions` are the run's per-item predictions (those of the units
/// "Who wins" shows suffice: they give the confusion matrices); `maps`
/// are the run's embedding maps; `matrices` its per-unit matrices (DCI
/// importances); `config`
/// is the config text shown verbatim; `run` is `run.json`'s content (shown
/// as a key/value table when it is an object).
pub fn render_html(
    records: &[ResultRecord],
    comparisons: &[ComparisonRecord],
    predictions: &[PredictionRecord],
    maps: &[MapRecord],
    matrices: &[MatrixRecord],
    config: &str,
    run: &serde_json::Value,
) -> Result<String> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Other(format!("report template: {e}")))?;
    let tasks = table::task_tables(records);
    let answer = answer::answer(records, comparisons);
    let comparisons = table::comparison_tables(comparisons);
    let sweeps = sweep_axis::sweeps(run);
    let robustness = robustness::robustness(records, &sweeps)?;
    let drift = robustness::drift(records, &sweeps)?;
    let layer_charts = layers::charts(records)?;
    let property_curves = properties::curves(records, &sweep_axis::theta_axes(config))?;
    let label_curves = label_curve::curves(records)?;
    let profile = profile::profile(records);
    let cross_matrices = cross::matrices(records);
    let similarity = similarity::matrices(records);
    let confusions = confusion::matrices(records, predictions);
    let maps = maps::sections(maps)?;
    let tag_tables = per_tag::tables(records, predictions);
    let importance = importance::maps(matrices);
    let skipped: Vec<serde_json::Value> = run
        .get("skipped_items")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let warnings: Vec<serde_json::Value> = run
        .get("warnings")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let run_rows = provenance::rows(run);
    let first = records.first();
    let run_name = run
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("repbench run");
    env.get_template("report.html")
        .and_then(|t| {
            t.render(context! {
                style => STYLE,
                run_name,
                run_id => first.map(|r| r.run_id.as_str()).unwrap_or("-"),
                config_hash => first.map(|r| r.config_hash.as_str()).unwrap_or("-"),
                version => VERSION,
                n_records => records.len(),
                answer,
                tasks,
                comparisons,
                robustness,
                drift,
                layer_charts,
                property_curves,
                label_curves,
                profile,
                cross_matrices,
                similarity,
                confusions,
                maps,
                tag_tables,
                importance,
                skipped,
                warnings,
                run => run_rows,
                config,
            })
        })
        .map_err(|e| Error::Other(format!("rendering the report failed: {e}")))
}

/// Renders a leaderboard across the run directories `dirs` (each sealed
/// by `run`; `predictions.jsonl` is read when present) as an HTML page.
pub fn leaderboard_html(dirs: &[PathBuf]) -> Result<(String, Vec<String>)> {
    leaderboard_as(dirs, LeaderboardFormat::Html)
}

/// What `repbench leaderboard` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderboardFormat {
    /// The page: wide table, rank intervals, per-task tables, notes.
    Html,
    /// The wide table as a Markdown table.
    Markdown,
    /// The wide table as CSV (one row per entry).
    Csv,
}

/// One run directory as a leaderboard reads it.
#[derive(Serialize)]
struct RunSummary {
    label: String,
    dir: String,
    config_hash: String,
    version: String,
    predictions: bool,
}

/// How each run is named: its run id (`ids[i]`, the directory when it has
/// no records), and its directory too when two runs share an id.
pub(crate) fn run_labels(dirs: &[PathBuf], ids: &[Option<String>]) -> Vec<String> {
    let labels: Vec<String> = ids
        .iter()
        .zip(dirs)
        .map(|(id, dir)| id.clone().unwrap_or_else(|| dir.display().to_string()))
        .collect();
    labels
        .iter()
        .zip(dirs)
        .map(|(label, dir)| {
            if labels.iter().filter(|l| *l == label).count() > 1 {
                format!("{label} ({})", dir.display())
            } else {
                label.clone()
            }
        })
        .collect()
}

/// Reads the run directories `dirs` (clean results, and the predictions
/// the rank intervals need) and builds their leaderboard.
pub(crate) fn load_board(
    dirs: &[PathBuf],
) -> Result<(Vec<leaderboard::RunInput>, leaderboard::Leaderboard)> {
    use rayon::prelude::*;
    // Directories are read in parallel and kept in the order given.
    let records: Vec<Vec<ResultRecord>> = dirs
        .par_iter()
        .map(|dir| {
            outputs::verify_reading(dir, &[layout::RESULTS, layout::PREDICTIONS])?;
            board_files::read_clean_results(&dir.join(layout::RESULTS))
        })
        .collect::<Result<_>>()?;
    let ids: Vec<Option<String>> = records
        .iter()
        .map(|r| r.first().map(|r| r.run_id.clone()))
        .collect();
    let mut runs: Vec<leaderboard::RunInput> = run_labels(dirs, &ids)
        .into_iter()
        .zip(records)
        .map(|(label, records)| leaderboard::RunInput {
            label,
            records,
            predictions: Vec::new(),
        })
        .collect();
    // The tables say which units' predictions the rank intervals need;
    // only those lines are parsed in full.
    let needed = leaderboard::needed_predictions(&leaderboard::build(&runs));
    let predictions: Vec<Vec<_>> = runs
        .par_iter()
        .zip(dirs)
        .map(|(run, dir)| {
            board_files::read_needed(&dir.join(layout::PREDICTIONS), &run.label, &needed)
        })
        .collect::<Result<_>>()?;
    for (run, p) in runs.iter_mut().zip(predictions) {
        run.predictions = p;
    }
    let board = leaderboard::build(&runs);
    Ok((runs, board))
}

/// Reads the run directories `dirs` and renders their leaderboard in
/// `format`, with the notes on what was kept apart or flagged.
pub fn leaderboard_as(
    dirs: &[PathBuf],
    format: LeaderboardFormat,
) -> Result<(String, Vec<String>)> {
    if format != LeaderboardFormat::Html {
        // The text forms are the wide table's exports.
        let as_export = match format {
            LeaderboardFormat::Csv => export::ExportFormat::Csv,
            _ => export::ExportFormat::Markdown,
        };
        let (bytes, notes) = export::export(dirs, export::ExportTable::Wide, as_export)?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::Other(format!("the exported table is not UTF-8: {e}")))?;
        return Ok((text, notes));
    }
    let (runs, board) = load_board(dirs)?;
    let text = {
        let summaries: Vec<RunSummary> = runs
            .iter()
            .zip(dirs)
            .map(|(run, dir)| RunSummary {
                label: run.label.clone(),
                dir: dir.display().to_string(),
                config_hash: run
                    .records
                    .first()
                    .map_or_else(String::new, |r| r.config_hash.clone()),
                version: run
                    .records
                    .first()
                    .map_or_else(String::new, |r| r.repbench_version.clone()),
                predictions: dir.join(layout::PREDICTIONS).is_file(),
            })
            .collect();
        let mut env = Environment::new();
        env.add_template("leaderboard.html", LEADERBOARD)
            .map_err(|e| Error::Other(format!("leaderboard template: {e}")))?;
        env.get_template("leaderboard.html")
            .and_then(|t| {
                t.render(context! {
                    style => STYLE,
                    runs => summaries,
                    resamples => rank_intervals::RANK_RESAMPLES,
                    board,
                })
            })
            .map_err(|e| Error::Other(format!("rendering the leaderboard failed: {e}")))?
    };
    Ok((text, board.notes))
}

/// Reads `DIR/results.jsonl` (plus `config.toml` and `run.json` when
/// present) and writes `DIR/report/index.html`. Returns the page's path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    outputs::verify(dir)?;
    let records: Vec<ResultRecord> = read_jsonl(&dir.join(layout::RESULTS))?;
    let comparisons_path = dir.join(layout::COMPARISONS);
    let comparisons = if comparisons_path.exists() {
        read_jsonl(&comparisons_path)?
    } else {
        Vec::new()
    };
    let config = std::fs::read_to_string(dir.join(layout::CONFIG)).unwrap_or_default();
    let run = match std::fs::read(dir.join(layout::RUN)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::Other(format!(
                "{}: not valid JSON ({e})",
                dir.join(layout::RUN).display()
            ))
        })?,
        Err(_) => serde_json::Value::Null,
    };
    let label = records
        .first()
        .map_or_else(String::new, |r| r.run_id.clone());
    let predictions = board_files::read_needed(
        &dir.join(layout::PREDICTIONS),
        &label,
        &confusion::needed(&records),
    )?;
    // Sets written before maps and matrices existed have neither.
    let listed = outputs::listed(dir)?;
    let maps: Vec<MapRecord> = if listed.contains(layout::MAPS) {
        read_jsonl(&dir.join(layout::MAPS))?
    } else {
        Vec::new()
    };
    let matrices: Vec<MatrixRecord> = if listed.contains(layout::MATRICES) {
        read_jsonl(&dir.join(layout::MATRICES))?
    } else {
        Vec::new()
    };
    let html = render_html(
        &records,
        &comparisons,
        &predictions,
        &maps,
        &matrices,
        &config,
        &run,
    )?;
    let page = dir.join(layout::REPORT_DIR).join("index.html");
    fsutil::write_atomic(&page, html.as_bytes())?;
    Ok(page)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A clean logistic prediction line of logmel's layer `l` on task
    /// `pitch` of dataset `d` (shared by the crate's tests): one set of
    /// `scores` per seed over the items `i0, i1, …` of `truth`.
    pub(crate) fn prediction_line(
        target: &str,
        names: &[&str],
        truth: serde_json::Value,
        scores: Vec<Vec<Vec<f64>>>,
    ) -> PredictionRecord {
        let n = truth.as_array().map_or(0, Vec::len);
        PredictionRecord {
            run_id: "r-1".into(),
            dataset: "d".into(),
            task: "pitch".into(),
            encoder: "logmel".into(),
            layer: "l".into(),
            perturbation: "none".into(),
            severity: None,
            test_set: "t".into(),
            predictions: repbench_framework::record::ItemPredictions {
                probe: "logistic".into(),
                target: target.into(),
                names: names.iter().map(|n| n.to_string()).collect(),
                ids: (0..n).map(|i| format!("i{i}")).collect(),
                truth,
                seeds: (0..scores.len() as u64).collect(),
                scores,
                forms: Vec::new(),
            },
        }
    }

    /// A clean logistic accuracy record of `encoder` (shared by the
    /// crate's tests).
    pub(crate) fn record(encoder: &str, value: f64) -> ResultRecord {
        ResultRecord {
            run_id: "r-1".into(),
            encoder: encoder.into(),
            layer: "l".into(),
            dataset: "d".into(),
            task: "pitch".into(),
            evaluator: "probe".into(),
            probe: Some("logistic".into()),
            perturbation: "none".into(),
            severity: None,
            seed: 0,
            metric: "accuracy".into(),
            higher_is_better: true,
            value,
            ci_low: value - 0.1,
            ci_high: value + 0.05,
            n: 10,
            params: BTreeMap::new(),
            probe_seed: None,
            seed_sd: None,
            undefined_resamples: 0,
            implementation: String::new(),
            test_set: "t".into(),
            valid_score: Some(value),
            versus_encoder: None,
            versus_layer: None,
            embedding_key: "k".into(),
            config_hash: "h".into(),
            repbench_version: VERSION.into(),
        }
    }

    #[test]
    fn report_shows_values_with_intervals_marks_the_best_and_escapes_config() {
        let recs = [record("mfcc", 0.5), record("logmel", 0.75)];
        let html = render_html(
            &recs,
            &[],
            &[],
            &[],
            &[],
            "name = \"<script>\"",
            &serde_json::json!({"name": "demo"}),
        )
        .unwrap();
        assert!(
            html.contains("0.750 <span class=\"ci\">[0.650, 0.800]</span>"),
            "{html}"
        );
        assert!(html.contains("num best\">0.750"));
        assert!(!html.contains("num best\">0.500"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    }
}
