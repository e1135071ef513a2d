//! `medley_solos_db`: Medley-solos-DB (Lostanlen & Cella 2016), 3 s solo
//! excerpts of 8 instruments.
//!
//! Layout: `Medley-solos-DB_metadata.csv` (columns `subset`, `instrument`,
//! `instrument_id`, `song_id`, `uuid4`) in `<root>` or `<root>/annotation/`,
//! and `Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav` in
//! `<root>/audio/` (or `<root>` when there is no `audio/`). Subsets
//! `training`, `validation`, `test` are the official train/valid/test
//! splits (song-disjoint). Labels: `instrument` (class name), `song`
//! (`song_id`, for group splits). Item id: `uuid4`.
//!
//! ```toml
//! [[datasets]]
//! name = "medley"
//! kind = "medley_solos_db"
//! root = "data/medley-solos-db"
//! ```

use super::{audio_dir_or_root, finish, first_existing, validate_split, CsvTable};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `kind = "medley_solos_db"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedleySolosDbSpec {
    /// Name used in results.
    pub name: String,
    /// Corpus folder.
    pub root: PathBuf,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split instead of the official subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl MedleySolosDbSpec {
    /// Checks the `split` option.
    pub fn validate(&self, key: &str) -> Result<()> {
        validate_split(self.split.as_ref(), key)
    }
}

const COLUMNS: [&str; 5] = ["subset", "instrument", "instrument_id", "song_id", "uuid4"];

/// Lists the corpus and builds the dataset.
pub fn open(spec: &MedleySolosDbSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let name = "Medley-solos-DB_metadata.csv";
    let csv_path = first_existing(
        &[root.join(name), root.join("annotation").join(name)],
        "Medley-solos-DB metadata",
    )?;
    let audio_dir = audio_dir_or_root(&root);
    let mut table = CsvTable::open(&csv_path)?;
    let col = |c: &str| table.column(&[c]);
    let idx: Vec<usize> = COLUMNS.iter().map(|c| col(c)).collect::<Result<_>>()?;
    let mut entries = Vec::new();
    for (i, record) in table.reader.records().enumerate() {
        let origin = format!("{}: line {}", csv_path.display(), i + 2);
        let record = record.map_err(|e| Error::Other(format!("{origin}: {e}")))?;
        let get = |k: usize| record.get(idx[k]).unwrap_or("").trim().to_owned();
        let (subset, instrument, instrument_id, song_id, uuid) =
            (get(0), get(1), get(2), get(3), get(4));
        let split = match subset.as_str() {
            "training" => Split::Train,
            "validation" => Split::Valid,
            "test" => Split::Test,
            other => {
                return Err(Error::Other(format!(
                    "{origin}: subset \"{other}\" is not one of training, validation, test"
                )))
            }
        };
        if uuid.is_empty() || instrument.is_empty() {
            return Err(Error::Other(format!("{origin}: empty instrument or uuid4")));
        }
        let mut labels = BTreeMap::new();
        labels.insert("instrument".to_owned(), Label::Text(instrument));
        labels.insert("song".to_owned(), Label::Text(song_id));
        entries.push(Entry {
            path: audio_dir.join(format!(
                "Medley-solos-DB_{subset}-{instrument_id}_{uuid}.wav"
            )),
            id: uuid,
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
        &["instrument"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    #[test]
    fn reads_subsets_and_names_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("msdb");
        let rows = [
            ("training", "clarinet", 0, 1, "aaa"),
            ("training", "piano", 4, 2, "bbb"),
            ("validation", "piano", 4, 3, "ccc"),
            ("test", "clarinet", 0, 4, "ddd"),
            ("test", "piano", 4, 5, "eee"),
        ];
        let mut csv = String::from("subset,instrument,instrument_id,song_id,uuid4\n");
        for (subset, inst, iid, song, uuid) in rows {
            csv.push_str(&format!("{subset},{inst},{iid},{song},{uuid}\n"));
            wav(&root.join(format!("audio/Medley-solos-DB_{subset}-{iid}_{uuid}.wav")));
        }
        text(&root.join("annotation/Medley-solos-DB_metadata.csv"), &csv);
        let spec: MedleySolosDbSpec =
            serde_json::from_value(serde_json::json!({"name": "m", "root": "msdb"})).unwrap();
        let ds = open(&spec, dir.path(), 0).unwrap();
        assert_eq!(counts(ds.items()), (2, 1, 2));
        assert_eq!(classes(ds.items(), "instrument"), ["clarinet", "piano"]);
        assert!(ds.warnings().is_empty());

        text(
            &root.join("annotation/Medley-solos-DB_metadata.csv"),
            &format!("{csv}train,piano,4,6,fff\n"),
        );
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(err.contains("line 7") && err.contains("\"train\""), "{err}");
        text(
            &root.join("annotation/Medley-solos-DB_metadata.csv"),
            "subset,instrument\n",
        );
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(err.contains("no column \"instrument_id\""), "{err}");
    }
}
