//! linfa-logistic on the arrays `bench/probes.sh` writes, posed as the same
//! optimisation problem as scikit-learn's `LogisticRegression(C = 1/α)` and
//! repbench's logistic probe.
//!
//! linfa-logistic 0.8.1 (`MultiLogisticRegression`, lib.rs
//! `multi_logistic_loss`/`multi_logistic_grad`) minimises the *sum*
//! `Σᵢ −log softmax(xᵢW + b)_{yᵢ} + α/2 ‖W‖²` (intercept `b` not penalised)
//! with argmin's L-BFGS (memory 10, More–Thuente line search), and stops
//! when the **L2** norm of that sum-scale gradient over all of `(W, b)` is
//! below `gradient_tolerance` (argmin `LBFGS::terminate`), or the cost
//! changes by less than f64 ε, or after `max_iterations` iterations.
//! Dividing by `n` gives sklearn's objective `mean(loss) + α/(2n)‖W‖²`, so
//! linfa's `alpha` is the same α (= 1/C), and its gradient is `n` times
//! sklearn's. sklearn stops on the ∞-norm of the mean-scale gradient
//! (L-BFGS-B `gtol` = `tol` = 1e-4). Two tolerances bracket that rule:
//!
//! * strict: `gradient_tolerance = n·tol`: ‖g‖₂ ≤ n·tol implies sklearn's
//!   ‖g/n‖∞ ≤ tol (linfa may do more work than sklearn needs);
//! * loose: `n·tol·√p` (`p` = number of parameters): implied by sklearn's
//!   rule (linfa may stop earlier than sklearn would).
//!
//! Usage: `repbench-linfa-bench DIR [ALPHA...]` (default α = 100 1 0.01).
//! Prints one line per (α, tolerance): time, test accuracy and the
//! ∞-norm of the mean-scale gradient at linfa's answer.

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis};
use ndarray_npy::read_npy;
use std::time::Instant;

const TOL: f64 = 1e-4;
const MAX_ITER: u64 = 100;

/// ∞-norm of the gradient of `mean(loss) + α/(2n)‖W‖²` at `(w, b)`.
fn mean_gradient_inf(
    x: &Array2<f64>,
    y: &Array1<i64>,
    classes: &[i64],
    w: &Array2<f64>,
    b: &Array1<f64>,
    alpha: f64,
) -> f64 {
    let n = x.nrows() as f64;
    let mut p = x.dot(w) + b;
    for mut row in p.rows_mut() {
        let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row /= s;
    }
    for (mut row, c) in p.rows_mut().into_iter().zip(y) {
        row[classes.binary_search(c).unwrap()] -= 1.0;
    }
    let gw = (x.t().dot(&p) + alpha * w) / n;
    let gb = p.sum_axis(Axis(0)) / n;
    gw.iter()
        .chain(gb.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: repbench-linfa-bench DIR [ALPHA...]");
    let mut alphas: Vec<f64> = args.map(|a| a.parse().expect("alpha")).collect();
    if alphas.is_empty() {
        alphas = vec![100.0, 1.0, 0.01];
    }
    let x: Array2<f64> = read_npy(format!("{dir}/x_train.npy")).expect("x_train.npy");
    let y: Array1<i64> = read_npy(format!("{dir}/y_train.npy")).expect("y_train.npy");
    let xs: Array2<f64> = read_npy(format!("{dir}/x_test.npy")).expect("x_test.npy");
    let ys: Array1<i64> = read_npy(format!("{dir}/y_test.npy")).expect("y_test.npy");
    let (n, d) = x.dim();
    let mut classes = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let params = (d + 1) * classes.len();
    let data = Dataset::new(x.clone(), y.clone());
    for &alpha in &alphas {
        for (name, gtol) in [
            ("strict", n as f64 * TOL),
            ("loose", n as f64 * TOL * (params as f64).sqrt()),
        ] {
            let t0 = Instant::now();
            let model = MultiLogisticRegression::default()
                .alpha(alpha)
                .with_intercept(true)
                .max_iterations(MAX_ITER)
                .gradient_tolerance(gtol)
                .fit(&data)
                .expect("linfa fit");
            let secs = t0.elapsed().as_secs_f64();
            let pred = model.predict(&xs);
            let acc = pred.iter().zip(&ys).filter(|(a, b)| a == b).count() as f64 / ys.len() as f64;
            let g = mean_gradient_inf(
                &x,
                &y,
                model.classes(),
                model.params(),
                model.intercept(),
                alpha,
            );
            println!(
                "linfa alpha={alpha} {name} (gradient_tolerance {gtol:.4} on the L2 norm of the sum-scale gradient): {secs:.3} s, test accuracy {acc:.4}, mean-gradient inf-norm {g:.2e}"
            );
        }
    }
}
