//! Real processes sharing one cache: two runs at once, and `cache gc` in a
//! loop beside a run. Each must finish with the results a lone run gives,
//! byte for byte, and leave a cache whose every entry verifies.

mod common;

use common::{assert_ok, repbench, stats, text};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// A run writing into `out` with its cache at `cache` (60 items of 2 s in
/// checkpoints of 8, two encoders, so the runs overlap for a while).
fn config(out: &Path, cache: &Path) -> String {
    let cache_dir = format!("cache_dir = \"{}\"", cache.display());
    common::checkpointed_config(out, &cache_dir, (60, 2.0, 8))
}

fn results(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("results.jsonl")).unwrap()
}

/// The results of the config run alone, in its own cache.
fn reference(tmp: &Path) -> Vec<u8> {
    let out = tmp.join("alone");
    let cfg = common::write(tmp, "alone.toml", &config(&out, &tmp.join("alone-cache")));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    results(&out)
}

#[test]
fn two_runs_sharing_a_cache_both_finish_with_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let spawn = |name: &str| {
        let out = tmp.path().join(name);
        let cfg = common::write(tmp.path(), &format!("{name}.toml"), &config(&out, &cache));
        let child = Command::new(env!("CARGO_BIN_EXE_repbench"))
            .args(["run", &cfg, "--quiet"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (out, child)
    };
    let (out_a, a) = spawn("a");
    let (out_b, b) = spawn("b");
    for child in [a, b] {
        assert_ok(&child.wait_with_output().unwrap());
    }
    let expected = reference(tmp.path());
    assert_eq!(results(&out_a), expected);
    assert_eq!(results(&out_b), expected);
    let verify = repbench(&["cache", "verify", &cache.display().to_string()]);
    assert_ok(&verify);
    assert!(text(&verify).0.contains("all checksums match"));
}

#[test]
fn cache_gc_in_a_loop_beside_a_run_breaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("run");
    let cfg = common::write(tmp.path(), "run.toml", &config(&out, &cache));
    std::fs::create_dir_all(&cache).unwrap();
    let done = AtomicBool::new(false);
    let gc_runs = std::thread::scope(|scope| {
        let gc = scope.spawn(|| {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let out = repbench(&["cache", "gc", &cache.display().to_string()]);
                assert_ok(&out);
                n += 1;
            }
            n
        });
        let run = repbench(&["run", &cfg, "--quiet"]);
        done.store(true, Ordering::Relaxed);
        assert_ok(&run);
        gc.join().unwrap()
    });
    assert!(gc_runs >= 2, "gc ran {gc_runs} time(s) during the run");
    assert_eq!(results(&out), reference(tmp.path()));
    assert_eq!(stats(&out)["corrupt_entries"].as_array().unwrap().len(), 0);
    assert_ok(&repbench(&[
        "cache",
        "verify",
        &cache.display().to_string(),
    ]));
}
