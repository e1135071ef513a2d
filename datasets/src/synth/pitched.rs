//! The pitched sets: notes, intervals, chords and scales. Each item is one
//! combination of the set's factors (the full grid, or a seeded sample of
//! `n_items` of it); ids are `<set>-<grid index>`, stable under sampling.
//!
//! * `synthetic_notes`: one note. Factors `pitch_range` (inclusive MIDI,
//!   default [48, 84]) × `instruments` (default all seven) × `velocities`
//!   (default [40, 80, 120]) × `durations_s` (default [0.5, 1.0]); clips of
//!   `clip_s` (default 1.5 s). Labels: `pitch` (MIDI), `pitch_class`,
//!   `octave`, `instrument`, `velocity`, `duration_s`.
//! * `synthetic_intervals`: two notes. Factors `root_range` (default
//!   [48, 72]) × `intervals` (semitones, default 1–12) × `instruments` ×
//!   `play` (`harmonic` together, `melodic` one after the other; default
//!   both). Labels: `interval` (semitones), `interval_name` (`m2` … `P8`),
//!   `root` (MIDI), `root_pitch_class`, `instrument`, `play`.
//! * `synthetic_chords`: a triad held for 1 s. Factors `root_range`
//!   (default [48, 59]) × `qualities` (`major`, `minor`, `diminished`,
//!   `augmented`, `sus2`, `sus4`; default the first four) × `inversions`
//!   (0–2, default all) × `instruments`. Labels: `root` (pitch class),
//!   `quality`, `inversion`, `chord` (`C major`), `instrument`.
//! * `synthetic_scales`: an ascending one-octave scale, `note_s` per note
//!   (default 0.25 s). Factors `root_range` (default [48, 59]) × `modes`
//!   (the seven diatonic modes, default all) × `instruments`. Labels:
//!   `mode`, `root` (pitch class), `instrument`.

use super::score::{Instrument, Note, Score, Voice, PITCH_CLASSES};
use super::{sample_grid, synth_spec, Generated, SyntheticMusic};
use repbench_framework::dataset::Label;
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Silence before the first onset, so an onset is never at sample 0.
const LEAD_S: f64 = 0.05;

fn d_instruments() -> Vec<Instrument> {
    Instrument::ALL.to_vec()
}
fn d_pitch_range() -> [u8; 2] {
    [48, 84]
}
fn d_velocities() -> Vec<u8> {
    vec![40, 80, 120]
}
fn d_durations() -> Vec<f64> {
    vec![0.5, 1.0]
}
fn d_clip() -> f64 {
    1.5
}
fn d_interval_roots() -> [u8; 2] {
    [48, 72]
}
fn d_intervals() -> Vec<u8> {
    (1..=12).collect()
}
fn d_play() -> Vec<Play> {
    vec![Play::Harmonic, Play::Melodic]
}
fn d_octave_roots() -> [u8; 2] {
    [48, 59]
}
fn d_qualities() -> Vec<Quality> {
    vec![
        Quality::Major,
        Quality::Minor,
        Quality::Diminished,
        Quality::Augmented,
    ]
}
fn d_inversions() -> Vec<u8> {
    vec![0, 1, 2]
}
fn d_modes() -> Vec<Mode> {
    Mode::ALL.to_vec()
}
fn d_note_s() -> f64 {
    0.25
}

/// How the two notes of an interval sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Play {
    /// Together.
    Harmonic,
    /// Root, then the upper note.
    Melodic,
}

/// Triad qualities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// 0, 4, 7.
    Major,
    /// 0, 3, 7.
    Minor,
    /// 0, 3, 6.
    Diminished,
    /// 0, 4, 8.
    Augmented,
    /// 0, 2, 7.
    Sus2,
    /// 0, 5, 7.
    Sus4,
}

impl Quality {
    /// Semitones above the root, root position.
    pub fn intervals(self) -> [u8; 3] {
        match self {
            Quality::Major => [0, 4, 7],
            Quality::Minor => [0, 3, 7],
            Quality::Diminished => [0, 3, 6],
            Quality::Augmented => [0, 4, 8],
            Quality::Sus2 => [0, 2, 7],
            Quality::Sus4 => [0, 5, 7],
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Quality::Major => "major",
            Quality::Minor => "minor",
            Quality::Diminished => "diminished",
            Quality::Augmented => "augmented",
            Quality::Sus2 => "sus2",
            Quality::Sus4 => "sus4",
        }
    }
}

/// The seven diatonic modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Major.
    Ionian,
    /// Minor with a raised sixth.
    Dorian,
    /// Minor with a lowered second.
    Phrygian,
    /// Major with a raised fourth.
    Lydian,
    /// Major with a lowered seventh.
    Mixolydian,
    /// Natural minor.
    Aeolian,
    /// Diminished fifth.
    Locrian,
}

