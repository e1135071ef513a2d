//! `tinysol`: TinySOL (Cella et al. 2020), 2913 single notes of 14
//! orchestral instruments, ordinary technique.
//!
//! Layout: `TinySOL_metadata.csv` in `<root>` or `<root>/annotation/`
//! (columns `Path`, `Fold`, `Family`, `Instrument (in full)`, `Technique (in
//! full)`, `Pitch`, `Pitch ID`, `Dynamics`, …; the older headers
//! `Instrument Name` / `Technique Name` are accepted too) and the audio at
//! `<root>/audio/<Path>` (or `<root>/<Path>` when there is no `audio/`).
//! Labels: `instrument` (full name), `family`, `pitch_class` (from `Pitch`
//! like `A#3` → `A#`), `pitch` (MIDI number, `Pitch ID`), `dynamics`,
//! `technique`. Item id: `Path`.
//!
//! Split: from the metadata's five folds (0–4): by default folds 0–2 train,
//! `valid_fold = 3`, `test_fold = 4`; any two different folds can be chosen
//! (the other three train), or a `split` option replaces the folds.
//!
//! ```toml
//! [[datasets]]
//! name = "tinysol"
//! kind = "tinysol"
//! root = "data/TinySOL"
//! ```

use super::{audio_dir_or_root, finish, first_existing, number, validate_split, CsvTable};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn d_valid_fold() -> u8 {
    3
}
fn d_test_fold() -> u8 {
    4
}

