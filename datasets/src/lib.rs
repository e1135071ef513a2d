//! repbench datasets: where items, splits and labels come from.
//!
//! * [`tones::SyntheticTones`] renders harmonic tones whose factors (pitch,
//!   timbre, loudness) are known exactly, deterministically from a seed.
//! * [`manifest`] reads a CSV or JSONL list of audio files with a split and
//!   any number of label columns.
//! * [`corpora`] read known corpora (GTZAN, NSynth, MagnaTagATune,
//!   MTG-Jamendo, GiantSteps Key, Medley-solos-DB, emoMusic, VocalSet,
//!   TinySOL) from their published layouts on disk.
//! * [`synth`] renders SynTheory-style sets (notes, intervals, chords,
//!   scales, tempos, time signatures) with a SoundFont or a built-in
//!   synthesiser.
//! * [`split`] holds the seeded split methods (random, stratified, group,
//!   k-fold) every dataset's `split` option uses.
//!
//! Each is configured by one variant of [`DatasetSpec`] (`[[datasets]]` in
//! the experiment config) and built with [`open_dataset`] (which also
//! reports skipped items and warnings) or [`build_dataset`]:
//!
//! ```
//! use repbench_datasets::{build_dataset, DatasetSpec};
//! let spec: DatasetSpec = serde_json::from_str(
//!     r#"{"kind": "synthetic_tones", "name": "tones", "n_items": 30}"#).unwrap();
//! let ds = build_dataset(&spec, std::path::Path::new("."), 7).unwrap();
//! assert_eq!(ds.items().len(), 30);
//! let audio = ds.load(&ds.items()[0], 16000).unwrap();
//! assert_eq!(audio.len(), 16000);
//! ```

pub mod checks;
pub mod corpora;
pub mod files;
pub mod manifest;
pub mod split;
pub mod synth;
pub mod tones;

pub use files::{FileDataset, OnError, SkippedItem};

/// Most items a synthetic dataset may generate (`n_items`): beyond it a
/// typo (an extra zero or three) would spend memory and hours before the
/// first result, and `validate` allocates per item.
pub const MAX_SYNTHETIC_ITEMS: usize = 100_000;

use repbench_framework::dataset::Dataset;
use repbench_framework::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A dataset as written in the config, tagged by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DatasetSpec {
    /// Harmonic tones with exact pitch, timbre and loudness factors.
    SyntheticTones(tones::TonesSpec),
    /// A CSV or JSONL manifest of audio files.
    Manifest(manifest::ManifestSpec),
    /// GTZAN genres.
    Gtzan(corpora::gtzan::GtzanSpec),
    /// NSynth notes.
    Nsynth(corpora::nsynth::NsynthSpec),
    /// MagnaTagATune top-k tags.
    Magnatagatune(corpora::magnatagatune::MagnaTagATuneSpec),
    /// MTG-Jamendo auto-tagging subsets.
    MtgJamendo(corpora::mtg_jamendo::MtgJamendoSpec),
    /// GiantSteps Key.
    GiantstepsKey(corpora::giantsteps_key::GiantStepsKeySpec),
    /// Medley-solos-DB instruments.
    MedleySolosDb(corpora::medley_solos_db::MedleySolosDbSpec),
    /// emoMusic arousal/valence.
    Emomusic(corpora::emomusic::EmoMusicSpec),
    /// VocalSet singers and techniques.
    Vocalset(corpora::vocalset::VocalSetSpec),
    /// TinySOL instrument notes.
    Tinysol(corpora::tinysol::TinySolSpec),
    /// Single notes: pitch × instrument × velocity × duration.
    SyntheticNotes(synth::pitched::NotesSpec),
    /// Two-note intervals.
    SyntheticIntervals(synth::pitched::IntervalsSpec),
    /// Triads: root × quality × inversion.
    SyntheticChords(synth::pitched::ChordsSpec),
    /// Diatonic modes.
    SyntheticScales(synth::pitched::ScalesSpec),
    /// Click or drum tracks at continuous tempos.
    SyntheticTempos(synth::rhythm::TemposSpec),
    /// Accent patterns of time signatures.
    SyntheticTimeSignatures(synth::rhythm::TimeSignaturesSpec),
}

