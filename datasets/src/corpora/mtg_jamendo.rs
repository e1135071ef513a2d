//! `mtg_jamendo`: MTG-Jamendo auto-tagging (Bogdanov et al. 2019).
//!
//! Layout: `<root>/data/splits/split-<split>/autotagging_<subset>-{train,validation,test}.tsv`
//! (tab-separated, header `TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS`,
//! then one tag per remaining column, like `genre---rock`) and the audio at
//! `<root>/<audio_dir>/<PATH>` (default `audio_dir = "audio"`). When that
//! file is absent, the low-quality download's `<id>.low.mp3` or a `.wav`
//! with the same stem is used.
//!
//! `subset`: `genre`, `instrument`, `moodtheme` or `top50tags` (default
//! `moodtheme`); `split`: the published split number 0–4 (default 0), each
//! artist-disjoint. Labels: `tags` (the tags with their `category---`
//! prefix stripped, sorted, `;`-joined), `artist` (ARTIST_ID), `album`
//! (ALBUM_ID), `duration` (seconds). Item id: TRACK_ID.
//!
//! ```toml
//! [[datasets]]
//! name = "jamendo_mood"
//! kind = "mtg_jamendo"
//! root = "data/mtg-jamendo-dataset"
//! subset = "moodtheme"
//! split_number = 0
//! ```

use super::{audio_or_wav, finish, number, read_text, validate_split};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which tag category's split files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JamendoSubset {
    /// 87 genre tags.
    Genre,
    /// 40 instrument tags.
    Instrument,
    /// 56 mood/theme tags.
    #[default]
    Moodtheme,
    /// The 50 most frequent tags of all categories.
    Top50tags,
}

impl JamendoSubset {
    fn as_str(self) -> &'static str {
        match self {
            JamendoSubset::Genre => "genre",
            JamendoSubset::Instrument => "instrument",
            JamendoSubset::Moodtheme => "moodtheme",
            JamendoSubset::Top50tags => "top50tags",
        }
    }
}

fn d_audio_dir() -> PathBuf {
    "audio".into()
}

