//! `repbench export`: the results of one or more run directories as
//! tables researchers load or paste — the long table (one row per result
//! record) and the wide encoder × task table of the leaderboard — in CSV,
//! Parquet (both through polars), Markdown or LaTeX.

pub(crate) mod frames;
pub(crate) mod latex;
pub(crate) mod long_text;

use crate::{layout, load_board, outputs, run_labels};
use frames::LabelledRecords;
use repbench_framework::record::{read_jsonl, ResultRecord};
use repbench_framework::{Error, Result};
use std::path::PathBuf;

/// Which table `repbench export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTable {
    /// One row per record of every run's `results.jsonl`.
    Long,
    /// One row per leaderboard entry, one column group per task.
    Wide,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row (nulls empty).
    Csv,
    /// Apache Parquet (zstd), for pandas, polars, R arrow, DuckDB.
    Parquet,
    /// A Markdown table.
    Markdown,
    /// A LaTeX booktabs table.
    Latex,
}

fn frame_error(e: polars::prelude::PolarsError) -> Error {
    Error::Other(format!("building the export table failed: {e}"))
}

/// Every record of the run directories `dirs` (each verified against its
/// manifest), labelled as the leaderboard labels runs.
pub fn read_all_records(dirs: &[PathBuf]) -> Result<Vec<LabelledRecords>> {
    use rayon::prelude::*;
    let records: Vec<Vec<ResultRecord>> = dirs
        .par_iter()
        .map(|dir| {
            outputs::verify_reading(dir, &[layout::RESULTS])?;
            read_jsonl(&dir.join(layout::RESULTS))
        })
        .collect::<Result<_>>()?;
    let labels = run_labels(
        dirs,
        &records
            .iter()
            .map(|r| r.first().map(|r| r.run_id.clone()))
            .collect::<Vec<_>>(),
    );
    Ok(labels
        .into_iter()
        .zip(records)
        .map(|(label, records)| LabelledRecords { label, records })
        .collect())
}