/// Applies `$body` to the spec inside any variant.
macro_rules! each_spec {
    ($spec:expr, $s:ident => $body:expr) => {
        match $spec {
            DatasetSpec::SyntheticTones($s) => $body,
            DatasetSpec::Manifest($s) => $body,
            DatasetSpec::Gtzan($s) => $body,
            DatasetSpec::Nsynth($s) => $body,
            DatasetSpec::Magnatagatune($s) => $body,
            DatasetSpec::MtgJamendo($s) => $body,
            DatasetSpec::GiantstepsKey($s) => $body,
            DatasetSpec::MedleySolosDb($s) => $body,
            DatasetSpec::Emomusic($s) => $body,
            DatasetSpec::Vocalset($s) => $body,
            DatasetSpec::Tinysol($s) => $body,
            DatasetSpec::SyntheticNotes($s) => $body,
            DatasetSpec::SyntheticIntervals($s) => $body,
            DatasetSpec::SyntheticChords($s) => $body,
            DatasetSpec::SyntheticScales($s) => $body,
            DatasetSpec::SyntheticTempos($s) => $body,
            DatasetSpec::SyntheticTimeSignatures($s) => $body,
        }
    };
}

impl DatasetSpec {
    /// The user-given name.
    pub fn name(&self) -> &str {
        each_spec!(self, s => &s.name)
    }

    /// Range checks; `key` is this entry's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        each_spec!(self, s => s.validate(key))
    }
}

/// A built dataset with what building it found: items left out under
/// `on_error = "skip"` and warnings that did not stop it.
pub struct Opened {
    /// The dataset.
    pub dataset: Box<dyn Dataset>,
    /// Items left out (empty for synthetic sets and `on_error = "fail"`).
    pub skipped: Vec<SkippedItem>,
    /// Messages for the user (e.g. a class in test but not in train).
    pub warnings: Vec<String>,
    /// For generated music: the synthesiser that rendered the audio (the
    /// built-in one, or which SoundFont), so a run records what it heard.
    pub renderer: Option<String>,
}

impl Opened {
    fn files(ds: FileDataset) -> Opened {
        Opened {
            skipped: ds.skipped().to_vec(),
            warnings: ds.warnings().to_vec(),
            dataset: Box::new(ds),
            renderer: None,
        }
    }

    fn music(ds: synth::SyntheticMusic) -> Opened {
        let warnings = ds.warnings().to_vec();
        let renderer = ds.renderer().describe();
        Opened {
            renderer: Some(renderer),
            ..Opened::synthetic(Box::new(ds), warnings)
        }
    }

    fn synthetic(dataset: Box<dyn Dataset>, warnings: Vec<String>) -> Opened {
        Opened {
            dataset,
            skipped: Vec::new(),
            warnings,
            renderer: None,
        }
    }
}

/// Builds a dataset and reports what was skipped or is worth a warning.
/// Relative paths resolve against `base_dir` (the config file's directory);
/// `seed` is the run's global seed.
pub fn open_dataset(spec: &DatasetSpec, base_dir: &Path, seed: u64) -> Result<Opened> {
    // The config loader validates too; checking here keeps library callers
    // that skip it from building from out-of-range options.
    spec.validate(&format!("dataset \"{}\"", spec.name()))?;
    Ok(match spec {
        DatasetSpec::SyntheticTones(s) => Opened::synthetic(
            Box::new(tones::SyntheticTones::new(s.clone(), seed)),
            Vec::new(),
        ),
        DatasetSpec::Manifest(s) => Opened::files(manifest::open(s, base_dir, seed)?),
        DatasetSpec::Gtzan(s) => Opened::files(corpora::gtzan::open(s, base_dir, seed)?),
        DatasetSpec::Nsynth(s) => Opened::files(corpora::nsynth::open(s, base_dir, seed)?),
        DatasetSpec::Magnatagatune(s) => {
            Opened::files(corpora::magnatagatune::open(s, base_dir, seed)?)
        }
        DatasetSpec::MtgJamendo(s) => Opened::files(corpora::mtg_jamendo::open(s, base_dir, seed)?),
        DatasetSpec::GiantstepsKey(s) => {
            Opened::files(corpora::giantsteps_key::open(s, base_dir, seed)?)
        }
        DatasetSpec::MedleySolosDb(s) => {
            Opened::files(corpora::medley_solos_db::open(s, base_dir, seed)?)
        }
        DatasetSpec::Emomusic(s) => Opened::files(corpora::emomusic::open(s, base_dir, seed)?),
        DatasetSpec::Vocalset(s) => Opened::files(corpora::vocalset::open(s, base_dir, seed)?),
        DatasetSpec::Tinysol(s) => Opened::files(corpora::tinysol::open(s, base_dir, seed)?),
        DatasetSpec::SyntheticNotes(s) => Opened::music(s.open(base_dir, seed)?),
        DatasetSpec::SyntheticIntervals(s) => Opened::music(s.open(base_dir, seed)?),
        DatasetSpec::SyntheticChords(s) => Opened::music(s.open(base_dir, seed)?),
        DatasetSpec::SyntheticScales(s) => Opened::music(s.open(base_dir, seed)?),
        DatasetSpec::SyntheticTempos(s) => Opened::music(s.open(base_dir, seed)?),
        DatasetSpec::SyntheticTimeSignatures(s) => Opened::music(s.open(base_dir, seed)?),
    })
}

