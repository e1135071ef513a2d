//! End to end: bad configs and bad audio give clear errors and exit codes.

mod common;
use common::*;
use repbench_framework::audio::wav_pcm16;
use std::path::Path;

#[test]
fn shipped_configs_validate() {
    // configs/examples/corpora.toml points at corpora users download
    // themselves; tests/configs_parse.rs checks it strictly instead.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["configs", "configs/examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.extension().is_some_and(|e| e == "toml") && name != "corpora.toml" {
                let out = repbench(&["validate", &format!("{dir}/{name}")]);
                if name == "crepe.toml" && !cfg!(feature = "torch") {
                    // Without libtorch the TorchScript encoder says how to get it.
                    let err = text(&out).1;
                    assert!(
                        err.contains("encoder \"crepe_tiny\"")
                            && err.contains("scripts/fetch-libtorch.sh")
                            && err.contains("--features torch"),
                        "{err}"
                    );
                    continue;
                }
                assert_ok(&out);
            }
        }
    }
}

#[test]
fn misspelled_key_exits_2_with_file_line_column_and_valid_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(&tmp.path().join("o"), 40).replace("n_mels = 32", "n_mel = 32");
    let line = cfg.lines().position(|l| l.starts_with("n_mel =")).unwrap() + 1;
    let path = write(tmp.path(), "typo.toml", &cfg);
    let out = repbench(&["validate", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(err.contains(&format!("typo.toml:{line}:")), "{err}");
    assert!(
        err.contains("n_mel") && err.contains("n_mels") && err.contains("hop_length"),
        "{err}"
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(&tmp.path().join("o"), 40).replace("n_mels = 32", "n_mels = \"32\"");
    let line = cfg.lines().position(|l| l.starts_with("n_mels =")).unwrap() + 1;
    let path = write(tmp.path(), "typed.toml", &cfg);
    let out = repbench(&["validate", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains(&format!("typed.toml:{line}:")) && err.contains("`n_mels`"),
        "{err}"
    );
}

#[test]
fn output_closed_early_ends_quietly() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(&tmp.path().join("o"), 40);
    let path = write(tmp.path(), "pipe.toml", &cfg);
    let mut child = Command::new(env!("CARGO_BIN_EXE_repbench"))
        .args(["run", "--quiet", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `repbench run … | head -c 0`: the reader is gone before the run
    // (which takes far longer than this) prints its first line.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(tmp.path().join("o/results.jsonl").is_file());
}

#[test]
fn unknown_kind_and_bad_values_name_the_choices_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let base = small_config(&tmp.path().join("o"), 40);
    let path = write(
        tmp.path(),
        "kind.toml",
        &base.replace("kind = \"mfcc_stats\"", "kind = \"mfcc_stat\""),
    );
    let out = repbench(&["validate", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("mfcc_stat") && err.contains("logmel_stats") && err.contains("mfcc_stats"),
        "{err}"
    );

    let path = write(
        tmp.path(),
        "range.toml",
        &base.replace("n_mfcc = 13", "n_mfcc = 80"),
    );
    let err = text(&repbench(&["validate", &path])).1;
    assert!(
        err.contains("encoders[1].n_mfcc") && err.contains("n_mels (40)"),
        "{err}"
    );

    let path = write(
        tmp.path(),
        "target.toml",
        &base.replace("target = \"timbre\"", "target = \"genre\""),
    );
    let out = repbench(&["run", &path, "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("tasks[0].target") && err.contains("pitch_class"),
        "{err}"
    );

    let out = repbench(&["validate", "does/not/exist.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("does/not/exist.toml"));
}

/// A manifest corpus of `n` tones: low (class "low") and high ("high").
fn corpus(dir: &Path, n: usize) -> String {
    let mut csv = String::from("id,path,split,register\n");
    for i in 0..n {
        let high = i % 2 == 1;
        let f = if high { 880.0 } else { 220.0 } * (1.0 + i as f32 * 0.01);
        let x: Vec<f32> = (0..11025)
            .map(|t| 0.3 * (2.0 * std::f32::consts::PI * f * t as f32 / 22050.0).sin())
            .collect();
        let name = format!("clip{i:02}.wav");
        std::fs::write(dir.join(&name), wav_pcm16(&[x], 22050)).unwrap();
        let split = ["train", "train", "train", "valid", "test"][(i / 2) % 5];
        csv.push_str(&format!(
            "c{i:02},{name},{split},{}\n",
            if high { "high" } else { "low" }
        ));
    }
    csv
}

fn manifest_config(dir: &Path) -> String {
    format!(
        r#"[run]
name = "files"
out_dir = "{out}"

[[datasets]]
name = "clips"
kind = "manifest"
path = "clips.csv"

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 32

[[tasks]]
name = "register"
dataset = "clips"
target = "register"
bootstrap = 100
"#,
        out = dir.join("out").display()
    )
}

#[test]
fn corrupt_and_missing_audio_fail_naming_the_file_and_keep_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let csv = corpus(dir, 30);
    write(dir, "clips.csv", &csv);
    let cfg = write(dir, "files.toml", &manifest_config(dir));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let cached_before: Vec<_> = walk(&dir.join("out/cache/emb"));
    assert!(!cached_before.is_empty());

    // A file that is not decodable audio is found when the dataset opens,
    // before any extraction: a bad input (exit 2) naming the file and its
    // row and saying how to leave it out.
    std::fs::write(dir.join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunkjunkjunk").unwrap();
    write(dir, "clips.csv", &format!("{csv}bad,broken.wav,test,low\n"));
    let out = repbench(&["run", &cfg, "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("broken.wav")
            && err.contains("row 32")
            && err.contains("not decodable")
            && err.contains("on_error = \"skip\""),
        "{err}"
    );

    // A missing file: a bad input (exit 2) naming the file and its row.
    write(
        dir,
        "clips.csv",
        &format!("{csv}gone,nowhere.wav,test,low\n"),
    );
    let out = repbench(&["run", &cfg, "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("nowhere.wav") && err.contains("row 32"),
        "{err}"
    );

    // Nothing computed before was lost: the original corpus is all cached.
    assert_eq!(walk(&dir.join("out/cache/emb")), cached_before);
    write(dir, "clips.csv", &csv);
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(stats(&dir.join("out"))["shards_computed"], 0);
}

fn walk(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn report_rerenders_and_rejects_a_directory_without_results() {
    let tmp = tempfile::tempdir().unwrap();
    let out = repbench(&["report", &tmp.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("results.jsonl"));
}

/// A directory holding files of two runs (here: results changed after
/// the run, as a run killed while writing leaves them) is refused by
/// `report` and `leaderboard` with the file named; a re-run repairs it.
#[test]
fn report_refuses_a_mixed_output_set_and_a_rerun_repairs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let cfg = write(tmp.path(), "c.toml", &small_config(&out, 40));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let dir = out.display().to_string();
    // The run directory alone regenerates the page, byte for byte: a copy
    // of its files (no cache, no config beside it) renders the same.
    let written = std::fs::read(out.join("report/index.html")).unwrap();
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    assert_ok(&repbench(&["report", &copy.display().to_string()]));
    assert_eq!(
        std::fs::read(copy.join("report/index.html")).unwrap(),
        written
    );
    assert_ok(&repbench(&["report", &dir]));
    assert_eq!(
        std::fs::read(out.join("report/index.html")).unwrap(),
        written
    );
    let results = out.join("results.jsonl");
    let text_before = std::fs::read_to_string(&results).unwrap();
    let first_line = text_before.lines().next().unwrap().to_owned();
    std::fs::write(&results, format!("{text_before}{first_line}\n")).unwrap();
    let page = tmp.path().join("lb.html").display().to_string();
    for args in [
        vec!["report", dir.as_str()],
        vec!["leaderboard", dir.as_str(), "--out", page.as_str()],
    ] {
        let refused = repbench(&args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        let err = text(&refused).1;
        assert!(
            err.contains("results.jsonl") && err.contains("run its config again"),
            "{err}"
        );
    }
    // An unfinished write: no manifest at all.
    std::fs::remove_file(out.join("outputs.json")).unwrap();
    let err = text(&repbench(&["report", &dir])).1;
    assert!(err.contains("outputs.json: missing"), "{err}");
    // Leftovers of a killed atomic write are cleaned by the next run.
    let leftover = out.join(".results.jsonl.99999.0.tmp");
    std::fs::write(&leftover, "partial").unwrap();
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert!(!leftover.exists());
    assert_ok(&repbench(&["report", &dir]));
    assert_eq!(std::fs::read_to_string(&results).unwrap(), text_before);
}

#[test]
fn perturbation_errors_name_the_key_and_range() {
    let tmp = tempfile::tempdir().unwrap();
    let base = small_config(&tmp.path().join("o"), 40);
    let path = write(
        tmp.path(),
        "nyq.toml",
        &(base.clone() + "\n[[perturbations]]\nkind = \"lowpass\"\ncutoff_hz = [4000, 9000]\n"),
    );
    let out = repbench(&["validate", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("perturbations[0].cutoff_hz") && err.contains("Nyquist"),
        "{err}"
    );
    let path = write(
        tmp.path(),
        "kind.toml",
        &(base.clone() + "\n[[perturbations]]\nkind = \"nois\"\nsnr_db = 10\n"),
    );
    let err = text(&repbench(&["validate", &path])).1;
    assert!(
        err.contains("nois") && err.contains("noise") && err.contains("mp3"),
        "{err}"
    );
    let path = write(
        tmp.path(),
        "mp3.toml",
        &(base + "\n[[perturbations]]\nkind = \"mp3\"\nbitrate_kbps = [-32]\n"),
    );
    let err = text(&repbench(&["validate", &path])).1;
    assert!(err.contains("perturbations[0].bitrate_kbps"), "{err}");
}

#[test]
fn skipped_items_are_listed_in_run_json_and_the_report_never_dropped_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let csv = corpus(dir, 30);
    // A missing file, a text file named .wav and a header-only WAV.
    std::fs::write(dir.join("text.wav"), b"not audio at all").unwrap();
    std::fs::write(dir.join("header.wav"), wav_pcm16(&[Vec::new()], 8000)).unwrap();
    write(
        dir,
        "clips.csv",
        &format!(
            "{csv}gone,nowhere.wav,test,low\ntext,text.wav,test,low\nheader,header.wav,train,low\n"
        ),
    );
    let cfg = manifest_config(dir).replace(
        "path = \"clips.csv\"",
        "path = \"clips.csv\"\non_error = \"skip\"",
    );
    let cfg = write(dir, "skip.toml", &cfg);
    let out = repbench(&["run", &cfg, "--quiet"]);
    assert_ok(&out);
    assert!(
        text(&out).1.contains("3 item(s) left out"),
        "{}",
        text(&out).1
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/run.json")).unwrap()).unwrap();
    let skipped = run["skipped_items"].as_array().unwrap();
    assert_eq!(skipped.len(), 3);
    assert_eq!(skipped[0]["id"], "gone");
    for s in &skipped[1..] {
        assert!(
            s["reason"].as_str().unwrap().contains("not decodable"),
            "{s}"
        );
    }
    assert!(skipped[0]["path"].as_str().unwrap().contains("nowhere.wav"));
    let html = std::fs::read_to_string(dir.join("out/report/index.html")).unwrap();
    assert!(html.contains("Data notes") && html.contains("nowhere.wav"));
}
