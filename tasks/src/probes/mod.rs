//! Probes: models trained on frozen embeddings to read a target.
//!
//! One shape for all (as linfa's `Params → fit → predict`): a probe's
//! parameters are checked at config time ([`ProbeSpec::validate`]); at run
//! time it fits one model per point of its grid on the train split and
//! keeps the one with the best validation score ([`ProbeSpec::fit_select`]).

pub mod blocked;
pub mod gram;
pub mod knn;
pub mod lbfgs;
pub mod logistic;
pub mod mlp;
pub mod ridge;
pub mod rows;

use crate::suite::selection_score;
use crate::targets::{Scores, Targets};
use ndarray::ArrayView2;
use repbench_framework::{Error, Result};
pub use rows::{BlockBuffers, TrainRows};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A fitted model.
pub trait Predictor: Send + Sync {
    /// Scores for each row of `x` (standardised like the training data).
    fn predict(&self, x: ArrayView2<f64>) -> Scores;
}

/// Standardised train and validation data with their targets.
pub struct FitData<'a> {
    /// Training features.
    pub x_train: TrainRows<'a>,
    /// Training targets.
    pub t_train: &'a Targets,
    /// Validation features.
    pub x_valid: ArrayView2<'a, f64>,
    /// Validation targets.
    pub t_valid: &'a Targets,
}

/// The model kept after selection, with its hyper-parameters.
pub struct Fitted {
    /// Chosen hyper-parameters (recorded in results).
    pub params: BTreeMap<String, f64>,
    /// Validation score of the chosen model.
    pub valid_score: f64,
    /// The model.
    pub model: Box<dyn Predictor>,
}

/// A candidate from a probe's grid: its parameters and fitted model.
pub type Candidate = (BTreeMap<String, f64>, Box<dyn Predictor>);

/// Keeps the candidate with the highest validation score; ties keep the
/// earlier one (grids list the more regularised settings first).
pub fn select_best(
    data: &FitData<'_>,
    candidates: impl Iterator<Item = Result<Candidate, String>>,
) -> Result<Fitted, String> {
    let mut best: Option<Fitted> = None;
    for candidate in candidates {
        let (params, model) = candidate?;
        let score = selection_score(data.t_valid, &model.predict(data.x_valid));
        if best.as_ref().is_none_or(|b| score > b.valid_score) {
            best = Some(Fitted {
                params,
                valid_score: score,
                model,
            });
        }
    }
    best.ok_or_else(|| "the hyper-parameter grid is empty".to_string())
}

/// Steps a regularisation grid is extended by, at most, past its edge.
pub const GRID_EXTENSION_STEPS: usize = 2;

/// Selection over a grid of positive scale parameters (L2 strengths):
/// every value is fitted in order and the best on validation kept (ties
/// keep the earlier one). When the best is the grid's largest or smallest
/// value and strictly beats the next value inwards, the optimum may lie
/// beyond the grid, so up to [`GRID_EXTENSION_STEPS`] more values are
/// tried outwards with the ratio of the two outermost values, while each
/// improves on the last (one that fails to fit ends the extension). If the
/// last one tried still wins, the choice is flagged with
/// `<name>_at_grid_edge = 1` in the parameters. `fit` returns
/// the model and any parameters it reports (e.g. iterations run).
pub fn select_on_scale_grid(
    data: &FitData<'_>,
    name: &str,
    grid: &[f64],
    fit: impl Fn(f64) -> Result<Candidate, String>,
) -> Result<Fitted, String> {
    let mut tried: Vec<(f64, f64)> = Vec::with_capacity(grid.len());
    let mut best: Option<Fitted> = None;
    // Fits and scores `value`; true when it became the best so far.
    let consider = |value: f64, best: &mut Option<Fitted>, tried: &mut Vec<(f64, f64)>| {
        let (mut params, model) = fit(value)?;
        let s = selection_score(data.t_valid, &model.predict(data.x_valid));
        tried.push((value, s));
        let better = best.as_ref().is_none_or(|b| s > b.valid_score);
        if better {
            params.insert(name.to_string(), value);
            *best = Some(Fitted {
                params,
                valid_score: s,
                model,
            });
        }
        Ok::<bool, String>(better)
    };
    for &value in grid {
        consider(value, &mut best, &mut tried)?;
    }
    let mut sorted = tried.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let chosen = best.as_ref().map_or(f64::NAN, |b| b.params[name]);
    let m = sorted.len();
    let ratio = if m < 2 {
        None
    } else if chosen == sorted[m - 1].0 && sorted[m - 1].1 > sorted[m - 2].1 {
        Some(sorted[m - 1].0 / sorted[m - 2].0)
    } else if chosen == sorted[0].0 && sorted[0].1 > sorted[1].1 {
        Some(sorted[0].0 / sorted[1].0)
    } else {
        None
    };
    if let Some(ratio) = ratio {
        let mut value = chosen;
        let mut still_improving = true;
        for _ in 0..GRID_EXTENSION_STEPS {
            value *= ratio;
            // A value the user never listed that fails to fit (a singular
            // system) ends the extension; it does not fail the task.
            if !consider(value, &mut best, &mut tried).unwrap_or(false) {
                still_improving = false;
                break;
            }
        }
        if let (true, Some(b)) = (still_improving, best.as_mut()) {
            b.params.insert(format!("{name}_at_grid_edge"), 1.0);
        }
    }
    best.ok_or_else(|| "the hyper-parameter grid is empty".to_string())
}

