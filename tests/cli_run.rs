//! End to end: `repbench run` on the shipped quickstart and on small configs.

mod common;
use common::*;

#[test]
fn quickstart_runs_reruns_from_cache_and_gives_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("qs");
    let out_s = out.display().to_string();
    let first = repbench(&["run", "configs/quickstart.toml", "--out", &out_s]);
    assert_ok(&first);
    let stdout = text(&first).0;
    // One summary line per task and encoder (2 × 2), not one per value,
    // and one label-efficiency area per encoder of pitch_class.
    assert_eq!(stdout.matches("pitch_class ").count(), 4, "{stdout}");
    assert!(stdout.contains("label efficiency"), "{stdout}");
    assert!(stdout.contains("report:"), "{stdout}");
    let rows = results(&out);
    // 2 tasks × 2 encoders × 3 metrics; pitch_class's label curve adds,
    // per encoder and metric, 4 fractions below 1 and the area: 30 more.
    // Each on all 72 test items.
    let curve = rows
        .iter()
        .filter(|r| r["evaluator"] == "label_efficiency")
        .count();
    assert_eq!((rows.len(), curve), (42, 30));
    for r in &rows {
        assert_eq!(r["n"], 72, "{r}");
        let (lo, v, hi) = (
            r["ci_low"].as_f64().unwrap(),
            r["value"].as_f64().unwrap(),
            r["ci_high"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{r}");
        for key in [
            "run_id",
            "encoder",
            "layer",
            "dataset",
            "task",
            "evaluator",
            "probe",
            "perturbation",
            "seed",
            "metric",
            "config_hash",
            "repbench_version",
        ] {
            assert!(!r[key].is_null(), "missing {key} in {r}");
        }
    }
    // Timbre is easy for both baselines; the probe must have learnt it.
    assert!(rows
        .iter()
        .filter(|r| r["task"] == "timbre" && r["metric"] == "accuracy")
        .all(|r| r["value"].as_f64().unwrap() > 0.9));
    let first_bytes = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let first_stats = stats(&out);
    assert_eq!(first_stats["shards_computed"], 2);
    // The embedding stage splits into encoder time and the framework's.
    let secs = |k: &str| {
        first_stats[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}: {first_stats}"))
    };
    let (embed, encoder, overhead) = (
        secs("embed_seconds"),
        secs("encoder_seconds"),
        secs("framework_overhead_seconds"),
    );
    assert!(encoder > 0.0 && encoder <= embed, "{first_stats}");
    assert!((encoder + overhead - embed).abs() < 1e-9, "{first_stats}");
    assert!((secs("framework_overhead_fraction") - overhead / embed).abs() < 1e-12);

    let second = repbench(&["run", "configs/quickstart.toml", "--out", &out_s, "--quiet"]);
    assert_ok(&second);
    let s = stats(&out);
    assert_eq!(
        (s["shards_computed"].as_u64(), s["shards_cached"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(s["evaluations_computed"], 0);
    assert_eq!(
        std::fs::read_to_string(out.join("results.jsonl")).unwrap(),
        first_bytes
    );

    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("pitch_class") && html.contains("logmel") && html.contains("0."));
    // The SVG namespace is a name, not an address anything is fetched from.
    let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "report must be self-contained"
    );
    let splits = std::fs::read_to_string(out.join("splits.csv")).unwrap();
    assert_eq!(splits.lines().count(), 361);
}

#[test]
fn changing_one_encoder_option_recomputes_only_that_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let cfg = write(tmp.path(), "small.toml", &small_config(&out, 40));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(stats(&out)["shards_computed"], 2);
    let before = results(&out);

    write(tmp.path(), "small.toml", &small_config(&out, 48));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let s = stats(&out);
    assert_eq!(
        (s["shards_computed"].as_u64(), s["shards_cached"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (
            s["evaluations_computed"].as_u64(),
            s["evaluations_cached"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let after = results(&out);
    let key = |rows: &[serde_json::Value], enc: &str| {
        rows.iter().find(|r| r["encoder"] == enc).unwrap()["embedding_key"].clone()
    };
    assert_eq!(key(&before, "logmel"), key(&after, "logmel"));
    assert_ne!(key(&before, "mfcc"), key(&after, "mfcc"));
}

#[test]
fn different_seeds_give_different_splits_and_results() {
    let tmp = tempfile::tempdir().unwrap();
    let out_a = tmp.path().join("a");
    let out_b = tmp.path().join("b");
    let cfg_a = write(tmp.path(), "a.toml", &small_config(&out_a, 40));
    let cfg_b = write(
        tmp.path(),
        "b.toml",
        &small_config(&out_b, 40).replace("seed = 3", "seed = 4"),
    );
    assert_ok(&repbench(&["run", &cfg_a, "--quiet"]));
    assert_ok(&repbench(&["run", &cfg_b, "--quiet"]));
    assert_ne!(
        std::fs::read(out_a.join("splits.csv")).unwrap(),
        std::fs::read(out_b.join("splits.csv")).unwrap()
    );
}

#[test]
fn a_truncated_cache_file_is_detected_and_recomputed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let cfg = write(tmp.path(), "small.toml", &small_config(&out, 40));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let first = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let key = results(&out)[0]["embedding_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let npy = out
        .join("cache/emb")
        .join(&key[..2])
        .join(&key)
        .join("layer_0.npy");
    let bytes = std::fs::read(&npy).unwrap();
    std::fs::write(&npy, &bytes[..bytes.len() / 2]).unwrap();

    let rerun = repbench(&["run", &cfg, "--quiet"]);
    assert_ok(&rerun);
    assert!(
        text(&rerun).1.contains("corrupt cache entry"),
        "{}",
        text(&rerun).1
    );
    assert_eq!(stats(&out)["shards_computed"], 1);
    assert_eq!(
        std::fs::read_to_string(out.join("results.jsonl")).unwrap(),
        first
    );
}

#[test]
fn fresh_runs_with_one_or_many_threads_give_byte_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(
        tmp.path(),
        "small.toml",
        &small_config(&tmp.path().join("unused"), 40),
    );
    let mut outputs = Vec::new();
    for (threads, dir) in [("1", "one"), ("2", "two")] {
        let out = tmp.path().join(dir);
        let status = run_on_threads(&cfg, &out, threads);
        assert_ok(&status);
        let printed = String::from_utf8_lossy(&status.stdout);
        assert!(
            printed.lines().count() == 2 && printed.starts_with("results: "),
            "--quiet prints only the output paths: {printed}"
        );
        assert_eq!(
            stats(&out)["shards_computed"],
            2,
            "each run starts from an empty cache"
        );
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(
            run["threads"].to_string(),
            threads,
            "run.json records the pool used"
        );
        let files = [
            "results.jsonl",
            "comparisons.jsonl",
            "predictions.jsonl",
            "maps.jsonl",
        ];
        outputs.push(files.map(|f| std::fs::read_to_string(out.join(f)).unwrap()));
    }
    assert!(
        outputs[0][3].lines().count() >= 2,
        "a PCA and a t-SNE map per encoder: {}",
        outputs[0][3]
    );
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn probes_config_runs_every_task_type_and_compares_encoders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p");
    let cfg = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/probes.toml"),
    )
    .unwrap()
    // Smaller MLP so the debug-build test stays quick; same code path.
    .replace("max_epochs = 150", "max_epochs = 15, hidden_units = 64");
    let cfg = write(tmp.path(), "probes.toml", &cfg);
    assert_ok(&repbench(&[
        "run",
        &cfg,
        "--quiet",
        "--out",
        &out.display().to_string(),
    ]));
    let rows = results(&out);
    for (task, probe, metric) in [
        ("pitch_class", "mlp", "accuracy"),
        ("pitch_class", "knn", "f1_macro"),
        ("pitch", "ridge", "r2"),
        ("loudness", "ridge", "rmse"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r["task"] == task && r["probe"] == probe && r["metric"] == metric),
            "{task}/{probe}/{metric}"
        );
    }
    assert!(rows.iter().any(|r| r["task"] == "timbre_retrieval"
        && r["metric"] == "map"
        && r["evaluator"] == "retrieval"));
    // The MLP ran three seeds: three per-seed rows and a mean row with its sd.
    let mlp_acc: Vec<_> = rows
        .iter()
        .filter(|r| r["probe"] == "mlp" && r["metric"] == "accuracy" && r["encoder"] == "logmel")
        .collect();
    assert_eq!(mlp_acc.len(), 4);
    assert!(mlp_acc
        .iter()
        .any(|r| r["probe_seed"].is_null() && r["seed_sd"].is_number()));
    let comparisons: Vec<serde_json::Value> =
        std::fs::read_to_string(out.join("comparisons.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(comparisons.iter().any(|c| c["task"] == "pitch_class"
        && c["encoder_a"] == "logmel"
        && c["encoder_b"] == "mfcc"));
    assert!(comparisons
        .iter()
        .all(|c| (0.0..=1.0).contains(&c["p_value"].as_f64().unwrap())));
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("Which differences are real"));
    assert!(
        html.contains("class=\"ci\">± "),
        "the MLP's mean row shows its sd over seeds"
    );
}

#[test]
fn robustness_sweeps_report_every_severity_drops_nauc_and_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let cfg = small_config(&out, 40)
        + r#"
[[perturbations]]
kind = "noise"
snr_db = [30, 10]

[[perturbations]]
kind = "lowpass"
cutoff_hz = [4000, 1000]
"#;
    let cfg = write(tmp.path(), "robust.toml", &cfg);
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let rows = results(&out);
    let find = |pert: &str, sev: Option<f64>, metric: &str, task: &str| {
        rows.iter()
            .filter(|r| {
                r["perturbation"] == pert
                    && r["metric"] == metric
                    && r["task"] == task
                    && r["encoder"] == "logmel"
            })
            .find(|r| r["severity"].as_f64() == sev)
            .unwrap_or_else(|| panic!("no {pert} {sev:?} {metric} {task}"))
            .clone()
    };
    for sev in [30.0, 10.0] {
        let acc = find("noise", Some(sev), "accuracy", "timbre");
        assert_eq!(acc["n"], 16, "scored on every test item");
        let drop = find("noise", Some(sev), "accuracy_drop", "timbre");
        let clean = rows
            .iter()
            .find(|r| {
                r["perturbation"] == "none"
                    && r["metric"] == "accuracy"
                    && r["task"] == "timbre"
                    && r["encoder"] == "logmel"
            })
            .unwrap();
        let expected = clean["value"].as_f64().unwrap() - acc["value"].as_f64().unwrap();
        assert_eq!(drop["evaluator"], "robustness");
        assert!(
            (drop["value"].as_f64().unwrap() - expected).abs() < 1e-12,
            "drop is the loss: clean minus perturbed"
        );
        find("noise", Some(sev), "cosine_distance", "embedding_drift");
    }
    let nauc = find("lowpass", None, "accuracy_nauc", "timbre");
    let v = nauc["value"].as_f64().unwrap();
    assert!(nauc["ci_low"].as_f64().unwrap() <= v && v <= nauc["ci_high"].as_f64().unwrap());
    // Drift grows with severity: 10 dB SNR moves embeddings more than 30 dB.
    let d30 = find("noise", Some(30.0), "cosine_distance", "embedding_drift")["value"]
        .as_f64()
        .unwrap();
    let d10 = find("noise", Some(10.0), "cosine_distance", "embedding_drift")["value"]
        .as_f64()
        .unwrap();
    assert!(d10 > d30, "{d10} vs {d30}");
    // The items' geometry survives less at 10 dB than at 30 dB.
    let cka = |snr: f64| {
        find("noise", Some(snr), "linear_cka", "embedding_drift")["value"]
            .as_f64()
            .unwrap()
    };
    assert!(
        cka(10.0) < cka(30.0) && cka(30.0) <= 1.0 + 1e-9,
        "{} vs {}",
        cka(10.0),
        cka(30.0)
    );
    // 2 encoders × (clean + 4 severities); perturbed shards hold test items only.
    assert_eq!(stats(&out)["shards_computed"], 10);
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(
        html.contains("Robustness")
            && html.contains("Embedding drift")
            && html.contains("linear CKA with clean")
            && html.contains("snr_db")
            && html.contains("<svg")
    );
    let first = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    // Drift relative to the items' spread: larger at 10 dB, and cached
    // like every evaluation (drift is an evaluator, not a runner stage).
    let shift = |snr: f64| {
        find("noise", Some(snr), "relative_shift", "embedding_drift")["value"]
            .as_f64()
            .unwrap()
    };
    assert!(
        shift(10.0) > shift(30.0),
        "{} vs {}",
        shift(10.0),
        shift(30.0)
    );
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(stats(&out)["shards_computed"], 0);
    assert_eq!(stats(&out)["evaluations_computed"], 0);
    assert_eq!(
        std::fs::read_to_string(out.join("results.jsonl")).unwrap(),
        first
    );
}

#[test]
fn precomputed_embeddings_join_by_id_and_a_missing_id_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pre");
    // Embeddings "made elsewhere": for the 80 small-config tones, a vector
    // that encodes the item index (ids tone-00000 …).
    let n = 80;
    let m = ndarray::Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3)) % 7) as f32);
    ndarray_npy::write_npy(tmp.path().join("emb.npy"), &m).unwrap();
    let ids: String = (0..n).map(|i| format!("tone-{i:05}\n")).collect();
    write(tmp.path(), "ids.txt", &ids);
    let cfg = small_config(&out, 40).replace(
        "[[tasks]]",
        "[[encoders]]\nname = \"ext\"\nkind = \"precomputed\"\npath = \"emb.npy\"\nids = \"ids.txt\"\n\n[[encoders]]\nname = \"random\"\nkind = \"random_network\"\nwidth = 32\ndepth = 2\n\n[[tasks]]",
    );
    let path = write(tmp.path(), "pre.toml", &cfg);
    assert_ok(&repbench(&["run", &path, "--quiet"]));
    let rows = results(&out);
    assert!(rows
        .iter()
        .any(|r| r["encoder"] == "ext" && r["layer"] == "0" && r["n"] == 16));
    assert!(rows
        .iter()
        .any(|r| r["encoder"] == "random" && r["layer"] == "layer2"));
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(
        html.contains("Layer by layer") && html.contains("timbre: accuracy by layer"),
        "layer curve of the two-layer encoder"
    );

    write(
        tmp.path(),
        "ids.txt",
        &ids.replace("tone-00007\n", "other-7\n"),
    );
    let out_run = repbench(&["run", &path, "--quiet"]);
    assert_eq!(out_run.status.code(), Some(1));
    let err = text(&out_run).1;
    assert!(
        err.contains("\"tone-00007\"") && err.contains("emb.npy"),
        "{err}"
    );

    let with_noise = cfg + "\n[[perturbations]]\nkind = \"noise\"\nsnr_db = 10\n";
    let path = write(tmp.path(), "pre_noise.toml", &with_noise);
    let out_run = repbench(&["validate", &path]);
    assert_eq!(out_run.status.code(), Some(2));
    assert!(text(&out_run).1.contains("\"ext\" is precomputed"));
}

