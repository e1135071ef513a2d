//! `torchscript`: a TorchScript module (`torch.jit.save` output) run through
//! libtorch, available with the `torch` cargo feature.
//!
//! Each item is cut into segments of equal length — the whole item, fixed
//! windows (`window_s`/`hop_s`, waveform models) or frames
//! (`frame_len`/`hop`, frame models such as CREPE) — that are stacked into
//! `[batch, samples]` inputs, batched across items. The module may return a
//! tensor, a tuple/list of tensors or a dict of named tensors; each is a
//! layer, `[batch, dim]` (one frame per segment) or `[batch, time, dim]`.
//! An item's frames from all its segments are pooled together.
//!
//! This file holds the config and the segmentation, which need no libtorch;
//! `model.rs` runs the module.

#[cfg(feature = "torch")]
mod model;
pub mod sidecar;

#[cfg(feature = "torch")]
pub use model::TorchScript;

use crate::pooling::Pooling;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What one row of the module's `[batch, samples]` input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputForm {
    /// Audio: the whole item, or windows of `window_s` seconds.
    #[default]
    Waveform,
    /// Short frames of `frame_len` samples every `hop` samples.
    Framed,
}

/// A layer to keep: an output's position or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LayerRef {
    /// Position among the module's outputs (0-based).
    Index(usize),
    /// Name of a dict output or of a `layer_names` entry; `"all"` keeps all.
    Name(String),
}

fn d_layers() -> Vec<LayerRef> {
    vec![LayerRef::Name("all".into())]
}
fn d_batch_size() -> usize {
    32
}
fn d_device() -> String {
    "cpu".into()
}

/// Options of `kind = "torchscript"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorchScriptSpec {
    /// Name used in results.
    pub name: String,
    /// The `.pt` file (relative to the config file).
    pub path: PathBuf,
    /// Sample rate the module expects (default: its sidecar's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// What an input row holds.
    #[serde(default)]
    pub input: InputForm,
    /// Waveform input: window length in seconds (default: the sidecar's
    /// training window, else the whole item; 0 = the whole item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Waveform input: seconds between window starts (default `window_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_s: Option<f64>,
    /// Framed input: samples per frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_len: Option<usize>,
    /// Framed input: samples between frame starts (default `frame_len`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<usize>,
    /// Names for a tensor or tuple output's layers (default `0`, `1`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_names: Option<Vec<String>>,
    /// Layers to keep: `["all"]`, positions or names.
    #[serde(default = "d_layers")]
    pub layers: Vec<LayerRef>,
    /// Temporal pooling over an item's frames.
    #[serde(default)]
    pub pooling: Pooling,
    /// Segments per forward call (across items).
    #[serde(default = "d_batch_size")]
    pub batch_size: usize,
    /// `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Crop or zero-pad every item to this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

/// Where the module runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRef {
    /// The CPU.
    Cpu,
    /// CUDA device N.
    Cuda(usize),
}

impl DeviceRef {
    /// Parses `cpu`, `cuda` (= `cuda:0`) or `cuda:N`.
    pub fn parse(s: &str) -> Option<DeviceRef> {
        match s {
            "cpu" => Some(DeviceRef::Cpu),
            "cuda" => Some(DeviceRef::Cuda(0)),
            _ => s.strip_prefix("cuda:")?.parse().ok().map(DeviceRef::Cuda),
        }
    }
}

/// Segment length and hop in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segmenting {
    /// Samples per segment; `None` = the whole item.
    pub len: Option<usize>,
    /// Samples between segment starts.
    pub hop: usize,
}

