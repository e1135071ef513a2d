//! The built-in synthesiser: additive harmonic tones with instrument-like
//! spectra and envelopes, and simple synthetic drums. Pure Rust, no files,
//! sample-accurate onsets, so every machine renders the same audio.

use super::score::{midi_hz, Drum, Instrument, Note, Score, Voice};
use rand::Rng as _;
use repbench_framework::seed;
use std::f64::consts::PI;

/// Partials above this are not rendered, so content does not depend on
/// the sample rate for rates of 17.8 kHz and more (as in `tones.rs`).
const MAX_PARTIAL_HZ: f64 = 8000.0;
/// Peak level of a full-velocity pitched note.
const NOTE_LEVEL: f64 = 0.3;

/// Envelope and spectrum of a pitched instrument.
struct Profile {
    attack_s: f64,
    /// Exponential decay time of the fundamental; `None` = sustained.
    decay_s: Option<f64>,
    release_s: f64,
    /// Stiff-string inharmonicity coefficient B (partial k at k·f0·√(1+B k²)).
    inharmonicity: f64,
}

fn profile(inst: Instrument) -> Profile {
    let (attack_s, decay_s, release_s, inharmonicity) = match inst {
        Instrument::Piano => (0.005, Some(1.2), 0.12, 2e-4),
        Instrument::Guitar => (0.003, Some(0.7), 0.08, 5e-5),
        Instrument::Organ => (0.015, None, 0.06, 0.0),
        Instrument::Strings => (0.08, None, 0.15, 0.0),
        Instrument::Flute => (0.06, None, 0.08, 0.0),
        Instrument::Clarinet => (0.03, None, 0.06, 0.0),
        Instrument::Trumpet => (0.025, None, 0.06, 0.0),
    };
    Profile {
        attack_s,
        decay_s,
        release_s,
        inharmonicity,
    }
}

/// Relative amplitude of harmonic `k` (1-based).
fn harmonic(inst: Instrument, k: usize) -> f64 {
    let kf = k as f64;
    match inst {
        Instrument::Piano => kf.powf(-1.5),
        // Plucked a fifth of the way along the string: every 5th harmonic
        // is missing.
        Instrument::Guitar => (PI * kf * 0.2).sin().abs() * kf.powf(-1.3),
        Instrument::Organ => match k {
            1 => 1.0,
            2 => 0.7,
            3 => 0.5,
            4 => 0.4,
            6 => 0.3,
            8 => 0.2,
            _ => 0.0,
        },
        Instrument::Strings => 1.0 / kf,
        Instrument::Flute => match k {
            1 => 1.0,
            2 => 0.35,
            3 => 0.12,
            4 => 0.05,
            _ => 0.0,
        },
        Instrument::Clarinet => {
            if k % 2 == 1 {
                1.0 / kf
            } else {
                0.05 / kf
            }
        }
        Instrument::Trumpet => kf * (-kf / 2.5).exp(),
    }
}

fn velocity_gain(velocity: u8) -> f64 {
    (f64::from(velocity.clamp(1, 127)) / 127.0).powi(2)
}

/// Renders `score` at `sample_rate` (mono). `noise_seed` seeds the drums'
/// noise, so the same score and seed give the same samples.
pub fn render(score: &Score, sample_rate: u32, noise_seed: u64) -> Vec<f32> {
    let sr = f64::from(sample_rate);
    let n = (score.length_s * sr).round() as usize;
    let mut out = vec![0.0f64; n];
    for (index, note) in score.notes.iter().enumerate() {
        let start = (note.start_s * sr).round() as usize;
        if start >= n {
            continue;
        }
        match note.voice {
            Voice::Pitched(inst) => pitched(note, inst, sr, &mut out[start..]),
            Voice::Drum(drum) => {
                let mut rng = seed::rng(noise_seed, &["builtin-drum", &index.to_string()]);
                let mut noise = move || rng.gen::<f64>() * 2.0 - 1.0;
                drum_hit(
                    drum,
                    velocity_gain(note.velocity),
                    sr,
                    &mut noise,
                    &mut out[start..],
                );
            }
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

fn pitched(note: &Note, inst: Instrument, sr: f64, out: &mut [f64]) {
    let p = profile(inst);
    let f0 = midi_hz(f64::from(note.key));
    let top = MAX_PARTIAL_HZ.min(0.45 * sr);
    let partials: Vec<(f64, f64, Option<f64>)> = (1..)
        .map(|k: usize| {
            let kf = k as f64;
            (k, kf * f0 * (1.0 + p.inharmonicity * kf * kf).sqrt())
        })
        .take_while(|&(_, hz)| hz < top)
        .map(|(k, hz)| {
            // Upper partials of decaying instruments die away faster.
            let decay = p.decay_s.map(|d| d / (k as f64).sqrt());
            (hz, harmonic(inst, k), decay)
        })
        .filter(|&(_, a, _)| a > 0.0)
        .collect();
    let total: f64 = partials.iter().map(|&(_, a, _)| a).sum();
    if total <= 0.0 {
        return;
    }
    let gain = NOTE_LEVEL * velocity_gain(note.velocity) / total;
    let len = ((note.dur_s + p.release_s) * sr).round() as usize;
    for (i, sample) in out.iter_mut().take(len).enumerate() {
        let t = i as f64 / sr;
        let attack = (t / p.attack_s).min(1.0);
        let release = if t > note.dur_s {
            (1.0 - (t - note.dur_s) / p.release_s).max(0.0)
        } else {
            1.0
        };
        let env = gain * attack * release;
        if env == 0.0 {
            continue;
        }
        let mut v = 0.0;
        for &(hz, a, decay) in &partials {
            let d = decay.map_or(1.0, |tau| (-t / tau).exp());
            v += a * d * (2.0 * PI * hz * t).sin();
        }
        *sample += env * v;
    }
}

fn drum_hit(drum: Drum, gain: f64, sr: f64, noise: &mut dyn FnMut() -> f64, out: &mut [f64]) {
    let (length_s, level) = match drum {
        Drum::Kick => (0.4, 0.8),
        Drum::Snare => (0.3, 0.5),
        Drum::HiHat => (0.15, 0.3),
        Drum::ClickHigh | Drum::ClickLow => (0.06, 0.6),
    };
    let len = (length_s * sr).round() as usize;
    let mut phase = 0.0f64;
    let mut previous_noise = 0.0f64;
    for (i, sample) in out.iter_mut().take(len).enumerate() {
        let t = i as f64 / sr;
        let v = match drum {
            Drum::Kick => {
                // A falling pitch sweep, 150 Hz down to 50 Hz.
                let hz = 50.0 + 100.0 * (-t / 0.03).exp();
                phase += 2.0 * PI * hz / sr;
                phase.sin() * (-t / 0.15).exp()
            }
            Drum::Snare => {
                0.6 * noise() * (-t / 0.08).exp()
                    + 0.5 * (2.0 * PI * 190.0 * t).sin() * (-t / 0.1).exp()
            }
            Drum::HiHat => {
                // First difference: a crude high-pass that keeps the hiss.
                let x = noise();
                let hp = x - previous_noise;
                previous_noise = x;
                0.5 * hp * (-t / 0.03).exp()
            }
            Drum::ClickHigh => (2.0 * PI * 2000.0 * t).sin() * (-t / 0.01).exp(),
            Drum::ClickLow => (2.0 * PI * 1000.0 * t).sin() * (-t / 0.01).exp(),
        };
        *sample += gain * level * v;
    }
}
