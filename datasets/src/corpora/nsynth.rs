//! `nsynth`: NSynth (Engel et al. 2017), single notes of 4 s at 16 kHz.
//!
//! Layout: `<root>/nsynth-{train,valid,test}/examples.json` (an object from
//! `note_str` to that note's metadata) and `…/audio/<note_str>.wav`. The
//! folders present are read (at least one); each gives its official split.
//! Labels: `instrument_family` (the `instrument_family_str` name, e.g.
//! `keyboard`), `instrument_source` (`instrument_source_str`: acoustic,
//! electronic, synthetic), `instrument` (`instrument_str`), `pitch` and
//! `velocity` (MIDI numbers), `qualities` (`;`-joined `qualities_str`,
//! absent when empty). Item id: `note_str`.
//!
//! ```toml
//! [[datasets]]
//! name = "nsynth"
//! kind = "nsynth"
//! root = "data/nsynth"
//! ```

use super::{finish, read_text, validate_split};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `kind = "nsynth"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsynthSpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `nsynth-train/`, `nsynth-valid/`, `nsynth-test/`.
    pub root: PathBuf,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split over all notes instead of the official one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl NsynthSpec {
    /// Checks the `split` option.
    pub fn validate(&self, key: &str) -> Result<()> {
        validate_split(self.split.as_ref(), key)
    }
}

/// The fields of one `examples.json` record that repbench reads (the file
/// has more; they are ignored).
#[derive(Debug, Deserialize)]
struct Example {
    pitch: f64,
    velocity: f64,
    instrument_str: String,
    instrument_family_str: String,
    instrument_source_str: String,
    #[serde(default)]
    qualities_str: Vec<String>,
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &NsynthSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let mut entries = Vec::new();
    let mut found = 0;
    for (folder, split) in [
        ("nsynth-train", Split::Train),
        ("nsynth-valid", Split::Valid),
        ("nsynth-test", Split::Test),
    ] {
        let dir = root.join(folder);
        if !dir.is_dir() {
            continue;
        }
        found += 1;
        let json_path = dir.join("examples.json");
        let text = read_text(&json_path, "NSynth examples.json")?;
        let examples: BTreeMap<String, Example> = serde_json::from_str(&text).map_err(|e| {
            Error::Other(format!(
                "{}: not NSynth metadata (an object of note_str → {{pitch, velocity, instrument_str, instrument_family_str, instrument_source_str, …}}): {e}",
                json_path.display()
            ))
        })?;
        for (note, ex) in examples {
            let mut labels = BTreeMap::new();
            labels.insert("pitch".to_owned(), Label::Number(ex.pitch));
            labels.insert("velocity".to_owned(), Label::Number(ex.velocity));
            labels.insert("instrument".to_owned(), Label::Text(ex.instrument_str));
            labels.insert(
                "instrument_family".to_owned(),
                Label::Text(ex.instrument_family_str),
            );
            labels.insert(
                "instrument_source".to_owned(),
                Label::Text(ex.instrument_source_str),
            );
            if !ex.qualities_str.is_empty() {
                labels.insert(
                    "qualities".to_owned(),
                    Label::Text(ex.qualities_str.join(";")),
                );
            }
            entries.push(Entry {
                path: dir.join("audio").join(format!("{note}.wav")),
                origin: format!("{}: \"{note}\"", json_path.display()),
                id: note,
                split: Some(split),
                labels,
            });
        }
    }
    if found == 0 {
        return Err(Error::Other(format!(
            "{}: no nsynth-train/, nsynth-valid/ or nsynth-test/ folder",
            root.display()
        )));
    }
    finish(
        &spec.name,
        entries,
        spec.on_error,
        spec.split.as_ref(),
        None,
        seed,
        &["instrument_family", "instrument_source"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    fn example(family: &str, source: &str, pitch: u8) -> serde_json::Value {
        serde_json::json!({
            "note": 1, "note_str": "ignored", "instrument": 3,
            "instrument_str": format!("{family}_{source}_001"), "pitch": pitch, "velocity": 75,
            "sample_rate": 16000, "qualities": [0, 1], "qualities_str": ["bright", "dark"],
            "instrument_family": 0, "instrument_family_str": family,
            "instrument_source": 0, "instrument_source_str": source
        })
    }

    fn write_split(root: &Path, folder: &str, notes: &[(&str, &str, &str, u8)]) {
        let mut obj = serde_json::Map::new();
        for (note, family, source, pitch) in notes {
            obj.insert((*note).into(), example(family, source, *pitch));
            wav(&root.join(format!("{folder}/audio/{note}.wav")));
        }
        text(
            &root.join(format!("{folder}/examples.json")),
            &serde_json::Value::Object(obj).to_string(),
        );
    }

    #[test]
    fn reads_official_splits_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ns");
        write_split(
            &root,
            "nsynth-train",
            &[
                ("bass_synthetic_033-022-050", "bass", "synthetic", 22),
                ("keyboard_acoustic_004-060-075", "keyboard", "acoustic", 60),
                ("keyboard_acoustic_004-061-075", "keyboard", "acoustic", 61),
            ],
        );
        write_split(
            &root,
            "nsynth-valid",
            &[("keyboard_acoustic_004-062-075", "keyboard", "acoustic", 62)],
        );
        write_split(
            &root,
            "nsynth-test",
            &[
                ("bass_synthetic_068-049-025", "bass", "synthetic", 49),
                ("guitar_acoustic_010-050-100", "guitar", "acoustic", 50),
            ],
        );
        let spec: NsynthSpec =
            serde_json::from_value(serde_json::json!({"name": "n", "root": "ns"})).unwrap();
        let ds = open(&spec, dir.path(), 0).unwrap();
        assert_eq!(counts(ds.items()), (3, 1, 2));
        assert_eq!(
            classes(ds.items(), "instrument_family"),
            ["bass", "guitar", "keyboard"]
        );
        assert_eq!(
            classes(ds.items(), "instrument_source"),
            ["acoustic", "synthetic"]
        );
        let it = ds
            .items()
            .iter()
            .find(|i| i.id == "keyboard_acoustic_004-061-075")
            .unwrap();
        assert_eq!(it.labels["pitch"], Label::Number(61.0));
        assert_eq!(it.labels["velocity"], Label::Number(75.0));
        assert_eq!(it.labels["qualities"], Label::Text("bright;dark".into()));
        assert_eq!(it.split, Split::Train);
        // guitar only in test: warned, not fatal.
        assert!(
            ds.warnings().iter().any(|w| w.contains("\"guitar\"")),
            "{:?}",
            ds.warnings()
        );
        assert_eq!(ds.load(it, 8000).unwrap().len(), 400);
    }

    #[test]
    fn bad_metadata_and_missing_folders_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let spec: NsynthSpec =
            serde_json::from_value(serde_json::json!({"name": "n", "root": "ns"})).unwrap();
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(err.contains("nsynth-train/"), "{err}");
        text(
            &dir.path().join("ns/nsynth-test/examples.json"),
            r#"{"a": {"pitch": 60}}"#,
        );
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(
            err.contains("examples.json") && err.contains("velocity"),
            "{err}"
        );
    }
}