/// Options of `kind = "mtg_jamendo"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtgJamendoSpec {
    /// Name used in results.
    pub name: String,
    /// The dataset repository folder (holding `data/splits/`).
    pub root: PathBuf,
    /// Folder the TSV `PATH`s are relative to, relative to `root`.
    #[serde(default = "d_audio_dir")]
    pub audio_dir: PathBuf,
    /// Tag category (default `moodtheme`).
    #[serde(default)]
    pub subset: JamendoSubset,
    /// Published split number, 0–4 (default 0).
    #[serde(default)]
    pub split_number: u8,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split instead of the published one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl MtgJamendoSpec {
    /// `split_number` in 0..=4.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.split_number > 4 {
            return Err(Error::config(
                format!("{key}.split_number"),
                format!("must be 0 to 4 (got {})", self.split_number),
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

/// The audio file for a TSV `PATH`: as given, else `<stem>.low.mp3`, else
/// `<stem>.wav`.
fn audio_path(audio_root: &Path, rel: &str) -> PathBuf {
    let path = audio_root.join(rel);
    if path.exists() {
        return path;
    }
    let low = path.with_extension("low.mp3");
    if low.exists() {
        low
    } else {
        audio_or_wav(path)
    }
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &MtgJamendoSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let audio_root = root.join(&spec.audio_dir);
    let dir = root
        .join("data/splits")
        .join(format!("split-{}", spec.split_number));
    let mut entries = Vec::new();
    for (part, split) in [
        ("train", Split::Train),
        ("validation", Split::Valid),
        ("test", Split::Test),
    ] {
        let path = dir.join(format!("autotagging_{}-{part}.tsv", spec.subset.as_str()));
        let text = read_text(&path, "MTG-Jamendo split file")?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header = lines.next().map(|(_, l)| l).unwrap_or("");
        if !header.starts_with("TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS") {
            return Err(Error::Other(format!(
                "{}: line 1: expected the header TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, TAGS (tab-separated)",
                path.display()
            )));
        }
        for (i, line) in lines {
            let origin = format!("{}: line {}", path.display(), i + 1);
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            if cols.len() < 6 {
                return Err(Error::Other(format!(
                    "{origin}: {} column(s); expected TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION and at least one tag",
                    cols.len()
                )));
            }
            let tags: BTreeSet<&str> = cols[5..]
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| t.split_once("---").map_or(*t, |(_, tag)| tag))
                .collect();
            let mut labels = BTreeMap::new();
            labels.insert("artist".to_owned(), Label::Text(cols[1].to_owned()));
            labels.insert("album".to_owned(), Label::Text(cols[2].to_owned()));
            labels.insert(
                "duration".to_owned(),
                Label::Number(number(cols[4], &origin, "DURATION")?),
            );
            if !tags.is_empty() {
                let joined: Vec<&str> = tags.into_iter().collect();
                labels.insert("tags".to_owned(), Label::Text(joined.join(";")));
            }
            entries.push(Entry {
                id: cols[0].to_owned(),
                split: Some(split),
                labels,
                path: audio_path(&audio_root, cols[3]),
                origin,
            });
        }
    }
    finish(
        &spec.name,
        entries,
        spec.on_error,
        spec.split.as_ref(),
        None,
        seed,
        &["tags"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    const HEADER: &str = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n";

    fn tree(root: &Path) {
        let dir = root.join("data/splits/split-2");
        let rows = |rows: &[(&str, &str, &str)]| {
            let mut s = HEADER.to_owned();
            for (id, artist, tags) in rows {
                let n = id.trim_start_matches("track_").trim_start_matches('0');
                s.push_str(&format!(
                    "{id}\t{artist}\talbum_1\t{}/{n}.mp3\t212.5\t{tags}\n",
                    &n[n.len() - 2..]
                ));
            }
            s
        };
        text(
            &dir.join("autotagging_genre-train.tsv"),
            &rows(&[
                ("track_0000214", "artist_000014", "genre---punkrock"),
                (
                    "track_0000215",
                    "artist_000014",
                    "genre---rock\tgenre---punkrock",
                ),
            ]),
        );
        text(
            &dir.join("autotagging_genre-validation.tsv"),
            &rows(&[("track_0000316", "artist_000020", "genre---rock")]),
        );
        text(
            &dir.join("autotagging_genre-test.tsv"),
            &rows(&[(
                "track_0000417",
                "artist_000030",
                "genre---rock\tgenre---jazz",
            )]),
        );
        wav(&root.join("audio/14/214.mp3"));
        wav(&root.join("audio/15/215.low.mp3"));
        wav(&root.join("audio/16/316.wav"));
        wav(&root.join("audio/17/417.mp3"));
    }

    fn spec() -> MtgJamendoSpec {
        let s: MtgJamendoSpec = serde_json::from_value(serde_json::json!(
            {"name": "j", "root": "mj", "subset": "genre", "split_number": 2}))
        .unwrap();
        s.validate("d").unwrap();
        s
    }

    #[test]
    fn reads_split_files_tags_and_artists() {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("mj"));
        let ds = open(&spec(), dir.path(), 0).unwrap();
        assert_eq!(counts(ds.items()), (2, 1, 1));
        let it = ds.items().iter().find(|i| i.id == "track_0000215").unwrap();
        assert_eq!(it.labels["tags"], Label::Text("punkrock;rock".into()));
        assert_eq!(it.labels["artist"], Label::Text("artist_000014".into()));
        assert_eq!(it.labels["duration"], Label::Number(212.5));
        assert!(it.source.ends_with("215.low.mp3"));
        assert_eq!(classes(ds.items(), "artist").len(), 3);
        assert!(ds.warnings().iter().any(|w| w.contains("\"jazz\"")));
    }

    #[test]
    fn errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mj");
        tree(&root);
        let test = root.join("data/splits/split-2/autotagging_genre-test.tsv");
        text(
            &test,
            &format!("{HEADER}track_1\tartist_1\talbum_1\t01/1.mp3\tlong\tgenre---rock\n"),
        );
        let err = open(&spec(), dir.path(), 0).unwrap_err().to_string();
        assert!(
            err.contains("autotagging_genre-test.tsv: line 2") && err.contains("DURATION"),
            "{err}"
        );
        text(&test, "track_1\tartist_1\n");
        let err = open(&spec(), dir.path(), 0).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("header"), "{err}");
        let bad: MtgJamendoSpec = serde_json::from_value(serde_json::json!(
            {"name": "j", "root": "mj", "split_number": 5}))
        .unwrap();
        assert!(bad
            .validate("d")
            .unwrap_err()
            .to_string()
            .contains("d.split_number"));
    }
}