impl TorchScriptSpec {
    /// Range checks with the offending key in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        let bad = |field: &str, why: String| Err(Error::config(format!("{key}.{field}"), why));
        match self.sample_rate {
            None => {
                return bad(
                    "sample_rate",
                    "missing, and the model has no sidecar (<model>.json) to take it from; set it to the rate the module was exported for".into(),
                )
            }
            Some(0) => return bad("sample_rate", "must be positive".into()),
            Some(_) => {}
        }
        match self.input {
            InputForm::Waveform => {
                if self.frame_len.is_some() || self.hop.is_some() {
                    return bad(
                        "frame_len",
                        "frame_len/hop are for input = \"framed\"; waveform input takes window_s/hop_s".into(),
                    );
                }
                if self.window_s.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
                    return bad(
                        "window_s",
                        format!(
                            "must be a number of seconds, 0 for the whole item (got {:?})",
                            self.window_s
                        ),
                    );
                }
                if self.hop_s.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
                    return bad(
                        "hop_s",
                        format!(
                            "must be a positive number of seconds (got {:?})",
                            self.hop_s
                        ),
                    );
                }
                if self.hop_s.is_some() && self.window().is_none() {
                    return bad("hop_s", "needs a window_s above 0".into());
                }
                if let Some(w) = self.window() {
                    if (w * f64::from(self.rate())).round() < 1.0 {
                        return bad("window_s", "is shorter than one sample".into());
                    }
                }
            }
            InputForm::Framed => {
                if self.window_s.is_some() || self.hop_s.is_some() {
                    return bad(
                        "window_s",
                        "window_s/hop_s are for input = \"waveform\"; framed input takes frame_len/hop".into(),
                    );
                }
                match self.frame_len {
                    None => {
                        return bad(
                            "frame_len",
                            "input = \"framed\" needs frame_len (samples per frame)".into(),
                        )
                    }
                    Some(0) => return bad("frame_len", "must be at least 1".into()),
                    Some(_) => {}
                }
                if self.hop == Some(0) {
                    return bad("hop", "must be at least 1".into());
                }
            }
        }
        if self.layers.is_empty() {
            return bad("layers", "keep at least one layer (or [\"all\"])".into());
        }
        if let Some(names) = &self.layer_names {
            let mut seen = std::collections::HashSet::new();
            if let Some(n) = names
                .iter()
                .find(|n| n.is_empty() || !seen.insert(n.as_str()))
            {
                return bad(
                    "layer_names",
                    format!("names must be non-empty and distinct (\"{n}\")"),
                );
            }
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad(
                "batch_size",
                format!("must be in 1..=4096 (got {})", self.batch_size),
            );
        }
        if self.threads == Some(0) {
            return bad("threads", "must be at least 1 (or leave it out)".into());
        }
        if DeviceRef::parse(&self.device).is_none() {
            return bad(
                "device",
                format!(
                    "expected \"cpu\", \"cuda\" or \"cuda:N\" (got \"{}\")",
                    self.device
                ),
            );
        }
        crate::encoder::check_duration(key, self.duration_s)
    }

    /// The sample rate (after the sidecar filled it in; 0 before).
    pub fn rate(&self) -> u32 {
        self.sample_rate.unwrap_or(0)
    }

    /// The window in seconds; `None` for the whole item (unset or 0).
    fn window(&self) -> Option<f64> {
        self.window_s.filter(|w| *w > 0.0)
    }

    /// Segment length and hop in samples (after [`Self::validate`]).
    pub fn segmenting(&self) -> Segmenting {
        let rate = f64::from(self.rate());
        let samples = |s: f64| ((s * rate).round() as usize).max(1);
        match self.input {
            InputForm::Framed => {
                let len = self.frame_len.unwrap_or(1);
                Segmenting {
                    len: Some(len),
                    hop: self.hop.unwrap_or(len),
                }
            }
            InputForm::Waveform => match self.window() {
                None => Segmenting { len: None, hop: 1 },
                Some(w) => Segmenting {
                    len: Some(samples(w)),
                    hop: samples(self.hop_s.unwrap_or(w)),
                },
            },
        }
    }
}

