//! Rendered audio carries its factors: f0 of notes, pitch classes of
//! chords, tempo of click tracks; rendering is deterministic.

use super::pitched::{chord_keys, ChordsSpec, IntervalsSpec, NotesSpec, Quality, ScalesSpec};
use super::rhythm::{TemposSpec, TimeSignaturesSpec};
use super::score::midi_hz;
use super::soundfont::{SoundFontFile, DEBIAN_SOUNDFONT};
use repbench_framework::dataset::{Dataset, Label, Split};
use std::path::Path;

const SR: u32 = 16000;

fn spec<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn number(item: &repbench_framework::dataset::Item, label: &str) -> f64 {
    match item.labels[label] {
        Label::Number(x) => x,
        _ => panic!("{label} is not a number"),
    }
}

/// YIN (de Cheveigné & Kawahara 2002): first dip of the cumulative-mean
/// normalised difference below 0.15, refined by a parabola.
fn yin_f0(x: &[f32], sr: u32, fmin: f64, fmax: f64) -> f64 {
    let w = 2048;
    let (tau_min, tau_max) = ((sr as f64 / fmax) as usize, (sr as f64 / fmin) as usize);
    let d: Vec<f64> = (0..=tau_max)
        .map(|tau| {
            (0..w)
                .map(|j| (x[j] - x[j + tau]) as f64)
                .map(|v| v * v)
                .sum()
        })
        .collect();
    let mut cmnd = vec![1.0; tau_max + 1];
    let mut running = 0.0;
    for tau in 1..=tau_max {
        running += d[tau];
        cmnd[tau] = d[tau] * tau as f64 / running.max(1e-12);
    }
    let mut tau = tau_min.max(2);
    while tau < tau_max - 1 {
        if cmnd[tau] < 0.15 {
            while tau + 1 < tau_max && cmnd[tau + 1] < cmnd[tau] {
                tau += 1;
            }
            let (a, b, c) = (cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]);
            let shift = 0.5 * (a - c) / (a - 2.0 * b + c);
            return sr as f64 / (tau as f64 + shift);
        }
        tau += 1;
    }
    panic!("no pitch found");
}

/// Hann-windowed DFT magnitude of `x` at `hz`.
fn magnitude(x: &[f32], sr: u32, hz: f64) -> f64 {
    let n = x.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos();
        let phase = 2.0 * std::f64::consts::PI * hz * i as f64 / sr as f64;
        re += w * v as f64 * phase.cos();
        im -= w * v as f64 * phase.sin();
    }
    re.hypot(im)
}

/// Onset times (s): where a 2 ms-hop peak envelope first rises above a
/// quarter of its maximum.
fn onsets(x: &[f32], sr: u32) -> Vec<f64> {
    let hop = (sr / 500) as usize;
    let env: Vec<f32> = x
        .chunks(hop)
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .collect();
    let max = env.iter().cloned().fold(0.0f32, f32::max);
    let mut out = Vec::new();
    let mut above = false;
    for (i, &e) in env.iter().enumerate() {
        if e > 0.25 * max && !above {
            out.push((i * hop) as f64 / sr as f64);
        }
        // Hysteresis: re-arm only once the click has died away.
        above = if above {
            e > 0.05 * max
        } else {
            e > 0.25 * max
        };
    }
    out
}

/// Least-squares slope of onset time against onset index.
fn period(times: &[f64]) -> f64 {
    let n = times.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = times.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, t) in times.iter().enumerate() {
        sxy += (i as f64 - mx) * (t - my);
        sxx += (i as f64 - mx).powi(2);
    }
    sxy / sxx
}

fn notes_spec(renderer: &str, instruments: &[&str]) -> NotesSpec {
    spec(serde_json::json!({
        "name": "notes", "renderer": renderer, "instruments": instruments,
        "pitch_range": [40, 84], "velocities": [100], "durations_s": [1.0], "n_items": 12
    }))
}

