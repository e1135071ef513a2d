//! Invariance (`type = "invariance"`): does the transform leave each item
//! where it was, relative to how far apart different items are?
//!
//! On normalised embeddings z (fitted on clean train items, see
//! [`super::Normalization`]), over test items and every view of the transform:
//!
//! * `invariance = 1 − E‖z(x) − z(T_θ x)‖² / E_{x≠x′}‖z(x) − z(x′)‖²`:
//!   1 = the transform does not move items, 0 = it moves them as far as
//!   swapping for another item, negative = further. A representation that
//!   maps every item to one point has no spread to compare with: undefined
//!   (NaN, with `collapsed = 1`), never "invariant".
//! * `self_retrieval_r1` and `self_retrieval_mrr`: is the clean test
//!   embedding nearest to `z(T_θ x)` that of x itself (ties count against)?
//! * `cka` — linear CKA (Kornblith et al. 2019, centred, on the *raw*
//!   embeddings, the published definition) and `cka_normalized` (the same
//!   on the normalised embeddings, as the old drift rows reported) between
//!   clean and transformed test embeddings, averaged over views.
//! * `invariance_curve`: invariance per quartile bin of |θ| (parameters
//!   `abs_theta_low`, `abs_theta_high`), each bin's displacement measured
//!   against all test items' spread.
//!
//! Intervals: 95% percentile bootstrap over test items (an item with all
//! its draws); CKA's from at most [`CKA_RESAMPLES`] resamples of at most
//! [`CKA_MAX_ITEMS`] items (a seeded subsample above that; the point
//! estimate uses every item).

use super::{measure, only_transform, prepare, resamples, rows_f64, Form, PerItem, SumStat};
use crate::bootstrap::interval;
use crate::metrics::properties::{pair_distance_shares, self_retrieval_ranks, squared_distances};
use crate::{versions, TaskSpec};
use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, TransformedView};
use repbench_framework::perturb::TransformSpec;
use repbench_framework::record::Measurement;
use repbench_framework::similarity::{linear_cka, linear_cka_gram};
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// CKA recomputes an `m × m` centring per resample: its interval uses at
/// most this many resamples.
pub const CKA_RESAMPLES: usize = 200;
/// CKA's interval holds `m × m` Gram matrices: above this many test items
/// it is computed on a seeded subsample of this size.
pub const CKA_MAX_ITEMS: usize = 2000;
/// The spread between items is "none" (a collapsed representation) below
/// this fraction of the embeddings' squared norms.
const COLLAPSE_RELATIVE: f64 = 1e-9;

/// The invariance evaluator.
pub struct InvarianceEvaluator {
    spec: TaskSpec,
    transform: TransformSpec,
}

impl InvarianceEvaluator {
    /// Wraps a validated task spec with a transform.
    pub fn new(spec: TaskSpec, transform: TransformSpec) -> Self {
        InvarianceEvaluator { spec, transform }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }
}

/// One split's embeddings: clean raw, clean normalised, views raw, views
/// normalised.
type Views = (Array2<f64>, Array2<f64>, Vec<Array2<f64>>, Vec<Array2<f64>>);

/// Per-item displacement and spread of one split.
struct Displacement {
    /// `mean over views ‖z − z_T‖²` per item.
    moved: Vec<f64>,
    /// Per item, each view's `‖z − z_T‖²`.
    per_view: Vec<Vec<f64>>,
    /// Pair-distance shares (mean = mean squared distance between items).
    spread: Vec<f64>,
    /// True when the items have no spread to compare with.
    collapsed: bool,
}

fn displacement(clean: ArrayView2<f64>, views: &[Array2<f64>]) -> Displacement {
    let per_view: Vec<Vec<f64>> = views
        .iter()
        .map(|v| squared_distances(clean, v.view()))
        .collect();
    let n = clean.nrows();
    let moved: Vec<f64> = (0..n)
        .map(|i| per_view.iter().map(|d| d[i]).sum::<f64>() / views.len() as f64)
        .collect();
    let spread = pair_distance_shares(clean);
    let energy = |m: ArrayView2<f64>| m.iter().map(|v| v * v).sum::<f64>();
    let scale =
        energy(clean) + views.iter().map(|v| energy(v.view())).sum::<f64>() / views.len() as f64;
    let total: f64 = spread.iter().sum();
    Displacement {
        collapsed: total.is_nan() || total <= COLLAPSE_RELATIVE * scale,
        moved,
        per_view: (0..n)
            .map(|i| per_view.iter().map(|d| d[i]).collect())
            .collect(),
        spread,
    }
}

