//! The report's first screen: for each task, every encoder's primary
//! metric (the layer and probe it scores best with on *validation*), the
//! best value marked together with every encoder not significantly worse
//! than it (Holm-adjusted paired tests), and one sentence saying who
//! leads, by how much, and whether that is real.

use repbench_framework::record::{ComparisonRecord, ResultRecord};
use serde::Serialize;

/// Evaluators whose values score an encoder against a target, so a best
/// value or a rank means something (descriptive statistics are neither
/// marked nor ranked).
pub(crate) const SCORED: [&str; 4] = ["probe", "retrieval", "invariance", "equivariance"];

/// Of `rows`, the one with the best validation score per key, in
/// first-seen key order; ties keep the earlier row and a missing score
/// ranks lowest. The rule comparisons, the "who wins" table and the
/// leaderboard all choose an encoder's layer and probe by.
pub(crate) fn best_by_validation<'a, T, K: PartialEq>(
    rows: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    record: impl Fn(&T) -> &'a ResultRecord,
) -> Vec<T> {
    let score = |r: &ResultRecord| r.valid_score.unwrap_or(f64::NEG_INFINITY);
    let mut best: Vec<T> = Vec::new();
    for row in rows {
        match best.iter_mut().find(|b| key(b) == key(&row)) {
            Some(slot) if score(record(&row)) > score(record(slot)) => *slot = row,
            Some(_) => {}
            None => best.push(row),
        }
    }
    best
}

/// Each (task, encoder)'s representative record, task by task in
/// first-seen order: the task's primary metric (its first) for the layer
/// and probe with the best validation score; where no record of the task
/// has one (descriptive tasks), every layer's record. Drift and robustness
/// records are left out.
pub fn representatives(records: &[ResultRecord]) -> Vec<&ResultRecord> {
    let clean: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| {
            r.perturbation == "none"
                && r.probe_seed.is_none()
                && r.evaluator != "drift"
                && !r.is_pairwise()
                && !r.is_label_curve()
        })
        .collect();
    let mut tasks: Vec<&str> = Vec::new();
    for r in &clean {
        if !tasks.contains(&r.task.as_str()) {
            tasks.push(&r.task);
        }
    }
    let mut out = Vec::new();
    for task in tasks {
        let of_task: Vec<&ResultRecord> =
            clean.iter().copied().filter(|r| r.task == task).collect();
        let metric = &of_task[0].metric;
        let rows: Vec<&ResultRecord> = of_task
            .into_iter()
            .filter(|r| &r.metric == metric)
            .collect();
        if rows.iter().all(|r| r.valid_score.is_none()) {
            out.extend(rows);
            continue;
        }
        out.extend(best_by_validation(rows, |r| r.encoder.clone(), |r| *r));
    }
    out
}

/// One encoder's cell in the answer table.
#[derive(Serialize)]
pub struct Cell {
    value: String,
    low: String,
    high: String,
    layer: String,
    probe: String,
    /// The best value, or not significantly worse than it.
    top: bool,
}

/// One task's row.
#[derive(Serialize)]
pub struct TaskAnswer {
    task: String,
    metric: String,
    higher_is_better: bool,
    cells: Vec<Option<Cell>>,
    sentence: String,
}

/// The answer table: encoders as columns, tasks as rows.
#[derive(Serialize)]
pub struct Answer {
    encoders: Vec<String>,
    tasks: Vec<TaskAnswer>,
    /// Some task is scored over the whole set (the note explains how).
    set_level: bool,
}

/// The comparison of `a` and `b` on `r`'s task, metric and probe,
/// oriented as `a − b`: (Δ, low, high, Holm p).
fn paired(
    comparisons: &[ComparisonRecord],
    a: &ResultRecord,
    b: &ResultRecord,
) -> Option<(f64, f64, f64, f64)> {
    // Evaluators without a probe (retrieval, properties) compare as "none".
    let probe = a.probe.as_deref().unwrap_or("none");
    comparisons.iter().find_map(|c| {
        let k = &c.comparison;
        if c.task != a.task || k.metric != a.metric || k.probe != probe {
            return None;
        }
        if c.encoder_a == a.encoder && c.encoder_b == b.encoder {
            Some((k.delta, k.ci_low, k.ci_high, c.p_holm))
        } else if c.encoder_a == b.encoder && c.encoder_b == a.encoder {
            Some((-k.delta, -k.ci_high, -k.ci_low, c.p_holm))
        } else {
            None
        }
    })
}

