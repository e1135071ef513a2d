//! Datasets of audio files: what every file-based kind (manifests and the
//! corpus layouts) shares once it has listed its files.
//!
//! A loader turns its layout into [`Entry`]s (id, optional official split,
//! labels, audio path, and where the entry came from for messages), then
//! [`FileDataset::build`] hashes the files in parallel, applies
//! `on_error`, assigns splits, and checks the result (see
//! [`crate::checks`]).

use crate::checks;
use crate::split::SplitSpec;
use rayon::prelude::*;
use repbench_framework::audio::load_mono;
use repbench_framework::dataset::{Dataset, Item, Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What to do with a listed item whose audio file is missing or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop with an error naming the file and the row (default).
    #[default]
    Fail,
    /// Leave the item out and list it in [`FileDataset::skipped`].
    Skip,
}

impl OnError {
    /// True for the default, so specs can skip serialising it.
    pub fn is_fail(&self) -> bool {
        *self == OnError::Fail
    }
}

/// An item left out under `on_error = "skip"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedItem {
    /// The id the item would have had.
    pub id: String,
    /// Its audio file.
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: String,
}

/// One listed audio file before hashing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Unique id.
    pub id: String,
    /// The corpus' own split, if it has one.
    pub split: Option<Split>,
    /// Labels and factors.
    pub labels: BTreeMap<String, Label>,
    /// The audio file.
    pub path: PathBuf,
    /// Where the entry was listed (`file: row N`), for messages.
    pub origin: String,
}

/// How [`FileDataset::build`] treats the entries.
#[derive(Debug, Clone)]
pub struct BuildOptions<'a> {
    /// Missing or unreadable audio: fail or skip.
    pub on_error: OnError,
    /// Re-split with this (ignoring the entries' own splits); `None` keeps
    /// the entries' splits, which must then all be set.
    pub split: Option<&'a SplitSpec>,
    /// Seed for the split.
    pub seed: u64,
    /// Class labels whose coverage across splits is checked (warnings).
    pub class_labels: &'a [&'a str],
}

/// A dataset of audio files, whatever layout listed them.
#[derive(Debug)]
pub struct FileDataset {
    name: String,
    items: Vec<Item>,
    paths: Vec<PathBuf>,
    index: HashMap<String, usize>,
    skipped: Vec<SkippedItem>,
    warnings: Vec<String>,
}

/// blake3 of a file's bytes, streamed so large files are not held in
/// memory, after checking that it decodes to at least one sample with a
/// plausible sample rate (header and first packet only; floating-point PCM
/// whole, for NaN/Inf), so a text file named `.wav`, a header-only WAV or a
/// damaged header is found when the dataset opens — skipped under
/// `on_error = "skip"` — instead of ending the run halfway through
/// extraction. Also returns the decoder's warnings (a truncated file).
fn hash_file(path: &Path) -> std::result::Result<(String, Vec<String>), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("is a directory, not an audio file".into());
    }
    if meta.len() == 0 {
        return Err("file is empty (0 bytes)".into());
    }
    let notes = repbench_framework::audio::check_decodable(path).map_err(|e| match e {
        repbench_framework::Error::Decode { reason, .. } => {
            format!("not decodable audio: {reason}")
        }
        other => other.to_string(),
    })?;
    let mut notes = notes;
    let layout = repbench_framework::audio::wav_layout(path);
    let hash = hash_and_scan(path, layout).map_err(|e| e.to_string())?;
    if hash.silent {
        notes.push("silent: every sample is zero".into());
    }
    Ok((hash.blake3, notes))
}

/// A file's blake3 and, for a WAV whose samples start at a known offset,
/// whether every sample byte is silence (found in the same pass).
struct Scanned {
    blake3: String,
    silent: bool,
}

