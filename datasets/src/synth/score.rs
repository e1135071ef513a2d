//! What a synthetic item plays: a list of timed notes on named instruments
//! or drums. Both renderers read the same score, and the score (with the
//! renderer and a render version) is what the item's content key hashes.

use serde::{Deserialize, Serialize};

/// Pitched instruments, each with a General MIDI program for SoundFont
/// rendering and a harmonic profile for the built-in synthesiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Struck string, decaying (GM 0, Acoustic Grand Piano).
    Piano,
    /// Plucked string, decaying (GM 24, Nylon Guitar).
    Guitar,
    /// Sustained drawbar-like partials (GM 19, Church Organ).
    Organ,
    /// Bowed, slow attack (GM 48, String Ensemble 1).
    Strings,
    /// Nearly sinusoidal (GM 73, Flute).
    Flute,
    /// Odd harmonics (GM 71, Clarinet).
    Clarinet,
    /// Bright brass (GM 56, Trumpet).
    Trumpet,
}

impl Instrument {
    /// Every instrument, the default list of the pitched sets.
    pub const ALL: [Instrument; 7] = [
        Instrument::Piano,
        Instrument::Guitar,
        Instrument::Organ,
        Instrument::Strings,
        Instrument::Flute,
        Instrument::Clarinet,
        Instrument::Trumpet,
    ];

    /// The config spelling, used as the label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Piano => "piano",
            Instrument::Guitar => "guitar",
            Instrument::Organ => "organ",
            Instrument::Strings => "strings",
            Instrument::Flute => "flute",
            Instrument::Clarinet => "clarinet",
            Instrument::Trumpet => "trumpet",
        }
    }

    /// General MIDI program number (0-based).
    pub fn gm_program(self) -> u8 {
        match self {
            Instrument::Piano => 0,
            Instrument::Guitar => 24,
            Instrument::Organ => 19,
            Instrument::Strings => 48,
            Instrument::Flute => 73,
            Instrument::Clarinet => 71,
            Instrument::Trumpet => 56,
        }
    }
}

/// Unpitched sounds of the rhythm sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drum {
    /// Bass drum (GM key 36).
    Kick,
    /// Snare (GM key 38).
    Snare,
    /// Closed hi-hat (GM key 42).
    HiHat,
    /// Accented metronome click (GM key 76, Hi Wood Block).
    ClickHigh,
    /// Plain metronome click (GM key 77, Low Wood Block).
    ClickLow,
}

impl Drum {
    /// General MIDI percussion key.
    pub fn gm_key(self) -> u8 {
        match self {
            Drum::Kick => 36,
            Drum::Snare => 38,
            Drum::HiHat => 42,
            Drum::ClickHigh => 76,
            Drum::ClickLow => 77,
        }
    }
}

/// Who plays a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Voice {
    /// A pitched instrument at the note's MIDI key.
    Pitched(Instrument),
    /// A drum (the note's key is ignored by the built-in synthesiser).
    Drum(Drum),
}

/// One note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Onset in seconds from the start of the clip.
    pub start_s: f64,
    /// Time until note-off in seconds (the release follows).
    pub dur_s: f64,
    /// MIDI key.
    pub key: u8,
    /// MIDI velocity 1–127.
    pub velocity: u8,
    /// Instrument or drum.
    pub voice: Voice,
}

/// A clip: its length and its notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Clip length in seconds (notes ringing past it are cut).
    pub length_s: f64,
    /// The notes, in any order.
    pub notes: Vec<Note>,
}

/// Frequency in Hz of MIDI key `key` (A4 = 69 = 440 Hz).
pub fn midi_hz(key: f64) -> f64 {
    440.0 * 2f64.powf((key - 69.0) / 12.0)
}

/// Pitch-class names, sharps.
pub const PITCH_CLASSES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];