impl Displacement {
    fn invariance(&self) -> SumStat {
        let spread = if self.collapsed {
            vec![0.0; self.spread.len()]
        } else {
            self.spread.clone()
        };
        SumStat::new(Form::OneMinusRatio, self.moved.clone(), spread)
    }
}

/// Mean over views of linear CKA between `clean` and each view, with an
/// interval over shared resamples (Gram form, on at most
/// [`CKA_MAX_ITEMS`] items).
fn cka(
    clean: ArrayView2<f64>,
    views: &[Array2<f64>],
    resamples: &[Vec<usize>],
    sub: &[usize],
) -> (f64, Vec<f64>) {
    let point = views
        .iter()
        .map(|v| linear_cka(clean, v.view()))
        .sum::<f64>()
        / views.len() as f64;
    let gram = |m: ArrayView2<f64>| {
        let s = m.select(Axis(0), sub);
        s.dot(&s.t())
    };
    let gx = gram(clean);
    let gys: Vec<Array2<f64>> = views.iter().map(|v| gram(v.view())).collect();
    let stats = resamples
        .par_iter()
        .map(|idx| {
            gys.iter()
                .map(|gy| linear_cka_gram(gx.view(), gy.view(), idx))
                .sum::<f64>()
                / gys.len() as f64
        })
        .collect();
    (point, stats)
}

impl Evaluator for InvarianceEvaluator {
    fn implementation(&self) -> String {
        format!(
            "invariance-evaluator/{} metrics-properties/{}",
            versions::INVARIANCE_EVALUATOR,
            versions::METRICS_PROPERTIES
        )
    }

    fn fingerprint(&self) -> String {
        format!(
            "invariance:cka_resamples={CKA_RESAMPLES}:cka_items={CKA_MAX_ITEMS}:{}",
            serde_json::to_string(&self.spec).expect("task specs serialise")
        )
    }

    fn evaluate(&self, _input: &EvalInput<'_>) -> Result<Evaluation> {
        Err(self.fail("an invariance task needs its transform's views (the runner provides them)"))
    }

    fn transforms(&self) -> Vec<&TransformSpec> {
        vec![&self.transform]
    }

    fn evaluate_transformed(
        &self,
        input: &EvalInput<'_>,
        views: &[Vec<TransformedView<'_>>],
    ) -> Result<Evaluation> {
        let task = &self.spec.name;
        let views = only_transform(task, views)?;
        let (splits, normalizer) = prepare(task, self.spec.normalization, input, views)?;
        let raw = |x: ArrayView2<f32>, rows: &[usize]| rows_f64(task, input.items, x, rows);
        let normalised = |rows: &[usize]| -> Result<Views> {
            let clean_raw = raw(input.embeddings, rows)?;
            let views_raw: Vec<Array2<f64>> = views
                .iter()
                .map(|v| raw(v.embeddings, rows))
                .collect::<Result<_>>()?;
            let clean = normalizer.apply(clean_raw.view());
            let views_n = views_raw
                .iter()
                .map(|v| normalizer.apply(v.view()))
                .collect();
            Ok((clean_raw, clean, views_raw, views_n))
        };
        let (test_raw, test, views_raw, test_views) = normalised(&splits.test)?;
        let moved = displacement(test.view(), &test_views);
        let n = splits.test.len();
        let boot = resamples(input.seed, task, n, self.spec.bootstrap);
        let mut params = normalizer.params();
        params.insert("views".into(), views.len() as f64);
        if moved.collapsed {
            params.insert("collapsed".into(), 1.0);
        }
        let invariance = moved.invariance();

        // Self-retrieval: rank of the clean embedding of x for the query T_θ x.
        let ranks: Vec<Vec<usize>> = test_views
            .iter()
            .map(|v| self_retrieval_ranks(v.view(), test.view()))
            .collect();
        let per_item = |f: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..n)
                .map(|i| ranks.iter().map(|r| f(r[i])).sum::<f64>() / ranks.len() as f64)
                .collect()
        };
        let r1 = SumStat::new(
            Form::Ratio,
            per_item(&|r| f64::from(u8::from(r == 1))),
            vec![1.0; n],
        );
        let mrr = SumStat::new(Form::Ratio, per_item(&|r| 1.0 / r as f64), vec![1.0; n]);

