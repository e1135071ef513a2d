//! Cross-transform disentanglement on constructed codes whose answers are
//! known exactly.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use repbench_framework::dataset::{Item, Label, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, TransformedView};
use repbench_framework::record::Measurement;
use repbench_tasks::{build_evaluator, TaskSpec};
use std::collections::BTreeMap;

const N: usize = 600;

/// Factor `a` (two classes) lives in dimension 0, factor `b` (a number) in
/// dimension 1; dimension 2 is noise.
fn dataset() -> (Vec<Item>, Array2<f32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut codes = Array2::zeros((N, 3));
    let items = (0..N)
        .map(|i| {
            let class = i % 2;
            let b: f64 = rng.gen_range(-1.0..1.0);
            codes[[i, 0]] = (if class == 0 { -2.0 } else { 2.0 }) + rng.gen_range(-0.3..0.3);
            codes[[i, 1]] = b as f32;
            codes[[i, 2]] = rng.gen_range(-1.0f32..1.0);
            Item {
                id: format!("i{i}"),
                split: match i % 5 {
                    0 => Split::Test,
                    1 => Split::Valid,
                    _ => Split::Train,
                },
                labels: BTreeMap::from([
                    ("a".to_string(), Label::Text(["x", "y"][class].into())),
                    ("b".to_string(), Label::Number(b)),
                ]),
                content_key: String::new(),
                source: String::new(),
            }
        })
        .collect();
    (items, codes)
}

fn evaluator(alters: &str) -> Box<dyn Evaluator> {
    let spec: TaskSpec = toml::from_str(&format!(
        r#"name = "d"
dataset = "x"
type = "disentanglement"
factors = ["a", "b"]
bootstrap = 200
transforms = [
  {{ kind = "gain", range = [-6, 6] }},
  {{ kind = "pitch_shift", range = [-4, 4]{alters} }},
]"#
    ))
    .unwrap();
    spec.validate("tasks[0]").unwrap();
    build_evaluator(&spec)
}

fn run(
    e: &dyn Evaluator,
    items: &[Item],
    clean: &Array2<f32>,
    views: Vec<Vec<(Vec<f64>, Array2<f32>)>>,
) -> Evaluation {
    let views: Vec<Vec<TransformedView>> = views
        .iter()
        .map(|t| {
            t.iter()
                .map(|(theta, m)| TransformedView {
                    theta: theta.clone(),
                    embeddings: m.view(),
                })
                .collect()
        })
        .collect();
    e.evaluate_transformed(
        &EvalInput {
            task: "d",
            items,
            embeddings: clean.view(),
            seed: 4,
            low_memory: false,
        },
        &views,
    )
    .unwrap()
}

fn get<'a>(e: &'a Evaluation, metric: &str) -> &'a Measurement {
    e.measurements
        .iter()
        .find(|m| m.metric == metric)
        .unwrap_or_else(|| panic!("no {metric}"))
}

/// "gain" moves only b's dimension; "pitch_shift" flips a's dimension for
/// items with θ > 0 and leaves b's alone.
fn transformed(clean: &Array2<f32>) -> Vec<Vec<(Vec<f64>, Array2<f32>)>> {
    let theta: Vec<f64> = (0..N)
        .map(|i| ((i * 7919) % 97) as f64 / 96.0 * 8.0 - 4.0)
        .collect();
    let mut gain = clean.clone();
    let mut pitch = clean.clone();
    for i in 0..N {
        gain[[i, 1]] += (0.5 * theta[i]) as f32;
        if theta[i] > 0.0 {
            pitch[[i, 0]] = -pitch[[i, 0]];
        }
    }
    vec![vec![(theta.clone(), gain)], vec![(theta, pitch)]]
}

#[test]
fn a_transform_that_ignores_a_factors_dimensions_does_not_degrade_it() {
    let (items, clean) = dataset();
    let e = run(evaluator("").as_ref(), &items, &clean, transformed(&clean));
    // The clean probes read both factors.
    assert!(get(&e, "accuracy_a").value > 0.99);
    assert!(get(&e, "r2_b").value > 0.99);
    // gain never touches dimension 0: a's predictions are unchanged.
    let a_gain = get(&e, "degradation_a_under_gain");
    assert_eq!(a_gain.value, 0.0);
    assert!(!a_gain.higher_is_better);
    // …but moves b by up to 2 (b spans [-1, 1]): b's R² under gain is
    // below 0, so the loss is capped at 1 (no better than the mean).
    assert!(get(&e, "r2_b_under_gain").value < 0.0);
    assert_eq!(get(&e, "degradation_b_under_gain").value, 1.0);
    // pitch_shift leaves b's dimension alone.
    assert!(get(&e, "degradation_b_under_pitch_shift").value.abs() < 1e-3);
}