#[test]
fn leaderboard_ranks_across_runs_and_cache_commands_verify_and_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let cfg_a = write(tmp.path(), "a.toml", &small_config(&a, 40));
    // Same data, another run name.
    let cfg_b = write(
        tmp.path(),
        "b.toml",
        &small_config(&b, 40).replace("name = \"small\"", "name = \"other\""),
    );
    // Other data: another seed draws other tones into the test split.
    let cfg_c = write(
        tmp.path(),
        "c.toml",
        &small_config(&c, 40)
            .replace("name = \"small\"", "name = \"fewer\"")
            .replace("seed = 3", "seed = 4"),
    );
    for cfg in [&cfg_a, &cfg_b, &cfg_c] {
        assert_ok(&repbench(&["run", cfg, "--quiet"]));
    }
    let page = tmp.path().join("lb.html");
    let out = repbench(&[
        "leaderboard",
        &a.display().to_string(),
        &b.display().to_string(),
        &c.display().to_string(),
        "--out",
        &page.display().to_string(),
    ]);
    assert_ok(&out);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Encoders × tasks")
            && html.contains("small-")
            && html.contains("other-")
            && html.contains("tones / timbre")
    );
    // Runs a and b score 1.0 with both encoders: four ties share rank 2.5.
    assert!(html.contains("<td class=\"num\">2.5</td>"), "{html}");
    // The 24-item run scored another test set: kept apart, and said so.
    let stderr = text(&out).1;
    assert!(
        stderr.contains("different test sets")
            && stderr.contains("fewer-")
            && stderr.contains("small-"),
        "{stderr}"
    );
    assert!(!html.contains("http://") && !html.contains("<script"));
    // Every run wrote its per-item predictions, so every rank has an
    // interval and the mean ranks too (the wide table's chart).
    for dir in [&a, &b, &c] {
        let lines = std::fs::read_to_string(dir.join("predictions.jsonl")).unwrap();
        assert_eq!(
            lines.lines().count(),
            2,
            "one line per encoder × layer × probe"
        );
    }
    assert!(
        html.contains("Encoders × tasks") && html.contains("class=\"rank\""),
        "{html}"
    );
    assert!(
        html.contains("[2.5, 2.5]"),
        "four perfect entries tie on every resample: {html}"
    );
    // The wide table as Markdown on standard output and as CSV in a file.
    let md = repbench(&[
        "leaderboard",
        &a.display().to_string(),
        &b.display().to_string(),
        "--format",
        "markdown",
    ]);
    assert_ok(&md);
    let md = text(&md).0;
    assert!(
        md.starts_with("| run | encoder | tones / timbre (accuracy; classification) | mean rank |"),
        "{md}"
    );
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| small-") || l.starts_with("| other-"))
            .count(),
        4
    );
    let csv = tmp.path().join("lb.csv");
    assert_ok(&repbench(&[
        "leaderboard",
        &a.display().to_string(),
        &b.display().to_string(),
        "--format",
        "csv",
        "--out",
        &csv.display().to_string(),
    ]));
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.starts_with("run,encoder,ranked,tones/timbre accuracy,tones/timbre ci_low,"),
        "{csv}"
    );
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",true,1.0,")),
        "every entry is perfect: {csv}"
    );
    // `export`: the long table as CSV on standard output has every record
    // of both runs; as Parquet it needs a file; the wide table as LaTeX.
    let dirs = [a.display().to_string(), b.display().to_string()];
    let long = repbench(&["export", &dirs[0], &dirs[1]]);
    assert_ok(&long);
    let long = text(&long).0;
    assert_eq!(
        long.lines().count(),
        1 + results(&a).len() + results(&b).len(),
        "{long}"
    );
    assert!(long.starts_with("run,run_id,encoder,layer,"), "{long}");
    let refused = repbench(&["export", &dirs[0], "--format", "parquet"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).1.contains("--out"), "{}", text(&refused).1);
    let parquet = tmp.path().join("long.parquet");
    assert_ok(&repbench(&[
        "export",
        &dirs[0],
        "--format",
        "parquet",
        "--out",
        &parquet.display().to_string(),
    ]));
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    let tex = repbench(&["export", &dirs[0], &dirs[1], "--format", "latex"]);
    assert_ok(&tex);
    let tex = text(&tex).0;
    assert!(
        tex.contains("\\begin{tabular}") && tex.contains("timbre (accuracy)"),
        "{tex}"
    );
    let missing = repbench(&[
        "leaderboard",
        &tmp.path().join("nope").display().to_string(),
    ]);
    assert_eq!(missing.status.code(), Some(2));

    let cache = a.join("cache").display().to_string();
    assert_ok(&repbench(&["cache", "verify", &cache]));
    let listed = text(&repbench(&["cache", "list", &cache])).0;
    assert!(
        listed.contains("encoder=logmel") && listed.contains("entries"),
        "{listed}"
    );
    let key = results(&a)[0]["embedding_key"].as_str().unwrap().to_owned();
    std::fs::write(
        a.join("cache/emb")
            .join(&key[..2])
            .join(&key)
            .join("ids.txt"),
        "tampered\n",
    )
    .unwrap();
    let verify = repbench(&["cache", "verify", &cache]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(text(&verify).1.contains("ids.txt checksum mismatch"));
    assert_ok(&repbench(&["cache", "gc", &cache]));
    assert_ok(&repbench(&["cache", "verify", &cache]));
}

