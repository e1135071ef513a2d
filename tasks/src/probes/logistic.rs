//! Logistic-regression probe: multinomial (softmax) for multiclass with
//! three or more classes, one binary logistic model for two classes and
//! per tag for multilabel; L2 strength chosen on the validation split.
//!
//! Minimises scikit-learn's objective (`LogisticRegression`, lbfgs, ≥ 1.2):
//! the mean over items of `−log p(y_i | x_i)` plus `α/(2n) ‖W‖²` (the
//! intercept is not penalised), so α is scikit-learn's `1 / C` for every
//! task type. Two classes and each tag get one weight vector, as in
//! scikit-learn; a two-column softmax would penalise both columns and halve
//! the effective α. Optimised with L-BFGS and a strong-Wolfe line search
//! ([`super::lbfgs`]), stopping where scikit-learn's L-BFGS-B does: the
//! gradient of that mean objective has no entry above `tol`. Implemented
//! here rather than with linfa-logistic for speed (see `bench/README.md`).

use super::blocked;
use super::lbfgs::{minimize, Outcome};
use super::{
    positive_grid, select_on_scale_grid, Candidate, FitData, Fitted, Predictor, TrainRows,
};
use crate::targets::{Scores, Targets};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn d_alphas() -> Vec<f64> {
    vec![100.0, 10.0, 1.0, 0.1, 0.01]
}
fn d_max_iter() -> u64 {
    100
}
fn d_tol() -> f64 {
    1e-4
}

/// Options of the `logistic` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticParams {
    /// L2 strengths tried (scikit-learn's `1/C`); ties on validation keep
    /// the one listed first, so list the strongest first. When the best is the strongest or
    /// weakest value and beats its neighbour, the grid is extended by up to
    /// two more steps of the same ratio. Default `[100, 10, 1, 0.1, 0.01]`.
    #[serde(default = "d_alphas")]
    pub alphas: Vec<f64>,
    /// L-BFGS iteration limit per fit (scikit-learn's default, 100).
    #[serde(default = "d_max_iter")]
    pub max_iter: u64,
    /// Stop when no entry of the gradient of the mean objective exceeds
    /// this: scikit-learn's `tol` (passed to L-BFGS-B as `gtol`), 1e-4.
    #[serde(default = "d_tol")]
    pub tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            alphas: d_alphas(),
            max_iter: d_max_iter(),
            tol: d_tol(),
        }
    }
}

impl LogisticParams {
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        positive_grid("alphas", &self.alphas)?;
        if !(1..=1_000_000).contains(&self.max_iter) {
            return Err((
                "max_iter",
                format!("must be in 1..=1000000 (got {})", self.max_iter),
            ));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err((
                "tol",
                format!("must be a positive number (got {})", self.tol),
            ));
        }
        Ok(())
    }
}

/// Softmax weights `(features, classes)` and intercepts.
struct Softmax {
    w: Array2<f64>,
    b: Array1<f64>,
}

impl Softmax {
    fn probabilities(&self, x: TrainRows<'_>) -> Array2<f64> {
        let mut z = blocked::dot(x, self.w.view()) + &self.b;
        for mut row in z.rows_mut() {
            let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row /= sum;
        }
        z
    }
}

