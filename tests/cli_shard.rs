//! Sharded extraction as a cluster runs it: N `repbench extract --shard
//! I/N` processes at once fill one cache, then a plain `repbench run`
//! encodes nothing and gives the results of a single-process run, byte for
//! byte.

mod common;

use common::{assert_ok, repbench, stats, text};
use std::path::Path;
use std::process::{Command, Stdio};

/// Two datasets (one in several checkpoints, one that fits one), two
/// encoders, a noise sweep of two severities: every kind of work unit.
fn config(out: &Path, cache: &Path) -> String {
    format!(
        r#"[run]
name = "sharded"
seed = 11
out_dir = "{out}"
cache_dir = "{cache}"
checkpoint_items = 12

[[datasets]]
name = "tones"
kind = "synthetic_tones"
n_items = 50
duration_s = 1.0
timbres = ["sine", "square"]

[[datasets]]
name = "few"
kind = "synthetic_tones"
n_items = 12
duration_s = 0.5
timbres = ["sine", "sawtooth", "square"]

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 32

[[encoders]]
name = "mfcc"
kind = "mfcc_stats"
n_mels = 40
n_mfcc = 13

[[perturbations]]
kind = "noise"
snr_db = [20, 0]

[[tasks]]
name = "timbre"
dataset = "tones"
target = "timbre"
probes = [{{ kind = "logistic", alphas = [1.0] }}]
bootstrap = 50

[[tasks]]
name = "few-timbre"
dataset = "few"
target = "timbre"
probes = [{{ kind = "knn", ks = [1] }}]
bootstrap = 50
"#,
        out = out.display(),
        cache = cache.display()
    )
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs the config in one process, without a budget, into its own cache
/// under `tmp`, and checks that `out` holds the same results byte for
/// byte.
fn assert_same_as_one_process(tmp: &Path, out: &Path) {
    let alone = tmp.join("alone");
    let alone_cfg = config(&alone, &tmp.join("alone-cache"));
    let alone_cfg = common::write(tmp, "alone.toml", &alone_cfg);
    assert_ok(&repbench(&["run", &alone_cfg, "--quiet"]));
    for file in ["results.jsonl", "comparisons.jsonl", "predictions.jsonl"] {
        assert!(
            read(&out.join(file)) == read(&alone.join(file)),
            "{file} differs from a single unlimited process's"
        );
    }
}

#[test]
fn four_concurrent_shards_fill_the_cache_and_the_run_encodes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("sharded");
    let cfg = common::write(tmp.path(), "sharded.toml", &config(&out, &cache));
    let shards: Vec<_> = (0..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_repbench"))
                .args(["extract", &cfg, "--shard", &format!("{i}/4"), "--quiet"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut stored = 0;
    for (i, child) in shards.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert_ok(&output);
        let (stdout, _) = text(&output);
        assert!(stdout.starts_with(&format!("shard {i}/4: ")), "{stdout}");
        assert!(stdout.contains("repbench run"), "{stdout}");
        // "… embeddings: A whole and B checkpoint(s) stored, …"
        let words: Vec<&str> = stdout.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "whole").unwrap();
        let n = |w: &str| w.parse::<usize>().unwrap();
        let by_this = n(words[at - 1]) + n(words[at + 2]);
        // 12 units (tones: 5 checkpoints × 2 encoders; few: 1 × 2) over 4.
        assert!(by_this > 0, "shard {i} had work: {stdout}");
        stored += by_this;
    }
    assert!(!out.exists(), "a shard writes no run directory");

    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let s = stats(&out);
    assert_eq!(s["chunks_computed"], 0, "{s}");
    // Each entry a shard stored is read once: every checkpoint of tones
    // (perturbed variants cover test items only, so not all five each),
    // every whole shard of few (2 encoders × clean and 2 severities).
    let found = s["chunks_cached"].as_u64().unwrap() + s["shards_cached"].as_u64().unwrap();
    assert_eq!(found as usize, stored, "every unit computed once: {s}");
    assert_eq!(s["shards_cached"], 2 * 3, "{s}");
    assert_eq!(s["shards_computed"], s["shards_assembled"], "{s}");
    assert_eq!(s["shards_computed"], 2 * 3, "{s}");

    assert_same_as_one_process(tmp.path(), &out);
    let verify = repbench(&["cache", "verify", &cache.display().to_string()]);
    assert_ok(&verify);
}

/// Under a memory budget, shard processes store their checkpoints and the
/// run assembles every shard on disk from them (perturbed variants cover
/// test items only, so some checkpoints hold none of theirs): the results
/// are a single unlimited process's, byte for byte.
#[test]
fn shards_assembled_on_disk_under_a_memory_budget_give_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let budget = |out: &Path, cache: &Path| {
        config(out, cache).replace(
            "checkpoint_items = 12\n",
            "checkpoint_items = 12\nmax_memory_gb = 0.00001\n",
        )
    };
    let out = tmp.path().join("budget");
    let cfg = common::write(
        tmp.path(),
        "budget.toml",
        &budget(&out, &tmp.path().join("cache")),
    );
    for i in 0..2 {
        let shard = format!("{i}/2");
        assert_ok(&repbench(&["extract", &cfg, "--shard", &shard, "--quiet"]));
    }
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let s = stats(&out);
    assert_eq!(s["chunks_computed"], 0, "{s}");
    assert_eq!(s["shards_computed"], s["shards_assembled"], "{s}");
    assert!(s["shards_read_per_unit"].as_u64().unwrap() > 0, "{s}");

    assert_same_as_one_process(tmp.path(), &out);
}

#[test]
fn a_shard_run_again_finds_its_work_done() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(&tmp.path().join("out"), &tmp.path().join("cache"));
    let cfg = common::write(tmp.path(), "c.toml", &cfg);
    assert_ok(&repbench(&["run", &cfg, "--shard", "1/3", "--quiet"]));
    let again = repbench(&["run", &cfg, "--shard", "1/3", "--quiet"]);
    assert_ok(&again);
    assert!(
        text(&again)
            .0
            .contains("0 whole and 0 checkpoint(s) stored"),
        "{}",
        text(&again).0
    );
}

#[test]
fn a_bad_shard_is_a_usage_error_that_says_how_to_write_one() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(&tmp.path().join("out"), &tmp.path().join("cache"));
    let cfg = common::write(tmp.path(), "c.toml", &cfg);
    for bad in ["4/4", "1", "x/2"] {
        let out = repbench(&["extract", &cfg, "--shard", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let (_, stderr) = text(&out);
        assert!(
            stderr.contains("--shard") && stderr.contains("I/N"),
            "{stderr}"
        );
    }
    assert!(!tmp.path().join("cache").exists(), "nothing computed");
}
