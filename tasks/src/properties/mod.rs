//! Property tasks: how a representation responds to a transform of its
//! input (the transform is a [`TransformSpec`], one embedding pass per
//! draw or grid value, provided by the runner).
//!
//! * [`invariance::InvarianceEvaluator`] (`type = "invariance"`): does the
//!   transform leave items where they were, relative to how far apart
//!   items are?
//! * [`equivariance::EquivarianceEvaluator`] (`type = "equivariance"`):
//!   does the transform move embeddings predictably — can the move be
//!   mapped, and can θ be read from the pair?
//!
//! Protocol (after the 2025 representation-evaluation protocol and its
//! code, synesis, with its weak points fixed): every fit (normalisation,
//! maps, probes) uses train items only, every choice (λ, probe settings,
//! the layer compared between encoders) valid items only, every reported
//! number test items only. Every score is a ratio of sums over test items
//! ([`SumStat`]), so scores are scale-free (comparable across encoders)
//! and get a 95% percentile-bootstrap interval over test items (each item
//! with all its draws: a cluster bootstrap) and paired comparisons
//! between encoders on the same resamples.

pub mod equivariance;
pub mod invariance;

use crate::bootstrap::{estimate, paired, resample_indices, Estimate};
use crate::standardize::Standardizer;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use repbench_framework::dataset::{rows_in, Item, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, TransformedView};
use repbench_framework::record::{Comparison, ItemPredictions, Measurement};
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How embeddings are normalised before property scores (fitted on the
/// clean train items, applied to clean and transformed embeddings alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Per-feature train mean and standard deviation; features near-constant
    /// on train are set to 0 ([`Standardizer`]). Every feature counts
    /// equally, as for probes.
    #[default]
    Standardize,
    /// Centre on the train mean, then scale each item to unit length. No
    /// per-feature division, so a sharply peaked layer (a pitch activation,
    /// a softmax) whose features are near-constant on train keeps what
    /// those features do on other items, and every item weighs the same.
    UnitNorm,
}

/// A layer is reported as out of the protocol's reach (`peaked_layer`)
/// when this share of its test-item variance lies in features that are
/// near-constant on the train items: a map or probe fitted on train
/// cannot have learnt anything about them.
pub const PEAKED_TEST_ENERGY_SHARE: f64 = 0.25;

/// The fitted normalisation and what it found about the layer.
pub struct Normalizer {
    kind: Normalization,
    standardizer: Standardizer,
    mean: Array1<f64>,
    /// Share of features near-constant on the train items.
    pub near_constant_share: f64,
    /// Share of the test items' variance (around the train mean) in those
    /// features.
    pub test_energy_outside_train: f64,
}

impl Normalizer {
    /// Fits on the clean train rows and measures the layer on the test rows.
    pub fn fit(kind: Normalization, train: ArrayView2<f64>, test: ArrayView2<f64>) -> Self {
        let standardizer = Standardizer::fit(train);
        let mean = train
            .mean_axis(Axis(0))
            .unwrap_or_else(|| Array1::zeros(train.ncols()));
        let constant = standardizer.constant_mask();
        let (mut inside, mut outside) = (0.0, 0.0);
        for row in test.rows() {
            for ((x, m), &c) in row.iter().zip(&mean).zip(&constant) {
                let e = (x - m).powi(2);
                if c {
                    outside += e;
                } else {
                    inside += e;
                }
            }
        }
        let total = inside + outside;
        Normalizer {
            kind,
            near_constant_share: standardizer.near_constant() as f64 / train.ncols().max(1) as f64,
            test_energy_outside_train: if total > 0.0 { outside / total } else { 0.0 },
            standardizer,
            mean,
        }
    }

    /// Normalised copy of `x` (rows are items).
    pub fn apply(&self, x: ArrayView2<f64>) -> Array2<f64> {
        match self.kind {
            Normalization::Standardize => self.standardizer.transform(x),
            Normalization::UnitNorm => {
                let mut z = &x - &self.mean;
                for mut row in z.rows_mut() {
                    let norm = row.dot(&row).sqrt();
                    if norm > 0.0 {
                        row /= norm;
                    }
                }
                z
            }
        }
    }