/// A probe and its grid (`probes = [{ kind = "…", … }]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeSpec {
    /// Logistic regression (multinomial / one-vs-rest).
    Logistic(logistic::LogisticParams),
    /// Closed-form ridge regression.
    Ridge(ridge::RidgeParams),
    /// Multi-layer perceptron (HEAR-style grid, early stopping).
    Mlp(mlp::MlpParams),
    /// Cosine k-nearest neighbours.
    Knn(knn::KnnParams),
}

impl ProbeSpec {
    /// The config spelling of the kind, used in results.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Logistic(_) => "logistic",
            ProbeSpec::Ridge(_) => "ridge",
            ProbeSpec::Mlp(_) => "mlp",
            ProbeSpec::Knn(_) => "knn",
        }
    }

    /// The probe's implementation version, e.g. `logistic/2`.
    pub fn implementation(&self) -> String {
        let version = match self {
            ProbeSpec::Logistic(_) => crate::versions::LOGISTIC,
            ProbeSpec::Ridge(_) => crate::versions::RIDGE,
            ProbeSpec::Mlp(_) => crate::versions::MLP,
            ProbeSpec::Knn(_) => crate::versions::KNN,
        };
        format!("{}/{version}", self.kind())
    }

    /// Whether training draws random numbers (so seeds matter).
    pub fn is_stochastic(&self) -> bool {
        matches!(self, ProbeSpec::Mlp(_))
    }

    /// Range checks; `key` is this probe's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        let reason = match self {
            ProbeSpec::Logistic(p) => p.check(),
            ProbeSpec::Ridge(p) => p.check(),
            ProbeSpec::Mlp(p) => p.check(),
            ProbeSpec::Knn(p) => p.check(),
        };
        reason.map_err(|(field, why)| Error::config(format!("{key}.{field}"), why))
    }

    /// Fits the grid and keeps the best model on validation data.
    pub fn fit_select(&self, data: &FitData<'_>, seed: u64) -> Result<Fitted, String> {
        match self {
            ProbeSpec::Logistic(p) => logistic::fit_select(p, data),
            ProbeSpec::Ridge(p) => ridge::fit_select(p, data),
            ProbeSpec::Mlp(p) => mlp::fit_select(p, data, seed),
            ProbeSpec::Knn(p) => knn::fit_select(p, data),
        }
    }
}

/// Checks that every value of a grid is a positive finite number.
pub(crate) fn positive_grid(
    field: &'static str,
    values: &[f64],
) -> Result<(), (&'static str, String)> {
    if values.is_empty() || values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err((
            field,
            format!("must be a non-empty list of positive numbers (got {values:?})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Predicts the truth plus an error growing with |log10(value / best)|,
    /// so validation R² peaks at `best`.
    struct Offset(f64);

    impl Predictor for Offset {
        fn predict(&self, x: ArrayView2<f64>) -> Scores {
            Scores::Values((0..x.nrows()).map(|i| i as f64 + self.0).collect())
        }
    }

    fn select(grid: &[f64], best: f64) -> BTreeMap<String, f64> {
        let x = Array2::zeros((4, 1));
        let t = Targets::Values(vec![0.0, 1.0, 2.0, 3.0]);
        let data = FitData {
            x_train: x.view().into(),
            t_train: &t,
            x_valid: x.view(),
            t_valid: &t,
        };
        let fitted = select_on_scale_grid(&data, "alpha", grid, |v| {
            let error = (v / best).log10().abs();
            Ok((
                BTreeMap::new(),
                Box::new(Offset(error)) as Box<dyn Predictor>,
            ))
        })
        .unwrap();
        fitted.params
    }

    #[test]
    fn a_grid_is_extended_past_an_edge_and_flagged_if_still_improving() {
        let edge = "alpha_at_grid_edge";
        // Interior optimum: nothing added.
        let p = select(&[1.0, 10.0, 100.0], 10.0);
        assert_eq!((p["alpha"], p.contains_key(edge)), (10.0, false));
        // One step past the edge: found, not flagged.
        let p = select(&[1.0, 10.0, 100.0], 1000.0);
        assert_eq!((p["alpha"], p.contains_key(edge)), (1000.0, false));
        // Far beyond: two steps added, still improving, flagged.
        let p = select(&[1.0, 10.0, 100.0], 1e6);
        assert!((p["alpha"] - 1e4).abs() < 1e-6 && p[edge] == 1.0, "{p:?}");
        // The small edge of a strongest-first grid, by value not position.
        let p = select(&[100.0, 10.0, 1.0], 1e-3);
        assert!((p["alpha"] - 0.01).abs() < 1e-12 && p[edge] == 1.0, "{p:?}");
        // A single value is the user's choice: never extended.
        let p = select(&[5.0], 1e6);
        assert_eq!((p["alpha"], p.contains_key(edge)), (5.0, false));
    }
}
