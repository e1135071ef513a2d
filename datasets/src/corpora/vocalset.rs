//! `vocalset`: VocalSet (Wilkins et al. 2018), 20 singers × singing
//! techniques.
//!
//! Layout: `<root>/FULL/<singer>/<context>/<technique>/<file>.wav` (singer
//! like `female1` or `male3`; context like `arpeggios`, `scales`,
//! `long_tones`, `excerpts`). Labels: `singer`, `technique`, `context`.
//! Item id: `<singer>/<context>/<technique>/<file stem>`.
//!
//! Split: always singer-disjoint.
//! * default: a seeded group split of whole singers (0.6 / 0.2 / 0.2 of the
//!   items, approximately), i.e. `split = { method = "group", by = "singer" }`;
//!   any `split` option can replace it;
//! * `test_singers = "publisher"`: the singers listed in the archive's own
//!   `test_singers_technique.txt` (in `<root>` or `<root>/FULL`) are test,
//!   and `valid_singers` (default 2) of the rest, chosen with the seed, are
//!   valid;
//! * `test_singers = ["female2", "male3", …]`: the same with your own list.
//!
//! ```toml
//! [[datasets]]
//! name = "vocalset"
//! kind = "vocalset"
//! root = "data/VocalSet"
//! test_singers = "publisher"
//! ```

