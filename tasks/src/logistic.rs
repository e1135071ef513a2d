//! Multinomial logistic-regression probe (linfa-logistic), with the L2
//! strength chosen on the validation split.

use linfa::traits::{Fit, Predict};
use linfa::Dataset;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, ArrayView2};
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};

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
    /// L2 strengths tried, strongest first; ties on validation keep the
    /// stronger one.
    #[serde(default = "d_alphas")]
    pub alphas: Vec<f64>,
    /// L-BFGS iteration limit per fit.
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
    /// Range checks with the offending key in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.alphas.is_empty() || self.alphas.iter().any(|a| !(a.is_finite() && *a > 0.0)) {
            return Err(Error::config(
                format!("{key}.alphas"),
                format!(
                    "must be a non-empty list of positive numbers (got {:?})",
                    self.alphas
                ),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::config(
                format!("{key}.max_iter"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// A trained probe and the strength chosen for it.
pub struct Selected {
    /// Chosen L2 strength.
    pub alpha: f64,
    /// Validation accuracy at that strength.
    pub valid_accuracy: f64,
    model: linfa_logistic::MultiFittedLogisticRegression<f64, usize>,
}

impl Selected {
    /// Class indices predicted for `x`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<usize> {
        self.model.predict(&x).to_vec()
    }
}

/// Fits one model per α on `train`, keeps the best on `valid` by accuracy.
pub fn fit_select(
    params: &LogisticParams,
    x_train: ArrayView2<f64>,
    y_train: &[usize],
    x_valid: ArrayView2<f64>,
    y_valid: &[usize],
) -> std::result::Result<Selected, String> {
    let data = Dataset::new(x_train.to_owned(), Array1::from(y_train.to_vec()));
    let mut best: Option<Selected> = None;
    for &alpha in &params.alphas {
        let model = MultiLogisticRegression::default()
            .alpha(alpha)
            .max_iterations(params.max_iter)
            .fit(&data)
            .map_err(|e| format!("logistic regression (alpha = {alpha}) failed: {e}"))?;
        let pred = model.predict(&x_valid);
        let acc =
            crate::metrics::accuracy(y_valid, pred.as_slice().expect("contiguous predictions"));
        if best.as_ref().is_none_or(|b| acc > b.valid_accuracy) {
            best = Some(Selected {
                alpha,
                valid_accuracy: acc,
                model,
            });
        }
    }
    best.ok_or_else(|| "no alpha to try".to_string())
}
