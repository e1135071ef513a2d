//! The embedding maps against scikit-learn (fixture written by
//! `scripts/make_map_reference.py`): PCA coordinates and variance shares,
//! and trustworthiness at several k.

use ndarray::Array2;
use repbench_tasks::maps::{pca, trustworthiness};
use serde_json::Value;

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.concat()).unwrap()
}

fn cases() -> Vec<Value> {
    let text = include_str!("fixtures/map_reference.json");
    let all: Value = serde_json::from_str(text).unwrap();
    all["cases"].as_array().unwrap().clone()
}

#[test]
fn pca_matches_scikit_learn_up_to_each_axis_sign() {
    for (c, case) in cases().iter().enumerate() {
        let x = matrix(&case["x"]);
        let want = matrix(&case["pca"]);
        let got = pca(x.view()).unwrap();
        for axis in 0..2 {
            let sign = if got.coords[[0, axis]] * want[[0, axis]] < 0.0 {
                -1.0
            } else {
                1.0
            };
            for i in 0..x.nrows() {
                let diff = (sign * got.coords[[i, axis]] - want[[i, axis]]).abs();
                assert!(diff < 1e-8, "case {c} item {i} axis {axis}: {diff}");
            }
        }
        let shares: Vec<f64> =
            serde_json::from_value(case["explained_variance_ratio"].clone()).unwrap();
        for (name, want) in ["pc1_variance", "pc2_variance"].iter().zip(shares) {
            let diff = (got.params[*name] - want).abs();
            assert!(diff < 1e-10, "case {c} {name}: {diff}");
        }
    }
}

#[test]
fn trustworthiness_matches_scikit_learn() {
    for (c, case) in cases().iter().enumerate() {
        let x = matrix(&case["x"]);
        let ks: Vec<usize> = serde_json::from_value(case["ks"].clone()).unwrap();
        for (map, key) in [("pca", "trust_pca"), ("random_map", "trust_random")] {
            let y = matrix(&case[map]);
            let want: Vec<f64> = serde_json::from_value(case[key].clone()).unwrap();
            for (k, want) in ks.iter().zip(want) {
                let got = trustworthiness(x.view(), y.view(), *k);
                assert!(
                    (got - want).abs() < 1e-12,
                    "case {c} {map} k={k}: {got} vs {want}"
                );
            }
        }
    }
}
