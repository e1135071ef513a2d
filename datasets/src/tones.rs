//! `synthetic_tones`: harmonic tones with exactly known factors.
//!
//! Item `i` gets timbre `timbres[i % len]` (balanced), a MIDI pitch drawn
//! uniformly from `pitch_range` and a peak level drawn uniformly from
//! `loudness_db`, all from a stream seeded by `(seed, i)`. Factors stored
//! with each item: `pitch` (MIDI number), `pitch_class` (`C` … `B`),
//! `timbre`, `loudness_db` (peak dBFS).

use crate::split::SplitFractions;
use rand::Rng as _;
use repbench_framework::dataset::{Dataset, Item, Label};
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Bumped whenever rendering changes, so cached embeddings are not reused.
const RENDER_VERSION: u32 = 1;
/// Harmonics above this frequency are not rendered, so an item's content does
/// not depend on the sample rate it is rendered at (for rates ≥ 17.8 kHz).
const MAX_HARMONIC_HZ: f64 = 8000.0;
const ATTACK_S: f64 = 0.01;
const RELEASE_S: f64 = 0.05;
const DECAY_TAU_S: f64 = 1.5;
const PITCH_CLASSES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Harmonic amplitude profile of a tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timbre {
    /// Fundamental only.
    Sine,
    /// All harmonics at `1/k`.
    Sawtooth,
    /// Odd harmonics at `1/k`.
    Square,
    /// Harmonics weighted by a resonance near 1.5 kHz (vowel-like).
    Formant,
}

impl Timbre {
    fn as_str(self) -> &'static str {
        match self {
            Timbre::Sine => "sine",
            Timbre::Sawtooth => "sawtooth",
            Timbre::Square => "square",
            Timbre::Formant => "formant",
        }
    }

    /// Amplitude of harmonic `k` (1-based) at frequency `hz`.
    fn amplitude(self, k: usize, hz: f64) -> f64 {
        match self {
            Timbre::Sine => f64::from(k == 1),
            Timbre::Sawtooth => 1.0 / k as f64,
            Timbre::Square => {
                if k % 2 == 1 {
                    1.0 / k as f64
                } else {
                    0.0
                }
            }
            Timbre::Formant => 0.15 / k as f64 + (-((hz - 1500.0) / 400.0).powi(2)).exp(),
        }
    }
}

fn d_n_items() -> usize {
    360
}
fn d_duration() -> f64 {
    1.0
}
fn d_pitch_range() -> [u8; 2] {
    [48, 83]
}
fn d_timbres() -> Vec<Timbre> {
    vec![
        Timbre::Sine,
        Timbre::Sawtooth,
        Timbre::Square,
        Timbre::Formant,
    ]
}
fn d_loudness() -> [f64; 2] {
    [-30.0, -6.0]
}

/// Options of `kind = "synthetic_tones"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TonesSpec {
    /// Name used in results.
    pub name: String,
    /// Number of tones.
    #[serde(default = "d_n_items")]
    pub n_items: usize,
    /// Length of each tone in seconds.
    #[serde(default = "d_duration")]
    pub duration_s: f64,
    /// Inclusive MIDI pitch range.
    #[serde(default = "d_pitch_range")]
    pub pitch_range: [u8; 2],
    /// Timbres, assigned round-robin.
    #[serde(default = "d_timbres")]
    pub timbres: Vec<Timbre>,
    /// Inclusive range of peak levels in dBFS.
    #[serde(default = "d_loudness")]
    pub loudness_db: [f64; 2],
    /// Seed of the factor draws (default: the run's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Split fractions.
    #[serde(default)]
    pub split: SplitFractions,
}

