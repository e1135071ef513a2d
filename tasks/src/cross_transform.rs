//! Cross-transform disentanglement: is what an embedding says about one
//! factor undisturbed when the audio changes along another?
//!
//! For each factor A of a disentanglement task and each of its
//! `transforms = [...]` B (after the 2025 representation-evaluation
//! protocol's disentanglement test), a probe for A is trained on the clean
//! train items (standardised on them; logistic for a categorical factor,
//! ridge for a numeric one, each with its default grid chosen on the clean
//! valid items) and scored on the clean test items and on the same test
//! items transformed along B (every view of B, each item at its own θ).
//! The relative degradation `(score_clean − score_B) / score_clean` is 0
//! when B leaves A's information untouched and is capped at 1 (an R²
//! below 0 under B counts as 0, no better than the mean: otherwise one
//! unreadable pair would outweigh every other in the summary); undefined
//! when the clean score is not positive. Both scores are sums over test
//! items (accuracy: correct predictions; R²: squared errors against the
//! test items' own spread), so the degradation is a ratio of per-item sums
//! with a cluster-bootstrap interval over test items that pairs clean and
//! transformed scores on the same resample. A transform declared to change
//! the factor itself (`alters = ["pitch"]` on a pitch shift) is reported
//! with `transform_alters_factor = 1` and left out of the summary: its
//! degradation is expected, not entanglement.

use crate::bootstrap::estimate;
use crate::probes::ProbeSpec;
use crate::properties::{quartile_bins, resamples, rows_f64, Form, Splits, SumStat};
use crate::standardize::Standardizer;
use crate::targets::{Scores, TargetKind, Targets};
use crate::TaskSpec;
use ndarray::{Array2, ArrayView2};
use repbench_framework::dataset::{Item, Label};
use repbench_framework::evaluator::{EvalInput, TransformedView};
use repbench_framework::perturb::TransformSpec;
use repbench_framework::record::Measurement;
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One transform of a disentanglement task: a [`TransformSpec`] plus the
/// factors it changes by construction (`alters`).
#[derive(Debug, Clone, PartialEq)]
pub struct CrossTransform {
    /// The transform (kind, settings, θ range or grid).
    pub transform: TransformSpec,
    /// Factors this transform changes itself (a pitch shift changes
    /// pitch): their degradation is expected, not entanglement.
    pub alters: Vec<String>,
}

impl<'de> Deserialize<'de> for CrossTransform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let alters = match map.remove("alters") {
            None => Vec::new(),
            Some(v) => serde_json::from_value(v).map_err(|_| {
                serde::de::Error::custom(
                    "`alters` must be a list of factor names, e.g. alters = [\"pitch\"]",
                )
            })?,
        };
        let transform = TransformSpec::try_from(map).map_err(serde::de::Error::custom)?;
        Ok(CrossTransform { transform, alters })
    }
}

impl Serialize for CrossTransform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = Map::<String, Value>::from(self.transform.clone());
        if !self.alters.is_empty() {
            map.insert("alters".into(), serde_json::json!(self.alters));
        }
        map.serialize(s)
    }
}

/// Name of the headline score: 1 − the mean degradation over every
/// (factor, transform) pair whose transform does not alter the factor and
/// whose degradation is defined.
pub const SUMMARY_METRIC: &str = "cross_transform_disentanglement";

/// A factor's probe and how it is scored.
enum Reading {
    /// Categorical factor: logistic probe, accuracy.
    Class,
    /// Numeric factor: ridge probe, R².
    Value,
}

impl Reading {
    fn of(items: &[Item], factor: &str) -> Reading {
        if items
            .iter()
            .all(|it| matches!(it.labels.get(factor), Some(Label::Number(_))))
        {
            Reading::Value
        } else {
            Reading::Class
        }
    }

    fn probe(&self) -> ProbeSpec {
        match self {
            Reading::Class => ProbeSpec::Logistic(Default::default()),
            Reading::Value => ProbeSpec::Ridge(Default::default()),
        }
    }

    fn target_kind(&self) -> TargetKind {
        match self {
            Reading::Class => TargetKind::Class,
            Reading::Value => TargetKind::Value,
        }
    }

    fn metric(&self) -> &'static str {
        match self {
            Reading::Class => "accuracy",
            Reading::Value => "r2",
        }
    }
}

