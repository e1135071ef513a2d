//! `manifest`: a CSV or JSONL list of audio files.
//!
//! Required columns `id` and `path`, and `split` (`train`, `valid`, `test`)
//! unless the `split` option re-splits the items; every other column is a
//! label or factor (numbers become numeric labels). Paths are relative to
//! the manifest's directory. Errors name the manifest file and the row.
//!
//! ```toml
//! [[datasets]]
//! name = "mine"
//! kind = "manifest"
//! path = "data/mine/manifest.csv"
//! on_error = "skip"                       # default "fail"
//! split = { method = "stratified", by = "genre", train = 0.7, valid = 0.1, test = 0.2 }
//! ```

use crate::files::{BuildOptions, Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Options of `kind = "manifest"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSpec {
    /// Name used in results.
    pub name: String,
    /// The `.csv` or `.jsonl` file, relative to the config file.
    pub path: PathBuf,
    /// Missing or unreadable audio files: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// Re-split the rows instead of reading the `split` column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl ManifestSpec {
    /// The extension must say which format it is.
    pub fn validate(&self, key: &str) -> Result<()> {
        if let Some(split) = &self.split {
            split.validate(&format!("{key}.split"))?;
        }
        match self.path.extension().and_then(|e| e.to_str()) {
            Some("csv" | "jsonl") => Ok(()),
            _ => Err(Error::config(
                format!("{key}.path"),
                format!("{} must end in .csv or .jsonl", self.path.display()),
            )),
        }
    }
}

/// One row before checking.
type Row = BTreeMap<String, String>;

fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad_row =
        |line: usize, reason: String| Error::Other(format!("{}:{line}: {reason}", path.display()));
    if path.extension().and_then(|e| e.to_str()) == Some("jsonl") {
        let mut rows = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| bad_row(i + 1, format!("not a JSON object ({e})")))?;
            let row = obj
                .into_iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, s)
                })
                .collect();
            rows.push(row);
        }
        return Ok(rows);
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad_row(1, format!("unreadable header ({e})")))?
        .clone();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // Line numbers count the header as line 1.
        let record = record.map_err(|e| bad_row(i + 2, e.to_string()))?;
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect(),
        );
    }
    Ok(rows)
}

/// Reads and checks the manifest; hashes every audio file (the cache keys
/// on file content, not on names).
pub fn open(spec: &ManifestSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let manifest_path = base_dir.join(&spec.path);
    let dir = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let rows = read_rows(&manifest_path)?;
    let empty_columns = empty_label_columns(&rows);
    let first_line = if manifest_path.extension().and_then(|e| e.to_str()) == Some("csv") {
        2
    } else {
        1
    };
    let mut entries = Vec::with_capacity(rows.len());
    let mut ignored_split_column = false;
    for (i, mut row) in rows.into_iter().enumerate() {
        let origin = format!("{}: row {}", manifest_path.display(), i + first_line);
        let at = |reason: String| Error::Other(format!("{origin}: {reason}"));
        let mut take = |col: &str| row.remove(col).filter(|v| !v.is_empty());
        let id = take("id").ok_or_else(|| at("missing column \"id\"".into()))?;
        let rel = take("path").ok_or_else(|| at("missing column \"path\"".into()))?;
        let split = match (take("split"), &spec.split) {
            (Some(_), Some(_)) => {
                ignored_split_column = true;
                None
            }
            (None, Some(_)) => None,
            (Some(text), None) => Some(Split::parse(&text).ok_or_else(|| {
                at(format!(
                    "split \"{text}\" is not one of: train, valid, test"
                ))
            })?),
            (None, None) => {
                return Err(at(
                    "missing column \"split\" (or give the dataset a `split` option)".into(),
                ))
            }
        };
        let labels = row
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| {
                let label = v
                    .trim()
                    .parse::<f64>()
                    .map(Label::Number)
                    .unwrap_or(Label::Text(v));
                (k, label)
            })
            .collect();
        entries.push(Entry {
            id,
            split,
            labels,
            path: dir.join(&rel),
            origin,
        });
    }
    if entries.is_empty() {
        return Err(Error::Other(format!(
            "{}: no items",
            manifest_path.display()
        )));
    }
    let class_labels = class_like_labels(&entries);
    let class_refs: Vec<&str> = class_labels.iter().map(String::as_str).collect();
    let mut ds = FileDataset::build(
        &spec.name,
        entries,
        BuildOptions {
            on_error: spec.on_error,
            split: spec.split.as_ref(),
            seed,
            class_labels: &class_refs,
        },
    )?;
    for column in empty_columns {
        ds.warn(format!(
            "dataset \"{}\": {}: column \"{column}\" is empty in every row, so no item has that label",
            spec.name,
            manifest_path.display()
        ));
    }
    if ignored_split_column {
        ds.warn(format!(
            "dataset \"{}\": {}: the `split` column is ignored because the dataset has a `split` option",
            spec.name,
            manifest_path.display()
        ));
    }
    Ok(ds)
}

/// Label columns (all but `id`, `path`, `split`) of the first row that
/// are empty in every row: kept apart from a missing column in messages.
fn empty_label_columns(rows: &[BTreeMap<String, String>]) -> Vec<String> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    first
        .keys()
        .filter(|k| !matches!(k.as_str(), "id" | "path" | "split"))
        .filter(|k| {
            rows.iter()
                .all(|row| row.get(*k).is_none_or(|v| v.trim().is_empty()))
        })
        .cloned()
        .collect()
}

/// Text labels that look like classes: not one distinct value per row
/// (titles, file names) and not numbers.
fn class_like_labels(entries: &[Entry]) -> Vec<String> {
    let mut values: BTreeMap<&str, (BTreeSet<&str>, usize, bool)> = BTreeMap::new();
    for e in entries {
        for (k, v) in &e.labels {
            let slot = values.entry(k).or_default();
            slot.1 += 1;
            match v {
                Label::Text(t) => {
                    slot.0.insert(t);
                }
                Label::Number(_) => slot.2 = true,
            }
        }
    }
    values
        .into_iter()
        .filter(|(_, (distinct, n, numeric))| !numeric && distinct.len() < *n)
        .map(|(k, _)| k.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::audio::wav_pcm16;
    use repbench_framework::dataset::Dataset;

    fn open_csv(dir: &Path, csv: &str, extra: serde_json::Value) -> Result<FileDataset> {
        std::fs::write(dir.join("m.csv"), csv).unwrap();
        let mut spec = serde_json::json!({"name": "m", "path": "m.csv"});
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let spec: ManifestSpec =
            serde_json::from_value(spec).map_err(|e| Error::Other(e.to_string()))?;
        spec.validate("datasets[0]")?;
        open(&spec, dir, 1)
    }

    fn wav(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), wav_pcm16(&[vec![0.0; 80]], 8000)).unwrap();
    }

    #[test]
    fn reads_labels_and_names_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.wav", "b.wav", "c.wav"] {
            wav(dir.path(), n);
        }
        let ok = "id,path,split,genre,bpm\na,a.wav,train,rock,120\nb,b.wav,valid,rock,90\nc,c.wav,test,rock,100\n";
        let m = open_csv(dir.path(), ok, serde_json::json!({})).unwrap();
        assert_eq!(m.items()[0].labels["genre"], Label::Text("rock".into()));
        assert_eq!(m.items()[0].labels["bpm"], Label::Number(120.0));

        let err = open_csv(
            dir.path(),
            "id,path,split\na,a.wav,train\nb,missing.wav,test\n",
            serde_json::json!({}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("row 3") && err.contains("missing.wav"),
            "{err}"
        );
        let err = open_csv(
            dir.path(),
            "id,path,split\na,a.wav,training\n",
            serde_json::json!({}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("row 2") && err.contains("\"training\""),
            "{err}"
        );
        let err = open_csv(
            dir.path(),
            "id,path,split\na,a.wav,train\na,b.wav,test\n",
            serde_json::json!({}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("row 3") && err.contains("duplicate id") && err.contains("row 2"),
            "{err}"
        );
        let err = open_csv(dir.path(), "id,path\na,a.wav\n", serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"split\"") && err.contains("`split` option"),
            "{err}"
        );
    }

    #[test]
    fn skip_and_resplit_options() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,path,genre\n");
        for i in 0..30 {
            let genre = ["rock", "jazz", "pop"][i % 3];
            if i != 7 {
                wav(dir.path(), &format!("{i}.wav"));
            }
            csv.push_str(&format!("t{i},{i}.wav,{genre}\n"));
        }
        let split = serde_json::json!({"method": "stratified", "by": "genre", "train": 0.6, "valid": 0.2, "test": 0.2});
        let err = open_csv(dir.path(), &csv, serde_json::json!({"split": split}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("7.wav") && err.contains("row 9"), "{err}");
        let m = open_csv(
            dir.path(),
            &csv,
            serde_json::json!({"split": split, "on_error": "skip"}),
        )
        .unwrap();
        assert_eq!(m.items().len(), 29);
        assert_eq!(m.skipped().len(), 1);
        assert_eq!(m.skipped()[0].id, "t7");
        let train_jazz = m
            .items()
            .iter()
            .filter(|i| i.split == Split::Train && i.labels["genre"] == Label::Text("jazz".into()))
            .count();
        // Jazz lost t7: 9 items, round(9 * 0.6) = 5 in train.
        assert_eq!(train_jazz, 5);
        let err = open_csv(dir.path(), &csv, serde_json::json!({"on_error": "ignore"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fail") && err.contains("skip"), "{err}");
    }
}