impl TonesSpec {
    /// Range checks with the offending key in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        let bad =
            |field: &str, reason: String| Err(Error::config(format!("{key}.{field}"), reason));
        if !(10..=crate::MAX_SYNTHETIC_ITEMS).contains(&self.n_items) {
            return bad(
                "n_items",
                format!(
                    "must be at least 10 and at most {} (got {})",
                    crate::MAX_SYNTHETIC_ITEMS,
                    self.n_items
                ),
            );
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.05 && self.duration_s <= 60.0) {
            return bad(
                "duration_s",
                format!("must be in (0.05, 60] seconds (got {})", self.duration_s),
            );
        }
        let [lo, hi] = self.pitch_range;
        if lo > hi || hi > 108 {
            return bad(
                "pitch_range",
                format!("must be [low, high] with low ≤ high ≤ 108 (got [{lo}, {hi}])"),
            );
        }
        if self.timbres.is_empty() {
            return bad("timbres", "must name at least one timbre".into());
        }
        let [a, b] = self.loudness_db;
        if !(a.is_finite() && b.is_finite() && a <= b && b <= 0.0) {
            return bad(
                "loudness_db",
                format!("must be [low, high] dBFS with low ≤ high ≤ 0 (got [{a}, {b}])"),
            );
        }
        self.split.validate(&format!("{key}.split"))
    }
}

/// Everything needed to render one tone.
#[derive(Debug, Clone, Serialize)]
struct Recipe {
    version: u32,
    midi: u8,
    timbre: Timbre,
    loudness_db: f64,
    duration_s: f64,
    phase_seed: u64,
}

impl Recipe {
    fn f0(&self) -> f64 {
        440.0 * 2f64.powf((self.midi as f64 - 69.0) / 12.0)
    }

    fn render(&self, sample_rate: u32) -> Vec<f32> {
        let sr = sample_rate as f64;
        let n = (self.duration_s * sr).round() as usize;
        let f0 = self.f0();
        let top = MAX_HARMONIC_HZ.min(0.45 * sr);
        let mut phase_rng = seed::rng(self.phase_seed, &["phase"]);
        let partials: Vec<(f64, f64, f64)> = (1..)
            .map(|k| (k, k as f64 * f0))
            .take_while(|&(_, hz)| hz < top)
            .map(|(k, hz)| {
                (
                    hz,
                    self.timbre.amplitude(k, hz),
                    phase_rng.gen::<f64>() * 2.0 * PI,
                )
            })
            .filter(|&(_, a, _)| a > 0.0)
            .collect();
        let mut out: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / sr;
                partials
                    .iter()
                    .map(|&(hz, a, ph)| a * (2.0 * PI * hz * t + ph).sin())
                    .sum::<f64>()
                    * envelope(t, self.duration_s)
            })
            .collect();
        let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let gain = if peak > 0.0 {
            10f64.powf(self.loudness_db / 20.0) / peak
        } else {
            0.0
        };
        out.iter_mut().for_each(|v| *v *= gain);
        out.into_iter().map(|v| v as f32).collect()
    }
}

fn envelope(t: f64, duration: f64) -> f64 {
    let attack = (t / ATTACK_S).min(1.0);
    let release = ((duration - t) / RELEASE_S).clamp(0.0, 1.0);
    attack * release * (-t / DECAY_TAU_S).exp()
}

/// The dataset.
pub struct SyntheticTones {
    name: String,
    items: Vec<Item>,
    recipes: Vec<Recipe>,
}

impl SyntheticTones {
    /// Draws every item's factors and split; audio is rendered on `load`.
    pub fn new(spec: TonesSpec, run_seed: u64) -> Self {
        let seed_value = spec.seed.unwrap_or(run_seed);
        let splits = spec
            .split
            .assign(spec.n_items, seed_value, &["synthetic_tones", "split"]);
        let mut items = Vec::with_capacity(spec.n_items);
        let mut recipes = Vec::with_capacity(spec.n_items);
        for (i, split) in splits.into_iter().enumerate() {
            let mut rng = seed::rng(seed_value, &["synthetic_tones", &i.to_string()]);
            let [lo, hi] = spec.pitch_range;
            let [db_lo, db_hi] = spec.loudness_db;
            let recipe = Recipe {
                version: RENDER_VERSION,
                midi: rng.gen_range(lo..=hi),
                timbre: spec.timbres[i % spec.timbres.len()],
                loudness_db: db_lo + (db_hi - db_lo) * rng.gen::<f64>(),
                duration_s: spec.duration_s,
                phase_seed: rng.gen(),
            };
            let recipe_json = serde_json::to_string(&recipe).expect("recipes serialise");
            let mut labels = BTreeMap::new();
            labels.insert("pitch".into(), Label::Number(recipe.midi as f64));
            labels.insert(
                "pitch_class".into(),
                Label::Text(PITCH_CLASSES[recipe.midi as usize % 12].into()),
            );
            labels.insert("timbre".into(), Label::Text(recipe.timbre.as_str().into()));
            labels.insert("loudness_db".into(), Label::Number(recipe.loudness_db));
            items.push(Item {
                id: format!("tone-{i:05}"),
                split,
                labels,
                content_key: blake3::hash(format!("synthetic_tones:{recipe_json}").as_bytes())
                    .to_hex()
                    .to_string(),
                source: format!("synthetic tone {recipe_json}"),
            });
            recipes.push(recipe);
        }
        SyntheticTones {
            name: spec.name,
            items,
            recipes,
        }
    }
}

