//! Closed-form ridge regression probe: regression, and a fast linear
//! classifier on one-hot (or tag-indicator) targets.
//!
//! `W = (XᵀX + λI)⁻¹ Xᵀ(Y − Ȳ)` on standardised features (primal, when
//! features ≤ items) or `W = Xᵀ(XXᵀ + λI)⁻¹(Y − Ȳ)` (dual, otherwise; the
//! same solution, cheaper when there are more features than items). Hoerl &
//! Kennard (1970); Hastie, Tibshirani & Friedman, *ESL* §3.4.1.

use super::{positive_grid, select_best, Candidate, FitData, Fitted, Predictor};
use crate::linalg::solve_spd;
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

/// Fits every λ from one Gram matrix and keeps the best on validation.
pub fn fit_select(params: &RidgeParams, data: &FitData<'_>) -> Result<Fitted, String> {
    let x = data.x_train;
    let y = data.t_train.dense();
    let intercept = y
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(y.ncols()));
    let yc = &y - &intercept;
    let dual = x.ncols() > x.nrows();
    let gram = if dual { x.dot(&x.t()) } else { x.t().dot(&x) };
    let rhs = if dual { yc.clone() } else { x.t().dot(&yc) };
    let template = data.t_train.select(&[]);
    select_best(
        data,
        params.lambdas.iter().map(|&lambda| {
            let mut a = gram.clone();
            a.diag_mut().mapv_inplace(|v| v + lambda);
            let solved = solve_spd(a.view(), rhs.view())
                .ok_or_else(|| format!("ridge system is singular at lambda = {lambda}"))?;
            let weights = if dual { x.t().dot(&solved) } else { solved };
            let model: Box<dyn Predictor> = Box::new(Linear {
                weights,
                intercept: intercept.clone(),
                template: template.clone(),
            });
            Ok::<Candidate, String>((BTreeMap::from([("lambda".to_string(), lambda)]), model))
        }),
    )
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
            x_train: x.view(),
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

    #[test]
    fn dual_form_equals_the_primal_solution() {
        // 4 items, 6 features: the dual path runs; compare with the primal
        // normal equations solved directly.
        let x = centred(array![
            [0.1, 0.4, -0.3, 1.0, 0.2, 0.0],
            [0.5, -0.2, 0.1, 0.3, -0.4, 0.7],
            [-0.6, 0.3, 0.9, -0.1, 0.0, 0.2],
            [0.2, 0.1, -0.5, 0.4, 0.6, -0.3]
        ]);
        let y = Targets::Values(vec![1.0, -1.0, 0.5, 2.0]);
        let data = FitData {
            x_train: x.view(),
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
        let w = solve_spd(a.view(), x.t().dot(&yc).view()).unwrap();
        let primal = x.dot(&w) + y_mean;
        for (d, p) in dual.iter().zip(primal.slice(s![.., 0])) {
            assert!((d - p).abs() < 1e-9, "{d} vs {p}");
        }
    }
}
