//! Closed-form ridge regression probe: regression, and a fast linear
//! classifier on one-hot (or tag-indicator) targets.
//!
//! `W = (XᵀX + λI)⁻¹ Xᵀ(Y − Ȳ)` on standardised features (primal, when
//! features ≤ items) or `W = Xᵀ(XXᵀ + λI)⁻¹(Y − Ȳ)` (dual, otherwise; the
//! same solution, cheaper when there are more features than items). Hoerl &
//! Kennard (1970); Hastie, Tibshirani & Friedman, *ESL* §3.4.1.
//!
//! The whole λ grid comes from one symmetric eigendecomposition of the Gram
//! matrix `G = V diag(s) Vᵀ` (faer's self-adjoint EVD: Householder
//! tridiagonalisation, then divide and conquer; Golub & Van Loan, *Matrix
//! Computations*, 4th ed., §8.3 and §8.4): `(G + λI)⁻¹ B = V diag(1/(s + λ))
//! Vᵀ B`, with `Vᵀ B` formed once (*ESL* §3.4.1, eq. 3.47, the SVD view of
//! ridge).

use super::{positive_grid, select_on_scale_grid, FitData, Fitted, Predictor};
use crate::targets::Scores;
use crate::targets::Targets;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn d_lambdas() -> Vec<f64> {
    vec![10000.0, 1000.0, 100.0, 10.0, 1.0, 0.1]
}

/// Options of the `ridge` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RidgeParams {
    /// L2 strengths tried (on the sum of squared errors), strongest first.
    /// Default `[1e4, 1e3, 100, 10, 1, 0.1]`.
    #[serde(default = "d_lambdas")]
    pub lambdas: Vec<f64>,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams {
            lambdas: d_lambdas(),
        }
    }
}

impl RidgeParams {
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        positive_grid("lambdas", &self.lambdas)
    }
}

struct Linear {
    weights: Array2<f64>,
    intercept: Array1<f64>,
    template: Targets,
}

impl Predictor for Linear {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let out = x.dot(&self.weights) + &self.intercept;
        self.template.scores_from_dense(out)
    }
}

/// Ridge solutions for any λ > 0 from one eigendecomposition of the Gram
/// matrix (primal `XᵀX` when features ≤ items, dual `XXᵀ` otherwise).
pub(crate) struct RidgePath {
    dual: bool,
    /// Eigenvectors of the Gram matrix, one per column.
    vectors: Array2<f64>,
    /// Its eigenvalues, clamped at 0 (rounding can leave them slightly
    /// negative for a rank-deficient Gram matrix).
    values: Array1<f64>,
    /// `Vᵀ B`: `B = Xᵀ(Y − Ȳ)` (primal) or `Y − Ȳ` (dual).
    projected: Array2<f64>,
}

impl RidgePath {
    /// Decomposes the Gram matrix of `x` (standardised, items × features)
    /// against the centred targets `yc` (items × outputs).
    pub(crate) fn new(x: ArrayView2<f64>, yc: ArrayView2<f64>) -> Result<RidgePath, String> {
        RidgeSystem::new(x, yc)?.path()
    }
    /// The weights (features × outputs) at `lambda`.
    pub(crate) fn weights(&self, x: ArrayView2<f64>, lambda: f64) -> Result<Array2<f64>, String> {
        let singular = || format!("ridge system is singular at lambda = {lambda}");
        let mut scaled = self.projected.clone();
        for (mut row, &s) in scaled.rows_mut().into_iter().zip(&self.values) {
            let d = s + lambda;
            if !(d > 0.0 && d.is_finite()) {
                return Err(singular());
            }
            row /= d;
        }
        let solved = self.vectors.dot(&scaled);
        let weights = if self.dual {
            x.t().dot(&solved)
        } else {
            solved
        };
        if weights.iter().all(|v| v.is_finite()) {
            Ok(weights)
        } else {
            Err(singular())
        }
    }
}

/// The normal equations of a ridge fit — the Gram matrix (primal `XᵀX`
/// when features ≤ items, dual `XXᵀ` otherwise) and the right-hand side —
/// solved at each λ by a Cholesky factorisation of `G + λI`. For a grid
/// of a few λ that is several times cheaper than one eigendecomposition
/// (`n³/3` flops per λ against about `9n³`): measured on the 1 536-feature
/// θ probe of `cargo bench --bench properties`. A factorisation that fails
/// (a system too ill-conditioned for it) falls back to [`RidgePath`].
pub(crate) struct RidgeSystem {
    dual: bool,
    gram: Array2<f64>,
    rhs: Array2<f64>,
}