impl Mode {
    /// All modes in the order of the major scale's degrees.
    pub const ALL: [Mode; 7] = [
        Mode::Ionian,
        Mode::Dorian,
        Mode::Phrygian,
        Mode::Lydian,
        Mode::Mixolydian,
        Mode::Aeolian,
        Mode::Locrian,
    ];

    /// The eight keys (semitones above the root) of the ascending scale.
    pub fn steps(self) -> [u8; 8] {
        const MAJOR: [u8; 7] = [2, 2, 1, 2, 2, 2, 1];
        let rotate = Mode::ALL.iter().position(|m| *m == self).unwrap_or(0);
        let mut out = [0u8; 8];
        for i in 0..7 {
            out[i + 1] = out[i] + MAJOR[(i + rotate) % 7];
        }
        out
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Ionian => "ionian",
            Mode::Dorian => "dorian",
            Mode::Phrygian => "phrygian",
            Mode::Lydian => "lydian",
            Mode::Mixolydian => "mixolydian",
            Mode::Aeolian => "aeolian",
            Mode::Locrian => "locrian",
        }
    }
}

const INTERVAL_NAMES: [&str; 13] = [
    "P1", "m2", "M2", "m3", "M3", "P4", "TT", "P5", "m6", "M6", "m7", "M7", "P8",
];

synth_spec! {
    /// Options of `kind = "synthetic_notes"`.
    NotesSpec {
        /// Inclusive MIDI pitch range.
        #[serde(default = "d_pitch_range")]
        pitch_range: [u8; 2],
        /// Instruments.
        #[serde(default = "d_instruments")]
        instruments: Vec<Instrument>,
        /// MIDI velocities (1–127).
        #[serde(default = "d_velocities")]
        velocities: Vec<u8>,
        /// Note durations (until note-off) in seconds.
        #[serde(default = "d_durations")]
        durations_s: Vec<f64>,
        /// Clip length in seconds.
        #[serde(default = "d_clip")]
        clip_s: f64,
        /// Keep a seeded sample of this many combinations (default: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_items: Option<usize>,
    }
}

synth_spec! {
    /// Options of `kind = "synthetic_intervals"`.
    IntervalsSpec {
        /// Inclusive MIDI range of the lower note.
        #[serde(default = "d_interval_roots")]
        root_range: [u8; 2],
        /// Intervals in semitones (0–24).
        #[serde(default = "d_intervals")]
        intervals: Vec<u8>,
        /// Instruments.
        #[serde(default = "d_instruments")]
        instruments: Vec<Instrument>,
        /// Harmonic and/or melodic.
        #[serde(default = "d_play")]
        play: Vec<Play>,
        /// Keep a seeded sample of this many combinations (default: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_items: Option<usize>,
    }
}

synth_spec! {
    /// Options of `kind = "synthetic_chords"`.
    ChordsSpec {
        /// Inclusive MIDI range of the root.
        #[serde(default = "d_octave_roots")]
        root_range: [u8; 2],
        /// Triad qualities.
        #[serde(default = "d_qualities")]
        qualities: Vec<Quality>,
        /// Inversions (0 = root position, 1, 2).
        #[serde(default = "d_inversions")]
        inversions: Vec<u8>,
        /// Instruments.
        #[serde(default = "d_instruments")]
        instruments: Vec<Instrument>,
        /// Keep a seeded sample of this many combinations (default: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_items: Option<usize>,
    }
}

synth_spec! {
    /// Options of `kind = "synthetic_scales"`.
    ScalesSpec {
        /// Inclusive MIDI range of the root.
        #[serde(default = "d_octave_roots")]
        root_range: [u8; 2],
        /// Modes.
        #[serde(default = "d_modes")]
        modes: Vec<Mode>,
        /// Instruments.
        #[serde(default = "d_instruments")]
        instruments: Vec<Instrument>,
        /// Seconds per scale note.
        #[serde(default = "d_note_s")]
        note_s: f64,
        /// Keep a seeded sample of this many combinations (default: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_items: Option<usize>,
    }
}

fn range_ok(key: &str, field: &str, [lo, hi]: [u8; 2], top: u8) -> Result<()> {
    if lo > hi || hi > top || lo < 12 {
        return Err(Error::config(
            format!("{key}.{field}"),
            format!("must be [low, high] MIDI with 12 ≤ low ≤ high ≤ {top} (got [{lo}, {hi}])"),
        ));
    }
    Ok(())
}

fn non_empty<T>(key: &str, field: &str, v: &[T]) -> Result<()> {
    if v.is_empty() {
        return Err(Error::config(
            format!("{key}.{field}"),
            "must list at least one value",
        ));
    }
    Ok(())
}

