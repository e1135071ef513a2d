//! Perturbation throughput: each perturbation at one mid severity on 60 s
//! of a music-like 22050 Hz signal, on one thread, in × real time (audio
//! seconds per wall-clock second), next to its target.
//!
//! Run: `cargo bench -p repbench-framework --bench perturb`

use rand::Rng as _;
use repbench_framework::perturb::PerturbationSpec;
use repbench_framework::seed;
use std::f64::consts::TAU;
use std::time::Instant;

const SAMPLE_RATE: u32 = 22050;
const SECONDS: f64 = 60.0;
/// Timed repetitions per perturbation; the median is reported.
const RUNS: usize = 3;

/// Three voices of eight decaying harmonics, a new chord every half second,
/// plus a little white noise.
fn music_like() -> Vec<f32> {
    let sr = SAMPLE_RATE as f64;
    let n = (SECONDS * sr) as usize;
    let mut rng = seed::rng(0, &["bench", "perturb"]);
    let notes = [196.0, 220.0, 261.63, 293.66, 329.63, 392.0, 440.0];
    let mut phases = [0.0f64; 3];
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let step = (t * 2.0) as usize;
            let mut v = 0.0;
            for (voice, phase) in phases.iter_mut().enumerate() {
                let f0 = notes[(step * 3 + voice * 2) % notes.len()];
                *phase = (*phase + TAU * f0 / sr) % TAU;
                for h in 1..=8 {
                    v += 0.05 / h as f64 * (*phase * h as f64).sin();
                }
            }
            let envelope = 0.5 + 0.5 * (-(t * 2.0).fract() * 4.0).exp();
            (v * envelope + 0.01 * (rng.gen::<f64>() * 2.0 - 1.0)) as f32
        })
        .collect()
}

fn main() {
    // (label, spec, target × real time)
    let cases: [(&str, &str, f64); 15] = [
        (
            "noise white 20 dB",
            r#"{"kind": "noise", "snr_db": 20}"#,
            100.0,
        ),
        (
            "noise pink 20 dB",
            r#"{"kind": "noise", "snr_db": 20, "color": "pink"}"#,
            100.0,
        ),
        ("gain -6 dB", r#"{"kind": "gain", "gain_db": -6}"#, 100.0),
        (
            "mp3 128 kbps",
            r#"{"kind": "mp3", "bitrate_kbps": 128}"#,
            30.0,
        ),
        (
            "mp3 320 kbps (coded at 32 kHz)",
            r#"{"kind": "mp3", "bitrate_kbps": 320}"#,
            30.0,
        ),
        (
            "lowpass 4 kHz, order 4",
            r#"{"kind": "lowpass", "cutoff_hz": 4000}"#,
            100.0,
        ),
        (
            "highpass 200 Hz, order 4",
            r#"{"kind": "highpass", "cutoff_hz": 200}"#,
            100.0,
        ),
        (
            "bandpass 300-3400 Hz, order 4",
            r#"{"kind": "bandpass", "low_hz": 300, "high_hz": 3400}"#,
            100.0,
        ),
        (
            "reverb RT60 0.8 s, wet 0.5",
            r#"{"kind": "reverb", "rt60_s": 0.8, "wet": 0.5}"#,
            100.0,
        ),
        (
            "pitch_shift +4 st",
            r#"{"kind": "pitch_shift", "semitones": 4}"#,
            20.0,
        ),
        (
            "time_stretch rate 0.8",
            r#"{"kind": "time_stretch", "rate": 0.8}"#,
            20.0,
        ),
        (
            "clipping 99th percentile",
            r#"{"kind": "clipping", "percentile": 99}"#,
            100.0,
        ),
        (
            "bitcrush 8 bits",
            r#"{"kind": "bitcrush", "bits": 8}"#,
            100.0,
        ),
        (
            "resample via 8 kHz",
            r#"{"kind": "resample", "rate_hz": 8000}"#,
            100.0,
        ),
        (
            "chain lowpass 3.4 kHz + mp3 64 kbps",
            r#"{"kind": "chain", "steps": [{"kind": "lowpass", "cutoff_hz": 3400}, {"kind": "mp3", "bitrate_kbps": 64}]}"#,
            30.0,
        ),
    ];
    let audio = music_like();
    println!("60 s of music-like audio at {SAMPLE_RATE} Hz, one thread, median of {RUNS} runs\n");
    println!(
        "{:<36} {:>8} {:>12} {:>8}",
        "perturbation", "wall s", "× real time", "target"
    );
    let mut misses = 0;
    for (label, json, target) in cases {
        let spec: PerturbationSpec = serde_json::from_str(json).expect("bench specs are valid");
        spec.validate("bench").expect("bench specs are valid");
        let (_, p) = spec.expand().into_iter().next().expect("one severity");
        let mut rng = seed::rng(0, &["bench", spec.kind()]);
        // One untimed run warms caches and FFT plans' allocations.
        p.apply(&audio, SAMPLE_RATE, &mut rng)
            .expect("perturbation runs");
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let out = p
                    .apply(&audio, SAMPLE_RATE, &mut rng)
                    .expect("perturbation runs");
                std::hint::black_box(out);
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let wall = times[RUNS / 2];
        let speed = SECONDS / wall;
        let ok = speed >= target;
        misses += usize::from(!ok);
        println!(
            "{:<36} {:>8.3} {:>11.0}× {:>7.0}×  {}",
            label,
            wall,
            speed,
            target,
            if ok { "ok" } else { "MISSES TARGET" }
        );
    }
    println!("\n{misses} below target");
}
