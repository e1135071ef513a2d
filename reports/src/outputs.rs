//! A run directory's outputs as one set: `run` writes `outputs.json` last,
//! naming the config hash and the content hash of every output file, and
//! every reader (`report`, `leaderboard`) checks the files against it
//! first, so a directory mixing two runs' files (a run killed while
//! writing) is refused with a message instead of rendered.

use crate::layout;
use repbench_framework::{fsutil, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The files of a run's output set, in the order `run` writes them.
pub const FILES: [&str; 9] = [
    layout::RESULTS,
    layout::COMPARISONS,
    layout::PREDICTIONS,
    layout::PREDICTIONS_PERTURBED,
    layout::MAPS,
    layout::MATRICES,
    layout::CONFIG,
    layout::SPLITS,
    layout::RUN,
];

/// `outputs.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    config_hash: String,
    /// File name → blake3 of its bytes.
    files: BTreeMap<String, String>,
}

/// Starts writing a new output set in `dir`: removes the old manifest (so
/// a write interrupted from here on is detected) and the temporary files a
/// killed write left behind.
pub fn begin(dir: &Path) -> Result<()> {
    let manifest = dir.join(layout::MANIFEST);
    match std::fs::remove_file(&manifest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&manifest, e)),
    }
    for sub in [dir.to_path_buf(), dir.join(layout::REPORT_DIR)] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if fsutil::is_temp_sibling(&name) && entry.path().is_file() {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            }
        }
    }
    Ok(())
}

/// Seals the output set: writes `outputs.json` with every file's hash.
pub fn seal(dir: &Path, config_hash: &str) -> Result<()> {
    let files = FILES
        .iter()
        .map(|name| {
            let bytes = fsutil::read(&dir.join(name))?;
            Ok((name.to_string(), fsutil::content_hash(&bytes)))
        })
        .collect::<Result<_>>()?;
    let manifest = Manifest {
        config_hash: config_hash.into(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("manifests serialise");
    fsutil::write_atomic(&dir.join(layout::MANIFEST), text.as_bytes())
}

/// Checks that `dir` holds one complete output set.
pub fn verify(dir: &Path) -> Result<()> {
    verify_reading(dir, &FILES)
}

/// The files the output set in `dir` (verified first) lists: sets
/// written by an older repbench lack the files added since.
pub fn listed(dir: &Path) -> Result<std::collections::BTreeSet<String>> {
    let path = dir.join(layout::MANIFEST);
    let text = fsutil::read(&path)?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Error::Other(format!("{}: unreadable ({e})", path.display())))?;
    Ok(manifest.files.into_keys().collect())
}

/// [`verify`] for a reader of the files `reading` alone: every file of
/// the set must be there, and those it reads must hash to what the run
/// recorded (the others are not read, so not hashed: a leaderboard need
/// not hash gigabytes of perturbed predictions it never opens).
pub fn verify_reading(dir: &Path, reading: &[&str]) -> Result<()> {
    let path = dir.join(layout::MANIFEST);
    let rerun = "run its config again to regenerate the directory";
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Other(format!(
                "{}: missing — the run writing {} did not finish (or an older repbench wrote it); {rerun}",
                path.display(),
                dir.display()
            )))
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Error::Other(format!("{}: unreadable ({e}); {rerun}", path.display())))?;
    for (name, want) in &manifest.files {
        let file = dir.join(name);
        if !reading.contains(&name.as_str()) {
            if file.is_file() {
                continue;
            }
            return Err(Error::Other(format!(
                "{}: missing from the output set {} lists; {rerun}",
                file.display(),
                path.display()
            )));
        }
        let got = match std::fs::read(&file) {
            Ok(bytes) => fsutil::content_hash(&bytes),
            Err(_) => {
                return Err(Error::Other(format!(
                    "{}: missing from the output set {} lists; {rerun}",
                    file.display(),
                    path.display()
                )))
            }
        };
        if &got != want {
            return Err(Error::Other(format!(
                "{}: not the file the run recorded in {} (changed afterwards, or left by another run that was interrupted); {rerun}",
                file.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_set(dir: &Path, results: &str) {
        for name in FILES {
            let text = if name == layout::RESULTS {
                results
            } else {
                name
            };
            fsutil::write_atomic(&dir.join(name), text.as_bytes()).unwrap();
        }
    }

    /// A set sealed before `maps.jsonl` existed still verifies, and its
    /// readers learn that it has no maps instead of failing.
    #[test]
    fn a_set_from_before_a_file_was_added_verifies_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_set(d, "r");
        seal(d, "h").unwrap();
        assert!(listed(d).unwrap().contains(layout::MAPS));
        let path = d.join(layout::MANIFEST);
        let mut manifest: Manifest =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for added in [layout::MAPS, layout::MATRICES] {
            manifest.files.remove(added);
            std::fs::remove_file(d.join(added)).unwrap();
        }
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        verify(d).unwrap();
        let files = listed(d).unwrap();
        assert!(!files.contains(layout::MAPS));
        assert!(!files.contains(layout::MATRICES));
        assert!(files.contains(layout::RESULTS));
    }

    #[test]
    fn a_sealed_set_verifies_and_a_mixed_or_unfinished_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_set(d, "first");
        seal(d, "h1").unwrap();
        verify(d).unwrap();
        // A second run starts, writes new results, and is killed.
        begin(d).unwrap();
        fsutil::write_atomic(&d.join(layout::RESULTS), b"second").unwrap();
        let err = verify(d).unwrap_err().to_string();
        assert!(err.contains("outputs.json: missing"), "{err}");
        // A stale manifest beside a changed file names the file.
        write_set(d, "first");
        seal(d, "h1").unwrap();
        fsutil::write_atomic(&d.join(layout::RESULTS), b"edited").unwrap();
        let err = verify(d).unwrap_err().to_string();
        assert!(err.contains("results.jsonl: not the file"), "{err}");
    }

    #[test]
    fn a_reader_hashes_what_it_reads_and_needs_every_file_present() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_set(d, "first");
        seal(d, "h1").unwrap();
        let reading = [layout::RESULTS, layout::PREDICTIONS];
        // A file the reader does not open may differ …
        fsutil::write_atomic(&d.join(layout::PREDICTIONS_PERTURBED), b"other").unwrap();
        verify_reading(d, &reading).unwrap();
        assert!(verify(d).is_err(), "a full verify still hashes it");
        // … but must exist, and the files it reads must be the run's.
        std::fs::remove_file(d.join(layout::PREDICTIONS_PERTURBED)).unwrap();
        let err = verify_reading(d, &reading).unwrap_err().to_string();
        assert!(
            err.contains("predictions_perturbed.jsonl: missing"),
            "{err}"
        );
        write_set(d, "first");
        fsutil::write_atomic(&d.join(layout::PREDICTIONS), b"edited").unwrap();
        let err = verify_reading(d, &reading).unwrap_err().to_string();
        assert!(err.contains("predictions.jsonl: not the file"), "{err}");
    }

    #[test]
    fn begin_removes_what_a_killed_write_left() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join(layout::REPORT_DIR)).unwrap();
        let left = [
            d.join(".results.jsonl.4242.0.tmp"),
            d.join(layout::REPORT_DIR).join(".index.html.4242.3.tmp"),
        ];
        for p in &left {
            std::fs::write(p, b"partial").unwrap();
        }
        std::fs::write(d.join("notes.txt"), b"mine").unwrap();
        begin(d).unwrap();
        assert!(left.iter().all(|p| !p.exists()));
        assert!(d.join("notes.txt").exists());
    }
}
