//! `gtzan`: GTZAN genre collection (Tzanetakis & Cook 2002).
//!
//! Layout: `<root>/genres/<genre>/<genre>.000NN.wav` (the Kaggle copy names
//! the folder `genres_original/`; both are accepted). The original archive
//! ships `.au` files, which the decoder cannot read: convert them to `.wav`
//! with the same stem first. Label: `genre`. Item id: the file stem
//! (`blues.00000`).
//!
//! Split: the fault-filtered split of Kereliuk, Sturm & Larsen (2015), which
//! leaves out repeated, distorted and mislabelled excerpts and keeps
//! artists apart, is read from the list files the user points to with
//! `split_dir` (`train_filtered.txt`, `valid_filtered.txt`,
//! `test_filtered.txt`, one file per line like `blues/blues.00000.wav`; the
//! extension and folder are ignored, the stem is matched). Files in no list
//! are left out, as the filter intends. These lists are not shipped with
//! repbench and never invented: without `split_dir` the split is a seeded
//! stratified split by genre (0.6 / 0.2 / 0.2) over every file, which does
//! NOT keep artists apart and so overestimates accuracy; the dataset carries
//! a warning saying so.
//!
//! ```toml
//! [[datasets]]
//! name = "gtzan"
//! kind = "gtzan"
//! root = "data/gtzan"
//! split_dir = "data/gtzan_splits"   # optional
//! ```