fn note(start_s: f64, dur_s: f64, key: u8, velocity: u8, inst: Instrument) -> Note {
    Note {
        start_s,
        dur_s,
        key,
        velocity,
        voice: Voice::Pitched(inst),
    }
}

fn labels(pairs: Vec<(&str, Label)>) -> BTreeMap<String, Label> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn text(s: &str) -> Label {
    Label::Text(s.to_owned())
}

fn pc(key: u8) -> Label {
    text(PITCH_CLASSES[key as usize % 12])
}

/// Velocity of every note of the intervals, chords and scales sets.
const PLAIN_VELOCITY: u8 = 100;

impl NotesSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        range_ok(key, "pitch_range", self.pitch_range, 108)?;
        non_empty(key, "instruments", &self.instruments)?;
        non_empty(key, "velocities", &self.velocities)?;
        non_empty(key, "durations_s", &self.durations_s)?;
        if let Some(v) = self.velocities.iter().find(|v| !(1..=127).contains(*v)) {
            return Err(Error::config(
                format!("{key}.velocities"),
                format!("MIDI velocities are 1–127 (got {v})"),
            ));
        }
        if !(self.clip_s.is_finite() && self.clip_s > 0.2 && self.clip_s <= 30.0) {
            return Err(Error::config(
                format!("{key}.clip_s"),
                format!("must be in (0.2, 30] seconds (got {})", self.clip_s),
            ));
        }
        if let Some(d) = self
            .durations_s
            .iter()
            .find(|d| !(d.is_finite() && **d > 0.01 && **d < self.clip_s - LEAD_S))
        {
            return Err(Error::config(
                format!("{key}.durations_s"),
                format!(
                    "each must be in (0.01, clip_s - {LEAD_S}) seconds (got {d}, clip_s {})",
                    self.clip_s
                ),
            ));
        }
        Ok(())
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let mut grid = Vec::new();
        for midi in self.pitch_range[0]..=self.pitch_range[1] {
            for &inst in &self.instruments {
                for &vel in &self.velocities {
                    for &dur in &self.durations_s {
                        grid.push((midi, inst, vel, dur));
                    }
                }
            }
        }
        let generated = sample_grid(grid, self.n_items, seed, "synthetic_notes")?
            .into_iter()
            .map(|(i, (midi, inst, vel, dur))| Generated {
                id: format!("note-{i:05}"),
                labels: labels(vec![
                    ("pitch", Label::Number(f64::from(midi))),
                    ("pitch_class", pc(midi)),
                    ("octave", Label::Number(f64::from(midi / 12) - 1.0)),
                    ("instrument", text(inst.as_str())),
                    ("velocity", Label::Number(f64::from(vel))),
                    ("duration_s", Label::Number(dur)),
                ]),
                score: Score {
                    length_s: self.clip_s,
                    notes: vec![note(LEAD_S, dur, midi, vel, inst)],
                },
            })
            .collect();
        SyntheticMusic::build("synthetic_notes", &self.common(), generated, base_dir, seed)
    }
}

impl IntervalsSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        range_ok(key, "root_range", self.root_range, 96)?;
        non_empty(key, "intervals", &self.intervals)?;
        non_empty(key, "instruments", &self.instruments)?;
        non_empty(key, "play", &self.play)?;
        if let Some(i) = self.intervals.iter().find(|i| **i > 24) {
            return Err(Error::config(
                format!("{key}.intervals"),
                format!("must be 0–24 semitones (got {i})"),
            ));
        }
        Ok(())
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let mut grid = Vec::new();
        for root in self.root_range[0]..=self.root_range[1] {
            for &interval in &self.intervals {
                for &inst in &self.instruments {
                    for &play in &self.play {
                        grid.push((root, interval, inst, play));
                    }
                }
            }
        }
        let generated = sample_grid(grid, self.n_items, seed, "synthetic_intervals")?
            .into_iter()
            .map(|(i, (root, interval, inst, play))| {
                let top = root + interval;
                let (notes, play_name) = match play {
                    Play::Harmonic => (
                        vec![
                            note(LEAD_S, 1.0, root, PLAIN_VELOCITY, inst),
                            note(LEAD_S, 1.0, top, PLAIN_VELOCITY, inst),
                        ],
                        "harmonic",
                    ),
                    Play::Melodic => (
                        vec![
                            note(LEAD_S, 0.5, root, PLAIN_VELOCITY, inst),
                            note(LEAD_S + 0.55, 0.5, top, PLAIN_VELOCITY, inst),
                        ],
                        "melodic",
                    ),
                };
                let name = INTERVAL_NAMES
                    .get(interval as usize)
                    .copied()
                    .map_or_else(|| format!("{interval}st"), str::to_owned);
                Generated {
                    id: format!("interval-{i:05}"),
                    labels: labels(vec![
                        ("interval", Label::Number(f64::from(interval))),
                        ("interval_name", Label::Text(name)),
                        ("root", Label::Number(f64::from(root))),
                        ("root_pitch_class", pc(root)),
                        ("instrument", text(inst.as_str())),
                        ("play", text(play_name)),
                    ]),
                    score: Score {
                        length_s: 1.5,
                        notes,
                    },
                }
            })
            .collect();
        SyntheticMusic::build(
            "synthetic_intervals",
            &self.common(),
            generated,
            base_dir,
            seed,
        )
    }
}

