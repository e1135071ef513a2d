//! `manifest`: a CSV or JSONL list of audio files.
//!
//! Required columns `id`, `path`, `split` (`train`, `valid`, `test`); every
//! other column is a label or factor (numbers become numeric labels).
//! Paths are relative to the manifest's directory. Errors name the manifest
//! file and the row.

use repbench_framework::audio::load_mono;
use repbench_framework::dataset::{Dataset, Item, Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Options of `kind = "manifest"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSpec {
    /// Name used in results.
    pub name: String,
    /// The `.csv` or `.jsonl` file, relative to the config file.
    pub path: PathBuf,
}

impl ManifestSpec {
    /// The extension must say which format it is.
    pub fn validate(&self, key: &str) -> Result<()> {
        match self.path.extension().and_then(|e| e.to_str()) {
            Some("csv" | "jsonl") => Ok(()),
            _ => Err(Error::config(
                format!("{key}.path"),
                format!("{} must end in .csv or .jsonl", self.path.display()),
            )),
        }
    }
}

/// The dataset: items plus the audio path of each.
#[derive(Debug)]
pub struct Manifest {
    name: String,
    items: Vec<Item>,
    paths: Vec<PathBuf>,
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

impl Manifest {
    /// Reads and checks the manifest; hashes every audio file (the cache
    /// keys on file content, not on names).
    pub fn open(spec: ManifestSpec, base_dir: &Path) -> Result<Self> {
        let manifest_path = base_dir.join(&spec.path);
        let dir = manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let rows = read_rows(&manifest_path)?;
        let first_line = if manifest_path.extension().and_then(|e| e.to_str()) == Some("csv") {
            2
        } else {
            1
        };
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(rows.len());
        let mut paths = Vec::with_capacity(rows.len());
        for (i, mut row) in rows.into_iter().enumerate() {
            let at = |reason: String| {
                Error::Other(format!(
                    "{}: row {}: {reason}",
                    manifest_path.display(),
                    i + first_line
                ))
            };
            let mut take = |col: &str| {
                row.remove(col)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| at(format!("missing column \"{col}\"")))
            };
            let id = take("id")?;
            let rel = take("path")?;
            let split_text = take("split")?;
            let split = Split::parse(&split_text).ok_or_else(|| {
                at(format!(
                    "split \"{split_text}\" is not one of: train, valid, test"
                ))
            })?;
            if !seen.insert(id.clone()) {
                return Err(at(format!("duplicate id \"{id}\"")));
            }
            let audio_path = dir.join(&rel);
            let bytes = std::fs::read(&audio_path)
                .map_err(|e| at(format!("{}: {e}", audio_path.display())))?;
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
            items.push(Item {
                id,
                split,
                labels,
                content_key: blake3::hash(&bytes).to_hex().to_string(),
                source: audio_path.display().to_string(),
            });
            paths.push(audio_path);
        }
        if items.is_empty() {
            return Err(Error::Other(format!(
                "{}: no items",
                manifest_path.display()
            )));
        }
        Ok(Manifest {
            name: spec.name,
            items,
            paths,
        })
    }
}

impl Dataset for Manifest {
    fn name(&self) -> &str {
        &self.name
    }
    fn items(&self) -> &[Item] {
        &self.items
    }
    fn load(&self, item: &Item, sample_rate: u32) -> Result<Vec<f32>> {
        let index = self
            .items
            .iter()
            .position(|i| i.id == item.id)
            .ok_or_else(|| {
                Error::Other(format!(
                    "item \"{}\" is not in dataset \"{}\"",
                    item.id, self.name
                ))
            })?;
        load_mono(&self.paths[index], sample_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, csv: &str) -> Result<Manifest> {
        std::fs::write(dir.join("m.csv"), csv).unwrap();
        Manifest::open(
            ManifestSpec {
                name: "m".into(),
                path: "m.csv".into(),
            },
            dir,
        )
    }

    #[test]
    fn reads_labels_and_names_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wav"), b"x").unwrap();
        let m = open(
            dir.path(),
            "id,path,split,genre,bpm\na,a.wav,train,rock,120\n",
        )
        .unwrap();
        assert_eq!(m.items()[0].labels["genre"], Label::Text("rock".into()));
        assert_eq!(m.items()[0].labels["bpm"], Label::Number(120.0));

        let err = open(
            dir.path(),
            "id,path,split\na,a.wav,train\nb,missing.wav,test\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("row 3") && err.contains("missing.wav"),
            "{err}"
        );
        let err = open(dir.path(), "id,path,split\na,a.wav,training\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 2") && err.contains("\"training\""),
            "{err}"
        );
        let err = open(dir.path(), "id,path,split\na,a.wav,train\na,a.wav,test\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate id"), "{err}");
    }
}
