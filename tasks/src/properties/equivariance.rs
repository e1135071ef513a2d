//! Equivariance (`type = "equivariance"`): does the transform move
//! embeddings predictably?
//!
//! On normalised embeddings z (fitted on clean train items), with every
//! test item x at each of its views' θ:
//!
//! * **Feature prediction** (Lenc & Vedaldi 2015, "Understanding image
//!   representations by measuring their equivariance and equivalence"): a
//!   ridge map predicts `z(T_θ x)` from `z(x)` — one map `M_θ z + c_θ` per
//!   grid value, or for θ drawn from a range the θ-conditioned form
//!   `A z + θ B z + c + θ d`. Both are fitted in two stages: the θ-blind
//!   map (below), then a ridge correction of its residual from `z` (per
//!   grid value) or from `[z, θ z, θ]`, where "no correction" competes on
//!   valid items, so knowing θ never looks harmful merely because the
//!   larger model overfits. Fitted on train items, λ chosen on valid
//!   items (least squared error), scored on test items: `map_r2` (R²
//!   over all dimensions, variance-weighted as scikit-learn's
//!   `multioutput="variance_weighted"`) and `map_cosine` (mean cosine over
//!   the feature axis between predicted and actual embeddings). Baselines
//!   measured the same way: `identity_r2` (predict nothing moved) and
//!   `blind_r2` (one map for every θ). The headline
//!   `equivariance = 1 − SSE(θ-aware maps) / SSE(θ-blind map)`: the share
//!   of the θ-blind map's error that knowing θ removes (1 = θ explains
//!   every move; 0 = θ adds nothing; slightly negative when the chosen
//!   correction does worse on test than on valid items). Errors are
//!   floored at [`ERROR_FLOOR`] of the spread, so an invariant
//!   representation (both maps exact) scores 0, not a ratio of rounding.
//! * **Parameter prediction**: each probe (default ridge and a small MLP)
//!   reads θ from the pair `[z(x); z(T_θ x)]`: `theta_r2` and
//!   `theta_skill = 1 − RMSE / RMSE(predict the train mean θ)`. The
//!   `theta_r2_control` is the same probe given `z(x)` alone; θ is drawn
//!   independently of x, so it must be ≈ 0 — a high value means the score
//!   leaks from the clean view.
//! * **Curves** per grid value, or per quartile bin of θ: `map_r2_curve`
//!   and each probe's `theta_rmse_curve` (parameters `theta_low`,
//!   `theta_high`).
//!
//! Intervals: 95% percentile bootstrap over test items, each with all its
//! views (a cluster bootstrap).

use super::{measure, only_transform, prepare, resamples, rows_f64, Form, PerItem, SumStat};
use crate::metrics::properties::{row_cosines, squared_distances};
use crate::probes::ridge::RidgePath;
use crate::probes::{FitData, ProbeSpec};
use crate::targets::{Scores, Targets};
use crate::{versions, TaskSpec};
use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, TransformedView};
use repbench_framework::perturb::TransformSpec;
use repbench_framework::record::Measurement;
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// L2 strengths tried for the feature maps (on the sum of squared
/// errors), strongest first.
pub const MAP_LAMBDAS: [f64; 9] = [1e5, 1e4, 1e3, 100.0, 10.0, 1.0, 0.1, 0.01, 0.001];

/// A map's squared error is floored at this fraction of the target's
/// spread before the `equivariance` ratio (see there).
pub const ERROR_FLOOR: f64 = 1e-6;

/// The equivariance evaluator.
pub struct EquivarianceEvaluator {
    spec: TaskSpec,
    transform: TransformSpec,
}

