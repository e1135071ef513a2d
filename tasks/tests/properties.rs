//! Invariance and equivariance on constructed representations whose
//! answers are known exactly.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use repbench_framework::dataset::{Item, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, TransformedView};
use repbench_tasks::{build_evaluator, TaskSpec};
use std::collections::BTreeMap;

fn items(n: usize, split_of: impl Fn(usize) -> Split) -> Vec<Item> {
    (0..n)
        .map(|i| Item {
            id: format!("i{i}"),
            split: split_of(i),
            labels: BTreeMap::new(),
            content_key: String::new(),
            source: String::new(),
        })
        .collect()
}

/// 60% train, 20% valid, 20% test, interleaved.
fn random_split(i: usize) -> Split {
    match i % 5 {
        0 => Split::Test,
        1 => Split::Valid,
        _ => Split::Train,
    }
}

fn task(kind: &str, transform: serde_json::Value, extra: serde_json::Value) -> Box<dyn Evaluator> {
    let mut spec = serde_json::json!({
        "name": "t", "dataset": "d", "type": kind, "transform": transform, "bootstrap": 100,
    });
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let spec: TaskSpec = serde_json::from_value(spec).unwrap();
    spec.validate("tasks[0]").unwrap();
    build_evaluator(&spec)
}

/// Evaluates `clean` against views given as (θ per item, embeddings).
fn run(
    evaluator: &dyn Evaluator,
    items: &[Item],
    clean: &Array2<f32>,
    views: &[(Vec<f64>, Array2<f32>)],
) -> Evaluation {
    let views: Vec<TransformedView> = views
        .iter()
        .map(|(theta, m)| TransformedView {
            theta: theta.clone(),
            embeddings: m.view(),
        })
        .collect();
    evaluator
        .evaluate_transformed(
            &EvalInput {
                task: "t",
                items,
                embeddings: clean.view(),
                seed: 3,
                low_memory: false,
            },
            &[views],
        )
        .unwrap()
}

fn value(e: &Evaluation, probe: Option<&str>, metric: &str) -> f64 {
    e.measurements
        .iter()
        .find(|m| m.metric == metric && m.probe.as_deref() == probe)
        .unwrap_or_else(|| panic!("no {metric} for {probe:?}"))
        .value
}

fn gaussian(rng: &mut rand_chacha::ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Item content (n × d, Gaussian), a direction w, and θ ~ U(-4, 4) per item.
fn content(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let c = Array2::from_shape_fn((n, d), |_| gaussian(&mut rng));
    let w = (0..d).map(|_| gaussian(&mut rng)).collect();
    let theta = (0..n).map(|_| rng.gen_range(-4.0..4.0)).collect();
    (c, w, theta)
}

#[test]
fn a_linear_function_of_theta_is_equivariant_and_a_theta_blind_one_is_invariant() {
    let (n, d) = (300, 12);
    let items = items(n, random_split);
    let (c, w, theta) = content(n, d, 1);
    let clean = c.mapv(|v| v as f32);
    let moved = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + theta[i] * w[j]) as f32);
    let range = serde_json::json!({"kind": "pitch_shift", "range": [-4, 4]});
    let equi = task("equivariance", range.clone(), serde_json::json!({}));

    let linear = run(equi.as_ref(), &items, &clean, &[(theta.clone(), moved)]);
    assert!(value(&linear, None, "equivariance") > 0.99, "{linear:?}");
    assert!(value(&linear, None, "map_r2") > 0.99);
    assert!(value(&linear, Some("ridge"), "theta_r2") > 0.99);
    assert!(value(&linear, Some("ridge"), "theta_skill") > 0.9);
    assert!(value(&linear, Some("ridge"), "theta_r2_control").abs() < 0.2);

    let still = run(
        equi.as_ref(),
        &items,
        &clean,
        &[(theta.clone(), clean.clone())],
    );
    assert!(
        value(&still, None, "equivariance").abs() < 0.05,
        "{still:?}"
    );
    assert!(value(&still, Some("ridge"), "theta_r2") < 0.2);
    assert!(value(&still, None, "identity_r2") > 0.999);

    let inv = task("invariance", range, serde_json::json!({}));
    let same = run(inv.as_ref(), &items, &clean, &[(theta, clean.clone())]);
    assert_eq!(value(&same, None, "invariance"), 1.0);
    assert!((value(&same, None, "cka") - 1.0).abs() < 1e-9);
    assert_eq!(value(&same, None, "self_retrieval_r1"), 1.0);
}

