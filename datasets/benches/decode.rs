//! Decode + resample throughput: every audio file in `$REPBENCH_BENCH_DIR`
//! (grouped by extension) is decoded, mixed to mono and resampled to 16 kHz
//! with `repbench_framework::audio::load_mono`, items in parallel (rayon),
//! each item's audio dropped as soon as it is measured so memory stays at
//! one item per thread. `bench/decode.sh` makes the files and runs librosa
//! on the same ones. Then, for WAV and MP3, the whole feature pipeline: decode,
//! resample, the `logmel_stats` encoder (64 mels, n_fft 512, hop 160) and
//! mean/std pooling, with the time split into its stages.

use rayon::prelude::*;
use repbench_framework::audio::{decode_file, load_mono};
use repbench_framework::encoder::logmel::{LogMelStats, MelSpec};
use repbench_framework::encoder::Encoder;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

const TARGET_RATE: u32 = 16_000;

/// CPU seconds (user + system, all threads) this process has used, from
/// `/proc/self/stat`: wall time on a shared 2-core machine depends on what
/// else runs, CPU time much less. `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, in clock ticks (100 per second on
    // Linux for every architecture repbench targets).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    let Ok(dir) = std::env::var("REPBENCH_BENCH_DIR") else {
        eprintln!("set REPBENCH_BENCH_DIR to a folder of audio files (bench/decode.sh does)");
        std::process::exit(2);
    };
    let mut by_ext: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("readable bench folder") {
        let path = entry.expect("readable entry").path();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            by_ext.entry(ext.to_owned()).or_default().push(path);
        }
    }
    for (ext, mut paths) in by_ext {
        paths.sort();
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let samples: usize = paths
            .par_iter()
            .map(|p| match load_mono(p, TARGET_RATE) {
                Ok(x) => x.len(),
                Err(e) => panic!("{e}"),
            })
            .sum();
        let secs = start.elapsed().as_secs_f64();
        let cpu = match (cpu_start, cpu_seconds()) {
            (Some(a), Some(b)) => format!("{:.2}", b - a),
            _ => "n/a".into(),
        };
        let audio_s = samples as f64 / f64::from(TARGET_RATE);
        // Decoding alone, to show how the time splits between the decoder
        // and the resampler.
        let start = Instant::now();
        let decoded: usize = paths
            .par_iter()
            .map(|p| match decode_file(p) {
                Ok(a) => a.samples.len(),
                Err(e) => panic!("{e}"),
            })
            .sum();
        let decode_secs = start.elapsed().as_secs_f64();
        println!(
            "repbench {ext}: {} files, {audio_s:.1} s of audio, {secs:.3} s, {:.0}x real time, {} threads, cpu {cpu} s (decoding alone: {decode_secs:.3} s for {decoded} samples)",
            paths.len(),
            audio_s / secs,
            rayon::current_num_threads()
        );
        if ext == "wav" || ext == "mp3" {
            features(&ext, &paths);
        }
    }
}

/// Decode → resample → log-mel → mean/std pooling of every file, items in
/// parallel, then each stage alone on the same files.
fn features(ext: &str, paths: &[PathBuf]) {
    let spec: MelSpec = serde_json::from_str(r#"{"name": "logmel"}"#).expect("default spec");
    let encoder = LogMelStats::new(spec);
    let pooled = |audio: &[f32]| {
        let frames = encoder.encode(audio).expect("encodes");
        encoder.pooling().pool(frames[0].view()).len()
    };
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let dims: usize = paths
        .par_iter()
        .map(|p| pooled(&load_mono(p, TARGET_RATE).expect("decodes")))
        .sum();
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, cpu_seconds()) {
        (Some(a), Some(b)) => format!("{:.2}", b - a),
        _ => "n/a".into(),
    };
    // The stages alone: features of audio already in memory.
    let audio: Vec<Vec<f32>> = paths
        .par_iter()
        .map(|p| load_mono(p, TARGET_RATE).expect("decodes"))
        .collect();
    let start = Instant::now();
    let _: usize = audio.par_iter().map(|a| pooled(a)).sum();
    let feature_secs = start.elapsed().as_secs_f64();
    println!(
        "repbench {ext} features: {} files, {secs:.3} s, cpu {cpu} s, {} pooled values per file (log-mel + pooling alone: {feature_secs:.3} s)",
        paths.len(),
        dims / paths.len().max(1)
    );
}