impl RidgeSystem {
    /// The system of `x` (standardised, items × features) against the
    /// centred targets `yc` (items × outputs).
    pub(crate) fn new(x: ArrayView2<f64>, yc: ArrayView2<f64>) -> Result<RidgeSystem, String> {
        let dual = x.ncols() > x.nrows();
        let gram = if dual {
            super::gram::gram(x.t())
        } else {
            super::gram::gram(x)
        };
        let rhs = if dual { yc.to_owned() } else { x.t().dot(&yc) };
        if !gram.iter().chain(rhs.iter()).all(|v| v.is_finite()) {
            return Err(
                "ridge system is not finite (features or targets hold NaN or infinity)".into(),
            );
        }
        Ok(RidgeSystem { dual, gram, rhs })
    }

    /// The eigendecomposition that serves every λ.
    fn path(&self) -> Result<RidgePath, String> {
        let n = self.gram.nrows();
        let evd = faer::Mat::from_fn(n, n, |i, j| self.gram[[i, j]])
            .self_adjoint_eigen(faer::Side::Lower)
            .map_err(|e| format!("ridge Gram matrix eigendecomposition failed: {e:?}"))?;
        let (u, s) = (evd.U(), evd.S().column_vector());
        let vectors = Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)]);
        let values = Array1::from_shape_fn(n, |i| s[i].max(0.0));
        if !vectors.iter().chain(values.iter()).all(|v| v.is_finite()) {
            return Err("ridge Gram matrix eigendecomposition is not finite".into());
        }
        let projected = vectors.t().dot(&self.rhs);
        Ok(RidgePath {
            dual: self.dual,
            vectors,
            values,
            projected,
        })
    }

    /// The weights (features × outputs) at `lambda` by Cholesky; `None`
    /// when `G + λI` does not factorise in floating point.
    fn cholesky_weights(&self, x: ArrayView2<f64>, lambda: f64) -> Option<Array2<f64>> {
        use faer::linalg::solvers::Solve as _;
        let n = self.gram.nrows();
        let system = faer::Mat::from_fn(n, n, |i, j| {
            self.gram[[i, j]] + if i == j { lambda } else { 0.0 }
        });
        let llt = system.llt(faer::Side::Lower).ok()?;
        let rhs = faer::Mat::from_fn(n, self.rhs.ncols(), |i, j| self.rhs[[i, j]]);
        let solved = llt.solve(&rhs);
        let solved = Array2::from_shape_fn((n, self.rhs.ncols()), |(i, j)| solved[(i, j)]);
        let weights = if self.dual {
            x.t().dot(&solved)
        } else {
            solved
        };
        weights.iter().all(|v| v.is_finite()).then_some(weights)
    }
}

impl RidgePath {
    /// The squared validation error `‖r_v − x_v W(λ)‖²` at every λ, from
    /// the decomposition alone: with `A = x_v V` (primal; `x_v xᵀ V` dual),
    /// `P` the projected targets and `D = diag(1/(s + λ))`, the predictions
    /// are `A D P`, so `SSE(λ) = ‖r_v‖² − 2 Σᵢ Dᵢ (AᵀR ⊙ P)ᵢ· + Σᵢₖ Dᵢ Dₖ
    /// (AᵀA ⊙ PPᵀ)ᵢₖ` — three products once, then `O(r²)` per λ instead of
    /// a weight matrix and a prediction per λ. `x` is the (centred)
    /// training input, `xv` the validation input centred the same way, and
    /// `rv` the validation targets minus the training targets' mean.
    /// Rounding makes values near 0 inexact: use it to choose λ, then
    /// measure the chosen model directly.
    pub(crate) fn validation_sse(
        &self,
        x: ArrayView2<f64>,
        xv: ArrayView2<f64>,
        rv: ArrayView2<f64>,
        lambdas: &[f64],
    ) -> Vec<f64> {
        let a = if self.dual {
            xv.dot(&x.t()).dot(&self.vectors)
        } else {
            xv.dot(&self.vectors)
        };
        let cross: Vec<f64> = (a.t().dot(&rv) * &self.projected)
            .rows()
            .into_iter()
            .map(|r| r.sum())
            .collect();
        let quad = a.t().dot(&a) * self.projected.dot(&self.projected.t());
        let total: f64 = rv.iter().map(|v| v * v).sum();
        lambdas
            .iter()
            .map(|&lambda| {
                let d: Vec<f64> = self.values.iter().map(|s| 1.0 / (s + lambda)).collect();
                let linear: f64 = d.iter().zip(&cross).map(|(d, c)| d * c).sum();
                let square: f64 = quad
                    .rows()
                    .into_iter()
                    .zip(&d)
                    .map(|(row, di)| di * row.iter().zip(&d).map(|(q, dk)| q * dk).sum::<f64>())
                    .sum();
                total - 2.0 * linear + square
            })
            .collect()
    }
}