#[test]
fn a_recorded_impulse_response_is_found_relative_to_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ir_run");
    // A short decaying impulse response written next to the config.
    let ir: Vec<f32> = (0..4000)
        .map(|i| {
            if i == 0 {
                1.0
            } else {
                0.3 * (-(i as f32) / 600.0).exp() * ((i * 7919 % 13) as f32 / 13.0 - 0.5)
            }
        })
        .collect();
    std::fs::write(
        tmp.path().join("room.wav"),
        repbench_framework::audio::wav_pcm16(&[ir], 16000),
    )
    .unwrap();
    let cfg = small_config(&out, 40)
        + "\n[[perturbations]]\nkind = \"reverb\"\nir_path = \"room.wav\"\nwet = [0.3, 0.9]\n";
    let path = write(tmp.path(), "ir.toml", &cfg);
    // The binary runs from the repository root, not from the config's folder.
    assert_ok(&repbench(&["run", &path, "--quiet"]));
    assert!(results(&out)
        .iter()
        .any(|r| r["perturbation"] == "reverb" && r["severity"].as_f64() == Some(0.9)));
}

#[test]
fn disentanglement_reports_mig_sap_and_dci_and_names_bad_factors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let task = "[[tasks]]\nname = \"factors\"\ndataset = \"tones\"\ntype = \"disentanglement\"\nfactors = [\"pitch\", \"timbre\"]\nbootstrap = 50\n";
    let base = small_config(&out, 40);
    let cfg = format!("{}{task}", &base[..base.find("[[tasks]]").unwrap()]);
    let path = write(tmp.path(), "d.toml", &cfg);
    assert_ok(&repbench(&["run", &path, "--quiet"]));
    let rows: Vec<serde_json::Value> = results(&out)
        .into_iter()
        .filter(|r| r["task"] == "factors")
        .collect();
    for encoder in ["logmel", "mfcc"] {
        let metrics: Vec<&str> = rows
            .iter()
            .filter(|r| r["encoder"] == encoder)
            .map(|r| r["metric"].as_str().unwrap())
            .collect();
        assert_eq!(
            metrics,
            [
                "mig",
                "sap",
                "dci_disentanglement",
                "dci_completeness",
                "dci_informativeness",
                "mig_pitch",
                "mig_timbre",
                "sap_pitch",
                "sap_timbre",
                "dci_completeness_pitch",
                "dci_completeness_timbre",
                "dci_informativeness_pitch",
                "dci_informativeness_timbre"
            ],
            "{encoder}"
        );
    }
    for r in &rows {
        let v = r["value"].as_f64().unwrap();
        // Informativeness of a numeric factor is an R² (may be below 0).
        let informativeness = r["metric"]
            .as_str()
            .unwrap()
            .starts_with("dci_informativeness");
        assert!(
            (0.0..=1.0).contains(&v) || (informativeness && v <= 1.0),
            "{r}"
        );
        assert!(r["ci_low"].as_f64().is_some() && r["evaluator"] == "disentanglement");
    }
    // DCI's importance matrix per encoder (one layer each), in the report.
    let matrices: Vec<serde_json::Value> = std::fs::read_to_string(out.join("matrices.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(matrices.len(), 2);
    for m in &matrices {
        assert_eq!(m["name"], "dci_importance");
        assert_eq!(m["rows"], serde_json::json!(["pitch", "timbre"]));
        assert_eq!(
            m["columns"].as_array().unwrap().len(),
            17,
            "16 codes and the rest"
        );
    }
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("id=\"dci-importance\"") && html.contains("codes hold"));

    let unknown = write(
        tmp.path(),
        "u.toml",
        &cfg.replace("\"timbre\"]", "\"colour\"]"),
    );
    let err = text(&repbench(&["validate", &unknown])).1;
    assert!(
        err.contains("tasks[0].factors[1]") && err.contains("colour"),
        "{err}"
    );
    let one = write(tmp.path(), "one.toml", &cfg.replace(", \"timbre\"]", "]"));
    let err = text(&repbench(&["validate", &one])).1;
    assert!(
        err.contains("factors") && err.contains("at least two"),
        "{err}"
    );
}

