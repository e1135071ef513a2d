//! End to end: the shipped recommendation example on its synthetic
//! listening log, warm and cold start.

mod common;
use common::*;

fn find<'a>(
    rows: &'a [serde_json::Value],
    task: &str,
    encoder: &str,
    model: &str,
    metric: &str,
) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| {
            r["task"] == task
                && r["encoder"] == encoder
                && r["probe"] == model
                && r["metric"] == metric
        })
        .unwrap_or_else(|| panic!("no {task}/{encoder}/{model}/{metric}"))
}

#[test]
fn the_recommendation_example_scores_three_models_per_encoder_warm_and_cold() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rec");
    let out_s = out.display().to_string();
    let first = repbench(&[
        "run",
        "configs/recommendation.toml",
        "--out",
        &out_s,
        "--quiet",
    ]);
    assert_ok(&first);
    let rows = results(&out);
    for task in ["listening", "listening_cold"] {
        for encoder in ["logmel", "mfcc", "random"] {
            for model in ["knn", "shallow", "collaborative"] {
                for metric in [
                    "ndcg_at_10",
                    "ndcg_at_50",
                    "hit_rate_at_50",
                    "recall_at_50",
                    "mrr",
                ] {
                    let r = find(&rows, task, encoder, model, metric);
                    let (lo, v, hi) = (
                        r["ci_low"].as_f64().unwrap(),
                        r["value"].as_f64().unwrap(),
                        r["ci_high"].as_f64().unwrap(),
                    );
                    assert!(lo <= v && v <= hi && lo < hi, "{r}");
                    assert_eq!(r["evaluator"], "recommendation");
                }
            }
        }
    }
    // Cold start: content models rank new items, collaborative filtering
    // has nothing to go on.
    for encoder in ["logmel", "mfcc"] {
        let content = find(&rows, "listening_cold", encoder, "knn", "ndcg_at_10");
        let cf = find(
            &rows,
            "listening_cold",
            encoder,
            "collaborative",
            "ndcg_at_10",
        );
        assert!(
            content["ci_low"].as_f64().unwrap() > cf["ci_high"].as_f64().unwrap(),
            "{content} vs {cf}"
        );
    }
    // Collaborative rows are a reference, not a layer choice.
    let cf = find(&rows, "listening", "logmel", "collaborative", "mrr");
    assert!(cf.get("valid_score").is_none(), "{cf}");
    let report = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(report.contains("listening_cold") && report.contains("collaborative"));
    let comparisons = std::fs::read_to_string(out.join("comparisons.jsonl")).unwrap();
    assert!(
        comparisons.contains("\"probe\":\"shallow\""),
        "paired tests per model"
    );

    // Same config again: everything from the cache, byte-identical.
    let before = std::fs::read(out.join("results.jsonl")).unwrap();
    assert_ok(&repbench(&[
        "run",
        "configs/recommendation.toml",
        "--out",
        &out_s,
        "--quiet",
    ]));
    assert_eq!(std::fs::read(out.join("results.jsonl")).unwrap(), before);
    assert_eq!(stats(&out)["evaluations_computed"], 0);
}