#[test]
fn builtin_notes_have_the_pitch_of_their_label() {
    let s = notes_spec(
        "builtin",
        &[
            "piano", "guitar", "organ", "strings", "flute", "clarinet", "trumpet",
        ],
    );
    s.validate("d").unwrap();
    let ds = s.open(Path::new("."), 3).unwrap();
    assert_eq!(ds.items().len(), 12);
    for item in ds.items() {
        let x = ds.load(item, SR).unwrap();
        assert_eq!(x.len(), 24000);
        let f0 = midi_hz(number(item, "pitch"));
        let est = yin_f0(&x[4800..], SR, 60.0, 1500.0);
        assert!(
            (est / f0 - 1.0).abs() < 0.01,
            "{}: {est} Hz vs {f0} Hz",
            item.id
        );
    }
}

#[test]
fn soundfont_notes_have_the_pitch_of_their_label_when_installed() {
    if !Path::new(DEBIAN_SOUNDFONT).exists() {
        eprintln!("note: {DEBIAN_SOUNDFONT} not installed (apt-get install fluid-soundfont-gm); SoundFont pitch test skipped");
        return;
    }
    let s = notes_spec(
        "soundfont",
        &["organ", "flute", "strings", "trumpet", "clarinet"],
    );
    let ds = s.open(Path::new("."), 5).unwrap();
    assert!(matches!(ds.renderer(), super::Renderer::SoundFont(_)));
    for item in ds.items() {
        let x = ds.load(item, SR).unwrap();
        let f0 = midi_hz(number(item, "pitch"));
        let est = yin_f0(&x[6400..], SR, 60.0, 1500.0);
        assert!(
            (est / f0 - 1.0).abs() < 0.01,
            "{} ({:?}): {est} Hz vs {f0} Hz",
            item.id,
            item.labels["instrument"]
        );
    }
    let builtin = notes_spec(
        "builtin",
        &["organ", "flute", "strings", "trumpet", "clarinet"],
    )
    .open(Path::new("."), 5)
    .unwrap();
    assert_ne!(
        ds.items()[0].content_key,
        builtin.items()[0].content_key,
        "the renderer must be part of the content key"
    );
}

#[test]
fn chords_sound_exactly_their_pitch_classes() {
    let s: ChordsSpec = spec(serde_json::json!({
        "name": "chords", "renderer": "builtin", "instruments": ["organ", "piano"],
        "qualities": ["major", "minor", "diminished", "augmented", "sus4"], "n_items": 24
    }));
    s.validate("d").unwrap();
    let ds = s.open(Path::new("."), 11).unwrap();
    for item in ds.items() {
        let x = ds.load(item, SR).unwrap();
        let steady = &x[3200..14400];
        let score = ds.score(&item.id).unwrap();
        let mut keys: Vec<u8> = score.notes.iter().map(|n| n.key).collect();
        keys.sort_unstable();
        let (lo, hi) = (keys[0], keys[2]);
        // Within the chord's span only fundamentals can peak (the lowest
        // note's first overtone is an octave up, beyond the top note).
        let mags: Vec<(u8, f64)> = (lo - 2..=hi + 2)
            .filter(|m| *m < lo + 12)
            .map(|m| (m, magnitude(steady, SR, midi_hz(f64::from(m)))))
            .collect();
        let max = mags.iter().map(|m| m.1).fold(0.0, f64::max);
        let found: Vec<u8> = mags
            .iter()
            .filter(|m| m.1 > 0.2 * max)
            .map(|m| m.0)
            .collect();
        assert_eq!(found, keys, "{}: {:?}", item.id, item.labels);
        let pcs: std::collections::BTreeSet<u8> = found.iter().map(|k| k % 12).collect();
        let root = item.labels["root"].class_name();
        let root_pc = super::score::PITCH_CLASSES
            .iter()
            .position(|p| *p == root)
            .unwrap() as u8;
        let quality = match item.labels["quality"].class_name().as_str() {
            "major" => Quality::Major,
            "minor" => Quality::Minor,
            "diminished" => Quality::Diminished,
            "augmented" => Quality::Augmented,
            _ => Quality::Sus4,
        };
        let want: std::collections::BTreeSet<u8> = chord_keys(root_pc + 48, quality, 0)
            .iter()
            .map(|k| k % 12)
            .collect();
        assert_eq!(pcs, want, "{}", item.id);
    }
    assert_eq!(chord_keys(60, Quality::Major, 1), vec![64, 67, 72]);
    assert_eq!(chord_keys(60, Quality::Minor, 2), vec![67, 72, 75]);
}