/// Evaluators the first screen answers for besides [`SCORED`]: their
/// scores rank encoders, but they are computed over the whole test set,
/// so no per-item paired test exists for them.
const SET_LEVEL: [&str; 1] = ["disentanglement"];

/// Evaluators the first screen answers for that the cross-run leaderboard
/// does not rank: a recommendation task's test set is its log's users, not
/// the dataset's test items the leaderboard merges runs by. Its encoders
/// are compared per test user (paired), like [`SCORED`] ones.
const RUN_ONLY: [&str; 1] = ["recommendation"];

/// Builds the answer from the run's records and comparisons.
pub fn answer(records: &[ResultRecord], comparisons: &[ComparisonRecord]) -> Answer {
    let mut reps: Vec<&ResultRecord> = representatives(records)
        .into_iter()
        .filter(|r| {
            let e = r.evaluator.as_str();
            SCORED.contains(&e) || SET_LEVEL.contains(&e) || RUN_ONLY.contains(&e)
        })
        .collect();
    // Without validation scores (set-level tasks) every layer is a
    // representative; the answer shows each encoder's first, never the
    // layer that happens to score best on test.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    reps.retain(|r| {
        let key = (r.task.as_str(), r.encoder.as_str());
        !seen.contains(&key) && {
            seen.push(key);
            true
        }
    });
    let set_level = reps
        .iter()
        .any(|r| SET_LEVEL.contains(&r.evaluator.as_str()));
    let mut encoders: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    for r in &reps {
        if !encoders.contains(&r.encoder) {
            encoders.push(r.encoder.clone());
        }
        if !tasks.contains(&r.task) {
            tasks.push(r.task.clone());
        }
    }
    let tasks = tasks
        .into_iter()
        .map(|task| {
            let rows: Vec<&ResultRecord> =
                reps.iter().copied().filter(|r| r.task == task).collect();
            let higher = rows[0].higher_is_better;
            let better = |x: f64, y: f64| if higher { x > y } else { x < y };
            let mut ranked: Vec<&ResultRecord> =
                rows.iter().copied().filter(|r| !r.value.is_nan()).collect();
            ranked.sort_by(|a, b| {
                if higher {
                    b.value.total_cmp(&a.value)
                } else {
                    a.value.total_cmp(&b.value)
                }
            });
            let best = ranked.first().copied();
            let top = |r: &ResultRecord| match best {
                Some(b) if std::ptr::eq(b, r) || !better(b.value, r.value) => true,
                Some(b) => {
                    paired(comparisons, b, r).is_some_and(|(_, _, _, p)| p.is_nan() || p >= 0.05)
                }
                None => false,
            };
            let cells = encoders
                .iter()
                .map(|e| {
                    rows.iter().find(|r| &r.encoder == e).map(|r| Cell {
                        value: format!("{:.3}", r.value),
                        low: format!("{:.3}", r.ci_low),
                        high: format!("{:.3}", r.ci_high),
                        layer: r.layer.clone(),
                        probe: r.probe.clone().unwrap_or_default(),
                        top: top(r),
                    })
                })
                .collect();
            TaskAnswer {
                sentence: sentence(&task, &ranked, comparisons),
                metric: rows[0].metric.clone(),
                higher_is_better: higher,
                cells,
                task,
            }
        })
        .collect();
    Answer {
        encoders,
        tasks,
        set_level,
    }
}

/// Whether two 95% intervals overlap, in words; undefined where either
/// has an undefined bound (no bootstrap).
fn intervals_meet(a: &ResultRecord, b: &ResultRecord) -> &'static str {
    let bounds = [a.ci_low, a.ci_high, b.ci_low, b.ci_high];
    if bounds.iter().any(|v| v.is_nan()) {
        "are not all defined"
    } else if a.ci_low.max(b.ci_low) <= a.ci_high.min(b.ci_high) {
        "overlap"
    } else {
        "do not overlap"
    }
}

