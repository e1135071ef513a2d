//! Probes: models trained on frozen embeddings to read a target.
//!
//! One shape for all (as linfa's `Params → fit → predict`): a probe's
//! parameters are checked at config time ([`ProbeSpec::validate`]); at run
//! time it fits one model per point of its grid on the train split and
//! keeps the one with the best validation score ([`ProbeSpec::fit_select`]).

pub mod knn;
pub mod lbfgs;
pub mod logistic;
pub mod mlp;
pub mod ridge;

use crate::suite::selection_score;
use crate::targets::{Scores, Targets};
use ndarray::ArrayView2;
use repbench_framework::{Error, Result};
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
    pub x_train: ArrayView2<'a, f64>,
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