/// Per test item: the loss-like part `e` (1 − correct, or squared error)
/// and its scale `s` (1, or squared deviation from the test mean), so the
/// score is `1 − Σe / Σs` for accuracy and R² alike.
fn per_item_loss(scores: &Scores, truth: &Targets) -> Result<Vec<f64>, String> {
    match (scores, truth) {
        (Scores::Classes(_), Targets::Classes { y, .. }) => Ok(scores
            .argmax()
            .iter()
            .zip(y)
            .map(|(p, t)| f64::from(u8::from(p != t)))
            .collect()),
        (Scores::Values(p), Targets::Values(y)) => {
            Ok(p.iter().zip(y).map(|(p, t)| (p - t).powi(2)).collect())
        }
        _ => Err("the probe predicted a different kind of target".into()),
    }
}

fn per_item_scale(truth: &Targets) -> Vec<f64> {
    match truth {
        Targets::Values(y) => {
            let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
            y.iter().map(|v| (v - mean).powi(2)).collect()
        }
        _ => vec![1.0; truth.len()],
    }
}

/// A factor's probe read on the clean test items and under each view of
/// each transform.
struct FactorLosses {
    reading: Reading,
    probe: &'static str,
    params: BTreeMap<String, f64>,
    /// Clean loss per test item.
    clean: Vec<f64>,
    /// Scale per test item.
    scale: Vec<f64>,
    /// `[transform][view][test item]` loss.
    moved: Vec<Vec<Vec<f64>>>,
}