#[test]
fn invariance_falls_with_the_size_of_the_move_and_is_zero_for_a_swap() {
    let (n, d) = (200, 8);
    let items = items(n, random_split);
    let (c, w, theta) = content(n, d, 2);
    let clean = c.mapv(|v| v as f32);
    let inv = task(
        "invariance",
        serde_json::json!({"kind": "gain", "range": [-12, 12]}),
        serde_json::json!({}),
    );
    let small = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + 0.05 * theta[i] * w[j]) as f32);
    let large = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + 0.5 * theta[i] * w[j]) as f32);
    let (a, b) = (
        run(inv.as_ref(), &items, &clean, &[(theta.clone(), small)]),
        run(inv.as_ref(), &items, &clean, &[(theta.clone(), large)]),
    );
    assert!(value(&a, None, "invariance") > value(&b, None, "invariance"));
    // Swapping every item for another one: invariance about 0.
    let swapped = Array2::from_shape_fn((n, d), |(i, j)| c[[(i + 5) % n, j]] as f32);
    let s = run(inv.as_ref(), &items, &clean, &[(theta.clone(), swapped)]);
    assert!(value(&s, None, "invariance").abs() < 0.25, "{s:?}");
    // The curve holds one point per quartile of |θ|, larger |θ| moving further.
    let curve: Vec<f64> = b
        .measurements
        .iter()
        .filter(|m| m.metric == "invariance_curve")
        .map(|m| m.value)
        .collect();
    assert_eq!(curve.len(), 4);
    assert!(curve.windows(2).all(|w| w[0] > w[1]), "{curve:?}");
}

#[test]
fn a_collapsed_representation_has_undefined_invariance_never_perfect() {
    let n = 100;
    let items = items(n, random_split);
    let point = Array2::from_elem((n, 6), 0.7f32);
    let theta = vec![1.0; n];
    for normalization in ["standardize", "unit_norm"] {
        let inv = task(
            "invariance",
            serde_json::json!({"kind": "noise", "range": [40, 5]}),
            serde_json::json!({"normalization": normalization}),
        );
        let e = run(
            inv.as_ref(),
            &items,
            &point,
            &[(theta.clone(), point.clone())],
        );
        let m = e
            .measurements
            .iter()
            .find(|m| m.metric == "invariance")
            .unwrap();
        assert!(m.value.is_nan(), "{normalization}: {m:?}");
        assert_eq!(m.params["collapsed"], 1.0);
        assert_eq!(value(&e, None, "self_retrieval_r1"), 0.0);
    }
}

/// A one-hot "activation" at bin `p + θ` of 48 bins, slightly blurred, as
/// a pitch model's output layer under pitch shift.
fn bump(p: f64, bins: usize) -> Vec<f32> {
    (0..bins)
        .map(|b| (-(b as f64 - p).powi(2) / 0.5).exp() as f32)
        .collect()
}

#[test]
fn a_shifting_bump_is_equivariant_when_train_covers_the_bins_and_flagged_when_not() {
    let (n, bins) = (400, 48);
    let pitch: Vec<f64> = (0..n).map(|i| 8.0 + (i * 7 % 32) as f64).collect();
    let grid = [-2.0, 2.0];
    let make = |shift: f64| {
        let rows: Vec<f32> = pitch.iter().flat_map(|&p| bump(p + shift, bins)).collect();
        Array2::from_shape_vec((n, bins), rows).unwrap()
    };
    let clean = make(0.0);
    let views: Vec<(Vec<f64>, Array2<f32>)> = grid.iter().map(|&t| (vec![t; n], make(t))).collect();
    let equi = task(
        "equivariance",
        serde_json::json!({"kind": "pitch_shift", "grid": grid}),
        serde_json::json!({"probes": [{"kind": "ridge"}]}),
    );
    let covered = run(equi.as_ref(), &items(n, random_split), &clean, &views);
    assert!(value(&covered, None, "map_r2") > 0.9, "{covered:?}");
    assert!(value(&covered, None, "equivariance") > 0.8);
    assert!(!covered.measurements[0].params.contains_key("peaked_layer"));

    // Train on low notes only, test on high ones: the test bins never fire
    // on train. Flagged, and no score of −10⁴.
    let disjoint = items(n, |i| {
        if pitch[i] < 24.0 {
            if i % 4 == 0 {
                Split::Valid
            } else {
                Split::Train
            }
        } else {
            Split::Test
        }
    });
    for normalization in ["standardize", "unit_norm"] {
        let equi = task(
            "equivariance",
            serde_json::json!({"kind": "pitch_shift", "grid": grid}),
            serde_json::json!({"probes": [{"kind": "ridge"}], "normalization": normalization}),
        );
        let e = run(equi.as_ref(), &disjoint, &clean, &views);
        let m = e
            .measurements
            .iter()
            .find(|m| m.metric == "map_r2")
            .unwrap();
        assert_eq!(
            m.params.get("peaked_layer"),
            Some(&1.0),
            "{normalization}: {m:?}"
        );
        assert!(m.value > -10.0, "{normalization}: {m:?}");
    }
}

