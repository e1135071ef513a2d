//! Interaction logs of recommendation tasks: read with polars (CSV or
//! Parquet: `user_id`, `item_id`, `timestamp`), and the synthetic logs
//! `repbench interactions` writes.

use polars::prelude::*;
use repbench_tasks::recommendation::split::{format_time, parse_time, InteractionLog};
use std::path::Path;

const COLUMNS: [&str; 3] = ["user_id", "item_id", "timestamp"];

/// Reads the log at `path` and the blake3 hash of its bytes. Errors name
/// the file, and the column and row where a value is wrong.
pub fn read_log(path: &Path) -> Result<(InteractionLog, String), String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        format!("{shown}: cannot read the interaction log ({e}); check `interactions` (relative to the config)")
    })?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let frame = if parquet {
        ParquetReader::new(std::io::Cursor::new(bytes)).finish()
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            // Every column as text: ids such as 000123 must stay as written
            // (a number type would make it 123, and 007 the same user as 7).
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()
    }
    .map_err(|e| {
        let e = e.to_string();
        // This build leaves out polars' datetime types (compile time): a
        // Parquet timestamp column must be numbers or text.
        let hint = if e.contains("Timestamp") || e.contains("Date") {
            "; store `timestamp` as Unix seconds (int64) or ISO 8601 text, e.g. in pandas df[\"timestamp\"] = df[\"timestamp\"].dt.strftime(\"%Y-%m-%dT%H:%M:%SZ\")"
        } else {
            ""
        };
        format!(
            "{shown}: not a readable {} file ({e}){hint}",
            if parquet { "Parquet" } else { "CSV" }
        )
    })?;
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    if let Some(missing) = COLUMNS.iter().find(|c| !names.iter().any(|n| n == *c)) {
        return Err(format!(
            "{shown}: no column \"{missing}\" (columns: {names:?}); an interaction log needs user_id, item_id and timestamp"
        ));
    }
    if frame.height() == 0 {
        return Err(format!("{shown}: the log has no interactions"));
    }
    // Line of a row in messages: CSV counts its header line.
    let line = |row: usize| if parquet { row + 1 } else { row + 2 };
    let text = |name: &str| -> Result<Vec<String>, String> {
        let column = frame
            .column(name)
            .map_err(|e| format!("{shown}: column {name}: {e}"))?;
        if name != "timestamp" && column.dtype().is_float() {
            return Err(format!(
                "{shown}: column {name} holds floating-point numbers; store ids as text or integers, as the dataset's item ids are written"
            ));
        }
        let column = column
            .cast(&DataType::String)
            .map_err(|e| format!("{shown}: column {name}: {e}"))?;
        let values = column
            .str()
            .map_err(|e| format!("{shown}: column {name}: {e}"))?;
        values
            .into_iter()
            .enumerate()
            .map(|(row, v)| match v {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                _ => Err(format!(
                    "{shown}: row {} has no {name}; every interaction needs one",
                    line(row)
                )),
            })
            .collect()
    };
    let users = text("user_id")?;
    let items = text("item_id")?;
    let times = text("timestamp")?
        .iter()
        .enumerate()
        .map(|(row, t)| {
            parse_time(t).ok_or_else(|| {
                format!(
                    "{shown}: row {}: timestamp \"{t}\" is not a date, date-time (2020-06-01T12:00:00Z) or Unix seconds",
                    line(row)
                )
            })
        })
        .collect::<Result<Vec<i64>, String>>()?;
    Ok((
        InteractionLog {
            source: shown,
            users,
            items,
            times,
        },
        hash,
    ))
}

/// Writes `log` as CSV (`user_id,item_id,timestamp`, ISO 8601 UTC).
pub fn write_log(log: &InteractionLog, path: &Path) -> Result<(), String> {
    let times: Vec<String> = log.times.iter().map(|&t| format_time(t)).collect();
    let mut frame = DataFrame::new(vec![
        Column::new("user_id".into(), &log.users),
        Column::new("item_id".into(), &log.items),
        Column::new("timestamp".into(), &times),
    ])
    .map_err(|e| format!("interaction table: {e}"))?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .include_header(true)
        .finish(&mut frame)
        .map_err(|e| format!("interaction table: {e}"))?;
    repbench_framework::fsutil::write_atomic(path, &out)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_log_reads_back_and_bad_rows_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let log = InteractionLog {
            source: String::new(),
            users: vec!["u1".into(), "u2".into()],
            items: vec!["a".into(), "b".into()],
            times: vec![86_400, 2 * 86_400 + 5],
        };
        write_log(&log, &path).unwrap();
        let (back, hash) = read_log(&path).unwrap();
        assert_eq!(
            (back.users, back.items, back.times),
            (log.users, log.items, log.times)
        );
        assert_eq!(hash.len(), 64);

        std::fs::write(
            &path,
            "user_id,item_id,timestamp\n007,000123,100\n7,123,200\n",
        )
        .unwrap();
        let (ids, _) = read_log(&path).unwrap();
        assert_eq!(ids.users, ["007", "7"], "ids stay as written");
        assert_eq!(ids.items, ["000123", "123"]);
        std::fs::write(&path, "user_id,item_id,timestamp\nu1,7,100\nu2,8,soon\n").unwrap();
        let err = read_log(&path).unwrap_err();
        assert!(err.contains("row 3") && err.contains("\"soon\""), "{err}");
        std::fs::write(&path, "user,item_id,timestamp\nu1,7,100\n").unwrap();
        let err = read_log(&path).unwrap_err();
        assert!(err.contains("no column \"user_id\""), "{err}");
        let parquet = dir.path().join("log.parquet");
        let mut frame = DataFrame::new(vec![
            Column::new("user_id".into(), ["u1", "u2"]),
            Column::new("item_id".into(), [7i64, 8]),
            Column::new("timestamp".into(), [100i64, 200]),
        ])
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
            .finish(&mut frame)
            .unwrap();
        let (back, _) = read_log(&parquet).unwrap();
        assert_eq!(
            (back.items, back.times),
            (vec!["7".to_string(), "8".into()], vec![100, 200])
        );
        std::fs::write(&path, "user_id,item_id,timestamp\nu1,,100\n").unwrap();
        let err = read_log(&path).unwrap_err();
        assert!(err.contains("row 2 has no item_id"), "{err}");
    }
}