/// Every cross-transform measurement of a disentanglement task (see the
/// module docs); `views[t]` are the views of `spec.transforms[t]`.
pub fn measure(
    spec: &TaskSpec,
    input: &EvalInput<'_>,
    views: &[Vec<TransformedView<'_>>],
) -> Result<Vec<Measurement>> {
    let task = &spec.name;
    let fail = |reason: String| Error::Task {
        task: task.clone(),
        reason,
    };
    if views.len() != spec.transforms.len() {
        return Err(fail(format!(
            "expected the views of {} transforms, got {}",
            spec.transforms.len(),
            views.len()
        )));
    }
    let shape = input.embeddings.dim();
    if let Some(v) = views
        .iter()
        .flatten()
        .find(|v| v.embeddings.dim() != shape || v.theta.len() != shape.0)
    {
        return Err(fail(format!(
            "transformed embeddings are {:?}, clean ones {shape:?}: an encoder must give every input the same dimensions",
            v.embeddings.dim()
        )));
    }
    let splits = Splits::of(task, input.items)?;
    if splits.valid.is_empty() {
        return Err(fail(
            "cross-transform disentanglement chooses each factor's probe on valid items: the dataset needs some"
                .into(),
        ));
    }
    let raw = |x: ArrayView2<f32>, rows: &[usize]| rows_f64(task, input.items, x, rows);
    let train = raw(input.embeddings, &splits.train)?;
    let standardizer = Standardizer::fit(train.view());
    let x_train = standardizer.transform(train.view());
    let x_valid = standardizer.transform(raw(input.embeddings, &splits.valid)?.view());
    let x_test = standardizer.transform(raw(input.embeddings, &splits.test)?.view());
    let x_moved: Vec<Vec<Array2<f64>>> = views
        .iter()
        .map(|tv| {
            tv.iter()
                .map(|v| Ok(standardizer.transform(raw(v.embeddings, &splits.test)?.view())))
                .collect::<Result<_>>()
        })
        .collect::<Result<_>>()?;
    let factors: Vec<FactorLosses> = spec
        .factors
        .iter()
        .map(|factor| {
            let reading = Reading::of(input.items, factor);
            let targets =
                Targets::from_items(input.items, factor, reading.target_kind()).map_err(&fail)?;
            let probe = reading.probe();
            let (t_train, t_valid) = (targets.select(&splits.train), targets.select(&splits.valid));
            let probe_seed = seed::derive(input.seed, &["cross-transform", task, factor]);
            let fitted = probe
                .fit_select(
                    &crate::probes::FitData {
                        x_train: x_train.view().into(),
                        t_train: &t_train,
                        x_valid: x_valid.view(),
                        t_valid: &t_valid,
                    },
                    probe_seed,
                )
                .map_err(|e| fail(format!("factor \"{factor}\": {} probe: {e}", probe.kind())))?;
            let t_test = targets.select(&splits.test);
            let loss = |x: &Array2<f64>| {
                per_item_loss(&fitted.model.predict(x.view()), &t_test)
                    .map_err(|e| fail(format!("factor \"{factor}\": {e}")))
            };
            Ok(FactorLosses {
                clean: loss(&x_test)?,
                scale: per_item_scale(&t_test),
                moved: x_moved
                    .iter()
                    .map(|tv| tv.iter().map(&loss).collect::<Result<_>>())
                    .collect::<Result<_>>()?,
                probe: probe.kind(),
                params: fitted.params,
                reading,
            })
        })
        .collect::<Result<_>>()?;
    let n = splits.test.len();
    let resamples = resamples(input.seed, task, n, spec.bootstrap);
    let mut out = Vec::new();
    let mut summary_pairs: Vec<SumStat> = Vec::new();
    for (name, f) in spec.factors.iter().zip(&factors) {
        let metric = f.reading.metric();
        let one_minus = |num: Vec<f64>, den: Vec<f64>| SumStat::new(Form::OneMinusRatio, num, den);
        let row =
            |metric: String, stat: &SumStat, higher: bool, mut params: BTreeMap<String, f64>| {
                params.extend(f.params.clone());
                let e = estimate(n, &resamples, |idx| stat.value(idx));
                Measurement::from_estimate(
                    ("disentanglement", Some(f.probe)),
                    &metric,
                    higher,
                    e,
                    n,
                    params,
                )
            };
        out.push(row(
            format!("{metric}_{name}"),
            &one_minus(f.clean.clone(), f.scale.clone()),
            true,
            BTreeMap::new(),
        ));
        for ((ct, moved), tviews) in spec.transforms.iter().zip(&f.moved).zip(views) {
            let kind = ct.transform.kind();
            let alters = ct.alters.contains(name);
            let mut params = BTreeMap::from([("views".to_string(), moved.len() as f64)]);
            if alters {
                params.insert("transform_alters_factor".into(), 1.0);
            }
            let mean_moved: Vec<f64> = (0..n)
                .map(|i| moved.iter().map(|v| v[i]).sum::<f64>() / moved.len() as f64)
                .collect();
            out.push(row(
                format!("{metric}_{name}_under_{kind}"),
                &one_minus(mean_moved.clone(), f.scale.clone()),
                true,
                params.clone(),
            ));
            // (s − e_clean) − (s − e_moved) over (s − e_clean).
            let degradation = |moved_part: &dyn Fn(usize) -> (f64, f64)| {
                let (num, den): (Vec<f64>, Vec<f64>) = (0..n)
                    .map(|i| {
                        let (loss, weight) = moved_part(i);
                        (
                            loss - weight * f.clean[i],
                            weight * (f.scale[i] - f.clean[i]),
                        )
                    })
                    .unzip();
                SumStat::new(Form::RatioAtMostOne, num, den)
            };
            let overall = degradation(&|i| (mean_moved[i], 1.0));
            out.push(row(
                format!("degradation_{name}_under_{kind}"),
                &overall,
                false,
                params.clone(),
            ));
            if !alters {
                summary_pairs.push(overall);
            }
            // Per quartile of |θ| over every (test item, view) pair.
            let abs_theta: Vec<f64> = tviews
                .iter()
                .flat_map(|v| splits.test.iter().map(|&r| v.theta[r].abs()))
                .collect();
            let (bins, index) = quartile_bins(&abs_theta);
            for (b, edges) in bins.iter().enumerate() {
                let stat = degradation(&|i| {
                    (0..moved.len())
                        .filter(|&v| index[v * n + i] == b)
                        .fold((0.0, 0.0), |(l, w), v| (l + moved[v][i], w + 1.0))
                });
                let mut p = params.clone();
                p.insert("abs_theta_low".into(), edges[0]);
                p.insert("abs_theta_high".into(), edges[1]);
                out.push(row(
                    format!("degradation_{name}_under_{kind}_curve"),
                    &stat,
                    false,
                    p,
                ));
            }
        }
    }
    if !summary_pairs.is_empty() {
        // A pair whose clean score is not positive has no degradation:
        // the mean is over the defined pairs.
        let e = estimate(n, &resamples, |idx| {
            let defined: Vec<f64> = summary_pairs
                .iter()
                .map(|s| s.value(idx))
                .filter(|v| !v.is_nan())
                .collect();
            if defined.is_empty() {
                return f64::NAN;
            }
            1.0 - defined.iter().sum::<f64>() / defined.len() as f64
        });
        out.push(Measurement::from_estimate(
            ("disentanglement", None),
            SUMMARY_METRIC,
            true,
            e,
            n,
            BTreeMap::from([("pairs".to_string(), summary_pairs.len() as f64)]),
        ));
    }
    Ok(out)
}