impl EquivarianceEvaluator {
    /// Wraps a validated task spec with a transform.
    pub fn new(spec: TaskSpec, transform: TransformSpec) -> Self {
        EquivarianceEvaluator { spec, transform }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    /// True when every view puts all items at one θ (a grid).
    fn per_view_maps(&self) -> bool {
        matches!(
            self.transform.plan(),
            repbench_framework::perturb::ThetaPlan::Grid(_)
        )
    }
}

/// The fitted maps' test predictions and validation errors.
struct Maps {
    params: BTreeMap<String, f64>,
    predicted: Vec<Array2<f64>>,
    blind_pred: Array2<f64>,
    blind_valid_error: f64,
    aware_valid_error: f64,
}

/// A θ probe's test predictions, chosen settings and validation score.
struct ProbeRead {
    pred: Vec<f64>,
    params: BTreeMap<String, f64>,
    valid_score: f64,
}

/// The θ bin of pair (view, item).
type BinOf = Box<dyn Fn(usize, usize) -> usize>;

/// One split's normalised clean embeddings, views and θ.
struct Split {
    x: Array2<f64>,
    views: Vec<Array2<f64>>,
    theta: Vec<Vec<f64>>,
}

impl Split {
    fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Rows `[z(x); z(T x)]` (or `z(x)` alone), view-major (`k·n + i`).
    fn pair_features(&self, with_view: bool) -> Array2<f64> {
        let blocks: Vec<Array2<f64>> = self
            .views
            .iter()
            .map(|v| {
                if with_view {
                    concatenate![Axis(1), self.x, *v]
                } else {
                    self.x.clone()
                }
            })
            .collect();
        let views: Vec<ArrayView2<f64>> = blocks.iter().map(|b| b.view()).collect();
        concatenate(Axis(0), &views).expect("blocks share a width")
    }

    /// θ of every pair, view-major.
    fn pair_theta(&self) -> Vec<f64> {
        self.theta.concat()
    }

    /// `[z, θ z, θ]` for view `k`: the θ-conditioned correction's input.
    fn conditioned(&self, k: usize) -> Array2<f64> {
        let t = Array1::from(self.theta[k].clone()).insert_axis(Axis(1));
        concatenate![Axis(1), self.x, &self.x * &t, t]
    }
}

/// A ridge map `y ≈ (x − x̄) W + ȳ` with its chosen λ.
struct LinearMap {
    x_mean: Array1<f64>,
    y_mean: Array1<f64>,
    weights: Array2<f64>,
    lambda: f64,
    at_edge: bool,
    /// Squared error on the valid items at the chosen λ.
    valid_error: f64,
}

impl LinearMap {
    fn predict(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.x_mean).dot(&self.weights) + &self.y_mean
    }

    /// Fits every λ of [`MAP_LAMBDAS`] from one eigendecomposition and keeps
    /// the one with the least squared error predicting `yv` from `xv`
    /// (validation items). With `or_nothing`, the zero map (λ = ∞) is
    /// tried first and kept unless a λ beats it.
    fn fit(
        (x, y): (ArrayView2<f64>, ArrayView2<f64>),
        (xv, yv): (ArrayView2<f64>, ArrayView2<f64>),
        or_nothing: bool,
    ) -> std::result::Result<LinearMap, String> {
        let x_mean = x.mean_axis(Axis(0)).ok_or("no train items")?;
        let y_mean = y.mean_axis(Axis(0)).ok_or("no train items")?;
        let xc = &x - &x_mean;
        let path = RidgePath::new(xc.view(), (&y - &y_mean).view())?;
        let xvc = &xv - &x_mean;
        let errors =
            path.validation_sse(xc.view(), xvc.view(), (&yv - &y_mean).view(), &MAP_LAMBDAS);
        let mut best: Option<(f64, usize)> = None;
        if or_nothing {
            best = Some((yv.iter().map(|v| v * v).sum(), usize::MAX));
        }
        for (i, &err) in errors.iter().enumerate() {
            if best.is_none_or(|(e, _)| err < e) {
                best = Some((err, i));
            }
        }
        let (_, i) = best.ok_or("no λ to try")?;
        let map = if i == usize::MAX {
            LinearMap {
                x_mean,
                y_mean: Array1::zeros(y.ncols()),
                weights: Array2::zeros((x.ncols(), y.ncols())),
                lambda: f64::INFINITY,
                at_edge: false,
                valid_error: f64::NAN,
            }
        } else {
            LinearMap {
                weights: path.weights(xc.view(), MAP_LAMBDAS[i])?,
                x_mean,
                y_mean,
                lambda: MAP_LAMBDAS[i],
                at_edge: i == MAP_LAMBDAS.len() - 1 || (i == 0 && !or_nothing),
                valid_error: f64::NAN,
            }
        };
        // The expansion behind `validation_sse` loses precision near 0:
        // the chosen map's error is measured directly.
        let valid_error = sse(map.predict(xv).view(), yv);
        Ok(LinearMap { valid_error, ..map })
    }
}

