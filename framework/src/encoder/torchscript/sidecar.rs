//! The JSON sidecar `scripts/zoo/` writes next to each exported model
//! (`<stem>.json` beside `<stem>.pt`): what the model was exported for.
//! An encoder's config is checked against it when the module is opened, so
//! audio never reaches a model at a rate it was not trained on.

use super::TorchScriptSpec;
use crate::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The sidecar fields repbench reads (the others describe the export).
#[derive(Debug, Deserialize)]
pub struct Sidecar {
    /// Hub id of the weights (`tiny/<family>` for the test fixtures).
    pub model_id: String,
    /// The rate the module expects its audio at, in Hz.
    pub sample_rate: u32,
}

/// Where the sidecar of `model` lies: the same path with `.json`.
pub fn path_of(model: &Path) -> PathBuf {
    model.with_extension("json")
}

/// The sidecar of `model`, `None` when it has none (a module exported
/// elsewhere); an error naming the file when one exists but is not a
/// sidecar.
pub fn read(model: &Path) -> std::result::Result<Option<Sidecar>, String> {
    let path = path_of(model);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read the model's sidecar {}: {e}",
                path.display()
            ))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        format!(
            "{} lies next to the model but is not a model sidecar ({e}); \
             re-export the model with scripts/zoo/ or move that file away",
            path.display()
        )
    })
}

impl TorchScriptSpec {
    /// Checks `sample_rate` against the sidecar of the model file (relative
    /// to `base_dir`), when it has one.
    pub fn check_sidecar(&self, base_dir: &Path) -> Result<()> {
        let model = base_dir.join(&self.path);
        let fail = |reason: String| Error::Encoder {
            encoder: self.name.clone(),
            reason,
        };
        match read(&model).map_err(fail)? {
            Some(sidecar) if sidecar.sample_rate != self.sample_rate => Err(fail(format!(
                "sample_rate = {} but {} ({}) was exported for {} Hz audio, as its sidecar {} says; set sample_rate = {}",
                self.sample_rate,
                model.display(),
                sidecar.model_id,
                sidecar.sample_rate,
                path_of(&model).display(),
                sidecar.sample_rate
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate: u32) -> TorchScriptSpec {
        toml::from_str(&format!(
            "name = \"zoo\"\npath = \"m.pt\"\nsample_rate = {rate}"
        ))
        .unwrap()
    }

    /// A config at another rate than the export is refused, naming both
    /// rates, the sidecar and the fix; the right rate, or no sidecar, pass.
    #[test]
    fn the_sample_rate_must_match_the_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        assert!(spec(16_000).check_sidecar(dir.path()).is_ok(), "no sidecar");
        std::fs::write(
            dir.path().join("m.json"),
            r#"{"family": "mert", "model_id": "m-a-p/MERT-v1-95M", "sample_rate": 24000, "window_s": 5.0}"#,
        )
        .unwrap();
        spec(24_000).check_sidecar(dir.path()).unwrap();
        let err = spec(16_000)
            .check_sidecar(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("encoder \"zoo\"")
                && err.contains("sample_rate = 16000")
                && err.contains("24000 Hz")
                && err.contains("m.json")
                && err.contains("set sample_rate = 24000"),
            "{err}"
        );
    }

    /// A `.json` beside the model that is not a sidecar is named, with
    /// what to do, instead of being ignored.
    #[test]
    fn a_file_that_is_not_a_sidecar_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for text in ["not json", r#"{"sample_rate": "fast"}"#, "{}"] {
            std::fs::write(dir.path().join("m.json"), text).unwrap();
            let err = spec(16_000)
                .check_sidecar(dir.path())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("m.json") && err.contains("not a model sidecar"),
                "{err}"
            );
        }
    }
}
