//! Probe speed: times the logistic probe (10 000 × 768, 10 classes) at
//! α ∈ {100, 1, 0.01}, each a one-value grid, the kNN probe (its default
//! ks on the same data), and the ridge probe
//! (50 000 × 1024, the default six-λ grid, which selection may extend by
//! two steps at an edge), and writes the logistic data as .npy so
//! `bench/probes.sh` can time scikit-learn and linfa-logistic on exactly
//! the same arrays.
//!
//! `REPBENCH_BENCH_DIR=/tmp/x cargo bench -p repbench-tasks --bench probes`

use ndarray::{s, Array2};
use ndarray_npy::write_npy;
use rand::Rng as _;
use rand_distr_free::normal;
use repbench_framework::seed;
use repbench_tasks::probes::knn::KnnParams;
use repbench_tasks::probes::logistic::LogisticParams;
use repbench_tasks::probes::ridge::RidgeParams;
use repbench_tasks::probes::{FitData, ProbeSpec};
use repbench_tasks::standardize::Standardizer;
use repbench_tasks::suite::metrics_for;
use repbench_tasks::targets::Targets;
use std::time::Instant;

/// Gaussian samples without an extra dependency (Box–Muller).
mod rand_distr_free {
    use rand::Rng as _;
    pub fn normal(rng: &mut repbench_framework::seed::Rng) -> f64 {
        let u1: f64 = rng.gen::<f64>().max(1e-300);
        let u2: f64 = rng.gen();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// `n` items in `dim` dimensions around `classes` random centres.
fn blobs(
    n: usize,
    dim: usize,
    classes: usize,
    spread: f64,
    rng: &mut seed::Rng,
) -> (Array2<f64>, Vec<usize>) {
    let centres = Array2::from_shape_fn((classes, dim), |_| spread * normal(rng));
    let y: Vec<usize> = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    let x = Array2::from_shape_fn((n, dim), |(i, j)| centres[[y[i], j]] + normal(rng));
    (x, y)
}

fn main() {
    let out = std::env::var("REPBENCH_BENCH_DIR").ok();
    let mut rng = seed::rng(2026, &["bench", "probes"]);

    // Logistic: 10 000 train, 2 000 valid, 2 000 test.
    let (x, y) = blobs(14_000, 768, 10, 0.08, &mut rng);
    let std = Standardizer::fit(x.slice(s![..10_000, ..]));
    let x = std.transform(x.view());
    let (xt, xv, xs) = (
        x.slice(s![..10_000, ..]),
        x.slice(s![10_000..12_000, ..]),
        x.slice(s![12_000.., ..]),
    );
    let names: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let t = |r: std::ops::Range<usize>| Targets::Classes {
        y: y[r].to_vec(),
        names: names.clone(),
    };
    let (tt, tv, ts) = (t(0..10_000), t(10_000..12_000), t(12_000..14_000));
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).expect("bench dir");
        write_npy(format!("{dir}/x_train.npy"), &xt.to_owned()).expect("write");
        write_npy(format!("{dir}/x_test.npy"), &xs.to_owned()).expect("write");
        let ys =
            |v: &[usize]| ndarray::Array1::from(v.iter().map(|&c| c as i64).collect::<Vec<_>>());
        write_npy(format!("{dir}/y_train.npy"), &ys(&y[..10_000])).expect("write");
        write_npy(format!("{dir}/y_test.npy"), &ys(&y[12_000..])).expect("write");
        write_npy(format!("{dir}/x_valid.npy"), &xv.to_owned()).expect("write");
        write_npy(format!("{dir}/y_valid.npy"), &ys(&y[10_000..12_000])).expect("write");
    }
    let data = FitData {
        x_train: xt.into(),
        t_train: &tt,
        x_valid: xv,
        t_valid: &tv,
    };
    // One single-value grid per α (no grid extension), α = 1/C.
    for alpha in [100.0, 1.0, 0.01] {
        let probe = ProbeSpec::Logistic(LogisticParams {
            alphas: vec![alpha],
            max_iter: 100,
            tol: 1e-4,
        });
        let t0 = Instant::now();
        let fitted = probe.fit_select(&data, 0).expect("logistic fit");
        let secs = t0.elapsed().as_secs_f64();
        let acc = (metrics_for(&ts)[0].compute)(&ts, &fitted.model.predict(xs));
        let iterations = fitted.params.get("iterations").copied().unwrap_or(f64::NAN);
        println!("logistic 10000x768, 10 classes, alpha={alpha} (C={}), max 100 iterations, tol 1e-4: {secs:.3} s, test accuracy {acc:.4}, {iterations} iterations", 1.0 / alpha);
    }

    // kNN: the default ks, each scored on valid, the best on test.
    let t0 = Instant::now();
    let fitted = ProbeSpec::Knn(KnnParams::default())
        .fit_select(&data, 0)
        .expect("knn fit");
    let acc = (metrics_for(&ts)[0].compute)(&ts, &fitted.model.predict(xs));
    println!(
        "knn 10000x768, 10 classes, ks [1, 3, 5, 10, 20, 50] on valid, the best on test: {:.3} s, test accuracy {acc:.4}, k {}",
        t0.elapsed().as_secs_f64(),
        fitted.params["k"]
    );

    // Ridge: 50 000 × 1024 regression, six lambdas.
    let (x, _) = blobs(52_000, 1024, 1, 0.0, &mut rng);
    let w: Vec<f64> = (0..1024).map(|_| normal(&mut rng)).collect();
    let yv: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + normal(&mut rng))
        .collect();
    let (xt, xv) = (x.slice(s![..50_000, ..]), x.slice(s![50_000.., ..]));
    let (tt, tv) = (
        Targets::Values(yv[..50_000].to_vec()),
        Targets::Values(yv[50_000..].to_vec()),
    );
    let data = FitData {
        x_train: xt.into(),
        t_train: &tt,
        x_valid: xv,
        t_valid: &tv,
    };
    let t0 = Instant::now();
    let fitted = ProbeSpec::Ridge(RidgeParams::default())
        .fit_select(&data, 0)
        .expect("ridge fit");
    println!(
        "ridge 50000x1024, default 6-lambda grid: {:.3} s (target < 5 s), validation R2 {:.4}, chosen lambda {}",
        t0.elapsed().as_secs_f64(),
        fitted.valid_score,
        fitted.params["lambda"]
    );
}
