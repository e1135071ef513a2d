//! The JSON sidecar `scripts/zoo/` writes next to each exported model
//! (`<stem>.json` beside `<stem>.pt`): what the model was exported for.
//! An encoder's config is checked against it when the module is opened, so
//! audio never reaches a model at a rate it was not trained on.

use super::{InputForm, TorchScriptSpec};
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
    /// The window the model was trained on, in seconds (`null` or 0:
    /// whole items).
    #[serde(default)]
    pub window_s: Option<f64>,
    /// Seconds between window starts (`null`: the window).
    #[serde(default)]
    pub hop_s: Option<f64>,
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
    /// Fills what the config leaves out from the model's sidecar (model
    /// path relative to `base_dir`): `sample_rate`, and for waveform input
    /// `window_s` / `hop_s` (the model's training window; `window_s = 0`
    /// in the config keeps whole items). A `sample_rate` the config sets
    /// must be the sidecar's: audio never reaches a model at a rate it was
    /// not trained on. Without a sidecar nothing changes.
    pub fn apply_sidecar(&mut self, base_dir: &Path) -> Result<()> {
        let model = base_dir.join(&self.path);
        let fail = |reason: String| Error::Encoder {
            encoder: self.name.clone(),
            reason,
        };
        let Some(sidecar) = read(&model).map_err(fail)? else {
            return Ok(());
        };
        let bad_window = |v: Option<f64>| v.is_some_and(|w| !(w.is_finite() && w >= 0.0));
        if sidecar.sample_rate == 0 || bad_window(sidecar.window_s) || bad_window(sidecar.hop_s) {
            return Err(fail(format!(
                "the sidecar {} gives sample_rate {}, window_s {:?}, hop_s {:?}: a rate above 0 and windows of 0 or more seconds were expected; re-export the model with scripts/zoo/",
                path_of(&model).display(),
                sidecar.sample_rate,
                sidecar.window_s,
                sidecar.hop_s
            )));
        }
        match self.sample_rate {
            None => self.sample_rate = Some(sidecar.sample_rate),
            Some(rate) if rate != sidecar.sample_rate => {
                return Err(fail(format!(
                    "sample_rate = {rate} but {} ({}) was exported for {} Hz audio, as its sidecar {} says; set sample_rate = {} (or leave it out)",
                    model.display(),
                    sidecar.model_id,
                    sidecar.sample_rate,
                    path_of(&model).display(),
                    sidecar.sample_rate
                )))
            }
            Some(_) => {}
        }
        if self.input == InputForm::Waveform && self.window_s.is_none() {
            if let Some(window) = sidecar.window_s.filter(|w| w.is_finite() && *w > 0.0) {
                self.window_s = Some(window);
                if self.hop_s.is_none() {
                    self.hop_s = sidecar.hop_s.filter(|h| h.is_finite() && *h > 0.0);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> TorchScriptSpec {
        toml::from_str(&format!("name = \"zoo\"\npath = \"m.pt\"\n{extra}")).unwrap()
    }

    fn applied(dir: &Path, extra: &str) -> Result<TorchScriptSpec> {
        let mut s = spec(extra);
        s.apply_sidecar(dir)?;
        Ok(s)
    }

    const MERT: &str = r#"{"family": "mert", "model_id": "m-a-p/MERT-v1-95M", "sample_rate": 24000, "window_s": 5.0, "hop_s": null}"#;

    /// A config at another rate than the export is refused, naming both
    /// rates, the sidecar and the fix; the right rate, or no sidecar, pass.
    #[test]
    fn the_sample_rate_must_match_the_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let alone = applied(dir.path(), "sample_rate = 16000").unwrap();
        assert_eq!(
            (alone.sample_rate, alone.window_s),
            (Some(16_000), None),
            "no sidecar"
        );
        std::fs::write(dir.path().join("m.json"), MERT).unwrap();
        applied(dir.path(), "sample_rate = 24000").unwrap();
        let err = applied(dir.path(), "sample_rate = 16000")
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

    /// What the config leaves out comes from the sidecar: the rate and the
    /// training window; the config's own window, or 0, wins.
    #[test]
    fn the_sidecar_supplies_rate_and_window_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.json"), MERT).unwrap();
        let filled = applied(dir.path(), "").unwrap();
        assert_eq!(
            (filled.sample_rate, filled.window_s, filled.hop_s),
            (Some(24_000), Some(5.0), None)
        );
        assert_eq!(filled.segmenting().len, Some(120_000));
        filled.validate("encoders[0]").unwrap();
        let own = applied(dir.path(), "window_s = 2.0\nhop_s = 1.0").unwrap();
        assert_eq!((own.window_s, own.hop_s), (Some(2.0), Some(1.0)));
        let whole = applied(dir.path(), "window_s = 0").unwrap();
        assert_eq!(whole.segmenting().len, None, "0 keeps whole items");
        whole.validate("encoders[0]").unwrap();
        std::fs::write(
            dir.path().join("m.json"),
            MERT.replace("\"hop_s\": null", "\"hop_s\": 2.5"),
        )
        .unwrap();
        assert_eq!(applied(dir.path(), "").unwrap().hop_s, Some(2.5));
        let framed = applied(dir.path(), "input = \"framed\"\nframe_len = 1024").unwrap();
        assert_eq!(framed.window_s, None, "framed input takes no window");
        // No sidecar and no rate: validation says what to set.
        let lone = tempfile::tempdir().unwrap();
        let err = applied(lone.path(), "")
            .unwrap()
            .validate("encoders[0]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("encoders[0].sample_rate") && err.contains("sidecar"),
            "{err}"
        );
    }

    /// A `.json` beside the model that is not a sidecar is named, with
    /// what to do, instead of being ignored.
    #[test]
    fn a_file_that_is_not_a_sidecar_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            r#"{"model_id": "m", "sample_rate": 0}"#,
            r#"{"model_id": "m", "sample_rate": 16000, "window_s": -1.0}"#,
        ] {
            std::fs::write(dir.path().join("m.json"), bad).unwrap();
            let err = applied(dir.path(), "").unwrap_err().to_string();
            assert!(err.contains("m.json") && err.contains("re-export"), "{err}");
        }
        for text in ["not json", r#"{"sample_rate": "fast"}"#, "{}"] {
            std::fs::write(dir.path().join("m.json"), text).unwrap();
            let err = applied(dir.path(), "sample_rate = 16000")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("m.json") && err.contains("not a model sidecar"),
                "{err}"
            );
        }
    }
}
