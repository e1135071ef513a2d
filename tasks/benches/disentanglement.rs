//! Disentanglement speed against issue #11's target: MIG, SAP and DCI with
//! their intervals (the task's default resamples) on 5 000 items (60%
//! train for DCI's fit, 20% test) ×
//! 768 codes, three factors (a 25-class pitch, a 4-class instrument, a
//! numeric velocity) mixed into the codes by a random projection plus
//! noise. Prints the time, the target and their ratio.
//!
//! `cargo bench -p repbench-tasks --bench disentanglement`
//! (`REPBENCH_BENCH_ITEMS`, `REPBENCH_BENCH_DIMS` for other sizes.)

use ndarray::Array2;
use rand::Rng as _;
use repbench_framework::dataset::{Item, Label, Split};
use repbench_framework::evaluator::EvalInput;
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

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (n, d) = (
        env("REPBENCH_BENCH_ITEMS", 5000),
        env("REPBENCH_BENCH_DIMS", 768),
    );
    let mut rng = seed::rng(2026, &["bench", "disentanglement"]);
    let factors: Vec<(usize, usize, f64)> = (0..n)
        .map(|_| {
            (
                rng.gen_range(0..25),
                rng.gen_range(0..4),
                f64::from(rng.gen_range(0..3u8)),
            )
        })
        .collect();
    let items: Vec<Item> = factors
        .iter()
        .enumerate()
        .map(|(i, (p, inst, v))| Item {
            id: format!("i{i}"),
            // 60% train (DCI's fit), 20% valid, 20% test.
            split: match i % 5 {
                0 => Split::Test,
                1 => Split::Valid,
                _ => Split::Train,
            },
            labels: BTreeMap::from([
                ("pitch".to_string(), Label::Text(format!("p{p:02}"))),
                ("instrument".to_string(), Label::Text(format!("i{inst}"))),
                ("velocity".to_string(), Label::Number(*v)),
            ]),
            content_key: String::new(),
            source: String::new(),
        })
        .collect();
    // One-hot pitch (25) + one-hot instrument (4) + velocity (1), projected.
    let projection = Array2::from_shape_fn((30, d), |_| normal(&mut rng));
    let latent = Array2::from_shape_fn((n, 30), |(i, j)| {
        let (p, inst, v) = factors[i];
        match j {
            0..=24 => f64::from(u8::from(j == p)),
            25..=28 => f64::from(u8::from(j - 25 == inst)),
            _ => v,
        }
    });
    let codes = (latent.dot(&projection)
        + Array2::from_shape_fn((n, d), |_| 0.5 * normal(&mut rng)))
    .mapv(|v| v as f32);
    let spec: TaskSpec = serde_json::from_value(serde_json::json!({
        "name": "bench", "dataset": "d", "type": "disentanglement",
        "factors": ["pitch", "instrument", "velocity"],
    }))
    .expect("bench spec");
    spec.validate("bench").expect("valid spec");
    let evaluator = build_evaluator(&spec);
    let t = Instant::now();
    let e = evaluator
        .evaluate(&EvalInput {
            task: "bench",
            items: &items,
            embeddings: codes.view(),
            seed: 1,
            low_memory: false,
        })
        .expect("evaluation");
    let s = t.elapsed().as_secs_f64();
    println!("{n} items × {d} codes, 3 factors (25, 4 classes; numeric)");
    println!(
        "disentanglement (MIG, SAP, DCI, intervals) repbench {s:.2} s   target {TARGET_S:.1} s   ratio {:.2}",
        s / TARGET_S
    );
    for m in &e.measurements {
        println!(
            "  {:<20} {:.3} [{:.3}, {:.3}]",
            m.metric, m.value, m.ci_low, m.ci_high
        );
    }
}