/// Fits a softmax model to one-hot `y` `(items, classes)`.
fn fit_softmax(
    x: TrainRows<'_>,
    y: &Array2<f64>,
    alpha: f64,
    params: &LogisticParams,
) -> (Softmax, Outcome) {
    let (n, d, k) = (x.nrows() as f64, x.ncols(), y.ncols());
    let mut theta = vec![0.0; d * k + k];
    let outcome = minimize(
        &mut theta,
        params.max_iter as usize,
        params.tol,
        |t, grad| {
            let model = Softmax {
                w: ArrayView2::from_shape((d, k), &t[..d * k])
                    .expect("shape")
                    .to_owned(),
                b: Array1::from(t[d * k..].to_vec()),
            };
            let p = model.probabilities(x);
            let loss: f64 = ndarray::Zip::from(&p).and(y).fold(0.0, |acc, &pi, &yi| {
                if yi > 0.0 {
                    acc - yi * pi.max(1e-300).ln()
                } else {
                    acc
                }
            });
            let diff = &p - y;
            let gw = blocked::t_dot(x, diff.view()) + &(&model.w * alpha);
            let gb = diff.sum_axis(Axis(0));
            for (g, v) in grad.iter_mut().zip(gw.iter().chain(gb.iter())) {
                *g = v / n;
            }
            (loss + 0.5 * alpha * model.w.iter().map(|v| v * v).sum::<f64>()) / n
        },
    );
    let model = Softmax {
        w: Array2::from_shape_vec((d, k), theta[..d * k].to_vec()).expect("shape"),
        b: Array1::from(theta[d * k..].to_vec()),
    };
    (model, outcome)
}