#[test]
fn click_tracks_have_the_tempo_of_their_label() {
    let s: TemposSpec =
        spec(serde_json::json!({"name": "t", "renderer": "builtin", "n_items": 12}));
    s.validate("d").unwrap();
    let ds = s.open(Path::new("."), 2).unwrap();
    for item in ds.items() {
        let x = ds.load(item, SR).unwrap();
        let times = onsets(&x, SR);
        let bpm = 60.0 / period(&times);
        let want = number(item, "bpm");
        assert!(times.len() >= 5, "{}: {} onsets", item.id, times.len());
        assert!(
            (bpm / want - 1.0).abs() < 0.01,
            "{}: {bpm} vs {want}",
            item.id
        );
    }
    if Path::new(DEBIAN_SOUNDFONT).exists() {
        let sf: TemposSpec =
            spec(serde_json::json!({"name": "t", "renderer": "soundfont", "n_items": 10}));
        let ds = sf.open(Path::new("."), 2).unwrap();
        for item in ds.items() {
            let x = ds.load(item, SR).unwrap();
            let bpm = 60.0 / period(&onsets(&x, SR));
            let want = number(item, "bpm");
            assert!(
                (bpm / want - 1.0).abs() < 0.01,
                "SoundFont {}: {bpm} vs {want}",
                item.id
            );
        }
    } else {
        eprintln!("note: {DEBIAN_SOUNDFONT} not installed; SoundFont tempo check skipped");
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_factors() {
    let tempos = |seed: u64| {
        let s: TemposSpec = spec(
            serde_json::json!({"name": "t", "renderer": "builtin", "n_items": 10, "patterns": ["click", "drums"]}),
        );
        s.open(Path::new("."), seed).unwrap()
    };
    let (a, b, c) = (tempos(1), tempos(1), tempos(2));
    assert_eq!(a.items(), b.items());
    assert_ne!(a.items(), c.items());
    for i in [0, 1] {
        let xa = a.load(&a.items()[i], SR).unwrap();
        let xb = b.load(&b.items()[i], SR).unwrap();
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&xa), bits(&xb));
        assert!(xa.iter().any(|v| *v != 0.0));
    }
    let scales: ScalesSpec =
        spec(serde_json::json!({"name": "s", "renderer": "builtin", "n_items": 10}));
    let (s1, s2) = (
        scales.open(Path::new("."), 4).unwrap(),
        scales.open(Path::new("."), 4).unwrap(),
    );
    assert_eq!(
        s1.load(&s1.items()[3], 22050).unwrap(),
        s2.load(&s2.items()[3], 22050).unwrap()
    );
}