/// Fits every λ from one Gram matrix ([`RidgeSystem`]) and keeps the best
/// on validation.
pub fn fit_select(params: &RidgeParams, data: &FitData<'_>) -> Result<Fitted, String> {
    // The Gram matrix needs every row at once: lazily read rows are
    // standardised into one float64 matrix here.
    let whole = data.x_train.whole();
    let x = whole.view();
    let y = data.t_train.dense();
    let intercept = y
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(y.ncols()));
    let yc = &y - &intercept;
    let system = RidgeSystem::new(x, yc.view())?;
    // Decomposed only if a Cholesky factorisation fails.
    let path = std::sync::OnceLock::new();
    let template = data.t_train.select(&[]);
    select_on_scale_grid(data, "lambda", &params.lambdas, |lambda| {
        let weights = match system.cholesky_weights(x, lambda) {
            Some(w) => w,
            None => path
                .get_or_init(|| system.path())
                .as_ref()
                .map_err(Clone::clone)?
                .weights(x, lambda)?,
        };
        let model: Box<dyn Predictor> = Box::new(Linear {
            weights,
            intercept: intercept.clone(),
            template: template.clone(),
        });
        Ok((BTreeMap::new(), model))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::Targets;
    use ndarray::{array, s};

    fn centred(x: Array2<f64>) -> Array2<f64> {
        let m = x.mean_axis(Axis(0)).unwrap();
        x - &m
    }

    fn values(s: Scores) -> Vec<f64> {
        match s {
            Scores::Values(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recovers_a_linear_map_with_tiny_lambda() {
        let x = centred(array![
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0],
            [-1.0, 0.5],
            [0.3, -0.7]
        ]);
        let truth: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| 2.0 * r[0] - r[1] + 3.0)
            .collect();
        let y = Targets::Values(truth.clone());
        let data = FitData {
            x_train: x.view().into(),
            t_train: &y,
            x_valid: x.view(),
            t_valid: &y,
        };
        let fitted = fit_select(
            &RidgeParams {
                lambdas: vec![1e-9],
            },
            &data,
        )
        .unwrap();
        for (p, t) in values(fitted.model.predict(x.view())).iter().zip(&truth) {
            assert!((p - t).abs() < 1e-6, "{p} vs {t}");
        }
    }

    /// `‖(XᵀX + λI)w − Xᵀyc‖∞`: how far `w` is from the normal equations.
    fn normal_residual(x: &Array2<f64>, yc: &Array2<f64>, w: &Array2<f64>, lambda: f64) -> f64 {
        let lhs = x.t().dot(&x.dot(w)) + lambda * w;
        let rhs = x.t().dot(yc);
        (&lhs - &rhs).iter().fold(0.0f64, |m, v| m.max(v.abs()))
    }

    fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
        (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs()))
    }

    #[test]
    fn weights_solve_the_normal_equations_primal_and_dual() {
        // 4 items, 6 features: dual on x, primal on its first 3 columns and
        // on x stacked under itself (8 items ≥ 6 features).
        let x = centred(array![
            [0.1, 0.4, -0.3, 1.0, 0.2, 0.0],
            [0.5, -0.2, 0.1, 0.3, -0.4, 0.7],
            [-0.6, 0.3, 0.9, -0.1, 0.0, 0.2],
            [0.2, 0.1, -0.5, 0.4, 0.6, -0.3]
        ]);
        let yc = centred(array![[1.0, 0.0], [-1.0, 1.0], [0.5, 0.0], [2.0, -3.0]]);
        let narrow = x.slice(s![.., ..3]).to_owned();
        let tall = ndarray::concatenate![Axis(0), x, x];
        let tall_y = ndarray::concatenate![Axis(0), yc, yc];
        let dual = RidgePath::new(x.view(), yc.view()).unwrap();
        let primal = RidgePath::new(narrow.view(), yc.view()).unwrap();
        let primal_tall = RidgePath::new(tall.view(), tall_y.view()).unwrap();
        assert!(dual.dual && !primal.dual && !primal_tall.dual);
        for lambda in [1e-3, 0.1, 0.7, 10.0, 1e4] {
            let wd = dual.weights(x.view(), lambda).unwrap();
            let wp = primal.weights(narrow.view(), lambda).unwrap();
            let wt = primal_tall.weights(tall.view(), lambda).unwrap();
            assert!(
                normal_residual(&x, &yc, &wd, lambda) < 1e-8,
                "dual {lambda}"
            );
            assert!(
                normal_residual(&narrow, &yc, &wp, lambda) < 1e-8,
                "primal {lambda}"
            );
            assert!(
                normal_residual(&tall, &tall_y, &wt, lambda) < 1e-8,
                "tall {lambda}"
            );
            // Stacking x twice doubles XᵀX and Xᵀyc, so the primal solution
            // of `tall` at 2λ is the dual solution of x at λ.
            let wx = primal_tall.weights(tall.view(), 2.0 * lambda).unwrap();
            assert!(max_abs_diff(&wd, &wx) < 1e-8, "dual vs primal at {lambda}");
        }
    }

    #[test]
    fn cholesky_weights_equal_the_eigendecomposition_primal_and_dual() {
        // fit_select solves each λ by Cholesky and falls back to the
        // eigendecomposition: both must give one solution, on a regular
        // system, a dual one, and one with twin columns (singular XᵀX).
        let x = centred(Array2::from_shape_fn((9, 4), |(i, j)| {
            ((i * 7 + j * 3) % 5) as f64 - 2.0 + 0.1 * (i * j) as f64
        }));
        let twins = ndarray::concatenate![Axis(1), x, x.slice(s![.., ..1])];
        let wide = x.t().to_owned().slice(s![..3, ..]).to_owned();
        let yc = centred(Array2::from_shape_fn((9, 2), |(i, j)| {
            (i as f64 * (j + 1) as f64).sin()
        }));
        let wide_y = yc.slice(s![..3, ..]).to_owned();
        for (x, y) in [(&x, &yc), (&twins, &yc), (&wide, &wide_y)] {
            let system = RidgeSystem::new(x.view(), y.view()).unwrap();
            let path = system.path().unwrap();
            for lambda in [1e-3, 0.5, 30.0] {
                let chol = system.cholesky_weights(x.view(), lambda).unwrap();
                let eig = path.weights(x.view(), lambda).unwrap();
                assert!(max_abs_diff(&chol, &eig) < 1e-8, "λ = {lambda}");
                assert!(normal_residual(x, y, &chol, lambda) < 1e-8);
            }
        }
    }

    #[test]
    fn rank_deficient_gram_matrix_still_solves() {
        // Two identical columns: XᵀX is singular, its smallest eigenvalue
        // rounds to about ±1e-16 and is clamped; λ keeps the system regular
        // and the weight splits evenly between the twins.
        let x = centred(array![
            [1.0, 1.0, 0.2],
            [0.0, 0.0, -0.4],
            [2.0, 2.0, 0.9],
            [-1.0, -1.0, 0.3],
            [0.5, 0.5, -0.1]
        ]);
        let yc = centred(array![[1.0], [0.0], [2.5], [-1.0], [0.2]]);
        let path = RidgePath::new(x.view(), yc.view()).unwrap();
        assert!(path.values.iter().all(|&s| s >= 0.0));
        let w = path.weights(x.view(), 0.01).unwrap();
        assert!(normal_residual(&x, &yc, &w, 0.01) < 1e-8);
        assert!((w[[0, 0]] - w[[1, 0]]).abs() < 1e-8);
    }

    #[test]
    fn rejects_non_finite_input() {
        let x = array![[1.0, f64::NAN], [0.0, 1.0], [2.0, 0.5]];
        let y = Targets::Values(vec![1.0, 2.0, 3.0]);
        let data = FitData {
            x_train: x.view().into(),
            t_train: &y,
            x_valid: x.view(),
            t_valid: &y,
        };
        let err = fit_select(&RidgeParams::default(), &data).err().unwrap();
        assert!(err.contains("not finite"), "{err}");
    }

    #[test]
    fn dual_form_equals_the_primal_solution() {
        // 4 items, 6 features: the dual path runs through fit_select;
        // compare its predictions with the primal normal equations, solved
        // here by Gaussian elimination.
        let x = centred(array![
            [0.1, 0.4, -0.3, 1.0, 0.2, 0.0],
            [0.5, -0.2, 0.1, 0.3, -0.4, 0.7],
            [-0.6, 0.3, 0.9, -0.1, 0.0, 0.2],
            [0.2, 0.1, -0.5, 0.4, 0.6, -0.3]
        ]);
        let y = Targets::Values(vec![1.0, -1.0, 0.5, 2.0]);
        let data = FitData {
            x_train: x.view().into(),
            t_train: &y,
            x_valid: x.view(),
            t_valid: &y,
        };
        let lambda = 0.7;
        let dual = values(
            fit_select(
                &RidgeParams {
                    lambdas: vec![lambda],
                },
                &data,
            )
            .unwrap()
            .model
            .predict(x.view()),
        );
        let y_mean = 0.625;
        let yc = y.dense() - y_mean;
        let mut a = x.t().dot(&x);
        a.diag_mut().mapv_inplace(|v| v + lambda);
        let w = gauss_solve(a, x.t().dot(&yc));
        let primal = x.dot(&w) + y_mean;
        for (d, p) in dual.iter().zip(primal.slice(s![.., 0])) {
            assert!((d - p).abs() < 1e-9, "{d} vs {p}");
        }
    }

    /// Gaussian elimination with partial pivoting, an independent reference.
    fn gauss_solve(mut a: Array2<f64>, mut b: Array2<f64>) -> Array2<f64> {
        let n = a.nrows();
        for k in 0..n {
            let p = (k..n)
                .max_by(|&i, &j| a[[i, k]].abs().total_cmp(&a[[j, k]].abs()))
                .unwrap();
            for j in 0..n {
                a.swap([k, j], [p, j]);
            }
            for j in 0..b.ncols() {
                b.swap([k, j], [p, j]);
            }
            for i in k + 1..n {
                let f = a[[i, k]] / a[[k, k]];
                for j in k..n {
                    a[[i, j]] -= f * a[[k, j]];
                }
                for j in 0..b.ncols() {
                    b[[i, j]] -= f * b[[k, j]];
                }
            }
        }
        for i in (0..n).rev() {
            for j in 0..b.ncols() {
                let s: f64 = (i + 1..n).map(|k| a[[i, k]] * b[[k, j]]).sum();
                b[[i, j]] = (b[[i, j]] - s) / a[[i, i]];
            }
        }
        b
    }

    #[test]
    fn validation_errors_from_the_decomposition_equal_direct_predictions() {
        for (n, d) in [(40, 6), (8, 15)] {
            let x = centred(Array2::from_shape_fn((n, d), |(i, j)| {
                ((i * 7 + j * 13) % 11) as f64 - 5.0 + 0.1 * (i * j) as f64
            }));
            let y = Array2::from_shape_fn((n, 3), |(i, k)| {
                x[[i, k % d]] * 2.0 - x[[i, (k + 1) % d]] + (i % 3) as f64
            });
            let y_mean = y.mean_axis(Axis(0)).unwrap();
            let path = RidgePath::new(x.view(), (&y - &y_mean).view()).unwrap();
            let xv = Array2::from_shape_fn((5, d), |(i, j)| ((i * 3 + j * 5) % 7) as f64 - 3.0);
            let rv = Array2::from_shape_fn((5, 3), |(i, k)| ((i + 2 * k) % 4) as f64) - &y_mean;
            let lambdas = [100.0, 1.0, 0.01];
            let fast = path.validation_sse(x.view(), xv.view(), rv.view(), &lambdas);
            for (lambda, got) in lambdas.iter().zip(fast) {
                let w = path.weights(x.view(), *lambda).unwrap();
                let direct: f64 = (&rv - &xv.dot(&w)).iter().map(|v| v * v).sum();
                assert!(
                    (got - direct).abs() < 1e-9 * (1.0 + direct),
                    "n={n} λ={lambda}: {got} vs {direct}"
                );
            }
        }
    }
}