    /// True when the layer is out of the protocol's reach (see
    /// [`PEAKED_TEST_ENERGY_SHARE`]).
    pub fn peaked(&self) -> bool {
        self.test_energy_outside_train > PEAKED_TEST_ENERGY_SHARE
    }

    /// The diagnostics stamped on every measurement's parameters.
    pub fn params(&self) -> BTreeMap<String, f64> {
        let mut p = BTreeMap::from([
            ("near_constant_share".to_string(), self.near_constant_share),
            (
                "test_energy_outside_train".to_string(),
                self.test_energy_outside_train,
            ),
        ]);
        if self.peaked() {
            p.insert("peaked_layer".into(), 1.0);
        }
        p
    }
}

/// How a [`SumStat`]'s value follows from its summed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `1 − Σa / Σb`.
    OneMinusRatio,
    /// `Σa / Σb`.
    Ratio,
    /// `1 − √(Σa / Σb)`.
    OneMinusSqrtRatio,
    /// `√(Σa / Σb)` (an RMSE: lower is better).
    SqrtRatio,
    /// `min(Σa / Σb, 1)` (a relative loss: lower is better).
    RatioAtMostOne,
}

/// A score that is a function of per-test-item sums, so resampling items
/// re-adds their numbers: `columns[k][i]` is item i's part of sum k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumStat {
    /// How the value follows from the sums.
    pub form: Form,
    /// Numerator and denominator parts per test item.
    pub columns: [Vec<f64>; 2],
}

impl SumStat {
    /// A statistic from per-item numerator and denominator parts.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn new(form: Form, num: Vec<f64>, den: Vec<f64>) -> Self {
        assert_eq!(num.len(), den.len(), "SumStat: column lengths differ");
        SumStat {
            form,
            columns: [num, den],
        }
    }

    /// The value on the items `idx` (repeats allowed); NaN when the
    /// denominator is not positive.
    pub fn value(&self, idx: &[usize]) -> f64 {
        let a: f64 = idx.iter().map(|&i| self.columns[0][i]).sum();
        let b: f64 = idx.iter().map(|&i| self.columns[1][i]).sum();
        if b.is_nan() || b <= 0.0 {
            return f64::NAN;
        }
        match self.form {
            Form::OneMinusRatio => 1.0 - a / b,
            Form::Ratio => a / b,
            Form::OneMinusSqrtRatio => 1.0 - (a / b).sqrt(),
            Form::SqrtRatio => (a / b).sqrt(),
            Form::RatioAtMostOne => (a / b).min(1.0),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.columns[0].len()
    }

    /// True without items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a property evaluation keeps for comparisons: the test item ids
/// and each compared score's per-item sums, keyed by `probe/metric`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PerItem {
    /// Test item ids, in order.
    pub items: Vec<String>,
    /// `probe/metric` → statistic.
    pub stats: BTreeMap<String, SumStat>,
}

/// The `target` of exported property sums.
pub const PER_ITEM_SUMS: &str = "per_item_sums";

impl Form {
    /// The form's name in `predictions.jsonl` (its serde name).
    pub fn name(self) -> &'static str {
        match self {
            Form::OneMinusRatio => "one_minus_ratio",
            Form::Ratio => "ratio",
            Form::OneMinusSqrtRatio => "one_minus_sqrt_ratio",
            Form::SqrtRatio => "sqrt_ratio",
            Form::RatioAtMostOne => "ratio_at_most_one",
        }
    }

    /// The form named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Form> {
        [
            Form::OneMinusRatio,
            Form::Ratio,
            Form::OneMinusSqrtRatio,
            Form::SqrtRatio,
            Form::RatioAtMostOne,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// Whether larger values are better (not for an error or a loss).
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Form::SqrtRatio | Form::RatioAtMostOne)
    }
}

