//! Fuzzing the manifest readers with mutated CSV and JSONL manifests (and
//! the split assignment and file checks behind them): no input may panic
//! or allocate without bound; a bad manifest is an error with a message.
//! `REPBENCH_FUZZ_SECONDS` sets the time (`scripts/fuzz.sh`); inputs that
//! once failed live in `datasets/tests/fuzz_regressions/manifest/`.

use repbench_datasets::manifest::{open, ManifestSpec};
use repbench_framework::audio::wav_pcm16;
use repbench_framework::fuzz::{Campaign, PeakAlloc};
use std::path::Path;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const CSV: &str = "id,path,split,genre,tempo,tags\n\
a,a.wav,train,rock,120,loud;fast\n\
b,b.wav,train,jazz,90.5,soft\n\
c,c.wav,valid,rock,100,\n\
d,d.wav,valid,jazz,80,soft;slow\n\
e,e.wav,test,rock,140,loud\n\
f,f.wav,test,jazz,60,\"soft,quiet\"\n";

const JSONL: &str = r#"{"id": "a", "path": "a.wav", "split": "train", "genre": "rock", "tempo": 120}
{"id": "b", "path": "b.wav", "split": "train", "genre": "jazz", "tempo": 90.5}
{"id": "c", "path": "c.wav", "split": "valid", "genre": "rock", "tempo": 100}
{"id": "d", "path": "d.wav", "split": "valid", "genre": "jazz", "tempo": 80}
{"id": "e", "path": "e.wav", "split": "test", "genre": "rock", "tempo": 140}
{"id": "f", "path": "f.wav", "split": "test", "genre": "jazz", "tempo": 60}
"#;

fn spec(file: &str, split: Option<serde_json::Value>) -> ManifestSpec {
    let mut value = serde_json::json!({"name": "fuzz", "path": file, "on_error": "skip"});
    if let Some(split) = split {
        value["split"] = split;
    }
    serde_json::from_value(value).expect("a valid manifest spec")
}

#[test]
fn mutated_manifests_never_panic_or_allocate_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    for (i, id) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        let tone: Vec<f32> = (0..400)
            .map(|t| (t as f32 * 0.01 * (i + 1) as f32).sin())
            .collect();
        std::fs::write(
            dir.path().join(format!("{id}.wav")),
            wav_pcm16(&[tone], 8000),
        )
        .unwrap();
    }
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/manifest");
    let campaign = Campaign {
        name: "manifest",
        seeds: vec![CSV.as_bytes().to_vec(), JSONL.as_bytes().to_vec()],
        regressions: Campaign::regressions(&regressions),
        max_allocation: 64 << 20,
    };
    let stratified = serde_json::json!({"method": "stratified", "by": "genre"});
    let failures = campaign.run(&ALLOC, |bytes| {
        let file = if bytes.first() == Some(&b'{') {
            "m.jsonl"
        } else {
            "m.csv"
        };
        std::fs::write(dir.path().join(file), bytes).unwrap();
        for split in [None, Some(stratified.clone())] {
            if let Err(e) = open(&spec(file, split), dir.path(), 0) {
                assert!(!e.to_string().is_empty(), "an error without a message");
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
