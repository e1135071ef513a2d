//! A run killed (SIGKILL) during extraction keeps its finished checkpoints,
//! and one killed during evaluation its embeddings and finished
//! evaluations: the next run reads them back, computes only the rest, and
//! writes the same results, byte for byte, as a run never interrupted.

mod common;

use common::{assert_ok, repbench, stats};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 240 items of 6 s in checkpoints of 12: 20 checkpoints per encoder,
/// slow enough (seconds) to be killed partway.
fn config(out_dir: &Path) -> String {
    common::checkpointed_config(out_dir, "", (240, 6.0, 12))
}

/// Checkpoint entries (not whole shards) in the cache under `out`.
fn checkpoints(out: &Path) -> usize {
    let Ok(prefixes) = std::fs::read_dir(out.join("cache").join("emb")) else {
        return 0;
    };
    prefixes
        .flatten()
        .flat_map(|p| std::fs::read_dir(p.path()).into_iter().flatten().flatten())
        .filter_map(|e| std::fs::read(e.path().join("entry.json")).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|m| m["about"].get("chunk_of").is_some())
        .count()
}

/// Cached evaluation results under `out`.
fn evaluations(out: &Path) -> usize {
    let Ok(prefixes) = std::fs::read_dir(out.join("cache").join("results")) else {
        return 0;
    };
    prefixes
        .flatten()
        .flat_map(|p| std::fs::read_dir(p.path()).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count()
}

/// Starts `repbench run CONFIG` and kills it with SIGKILL once at least
/// `at_least` checkpoints are in the cache. Returns how many there were
/// when it was killed, or `None` if the run ended first.
fn run_and_kill(config: &str, out: &Path, at_least: usize) -> Option<usize> {
    run_and_kill_when(config, || checkpoints(out) >= at_least).then(|| checkpoints(out))
}

/// Starts `repbench run CONFIG` and kills it with SIGKILL as soon as
/// `ready()` holds; false if the run ended first.
fn run_and_kill_when(config: &str, ready: impl Fn() -> bool) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_repbench"))
        .args(["run", config, "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the repbench binary starts");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return false;
        }
        if ready() {
            child.kill().expect("SIGKILL is delivered");
            child.wait().expect("the killed child is reaped");
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "the run neither ended nor checkpointed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_run_killed_during_extraction_resumes_from_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = common::write(dir.path(), "killed.toml", &config(&out));

    let first = run_and_kill(&cfg, &out, 1).expect("the first run is killed during extraction");
    let second =
        run_and_kill(&cfg, &out, first + 4).expect("the second run is killed during extraction");
    assert!(second >= first + 4, "{first} then {second}");
    assert!(
        !out.join("results.jsonl").exists(),
        "no results before a run finishes"
    );

    let resumed = repbench(&["run", &cfg, "--quiet"]);
    assert_ok(&resumed);
    let s = stats(&out);
    assert_eq!(s["chunks_cached"], second, "{s}");
    // 240 items / 12 = 20 checkpoints for each of the two encoders.
    assert_eq!(
        s["chunks_cached"].as_u64().unwrap() + s["chunks_computed"].as_u64().unwrap(),
        40,
        "{s}"
    );
    assert_eq!(
        checkpoints(&out),
        0,
        "whole shards replace their checkpoints"
    );

    let fresh = dir.path().join("fresh");
    let fresh_cfg = common::write(dir.path(), "fresh.toml", &config(&fresh));
    assert_ok(&repbench(&["run", &fresh_cfg, "--quiet"]));
    let read = |d: &Path| std::fs::read(d.join("results.jsonl")).unwrap();
    assert_eq!(read(&out), read(&fresh), "results differ after the resume");
}

#[test]
fn a_run_killed_during_evaluation_keeps_its_embeddings_and_finished_evaluations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A second task with a longer evaluation (an alpha grid over three
    // seeds, many resamples), so the kill lands between evaluations.
    let slow = "\n[[tasks]]\nname = \"timbre_grid\"\ndataset = \"tones\"\ntarget = \"timbre\"\n\
                probes = [{ kind = \"logistic\", alphas = [0.01, 0.1, 1.0, 10.0, 100.0] }]\n\
                seeds = [0, 1, 2]\nbootstrap = 3000\n";
    let cfg = common::write(dir.path(), "eval.toml", &(config(&out) + slow));
    assert!(
        run_and_kill_when(&cfg, || evaluations(&out) >= 1),
        "the run is killed during evaluation"
    );
    assert!(!out.join("results.jsonl").exists());

    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let s = stats(&out);
    assert_eq!(
        (s["shards_computed"].as_u64(), s["shards_cached"].as_u64()),
        (Some(0), Some(2)),
        "{s}"
    );
    assert!(s["evaluations_cached"].as_u64().unwrap() >= 1, "{s}");

    let fresh = dir.path().join("fresh");
    let fresh_cfg = common::write(dir.path(), "fresh.toml", &(config(&fresh) + slow));
    assert_ok(&repbench(&["run", &fresh_cfg, "--quiet"]));
    let read = |d: &Path| std::fs::read(d.join("results.jsonl")).unwrap();
    assert_eq!(read(&out), read(&fresh));
}