/// The keys of a triad on `root` in `inversion` (the lowest `inversion`
/// chord tones move up an octave).
pub fn chord_keys(root: u8, quality: Quality, inversion: u8) -> Vec<u8> {
    let mut keys: Vec<u8> = quality.intervals().iter().map(|i| root + i).collect();
    for k in keys.iter_mut().take(inversion as usize) {
        *k += 12;
    }
    keys.sort_unstable();
    keys
}

impl ChordsSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        range_ok(key, "root_range", self.root_range, 96)?;
        non_empty(key, "qualities", &self.qualities)?;
        non_empty(key, "inversions", &self.inversions)?;
        non_empty(key, "instruments", &self.instruments)?;
        if let Some(i) = self.inversions.iter().find(|i| **i > 2) {
            return Err(Error::config(
                format!("{key}.inversions"),
                format!("a triad has inversions 0, 1, 2 (got {i})"),
            ));
        }
        Ok(())
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let mut grid = Vec::new();
        for root in self.root_range[0]..=self.root_range[1] {
            for &quality in &self.qualities {
                for &inversion in &self.inversions {
                    for &inst in &self.instruments {
                        grid.push((root, quality, inversion, inst));
                    }
                }
            }
        }
        let generated = sample_grid(grid, self.n_items, seed, "synthetic_chords")?
            .into_iter()
            .map(|(i, (root, quality, inversion, inst))| Generated {
                id: format!("chord-{i:05}"),
                labels: labels(vec![
                    ("root", pc(root)),
                    ("quality", text(quality.as_str())),
                    ("inversion", Label::Number(f64::from(inversion))),
                    (
                        "chord",
                        Label::Text(format!(
                            "{} {}",
                            PITCH_CLASSES[root as usize % 12],
                            quality.as_str()
                        )),
                    ),
                    ("instrument", text(inst.as_str())),
                ]),
                score: Score {
                    length_s: 1.5,
                    notes: chord_keys(root, quality, inversion)
                        .into_iter()
                        .map(|k| note(LEAD_S, 1.0, k, PLAIN_VELOCITY, inst))
                        .collect(),
                },
            })
            .collect();
        SyntheticMusic::build(
            "synthetic_chords",
            &self.common(),
            generated,
            base_dir,
            seed,
        )
    }
}

impl ScalesSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        range_ok(key, "root_range", self.root_range, 96)?;
        non_empty(key, "modes", &self.modes)?;
        non_empty(key, "instruments", &self.instruments)?;
        if !(self.note_s.is_finite() && self.note_s >= 0.05 && self.note_s <= 2.0) {
            return Err(Error::config(
                format!("{key}.note_s"),
                format!("must be in [0.05, 2] seconds (got {})", self.note_s),
            ));
        }
        Ok(())
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let mut grid = Vec::new();
        for root in self.root_range[0]..=self.root_range[1] {
            for &mode in &self.modes {
                for &inst in &self.instruments {
                    grid.push((root, mode, inst));
                }
            }
        }
        let generated = sample_grid(grid, self.n_items, seed, "synthetic_scales")?
            .into_iter()
            .map(|(i, (root, mode, inst))| Generated {
                id: format!("scale-{i:05}"),
                labels: labels(vec![
                    ("mode", text(mode.as_str())),
                    ("root", pc(root)),
                    ("instrument", text(inst.as_str())),
                ]),
                score: Score {
                    length_s: LEAD_S + 8.0 * self.note_s + 0.4,
                    notes: mode
                        .steps()
                        .iter()
                        .enumerate()
                        .map(|(j, step)| {
                            note(
                                LEAD_S + j as f64 * self.note_s,
                                self.note_s * 0.9,
                                root + step,
                                PLAIN_VELOCITY,
                                inst,
                            )
                        })
                        .collect(),
                },
            })
            .collect();
        SyntheticMusic::build(
            "synthetic_scales",
            &self.common(),
            generated,
            base_dir,
            seed,
        )
    }
}