/// The per-item sums a property evaluation keeps (its `predictions`),
/// exported per probe (`none` for scores without one): each probe's
/// metrics in the order the evaluation's measurements first give them, so
/// the records' primary metric comes first.
pub(crate) fn export_sums(task: &str, evaluation: &Evaluation) -> Result<Vec<ItemPredictions>> {
    let per_item: PerItem =
        serde_json::from_value(evaluation.predictions.clone()).map_err(|e| Error::Task {
            task: task.into(),
            reason: format!("cached per-item values unreadable ({e}); delete the cache entry"),
        })?;
    let first_measured = |probe: &str, metric: &str| {
        evaluation
            .measurements
            .iter()
            .position(|m| m.probe.as_deref().unwrap_or("none") == probe && m.metric == metric)
            .unwrap_or(usize::MAX)
    };
    let mut by_probe: BTreeMap<&str, Vec<(&str, &SumStat)>> = BTreeMap::new();
    for (key, stat) in &per_item.stats {
        let (probe, metric) = key.split_once('/').unwrap_or(("none", key));
        if stat.len() != per_item.items.len() {
            return Err(Error::Task {
                task: task.into(),
                reason: format!(
                    "cached {key} has {} items but the test split {}; delete the cache entry",
                    stat.len(),
                    per_item.items.len()
                ),
            });
        }
        by_probe.entry(probe).or_default().push((metric, stat));
    }
    Ok(by_probe
        .into_iter()
        .map(|(probe, mut stats)| {
            stats.sort_by_key(|(metric, _)| first_measured(probe, metric));
            let scores = (0..per_item.items.len())
                .map(|i| {
                    stats
                        .iter()
                        .flat_map(|(_, s)| [s.columns[0][i], s.columns[1][i]])
                        .collect()
                })
                .collect();
            ItemPredictions {
                probe: probe.into(),
                target: PER_ITEM_SUMS.into(),
                names: stats.iter().map(|(m, _)| m.to_string()).collect(),
                ids: per_item.items.clone(),
                truth: serde_json::Value::Null,
                seeds: vec![0],
                scores: vec![scores],
                forms: stats
                    .iter()
                    .map(|(_, s)| s.form.name().to_string())
                    .collect(),
            }
        })
        .collect())
}

/// The train, valid and test rows of a property task.
pub(crate) struct Splits {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

impl Splits {
    /// The rows of each split; errors name what is missing.
    pub fn of(task: &str, items: &[Item]) -> Result<Splits> {
        let s = Splits {
            train: rows_in(items, Split::Train),
            valid: rows_in(items, Split::Valid),
            test: rows_in(items, Split::Test),
        };
        let fail = |what: &str| Error::Task {
            task: task.into(),
            reason: format!("a property task needs {what}; check the dataset's split"),
        };
        if s.train.len() < 2 {
            return Err(fail(
                "at least two train items (to fit normalisation and maps)",
            ));
        }
        if s.test.len() < 3 {
            return Err(fail("at least three test items"));
        }
        Ok(s)
    }
}

/// The views of a task's single transform (invariance and equivariance
/// read one).
pub(crate) fn only_transform<'v, 'a>(
    task: &str,
    views: &'v [Vec<TransformedView<'a>>],
) -> Result<&'v [TransformedView<'a>]> {
    match views {
        [one] => Ok(one),
        _ => Err(Error::Task {
            task: task.into(),
            reason: format!("expected the views of one transform, got {}", views.len()),
        }),
    }
}