use super::{finish, first_existing, list_dir, read_text, validate_split};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Options of `kind = "gtzan"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GtzanSpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `genres/` or `genres_original/`.
    pub root: PathBuf,
    /// Folder with the fault-filtered split lists (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_dir: Option<PathBuf>,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split instead of the lists (not with `split_dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl GtzanSpec {
    /// `split_dir` and `split` exclude each other.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.split_dir.is_some() && self.split.is_some() {
            return Err(Error::config(
                format!("{key}.split"),
                "use either split_dir (the fault-filtered lists) or split, not both",
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

const LISTS: [(&str, Split); 3] = [
    ("train_filtered.txt", Split::Train),
    ("valid_filtered.txt", Split::Valid),
    ("test_filtered.txt", Split::Test),
];

/// Reads the three list files: stem → (split, "file: line N").
fn read_lists(dir: &Path) -> Result<HashMap<String, (Split, String)>> {
    let mut out: HashMap<String, (Split, String)> = HashMap::new();
    for (file, split) in LISTS {
        let path = dir.join(file);
        let text = read_text(&path, "GTZAN fault-filtered split list")?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let origin = format!("{}: line {}", path.display(), i + 1);
            let stem = Path::new(line)
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| Error::Other(format!("{origin}: \"{line}\" is not a file name")))?
                .to_owned();
            if let Some((other, first)) = out.get(&stem) {
                return Err(Error::Other(format!(
                    "{origin}: \"{stem}\" is already in the {other} list ({first}); an excerpt belongs to one split"
                )));
            }
            out.insert(stem, (split, origin));
        }
    }
    Ok(out)
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &GtzanSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let genres_dir = first_existing(
        &[root.join("genres"), root.join("genres_original")],
        "GTZAN genre folders",
    )?;
    // stem → (genre, path)
    let mut files: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    for genre_dir in list_dir(&genres_dir)?.into_iter().filter(|p| p.is_dir()) {
        let genre = genre_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut au_only = 0;
        for file in list_dir(&genre_dir)? {
            match file.extension().and_then(|e| e.to_str()) {
                Some("wav") => {
                    let stem = file
                        .file_stem()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    files.insert(stem, (genre.clone(), file));
                }
                Some("au") => au_only += 1,
                _ => {}
            }
        }
        if au_only > 0 && !files.values().any(|(g, _)| *g == genre) {
            return Err(Error::Other(format!(
                "{}: {au_only} .au file(s) but no .wav; convert them to .wav with the same names (e.g. `sox blues.00000.au blues.00000.wav`)",
                genre_dir.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(Error::Other(format!(
            "{}: no <genre>/<genre>.NNNNN.wav files",
            genres_dir.display()
        )));
    }
    let entry = |stem: &str, genre: &str, path: PathBuf, split: Option<Split>, origin: String| {
        let mut labels = BTreeMap::new();
        labels.insert("genre".to_owned(), Label::Text(genre.to_owned()));
        Entry {
            id: stem.to_owned(),
            split,
            labels,
            path,
            origin,
        }
    };
    let Some(split_dir) = &spec.split_dir else {
        let entries = files
            .iter()
            .map(|(stem, (genre, path))| {
                entry(stem, genre, path.clone(), None, path.display().to_string())
            })
            .collect();
        let mut ds = finish(
            &spec.name,
            entries,
            spec.on_error,
            spec.split.as_ref(),
            Some(SplitSpec::stratified("genre")),
            seed,
            &["genre"],
        )?;
        ds.warn(format!(
            "dataset \"{}\": no split_dir given, so GTZAN uses a seeded split that does not keep artists apart (and keeps faulty excerpts); accuracy will be optimistic. Point split_dir at the fault-filtered lists for comparable results.",
            spec.name
        ));
        return Ok(ds);
    };
    let lists = read_lists(&base_dir.join(split_dir))?;
    let mut entries = Vec::with_capacity(lists.len());
    let mut sorted: Vec<(&String, &(Split, String))> = lists.iter().collect();
    sorted.sort();
    for (stem, (split, origin)) in sorted {
        // A listed excerpt missing on disk is handled like any unreadable
        // file (fail or skip); its genre is the stem's prefix.
        let (genre, path) = match files.get(stem) {
            Some((g, p)) => (g.clone(), p.clone()),
            None => {
                let genre = stem.split('.').next().unwrap_or(stem).to_owned();
                let path = genres_dir.join(&genre).join(format!("{stem}.wav"));
                (genre, path)
            }
        };
        entries.push(entry(stem, &genre, path, Some(*split), origin.clone()));
    }
    let left_out = files.keys().filter(|s| !lists.contains_key(*s)).count();
    let mut ds = finish(
        &spec.name,
        entries,
        spec.on_error,
        None,
        None,
        seed,
        &["genre"],
    )?;
    if left_out > 0 {
        ds.warn(format!(
            "dataset \"{}\": {left_out} file(s) are in no split list and are left out (the fault filter excludes them)",
            spec.name
        ));
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{classes, counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    fn tree(root: &Path, folder: &str) {
        for genre in ["blues", "jazz", "rock"] {
            for n in 0..10 {
                wav(&root.join(format!("{folder}/{genre}/{genre}.{n:05}.wav")));
            }
        }
    }

    fn spec(extra: serde_json::Value) -> GtzanSpec {
        let mut v = serde_json::json!({"name": "g", "root": "gtzan"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn seeded_fallback_is_stratified_and_warns() {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("gtzan"), "genres_original");
        let ds = open(&spec(serde_json::json!({})), dir.path(), 3).unwrap();
        assert_eq!(counts(ds.items()), (18, 6, 6));
        assert_eq!(classes(ds.items(), "genre"), ["blues", "jazz", "rock"]);
        assert!(ds.warnings().iter().any(|w| w.contains("split_dir")));
        let jazz_test = ds
            .items()
            .iter()
            .filter(|i| i.split == Split::Test && i.labels["genre"] == Label::Text("jazz".into()))
            .count();
        assert_eq!(jazz_test, 2);
    }

    #[test]
    fn split_lists_select_and_assign_files() {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("gtzan"), "genres");
        let lists = dir.path().join("lists");
        text(&lists.join("train_filtered.txt"), "blues/blues.00000.wav\njazz/jazz.00001.wav\nrock/rock.00002.wav\nrock/rock.00003.wav\n");
        text(
            &lists.join("valid_filtered.txt"),
            "blues/blues.00004.au\njazz/jazz.00005.wav\n\n",
        );
        text(&lists.join("test_filtered.txt"), "rock/rock.00006.wav\n");
        let s = spec(serde_json::json!({"split_dir": "lists"}));
        s.validate("datasets[0]").unwrap();
        let ds = open(&s, dir.path(), 3).unwrap();
        assert_eq!(counts(ds.items()), (4, 2, 1));
        assert!(ds
            .warnings()
            .iter()
            .any(|w| w.contains("23 file(s) are in no split list")));
        assert!(!ds.warnings().iter().any(|w| w.contains("never in train")));
        let item = ds.items().iter().find(|i| i.id == "blues.00004").unwrap();
        assert_eq!(item.split, Split::Valid);
        assert_eq!(ds.load(item, 8000).unwrap().len(), 400);

        text(
            &lists.join("test_filtered.txt"),
            "rock/rock.00006.wav\nrock/rock.00099.wav\njazz/jazz.00001.wav\n",
        );
        let err = open(&s, dir.path(), 3).unwrap_err().to_string();
        assert!(
            err.contains("test_filtered.txt: line 3") && err.contains("train list"),
            "{err}"
        );
        text(
            &lists.join("test_filtered.txt"),
            "rock/rock.00006.wav\nrock/rock.00099.wav\n",
        );
        let err = open(&s, dir.path(), 3).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("rock.00099.wav"),
            "{err}"
        );
        let skip = spec(serde_json::json!({"split_dir": "lists", "on_error": "skip"}));
        let ds = open(&skip, dir.path(), 3).unwrap();
        assert_eq!(ds.skipped().len(), 1);

        let both = spec(serde_json::json!({"split_dir": "lists", "split": {"method": "random"}}));
        assert!(both
            .validate("d")
            .unwrap_err()
            .to_string()
            .contains("not both"));
    }

    #[test]
    fn missing_folder_and_au_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(&spec(serde_json::json!({})), dir.path(), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("genres_original"), "{err}");
        text(&dir.path().join("gtzan/genres/blues/blues.00000.au"), "x");
        let err = open(&spec(serde_json::json!({})), dir.path(), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains(".au") && err.contains("sox"), "{err}");
    }
}
