//! The runner's bookkeeping around evaluators: cached results are keyed by
//! the implementation version of the code that computed them (bumping one
//! evaluator's version recomputes exactly its results), and comparisons
//! choose each encoder's layer per probe on validation scores.

use ndarray::Array2;
use repbench_framework::cache::Cache;
use repbench_framework::dataset::{Dataset, Item, Split};
use repbench_framework::encoder::Encoder;
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator};
use repbench_framework::pooling::Pooling;
use repbench_framework::progress::Silent;
use repbench_framework::record::{Comparison, Measurement};
use repbench_framework::runner::{execute, PerturbSplits, RunPlan, TaskEntry};
use repbench_framework::Result;
use std::collections::BTreeMap;

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
        Ok((0..400).map(|t| (t as f32 * f * 0.01).sin()).collect())
    }
}

/// Two frames: the first and second half's means; layer 1 is layer 0
/// scaled by `-scale`.
struct Halves {
    name: &'static str,
    scale: f32,
}

impl Encoder for Halves {
    fn name(&self) -> &str {
        self.name
    }
    fn fingerprint(&self) -> String {
        format!("halves/1/{}", self.scale)
    }
    fn sample_rate(&self) -> u32 {
        8000
    }
    fn layers(&self) -> Vec<String> {
        vec!["first".into(), "second".into()]
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        let half = audio.len() / 2;
        let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
        let frames = Array2::from_shape_vec(
            (2, 1),
            vec![mean(&audio[..half]) + 1.0, mean(&audio[half..]) + 1.0],
        )
        .unwrap();
        let flipped = frames.mapv(|v| -self.scale * v);
        Ok(vec![frames, flipped])
    }
    fn pooling(&self) -> Pooling {
        Pooling::Mean
    }
    fn duration_s(&self) -> Option<f64> {
        None
    }
}

/// Reports the embeddings' mean; its implementation version is settable.
/// Two pretend probes: `up` scores a layer by its mean on validation,
/// `down` by minus its mean.
struct MeanOfTest {
    task: String,
    version: u32,
}

impl Evaluator for MeanOfTest {
    fn fingerprint(&self) -> String {
        format!("mean-of-test:{}", self.task)
    }
    fn implementation(&self) -> String {
        format!("mean-of-test/{}", self.version)
    }
    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let value = f64::from(input.embeddings.mean().unwrap_or(0.0));
        Ok(Evaluation {
            measurements: vec![Measurement {
                evaluator: "mean".into(),
                probe: None,
                metric: "mean".into(),
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
            probe_selection: BTreeMap::from([("up".into(), value), ("down".into(), -value)]),
        })
    }

    fn compare(
        &self,
        _items: &[Item],
        _seed: u64,
        a: &Evaluation,
        b: &Evaluation,
    ) -> Result<Vec<Comparison>> {
        Ok(["up", "down"]
            .iter()
            .map(|probe| Comparison {
                probe: (*probe).into(),
                metric: "mean".into(),
                delta: a.selection_score - b.selection_score,
                ci_low: f64::NAN,
                ci_high: f64::NAN,
                p_value: 0.02,
                n: 1,
            })
            .collect())
    }
}

fn plan(cache: &std::path::Path, versions: [u32; 2]) -> RunPlan {
    let items = (0..10)
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
        encoders: vec![
            Box::new(Halves {
                name: "h1",
                scale: 1.0,
            }),
            Box::new(Halves {
                name: "h2",
                scale: 2.0,
            }),
        ],
        tasks: versions
            .iter()
            .enumerate()
            .map(|(i, &version)| TaskEntry {
                name: format!("task{i}"),
                dataset: "tones".into(),
                evaluator: Box::new(MeanOfTest {
                    task: format!("task{i}"),
                    version,
                }) as Box<dyn Evaluator>,
            })
            .collect(),
        perturbations: Vec::new(),
        perturb_splits: PerturbSplits::Test,
        cache: Cache::new(cache),
        checkpoint_items: repbench_framework::runner::DEFAULT_CHECKPOINT_ITEMS,
        max_memory_bytes: None,
    }
}

#[test]
fn bumping_one_evaluators_version_recomputes_only_its_results() {
    let dir = tempfile::tempdir().unwrap();
    // 2 tasks × 2 encoders × 2 layers.
    let first = execute(&plan(dir.path(), [1, 1]), &Silent).unwrap();
    assert_eq!(first.stats.evaluations_computed, 8);
    let again = execute(&plan(dir.path(), [1, 1]), &Silent).unwrap();
    assert_eq!(
        (
            again.stats.evaluations_cached,
            again.stats.evaluations_computed
        ),
        (8, 0)
    );
    let bumped = execute(&plan(dir.path(), [2, 1]), &Silent).unwrap();
    assert_eq!(
        (
            bumped.stats.evaluations_cached,
            bumped.stats.evaluations_computed
        ),
        (4, 4)
    );
    assert_eq!(bumped.stats.shards_cached, 2);
    for r in &bumped.records {
        let expected = if r.task == "task0" {
            "mean-of-test/2"
        } else {
            "mean-of-test/1"
        };
        assert_eq!(r.implementation, expected);
    }
}

#[test]
fn each_probe_compares_the_layer_its_own_validation_score_picks() {
    let dir = tempfile::tempdir().unwrap();
    let out = execute(&plan(dir.path(), [1, 1]), &Silent).unwrap();
    // Layer "first" is positive (best for `up`), "second" negative (best
    // for `down`), for both encoders.
    let task0: Vec<_> = out
        .comparisons
        .iter()
        .filter(|c| c.task == "task0")
        .collect();
    assert_eq!(task0.len(), 2);
    for c in &task0 {
        let expected = if c.comparison.probe == "up" {
            "first"
        } else {
            "second"
        };
        assert_eq!(
            (c.layer_a.as_str(), c.layer_b.as_str()),
            (expected, expected),
            "{c:?}"
        );
        // Two comparisons in the task, each p = 0.02: Holm gives 0.04.
        assert!((c.p_holm - 0.04).abs() < 1e-12, "{c:?}");
    }
}