/// "logmel leads mfcc on pitch_class by 0.056 [0.000, 0.125] (accuracy,
/// logistic), not significant after Holm correction (p = 0.134)."
fn sentence(task: &str, ranked: &[&ResultRecord], comparisons: &[ComparisonRecord]) -> String {
    match ranked {
        [] => format!("No encoder has a defined value on {task}."),
        [only] => format!(
            "{} scores {:.3} [{:.3}, {:.3}] on {task} ({}); nothing to compare it with.",
            only.encoder, only.value, only.ci_low, only.ci_high, only.metric
        ),
        [first, second, ..] if first.value == second.value => format!(
            "{} and {} tie on {task} at {:.3} ({}).",
            first.encoder, second.encoder, first.value, first.metric
        ),
        [first, second, ..] => {
            let how =
                match paired(comparisons, first, second) {
                    Some((d, lo, hi, p)) => format!(
                    "by {d:.3} [{lo:.3}, {hi:.3}] ({}), {} after Holm correction (p = {p:.3})",
                    match &first.probe {
                        Some(probe) => format!("{}, {probe}", first.metric),
                        None => first.metric.clone(),
                    },
                    if p < 0.05 { "significant" } else { "not significant" }
                ),
                    None if SET_LEVEL.contains(&first.evaluator.as_str()) => format!(
                    "by {:.3} ({}); no paired test exists for a score of the whole set, and the 95% intervals [{:.3}, {:.3}] and [{:.3}, {:.3}] {}",
                    (first.value - second.value).abs(),
                    first.metric,
                    first.ci_low,
                    first.ci_high,
                    second.ci_low,
                    second.ci_high,
                    intervals_meet(first, second)
                ),
                    None => format!(
                    "by {:.3} ({}); no paired test was run (bootstrap = 0 or a different probe)",
                    (first.value - second.value).abs(),
                    first.metric
                ),
                };
            format!(
                "{} leads {} on {task} {how}.",
                first.encoder, second.encoder
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::record::Comparison;

    fn rec(encoder: &str, layer: &str, value: f64, valid: f64) -> ResultRecord {
        ResultRecord {
            layer: layer.into(),
            valid_score: Some(valid),
            ..crate::tests::record(encoder, value)
        }
    }

    fn comparison(a: &str, b: &str, delta: f64, p_holm: f64) -> ComparisonRecord {
        ComparisonRecord {
            run_id: "r".into(),
            dataset: "d".into(),
            task: "pitch".into(),
            encoder_a: a.into(),
            layer_a: "l".into(),
            encoder_b: b.into(),
            layer_b: "l".into(),
            comparison: Comparison {
                probe: "logistic".into(),
                metric: "accuracy".into(),
                delta,
                ci_low: delta - 0.05,
                ci_high: delta + 0.05,
                p_value: p_holm / 2.0,
                n: 10,
            },
            p_holm,
        }
    }

    /// A recommendation task is answered with each encoder's model chosen
    /// on validation; collaborative filtering (no validation score: it
    /// ignores the embeddings) never represents an encoder.
    #[test]
    fn recommendation_tasks_are_answered_by_their_content_models() {
        let model = |encoder: &str, probe: &str, value: f64, valid: Option<f64>| ResultRecord {
            task: "listening".into(),
            evaluator: "recommendation".into(),
            probe: Some(probe.into()),
            metric: "ndcg_at_50".into(),
            valid_score: valid,
            ..crate::tests::record(encoder, value)
        };
        let records = vec![
            model("a", "knn", 0.20, Some(0.21)),
            model("a", "shallow", 0.25, Some(0.24)),
            model("a", "collaborative", 0.40, None),
            model("b", "knn", 0.10, Some(0.11)),
            model("b", "collaborative", 0.40, None),
        ];
        let answer = answer(&records, &[]);
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(answer.tasks.len(), 1, "{text}");
        let cells: Vec<&Cell> = answer.tasks[0].cells.iter().flatten().collect();
        let probes: Vec<&str> = cells.iter().map(|c| c.probe.as_str()).collect();
        assert_eq!(probes, ["shallow", "knn"], "{text}");
    }

    /// Three encoders: "deep" wins with its validation-chosen layer; "mid"
    /// is not significantly worse (marked too); "weak" is.
    #[test]
    fn the_best_and_everything_not_significantly_worse_are_marked() {
        let records = vec![
            rec("deep", "3", 0.90, 0.8),
            rec("deep", "7", 0.95, 0.6),
            rec("mid", "0", 0.85, 0.7),
            rec("weak", "0", 0.60, 0.5),
        ];
        let comparisons = vec![
            comparison("deep", "mid", 0.05, 0.20),
            comparison("weak", "deep", -0.30, 0.003),
        ];
        let a = answer(&records, &comparisons);
        assert_eq!(a.encoders, ["deep", "mid", "weak"]);
        assert!(!a.set_level, "no note on set-level scores without them");
        let t = &a.tasks[0];
        let cell = |i: usize| t.cells[i].as_ref().unwrap();
        assert_eq!(
            (cell(0).layer.as_str(), cell(0).value.as_str()),
            ("3", "0.900")
        );
        assert_eq!((cell(0).top, cell(1).top, cell(2).top), (true, true, false));
        assert_eq!(
            t.sentence,
            "deep leads mid on pitch by 0.050 [0.000, 0.100] (accuracy, logistic), not significant after Holm correction (p = 0.200)."
        );
    }

    /// Retrieval and property records have no probe; their comparisons say
    /// probe "none". Both must meet, or the sentence claims no test ran.
    #[test]
    fn results_without_a_probe_find_their_comparisons() {
        let unprobed = |encoder: &str, value: f64| ResultRecord {
            evaluator: "invariance".into(),
            probe: None,
            metric: "invariance".into(),
            ..rec(encoder, "0", value, 0.5)
        };
        let mut c = comparison("a", "b", 0.2, 0.01);
        c.comparison.probe = "none".into();
        c.comparison.metric = "invariance".into();
        let a = answer(&[unprobed("a", 0.9), unprobed("b", 0.7)], &[c]);
        let sentence = &a.tasks[0].sentence;
        assert!(
            sentence.contains("significant") && !sentence.contains("no paired test"),
            "{sentence}"
        );
    }

    /// MIG has no validation score and no paired test: each encoder's
    /// first layer is shown (not its best on test), and the sentence says
    /// what can be said instead.
    #[test]
    fn set_level_scores_answer_without_choosing_layers_on_test() {
        let mig = |encoder: &str, layer: &str, value: f64, ci: (f64, f64)| ResultRecord {
            evaluator: "disentanglement".into(),
            probe: None,
            metric: "mig".into(),
            valid_score: None,
            ci_low: ci.0,
            ci_high: ci.1,
            layer: layer.into(),
            ..crate::tests::record(encoder, value)
        };
        let records = vec![
            mig("mfcc", "mfcc", 0.22, (0.15, 0.23)),
            mig("random", "layer1", 0.04, (0.02, 0.08)),
            mig("random", "layer2", 0.30, (0.25, 0.35)),
        ];
        let a = answer(&records, &[]);
        assert!(a.set_level, "the note on set-level scores is shown");
        let t = &a.tasks[0];
        let random = t.cells[1].as_ref().unwrap();
        assert_eq!(
            random.layer, "layer1",
            "the first layer, not the best on test"
        );
        assert!(t.cells[0].as_ref().unwrap().top && !random.top);
        assert_eq!(
            t.sentence,
            "mfcc leads random on pitch by 0.180 (mig); no paired test exists for a score of the whole set, and the 95% intervals [0.150, 0.230] and [0.020, 0.080] do not overlap."
        );
        let overlapping = vec![
            mig("mfcc", "mfcc", 0.22, (0.15, 0.23)),
            mig("random", "layer1", 0.20, (0.12, 0.26)),
        ];
        assert!(answer(&overlapping, &[]).tasks[0]
            .sentence
            .ends_with("[0.150, 0.230] and [0.120, 0.260] overlap."));
        let unbootstrapped = vec![
            mig("mfcc", "mfcc", 0.22, (f64::NAN, f64::NAN)),
            mig("random", "layer1", 0.20, (f64::NAN, f64::NAN)),
        ];
        assert!(answer(&unbootstrapped, &[]).tasks[0]
            .sentence
            .ends_with("are not all defined."));
    }
}
