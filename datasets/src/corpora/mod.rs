//! Known corpora in their published layouts, read from local files only.
//!
//! Every corpus kind takes `name`, `root` (the corpus folder, relative to
//! the config file), `on_error` (`"fail"` or `"skip"`, default `"fail"`) and
//! an optional `split` ([`crate::split::SplitSpec`]) that replaces the
//! corpus' own split (or, for corpora without one, the documented seeded
//! default). Each module documents its layout, labels and split.

pub mod emomusic;
pub mod giantsteps_key;
pub mod gtzan;
pub mod magnatagatune;
pub mod medley_solos_db;
pub mod mtg_jamendo;
pub mod nsynth;
pub mod tinysol;
pub mod vocalset;

use crate::files::{BuildOptions, Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::{Error, Result};
use std::path::{Path, PathBuf};

/// Builds the dataset with the user's `split` if given, else `fallback`
/// (the seeded default of a corpus without an official split), else the
/// entries' own splits.
pub(crate) fn finish(
    name: &str,
    entries: Vec<Entry>,
    on_error: OnError,
    split: Option<&SplitSpec>,
    fallback: Option<SplitSpec>,
    seed: u64,
    class_labels: &[&str],
) -> Result<FileDataset> {
    let chosen = split.cloned().or(fallback);
    FileDataset::build(
        name,
        entries,
        BuildOptions {
            on_error,
            split: chosen.as_ref(),
            seed,
            class_labels,
        },
    )
}

/// Validates the optional `split` option of a corpus.
pub(crate) fn validate_split(split: Option<&SplitSpec>, key: &str) -> Result<()> {
    split.map_or(Ok(()), |s| s.validate(&format!("{key}.split")))
}

/// A CSV table open for reading, its header trimmed (fields too).
pub(crate) struct CsvTable {
    /// The rows after the header.
    pub reader: csv::Reader<std::fs::File>,
    /// Column names.
    pub header: Vec<String>,
    path: PathBuf,
}

impl CsvTable {
    /// Opens `path`, naming it in any error.
    pub fn open(path: &Path) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        let header = reader
            .headers()
            .map_err(|e| Error::Other(format!("{}: line 1: {e}", path.display())))?
            .iter()
            .map(str::to_owned)
            .collect();
        Ok(CsvTable {
            reader,
            header,
            path: path.to_path_buf(),
        })
    }

    /// Index of the first of `names` in the header (layouts differ between
    /// releases); the error lists the columns that are there.
    pub fn column(&self, names: &[&str]) -> Result<usize> {
        self.header
            .iter()
            .position(|h| names.contains(&h.as_str()))
            .ok_or_else(|| {
                let wanted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                Error::Other(format!(
                    "{}: line 1: no column {} (found: {})",
                    self.path.display(),
                    wanted.join(" or "),
                    self.header.join(", ")
                ))
            })
    }
}

/// `root/audio` when the corpus keeps its audio there, else `root`.
pub(crate) fn audio_dir_or_root(root: &Path) -> PathBuf {
    let audio = root.join("audio");
    if audio.is_dir() {
        audio
    } else {
        root.to_path_buf()
    }
}

/// Reads a text file, naming it on failure and saying which corpus file it
/// is supposed to be.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Other(format!("{}: cannot read the {what}: {e}", path.display())))
}

/// The first of `candidates` that exists, or an error listing all of them.
pub(crate) fn first_existing(candidates: &[PathBuf], what: &str) -> Result<PathBuf> {
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| {
            let list: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            Error::Other(format!(
                "cannot find the {what}; looked for: {}",
                list.join(", ")
            ))
        })
}

/// `path` if it exists, else the same path with a `.wav` extension if that
/// exists (corpora distributed as MP3 may be converted to WAV), else
/// `path` (whose absence is then reported by the hashing step).
pub(crate) fn audio_or_wav(path: PathBuf) -> PathBuf {
    if path.exists() {
        return path;
    }
    let wav = path.with_extension("wav");
    if wav.exists() {
        wav
    } else {
        path
    }
}

/// Sorted entries of a directory, without hidden files (`.DS_Store`,
/// `._x` resource forks).
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// A parsed number, or an error naming the file, row and column.
pub(crate) fn number(text: &str, origin: &str, column: &str) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| {
            Error::Other(format!(
                "{origin}: column \"{column}\": \"{text}\" is not a number"
            ))
        })
}

/// Test helpers: tiny WAV files in fake corpus trees.
#[cfg(test)]
pub(crate) mod testutil {
    use repbench_framework::audio::wav_pcm16;
    use std::path::Path;

    /// Writes a 0.05 s, 8 kHz tone (creating parent folders).
    pub fn wav(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let x: Vec<f32> = (0..400).map(|i| (i as f32 * 0.3).sin() * 0.2).collect();
        std::fs::write(path, wav_pcm16(&[x], 8000)).unwrap();
    }

    /// Writes a text file (creating parent folders).
    pub fn text(path: &Path, content: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Items per split as (train, valid, test).
    pub fn counts(items: &[repbench_framework::dataset::Item]) -> (usize, usize, usize) {
        use repbench_framework::dataset::Split;
        let c = |s: Split| items.iter().filter(|i| i.split == s).count();
        (c(Split::Train), c(Split::Valid), c(Split::Test))
    }

    /// The sorted distinct class names of `label`.
    pub fn classes(items: &[repbench_framework::dataset::Item], label: &str) -> Vec<String> {
        let set: std::collections::BTreeSet<String> = items
            .iter()
            .filter_map(|i| i.labels.get(label).map(|l| l.class_name()))
            .collect();
        set.into_iter().collect()
    }
}