fn sse(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    squared_distances(a, b).iter().sum()
}

/// Per-item sums over views of a per-pair quantity (`values[k][i]`).
fn per_item(values: &[Vec<f64>], keep: impl Fn(usize, usize) -> bool) -> Vec<f64> {
    let n = values.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| {
            values
                .iter()
                .enumerate()
                .filter(|(k, _)| keep(*k, i))
                .map(|(_, v)| v[i])
                .sum()
        })
        .collect()
}

/// `‖v − v̄‖²` per pair around the mean of the given views' rows.
fn spread_around(views: &[&Array2<f64>]) -> Vec<Vec<f64>> {
    let stacked: Vec<ArrayView2<f64>> = views.iter().map(|v| v.view()).collect();
    let all = concatenate(Axis(0), &stacked).expect("views share a width");
    let mean = all.mean_axis(Axis(0)).expect("at least one row");
    views
        .iter()
        .map(|v| {
            v.rows()
                .into_iter()
                .map(|r| r.iter().zip(&mean).map(|(a, m)| (a - m).powi(2)).sum())
                .collect()
        })
        .collect()
}

impl Evaluator for EquivarianceEvaluator {
    fn implementation(&self) -> String {
        let probes: Vec<String> = self
            .spec
            .probe_list()
            .iter()
            .map(|p| p.implementation())
            .collect();
        format!(
            "equivariance-evaluator/{} maps:ridge/{} metrics-properties/{} {}",
            versions::EQUIVARIANCE_EVALUATOR,
            versions::RIDGE,
            versions::METRICS_PROPERTIES,
            probes.join(" ")
        )
    }

    fn fingerprint(&self) -> String {
        let lambdas: Vec<String> = MAP_LAMBDAS.iter().map(|l| l.to_string()).collect();
        format!(
            "equivariance:map_lambdas={}:{}",
            lambdas.join(","),
            serde_json::to_string(&self.spec).expect("task specs serialise")
        )
    }