#[test]
fn geometry_reports_rankme_and_alpha_without_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let task =
        "[[tasks]]\nname = \"shape\"\ndataset = \"tones\"\ntype = \"geometry\"\nbootstrap = 50\n";
    let base = small_config(&out, 40);
    let cfg = format!("{}{task}", &base[..base.find("[[tasks]]").unwrap()]);
    let path = write(tmp.path(), "g.toml", &cfg);
    assert_ok(&repbench(&["run", &path, "--quiet"]));
    let rows = results(&out);
    for encoder in ["logmel", "mfcc"] {
        let metrics: Vec<&str> = rows
            .iter()
            .filter(|r| {
                r["encoder"] == encoder && r["task"] == "shape" && r.get("versus_encoder").is_none()
            })
            .map(|r| r["metric"].as_str().unwrap())
            .collect();
        assert_eq!(metrics, ["rankme", "alpha_req"], "{encoder}");
    }
    // The similarity matrix: one linear CKA between the two encoders.
    let pairs: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r.get("versus_encoder").is_some())
        .collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let cka = pairs[0]["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&cka) && pairs[0]["metric"] == "linear_cka");
    assert_ne!(pairs[0]["encoder"], pairs[0]["versus_encoder"]);
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("Similarity between encoders and layers"));
    let rank = rows.iter().find(|r| r["metric"] == "rankme").unwrap();
    let dims = rank["params"]["dimensions"].as_f64().unwrap();
    let value = rank["value"].as_f64().unwrap();
    assert!(value >= 1.0 && value <= dims, "{rank}");
    let labelled = write(
        tmp.path(),
        "t.toml",
        &cfg.replace(
            "type = \"geometry\"",
            "type = \"geometry\"\ntarget = \"pitch\"",
        ),
    );
    let err = text(&repbench(&["validate", &labelled])).1;
    assert!(
        err.contains("tasks[0].target") && err.contains("no label"),
        "{err}"
    );
}

