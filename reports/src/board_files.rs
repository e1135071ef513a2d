//! Reading run directories for a leaderboard, which ranks clean results
//! only: of `results.jsonl` only clean records are parsed in full, and of
//! `predictions.jsonl` only the lines its rank intervals need; the others
//! are scanned for a few fields alone (nothing allocated), which keeps a
//! leaderboard over many runs fast and small.

use crate::leaderboard::PredictionKey;
use repbench_framework::record::{PredictionRecord, ResultRecord};
use repbench_framework::{Error, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// The fields of a line that say which unit it belongs to.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    dataset: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    task: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    encoder: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    layer: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    perturbation: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    probe: std::borrow::Cow<'a, str>,
}

/// The fields of a result record that say whether a leaderboard reads it.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    perturbation: std::borrow::Cow<'a, str>,
    probe_seed: Option<u64>,
    versus_encoder: Option<serde::de::IgnoredAny>,
}

/// The lines of the JSON-lines file `text` (read from `path`) whose head
/// `H` passes `keep`, parsed in full as `T`; a malformed line is an error
/// naming it as not a `what`.
fn read_filtered<'t, H: Deserialize<'t>, T: serde::de::DeserializeOwned>(
    (path, text): (&Path, &'t str),
    what: &str,
    keep: impl Fn(H) -> bool,
) -> Result<Vec<T>> {
    let bad = |i: usize, e: serde_json::Error| {
        Error::Other(format!(
            "{}:{}: not a {what}: {e}; run the config again to regenerate it",
            path.display(),
            i + 1
        ))
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let head: H = serde_json::from_str(line).map_err(|e| bad(i, e))?;
        if keep(head) {
            out.push(serde_json::from_str(line).map_err(|e| bad(i, e))?);
        }
    }
    Ok(out)
}

/// The clean records of `results.jsonl` at `path` (no perturbation, no
/// per-seed row, no pair of units); a malformed line is an error naming it.
pub fn read_clean_results(path: &Path) -> Result<Vec<ResultRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    read_filtered((path, &text), "result record", |h: RecordHead| {
        h.perturbation == "none" && h.probe_seed.is_none() && h.versus_encoder.is_none()
    })
}

/// The clean lines of `path` (run `label`) whose unit is in `needed`;
/// a malformed line is an error naming it. A missing file reads as none
/// (runs written before the file existed).
pub fn read_needed(
    path: &Path,
    label: &str,
    needed: &HashSet<PredictionKey>,
) -> Result<Vec<PredictionRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    read_filtered((path, &text), "prediction record", |h: Head| {
        h.perturbation == "none"
            && needed.contains(&(
                label.to_string(),
                h.dataset.into_owned(),
                h.task.into_owned(),
                h.encoder.into_owned(),
                h.layer.into_owned(),
                h.probe.into_owned(),
            ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::record::{to_jsonl, ItemPredictions};

    fn line(encoder: &str, perturbation: &str) -> PredictionRecord {
        PredictionRecord {
            run_id: "r".into(),
            dataset: "d".into(),
            task: "t".into(),
            encoder: encoder.into(),
            layer: "l".into(),
            perturbation: perturbation.into(),
            severity: None,
            test_set: "s".into(),
            predictions: ItemPredictions {
                probe: "ridge".into(),
                target: "values".into(),
                names: vec![],
                ids: vec!["a".into()],
                truth: serde_json::json!([1.0]),
                seeds: vec![0],
                scores: vec![vec![vec![0.5]]],
                forms: Vec::new(),
            },
        }
    }

    #[test]
    fn only_needed_clean_lines_are_read_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.jsonl");
        let lines = [line("x", "none"), line("y", "none"), line("x", "noise")];
        std::fs::write(&path, to_jsonl(&lines)).unwrap();
        let key = |e: &str| ["run", "d", "t", e, "l", "ridge"].map(String::from).into();
        let needed: HashSet<PredictionKey> = [key("x")].into();
        let got = read_needed(&path, "run", &needed).unwrap();
        assert_eq!(got, [lines[0].clone()]);
        assert!(read_needed(&dir.path().join("none.jsonl"), "run", &needed)
            .unwrap()
            .is_empty());
        std::fs::write(
            &path,
            format!("{}{{\"dataset\": 3}}\n", to_jsonl(&lines[..1])),
        )
        .unwrap();
        let err = read_needed(&path, "run", &needed).unwrap_err().to_string();
        assert!(
            err.contains("predictions.jsonl:2: not a prediction record"),
            "{err}"
        );
    }
}