impl Segmenting {
    /// Cuts `audio` into segments. Fixed-length segments start every `hop`
    /// samples until the audio is covered; the last one (or a single one
    /// for audio shorter than a segment) is zero-padded, so no sample is
    /// dropped.
    pub fn segments(&self, audio: &[f32]) -> Vec<Vec<f32>> {
        let Some(len) = self.len else {
            return vec![audio.to_vec()];
        };
        let count = if audio.len() <= len {
            1
        } else {
            (audio.len() - len).div_ceil(self.hop) + 1
        };
        (0..count)
            .map(|i| {
                let start = (i * self.hop).min(audio.len());
                let end = (start + len).min(audio.len());
                let mut segment = audio[start..end].to_vec();
                segment.resize(len, 0.0);
                segment
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> TorchScriptSpec {
        toml::from_str(&format!(
            "name = \"m\"\npath = \"m.pt\"\nsample_rate = 16000\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn frames_cover_the_audio_and_pad_only_the_last() {
        let s = spec("input = \"framed\"\nframe_len = 4\nhop = 3").segmenting();
        let audio: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let segs = s.segments(&audio);
        assert_eq!(
            segs,
            vec![
                vec![1.0, 2.0, 3.0, 4.0],
                vec![4.0, 5.0, 6.0, 7.0],
                vec![7.0, 8.0, 9.0, 0.0]
            ]
        );
        // Exactly fitting audio gets no padded frame.
        assert_eq!(s.segments(&audio[..7]).len(), 2);
        // Short audio gets one padded frame.
        assert_eq!(s.segments(&audio[..2]), vec![vec![1.0, 2.0, 0.0, 0.0]]);
    }

    #[test]
    fn windows_are_in_seconds_and_whole_items_stay_whole() {
        let s = spec("window_s = 0.5\nhop_s = 0.25").segmenting();
        assert_eq!(
            s,
            Segmenting {
                len: Some(8000),
                hop: 4000
            }
        );
        assert_eq!(s.segments(&vec![0.5; 16000]).len(), 3);
        let whole = spec("").segmenting();
        assert_eq!(whole.segments(&[1.0, 2.0, 3.0]), vec![vec![1.0, 2.0, 3.0]]);
    }

    #[test]
    fn bad_options_name_their_key() {
        let cases = [
            ("input = \"framed\"", "frame_len"),
            (
                "input = \"framed\"\nframe_len = 4\nwindow_s = 1.0",
                "window_s",
            ),
            ("frame_len = 4", "frame_len"),
            ("hop_s = 1.0", "hop_s"),
            ("window_s = -1.0", "window_s"),
            ("batch_size = 0", "batch_size"),
            ("device = \"gpu\"", "device"),
            ("layers = []", "layers"),
            ("layer_names = [\"a\", \"a\"]", "layer_names"),
            ("threads = 0", "threads"),
        ];
        for (extra, key) in cases {
            let err = spec(extra).validate("encoders[0]").unwrap_err().to_string();
            assert!(
                err.contains(&format!("encoders[0].{key}")),
                "{extra}: {err}"
            );
        }
        spec("input = \"framed\"\nframe_len = 1024\nhop = 160")
            .validate("e")
            .unwrap();
    }

    #[test]
    fn devices_parse() {
        assert_eq!(DeviceRef::parse("cpu"), Some(DeviceRef::Cpu));
        assert_eq!(DeviceRef::parse("cuda"), Some(DeviceRef::Cuda(0)));
        assert_eq!(DeviceRef::parse("cuda:1"), Some(DeviceRef::Cuda(1)));
        assert_eq!(DeviceRef::parse("cuda:x"), None);
        assert_eq!(DeviceRef::parse("mps"), None);
    }

    #[test]
    fn layers_accept_indices_and_names() {
        let s = spec("layers = [1, \"embedding\"]");
        assert_eq!(
            s.layers,
            vec![LayerRef::Index(1), LayerRef::Name("embedding".into())]
        );
    }
}