#[test]
fn encoders_are_compared_on_the_same_resamples_of_the_same_items() {
    let (n, d) = (150, 6);
    let items = items(n, random_split);
    let (c, w, theta) = content(n, d, 4);
    let clean = c.mapv(|v| v as f32);
    let inv = task(
        "invariance",
        serde_json::json!({"kind": "gain", "range": [-12, 12]}),
        serde_json::json!({}),
    );
    let near = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + 0.05 * theta[i] * w[j]) as f32);
    let far = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + 0.6 * theta[i] * w[j]) as f32);
    let a = run(inv.as_ref(), &items, &clean, &[(theta.clone(), near)]);
    let b = run(inv.as_ref(), &items, &clean, &[(theta, far)]);
    let found = inv.compare(&items, 3, &a, &b).unwrap();
    let c = found.iter().find(|c| c.metric == "invariance").unwrap();
    assert!(c.delta > 0.0 && c.ci_low > 0.0 && c.p_value < 0.05, "{c:?}");
    assert_eq!(c.n, n / 5);
}

/// An encoder whose transformed output has another width is an error
/// naming both shapes, not a panic.
#[test]
fn views_of_another_width_are_an_error() {
    let n = 50;
    let items = items(n, random_split);
    let clean = Array2::from_elem((n, 4), 1.0f32);
    let wide = Array2::from_elem((n, 5), 1.0f32);
    let view = TransformedView {
        theta: vec![0.0; n],
        embeddings: wide.view(),
    };
    for kind in ["invariance", "equivariance"] {
        let e = task(
            kind,
            serde_json::json!({"kind": "gain", "range": [-6, 6]}),
            serde_json::json!({}),
        );
        let err = e
            .evaluate_transformed(
                &EvalInput {
                    task: "t",
                    items: &items,
                    embeddings: clean.view(),
                    seed: 1,
                    low_memory: false,
                },
                &[vec![view.clone()]],
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(50, 5)") && err.contains("(50, 4)"),
            "{kind}: {err}"
        );
    }
}

/// The exported per-item sums of invariance and equivariance recompute
/// each task's primary score (the records' first) on all test items, and
/// through JSON, so a leaderboard's resamples score what the run scored.
#[test]
fn exported_sums_recompute_the_primary_property_scores() {
    use repbench_framework::record::ItemPredictions;
    use repbench_tasks::exported::PrimaryMetric;
    let (n, d) = (200, 8);
    let items = items(n, random_split);
    let (c, w, theta) = content(n, d, 4);
    let clean = c.mapv(|v| v as f32);
    let moved = Array2::from_shape_fn((n, d), |(i, j)| (c[[i, j]] + 0.3 * theta[i] * w[j]) as f32);
    let range = serde_json::json!({"kind": "pitch_shift", "range": [-4, 4]});
    for kind in ["invariance", "equivariance"] {
        let evaluator = task(kind, range.clone(), serde_json::json!({}));
        let e = run(
            evaluator.as_ref(),
            &items,
            &clean,
            &[(theta.clone(), moved.clone())],
        );
        let exported = evaluator.item_predictions(&items, &e).unwrap();
        let none = exported.iter().find(|p| p.probe == "none").unwrap();
        assert_eq!(none.names[0], kind, "{:?}", none.names);
        assert_eq!(none.ids.len(), n / 5);
        let back: ItemPredictions =
            serde_json::from_str(&serde_json::to_string(none).unwrap()).unwrap();
        let metric = PrimaryMetric::new(&back).unwrap();
        assert_eq!(metric.name(), kind);
        assert!(metric.higher_is_better());
        let all: Vec<usize> = (0..n / 5).collect();
        assert_eq!(metric.on(&all), value(&e, None, kind), "{kind}");
        // Every exported probe's first score is its records' too.
        for p in &exported {
            let m = PrimaryMetric::new(p).unwrap();
            let probe = (p.probe != "none").then_some(p.probe.as_str());
            assert_eq!(m.on(&all), value(&e, probe, m.name()), "{kind} {}", p.probe);
        }
    }
}
