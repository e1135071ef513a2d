//! The rhythm sets: tempos and time signatures, from clicks or a drum kit.
//!
//! * `synthetic_tempos`: `n_items` (default 200) clips of `clip_s` (default
//!   6 s) with a beat at a tempo drawn uniformly from `bpm_range` (default
//!   [60, 180]) and a random phase, in one of `patterns` (`click`: an
//!   accented click every fourth beat; `drums`: kick on beats 1 and 3,
//!   snare on 2 and 4, hi-hat on every eighth; default `["click"]`,
//!   assigned round-robin). Labels: `bpm` (a number, for regression),
//!   `pattern`.
//! * `synthetic_time_signatures`: `n_items` (default 240) clips of `clip_s`
//!   (default 8 s) of clicks whose accents mark the meter, one of `meters`
//!   (`2/4`, `3/4`, `4/4`, `5/4`, `6/8`, `7/8`; default all, round-robin) at
//!   a pulse rate drawn from `bpm_range` (default [80, 160]). The downbeat
//!   is a loud high click, secondary accents (beat 3 of 4/4, the 3+2 of
//!   5/4, the 3+3 of 6/8, the 2+2+3 of 7/8) loud low clicks, other pulses
//!   soft low clicks. Labels: `time_signature`, `beats_per_bar`, `bpm`.

use super::score::{Drum, Note, Score, Voice};
use super::{synth_spec, Generated, SyntheticMusic};
use rand::Rng as _;
use repbench_framework::dataset::Label;
use repbench_framework::{seed as seeding, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const LEAD_S: f64 = 0.05;
const HIT_S: f64 = 0.05;

fn d_tempo_items() -> usize {
    200
}
fn d_meter_items() -> usize {
    240
}
fn d_tempo_bpm() -> [f64; 2] {
    [60.0, 180.0]
}
fn d_meter_bpm() -> [f64; 2] {
    [80.0, 160.0]
}
fn d_tempo_clip() -> f64 {
    6.0
}
fn d_meter_clip() -> f64 {
    8.0
}
fn d_patterns() -> Vec<Pattern> {
    vec![Pattern::Click]
}
fn d_meters() -> Vec<Meter> {
    Meter::ALL.to_vec()
}

/// What marks the beat in `synthetic_tempos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Metronome clicks, accented every fourth beat.
    Click,
    /// Kick, snare and eighth-note hi-hat.
    Drums,
}

/// A time signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Meter {
    /// Two quarter pulses.
    #[serde(rename = "2/4")]
    TwoFour,
    /// Three quarter pulses.
    #[serde(rename = "3/4")]
    ThreeFour,
    /// Four quarter pulses.
    #[serde(rename = "4/4")]
    FourFour,
    /// Five quarter pulses (3 + 2).
    #[serde(rename = "5/4")]
    FiveFour,
    /// Six eighth pulses (3 + 3).
    #[serde(rename = "6/8")]
    SixEight,
    /// Seven eighth pulses (2 + 2 + 3).
    #[serde(rename = "7/8")]
    SevenEight,
}

/// Accent of one pulse.
#[derive(Clone, Copy)]
enum Accent {
    Strong,
    Medium,
    Weak,
}

impl Meter {
    /// All meters.
    pub const ALL: [Meter; 6] = [
        Meter::TwoFour,
        Meter::ThreeFour,
        Meter::FourFour,
        Meter::FiveFour,
        Meter::SixEight,
        Meter::SevenEight,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Meter::TwoFour => "2/4",
            Meter::ThreeFour => "3/4",
            Meter::FourFour => "4/4",
            Meter::FiveFour => "5/4",
            Meter::SixEight => "6/8",
            Meter::SevenEight => "7/8",
        }
    }

    fn accents(self) -> Vec<Accent> {
        use Accent::{Medium as M, Strong as S, Weak as W};
        match self {
            Meter::TwoFour => vec![S, W],
            Meter::ThreeFour => vec![S, W, W],
            Meter::FourFour => vec![S, W, M, W],
            Meter::FiveFour => vec![S, W, W, M, W],
            Meter::SixEight => vec![S, W, W, M, W, W],
            Meter::SevenEight => vec![S, W, M, W, M, W, W],
        }
    }
}

synth_spec! {
    /// Options of `kind = "synthetic_tempos"`.
    TemposSpec {
        /// Number of clips.
        #[serde(default = "d_tempo_items")]
        n_items: usize,
        /// Inclusive tempo range in beats per minute.
        #[serde(default = "d_tempo_bpm")]
        bpm_range: [f64; 2],
        /// Beat patterns, assigned round-robin.
        #[serde(default = "d_patterns")]
        patterns: Vec<Pattern>,
        /// Clip length in seconds.
        #[serde(default = "d_tempo_clip")]
        clip_s: f64,
    }
}

synth_spec! {
    /// Options of `kind = "synthetic_time_signatures"`.
    TimeSignaturesSpec {
        /// Number of clips.
        #[serde(default = "d_meter_items")]
        n_items: usize,
        /// Meters, assigned round-robin.
        #[serde(default = "d_meters")]
        meters: Vec<Meter>,
        /// Inclusive pulse-rate range in pulses per minute.
        #[serde(default = "d_meter_bpm")]
        bpm_range: [f64; 2],
        /// Clip length in seconds.
        #[serde(default = "d_meter_clip")]
        clip_s: f64,
    }
}

