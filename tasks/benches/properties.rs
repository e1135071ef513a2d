//! Property-task speed against the targets of issue #11: one equivariance
//! task and one invariance task on 5 000 items × 768 dimensions (60/20/20
//! split, one θ draw per item from a range, embeddings already in memory,
//! i.e. cached), timed end to end (normalisation, maps, θ probes with
//! their default grids, 1 000 bootstrap resamples). Prints each time, the
//! target and their ratio.
//!
//! `cargo bench -p repbench-tasks --bench properties`
//! (`REPBENCH_BENCH_ITEMS=2000` for a quicker look;
//! `REPBENCH_BENCH_PROBES=ridge` to time other θ probes.)

use ndarray::Array2;
use rand::Rng as _;
use repbench_framework::dataset::{Item, Split};
use repbench_framework::evaluator::{EvalInput, TransformedView};
use repbench_framework::seed;
use repbench_tasks::{build_evaluator, TaskSpec};
use std::collections::BTreeMap;
use std::time::Instant;

const TARGET_S: f64 = 10.0;

fn normal(rng: &mut seed::Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(1e-300);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn main() {
    let n: usize = std::env::var("REPBENCH_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let d = 768;
    let mut rng = seed::rng(2026, &["bench", "properties"]);
    let items: Vec<Item> = (0..n)
        .map(|i| Item {
            id: format!("i{i}"),
            split: match i % 5 {
                0 => Split::Test,
                1 => Split::Valid,
                _ => Split::Train,
            },
            labels: BTreeMap::new(),
            content_key: String::new(),
            source: String::new(),
        })
        .collect();
    // Content plus a θ-dependent move along a random direction plus noise.
    let clean = Array2::from_shape_fn((n, d), |_| normal(&mut rng) as f32);
    let w: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
    let theta: Vec<f64> = (0..n).map(|_| rng.gen_range(-4.0..4.0)).collect();
    let moved = Array2::from_shape_fn((n, d), |(i, j)| {
        (f64::from(clean[[i, j]]) + 0.2 * theta[i] * w[j] + 0.3 * normal(&mut rng)) as f32
    });
    let views = [vec![TransformedView {
        theta: theta.clone(),
        embeddings: moved.view(),
    }]];
    let input = EvalInput {
        task: "bench",
        items: &items,
        embeddings: clean.view(),
        seed: 1,
        low_memory: false,
    };
    println!("{n} items × {d} dims, one view; target {TARGET_S} s each");
    for kind in ["equivariance", "invariance"] {
        let mut json = serde_json::json!({
            "name": "bench", "dataset": "d", "type": kind,
            "transform": {"kind": "pitch_shift", "range": [-4, 4]},
        });
        // REPBENCH_BENCH_PROBES=ridge,mlp times other θ probes (default grids).
        if let (Ok(list), "equivariance") = (std::env::var("REPBENCH_BENCH_PROBES"), kind) {
            let probes: Vec<_> = list
                .split(',')
                .map(|k| serde_json::json!({ "kind": k }))
                .collect();
            json["probes"] = serde_json::json!(probes);
        }
        let spec: TaskSpec = serde_json::from_value(json).expect("bench spec");
        spec.validate("bench").expect("valid spec");
        let evaluator = build_evaluator(&spec);
        let t = Instant::now();
        let e = evaluator
            .evaluate_transformed(&input, &views)
            .expect("evaluation");
        let s = t.elapsed().as_secs_f64();
        let headline = e.measurements.first().map_or(f64::NAN, |m| m.value);
        println!(
            "{kind:<13} repbench {s:7.2} s   target {TARGET_S:5.1} s   ratio {:.2}   ({} = {headline:.3})",
            s / TARGET_S,
            e.measurements[0].metric
        );
        for m in e.measurements.iter().filter(|m| m.metric == "theta_r2") {
            println!(
                "              theta_r2 ({}) = {:.3}",
                m.probe.as_deref().unwrap_or("-"),
                m.value
            );
        }
    }
}
