//! `emomusic`: 1000 Songs for Emotional Analysis of Music (Soleymani et al.
//! 2013), 45 s clips with static arousal/valence ratings (1–9).
//!
//! Layout: `<root>/annotations/static_annotations.csv` (columns `song_id`,
//! `mean_arousal`, `mean_valence`, …; header names are trimmed) and
//! `<root>/clips_45seconds/<song_id>.mp3` (or `.wav`). Labels: `arousal`,
//! `valence` (numbers, for regression). Item id: `song_id`.
//!
//! Split: the default is a seeded random split (0.6 / 0.2 / 0.2). With
//! `mediaeval_split = true` the partition of `annotations/songs_info.csv`
//! (column `Mediaeval 2013 set`) is used instead: `evaluation` songs are
//! test, and a seeded `valid_fraction` (default 0.2) of the `development`
//! songs is valid (the partition has no validation part of its own), the
//! rest train.
//!
//! ```toml
//! [[datasets]]
//! name = "emomusic"
//! kind = "emomusic"
//! root = "data/emomusic"
//! mediaeval_split = true
//! ```

use super::{audio_or_wav, finish, number, validate_split, CsvTable};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use rand::seq::SliceRandom;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{seed as seeding, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `kind = "emomusic"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmoMusicSpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `annotations/` and `clips_45seconds/`.
    pub root: PathBuf,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// The split (default: random 0.6 / 0.2 / 0.2, seeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
    /// Use the MediaEval 2013 development/evaluation partition.
    #[serde(default)]
    pub mediaeval_split: bool,
    /// With `mediaeval_split`: share of development songs used as valid.
    #[serde(default = "d_valid_fraction")]
    pub valid_fraction: f64,
}

fn d_valid_fraction() -> f64 {
    0.2
}

impl EmoMusicSpec {
    /// Checks the `split` option and its exclusion with `mediaeval_split`.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.mediaeval_split && self.split.is_some() {
            return Err(Error::config(
                format!("{key}.split"),
                "use either mediaeval_split or split, not both",
            ));
        }
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return Err(Error::config(
                format!("{key}.valid_fraction"),
                format!("must be in (0, 1) (got {})", self.valid_fraction),
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

/// song_id → split from `songs_info.csv`'s `Mediaeval 2013 set` column.
fn mediaeval_splits(
    root: &Path,
    valid_fraction: f64,
    seed: u64,
) -> Result<std::collections::HashMap<String, Split>> {
    let path = root.join("annotations/songs_info.csv");
    let mut table = CsvTable::open(&path)?;
    let (id_col, set_col) = (
        table.column(&["song_id"])?,
        table.column(&["Mediaeval 2013 set"])?,
    );
    let mut development = Vec::new();
    let mut out = std::collections::HashMap::new();
    for (i, record) in table.reader.records().enumerate() {
        let origin = format!("{}: line {}", path.display(), i + 2);
        let record = record.map_err(|e| Error::Other(format!("{origin}: {e}")))?;
        let id = record.get(id_col).unwrap_or("").to_owned();
        match record.get(set_col).unwrap_or("") {
            "evaluation" => {
                out.insert(id, Split::Test);
            }
            "development" => development.push(id),
            other => {
                return Err(Error::Other(format!(
                    "{origin}: Mediaeval 2013 set \"{other}\" is neither development nor evaluation"
                )))
            }
        }
    }
    development.sort();
    development.shuffle(&mut seeding::rng(seed, &["emomusic", "mediaeval_valid"]));
    let n_valid = (development.len() as f64 * valid_fraction).round() as usize;
    for (rank, id) in development.into_iter().enumerate() {
        out.insert(
            id,
            if rank < n_valid {
                Split::Valid
            } else {
                Split::Train
            },
        );
    }
    Ok(out)
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &EmoMusicSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let csv_path = root.join("annotations/static_annotations.csv");
    let mut table = CsvTable::open(&csv_path)?;
    let (id_col, a_col, v_col) = (
        table.column(&["song_id"])?,
        table.column(&["mean_arousal"])?,
        table.column(&["mean_valence"])?,
    );
    let official = if spec.mediaeval_split {
        Some(mediaeval_splits(&root, spec.valid_fraction, seed)?)
    } else {
        None
    };
    let mut entries = Vec::new();
    for (i, record) in table.reader.records().enumerate() {
        let origin = format!("{}: line {}", csv_path.display(), i + 2);
        let record = record.map_err(|e| Error::Other(format!("{origin}: {e}")))?;
        let get = |c: usize| record.get(c).unwrap_or("");
        let id = get(id_col).to_owned();
        if id.is_empty() {
            return Err(Error::Other(format!("{origin}: empty song_id")));
        }
        let mut labels = BTreeMap::new();
        labels.insert(
            "arousal".to_owned(),
            Label::Number(number(get(a_col), &origin, "mean_arousal")?),
        );
        labels.insert(
            "valence".to_owned(),
            Label::Number(number(get(v_col), &origin, "mean_valence")?),
        );
        let split = match &official {
            None => None,
            Some(map) => Some(*map.get(&id).ok_or_else(|| {
                Error::Other(format!(
                    "{origin}: song {id} is not in annotations/songs_info.csv, so it has no MediaEval 2013 set"
                ))
            })?),
        };
        entries.push(Entry {
            path: audio_or_wav(root.join("clips_45seconds").join(format!("{id}.mp3"))),
            id,
            split,
            labels,
            origin,
        });
    }
    finish(
        &spec.name,
        entries,
        spec.on_error,
        spec.split.as_ref(),
        official.is_none().then(SplitSpec::default),
        seed,
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    #[test]
    fn reads_ratings_with_a_seeded_split() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("emo");
        let mut csv =
            String::from("song_id, mean_arousal, std_arousal, mean_valence, std_valence\n");
        for id in 2..12 {
            csv.push_str(&format!("{id},{}.5,0.9,{},1.1\n", id % 9, 9 - id % 9));
            wav(&root.join(format!("clips_45seconds/{id}.mp3")));
        }
        text(&root.join("annotations/static_annotations.csv"), &csv);
        let spec: EmoMusicSpec =
            serde_json::from_value(serde_json::json!({"name": "e", "root": "emo"})).unwrap();
        let ds = open(&spec, dir.path(), 1).unwrap();
        assert_eq!(counts(ds.items()), (6, 2, 2));
        let three = ds.items().iter().find(|i| i.id == "3").unwrap();
        assert_eq!(three.labels["arousal"], Label::Number(3.5));
        assert_eq!(three.labels["valence"], Label::Number(6.0));
        let again = open(&spec, dir.path(), 1).unwrap();
        assert_eq!(ds.items(), again.items());

        text(
            &root.join("annotations/static_annotations.csv"),
            &format!("{csv}12,high,1,2,3\n"),
        );
        let err = open(&spec, dir.path(), 1).unwrap_err().to_string();
        assert!(
            err.contains("line 12") && err.contains("mean_arousal"),
            "{err}"
        );
    }
}
