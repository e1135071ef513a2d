//! What the embedding maps add to a run: PCA and exact t-SNE (with their
//! trustworthiness) of the largest sample a map takes, 500 test items,
//! at 768 dimensions, timed per map. Prints each time beside the time the
//! probe evaluator spends on the same task (logistic probe, 2 500 items,
//! default grid, 1 000 resamples) and their ratio, so the share of a
//! run's evaluation that maps cost is read off one run.
//!
//! `cargo bench -p repbench-tasks --bench maps`

use ndarray::{Array2, Axis};
use rand::Rng as _;
use repbench_framework::dataset::{Item, Label, Split};
use repbench_framework::evaluator::EvalInput;
use repbench_framework::seed;
use repbench_tasks::{build_evaluator, maps, TaskSpec};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let (n, d, classes) = (2500, 768, 10);
    let mut rng = seed::rng(2026, &["bench", "maps"]);
    let items: Vec<Item> = (0..n)
        .map(|i| Item {
            id: format!("i{i}"),
            split: match (i / classes) % 5 {
                0 => Split::Test,
                1 => Split::Valid,
                _ => Split::Train,
            },
            labels: BTreeMap::from([(
                "class".to_string(),
                Label::Text(format!("c{}", i % classes)),
            )]),
            content_key: String::new(),
            source: String::new(),
        })
        .collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        let centre = if j % classes == i % classes { 1.5 } else { 0.0 };
        (centre + rng.gen_range(-1.0..1.0)) as f32
    });
    let spec: TaskSpec = serde_json::from_value(serde_json::json!({
        "name": "bench", "dataset": "d", "target": "class",
        "probes": [{"kind": "logistic"}], "bootstrap": 1000,
    }))
    .expect("spec");
    spec.validate("tasks[0]").expect("valid");
    let evaluator = build_evaluator(&spec);
    let input = EvalInput {
        task: "bench",
        items: &items,
        embeddings: x.view(),
        seed: 42,
        low_memory: false,
    };
    let t = Instant::now();
    evaluator.evaluate(&input).expect("evaluation");
    let probe_s = t.elapsed().as_secs_f64();

    let test: Vec<usize> = (0..n).filter(|i| (i / classes) % 5 == 0).collect();
    let sample = x.select(Axis(0), &test).mapv(f64::from);
    let t = Instant::now();
    let pca = maps::pca(sample.view()).expect("pca");
    let pca_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tsne = maps::tsne(sample.view(), seed::rng(1, &["map"])).expect("tsne");
    let tsne_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let all = evaluator.embedding_maps(&input).expect("maps");
    let both_s = t.elapsed().as_secs_f64();
    assert_eq!(all.len(), 2);

    println!("maps of {} test items × {d} dimensions", test.len());
    println!(
        "  PCA       {pca_s:7.3} s  trustworthiness {:.3}",
        pca.params["trustworthiness"]
    );
    println!(
        "  t-SNE     {tsne_s:7.3} s  trustworthiness {:.3}",
        tsne.params["trustworthiness"]
    );
    println!("  both, through the evaluator (standardised): {both_s:7.3} s");
    println!("logistic probe evaluation of the task ({n} items): {probe_s:7.3} s");
    println!("maps / probe evaluation: {:.2}", both_s / probe_s);
}
