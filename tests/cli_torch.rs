//! End to end with the `torch` feature: TorchScript encoders run from a
//! config, each output is a layer in the results, replacing the `.pt`
//! recomputes only its embeddings, and broken outputs fail cleanly.
#![cfg(feature = "torch")]

mod common;
use common::*;
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("framework/tests/fixtures/torch")
        .join(name)
}

/// Tones, a log-mel baseline and the TorchScript module at `model.pt` in `dir`.
fn torch_config(dir: &Path) -> String {
    format!(
        r#"[run]
name = "torch"
seed = 5
out_dir = "{out}"

[[datasets]]
name = "tones"
kind = "synthetic_tones"
n_items = 60
duration_s = 0.5
timbres = ["sine", "square"]

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 32

[[encoders]]
name = "net"
kind = "torchscript"
path = "model.pt"
sample_rate = 16000
window_s = 0.25
batch_size = 5

[[tasks]]
name = "timbre"
dataset = "tones"
target = "timbre"
probes = [{{ kind = "logistic", alphas = [1.0] }}]
bootstrap = 50
"#,
        out = dir.join("out").display()
    )
}

fn layers_of(out: &Path, encoder: &str) -> Vec<String> {
    let mut layers: Vec<String> = results(out)
        .iter()
        .filter(|r| r["encoder"] == encoder)
        .map(|r| r["layer"].as_str().unwrap().to_string())
        .collect();
    layers.dedup();
    layers
}

#[test]
fn every_output_is_a_layer_and_replacing_the_file_recomputes_only_it() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model.pt");
    std::fs::copy(fixture("waveform_dict.pt"), &model).unwrap();
    let cfg = write(tmp.path(), "torch.toml", &torch_config(tmp.path()));
    let out = tmp.path().join("out");

    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(layers_of(&out, "net"), ["conv", "proj"]);
    assert_eq!(stats(&out)["shards_computed"], 2);
    let first = std::fs::read(out.join("results.jsonl")).unwrap();

    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(stats(&out)["shards_computed"], 0);
    assert_eq!(std::fs::read(out.join("results.jsonl")).unwrap(), first);

    // New weights at the same path: only the TorchScript shard is recomputed.
    std::fs::copy(fixture("waveform_tensor.pt"), &model).unwrap();
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    let s = stats(&out);
    assert_eq!(
        (s["shards_computed"].as_u64(), s["shards_cached"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(layers_of(&out, "net"), ["0"]);
}

#[test]
fn nan_outputs_fail_naming_the_encoder_and_keep_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("waveform_tensor.pt"), tmp.path().join("model.pt")).unwrap();
    let cfg = write(tmp.path(), "torch.toml", &torch_config(tmp.path()));
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));

    std::fs::copy(fixture("returns_nan.pt"), tmp.path().join("model.pt")).unwrap();
    let out = repbench(&["run", &cfg, "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out).1;
    assert!(
        err.contains("encoder \"net\"") && err.contains("NaN"),
        "{err}"
    );

    // The good module's and the baseline's shards are still served.
    std::fs::copy(fixture("waveform_tensor.pt"), tmp.path().join("model.pt")).unwrap();
    assert_ok(&repbench(&["run", &cfg, "--quiet"]));
    assert_eq!(stats(&tmp.path().join("out"))["shards_computed"], 0);
}

#[test]
fn a_module_that_is_not_torchscript_exits_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("state_dict_not_torchscript.pt"),
        tmp.path().join("model.pt"),
    )
    .unwrap();
    let cfg = write(tmp.path(), "torch.toml", &torch_config(tmp.path()));
    let out = repbench(&["validate", &cfg]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out).1;
    assert!(
        err.contains("encoder \"net\"") && err.contains("torch.jit.save"),
        "{err}"
    );
}

/// A shipped zoo config runs end to end once its `.pt` exists: here with
/// the tiny random-weights HuBERT (same export code, same layers) in place
/// of the real weights, every hidden layer becomes results.
#[test]
fn a_zoo_config_runs_with_its_model_in_place() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let tiny = root.join("models/zoo/tiny/hubert-tiny.pt");
    let config = std::fs::read_to_string(root.join("configs/zoo/hubert.toml"))
        .unwrap()
        .replace(
            "../../models/zoo/hubert-base-ls960.pt",
            &tiny.display().to_string(),
        )
        .replace("n_items = 360", "n_items = 120");
    assert!(config.contains(&*tiny.display().to_string()));
    let path = write(dir.path(), "hubert.toml", &config);
    let out = dir.path().join("out");
    assert_ok(&repbench(&[
        "run",
        &path,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    let layers: std::collections::BTreeSet<String> = results(&out)
        .iter()
        .filter(|r| r["encoder"] == "hubert")
        .map(|r| r["layer"].as_str().unwrap().to_string())
        .collect();
    let want = ["conv", "hidden_0", "hidden_1", "hidden_2"];
    assert_eq!(layers, want.map(String::from).into());

    // Left out, the rate comes from the sidecar: the same embeddings.
    let before = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let defaulted = config.replacen("sample_rate = 16000", "", 1);
    let path = write(dir.path(), "defaulted.toml", &defaulted);
    let again = dir.path().join("again");
    assert_ok(&repbench(&[
        "run",
        &path,
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ]));
    let key = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["embedding_key"].to_string()
            })
            .collect()
    };
    assert_eq!(
        key(&std::fs::read_to_string(again.join("results.jsonl")).unwrap()),
        key(&before)
    );

    // The model's sidecar holds the config to the rate it was exported for.
    let wrong = config.replacen("sample_rate = 16000", "sample_rate = 22050", 1);
    let path = write(dir.path(), "wrong_rate.toml", &wrong);
    let ran = repbench(&["run", &path, "--out", out.to_str().unwrap(), "--quiet"]);
    let err = text(&ran).1;
    assert!(!ran.status.success(), "{err}");
    assert!(
        err.contains("hubert-tiny.json") && err.contains("set sample_rate = 16000"),
        "{err}"
    );
}