        let mut measurements = vec![
            measure(
                "invariance",
                None,
                "invariance",
                &invariance,
                &boot,
                params.clone(),
            ),
            measure(
                "invariance",
                None,
                "self_retrieval_r1",
                &r1,
                &boot,
                params.clone(),
            ),
            measure(
                "invariance",
                None,
                "self_retrieval_mrr",
                &mrr,
                &boot,
                params.clone(),
            ),
        ];

        // CKA on at most CKA_MAX_ITEMS items with at most CKA_RESAMPLES resamples.
        let mut sub: Vec<usize> = (0..n).collect();
        if n > CKA_MAX_ITEMS {
            sub.shuffle(&mut seed::rng(input.seed, &["cka-subsample", task]));
            sub.truncate(CKA_MAX_ITEMS);
            sub.sort_unstable();
        }
        let cka_boot = resamples(
            input.seed,
            task,
            sub.len(),
            self.spec.bootstrap.min(CKA_RESAMPLES),
        );
        for (metric, clean, views_m) in [
            ("cka", &test_raw, &views_raw),
            ("cka_normalized", &test, &test_views),
        ] {
            let (point, stats) = cka(clean.view(), views_m, &cka_boot, &sub);
            let e = if stats.is_empty() {
                interval(point, &[point])
            } else {
                interval(point, &stats)
            };
            measurements.push(Measurement::from_estimate(
                ("invariance", None),
                metric,
                true,
                e,
                n,
                params.clone(),
            ));
        }

        // Invariance per quartile bin of |θ| over every (item, view) pair.
        let abs_theta: Vec<f64> = (0..n)
            .flat_map(|i| {
                let row = splits.test[i];
                views.iter().map(move |v| v.theta[row].abs())
            })
            .collect();
        let (bins, bin_of) = super::quartile_bins(&abs_theta);
        let mean_spread = invariance.columns[1].iter().sum::<f64>() / n as f64;
        for (b, edges) in bins.iter().enumerate() {
            let k = views.len();
            let num: Vec<f64> = (0..n)
                .map(|i| {
                    (0..k)
                        .filter(|&j| bin_of[i * k + j] == b)
                        .map(|j| moved.per_view[i][j])
                        .sum()
                })
                .collect();
            let den: Vec<f64> = (0..n)
                .map(|i| (0..k).filter(|&j| bin_of[i * k + j] == b).count() as f64 * mean_spread)
                .collect();
            let mut p = params.clone();
            p.insert("abs_theta_low".into(), edges[0]);
            p.insert("abs_theta_high".into(), edges[1]);
            let stat = SumStat::new(Form::OneMinusRatio, num, den);
            measurements.push(measure(
                "invariance",
                None,
                "invariance_curve",
                &stat,
                &boot,
                p,
            ));
        }

        // The layer compared between encoders is chosen on valid items.
        let selection_score = if splits.valid.len() >= 3 {
            let (_, valid, _, valid_views) = normalised(&splits.valid)?;
            let d = displacement(valid.view(), &valid_views);
            let all: Vec<usize> = (0..splits.valid.len()).collect();
            d.invariance().value(&all)
        } else {
            f64::NAN
        };
        let predictions = PerItem {
            items: splits
                .test
                .iter()
                .map(|&r| input.items[r].id.clone())
                .collect(),
            stats: BTreeMap::from([
                ("none/invariance".to_string(), invariance),
                ("none/self_retrieval_r1".to_string(), r1),
                ("none/self_retrieval_mrr".to_string(), mrr),
            ]),
        };
        Ok(Evaluation {
            measurements,
            predictions: serde_json::to_value(predictions).expect("per-item values serialise"),
            selection_score,
            probe_selection: BTreeMap::new(),
        })
    }

    /// Each test item's parts of every compared score, so a leaderboard
    /// resamples items as the run's intervals do.
    fn item_predictions(
        &self,
        _items: &[repbench_framework::dataset::Item],
        evaluation: &Evaluation,
    ) -> Result<Vec<repbench_framework::record::ItemPredictions>> {
        super::export_sums(&self.spec.name, evaluation)
    }

    fn compare(
        &self,
        _items: &[repbench_framework::dataset::Item],
        seed_value: u64,
        a: &Evaluation,
        b: &Evaluation,
    ) -> Result<Vec<repbench_framework::record::Comparison>> {
        super::compare(
            &self.spec.name,
            seed_value,
            self.spec.bootstrap,
            &a.predictions,
            &b.predictions,
        )
    }
}