impl Dataset for SyntheticTones {
    fn name(&self) -> &str {
        &self.name
    }
    fn items(&self) -> &[Item] {
        &self.items
    }
    fn load(&self, item: &Item, sample_rate: u32) -> Result<Vec<f32>> {
        let index = self
            .items
            .iter()
            .position(|i| i.id == item.id)
            .ok_or_else(|| {
                Error::Other(format!(
                    "item \"{}\" is not in dataset \"{}\"",
                    item.id, self.name
                ))
            })?;
        Ok(self.recipes[index].render(sample_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> TonesSpec {
        serde_json::from_value(serde_json::json!({"name": "t", "n_items": n})).unwrap()
    }

    #[test]
    fn same_seed_same_audio_and_factors_other_seed_differs() {
        let a = SyntheticTones::new(spec(20), 1);
        let b = SyntheticTones::new(spec(20), 1);
        let c = SyntheticTones::new(spec(20), 2);
        assert_eq!(a.items(), b.items());
        assert_ne!(a.items(), c.items());
        let x = a.load(&a.items()[3], 16000).unwrap();
        assert_eq!(x, b.load(&b.items()[3], 16000).unwrap());
        assert_eq!(x.len(), 16000);
    }

    #[test]
    fn peak_level_matches_the_loudness_factor() {
        let ds = SyntheticTones::new(spec(12), 5);
        for item in ds.items() {
            let x = ds.load(item, 22050).unwrap();
            let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
            let Label::Number(db) = item.labels["loudness_db"] else {
                panic!()
            };
            assert!((20.0 * peak.log10() - db).abs() < 1e-3);
        }
    }

    #[test]
    fn rendered_pitch_matches_the_pitch_factor() {
        // Zero crossings of the fundamental-only timbre give f0 directly.
        let mut s = spec(12);
        s.timbres = vec![Timbre::Sine];
        let ds = SyntheticTones::new(s, 9);
        for item in ds.items() {
            let x = ds.load(item, 16000).unwrap();
            let crossings: Vec<f64> = (1600..14400)
                .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
                .map(|i| (i - 1) as f64 + (x[i - 1] / (x[i - 1] - x[i])) as f64)
                .collect();
            let span = crossings.last().unwrap() - crossings[0];
            let f_est = (crossings.len() - 1) as f64 * 16000.0 / span;
            let Label::Number(midi) = item.labels["pitch"] else {
                panic!()
            };
            let f0 = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
            assert!((f_est / f0 - 1.0).abs() < 0.01, "{f_est} vs {f0}");
        }
    }

    #[test]
    fn validation_names_the_key() {
        let mut s = spec(20);
        s.pitch_range = [90, 40];
        let err = s.validate("datasets[0]").unwrap_err().to_string();
        assert!(err.contains("datasets[0].pitch_range"), "{err}");
    }

    /// `n_items = 1000000000` once made `validate` allocate 104 GB.
    #[test]
    fn n_items_is_bounded_before_anything_is_allocated() {
        let err = spec(1_000_000_000)
            .validate("datasets[0]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("datasets[0].n_items") && err.contains("at most 100000"),
            "{err}"
        );
        spec(crate::MAX_SYNTHETIC_ITEMS)
            .validate("datasets[0]")
            .unwrap();
    }
}