    fn evaluate(&self, _input: &EvalInput<'_>) -> Result<Evaluation> {
        Err(self
            .fail("an equivariance task needs its transform's views (the runner provides them)"))
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
        if splits.valid.len() < 2 {
            return Err(self.fail(
                "an equivariance task chooses λ and probe settings on valid items: the dataset needs at least two",
            ));
        }
        let raw = |x: ArrayView2<f32>, rows: &[usize]| rows_f64(task, input.items, x, rows);
        let split = |rows: &[usize]| -> Result<Split> {
            Ok(Split {
                x: normalizer.apply(raw(input.embeddings, rows)?.view()),
                views: views
                    .iter()
                    .map(|v| Ok(normalizer.apply(raw(v.embeddings, rows)?.view())))
                    .collect::<Result<_>>()?,
                theta: views
                    .iter()
                    .map(|v| rows.iter().map(|&r| v.theta[r]).collect())
                    .collect(),
            })
        };
        let (train, valid, test) = (
            split(&splits.train)?,
            split(&splits.valid)?,
            split(&splits.test)?,
        );
        let k = views.len();
        let n = test.n();
        let boot = resamples(input.seed, task, n, self.spec.bootstrap);
        let base = normalizer.params();
        let fail = |e: String| self.fail(format!("feature map: {e}"));

        // The maps and the θ probes are independent: fitted side by side.
        let fit_maps = || -> Result<Maps> {
            // θ-blind map: the pooled fit equals a fit to the mean view.
            let mut params = base.clone();
            let mean_view = |s: &Split| {
                s.views
                    .iter()
                    .fold(Array2::zeros(s.x.dim()), |acc, v| acc + v)
                    / k as f64
            };
            // Choosing λ against the mean valid view is choosing it against every
            // view: Σₖ‖p − vₖ‖² = K‖p − v̄‖² + a constant.
            let blind = LinearMap::fit(
                (train.x.view(), mean_view(&train).view()),
                (valid.x.view(), mean_view(&valid).view()),
                false,
            )
            .map_err(fail)?;
            let blind_valid_error: f64 = {
                let p = blind.predict(valid.x.view());
                valid.views.iter().map(|v| sse(p.view(), v.view())).sum()
            };
            params.insert("blind_lambda".into(), blind.lambda);
            let blind_pred = blind.predict(test.x.view());
            // What the blind map leaves of each view: the θ-aware maps' target.
            let residuals = |s: &Split| -> Vec<Array2<f64>> {
                let p = blind.predict(s.x.view());
                s.views.iter().map(|v| v - &p).collect()
            };
            let (train_res, valid_res) = (residuals(&train), residuals(&valid));

            // θ-aware maps: the blind map plus a ridge correction of its
            // residual — per grid value from z (`M_θ z + c_θ` in all), or one
            // θ-conditioned correction from `[z, θ z, θ]` (`A z + θ B z + c + θ d`
            // in all). "No correction" is a candidate, so on valid items the
            // θ-aware maps are never worse than the blind one.
            let mut aware_valid_error = 0.0;
            let mut note = |name: &str, map: &LinearMap, params: &mut BTreeMap<String, f64>| {
                aware_valid_error += map.valid_error;
                if map.lambda.is_finite() {
                    params.insert(name.to_string(), map.lambda);
                } else {
                    // JSON has no ∞: "no correction beat the blind map".
                    params.insert(format!("{name}_none"), 1.0);
                }
                if map.at_edge {
                    params.insert(format!("{name}_at_grid_edge"), 1.0);
                }
            };
            let predicted: Vec<Array2<f64>> = if self.per_view_maps() {
                let mut out = Vec::with_capacity(k);
                for j in 0..k {
                    let map = LinearMap::fit(
                        (train.x.view(), train_res[j].view()),
                        (valid.x.view(), valid_res[j].view()),
                        true,
                    )
                    .map_err(fail)?;
                    note(&format!("map_lambda_{j}"), &map, &mut params);
                    out.push(&blind_pred + &map.predict(test.x.view()));
                }
                out
            } else {
                let stack = |s: &Split, res: &[Array2<f64>]| -> (Array2<f64>, Array2<f64>) {
                    let xs: Vec<Array2<f64>> = (0..k).map(|j| s.conditioned(j)).collect();
                    let xv: Vec<ArrayView2<f64>> = xs.iter().map(|x| x.view()).collect();
                    let yv: Vec<ArrayView2<f64>> = res.iter().map(|v| v.view()).collect();
                    (
                        concatenate(Axis(0), &xv).expect("same width"),
                        concatenate(Axis(0), &yv).expect("same width"),
                    )
                };
                let ((xt, yt), (xv, yv)) = (stack(&train, &train_res), stack(&valid, &valid_res));
                let map = LinearMap::fit((xt.view(), yt.view()), (xv.view(), yv.view()), true)
                    .map_err(fail)?;
                note("map_lambda", &map, &mut params);
                (0..k)
                    .map(|j| &blind_pred + &map.predict(test.conditioned(j).view()))
                    .collect()
            };
            Ok(Maps {
                params,
                predicted,
                blind_pred,
                blind_valid_error,
                aware_valid_error,
            })
        };
        // Parameter prediction: θ from the pair, and the clean-view control.
        let theta_train = Targets::Values(train.pair_theta());
        let theta_valid = Targets::Values(valid.pair_theta());
        let probes = self.spec.probe_list();
        // Built once, read by every probe: `[z(x); z(T x)]` and `z(x)` alone.
        let features = [true, false].map(|with_view| {
            (
                train.pair_features(with_view),
                valid.pair_features(with_view),
                test.pair_features(with_view),
            )
        });
        let read = |pi: usize, probe: &ProbeSpec, with_view: bool| -> Result<ProbeRead> {
            let kind = probe.kind();
            let (xt, xv, xs) = &features[usize::from(!with_view)];
            let data = FitData {
                x_train: xt.view().into(),
                t_train: &theta_train,
                x_valid: xv.view(),
                t_valid: &theta_valid,
            };
            let probe_seed = seed::derive(
                input.seed,
                &["probe", task, &pi.to_string(), &with_view.to_string()],
            );
            let fitted = probe
                .fit_select(&data, probe_seed)
                .map_err(|e| self.fail(format!("{kind} probe reading θ: {e}")))?;
            let Scores::Values(pred) = fitted.model.predict(xs.view()) else {
                return Err(self.fail("θ probe returned non-numeric scores"));
            };
            Ok(ProbeRead {
                pred,
                params: fitted.params,
                valid_score: fitted.valid_score,
            })
        };
        let fit_probes = || -> Result<Vec<(ProbeRead, ProbeRead)>> {
            probes
                .par_iter()
                .enumerate()
                .map(|(pi, probe)| {
                    let (pair, control) =
                        rayon::join(|| read(pi, probe, true), || read(pi, probe, false));
                    Ok((pair?, control?))
                })
                .collect()
        };
        let (maps, fits) = rayon::join(fit_maps, fit_probes);
        let Maps {
            params,
            predicted,
            blind_pred,
            blind_valid_error,
            aware_valid_error,
        } = maps?;
        let fits = fits?;

        let e_aware: Vec<Vec<f64>> = (0..k)
            .map(|j| squared_distances(predicted[j].view(), test.views[j].view()))
            .collect();
        let e_blind: Vec<Vec<f64>> = (0..k)
            .map(|j| squared_distances(blind_pred.view(), test.views[j].view()))
            .collect();
        let e_identity: Vec<Vec<f64>> = (0..k)
            .map(|j| squared_distances(test.x.view(), test.views[j].view()))
            .collect();
        let all_views: Vec<&Array2<f64>> = test.views.iter().collect();
        let spread = spread_around(&all_views);
        let cosines: Vec<Vec<f64>> = (0..k)
            .map(|j| row_cosines(predicted[j].view(), test.views[j].view()))
            .collect();
        let every = |_: usize, _: usize| true;
        let sum = |v: &[Vec<f64>]| per_item(v, every);
        let cos_defined: Vec<Vec<f64>> = cosines
            .iter()
            .map(|c| {
                c.iter()
                    .map(|v| if v.is_nan() { 0.0 } else { *v })
                    .collect()
            })
            .collect();
        let cos_count: Vec<Vec<f64>> = cosines
            .iter()
            .map(|c| c.iter().map(|v| f64::from(u8::from(!v.is_nan()))).collect())
            .collect();

        // Errors below a millionth of the spread are rounding: when even
        // the θ-blind map is that exact (an invariant representation),
        // knowing θ removes nothing (0), not an arbitrary share of noise.
        let floored = |e: &[Vec<f64>]| -> Vec<Vec<f64>> {
            e.iter()
                .zip(&spread)
                .map(|(ev, tv)| {
                    ev.iter()
                        .zip(tv)
                        .map(|(a, t)| a.max(ERROR_FLOOR * t))
                        .collect()
                })
                .collect()
        };
        let equivariance = SumStat::new(
            Form::OneMinusRatio,
            sum(&floored(&e_aware)),
            sum(&floored(&e_blind)),
        );
        let map_r2 = SumStat::new(Form::OneMinusRatio, sum(&e_aware), sum(&spread));
        let stats_none = [
            ("equivariance", equivariance.clone()),
            ("map_r2", map_r2.clone()),
            (
                "map_cosine",
                SumStat::new(Form::Ratio, sum(&cos_defined), sum(&cos_count)),
            ),
            (
                "blind_r2",
                SumStat::new(Form::OneMinusRatio, sum(&e_blind), sum(&spread)),
            ),
            (
                "identity_r2",
                SumStat::new(Form::OneMinusRatio, sum(&e_identity), sum(&spread)),
            ),
        ];
        let mut measurements: Vec<Measurement> = stats_none
            .iter()
            .map(|(m, s)| measure("equivariance", None, m, s, &boot, params.clone()))
            .collect();
        let mut compared: BTreeMap<String, SumStat> = stats_none
            .iter()
            .filter(|(m, _)| matches!(*m, "equivariance" | "map_r2"))
            .map(|(m, s)| (format!("none/{m}"), s.clone()))
            .collect();

        // Curves: per grid value, or per quartile bin of θ over test pairs.
        let (bins, bin_of): (Vec<[f64; 2]>, BinOf) = if self.per_view_maps() {
            let edges = (0..k)
                .map(|j| [test.theta[j][0], test.theta[j][0]])
                .collect();
            (edges, Box::new(|j, _| j))
        } else {
            let pairs: Vec<f64> = test.pair_theta();
            let (edges, index) = super::quartile_bins(&pairs);
            (edges, Box::new(move |j, i| index[j * n + i]))
        };
        // Per grid value R² is measured around that value's own mean.
        let curve_spread: Vec<Vec<f64>> = if self.per_view_maps() {
            (0..k)
                .map(|j| spread_around(&[&test.views[j]]).remove(0))
                .collect()
        } else {
            spread.clone()
        };
        for (b, edges) in bins.iter().enumerate() {
            let keep = |j: usize, i: usize| bin_of(j, i) == b;
            let stat = SumStat::new(
                Form::OneMinusRatio,
                per_item(&e_aware, keep),
                per_item(&curve_spread, keep),
            );
            let mut p = params.clone();
            p.insert("theta_low".into(), edges[0]);
            p.insert("theta_high".into(), edges[1]);
            measurements.push(measure(
                "equivariance",
                None,
                "map_r2_curve",
                &stat,
                &boot,
                p,
            ));
        }

        // θ probes' scores on test pairs.
        let theta_test = test.pair_theta();
        let train_mean = theta_train.dense().mean().unwrap_or(f64::NAN);
        let test_mean = theta_test.iter().sum::<f64>() / theta_test.len() as f64;
        let by_pair = |f: &dyn Fn(usize) -> f64| -> Vec<Vec<f64>> {
            (0..k)
                .map(|j| (0..n).map(|i| f(j * n + i)).collect())
                .collect()
        };
        let total = by_pair(&|p| (theta_test[p] - test_mean).powi(2));
        let around_train_mean = by_pair(&|p| (theta_test[p] - train_mean).powi(2));
        let ones = by_pair(&|_| 1.0);
        let mut probe_selection = BTreeMap::new();
        for (probe, (pair, control)) in probes.iter().zip(&fits) {
            let kind = probe.kind();
            let (pred, probe_params, valid_score) =
                (&pair.pred, pair.params.clone(), pair.valid_score);
            let control = &control.pred;
            let errors = by_pair(&|p| (pred[p] - theta_test[p]).powi(2));
            let control_errors = by_pair(&|p| (control[p] - theta_test[p]).powi(2));
            let mut p = params.clone();
            p.extend(probe_params);
            let theta_r2 = SumStat::new(Form::OneMinusRatio, sum(&errors), sum(&total));
            let skill = SumStat::new(
                Form::OneMinusSqrtRatio,
                sum(&errors),
                sum(&around_train_mean),
            );
            let control_r2 = SumStat::new(Form::OneMinusRatio, sum(&control_errors), sum(&total));
            measurements.push(measure(
                "equivariance",
                Some(kind),
                "theta_r2",
                &theta_r2,
                &boot,
                p.clone(),
            ));
            measurements.push(measure(
                "equivariance",
                Some(kind),
                "theta_skill",
                &skill,
                &boot,
                p.clone(),
            ));
            measurements.push(measure(
                "equivariance",
                Some(kind),
                "theta_r2_control",
                &control_r2,
                &boot,
                p.clone(),
            ));
            for (b, edges) in bins.iter().enumerate() {
                let keep = |j: usize, i: usize| bin_of(j, i) == b;
                let stat = SumStat::new(
                    Form::SqrtRatio,
                    per_item(&errors, keep),
                    per_item(&ones, keep),
                );
                let mut q = p.clone();
                q.insert("theta_low".into(), edges[0]);
                q.insert("theta_high".into(), edges[1]);
                measurements.push(measure(
                    "equivariance",
                    Some(kind),
                    "theta_rmse_curve",
                    &stat,
                    &boot,
                    q,
                ));
            }
            compared.insert(format!("{kind}/theta_r2"), theta_r2);
            probe_selection.insert(kind.to_string(), valid_score);
        }

        // The layer compared between encoders: its equivariance on valid
        // items (the chosen maps' validation errors).
        let selection_score = 1.0
            - aware_valid_error.max(f64::MIN_POSITIVE) / blind_valid_error.max(f64::MIN_POSITIVE);
        probe_selection.insert("none".into(), selection_score);
        let predictions = PerItem {
            items: splits
                .test
                .iter()
                .map(|&r| input.items[r].id.clone())
                .collect(),
            stats: compared,
        };
        Ok(Evaluation {
            measurements,
            predictions: serde_json::to_value(predictions).expect("per-item values serialise"),
            selection_score,
            probe_selection,
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
