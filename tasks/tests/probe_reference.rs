//! The logistic probe against scikit-learn's `LogisticRegression` (lbfgs)
//! at α ∈ {100, 1, 0.01}: the same optimum on unseen inputs (multinomial,
//! binary, one binary model per tag), reached on an ill-conditioned design,
//! and stopping after about as many iterations at `tol = 1e-4`. Reference
//! values: `scripts/make_probe_reference.py`.

use ndarray::Array2;
use repbench_tasks::probes::logistic::LogisticParams;
use repbench_tasks::probes::{FitData, ProbeSpec};
use repbench_tasks::targets::{Scores, Targets};
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/probe_reference.json")).unwrap()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

fn targets(logistic: &Value, kind: &str) -> Targets {
    match kind {
        "tags" => Targets::Tags {
            y: matrix(&logistic["y_tags"]),
            names: vec!["a".into(), "b".into(), "c".into()],
        },
        _ => {
            let y: Vec<usize> =
                serde_json::from_value(logistic[format!("y_{kind}")].clone()).unwrap();
            let k = y.iter().max().unwrap() + 1;
            Targets::Classes {
                y,
                names: (0..k).map(|c| c.to_string()).collect(),
            }
        }
    }
}

fn probabilities(scores: Scores) -> Array2<f64> {
    match scores {
        Scores::Classes(p) | Scores::Tags(p) => p,
        other => panic!("{other:?}"),
    }
}

/// Fits one α on `x` and returns the model's test scores and parameters.
fn fit(
    x: &Array2<f64>,
    t: &Targets,
    x_test: &Array2<f64>,
    alpha: f64,
    max_iter: u64,
    tol: f64,
) -> (Scores, std::collections::BTreeMap<String, f64>) {
    let data = FitData {
        x_train: x.view().into(),
        t_train: t,
        x_valid: x.view(),
        t_valid: t,
    };
    let probe = ProbeSpec::Logistic(LogisticParams {
        alphas: vec![alpha],
        max_iter,
        tol,
    });
    let fitted = probe.fit_select(&data, 0).unwrap();
    (fitted.model.predict(x_test.view()), fitted.params)
}

fn theirs_dim(case: &Value) -> (usize, usize) {
    matrix(&case["test_probabilities"]).dim()
}

#[test]
fn logistic_reaches_scikit_learns_optimum_at_every_alpha() {
    let r = reference();
    let logistic = &r["logistic"];
    let (x, x_test) = (matrix(&logistic["x_train"]), matrix(&logistic["x_test"]));
    for case in logistic["cases"].as_array().unwrap() {
        let (kind, alpha) = (
            case["kind"].as_str().unwrap(),
            case["alpha"].as_f64().unwrap(),
        );
        let (scores, _) = fit(&x, &targets(logistic, kind), &x_test, alpha, 10_000, 1e-10);
        let ours = probabilities(scores);
        assert_eq!(ours.dim(), theirs_dim(case), "{kind}");
        let theirs = matrix(&case["test_probabilities"]);
        let worst = (&ours - &theirs)
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        assert!(
            worst < 1e-5,
            "{kind} alpha={alpha}: largest probability difference {worst:e}"
        );
    }
}

#[test]
fn logistic_tol_stops_where_scikit_learns_does() {
    let r = reference();
    let logistic = &r["logistic"];
    let (x, x_test) = (
        matrix(&logistic["x_train_standardised"]),
        matrix(&logistic["x_test"]),
    );
    for case in logistic["cases"].as_array().unwrap() {
        let (kind, alpha) = (
            case["kind"].as_str().unwrap(),
            case["alpha"].as_f64().unwrap(),
        );
        let (_, params) = fit(&x, &targets(logistic, kind), &x_test, alpha, 100, 1e-4);
        let sklearn: Vec<f64> =
            serde_json::from_value(case["sklearn_iterations_standardised_tol_1e-4"].clone())
                .unwrap();
        let theirs = sklearn.iter().copied().fold(0.0, f64::max);
        let ours = params["iterations"];
        assert!(
            ours <= 2.0 * theirs + 3.0 && ours >= 0.5 * theirs - 3.0,
            "{kind} alpha={alpha}: {ours} iterations, scikit-learn {theirs}"
        );
    }
}

#[test]
fn holm_adjustment_matches_statsmodels() {
    let r = reference();
    let as_f64 = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let (p, expected) = (as_f64(&r["holm"]["p"]), as_f64(&r["holm"]["adjusted"]));
    let ours = repbench_tasks::bootstrap::holm(&p);
    assert_eq!(ours.len(), expected.len());
    for (o, e) in ours.iter().zip(&expected) {
        assert!(
            (o.is_nan() && e.is_nan()) || (o - e).abs() < 1e-12,
            "{ours:?} vs {expected:?}"
        );
    }
}

#[test]
fn rankme_and_alpha_req_match_numpy() {
    use repbench_tasks::metrics::geometry::{alpha_req, covariance_spectrum, rankme};
    let r = reference();
    for case in r["geometry"].as_array().unwrap() {
        let spectrum = covariance_spectrum(matrix(&case["x"]).view());
        let (ours, theirs) = (rankme(&spectrum), case["rankme"].as_f64().unwrap());
        assert!((ours - theirs).abs() < 1e-9, "RankMe {ours} vs {theirs}");
        let (ours, theirs) = (alpha_req(&spectrum), case["alpha_req"].as_f64().unwrap());
        assert!((ours - theirs).abs() < 1e-9, "alpha {ours} vs {theirs}");
    }
}
