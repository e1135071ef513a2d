//! Writes the run directories of the leaderboard bench (`bench/leaderboard.sh`):
//! 100 sealed runs over one shared test set, each with 2 encoders × 13
//! layers × 8 classification tasks × 4 metrics clean, plus 3 perturbation
//! sweeps of 4 severities — 10 816 records per run — and the matching
//! predictions (100 test items, 4 classes, every unit and severity).
//!
//! `cargo bench -p repbench-reports --bench leaderboard_data -- DIR [RUNS]`

use rand::Rng as _;
use repbench_framework::record::{write_jsonl, ItemPredictions, PredictionRecord, ResultRecord};
use repbench_framework::seed;
use repbench_reports::{layout, outputs};
use std::collections::BTreeMap;
use std::path::PathBuf;

const ENCODERS: usize = 2;
const LAYERS: usize = 13;
const TASKS: usize = 8;
const METRICS: [&str; 4] = ["accuracy", "balanced_accuracy", "f1_macro", "top2"];
const PERTURBATIONS: [&str; 3] = ["noise", "gain", "mp3"];
const SEVERITIES: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
const ITEMS: usize = 100;
const CLASSES: usize = 4;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = PathBuf::from(args.first().expect("usage: leaderboard_data DIR [RUNS]"));
    let runs: usize = args
        .get(1)
        .map_or(100, |r| r.parse().expect("RUNS is a number"));
    let ids: Vec<String> = (0..ITEMS).map(|i| format!("item-{i:04}")).collect();
    let truth: Vec<usize> = (0..ITEMS).map(|i| i % CLASSES).collect();
    for k in 0..runs {
        let run_id = format!("bench-{k:03}");
        let out = dir.join(&run_id);
        std::fs::create_dir_all(&out).expect("run directory");
        let mut rng = seed::rng(7, &["leaderboard-bench", &run_id]);
        let mut records = Vec::new();
        let mut predictions = Vec::new();
        for t in 0..TASKS {
            for e in 0..ENCODERS {
                let encoder = format!("enc-{k:03}-{e}");
                for l in 0..LAYERS {
                    // Per item: right with a probability set by the unit.
                    let skill: f64 = rng.gen_range(0.3..0.95);
                    let variants = std::iter::once(("none", None)).chain(
                        PERTURBATIONS
                            .iter()
                            .flat_map(|p| SEVERITIES.iter().map(move |s| (*p, Some(*s)))),
                    );
                    for (perturbation, severity) in variants {
                        let scores: Vec<Vec<f64>> = truth
                            .iter()
                            .map(|&c| {
                                let right = rng.gen_bool(skill);
                                let guess = if right { c } else { rng.gen_range(0..CLASSES) };
                                (0..CLASSES)
                                    .map(|j| if j == guess { 0.9 } else { 0.1 / 3.0 })
                                    .collect()
                            })
                            .collect();
                        let correct = scores
                            .iter()
                            .zip(&truth)
                            .filter(|(s, &c)| s[c] > 0.5)
                            .count();
                        let value = correct as f64 / ITEMS as f64;
                        for (m, metric) in METRICS.iter().enumerate() {
                            records.push(ResultRecord {
                                run_id: run_id.clone(),
                                encoder: encoder.clone(),
                                layer: format!("layer{l:02}"),
                                dataset: "bench".into(),
                                task: format!("task{t}"),
                                evaluator: "probe".into(),
                                probe: Some("logistic".into()),
                                perturbation: perturbation.into(),
                                severity,
                                seed: 0,
                                metric: (*metric).into(),
                                higher_is_better: true,
                                value: value - 0.01 * m as f64,
                                ci_low: value - 0.1,
                                ci_high: value + 0.1,
                                n: ITEMS,
                                params: BTreeMap::from([("C".to_string(), 1.0)]),
                                probe_seed: None,
                                seed_sd: None,
                                undefined_resamples: 0,
                                implementation: "probe-evaluator/2 logistic/2".into(),
                                test_set: "bench-test-set".into(),
                                valid_score: (perturbation == "none")
                                    .then(|| value + rng.gen_range(-0.05..0.05)),
                                versus_encoder: None,
                                versus_layer: None,
                                embedding_key: format!("{k:03}{e}{l:02}"),
                                config_hash: format!("hash{k:03}"),
                                repbench_version: "0.1.0".into(),
                            });
                        }
                        predictions.push(PredictionRecord {
                            run_id: run_id.clone(),
                            dataset: "bench".into(),
                            task: format!("task{t}"),
                            encoder: encoder.clone(),
                            layer: format!("layer{l:02}"),
                            perturbation: perturbation.into(),
                            severity,
                            test_set: "bench-test-set".into(),
                            predictions: ItemPredictions {
                                probe: "logistic".into(),
                                target: "classes".into(),
                                names: (0..CLASSES).map(|c| format!("c{c}")).collect(),
                                ids: ids.clone(),
                                truth: serde_json::json!(truth),
                                seeds: vec![0],
                                scores: vec![scores],
                                forms: Vec::new(),
                            },
                        });
                    }
                }
            }
        }
        outputs::begin(&out).expect("begin");
        write_jsonl(&out.join(layout::RESULTS), &records).expect("results");
        write_jsonl(&out.join(layout::COMPARISONS), &Vec::<ResultRecord>::new())
            .expect("comparisons");
        let (clean, perturbed): (Vec<_>, Vec<_>) =
            predictions.iter().partition(|p| p.perturbation == "none");
        write_jsonl(&out.join(layout::PREDICTIONS), &clean).expect("predictions");
        write_jsonl(&out.join(layout::PREDICTIONS_PERTURBED), &perturbed).expect("predictions");
        for name in [
            layout::MAPS,
            layout::MATRICES,
            layout::CONFIG,
            layout::SPLITS,
            layout::RUN,
        ] {
            std::fs::write(out.join(name), "").expect("file");
        }
        outputs::seal(&out, &format!("hash{k:03}")).expect("seal");
    }
    println!("{runs} run directories in {}", dir.display());
}
