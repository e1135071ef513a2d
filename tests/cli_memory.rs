//! `run.max_memory_gb`: under a budget smaller than the embeddings, shards
//! are read back one layer per evaluation, units are evaluated in waves,
//! probes over budget read their training rows in blocks, and every
//! output equals the unlimited run's byte for byte.

mod common;
use common::*;

/// The small experiment with every way an evaluation reads embeddings: a
/// probe task with a perturbation sweep (variants), an invariance task
/// (transform views), a geometry task (every unit at once) and maps; and
/// an encoder that differs from another only in name, so two jobs share
/// each shard and its checkpoints.
fn config(run_extra: &str) -> String {
    let base = small_config(std::path::Path::new("unused"), 40);
    let base = base.replace("seed = 3\n", &format!("seed = 3\n{run_extra}"));
    format!(
        r#"{base}
[[tasks]]
name = "gain_invariance"
dataset = "tones"
type = "invariance"
transform = {{ kind = "gain", range = [-12, 12] }}
bootstrap = 50

[[tasks]]
name = "shape"
dataset = "tones"
type = "geometry"
bootstrap = 50

[[perturbations]]
kind = "gain"
gain_db = [-6, -24]

[[encoders]]
name = "logmel_again"
kind = "logmel_stats"
n_mels = 32
"#
    )
}

#[test]
fn a_memory_budget_reads_layers_back_and_changes_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let files = [
        "results.jsonl",
        "comparisons.jsonl",
        "predictions.jsonl",
        "predictions_perturbed.jsonl",
        "maps.jsonl",
        "matrices.jsonl",
    ];
    let mut outputs = Vec::new();
    let mut totals = Vec::new();
    // 20 KiB: less than one 80-item shard of both encoders.
    // Checkpoints of 16 items: under the budget, extraction holds one
    // checkpoint per shard and assembles the shards on disk.
    for (name, extra) in [
        ("unlimited", "checkpoint_items = 16\n"),
        ("budget", "checkpoint_items = 16\nmax_memory_gb = 0.00002\n"),
    ] {
        let cfg = write(tmp.path(), &format!("{name}.toml"), &config(extra));
        let out = tmp.path().join(name);
        let run = |threads: &str, out: &std::path::Path| {
            assert_ok(&run_on_threads(&cfg, out, threads));
        };
        run("2", &out);
        let stats = stats(&out);
        let count = |k: &str| stats[k].as_u64().unwrap();
        let (held, read, waves) = (
            count("shards_held"),
            count("shards_read_per_unit"),
            count("evaluation_waves"),
        );
        totals.push(held + read);
        assert!(count("chunks_computed") > 0, "{stats}");
        let low_memory = count("evaluations_low_memory");
        if !extra.contains("max_memory_gb") {
            assert_eq!((read, waves, low_memory), (0, 1, 0), "{stats}");
        } else {
            // Small shards (perturbed test rows) fit an eighth of 20 KiB,
            // the clean and view shards of 80 items do not.
            assert!(read >= 4, "{stats}");
            assert!(waves > 1, "{stats}");
            // No unit fits 20 KiB: the probes read their training rows
            // in blocks, and must still give the same bytes.
            assert!(low_memory > 0, "{stats}");
        }
        let read =
            |out: &std::path::Path| files.map(|f| std::fs::read_to_string(out.join(f)).unwrap());
        outputs.push(read(&out));
        if extra.contains("max_memory_gb") {
            // One thread, and a warm rerun that reads every evaluation
            // from the cache: the same bytes.
            let single = tmp.path().join("budget-one-thread");
            run("1", &single);
            assert_eq!(read(&single), outputs[1]);
            // The summary says how the budget was spent.
            let loud = repbench(&["run", &cfg, "--out", &out.display().to_string()]);
            assert_ok(&loud);
            let printed = text(&loud).0;
            assert!(
                printed.contains("memory budget: ") && printed.contains("read back per evaluation"),
                "{printed}"
            );
            let warm = common::stats(&out);
            assert_eq!(warm["shards_computed"], 0, "{warm}");
            assert_eq!(warm["evaluations_computed"], 0, "{warm}");
            assert_eq!(read(&out), outputs[1]);
        }
    }
    assert_eq!(totals[0], totals[1]);
    assert_eq!(totals[0], 12, "clean, 2 severities and a view per encoder");
    assert!(outputs[0][0].contains("\"perturbation\":\"gain\""));
    assert!(outputs[0][0].contains("\"versus_encoder\""));
    assert!(outputs[0][0].contains("gain_invariance"));
    assert!(!outputs[0][4].is_empty(), "maps were drawn");
    for (i, f) in files.iter().enumerate() {
        assert_eq!(outputs[0][i], outputs[1][i], "{f} differs under the budget");
    }
}

#[test]
fn a_budget_out_of_range_is_refused_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["0", "-1", "nan", "2e6"] {
        let cfg = write(
            tmp.path(),
            "bad.toml",
            &config(&format!("max_memory_gb = {bad}\n")),
        );
        let out = repbench(&["validate", &cfg]);
        let err = text(&out).1;
        assert!(!out.status.success(), "{bad} accepted");
        assert!(
            err.contains("run.max_memory_gb") && err.contains("out of range"),
            "{bad}: {err}"
        );
    }
}
