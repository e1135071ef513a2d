//! `giantsteps_key`: GiantSteps Key (Knees et al. 2015), 604 two-minute EDM
//! excerpts with a global key.
//!
//! Layout: `<root>/audio/<id>.LOFI.mp3` (or `.wav`) and
//! `<root>/annotations/key/<id>.LOFI.key`, a text file like `Eb minor`.
//! Labels: `key` in one spelling per pitch class (`C`, `C#`, `D`, `Eb`, `E`,
//! `F`, `F#`, `G`, `Ab`, `A`, `Bb`, `B` + ` major`/` minor`, so enharmonic
//! spellings are one class of 24), and `mode` (`major`/`minor`). Item id:
//! `<id>`. An annotation that is not a single major/minor key is an error
//! naming the file (or, with `on_error = "skip"`, a skipped item).
//!
//! The corpus is published as a test set only and has no official split:
//! the default is a seeded split stratified by `key` (0.6 / 0.2 / 0.2).
//!
//! ```toml
//! [[datasets]]
//! name = "giantsteps"
//! kind = "giantsteps_key"
//! root = "data/giantsteps-key-dataset"
//! ```

use super::{finish, list_dir, read_text, validate_split};
use crate::files::{Entry, FileDataset, OnError, SkippedItem};
use crate::split::SplitSpec;
use repbench_framework::dataset::Label;
use repbench_framework::music::Key;
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `kind = "giantsteps_key"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiantStepsKeySpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `audio/` and `annotations/key/`.
    pub root: PathBuf,
    /// Missing or unreadable audio or key files: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// The split (default: stratified by `key`, 0.6 / 0.2 / 0.2, seeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl GiantStepsKeySpec {
    /// Checks the `split` option.
    pub fn validate(&self, key: &str) -> Result<()> {
        validate_split(self.split.as_ref(), key)
    }
}

/// `(tonic spelling, "major"|"minor")` of a key text such as `Eb minor`,
/// `d# min` or `F#:maj`; `None` for anything else.
pub fn canonical_key(text: &str) -> Option<(&'static str, &'static str)> {
    Key::parse(text).map(|k| (k.tonic_name(), k.mode_name()))
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &GiantStepsKeySpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let key_dir = root.join("annotations/key");
    let audio_dir = root.join("audio");
    let mut entries = Vec::new();
    let mut bad_keys = Vec::new();
    for key_file in list_dir(&key_dir)? {
        let Some(name) = key_file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(id) = name.strip_suffix(".key") else {
            continue;
        };
        let id = id.strip_suffix(".LOFI").unwrap_or(id).to_owned();
        let stem = name.trim_end_matches(".key");
        let mp3 = audio_dir.join(format!("{stem}.mp3"));
        let path = if mp3.exists() {
            mp3
        } else {
            audio_dir.join(format!("{stem}.wav"))
        };
        let text = read_text(&key_file, "GiantSteps key annotation")?;
        let Some((tonic, mode)) = canonical_key(&text) else {
            let reason = format!(
                "\"{}\" is not a key like \"Eb minor\" or \"C major\"",
                text.trim()
            );
            match spec.on_error {
                OnError::Skip => {
                    bad_keys.push(SkippedItem {
                        id,
                        path: key_file,
                        reason,
                    });
                    continue;
                }
                OnError::Fail => {
                    return Err(Error::Other(format!("{}: {reason}", key_file.display())));
                }
            }
        };
        let mut labels = BTreeMap::new();
        labels.insert("key".to_owned(), Label::Text(format!("{tonic} {mode}")));
        labels.insert("mode".to_owned(), Label::Text(mode.to_owned()));
        entries.push(Entry {
            id,
            split: None,
            labels,
            path,
            origin: key_file.display().to_string(),
        });
    }
    if entries.is_empty() && bad_keys.is_empty() {
        return Err(Error::Other(format!(
            "{}: no <id>.LOFI.key annotation files",
            key_dir.display()
        )));
    }
    let mut ds = finish(
        &spec.name,
        entries,
        spec.on_error,
        spec.split.as_ref(),
        Some(SplitSpec::stratified("key")),
        seed,
        &["key"],
    )?;
    ds.add_skipped(bad_keys);
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    #[test]
    fn key_spellings_are_canonical() {
        assert_eq!(canonical_key("Eb minor\n"), Some(("Eb", "minor")));
        assert_eq!(canonical_key("d# min"), Some(("Eb", "minor")));
        assert_eq!(canonical_key("Gb major"), Some(("F#", "major")));
        assert_eq!(canonical_key("B#:maj"), Some(("C", "major")));
        assert_eq!(canonical_key("C dorian"), None);
        assert_eq!(canonical_key("-"), None);
        assert_eq!(canonical_key("H minor"), None);
    }

    #[test]
    fn reads_keys_and_splits_stratified() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("gs");
        let keys = ["C major", "Eb minor", "D# minor", "a minor"];
        for i in 0..20 {
            let id = format!("{}", 1000 + i);
            text(
                &root.join(format!("annotations/key/{id}.LOFI.key")),
                keys[i % 4],
            );
            if i == 3 {
                wav(&root.join(format!("audio/{id}.LOFI.wav")));
            } else {
                wav(&root.join(format!("audio/{id}.LOFI.mp3")));
            }
        }
        let spec: GiantStepsKeySpec =
            serde_json::from_value(serde_json::json!({"name": "g", "root": "gs"})).unwrap();
        let ds = open(&spec, dir.path(), 4).unwrap();
        assert_eq!(
            classes(ds.items(), "key"),
            ["A minor", "C major", "Eb minor"]
        );
        // 5 C major (3/1/1), 10 Eb minor (6/2/2), 5 A minor (3/1/1).
        assert_eq!(counts(ds.items()), (12, 4, 4));
        assert!(ds
            .items()
            .iter()
            .any(|i| i.id == "1003" && i.source.ends_with(".wav")));

        text(&root.join("annotations/key/2000.LOFI.key"), "C dorian");
        wav(&root.join("audio/2000.LOFI.mp3"));
        let err = open(&spec, dir.path(), 4).unwrap_err().to_string();
        assert!(
            err.contains("2000.LOFI.key") && err.contains("\"C dorian\""),
            "{err}"
        );
        let skip: GiantStepsKeySpec = serde_json::from_value(
            serde_json::json!({"name": "g", "root": "gs", "on_error": "skip"}),
        )
        .unwrap();
        let ds = open(&skip, dir.path(), 4).unwrap();
        assert_eq!(ds.items().len(), 20);
        assert_eq!(ds.skipped().len(), 1);
        assert_eq!(ds.skipped()[0].id, "2000");
    }
}
