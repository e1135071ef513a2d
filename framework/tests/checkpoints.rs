//! Extraction checkpoints: a run that stops partway keeps every finished
//! chunk of items in the cache, the next run reads them back instead of
//! recomputing them, and the result is the same as an uninterrupted run.

use ndarray::Array2;
use repbench_framework::cache::Cache;
use repbench_framework::dataset::{Dataset, Item, Split};
use repbench_framework::encoder::Encoder;
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator};
use repbench_framework::pooling::Pooling;
use repbench_framework::progress::Silent;
use repbench_framework::record::{Comparison, Measurement};
use repbench_framework::runner::{execute, PerturbSplits, RunPlan, TaskEntry};
use repbench_framework::{Error, Result};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ITEMS: usize = 10;

struct Tones(Vec<Item>);

impl Dataset for Tones {
    fn name(&self) -> &str {
        "tones"
    }
    fn items(&self) -> &[Item] {
        &self.0
    }
    fn load(&self, item: &Item, _sample_rate: u32) -> Result<Vec<f32>> {
        let f: f32 = item.id[1..].parse::<f32>().unwrap() + 1.0;
        Ok((0..200).map(|t| (t as f32 * f * 0.013).sin()).collect())
    }
}

/// Mean and energy of the audio; fails on the item whose first sample
/// matches `fail_on` (standing in for a kill partway through), and counts
/// the items it encoded. The failure is not in the fingerprint: the same
/// encoder, interrupted, then run again.
struct Stats {
    fail_on: Option<usize>,
    encoded: Arc<AtomicUsize>,
    /// Items from this one on get a wider `mean` layer (a broken encoder).
    widen_from: Option<usize>,
}

impl Encoder for Stats {
    fn name(&self) -> &str {
        "stats"
    }
    fn fingerprint(&self) -> String {
        "stats/1".into()
    }
    fn sample_rate(&self) -> u32 {
        8000
    }
    fn layers(&self) -> Vec<String> {
        vec!["mean".into(), "energy".into()]
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        let n = audio.len() as f32;
        let mean = audio.iter().sum::<f32>() / n;
        let energy = audio.iter().map(|v| v * v).sum::<f32>() / n;
        // Item i's audio starts sin(0) = 0, so identify it by sample 1.
        let which = (0..ITEMS).find(|&i| {
            let f = i as f32 + 1.0;
            ((f * 0.013).sin() - audio[1]).abs() < 1e-7
        });
        if which.is_some() && which == self.fail_on {
            return Err(Error::Other("interrupted".into()));
        }
        self.encoded.fetch_add(1, Ordering::Relaxed);
        let wide = which.is_some_and(|i| self.widen_from.is_some_and(|w| i >= w));
        Ok(vec![
            Array2::from_elem((1, if wide { 4 } else { 2 }), mean),
            Array2::from_elem((1, 3), energy),
        ])
    }
    fn pooling(&self) -> Pooling {
        Pooling::Mean
    }
    fn duration_s(&self) -> Option<f64> {
        None
    }
}

/// Reports the sum of the test embeddings.
struct SumOfTest;

impl Evaluator for SumOfTest {
    fn fingerprint(&self) -> String {
        "sum-of-test".into()
    }
    fn implementation(&self) -> String {
        "sum-of-test/1".into()
    }
    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let value = f64::from(input.embeddings.sum());
        Ok(Evaluation {
            measurements: vec![Measurement {
                evaluator: "sum".into(),
                probe: None,
                metric: "sum".into(),
                higher_is_better: true,
                value,
                ci_low: value,
                ci_high: value,
                n: input.items.len(),
                params: BTreeMap::new(),
                probe_seed: None,
                seed_sd: None,
                undefined_resamples: 0,
            }],
            predictions: serde_json::Value::Null,
            selection_score: value,
            probe_selection: BTreeMap::new(),
        })
    }
    fn compare(
        &self,
        _: &[Item],
        _: u64,
        _: &Evaluation,
        _: &Evaluation,
    ) -> Result<Vec<Comparison>> {
        Ok(Vec::new())
    }
}

fn plan(cache: &std::path::Path, encoder: Stats, checkpoint_items: usize) -> RunPlan {
    let items = (0..ITEMS)
        .map(|i| Item {
            id: format!("t{i}"),
            split: [Split::Train, Split::Valid, Split::Test][i % 3],
            labels: BTreeMap::new(),
            content_key: format!("tone-{i}"),
            source: String::new(),
        })
        .collect();
    RunPlan {
        run_id: "r".into(),
        config_hash: "h".into(),
        seed: 0,
        datasets: vec![Box::new(Tones(items))],
        encoders: vec![Box::new(encoder)],
        tasks: vec![TaskEntry {
            name: "sum".into(),
            dataset: "tones".into(),
            evaluator: Box::new(SumOfTest),
        }],
        perturbations: Vec::new(),
        perturb_splits: PerturbSplits::Test,
        cache: Cache::new(cache),
        checkpoint_items,
        max_memory_bytes: None,
    }
}

fn stats(fail_on: Option<usize>) -> (Stats, Arc<AtomicUsize>) {
    let encoded = Arc::new(AtomicUsize::new(0));
    let encoder = Stats {
        fail_on,
        encoded: encoded.clone(),
        widen_from: None,
    };
    (encoder, encoded)
}

fn embedding_entries(cache: &Cache) -> Vec<serde_json::Value> {
    cache
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "embeddings")
        .map(|e| e.about)
        .collect()
}