/// Builds a dataset (see [`open_dataset`]). Skipped items and warnings are
/// printed to stderr, one line each, so they are never silent; callers that
/// record them elsewhere use [`open_dataset`] instead.
pub fn build_dataset(spec: &DatasetSpec, base_dir: &Path, seed: u64) -> Result<Box<dyn Dataset>> {
    let opened = open_dataset(spec, base_dir, seed)?;
    for s in &opened.skipped {
        eprintln!(
            "warning: dataset \"{}\": skipped item \"{}\" ({}): {}",
            spec.name(),
            s.id,
            s.path.display(),
            s.reason
        );
    }
    for w in &opened.warnings {
        eprintln!("warning: {w}");
    }
    Ok(opened.dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_spelled_as_documented() {
        let kinds = [
            ("synthetic_tones", ""),
            ("manifest", r#", "path": "m.csv""#),
            ("gtzan", r#", "root": "r""#),
            ("nsynth", r#", "root": "r""#),
            ("magnatagatune", r#", "root": "r""#),
            ("mtg_jamendo", r#", "root": "r""#),
            ("giantsteps_key", r#", "root": "r""#),
            ("medley_solos_db", r#", "root": "r""#),
            ("emomusic", r#", "root": "r""#),
            ("vocalset", r#", "root": "r""#),
            ("tinysol", r#", "root": "r""#),
            ("synthetic_notes", ""),
            ("synthetic_intervals", ""),
            ("synthetic_chords", ""),
            ("synthetic_scales", ""),
            ("synthetic_tempos", ""),
            ("synthetic_time_signatures", ""),
        ];
        for (kind, extra) in kinds {
            let json = format!(r#"{{"kind": "{kind}", "name": "x"{extra}}}"#);
            let spec: DatasetSpec =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{kind}: {e}"));
            spec.validate("datasets[0]")
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(spec.name(), "x");
        }
    }

    #[test]
    fn open_dataset_reports_skipped_items() {
        let dir = tempfile::tempdir().unwrap();
        let wav = repbench_framework::audio::wav_pcm16(&[vec![0.0; 80]], 8000);
        let mut csv = String::from("id,path,split\n");
        for (i, split) in ["train", "valid", "test", "test"].iter().enumerate() {
            if i < 3 {
                std::fs::write(dir.path().join(format!("{i}.wav")), &wav).unwrap();
            }
            csv.push_str(&format!("a{i},{i}.wav,{split}\n"));
        }
        std::fs::write(dir.path().join("m.csv"), csv).unwrap();
        let spec: DatasetSpec = serde_json::from_str(
            r#"{"kind": "manifest", "name": "m", "path": "m.csv", "on_error": "skip"}"#,
        )
        .unwrap();
        let opened = open_dataset(&spec, dir.path(), 0).unwrap();
        assert_eq!(opened.dataset.items().len(), 3);
        assert_eq!(opened.skipped.len(), 1);
        assert_eq!(opened.skipped[0].id, "a3");
        assert!(opened.skipped[0].path.ends_with("3.wav"));
    }
}