/// The shipped properties config: every property metric with an interval,
/// a log-frequency spectrum more pitch-shift equivariant than MFCCs
/// (pitch shift is a translation of it), gain invariance ≈ 1 for the
/// per-item-standardised random network, θ not readable from the clean
/// view, comparisons, curves in the report, and a warm re-run from cache.
#[test]
#[ignore = "slow (about 26 s): CI runs it with scripts/test.sh -- --include-ignored"]
fn properties_config_measures_invariance_and_equivariance() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let out_s = out.display().to_string();
    assert_ok(&repbench(&[
        "run",
        "configs/properties.toml",
        "--out",
        &out_s,
        "--quiet",
    ]));
    let rows = results(&out);
    let get = |task: &str, encoder: &str, probe: Option<&str>, metric: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| {
                r["task"] == task
                    && r["encoder"] == encoder
                    && r["metric"] == metric
                    && r["probe"].as_str() == probe
            })
            .map(|r| {
                let (v, lo, hi) = (&r["value"], &r["ci_low"], &r["ci_high"]);
                assert!(lo.as_f64().unwrap() <= hi.as_f64().unwrap(), "{r}");
                v.as_f64().unwrap()
            })
            .collect()
    };
    for metric in [
        "invariance",
        "self_retrieval_r1",
        "self_retrieval_mrr",
        "cka",
        "cka_normalized",
    ] {
        assert!(
            !get("noise_invariance", "logmel", None, metric).is_empty(),
            "{metric}"
        );
    }
    assert_eq!(
        get("gain_invariance", "logmel", None, "invariance_curve").len(),
        4
    );
    // Per-item standardised log-mel input: a gain is a constant in dB.
    assert!(get("gain_invariance", "random", None, "invariance")
        .iter()
        .all(|v| *v > 0.99));
    let best = |encoder| {
        get("pitch_equivariance", encoder, None, "equivariance")
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max)
    };
    assert!(
        best("logmel") > best("mfcc"),
        "{} vs {}",
        best("logmel"),
        best("mfcc")
    );
    for (task, encoder) in [
        ("pitch_equivariance", "logmel"),
        ("tempo_equivariance", "mfcc"),
    ] {
        for probe in ["ridge", "mlp"] {
            let control = get(task, encoder, Some(probe), "theta_r2_control");
            assert!(
                control.iter().all(|v| *v < 0.1),
                "{task} {probe}: {control:?}"
            );
        }
    }
    assert!(get("pitch_equivariance", "logmel", Some("ridge"), "theta_r2")[0] > 0.8);
    let comparisons = std::fs::read_to_string(out.join("comparisons.jsonl")).unwrap();
    let equi = comparisons
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| {
            c["task"] == "pitch_equivariance"
                && c["metric"] == "equivariance"
                && c["encoder_a"] == "logmel"
                && c["encoder_b"] == "mfcc"
        })
        .expect("logmel vs mfcc equivariance comparison");
    assert!(equi["ci_low"].as_f64().unwrap() > 0.0, "{equi}");
    // Cross-transform: a gain does not change what log-mel statistics say
    // about the instrument; a pitch shift is declared to alter pitch.
    for encoder in ["logmel", "mfcc"] {
        let d = get(
            "cross_transform",
            encoder,
            Some("logistic"),
            "degradation_instrument_under_gain",
        );
        assert!(d.len() == 1 && d[0].abs() < 0.02, "{encoder}: {d:?}");
        assert_eq!(
            get(
                "cross_transform",
                encoder,
                None,
                "cross_transform_disentanglement"
            )
            .len(),
            1
        );
    }
    assert!(rows
        .iter()
        .filter(|r| r["metric"] == "degradation_pitch_under_pitch_shift")
        .all(|r| r["params"]["transform_alters_factor"] == 1.0));
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("Properties by θ") && html.contains("pitch_equivariance: map_r2 by θ"));
    assert!(
        html.contains("Cross-transform disentanglement") && html.contains("factor \\ transform")
    );
    let again = repbench(&["run", "configs/properties.toml", "--out", &out_s, "--quiet"]);
    assert_ok(&again);
    assert_eq!(stats(&out)["evaluations_computed"], 0);
    assert_eq!(stats(&out)["shards_computed"], 0);
}