use super::{finish, list_dir, read_text, validate_split};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use rand::seq::SliceRandom;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{seed as seeding, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which singers are test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TestSingers {
    /// `"publisher"`: read `test_singers_technique.txt`.
    Named(String),
    /// An explicit list of singer folder names.
    List(Vec<String>),
}

fn d_valid_singers() -> usize {
    2
}

/// Options of `kind = "vocalset"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocalSetSpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `FULL/`.
    pub root: PathBuf,
    /// Test singers (see the module docs); absent: a seeded group split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_singers: Option<TestSingers>,
    /// With `test_singers`: how many other singers are valid (default 2).
    #[serde(default = "d_valid_singers")]
    pub valid_singers: usize,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// The split when `test_singers` is absent (default: group by singer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl VocalSetSpec {
    /// `test_singers` is `"publisher"` or a non-empty list, and not combined
    /// with `split`.
    pub fn validate(&self, key: &str) -> Result<()> {
        match &self.test_singers {
            Some(TestSingers::Named(n)) if n != "publisher" => {
                return Err(Error::config(
                    format!("{key}.test_singers"),
                    format!("must be \"publisher\" or a list of singers (got \"{n}\")"),
                ))
            }
            Some(TestSingers::List(l)) if l.is_empty() => {
                return Err(Error::config(
                    format!("{key}.test_singers"),
                    "the list is empty",
                ))
            }
            Some(_) if self.split.is_some() => {
                return Err(Error::config(
                    format!("{key}.split"),
                    "use either test_singers or split, not both",
                ))
            }
            _ => {}
        }
        if self.valid_singers == 0 {
            return Err(Error::config(
                format!("{key}.valid_singers"),
                "must be at least 1",
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

/// Lists `FULL/` four levels deep.
fn list_files(full: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for singer in list_dir(full)?.into_iter().filter(|p| p.is_dir()) {
        for context in list_dir(&singer)?.into_iter().filter(|p| p.is_dir()) {
            for technique in list_dir(&context)?.into_iter().filter(|p| p.is_dir()) {
                for file in list_dir(&technique)? {
                    if file.extension().and_then(|e| e.to_str()) != Some("wav") {
                        continue;
                    }
                    let name = |p: &Path| {
                        p.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned()
                    };
                    let stem = file
                        .file_stem()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    let (s, c, t) = (name(&singer), name(&context), name(&technique));
                    let mut labels = BTreeMap::new();
                    labels.insert("singer".to_owned(), Label::Text(s.clone()));
                    labels.insert("context".to_owned(), Label::Text(c.clone()));
                    labels.insert("technique".to_owned(), Label::Text(t.clone()));
                    entries.push(Entry {
                        id: format!("{s}/{c}/{t}/{stem}"),
                        split: None,
                        labels,
                        origin: file.display().to_string(),
                        path: file,
                    });
                }
            }
        }
    }
    Ok(entries)
}

/// The publisher's test singers file, one singer per line.
fn publisher_test_singers(root: &Path) -> Result<Vec<String>> {
    let name = "test_singers_technique.txt";
    let path = [root.join(name), root.join("FULL").join(name)]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            Error::Other(format!(
                "test_singers = \"publisher\" reads {name}, which the VocalSet archive ships; not found in {} or its FULL/",
                root.display()
            ))
        })?;
    Ok(read_text(&path, "VocalSet test singer list")?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &VocalSetSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let mut entries = list_files(&root.join("FULL"))?;
    if entries.is_empty() {
        return Err(Error::Other(format!(
            "{}: no FULL/<singer>/<context>/<technique>/*.wav files",
            root.display()
        )));
    }
    let test = match &spec.test_singers {
        None => {
            let fallback = SplitSpec::group("singer");
            return finish(
                &spec.name,
                entries,
                spec.on_error,
                spec.split.as_ref(),
                Some(fallback),
                seed,
                &["technique", "singer"],
            );
        }
        Some(TestSingers::List(l)) => l.clone(),
        Some(TestSingers::Named(_)) => publisher_test_singers(&root)?,
    };
    let singers: BTreeSet<String> = entries
        .iter()
        .map(|e| e.labels["singer"].class_name())
        .collect();
    if let Some(unknown) = test.iter().find(|t| !singers.contains(*t)) {
        return Err(Error::Other(format!(
            "test singer \"{unknown}\" has no recordings; singers are: {}",
            singers.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut rest: Vec<String> = singers
        .iter()
        .filter(|s| !test.contains(s))
        .cloned()
        .collect();
    if rest.len() <= spec.valid_singers {
        return Err(Error::Other(format!(
            "{} singer(s) remain after the test singers; valid_singers = {} leaves none for train",
            rest.len(),
            spec.valid_singers
        )));
    }
    rest.shuffle(&mut seeding::rng(seed, &["vocalset", "valid_singers"]));
    let valid: BTreeSet<&String> = rest.iter().take(spec.valid_singers).collect();
    for e in &mut entries {
        let singer = e.labels["singer"].class_name();
        e.split = Some(if test.contains(&singer) {
            Split::Test
        } else if valid.contains(&singer) {
            Split::Valid
        } else {
            Split::Train
        });
    }
    finish(
        &spec.name,
        entries,
        spec.on_error,
        None,
        None,
        seed,
        &["technique"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{counts, text, wav};
    use super::*;
    use std::collections::HashMap;

    fn tree(root: &Path) {
        for s in 1..=4 {
            for singer in [format!("female{s}"), format!("male{s}")] {
                for (context, technique) in [
                    ("arpeggios", "belt"),
                    ("scales", "vibrato"),
                    ("long_tones", "straight"),
                ] {
                    let short = singer.replace("female", "f").replace("male", "m");
                    wav(&root.join(format!(
                        "FULL/{singer}/{context}/{technique}/{short}_{context}_{technique}_a.wav"
                    )));
                }
            }
        }
        text(&root.join("FULL/female1/.DS_Store"), "junk");
    }

    fn singer_splits(ds: &FileDataset) -> HashMap<String, BTreeSet<Split>> {
        let mut m: HashMap<String, BTreeSet<Split>> = HashMap::new();
        for it in repbench_framework::dataset::Dataset::items(ds) {
            m.entry(it.labels["singer"].class_name())
                .or_default()
                .insert(it.split);
        }
        m
    }

    #[test]
    fn default_split_keeps_singers_apart() {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("vs"));
        let spec: VocalSetSpec =
            serde_json::from_value(serde_json::json!({"name": "v", "root": "vs"})).unwrap();
        spec.validate("d").unwrap();
        let ds = open(&spec, dir.path(), 2).unwrap();
        let items = repbench_framework::dataset::Dataset::items(&ds);
        assert_eq!(items.len(), 24);
        assert!(singer_splits(&ds).values().all(|s| s.len() == 1));
        let (tr, va, te) = counts(items);
        assert_eq!(tr + va + te, 24);
        assert!(tr >= 12 && va >= 3 && te >= 3, "{tr} {va} {te}");
        assert!(items
            .iter()
            .any(|i| i.id == "female1/arpeggios/belt/f1_arpeggios_belt_a"));
    }

    #[test]
    fn publisher_and_listed_test_singers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vs");
        tree(&root);
        let spec: VocalSetSpec = serde_json::from_value(serde_json::json!(
            {"name": "v", "root": "vs", "test_singers": "publisher", "valid_singers": 1}))
        .unwrap();
        spec.validate("d").unwrap();
        let err = open(&spec, dir.path(), 0).unwrap_err().to_string();
        assert!(err.contains("test_singers_technique.txt"), "{err}");
        text(&root.join("test_singers_technique.txt"), "female2\nmale3\n");
        let ds = open(&spec, dir.path(), 0).unwrap();
        let splits = singer_splits(&ds);
        assert_eq!(splits["female2"], BTreeSet::from([Split::Test]));
        assert_eq!(splits["male3"], BTreeSet::from([Split::Test]));
        assert_eq!(
            counts(repbench_framework::dataset::Dataset::items(&ds)),
            (15, 3, 6)
        );

        let listed: VocalSetSpec = serde_json::from_value(serde_json::json!(
            {"name": "v", "root": "vs", "test_singers": ["male9"]}))
        .unwrap();
        let err = open(&listed, dir.path(), 0).unwrap_err().to_string();
        assert!(
            err.contains("\"male9\"") && err.contains("female1"),
            "{err}"
        );
        let bad: VocalSetSpec = serde_json::from_value(serde_json::json!(
            {"name": "v", "root": "vs", "test_singers": "official"}))
        .unwrap();
        assert!(bad
            .validate("d")
            .unwrap_err()
            .to_string()
            .contains("\"publisher\""));
    }
}
