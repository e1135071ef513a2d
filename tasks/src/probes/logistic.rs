//! Logistic-regression probe (linfa-logistic): multinomial for multiclass,
//! one binary model per tag for multilabel; L2 strength chosen on the
//! validation split.

use super::{positive_grid, select_best, Candidate, FitData, Fitted, Predictor};
use crate::targets::{Scores, Targets};
use linfa::traits::Fit;
use linfa::Dataset;
use linfa_logistic::{
    FittedLogisticRegression, LogisticRegression, MultiFittedLogisticRegression,
    MultiLogisticRegression,
};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn d_alphas() -> Vec<f64> {
    vec![100.0, 10.0, 1.0, 0.1, 0.01]
}
fn d_max_iter() -> u64 {
    200
}

/// Options of the `logistic` probe.
///
/// linfa minimises `Σ log-loss + α/2 ‖W‖²` (a sum over samples, so α plays
/// the role of scikit-learn's `1/C`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticParams {
    /// L2 strengths tried, strongest first (ties on validation keep the
    /// stronger one). Default `[100, 10, 1, 0.1, 0.01]`.
    #[serde(default = "d_alphas")]
    pub alphas: Vec<f64>,
    /// L-BFGS iteration limit per fit. Default 200.
    #[serde(default = "d_max_iter")]
    pub max_iter: u64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            alphas: d_alphas(),
            max_iter: d_max_iter(),
        }
    }
}

impl LogisticParams {
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        positive_grid("alphas", &self.alphas)?;
        if self.max_iter == 0 {
            return Err(("max_iter", "must be at least 1".into()));
        }
        Ok(())
    }
}

struct Multinomial {
    model: MultiFittedLogisticRegression<f64, usize>,
    n_classes: usize,
}

impl Predictor for Multinomial {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let p = self.model.predict_probabilities(&x);
        // Classes absent from training get probability 0.
        let mut out = Array2::zeros((x.nrows(), self.n_classes));
        for (col, &class) in self.model.classes().iter().enumerate() {
            out.column_mut(class).assign(&p.column(col));
        }
        Scores::Classes(out)
    }
}

/// One binary model per tag; tags constant in training predict their
/// training rate.
struct PerTag {
    models: Vec<Result<FittedLogisticRegression<f64, usize>, f64>>,
}

impl Predictor for PerTag {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let mut out = Array2::zeros((x.nrows(), self.models.len()));
        for (j, m) in self.models.iter().enumerate() {
            match m {
                Ok(model) => {
                    // linfa reports the probability of the *more frequent*
                    // training class; turn it into P(tag present).
                    let p = model.predict_probabilities(&x);
                    let p_tag = if model.labels().pos.class == 1 {
                        p
                    } else {
                        p.mapv(|v| 1.0 - v)
                    };
                    out.column_mut(j).assign(&p_tag);
                }
                Err(rate) => out.column_mut(j).fill(*rate),
            }
        }
        Scores::Tags(out)
    }
}

fn fit_one(
    params: &LogisticParams,
    alpha: f64,
    data: &FitData<'_>,
) -> Result<Box<dyn Predictor>, String> {
    let x = data.x_train.to_owned();
    let failed = |e: linfa_logistic::error::Error| {
        format!("logistic regression (alpha = {alpha}) failed: {e}")
    };
    match data.t_train {
        Targets::Classes { y, names } => {
            let model = MultiLogisticRegression::default()
                .alpha(alpha)
                .max_iterations(params.max_iter)
                .fit(&Dataset::new(x, Array1::from(y.clone())))
                .map_err(failed)?;
            Ok(Box::new(Multinomial {
                model,
                n_classes: names.len(),
            }))
        }
        Targets::Tags { y, .. } => {
            let mut models = Vec::with_capacity(y.ncols());
            for col in y.columns() {
                let labels: Array1<usize> = col.mapv(|v| usize::from(v > 0.5));
                let positives = labels.sum();
                if positives == 0 || positives == labels.len() {
                    models.push(Err(positives as f64 / labels.len() as f64));
                    continue;
                }
                let model = LogisticRegression::default()
                    .alpha(alpha)
                    .max_iterations(params.max_iter)
                    .fit(&Dataset::new(x.clone(), labels))
                    .map_err(failed)?;
                models.push(Ok(model));
            }
            Ok(Box::new(PerTag { models }))
        }
        Targets::Values(_) => {
            Err("the logistic probe does not apply to regression; use ridge, mlp or knn".into())
        }
    }
}

/// Fits one model per α and keeps the best on validation.
pub fn fit_select(params: &LogisticParams, data: &FitData<'_>) -> Result<Fitted, String> {
    select_best(
        data,
        params.alphas.iter().map(|&alpha| {
            fit_one(params, alpha, data)
                .map(|m| -> Candidate { (BTreeMap::from([("alpha".to_string(), alpha)]), m) })
        }),
    )
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
            x_train: x.view(),
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
}
