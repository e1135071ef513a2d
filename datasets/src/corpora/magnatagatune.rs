//! `magnatagatune`: MagnaTagATune (Law et al. 2009), 29 s clips with 188
//! binary tags.
//!
//! Layout: `<root>/annotations_final.csv` (tab-separated, quoted or not:
//! `clip_id`, the 188 tag columns of 0/1, `mp3_path`) and the audio under
//! `<root>/mp3/<mp3_path>` (`mp3_path` is like `f/artist-album-01-title-30-59.mp3`;
//! when `<root>/mp3/` does not exist the paths are taken relative to
//! `<root>`, and `audio_dir` overrides both). A `.wav` with the same stem is
//! used when the `.mp3` is absent. Some clips of the official archive are
//! empty files: use `on_error = "skip"` to leave them out.
//!
//! Label `tags`: the clip's tags among the `top_k` (default 50) most frequent
//! tags of the annotation file, sorted and joined by `;` (ties in frequency
//! are broken by column order, so the set is deterministic). Clips with
//! none of them carry no `tags` label (an all-negative multilabel row)
//! unless `drop_untagged = true`, which leaves them out. Item id: `clip_id`.
//!
//! Split: the commonly used 12 : 1 : 3 split by the first character of
//! `mp3_path`'s folder: `0`–`b` train, `c` valid, `d`–`f` test.
//!
//! ```toml
//! [[datasets]]
//! name = "mtat"
//! kind = "magnatagatune"
//! root = "data/magnatagatune"
//! ```

use super::{audio_or_wav, finish, validate_split};
use crate::files::{Entry, FileDataset, OnError};
use crate::split::SplitSpec;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn d_top_k() -> usize {
    50
}

/// Options of `kind = "magnatagatune"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MagnaTagATuneSpec {
    /// Name used in results.
    pub name: String,
    /// Folder holding `annotations_final.csv`.
    pub root: PathBuf,
    /// Folder the `mp3_path`s are relative to, relative to `root`
    /// (default `mp3`, or `root` itself when `mp3/` does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_dir: Option<PathBuf>,
    /// Number of most frequent tags kept (default 50).
    #[serde(default = "d_top_k")]
    pub top_k: usize,
    /// Leave out clips with none of the kept tags (default false).
    #[serde(default)]
    pub drop_untagged: bool,
    /// Missing or unreadable audio: `fail` (default) or `skip`.
    #[serde(default, skip_serializing_if = "OnError::is_fail")]
    pub on_error: OnError,
    /// A seeded split instead of the folder-based one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

impl MagnaTagATuneSpec {
    /// `top_k` in 1..=188.
    pub fn validate(&self, key: &str) -> Result<()> {
        if !(1..=188).contains(&self.top_k) {
            return Err(Error::config(
                format!("{key}.top_k"),
                format!("must be in 1..=188 (got {})", self.top_k),
            ));
        }
        validate_split(self.split.as_ref(), key)
    }
}

/// The split of the 12 : 1 : 3 protocol from the folder's first character.
fn folder_split(mp3_path: &str) -> Option<Split> {
    match mp3_path.chars().next()?.to_ascii_lowercase() {
        '0'..='9' | 'a' | 'b' => Some(Split::Train),
        'c' => Some(Split::Valid),
        'd'..='f' => Some(Split::Test),
        _ => None,
    }
}