#[test]
fn an_interrupted_extraction_keeps_its_finished_chunks_and_resumes_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    // Checkpoints of 3 items: [0,3) [3,6) [6,9) [9,10); item 7 fails.
    let (failing, _) = stats(Some(7));
    let err = execute(&plan(dir.path(), failing, 3), &Silent)
        .err()
        .expect("the run stops at item 7");
    assert!(err.to_string().contains("t7"), "{err}");
    let kept = embedding_entries(&cache);
    assert_eq!(kept.len(), 2, "the two finished checkpoints: {kept:?}");
    assert!(kept.iter().all(|a| a.get("chunk_of").is_some()));

    let (resumed_encoder, encoded) = stats(None);
    let resumed = execute(&plan(dir.path(), resumed_encoder, 3), &Silent).unwrap();
    assert_eq!(resumed.stats.chunks_cached, 2);
    assert_eq!(resumed.stats.chunks_computed, 2);
    assert_eq!(encoded.load(Ordering::Relaxed), 4, "only items 6..10 run");
    // The whole shard replaces its checkpoints.
    let left = embedding_entries(&cache);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].get("chunk_of").is_none());

    let fresh_dir = tempfile::tempdir().unwrap();
    let (fresh_encoder, _) = stats(None);
    let fresh = execute(&plan(fresh_dir.path(), fresh_encoder, 3), &Silent).unwrap();
    let json =
        |r: &repbench_framework::runner::RunOutcome| serde_json::to_string(&r.records).unwrap();
    assert_eq!(json(&resumed), json(&fresh));
    let key = left_key(&cache);
    let npy = |c: &Cache| std::fs::read(c.embedding_dir(&key).join("layer_1.npy")).unwrap();
    assert_eq!(
        npy(&cache),
        npy(&Cache::new(fresh_dir.path())),
        "the stored embeddings are byte-identical"
    );
}

fn left_key(cache: &Cache) -> String {
    cache
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "embeddings")
        .unwrap()
        .key
}

#[test]
fn a_damaged_checkpoint_is_recomputed_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let (failing, _) = stats(Some(9));
    assert!(execute(&plan(dir.path(), failing, 3), &Silent).is_err());
    let chunks: Vec<_> = cache
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "embeddings")
        .collect();
    assert_eq!(chunks.len(), 3);
    let layer = cache.embedding_dir(&chunks[0].key).join("layer_0.npy");
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&layer, bytes).unwrap();

    let (encoder, encoded) = stats(None);
    let out = execute(&plan(dir.path(), encoder, 3), &Silent).unwrap();
    assert_eq!(out.stats.corrupt_entries.len(), 1, "{:?}", out.stats);
    assert_eq!((out.stats.chunks_cached, out.stats.chunks_computed), (2, 2));
    assert_eq!(encoded.load(Ordering::Relaxed), 4);
}

#[test]
fn a_dataset_within_one_checkpoint_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (encoder, _) = stats(None);
    let out = execute(&plan(dir.path(), encoder, 256), &Silent).unwrap();
    assert_eq!((out.stats.chunks_cached, out.stats.chunks_computed), (0, 0));
    assert_eq!(out.stats.shards_computed, 1);
}

/// Under a memory budget a chunked dataset holds one checkpoint at a time
/// and its shard is assembled on disk from the checkpoints: the stored
/// shard is byte-identical to one built in memory, also when a resumed run
/// assembles it from an interrupted run's checkpoints.
#[test]
fn under_a_memory_budget_shards_are_assembled_from_checkpoints_on_disk() {
    let budget = |dir: &std::path::Path, encoder: Stats| RunPlan {
        max_memory_bytes: Some(64),
        ..plan(dir, encoder, 3)
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let (failing, _) = stats(Some(7));
    assert!(execute(&budget(dir.path(), failing), &Silent).is_err());
    let (encoder, encoded) = stats(None);
    let resumed = execute(&budget(dir.path(), encoder), &Silent).unwrap();
    assert_eq!(
        (resumed.stats.chunks_cached, resumed.stats.chunks_computed),
        (2, 2)
    );
    assert_eq!(encoded.load(Ordering::Relaxed), 4, "only items 6..10 run");
    // 10 items × 5 floats do not fit an eighth of 64 bytes.
    assert_eq!(
        (
            resumed.stats.shards_held,
            resumed.stats.shards_read_per_unit
        ),
        (0, 1)
    );
    let left = embedding_entries(&cache);
    assert_eq!(left.len(), 1, "the checkpoints are gone: {left:?}");

    let memory_dir = tempfile::tempdir().unwrap();
    let (encoder, _) = stats(None);
    let in_memory = execute(&plan(memory_dir.path(), encoder, 3), &Silent).unwrap();
    let json =
        |r: &repbench_framework::runner::RunOutcome| serde_json::to_string(&r.records).unwrap();
    assert_eq!(json(&resumed), json(&in_memory));
    let key = left_key(&cache);
    for layer in ["layer_0.npy", "layer_1.npy"] {
        let npy = |c: &Cache| std::fs::read(c.embedding_dir(&key).join(layer)).unwrap();
        assert_eq!(npy(&cache), npy(&Cache::new(memory_dir.path())), "{layer}");
    }
}

/// An encoder whose output width changes between checkpoints is refused
/// naming the layer and items, as it is within one checkpoint.
#[test]
fn a_width_change_between_checkpoints_is_an_error_naming_the_items() {
    let dir = tempfile::tempdir().unwrap();
    let (mut encoder, _) = stats(None);
    encoder.widen_from = Some(6);
    let err = execute(
        &RunPlan {
            max_memory_bytes: Some(1 << 20),
            ..plan(dir.path(), encoder, 3)
        },
        &Silent,
    )
    .err()
    .expect("items 6.. are wider")
    .to_string();
    assert!(
        err.contains("layer mean")
            && err.contains("\"t6\" to \"t8\"")
            && err.contains("dimension 4"),
        "{err}"
    );
}
