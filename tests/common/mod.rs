//! Helpers for the end-to-end tests: run the real binary, read its outputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `repbench ARGS` from the repository root.
pub fn repbench(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_repbench"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the repbench binary runs")
}

/// Runs `repbench run CONFIG --quiet --out OUT` on a pool of `threads`
/// threads.
pub fn run_on_threads(config: &str, out: &Path, threads: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_repbench"))
        .args([
            "run",
            config,
            "--quiet",
            "--out",
            &out.display().to_string(),
        ])
        .env("RAYON_NUM_THREADS", threads)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the repbench binary runs")
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts success, showing stderr otherwise.
pub fn assert_ok(out: &Output) {
    let (o, e) = text(out);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{o}\nstderr:\n{e}",
        out.status.code()
    );
}

/// `run.json`'s `stats` object.
pub fn stats(out_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out_dir.join("run.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&text).unwrap();
    run["stats"].clone()
}

/// Parsed `results.jsonl`.
pub fn results(out_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out_dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes `text` as `name` in `dir` and returns its path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A small synthetic experiment (fast in debug builds).
pub fn small_config(out_dir: &Path, n_mels_second: usize) -> String {
    format!(
        r#"[run]
name = "small"
seed = 3
out_dir = "{out}"

[[datasets]]
name = "tones"
kind = "synthetic_tones"
n_items = 80
duration_s = 0.5
timbres = ["sine", "square"]

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 32

[[encoders]]
name = "mfcc"
kind = "mfcc_stats"
n_mels = {n_mels_second}
n_mfcc = 13

[[tasks]]
name = "timbre"
dataset = "tones"
target = "timbre"
probes = [{{ kind = "logistic", alphas = [10.0, 1.0] }}]
bootstrap = 200
"#,
        out = out_dir.display()
    )
}

/// Tones in checkpoints, embedded by two encoders and probed for timbre:
/// the experiment the kill and concurrency tests interrupt and race.
/// `run_extra` goes into `[run]` (e.g. a `cache_dir`).
pub fn checkpointed_config(
    out_dir: &Path,
    run_extra: &str,
    (n_items, duration_s, checkpoint_items): (usize, f64, usize),
) -> String {
    format!(
        r#"[run]
name = "checkpointed"
seed = 5
out_dir = "{out}"
checkpoint_items = {checkpoint_items}
{run_extra}

[[datasets]]
name = "tones"
kind = "synthetic_tones"
n_items = {n_items}
duration_s = {duration_s:?}
timbres = ["sine", "square"]

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 64

[[encoders]]
name = "mfcc"
kind = "mfcc_stats"
n_mels = 40
n_mfcc = 13

[[tasks]]
name = "timbre"
dataset = "tones"
target = "timbre"
probes = [{{ kind = "logistic", alphas = [1.0] }}]
bootstrap = 50
"#,
        out = out_dir.display()
    )
}