fn hash_and_scan(
    path: &Path,
    layout: Option<repbench_framework::audio::WavLayout>,
) -> std::io::Result<Scanned> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let silence = layout.as_ref().map_or(0, |l| l.silence_byte());
    let data = layout.and_then(|l| l.data);
    let mut silent = data.is_some();
    let mut position = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let (Some(range), true) = (&data, silent) {
            // The part of this block inside the data chunk.
            let from = range.start.saturating_sub(position).min(n as u64) as usize;
            let to = range.end.saturating_sub(position).min(n as u64) as usize;
            silent = buf[from..to.max(from)].iter().all(|&b| b == silence);
        }
        position += n as u64;
    }
    Ok(Scanned {
        blake3: hasher.finalize().to_hex().to_string(),
        silent,
    })
}

impl FileDataset {
    /// Hashes every entry's file (in parallel, results in entry order),
    /// leaves out or fails on unreadable ones, assigns splits and checks
    /// ids, splits and class coverage.
    pub fn build(name: &str, entries: Vec<Entry>, opts: BuildOptions<'_>) -> Result<Self> {
        checks::unique_ids(entries.iter().map(|e| (e.id.as_str(), e.origin.as_str())))?;
        let hashes: Vec<std::result::Result<(String, Vec<String>), String>> =
            entries.par_iter().map(|e| hash_file(&e.path)).collect();
        let mut kept = Vec::with_capacity(entries.len());
        let mut skipped = Vec::new();
        let mut file_warnings = Vec::new();
        for (entry, hash) in entries.into_iter().zip(hashes) {
            match (hash, opts.on_error) {
                (Ok((h, notes)), _) => {
                    file_warnings.extend(notes.into_iter().map(|n| {
                        format!(
                            "dataset \"{name}\": {}: {}: {n}",
                            entry.origin,
                            entry.path.display()
                        )
                    }));
                    kept.push((entry, h));
                }
                (Err(reason), OnError::Skip) => skipped.push(SkippedItem {
                    id: entry.id,
                    path: entry.path,
                    reason,
                }),
                (Err(reason), OnError::Fail) => {
                    return Err(Error::Other(format!(
                        "dataset \"{name}\": {}: {}: {reason} (set on_error = \"skip\" to leave such items out)",
                        entry.origin,
                        entry.path.display()
                    )))
                }
            }
        }
        if kept.is_empty() {
            return Err(Error::Other(format!(
                "dataset \"{name}\": no usable items ({} listed file(s) were unreadable)",
                skipped.len()
            )));
        }
        let splits: Vec<Split> = match opts.split {
            Some(spec) => {
                let ids: Vec<&str> = kept.iter().map(|(e, _)| e.id.as_str()).collect();
                let labels: Vec<&BTreeMap<String, Label>> =
                    kept.iter().map(|(e, _)| &e.labels).collect();
                spec.assign(&ids, &labels, opts.seed)
                    .map_err(|e| Error::Other(format!("dataset \"{name}\": {e}")))?
            }
            None => kept
                .iter()
                .map(|(e, _)| {
                    e.split.ok_or_else(|| {
                        Error::Other(format!(
                            "dataset \"{name}\": {}: item \"{}\" has no split; give the dataset a `split` option",
                            e.origin, e.id
                        ))
                    })
                })
                .collect::<Result<_>>()?,
        };
        let mut items = Vec::with_capacity(kept.len());
        let mut paths = Vec::with_capacity(kept.len());
        for ((entry, hash), split) in kept.into_iter().zip(splits) {
            items.push(Item {
                id: entry.id,
                split,
                labels: entry.labels,
                content_key: hash,
                source: entry.path.display().to_string(),
            });
            paths.push(entry.path);
        }
        checks::splits_not_empty(name, &items)?;
        let mut warnings = file_warnings;
        warnings.extend(checks::class_coverage(name, &items, opts.class_labels));
        let index = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.id.clone(), i))
            .collect();
        Ok(FileDataset {
            name: name.to_owned(),
            items,
            paths,
            index,
            skipped,
            warnings,
        })
    }

    /// Items left out under `on_error = "skip"`, with their path and reason.
    pub fn skipped(&self) -> &[SkippedItem] {
        &self.skipped
    }

    /// Things worth telling the user that do not stop a run (a class seen
    /// in test but never in train, …).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Adds items the layout reader left out (e.g. an unreadable
    /// annotation under `on_error = "skip"`).
    pub(crate) fn add_skipped(&mut self, more: Vec<SkippedItem>) {
        self.skipped.extend(more);
    }

    /// Adds a warning found by the layout reader.
    pub(crate) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// The audio file of item `id`.
    pub fn path_of(&self, id: &str) -> Option<&Path> {
        self.index.get(id).map(|&i| self.paths[i].as_path())
    }
}