/// The common start of every property evaluation: the views checked
/// against the clean embeddings (same items, same width), the split rows,
/// and the normalisation fitted on the clean train items.
pub(crate) fn prepare(
    task: &str,
    normalization: Normalization,
    input: &EvalInput<'_>,
    views: &[TransformedView<'_>],
) -> Result<(Splits, Normalizer)> {
    let fail = |reason: String| Error::Task {
        task: task.into(),
        reason,
    };
    if views.is_empty() {
        return Err(fail("the transform has no views".into()));
    }
    let shape = input.embeddings.dim();
    if let Some(v) = views
        .iter()
        .find(|v| v.embeddings.dim() != shape || v.theta.len() != shape.0)
    {
        return Err(fail(format!(
            "transformed embeddings are {:?} (θ for {} items), clean ones {shape:?}: an encoder must give every input the same dimensions",
            v.embeddings.dim(),
            v.theta.len()
        )));
    }
    let splits = Splits::of(task, input.items)?;
    let raw = |rows: &[usize]| rows_f64(task, input.items, input.embeddings, rows);
    let normalizer = Normalizer::fit(
        normalization,
        raw(&splits.train)?.view(),
        raw(&splits.test)?.view(),
    );
    Ok((splits, normalizer))
}

/// Seeded resamples of `n` test items, shared by every encoder of `task`
/// (so intervals and comparisons are paired).
pub(crate) fn resamples(run_seed: u64, task: &str, n: usize, count: usize) -> Vec<Vec<usize>> {
    resample_indices(n, count, &mut seed::rng(run_seed, &["bootstrap", task]))
}

/// A measurement of `stat` with its interval.
pub(crate) fn measure(
    evaluator: &str,
    probe: Option<&str>,
    metric: &str,
    stat: &SumStat,
    resamples: &[Vec<usize>],
    params: BTreeMap<String, f64>,
) -> Measurement {
    let e: Estimate = estimate(stat.len(), resamples, |idx| stat.value(idx));
    let higher_is_better = stat.form.higher_is_better();
    Measurement::from_estimate(
        (evaluator, probe),
        metric,
        higher_is_better,
        e,
        stat.len(),
        params,
    )
}

/// Paired comparisons of every statistic two evaluations share.
pub(crate) fn compare(
    task: &str,
    run_seed: u64,
    bootstrap: usize,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Result<Vec<Comparison>> {
    if bootstrap == 0 {
        return Ok(Vec::new());
    }
    let parse = |v: &serde_json::Value| -> Result<PerItem> {
        serde_json::from_value(v.clone()).map_err(|e| Error::Task {
            task: task.into(),
            reason: format!("cached per-item values unreadable ({e}); delete the cache entry"),
        })
    };
    let (pa, pb) = (parse(a)?, parse(b)?);
    if pa.items != pb.items {
        return Err(Error::Task {
            task: task.into(),
            reason: "two encoders were evaluated on different test items".into(),
        });
    }
    let n = pa.items.len();
    let resamples = resamples(run_seed, task, n, bootstrap);
    Ok(pa
        .stats
        .iter()
        .filter_map(|(name, sa)| pb.stats.get(name).map(|sb| (name, sa, sb)))
        .map(|(name, sa, sb)| {
            let (probe, metric) = name.split_once('/').unwrap_or(("none", name));
            let r = paired(n, &resamples, |i| sa.value(i), |i| sb.value(i));
            Comparison::from_paired(probe, metric, &r, n)
        })
        .collect())
}

/// The f64 copy of selected rows of an embedding matrix, checked finite.
pub(crate) fn rows_f64(
    task: &str,
    items: &[Item],
    x: ArrayView2<f32>,
    rows: &[usize],
) -> Result<Array2<f64>> {
    let out = crate::rows::rows_f64(x, rows);
    if let Some(((r, _), _)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::Task {
            task: task.into(),
            reason: format!(
                "embedding of item \"{}\" contains NaN or infinity",
                items[rows[r]].id
            ),
        });
    }
    Ok(out)
}

/// Quartile bins of `values` (edges at the 0, 25, 50, 75, 100th
/// percentiles); each value's bin index. Fewer bins when values repeat.
pub(crate) fn quartile_bins(values: &[f64]) -> (Vec<[f64; 2]>, Vec<usize>) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::bootstrap::percentile(&sorted, p);
    let mut edges: Vec<f64> = [0.0, 25.0, 50.0, 75.0, 100.0]
        .iter()
        .map(|&p| q(p))
        .collect();
    edges.dedup();
    if edges.len() < 2 {
        let v = edges.first().copied().unwrap_or(f64::NAN);
        return (vec![[v, v]], vec![0; values.len()]);
    }
    let bins: Vec<[f64; 2]> = edges.windows(2).map(|w| [w[0], w[1]]).collect();
    let last = bins.len() - 1;
    let index = values
        .iter()
        .map(|v| bins.iter().position(|b| *v < b[1]).unwrap_or(last))
        .collect();
    (bins, index)
}
