//! Every shipped config parses, including `configs/examples/corpora.toml`
//! (which points at corpora the repo does not ship, so `repbench validate`
//! cannot build its datasets): each `[[datasets]]`, `[[encoders]]` and `[[tasks]]`
//! table deserialises strictly into its spec type and passes `validate`,
//! and every task names one of the file's datasets.

use repbench_datasets::DatasetSpec;
use repbench_framework::encoder::EncoderSpec;
use repbench_tasks::TaskSpec;
use std::path::{Path, PathBuf};

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn tables(doc: &toml::Table, section: &str) -> Vec<toml::Value> {
    doc.get(section)
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_else(|| panic!("no [[{section}]] tables"))
}

#[test]
fn every_config_parses_into_the_spec_types() {
    let mut files = Vec::new();
    toml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("configs"),
        &mut files,
    );
    files.sort();
    assert!(files
        .iter()
        .any(|f| f.ends_with("examples/manifest_multilabel.toml")));
    for file in &files {
        let at = file.display();
        let text = std::fs::read_to_string(file).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(doc.contains_key("run"), "{at}: no [run]");
        let mut names = Vec::new();
        for (i, t) in tables(&doc, "datasets").into_iter().enumerate() {
            let spec: DatasetSpec = t
                .try_into()
                .unwrap_or_else(|e| panic!("{at}: datasets[{i}]: {e}"));
            spec.validate(&format!("datasets[{i}]"))
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            names.push(spec.name().to_owned());
        }
        for (i, t) in tables(&doc, "encoders").into_iter().enumerate() {
            let spec: EncoderSpec = t
                .try_into()
                .unwrap_or_else(|e| panic!("{at}: encoders[{i}]: {e}"));
            spec.validate(&format!("encoders[{i}]"))
                .unwrap_or_else(|e| panic!("{at}: {e}"));
        }
        for (i, t) in tables(&doc, "tasks").into_iter().enumerate() {
            let spec: TaskSpec = t
                .try_into()
                .unwrap_or_else(|e| panic!("{at}: tasks[{i}]: {e}"));
            spec.validate(&format!("tasks[{i}]"))
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(
                names.contains(&spec.dataset),
                "{at}: tasks[{i}] reads dataset \"{}\", not one of {names:?}",
                spec.dataset
            );
        }
    }
}

#[test]
fn a_misspelled_key_in_a_corpus_table_is_rejected() {
    let t: toml::Value = toml::from_str::<toml::Table>(
        "kind = \"gtzan\"\nname = \"g\"\nroot = \"x\"\nsplit_dirs = \"y\"\n",
    )
    .unwrap()
    .into();
    let err = t.try_into::<DatasetSpec>().unwrap_err().to_string();
    assert!(
        err.contains("split_dirs") && err.contains("split_dir"),
        "{err}"
    );
}