/// Lists the corpus and builds the dataset.
pub fn open(spec: &MagnaTagATuneSpec, base_dir: &Path, seed: u64) -> Result<FileDataset> {
    let root = base_dir.join(&spec.root);
    let csv_path = root.join("annotations_final.csv");
    let audio_root = match &spec.audio_dir {
        Some(d) => root.join(d),
        None if root.join("mp3").is_dir() => root.join("mp3"),
        None => root.clone(),
    };
    let file = std::fs::File::open(&csv_path).map_err(|e| Error::io(&csv_path, e))?;
    let mut reader = csv::ReaderBuilder::new().delimiter(b'\t').from_reader(file);
    let bad = |line: usize, why: String| {
        Error::Other(format!("{}: line {line}: {why}", csv_path.display()))
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, format!("unreadable header ({e})")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let n = header.len();
    if n < 3 || header[0] != "clip_id" || header[n - 1] != "mp3_path" {
        return Err(bad(
            1,
            format!(
                "expected tab-separated columns clip_id, <tags…>, mp3_path; got {} column(s) starting \"{}\" and ending \"{}\"",
                n,
                header.first().map_or("", String::as_str),
                header.last().map_or("", String::as_str)
            ),
        ));
    }
    let tags = &header[1..n - 1];
    if spec.top_k > tags.len() {
        return Err(bad(
            1,
            format!(
                "top_k = {} but the file has only {} tag columns",
                spec.top_k,
                tags.len()
            ),
        ));
    }
    // (clip_id, mp3_path, tag flags, line)
    let mut rows: Vec<(String, String, Vec<bool>, usize)> = Vec::new();
    let mut counts = vec![0usize; tags.len()];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if record.len() != n {
            return Err(bad(
                line,
                format!("{} column(s), the header has {n}", record.len()),
            ));
        }
        let flags: Vec<bool> = (1..n - 1)
            .map(|c| match record[c].trim() {
                "0" => Ok(false),
                "1" => Ok(true),
                other => Err(bad(
                    line,
                    format!("tag \"{}\" is \"{other}\", expected 0 or 1", header[c]),
                )),
            })
            .collect::<Result<_>>()?;
        for (c, f) in flags.iter().enumerate() {
            counts[c] += usize::from(*f);
        }
        rows.push((
            record[0].trim().to_owned(),
            record[n - 1].trim().to_owned(),
            flags,
            line,
        ));
    }
    // Most frequent first; a stable sort keeps column order among ties.
    let mut order: Vec<usize> = (0..tags.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let mut kept: Vec<usize> = order[..spec.top_k].to_vec();
    kept.sort_by(|&a, &b| tags[a].cmp(&tags[b]));
    let mut entries = Vec::with_capacity(rows.len());
    for (clip_id, mp3_path, flags, line) in rows {
        let origin = format!("{}: line {line}", csv_path.display());
        let present: Vec<&str> = kept
            .iter()
            .filter(|&&c| flags[c])
            .map(|&c| tags[c].as_str())
            .collect();
        if present.is_empty() && spec.drop_untagged {
            continue;
        }
        let split = folder_split(&mp3_path).ok_or_else(|| {
            Error::Other(format!(
                "{origin}: mp3_path \"{mp3_path}\" does not start with a folder 0-9 or a-f"
            ))
        })?;
        let mut labels = BTreeMap::new();
        if !present.is_empty() {
            labels.insert("tags".to_owned(), Label::Text(present.join(";")));
        }
        entries.push(Entry {
            id: clip_id,
            split: Some(split),
            labels,
            path: audio_or_wav(audio_root.join(&mp3_path)),
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
        &["tags"],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{counts, text, wav};
    use super::*;
    use repbench_framework::dataset::Dataset;

    /// Tags: guitar (5 clips), rock (4), piano (2), choir (1). Folders 0, b,
    /// c, d, f; clip 6's audio is written as `.wav` only.
    fn tree(root: &Path, quoted: bool) {
        let rows = [
            (2, "0", "1 1 0 0"),
            (3, "0", "1 1 0 0"),
            (4, "b", "1 0 1 0"),
            (5, "c", "1 1 0 0"),
            (6, "d", "0 1 1 0"),
            (7, "f", "1 0 0 1"),
            (8, "f", "0 0 0 0"),
        ];
        let q = |s: &str| {
            if quoted {
                format!("\"{s}\"")
            } else {
                s.to_owned()
            }
        };
        let mut csv = ["clip_id", "guitar", "rock", "piano", "choir", "mp3_path"]
            .map(q)
            .join("\t");
        csv.push('\n');
        for (id, folder, flags) in rows {
            let path = format!("{folder}/artist-album-{id:02}-title-0-29.mp3");
            let mut cols = vec![q(&id.to_string())];
            cols.extend(flags.split(' ').map(q));
            cols.push(q(&path));
            csv.push_str(&cols.join("\t"));
            csv.push('\n');
            let audio = root.join("mp3").join(&path);
            if id == 6 {
                wav(&audio.with_extension("wav"));
            } else {
                wav(&audio);
            }
        }
        text(&root.join("annotations_final.csv"), &csv);
    }

    fn spec(extra: serde_json::Value) -> MagnaTagATuneSpec {
        let mut v = serde_json::json!({"name": "m", "root": "mtat"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let s: MagnaTagATuneSpec = serde_json::from_value(v).unwrap();
        s.validate("d").unwrap();
        s
    }

    #[test]
    fn top_tags_and_folder_split() {
        for quoted in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            tree(&dir.path().join("mtat"), quoted);
            let ds = open(&spec(serde_json::json!({"top_k": 2})), dir.path(), 0).unwrap();
            assert_eq!(counts(ds.items()), (3, 1, 3));
            let tags = |id: &str| {
                ds.items()
                    .iter()
                    .find(|i| i.id == id)
                    .unwrap()
                    .labels
                    .get("tags")
                    .cloned()
            };
            assert_eq!(tags("2"), Some(Label::Text("guitar;rock".into())));
            assert_eq!(tags("4"), Some(Label::Text("guitar".into())));
            assert_eq!(tags("7"), Some(Label::Text("guitar".into())));
            assert_eq!(tags("8"), None);
            let six = ds.items().iter().find(|i| i.id == "6").unwrap();
            assert!(six.source.ends_with(".wav"));
            assert_eq!(ds.load(six, 8000).unwrap().len(), 400);
        }
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("mtat"), false);
        let ds = open(
            &spec(serde_json::json!({"top_k": 2, "drop_untagged": true})),
            dir.path(),
            0,
        )
        .unwrap();
        assert_eq!(counts(ds.items()), (3, 1, 2));
        let all = open(&spec(serde_json::json!({})), dir.path(), 0);
        assert!(all.unwrap_err().to_string().contains("only 4 tag columns"));
    }

    #[test]
    fn bad_values_name_the_line_and_mp3_files_decode_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mtat");
        tree(&root, false);
        // WAV bytes under a .mp3 name decode: the decoder probes content.
        let ds = open(&spec(serde_json::json!({"top_k": 2})), dir.path(), 0).unwrap();
        let two = ds.items().iter().find(|i| i.id == "2").unwrap();
        assert!(two.source.ends_with(".mp3"));
        assert_eq!(ds.load(two, 8000).unwrap().len(), 400);

        let csv = std::fs::read_to_string(root.join("annotations_final.csv")).unwrap();
        text(
            &root.join("annotations_final.csv"),
            &csv.replacen("\t1\t1\t0\t0\t", "\t1\tyes\t0\t0\t", 1),
        );
        let err = open(&spec(serde_json::json!({"top_k": 2})), dir.path(), 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("\"rock\"") && err.contains("\"yes\""),
            "{err}"
        );
        text(&root.join("annotations_final.csv"), "id\tx\tpath\n");
        let err = open(&spec(serde_json::json!({"top_k": 2})), dir.path(), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("clip_id") && err.contains("line 1"), "{err}");
    }
}