/// Options of `kind = "tinysol"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TinySolSpec {
    /// Name used in results.
    pub name: String,
    /// Corpus folder.
    pub root: PathBuf,
    /// Fold used for validation (default 3).
    #[serde(default = "d_valid_fold")]
    pub valid_fold: u8,
    /// Fold used for test (default 4).
    #[serde(default = "d_test_fold")]
    pub test_fold: u8,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split instead of the folds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl TinySolSpec {
    /// Folds in 0..=4 and different.
    pub fn validate(&self, key: &str) -> Result<()> {
        for (field, v) in [
            ("valid_fold", self.valid_fold),
            ("test_fold", self.test_fold),
        ] {
            if v > 4 {
                return Err(Error::config(
                    format!("{key}.{field}"),
                    format!("TinySOL has folds 0 to 4 (got {v})"),
                ));
            }
        }
        if self.valid_fold == self.test_fold {
            return Err(Error::config(
                format!("{key}.test_fold"),
                format!("must differ from valid_fold (both {})", self.test_fold),
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

/// The pitch class of a note name like `A#3`, `C4` or `Db2`.
fn pitch_class(pitch: &str) -> Option<String> {
    let name = pitch.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let mut chars = name.chars();
    let letter = chars.next()?.to_ascii_uppercase();
    if !('A'..='G').contains(&letter) || chars.clone().any(|c| c != '#' && c != 'b') {
        return None;
    }
    Some(format!("{letter}{}", chars.as_str()))
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &TinySolSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let name = "TinySOL_metadata.csv";
    let csv_path = first_existing(
        &[root.join(name), root.join("annotation").join(name)],
        "TinySOL metadata",
    )?;
    let audio_dir = audio_dir_or_root(&root);
    let mut table = CsvTable::open(&csv_path)?;
    let col = |names: &[&str]| table.column(names);
    let c_path = col(&["Path"])?;
    let c_fold = col(&["Fold"])?;
    let c_family = col(&["Family"])?;
    let c_inst = col(&["Instrument (in full)", "Instrument Name"])?;
    let c_tech = col(&["Technique (in full)", "Technique Name"])?;
    let c_pitch = col(&["Pitch"])?;
    let c_pitch_id = col(&["Pitch ID"])?;
    let c_dyn = col(&["Dynamics"])?;
    let mut entries = Vec::new();
    for (i, record) in table.reader.records().enumerate() {
        let origin = format!("{}: line {}", csv_path.display(), i + 2);
        let record = record.map_err(|e| Error::Other(format!("{origin}: {e}")))?;
        let get = |c: usize| record.get(c).unwrap_or("").to_owned();
        let fold = number(&get(c_fold), &origin, "Fold")?;
        let split = match fold as i64 {
            f if f as f64 != fold || !(0..=4).contains(&f) => {
                return Err(Error::Other(format!(
                    "{origin}: Fold \"{}\" is not a fold 0 to 4",
                    get(c_fold)
                )))
            }
            f if f == spec.test_fold as i64 => Split::Test,
            f if f == spec.valid_fold as i64 => Split::Valid,
            _ => Split::Train,
        };
        let pitch = get(c_pitch);
        let pc = pitch_class(&pitch).ok_or_else(|| {
            Error::Other(format!(
                "{origin}: Pitch \"{pitch}\" is not a note name like A#3"
            ))
        })?;
        let mut labels = BTreeMap::new();
        labels.insert("instrument".to_owned(), Label::Text(get(c_inst)));
        labels.insert("family".to_owned(), Label::Text(get(c_family)));
        labels.insert("technique".to_owned(), Label::Text(get(c_tech)));
        labels.insert("dynamics".to_owned(), Label::Text(get(c_dyn)));
        labels.insert("pitch_class".to_owned(), Label::Text(pc));
        labels.insert(
            "pitch".to_owned(),
            Label::Number(number(&get(c_pitch_id), &origin, "Pitch ID")?),
        );
        let rel = get(c_path);
        entries.push(Entry {
            path: audio_dir.join(&rel),
            id: rel,
            split: Some(split),
            labels,
            origin,
        });
    }
    finish(
        &spec.name,
        entries,
        spec.on_error,
        spec.split.as_ref(),
        None,
        seed,
        &["instrument", "family", "pitch_class"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    const HEADER: &str = "Path,Fold,Family,Instrument (abbr.),Instrument (in full),Technique (abbr.),Technique (in full),Pitch,Pitch ID,Dynamics,Dynamics ID,Instance ID,String ID (if applicable),Needed digital retuning\n";

    fn tree(root: &Path) -> String {
        let mut csv = HEADER.to_owned();
        for (fold, (family, abbr, full, pitch, id)) in [
            ("Brass", "Hn", "Horn", "A#3", 58),
            ("Strings", "Vn", "Violin", "C4", 60),
            ("Brass", "Hn", "Horn", "F3", 53),
            ("Strings", "Vn", "Violin", "Db5", 73),
            ("Brass", "Hn", "Horn", "C4", 60),
            ("Strings", "Vn", "Violin", "E4", 64),
        ]
        .into_iter()
        .enumerate()
        {
            let path = format!("{family}/{full}/ordinario/{abbr}-ord-{pitch}-ff-N-N.wav");
            csv.push_str(&format!(
                "{path},{},{family},{abbr},{full},ord,ordinario,{pitch},{id},ff,4,0,,FALSE\n",
                fold % 5
            ));
            wav(&root.join("audio").join(&path));
        }
        text(&root.join("TinySOL_metadata.csv"), &csv);
        csv
    }

    #[test]
    fn folds_labels_and_pitch_classes() {
        assert_eq!(pitch_class("A#3").as_deref(), Some("A#"));
        assert_eq!(pitch_class("Db5").as_deref(), Some("Db"));
        assert_eq!(pitch_class("C-1").as_deref(), Some("C"));
        assert_eq!(pitch_class("X3"), None);
        let dir = tempfile::tempdir().unwrap();
        let csv = tree(&dir.path().join("ts"));
        let spec: TinySolSpec =
            serde_json::from_value(serde_json::json!({"name": "t", "root": "ts"})).unwrap();
        spec.validate("d").unwrap();
        let ds = open(&spec, dir.path(), 0).unwrap();
        // Folds 0,1,2,3,4,0: train 0-2 (4 items), valid 3, test 4.
        assert_eq!(counts(ds.items()), (4, 1, 1));
        assert_eq!(classes(ds.items(), "instrument"), ["Horn", "Violin"]);
        assert_eq!(
            classes(ds.items(), "pitch_class"),
            ["A#", "C", "Db", "E", "F"]
        );
        assert!(
            ds.warnings().iter().any(|w| w.contains("\"Db\"")),
            "{:?}",
            ds.warnings()
        );
        let other: TinySolSpec = serde_json::from_value(serde_json::json!(
            {"name": "t", "root": "ts", "valid_fold": 0, "test_fold": 1}))
        .unwrap();
        assert_eq!(
            counts(open(&other, dir.path(), 0).unwrap().items()),
            (3, 2, 1)
        );

        text(
            &dir.path().join("ts/TinySOL_metadata.csv"),
            &format!("{csv}x.wav,7,Brass,Hn,Horn,ord,ordinario,C4,60,ff,4,0,,FALSE\n"),
        );
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(
            err.contains("line 8") && err.contains("Fold \"7\""),
            "{err}"
        );
        let same: TinySolSpec = serde_json::from_value(serde_json::json!(
            {"name": "t", "root": "ts", "valid_fold": 2, "test_fold": 2}))
        .unwrap();
        assert!(same
            .validate("d")
            .unwrap_err()
            .to_string()
            .contains("d.test_fold"));
    }
}