#[test]
fn grids_labels_splits_and_keys() {
    let full: IntervalsSpec = spec(
        serde_json::json!({"name": "i", "renderer": "builtin", "root_range": [60, 64], "intervals": [3, 4, 7], "instruments": ["piano", "flute"]}),
    );
    full.validate("d").unwrap();
    let ds = full.open(Path::new("."), 0).unwrap();
    assert_eq!(ds.items().len(), 5 * 3 * 2 * 2);
    let count = |s: Split| ds.items().iter().filter(|i| i.split == s).count();
    assert_eq!(
        (count(Split::Train), count(Split::Valid), count(Split::Test)),
        (36, 12, 12)
    );
    let keys: std::collections::HashSet<&str> =
        ds.items().iter().map(|i| i.content_key.as_str()).collect();
    assert_eq!(
        keys.len(),
        ds.items().len(),
        "distinct recipes must have distinct content keys"
    );
    let m3 = ds
        .items()
        .iter()
        .find(|i| i.labels["interval"] == Label::Number(3.0))
        .unwrap();
    assert_eq!(m3.labels["interval_name"], Label::Text("m3".into()));

    let meters: TimeSignaturesSpec = spec(
        serde_json::json!({"name": "m", "renderer": "builtin", "n_items": 30, "split": {"method": "stratified", "by": "time_signature"}}),
    );
    meters.validate("d").unwrap();
    let ds = meters.open(Path::new("."), 0).unwrap();
    let x = ds.load(&ds.items()[2], SR).unwrap(); // 4/4
    assert_eq!(
        ds.items()[2].labels["time_signature"],
        Label::Text("4/4".into())
    );
    assert!(onsets(&x, SR).len() >= 4);

    let bad: NotesSpec = spec(serde_json::json!({"name": "n", "velocities": [0]}));
    assert!(bad
        .validate("datasets[2]")
        .unwrap_err()
        .to_string()
        .contains("datasets[2].velocities"));
    let both: NotesSpec =
        spec(serde_json::json!({"name": "n", "renderer": "builtin", "soundfont": "x.sf2"}));
    assert!(both
        .validate("d")
        .unwrap_err()
        .to_string()
        .contains("d.soundfont"));
    let too_many: NotesSpec = spec(
        serde_json::json!({"name": "n", "renderer": "builtin", "pitch_range": [60, 61], "instruments": ["piano"], "n_items": 50}),
    );
    assert!(too_many.open(Path::new("."), 0).is_err());
    assert!(serde_json::from_value::<NotesSpec>(
        serde_json::json!({"name": "n", "instrument": ["piano"]})
    )
    .is_err());
}

#[test]
fn soundfont_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.sf2");
    std::fs::write(&fake, b"RIFF\0\0\0\0WAVEfmt ").unwrap();
    let err = SoundFontFile::open(&fake).err().unwrap().to_string();
    assert!(err.contains("fake.sf2") && err.contains("SF2"), "{err}");
    let missing: NotesSpec = spec(serde_json::json!({"name": "n", "soundfont": "nope.sf2"}));
    let err = missing.open(dir.path(), 0).err().unwrap().to_string();
    assert!(err.contains("nope.sf2"), "{err}");
}

#[test]
fn content_keys_follow_the_audio_not_the_seed() {
    let chords = |seed: u64| {
        let s: ChordsSpec =
            spec(serde_json::json!({"name": "c", "renderer": "builtin", "instruments": ["organ"]}));
        s.open(Path::new("."), seed).unwrap()
    };
    // Full grid: same scores for any seed, so same keys; splits differ.
    let (a, b) = (chords(1), chords(2));
    let keys = |d: &super::SyntheticMusic| {
        d.items()
            .iter()
            .map(|i| i.content_key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&a), keys(&b));
    assert_ne!(
        a.items().iter().map(|i| i.split).collect::<Vec<_>>(),
        b.items().iter().map(|i| i.split).collect::<Vec<_>>()
    );
    // Drums draw seeded noise: a different seed is different audio.
    let drums = |seed: u64| {
        let s: TemposSpec = spec(
            serde_json::json!({"name": "t", "renderer": "builtin", "n_items": 10, "patterns": ["drums"], "bpm_range": [100.0, 100.0]}),
        );
        s.open(Path::new("."), seed).unwrap()
    };
    let (x, y) = (drums(1), drums(2));
    assert_ne!(x.items()[0].content_key, y.items()[0].content_key);
}