/// Binary logistic weights `(features,)` and intercept.
struct Binary {
    w: Array1<f64>,
    b: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(z))` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl Binary {
    /// P(positive) per row.
    fn probabilities(&self, x: ArrayView2<f64>) -> Array1<f64> {
        (x.dot(&self.w) + self.b).mapv(sigmoid)
    }
}

/// Fits a binary logistic model to 0/1 targets `y`.
fn fit_binary(
    x: TrainRows<'_>,
    y: ArrayView1<f64>,
    alpha: f64,
    params: &LogisticParams,
) -> (Binary, Outcome) {
    let (n, d) = (x.nrows() as f64, x.ncols());
    let mut theta = vec![0.0; d + 1];
    let outcome = minimize(
        &mut theta,
        params.max_iter as usize,
        params.tol,
        |t, grad| {
            let w = ArrayView1::from(&t[..d]);
            let z = blocked::dot(x, w.insert_axis(Axis(1))).remove_axis(Axis(1)) + t[d];
            let loss: f64 = z
                .iter()
                .zip(y)
                .map(|(&zi, &yi)| softplus(zi) - yi * zi)
                .sum();
            let diff = ndarray::Zip::from(&z)
                .and(y)
                .map_collect(|&zi, &yi| sigmoid(zi) - yi);
            let gw = blocked::t_dot(x, diff.view().insert_axis(Axis(1))).remove_axis(Axis(1))
                + &(&w * alpha);
            for (g, v) in grad.iter_mut().zip(gw.iter()) {
                *g = v / n;
            }
            grad[d] = diff.sum() / n;
            (loss + 0.5 * alpha * w.dot(&w)) / n
        },
    );
    let model = Binary {
        w: Array1::from(theta[..d].to_vec()),
        b: theta[d],
    };
    (model, outcome)
}

struct Multinomial(Softmax);

impl Predictor for Multinomial {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        Scores::Classes(self.0.probabilities(x.into()))
    }
}

/// Two classes: one binary model for the second class.
struct TwoClass(Binary);

impl Predictor for TwoClass {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let p = self.0.probabilities(x);
        Scores::Classes(Array2::from_shape_fn((p.len(), 2), |(i, c)| {
            if c == 1 {
                p[i]
            } else {
                1.0 - p[i]
            }
        }))
    }
}

/// One binary model per tag; tags constant in training predict their
/// training rate.
struct PerTag(Vec<Result<Binary, f64>>);

impl Predictor for PerTag {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let mut out = Array2::zeros((x.nrows(), self.0.len()));
        for (j, m) in self.0.iter().enumerate() {
            match m {
                Ok(model) => out.column_mut(j).assign(&model.probabilities(x)),
                Err(rate) => out.column_mut(j).fill(*rate),
            }
        }
        Scores::Tags(out)
    }
}

/// Fits one α; reports `iterations` (the most any of its models ran,
/// scikit-learn's `n_iter_`) and `max_iter_reached = 1` when a model
/// stopped at `max_iter` with its gradient still above `tol` (where
/// scikit-learn warns `ConvergenceWarning`).
fn fit_one(params: &LogisticParams, alpha: f64, data: &FitData<'_>) -> Result<Candidate, String> {
    let reported = |outcomes: &[Outcome]| {
        let most = outcomes.iter().map(|o| o.iterations).max().unwrap_or(0);
        let mut out = BTreeMap::from([("iterations".to_string(), most as f64)]);
        if outcomes
            .iter()
            .any(|o| o.iterations as u64 >= params.max_iter && o.gradient_norm > params.tol)
        {
            out.insert("max_iter_reached".to_string(), 1.0);
        }
        out
    };
    match data.t_train {
        Targets::Classes { y, names } if names.len() == 2 => {
            let positive = Array1::from_iter(y.iter().map(|&c| f64::from(u8::from(c == 1))));
            let (model, outcome) = fit_binary(data.x_train, positive.view(), alpha, params);
            Ok((reported(&[outcome]), Box::new(TwoClass(model))))
        }
        Targets::Classes { .. } => {
            let (model, outcome) = fit_softmax(data.x_train, &data.t_train.dense(), alpha, params);
            Ok((reported(&[outcome]), Box::new(Multinomial(model))))
        }
        Targets::Tags { y, .. } => {
            let mut outcomes = Vec::new();
            let models = y
                .columns()
                .into_iter()
                .map(|col| {
                    let rate = col.mean().unwrap_or(0.0);
                    if rate == 0.0 || rate == 1.0 {
                        return Err(rate);
                    }
                    let (model, outcome) = fit_binary(data.x_train, col, alpha, params);
                    outcomes.push(outcome);
                    Ok(model)
                })
                .collect();
            Ok((reported(&outcomes), Box::new(PerTag(models))))
        }
        Targets::Values(_) => {
            Err("the logistic probe does not apply to regression; use ridge, mlp or knn".into())
        }
    }
}

/// Fits one model per α (extending the grid at an edge) and keeps the best
/// on validation.
pub fn fit_select(params: &LogisticParams, data: &FitData<'_>) -> Result<Fitted, String> {
    select_on_scale_grid(data, "alpha", &params.alphas, |alpha| {
        fit_one(params, alpha, data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn one_model_per_tag_ranks_items_correctly() {
        let x = array![
            [1.0, -1.0],
            [-1.0, 1.0],
            [1.0, -1.0],
            [-1.0, 1.0],
            [1.0, 1.0],
            [-1.0, -1.0]
        ];
        let y = array![
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0],
            [0.0, 0.0]
        ];
        let t = Targets::Tags {
            y,
            names: vec!["a".into(), "b".into()],
        };
        let data = FitData {
            x_train: x.view().into(),
            t_train: &t,
            x_valid: x.view(),
            t_valid: &t,
        };
        let fitted = fit_select(&LogisticParams::default(), &data).unwrap();
        let Scores::Tags(s) = fitted.model.predict(x.view()) else {
            panic!()
        };
        assert!(s[[0, 0]] > s[[1, 0]] && s[[1, 1]] > s[[0, 1]], "{s:?}");
    }

    /// The penalised objective is strictly convex, so its minimiser is the
    /// unique point where the full gradient vanishes: check that directly.
    #[test]
    fn softmax_fit_satisfies_the_optimality_conditions() {
        let x = array![
            [0.5, 1.0],
            [1.5, -0.5],
            [-1.0, 0.3],
            [0.2, -1.2],
            [-0.7, 0.8],
            [1.1, 0.4]
        ];
        let y = array![
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0]
        ];
        let params = LogisticParams {
            max_iter: 1000,
            tol: 1e-12,
            ..Default::default()
        };
        let (m, _) = fit_softmax(x.view().into(), &y, 0.5, &params);
        let p = m.probabilities(x.view().into());
        let diff = &p - &y;
        let gw = x.t().dot(&diff) + &(&m.w * 0.5);
        let gb = diff.sum_axis(Axis(0));
        assert!(
            gw.iter().chain(gb.iter()).all(|g| g.abs() < 1e-6),
            "{gw:?} {gb:?}"
        );
    }
}
