//! The two export tables as polars data frames, and their CSV and Parquet
//! writers: the long table (one row per result record, every field a
//! column) and the wide table (one row per leaderboard entry, the value,
//! interval and rank of each task as numbers).

use crate::leaderboard::Leaderboard;
use polars::prelude::*;
use repbench_framework::record::ResultRecord;
use std::collections::BTreeSet;

/// One run's records with the label the run is known by.
pub struct LabelledRecords {
    /// The run's id (and directory when two runs share an id).
    pub label: String,
    /// Every record of its `results.jsonl`.
    pub records: Vec<ResultRecord>,
}

/// NaN is "undefined" in repbench; in a data frame that is null.
fn defined(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// The long table: the columns of `results.jsonl` (README) in its order,
/// after a `run` column, with `params` spread into one `param_<name>`
/// column per hyper-parameter name and undefined values as nulls.
pub fn long_frame(runs: &[LabelledRecords]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&str, &ResultRecord)> = runs
        .iter()
        .flat_map(|run| run.records.iter().map(move |r| (run.label.as_str(), r)))
        .collect();
    let text = |name: &str, f: &dyn Fn(&ResultRecord) -> &str| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, r)| f(r)).collect::<Vec<_>>(),
        )
    };
    let optional_text = |name: &str, f: &dyn Fn(&ResultRecord) -> Option<&str>| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, r)| f(r)).collect::<Vec<_>>(),
        )
    };
    let number = |name: &str, f: &dyn Fn(&ResultRecord) -> Option<f64>| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, r)| f(r)).collect::<Vec<_>>(),
        )
    };
    let count = |name: &str, f: &dyn Fn(&ResultRecord) -> Option<u64>| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, r)| f(r)).collect::<Vec<_>>(),
        )
    };
    let mut columns = vec![
        Column::new(
            "run".into(),
            rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        ),
        text("run_id", &|r| &r.run_id),
        text("encoder", &|r| &r.encoder),
        text("layer", &|r| &r.layer),
        text("dataset", &|r| &r.dataset),
        text("task", &|r| &r.task),
        text("evaluator", &|r| &r.evaluator),
        optional_text("probe", &|r| r.probe.as_deref()),
        text("perturbation", &|r| &r.perturbation),
        number("severity", &|r| r.severity),
        count("seed", &|r| Some(r.seed)),
        text("metric", &|r| &r.metric),
        Column::new(
            "higher_is_better".into(),
            rows.iter()
                .map(|(_, r)| r.higher_is_better)
                .collect::<Vec<_>>(),
        ),
        number("value", &|r| defined(r.value)),
        number("ci_low", &|r| defined(r.ci_low)),
        number("ci_high", &|r| defined(r.ci_high)),
        count("n", &|r| Some(r.n as u64)),
    ];
    let names: BTreeSet<&str> = rows
        .iter()
        .flat_map(|(_, r)| r.params.keys().map(String::as_str))
        .collect();
    for name in names {
        columns.push(number(&format!("param_{name}"), &|r| {
            r.params.get(name).copied().and_then(defined)
        }));
    }
    columns.extend([
        count("probe_seed", &|r| r.probe_seed),
        number("seed_sd", &|r| r.seed_sd.and_then(defined)),
        count("undefined_resamples", &|r| {
            Some(r.undefined_resamples as u64)
        }),
        text("implementation", &|r| &r.implementation),
        text("test_set", &|r| &r.test_set),
        number("valid_score", &|r| r.valid_score.and_then(defined)),
        optional_text("versus_encoder", &|r| r.versus_encoder.as_deref()),
        optional_text("versus_layer", &|r| r.versus_layer.as_deref()),
        text("embedding_key", &|r| &r.embedding_key),
        text("config_hash", &|r| &r.config_hash),
        text("repbench_version", &|r| &r.repbench_version),
    ]);
    DataFrame::new(columns)
}

/// The wide table: per entry (ranked ones by mean rank, then those listed
/// apart), `run, encoder, ranked`, then per task column `<dataset>/<task>
/// <metric>` with `… ci_low`, `… ci_high` and `… rank`, then `mean_rank`
/// with its interval, `borda`, `mean_normalised_score` and `tasks`.
pub fn wide_frame(board: &Leaderboard) -> PolarsResult<DataFrame> {
    let entries: Vec<(&crate::leaderboard::Overall, bool)> = board
        .overall
        .iter()
        .map(|o| (o, true))
        .chain(board.apart.iter().map(|o| (o, false)))
        .collect();
    let number = |name: String, f: &dyn Fn(&crate::leaderboard::Overall) -> Option<f64>| {
        Column::new(
            name.into(),
            entries.iter().map(|(o, _)| f(o)).collect::<Vec<_>>(),
        )
    };
    let mut columns = vec![
        Column::new(
            "run".into(),
            entries
                .iter()
                .map(|(o, _)| o.run.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "encoder".into(),
            entries
                .iter()
                .map(|(o, _)| o.encoder.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "ranked".into(),
            entries
                .iter()
                .map(|(_, ranked)| *ranked)
                .collect::<Vec<_>>(),
        ),
    ];
    for (c, column) in board.columns.iter().enumerate() {
        let name = format!("{}/{}", column.dataset, column.task);
        let cell = move |o: &crate::leaderboard::Overall| o.cells[c].numbers;
        columns.push(number(format!("{name} {}", column.metric), &|o| {
            cell(o).and_then(|n| defined(n.value))
        }));
        columns.push(number(format!("{name} ci_low"), &|o| {
            cell(o).and_then(|n| defined(n.low))
        }));
        columns.push(number(format!("{name} ci_high"), &|o| {
            cell(o).and_then(|n| defined(n.high))
        }));
        columns.push(number(format!("{name} rank"), &|o| {
            cell(o).and_then(|n| n.rank)
        }));
    }
    columns.extend([
        number("mean_rank".into(), &|o| defined(o.numbers[0])),
        number("mean_rank_ci_low".into(), &|o| o.interval.map(|i| i.0)),
        number("mean_rank_ci_high".into(), &|o| o.interval.map(|i| i.1)),
        number("borda".into(), &|o| defined(o.numbers[1])),
        number("mean_normalised_score".into(), &|o| defined(o.numbers[2])),
        Column::new(
            "tasks".into(),
            entries
                .iter()
                .map(|(o, _)| o.tasks as u64)
                .collect::<Vec<_>>(),
        ),
    ]);
    DataFrame::new(columns)
}

/// `frame` as CSV with a header row; nulls are empty fields.
pub fn to_csv(frame: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .include_header(true)
        .finish(frame)?;
    Ok(out)
}

/// `frame` as a Parquet file (zstd-compressed, with column statistics).
pub fn to_parquet(frame: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut out = Vec::new();
    ParquetWriter::new(&mut out).finish(frame)?;
    Ok(out)
}