/// The `table` of the run directories `dirs` in `format`, with the notes
/// on results kept apart or flagged (the wide table's, as the leaderboard
/// gives them).
pub fn export(
    dirs: &[PathBuf],
    table: ExportTable,
    format: ExportFormat,
) -> Result<(Vec<u8>, Vec<String>)> {
    match table {
        ExportTable::Long => {
            let runs = read_all_records(dirs)?;
            let text_runs: Vec<(&str, &[ResultRecord])> = runs
                .iter()
                .map(|r| (r.label.as_str(), r.records.as_slice()))
                .collect();
            let bytes = match format {
                ExportFormat::Csv => {
                    frames::to_csv(&mut frames::long_frame(&runs).map_err(frame_error)?)
                }
                ExportFormat::Parquet => {
                    frames::to_parquet(&mut frames::long_frame(&runs).map_err(frame_error)?)
                }
                ExportFormat::Markdown => Ok(long_text::markdown(&text_runs).into_bytes()),
                ExportFormat::Latex => Ok(latex::long(&text_runs).into_bytes()),
            }
            .map_err(frame_error)?;
            Ok((bytes, Vec::new()))
        }
        ExportTable::Wide => {
            let (_, board) = load_board(dirs)?;
            let bytes = match format {
                ExportFormat::Csv => {
                    frames::to_csv(&mut frames::wide_frame(&board).map_err(frame_error)?)
                }
                ExportFormat::Parquet => {
                    frames::to_parquet(&mut frames::wide_frame(&board).map_err(frame_error)?)
                }
                ExportFormat::Markdown => Ok(crate::wide_table::markdown(&board).into_bytes()),
                ExportFormat::Latex => Ok(latex::wide(&board).into_bytes()),
            }
            .map_err(frame_error)?;
            Ok((bytes, board.notes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaderboard::tests::{run, scored};
    use polars::prelude::{AnyValue, ParquetReader, SerReader};
    use std::collections::BTreeMap;

    /// Three records that exercise every kind of column: a plain probe
    /// value, an undefined one with a hyper-parameter, and a per-seed row
    /// of a perturbed pair of units.
    fn records() -> Vec<ResultRecord> {
        let plain = crate::tests::record("logmel", 0.75);
        let undefined = ResultRecord {
            value: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            params: BTreeMap::from([("C".to_string(), 0.1), ("alpha".to_string(), 2.5)]),
            undefined_resamples: 7,
            ..crate::tests::record("mfcc", 0.0)
        };
        let perturbed = ResultRecord {
            perturbation: "gain".into(),
            severity: Some(-6.0),
            probe: None,
            probe_seed: Some(3),
            seed_sd: Some(0.02),
            valid_score: None,
            versus_encoder: Some("mfcc".into()),
            versus_layer: Some("2".into()),
            ..crate::tests::record("logmel", 0.5)
        };
        vec![plain, undefined, perturbed]
    }

    fn value(frame: &polars::prelude::DataFrame, column: &str, row: usize) -> AnyValue<'static> {
        frame
            .column(column)
            .unwrap()
            .get(row)
            .unwrap()
            .into_static()
    }

    #[test]
    fn the_long_table_round_trips_through_parquet_with_nulls_for_undefined() {
        let runs = [LabelledRecords {
            label: "r-1".into(),
            records: records(),
        }];
        let mut frame = frames::long_frame(&runs).unwrap();
        let bytes = frames::to_parquet(&mut frame).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&frame));
        assert_eq!(back.height(), 3);
        let names: Vec<&str> = back.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(
            &names[..4],
            ["run", "run_id", "encoder", "layer"],
            "{names:?}"
        );
        assert!(names.contains(&"param_C") && names.contains(&"param_alpha"));
        // Each row equals its record; undefined is null, never 0.
        for (i, r) in records().iter().enumerate() {
            assert_eq!(
                value(&back, "encoder", i),
                AnyValue::StringOwned(r.encoder.as_str().into())
            );
            let v = value(&back, "value", i);
            if r.value.is_nan() {
                assert_eq!(v, AnyValue::Null);
            } else {
                assert_eq!(v, AnyValue::Float64(r.value));
            }
            assert_eq!(value(&back, "n", i), AnyValue::UInt64(r.n as u64));
            assert_eq!(
                value(&back, "severity", i),
                r.severity.map_or(AnyValue::Null, AnyValue::Float64)
            );
            assert_eq!(
                value(&back, "param_C", i),
                r.params
                    .get("C")
                    .map_or(AnyValue::Null, |c| AnyValue::Float64(*c))
            );
            assert_eq!(
                value(&back, "probe_seed", i),
                r.probe_seed.map_or(AnyValue::Null, AnyValue::UInt64)
            );
            assert_eq!(
                value(&back, "versus_encoder", i).is_null(),
                r.versus_encoder.is_none()
            );
        }
        assert_eq!(value(&back, "undefined_resamples", 1), AnyValue::UInt64(7));
    }

    #[test]
    fn the_long_csv_has_a_header_and_empty_fields_for_undefined() {
        let runs = [LabelledRecords {
            label: "r-1".into(),
            records: records(),
        }];
        let csv =
            String::from_utf8(frames::to_csv(&mut frames::long_frame(&runs).unwrap()).unwrap())
                .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(
            lines[0].starts_with("run,run_id,encoder,layer,dataset,task,evaluator,probe,perturbation,severity,seed,metric,higher_is_better,value,ci_low,ci_high,n,param_C,param_alpha,probe_seed"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(",accuracy,true,0.75,0.65,0.8,10,,,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains(",accuracy,true,,,,10,0.1,2.5,"),
            "{}",
            lines[2]
        );
    }

    /// The three runs of the hand-computed leaderboard test.
    fn board() -> crate::leaderboard::Leaderboard {
        let mut runs = Vec::new();
        for (label, encoder, pitch, timbre) in [
            ("run-x", "x_1", 40, 20),
            ("run-y", "y", 30, 36),
            ("run-z", "z", 30, 28),
        ] {
            let (r1, p1) = scored(encoder, "pitch", pitch);
            let (r2, p2) = scored(encoder, "timbre", timbre);
            runs.push(run(label, vec![r1, r2], vec![p1, p2]));
        }
        let (extra, p) = scored("w", "pitch", 10);
        runs.push(run("run-w", vec![extra], vec![p]));
        crate::leaderboard::build(&runs)
    }

    #[test]
    fn the_wide_frame_holds_each_task_as_numbers_and_the_summary_columns() {
        let board = board();
        let frame = frames::wide_frame(&board).unwrap();
        let names: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "run",
                "encoder",
                "ranked",
                "tones/pitch accuracy",
                "tones/pitch ci_low",
                "tones/pitch ci_high",
                "tones/pitch rank",
                "tones/timbre accuracy",
                "tones/timbre ci_low",
                "tones/timbre ci_high",
                "tones/timbre rank",
                "mean_rank",
                "mean_rank_ci_low",
                "mean_rank_ci_high",
                "borda",
                "mean_normalised_score",
                "tasks",
            ]
        );
        // Ranked y, x_1, z, then w apart (no timbre); hand-computed values
        // as in the leaderboard test, with w last on pitch.
        assert_eq!(
            value(&frame, "encoder", 0),
            AnyValue::StringOwned("y".into())
        );
        assert_eq!(
            value(&frame, "tones/timbre accuracy", 0),
            AnyValue::Float64(0.9)
        );
        assert_eq!(
            value(&frame, "tones/timbre rank", 0),
            AnyValue::Float64(1.0)
        );
        assert_eq!(value(&frame, "mean_rank", 0), AnyValue::Float64(1.75));
        assert_eq!(value(&frame, "borda", 0), AnyValue::Float64(3.5));
        assert_eq!(
            value(&frame, "encoder", 3),
            AnyValue::StringOwned("w".into())
        );
        assert_eq!(value(&frame, "ranked", 3), AnyValue::Boolean(false));
        assert_eq!(value(&frame, "tones/timbre accuracy", 3), AnyValue::Null);
        assert_eq!(value(&frame, "tones/pitch rank", 3), AnyValue::Float64(4.0));
    }

    #[test]
    fn latex_bolds_only_significantly_best_values_and_escapes_names() {
        let tex = latex::wide(&board());
        assert!(tex.contains("\\begin{tabular}{lrrrrr}"), "{tex}");
        assert!(tex.contains("\\multicolumn{2}{c}{classification}"), "{tex}");
        assert!(
            tex.contains("pitch (accuracy) & timbre (accuracy)"),
            "{tex}"
        );
        // x_1 leads pitch by 10 items on every resample: bold; y leads
        // timbre: bold; nothing else is.
        assert!(
            tex.contains("x\\_1 & \\textbf{1.000} {\\small [0.900, 1.050]} & 0.500"),
            "{tex}"
        );
        assert!(
            tex.contains("\\textbf{0.900} {\\small [0.800, 0.950]}"),
            "{tex}"
        );
        assert_eq!(tex.matches("\\textbf").count(), 2, "{tex}");
        assert!(tex.contains("w$^\\dagger$ & 0.250"), "{tex}");
        assert_eq!(
            latex::escape("a_b & 50% #1 {x}"),
            "a\\_b \\& 50\\% \\#1 \\{x\\}"
        );
    }

    #[test]
    fn the_long_text_tables_show_every_record_with_its_interval() {
        let recs = records();
        let runs = [("r-1", recs.as_slice())];
        let md = long_text::markdown(&runs);
        assert_eq!(md.lines().count(), 5, "{md}");
        assert!(md.contains("| r-1 | d | pitch | logmel | l | logistic | none | - | accuracy | 0.750 [0.650, 0.800] |"), "{md}");
        assert!(
            md.contains("| mfcc | l | logistic | none | - | accuracy | NaN |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| logmel vs mfcc:2 | l | - | gain | -6 | accuracy | 0.500 [0.400, 0.550] |"
            ),
            "{md}"
        );
        let tex = latex::long(&runs);
        assert!(tex.contains("0.750 {\\small [0.650, 0.800]} \\\\"), "{tex}");
        assert_eq!(tex.matches(" \\\\\n").count(), 4, "{tex}");
    }
}