fn check_common(key: &str, n_items: usize, [lo, hi]: [f64; 2], clip_s: f64) -> Result<()> {
    if !(10..=crate::MAX_SYNTHETIC_ITEMS).contains(&n_items) {
        return Err(Error::config(
            format!("{key}.n_items"),
            format!(
                "must be at least 10 and at most {} (got {n_items})",
                crate::MAX_SYNTHETIC_ITEMS
            ),
        ));
    }
    if !(lo.is_finite() && hi.is_finite() && 20.0 <= lo && lo <= hi && hi <= 400.0) {
        return Err(Error::config(
            format!("{key}.bpm_range"),
            format!("must be [low, high] with 20 ≤ low ≤ high ≤ 400 (got [{lo}, {hi}])"),
        ));
    }
    // At least four beats at the slowest tempo.
    let need = LEAD_S + 4.0 * 60.0 / lo + 0.2;
    if !(clip_s.is_finite() && clip_s >= need && clip_s <= 60.0) {
        return Err(Error::config(
            format!("{key}.clip_s"),
            format!(
                "must hold four beats at {lo} bpm: between {need:.2} and 60 seconds (got {clip_s})"
            ),
        ));
    }
    Ok(())
}

fn hit(start_s: f64, drum: Drum, velocity: u8) -> Note {
    Note {
        start_s,
        dur_s: HIT_S,
        key: drum.gm_key(),
        velocity,
        voice: Voice::Drum(drum),
    }
}

impl TemposSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        if self.patterns.is_empty() {
            return Err(Error::config(
                format!("{key}.patterns"),
                "must list at least one pattern",
            ));
        }
        check_common(key, self.n_items, self.bpm_range, self.clip_s)
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let [lo, hi] = self.bpm_range;
        let generated = (0..self.n_items)
            .map(|i| {
                let mut rng = seeding::rng(seed, &["synthetic_tempos", &i.to_string()]);
                let bpm = lo + (hi - lo) * rng.gen::<f64>();
                let beat = 60.0 / bpm;
                let offset = LEAD_S + beat * rng.gen::<f64>();
                let pattern = self.patterns[i % self.patterns.len()];
                let mut notes = Vec::new();
                let mut b = 0usize;
                while offset + b as f64 * beat + HIT_S < self.clip_s {
                    let t = offset + b as f64 * beat;
                    match pattern {
                        Pattern::Click if b % 4 == 0 => notes.push(hit(t, Drum::ClickHigh, 120)),
                        Pattern::Click => notes.push(hit(t, Drum::ClickLow, 100)),
                        Pattern::Drums => {
                            let drum = if b % 2 == 0 { Drum::Kick } else { Drum::Snare };
                            notes.push(hit(t, drum, 110));
                            notes.push(hit(t, Drum::HiHat, 70));
                            if t + beat / 2.0 + HIT_S < self.clip_s {
                                notes.push(hit(t + beat / 2.0, Drum::HiHat, 50));
                            }
                        }
                    }
                    b += 1;
                }
                let mut labels = BTreeMap::new();
                labels.insert("bpm".to_owned(), Label::Number(bpm));
                let name = match pattern {
                    Pattern::Click => "click",
                    Pattern::Drums => "drums",
                };
                labels.insert("pattern".to_owned(), Label::Text(name.into()));
                Generated {
                    id: format!("tempo-{i:05}"),
                    labels,
                    score: Score {
                        length_s: self.clip_s,
                        notes,
                    },
                }
            })
            .collect();
        SyntheticMusic::build(
            "synthetic_tempos",
            &self.common(),
            generated,
            base_dir,
            seed,
        )
    }
}

impl TimeSignaturesSpec {
    /// Range checks naming the key.
    pub fn validate(&self, key: &str) -> Result<()> {
        self.common().validate(key)?;
        if self.meters.is_empty() {
            return Err(Error::config(
                format!("{key}.meters"),
                "must list at least one meter",
            ));
        }
        check_common(key, self.n_items, self.bpm_range, self.clip_s)
    }

    /// Builds the dataset.
    pub fn open(&self, base_dir: &Path, run_seed: u64) -> Result<SyntheticMusic> {
        let seed = self.seed.unwrap_or(run_seed);
        let [lo, hi] = self.bpm_range;
        let generated = (0..self.n_items)
            .map(|i| {
                let mut rng = seeding::rng(seed, &["synthetic_time_signatures", &i.to_string()]);
                let bpm = lo + (hi - lo) * rng.gen::<f64>();
                let pulse = 60.0 / bpm;
                let meter = self.meters[i % self.meters.len()];
                let accents = meter.accents();
                let mut notes = Vec::new();
                let mut p = 0usize;
                while LEAD_S + p as f64 * pulse + HIT_S < self.clip_s {
                    let t = LEAD_S + p as f64 * pulse;
                    notes.push(match accents[p % accents.len()] {
                        Accent::Strong => hit(t, Drum::ClickHigh, 127),
                        Accent::Medium => hit(t, Drum::ClickLow, 115),
                        Accent::Weak => hit(t, Drum::ClickLow, 55),
                    });
                    p += 1;
                }
                let mut labels = BTreeMap::new();
                labels.insert(
                    "time_signature".to_owned(),
                    Label::Text(meter.as_str().into()),
                );
                labels.insert(
                    "beats_per_bar".to_owned(),
                    Label::Number(accents.len() as f64),
                );
                labels.insert("bpm".to_owned(), Label::Number(bpm));
                Generated {
                    id: format!("meter-{i:05}"),
                    labels,
                    score: Score {
                        length_s: self.clip_s,
                        notes,
                    },
                }
            })
            .collect();
        SyntheticMusic::build(
            "synthetic_time_signatures",
            &self.common(),
            generated,
            base_dir,
            seed,
        )
    }
}