impl Dataset for FileDataset {
    fn name(&self) -> &str {
        &self.name
    }
    fn items(&self) -> &[Item] {
        &self.items
    }
    fn load(&self, item: &Item, sample_rate: u32) -> Result<Vec<f32>> {
        let path = self.path_of(&item.id).ok_or_else(|| {
            Error::Other(format!(
                "item \"{}\" is not in dataset \"{}\"",
                item.id, self.name
            ))
        })?;
        load_mono(path, sample_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::audio::wav_pcm16;

    fn entry(dir: &Path, id: &str, split: Option<Split>, genre: &str, write: bool) -> Entry {
        let path = dir.join(format!("{id}.wav"));
        if write {
            std::fs::write(&path, wav_pcm16(&[vec![0.1; 100]], 8000)).unwrap();
        }
        let mut labels = BTreeMap::new();
        labels.insert("genre".into(), Label::Text(genre.into()));
        Entry {
            id: id.into(),
            split,
            labels,
            path,
            origin: format!("list.txt: row {id}"),
        }
    }

    fn opts(on_error: OnError) -> BuildOptions<'static> {
        BuildOptions {
            on_error,
            split: None,
            seed: 0,
            class_labels: &["genre"],
        }
    }

    /// Silent and truncated files are kept (they decode) with a warning
    /// naming the row and file; the content key is still the file's blake3.
    #[test]
    fn silent_and_truncated_files_are_kept_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let entries = vec![
            entry(d, "a", Some(Split::Train), "rock", true),
            entry(d, "quiet", Some(Split::Valid), "rock", false),
            entry(d, "cut", Some(Split::Test), "rock", false),
        ];
        let mut silent = wav_pcm16(&[vec![0.0; 5000]], 8000);
        // A trailing chunk after the samples is not part of the silence test.
        silent.extend_from_slice(b"LIST\x04\0\0\0abcd");
        std::fs::write(d.join("quiet.wav"), &silent).unwrap();
        let mut cut = wav_pcm16(&[vec![0.3; 8000]], 8000);
        cut.truncate(44 + 6000);
        std::fs::write(d.join("cut.wav"), &cut).unwrap();
        let ds = FileDataset::build("x", entries, opts(OnError::Fail)).unwrap();
        assert_eq!(ds.items().len(), 3);
        let w = ds.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("row quiet") && w[0].contains("silent"),
            "{w:?}"
        );
        assert!(
            w[1].contains("cut.wav") && w[1].contains("truncated"),
            "{w:?}"
        );
        assert_eq!(
            ds.items()[1].content_key,
            blake3::hash(&silent).to_hex().to_string()
        );
        assert_eq!(ds.load(&ds.items()[2], 8000).unwrap().len(), 3000);
    }

    #[test]
    fn skip_lists_missing_and_empty_files_fail_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut entries = vec![
            entry(d, "a", Some(Split::Train), "rock", true),
            entry(d, "b", Some(Split::Valid), "rock", true),
            entry(d, "c", Some(Split::Test), "rock", true),
            entry(d, "gone", Some(Split::Test), "rock", false),
            entry(d, "empty", Some(Split::Train), "rock", false),
            entry(d, "text", Some(Split::Train), "rock", false),
            entry(d, "header", Some(Split::Train), "rock", false),
        ];
        std::fs::write(d.join("empty.wav"), b"").unwrap();
        std::fs::write(d.join("text.wav"), b"this is a text file, not audio").unwrap();
        std::fs::write(d.join("header.wav"), wav_pcm16(&[Vec::new()], 8000)).unwrap();
        let ds = FileDataset::build("x", entries.clone(), opts(OnError::Skip)).unwrap();
        assert_eq!(ds.items().len(), 3);
        let skipped: Vec<(&str, &str)> = ds
            .skipped()
            .iter()
            .map(|s| (s.id.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 4);
        assert_eq!(skipped[0].0, "gone");
        assert!(skipped[1].1.contains("empty"), "{skipped:?}");
        // Undecodable files are found when the dataset opens, not halfway
        // through extraction.
        assert!(skipped[2].1.contains("not decodable"), "{skipped:?}");
        assert!(skipped[3].1.contains("not decodable"), "{skipped:?}");
        let audio = ds.load(&ds.items()[0], 8000).unwrap();
        assert_eq!(audio.len(), 100);
        // The cache keys on file content: the key is the bytes' blake3.
        let bytes = std::fs::read(d.join("a.wav")).unwrap();
        assert_eq!(
            ds.items()[0].content_key,
            blake3::hash(&bytes).to_hex().to_string()
        );

        let err = FileDataset::build("x", entries.clone(), opts(OnError::Fail))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row gone") && err.contains("gone.wav") && err.contains("on_error"),
            "{err}"
        );

        let text_only: Vec<Entry> = entries
            .iter()
            .filter(|e| ["a", "b", "c", "text"].contains(&e.id.as_str()))
            .cloned()
            .collect();
        let err = FileDataset::build("x", text_only, opts(OnError::Fail))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row text")
                && err.contains("not decodable")
                && err.contains("on_error = \"skip\""),
            "{err}"
        );

        entries.push(entry(d, "a", Some(Split::Test), "rock", false));
        let err = FileDataset::build("x", entries, opts(OnError::Skip))
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate id \"a\""), "{err}");
    }

    #[test]
    fn empty_split_is_an_error_and_missing_train_class_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let no_valid = vec![
            entry(d, "a", Some(Split::Train), "rock", true),
            entry(d, "b", Some(Split::Test), "rock", true),
        ];
        let err = FileDataset::build("x", no_valid, opts(OnError::Fail))
            .unwrap_err()
            .to_string();
        assert!(err.contains("valid") && err.contains("no items"), "{err}");

        let jazz_only_in_test = vec![
            entry(d, "a", Some(Split::Train), "rock", true),
            entry(d, "b", Some(Split::Valid), "rock", true),
            entry(d, "c", Some(Split::Test), "jazz", true),
        ];
        let ds = FileDataset::build("x", jazz_only_in_test, opts(OnError::Fail)).unwrap();
        assert_eq!(ds.warnings().len(), 1);
        assert!(
            ds.warnings()[0].contains("\"jazz\"") && ds.warnings()[0].contains("never in train"),
            "{:?}",
            ds.warnings()
        );
    }

    #[test]
    fn a_split_option_resplits_and_entries_without_split_need_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let entries: Vec<Entry> = (0..20)
            .map(|i| {
                entry(
                    d,
                    &format!("i{i:02}"),
                    None,
                    if i % 2 == 0 { "a" } else { "b" },
                    true,
                )
            })
            .collect();
        let err = FileDataset::build("x", entries.clone(), opts(OnError::Fail))
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no split"), "{err}");
        let spec = SplitSpec::stratified("genre");
        let ds = FileDataset::build(
            "x",
            entries,
            BuildOptions {
                split: Some(&spec),
                ..opts(OnError::Fail)
            },
        )
        .unwrap();
        let train = ds
            .items()
            .iter()
            .filter(|i| i.split == Split::Train)
            .count();
        assert_eq!(train, 12);
        assert!(ds.warnings().is_empty());
    }
}