/// Flipping a's code for the test items with θ > 0 costs exactly their
/// share of the accuracy: degradation = (acc_clean − acc_tf) / acc_clean.
#[test]
fn degradation_is_the_relative_loss_of_the_factors_score() {
    let (items, clean) = dataset();
    let views = transformed(&clean);
    let theta = &views[1][0].0;
    let test: Vec<usize> = (0..N).filter(|i| i % 5 == 0).collect();
    let flipped = test.iter().filter(|&&i| theta[i] > 0.0).count() as f64 / test.len() as f64;
    let e = run(evaluator("").as_ref(), &items, &clean, views);
    let clean_acc = get(&e, "accuracy_a").value;
    assert_eq!(clean_acc, 1.0);
    let under = get(&e, "accuracy_a_under_pitch_shift").value;
    assert!((under - (1.0 - flipped)).abs() < 1e-12, "{under} {flipped}");
    let d = get(&e, "degradation_a_under_pitch_shift");
    assert!((d.value - flipped).abs() < 1e-12);
    assert!(d.ci_low < d.value && d.value < d.ci_high);
    // One degradation per quartile of |θ|, each with its θ edges.
    let curve: Vec<&Measurement> = e
        .measurements
        .iter()
        .filter(|m| m.metric == "degradation_a_under_pitch_shift_curve")
        .collect();
    assert_eq!(curve.len(), 4);
    assert!(curve.iter().all(|m| m.params.contains_key("abs_theta_low")));
    // Nothing is declared altered: the summary averages all four pairs.
    let all = [
        "a_under_gain",
        "b_under_gain",
        "a_under_pitch_shift",
        "b_under_pitch_shift",
    ]
    .map(|p| get(&e, &format!("degradation_{p}")).value);
    let s = get(&e, "cross_transform_disentanglement");
    assert!((s.value - (1.0 - all.iter().sum::<f64>() / 4.0)).abs() < 1e-12);
    assert_eq!(s.params["pairs"], 4.0);
}

#[test]
fn a_transform_that_alters_the_factor_is_flagged_and_left_out_of_the_summary() {
    let (items, clean) = dataset();
    let e = run(
        evaluator(", alters = [\"a\"]").as_ref(),
        &items,
        &clean,
        transformed(&clean),
    );
    let d = get(&e, "degradation_a_under_pitch_shift");
    assert_eq!(d.params.get("transform_alters_factor"), Some(&1.0));
    assert!(!get(&e, "degradation_b_under_pitch_shift")
        .params
        .contains_key("transform_alters_factor"));
    let rest = ["a_under_gain", "b_under_gain", "b_under_pitch_shift"]
        .map(|p| get(&e, &format!("degradation_{p}")).value);
    let s = get(&e, "cross_transform_disentanglement");
    assert!((s.value - (1.0 - rest.iter().sum::<f64>() / 3.0)).abs() < 1e-12);
    // The axis-based scores are still there.
    assert!(e
        .measurements
        .iter()
        .any(|m| m.metric == "dci_disentanglement"));
}

#[test]
fn transforms_are_checked_with_the_key_that_is_wrong() {
    let base = "name = \"d\"\ndataset = \"x\"\nfactors = [\"a\", \"b\"]\n";
    let check = |extra: &str| {
        let spec: TaskSpec = toml::from_str(&format!("{base}{extra}")).unwrap();
        spec.validate("tasks[0]").unwrap_err().to_string()
    };
    let err = check(
        "type = \"disentanglement\"\ntransforms = [{ kind = \"gain\", range = [-6, 6], alters = [\"c\"] }]",
    );
    assert!(
        err.starts_with("tasks[0].transforms") && err.contains("\"c\""),
        "{err}"
    );
    let err = check(
        "type = \"disentanglement\"\ntransforms = [{ kind = \"gain\", range = [-6, 6] }, { kind = \"gain\", range = [0, 6] }]",
    );
    assert!(err.contains("listed twice"), "{err}");
    let spec = toml::from_str::<TaskSpec>(&format!(
        "{base}type = \"disentanglement\"\ntransforms = [{{ kind = \"gain\", range = [-6, 6], alters = \"a\" }}]"
    ));
    assert!(spec
        .unwrap_err()
        .to_string()
        .contains("list of factor names"));
}
