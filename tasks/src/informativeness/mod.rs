//! The probe evaluator: how well can a probe read a target from the
//! embeddings?
//!
//! Protocol: standardise with training statistics only, select each probe's
//! hyper-parameters on the validation split, then predict **every** test
//! item once. Each metric gets a 95% percentile-bootstrap interval over test
//! items; resample indices are seeded by task only, so all encoders of a
//! task share them and comparisons between encoders are paired. Stochastic
//! probes (MLP) are trained once per configured seed and reported per seed
//! and as the mean over seeds (with its standard deviation).

use crate::bootstrap::{estimate, paired, resample_indices};
use crate::probes::{BlockBuffers, FitData, Fitted, ProbeSpec, TrainRows};
use crate::standardize::Standardizer;
use crate::suite::{metrics_for, Metric};
use crate::targets::{Scores, TargetKind, Targets};
use crate::{maps, versions, TaskSpec};
use ndarray::ArrayView2;
use repbench_framework::dataset::{rows_in, Item, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator, VariantResults, Variants};
use repbench_framework::record::{Comparison, ItemMap, ItemPredictions, Measurement};
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod label_curve;

/// Probes on a multiclass, multilabel or regression task.
pub struct ProbeEvaluator {
    spec: TaskSpec,
    kind: TargetKind,
}

/// What is cached for comparisons: test scores per probe and seed.
#[derive(Serialize, Deserialize)]
struct ProbePredictions {
    probe: String,
    seeds: Vec<Vec<Vec<f64>>>,
}

/// The training rows a fit uses: the whole train split, or one draw of a
/// label fraction.
struct TrainSet<'a> {
    rows: &'a [usize],
    targets: &'a Targets,
    draw: Option<usize>,
}

/// Row indices of each split.
struct SplitRows {
    train: Vec<usize>,
    valid: Vec<usize>,
    test: Vec<usize>,
}

impl ProbeEvaluator {
    /// Wraps a validated task spec.
    pub fn new(spec: TaskSpec, kind: TargetKind) -> Self {
        ProbeEvaluator { spec, kind }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    fn split_rows(&self, items: &[Item]) -> Result<SplitRows> {
        let r = SplitRows {
            train: rows_in(items, Split::Train),
            valid: rows_in(items, Split::Valid),
            test: rows_in(items, Split::Test),
        };
        for (split, idx) in [
            (Split::Train, &r.train),
            (Split::Valid, &r.valid),
            (Split::Test, &r.test),
        ] {
            if idx.is_empty() {
                return Err(self.fail(format!("the {split} split has no items; every split needs some (check the dataset's split fractions or manifest)")));
            }
        }
        Ok(r)
    }

    fn check_classes(&self, targets: &Targets, rows: &SplitRows) -> Result<()> {
        let Targets::Classes { y, names } = targets else {
            return Ok(());
        };
        let train: BTreeSet<usize> = rows.train.iter().map(|&i| y[i]).collect();
        if train.len() < 2 {
            return Err(self.fail("the train split holds fewer than two classes; nothing to learn"));
        }
        let unseen: BTreeSet<&str> = rows
            .test
            .iter()
            .chain(&rows.valid)
            .filter(|&&i| !train.contains(&y[i]))
            .map(|&i| names[y[i]].as_str())
            .collect();
        if !unseen.is_empty() {
            return Err(self.fail(format!("classes {unseen:?} occur in valid/test but never in train; use more items or another split")));
        }
        Ok(())
    }

    fn resamples(&self, task: &str, seed_value: u64, n: usize) -> Vec<Vec<usize>> {
        resample_indices(
            n,
            self.spec.bootstrap,
            &mut seed::rng(seed_value, &["bootstrap", task]),
        )
    }

    /// Seeds a probe trains with: all configured seeds for stochastic
    /// probes, the first alone for deterministic ones.
    fn seeds_for(&self, probe: &ProbeSpec) -> Vec<u64> {
        if probe.is_stochastic() {
            self.spec.seeds.clone()
        } else {
            self.spec.seeds[..1].to_vec()
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sample_sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
}

/// Targets, splits, resamples and metrics shared by every matrix a task
/// evaluates (clean and perturbed).
struct Prepared {
    rows: SplitRows,
    t_train: Targets,
    t_valid: Targets,
    t_test: Targets,
    resamples: Vec<Vec<usize>>,
    metrics: Vec<Metric>,
}

/// One probe trained on one matrix: the standardiser and a model per seed.
struct ProbeFit {
    kind: &'static str,
    standardizer: Standardizer,
    per_seed: Vec<(u64, Fitted)>,
}

/// Test scores of one probe, per seed, with the chosen parameters.
struct ProbeScores {
    kind: &'static str,
    per_seed: Vec<(u64, Scores, BTreeMap<String, f64>)>,
}

impl ProbeEvaluator {
    fn prepare(&self, input: &EvalInput<'_>) -> Result<Prepared> {
        let targets = Targets::from_items(input.items, &self.spec.target, self.kind)
            .map_err(|e| self.fail(e))?;
        let rows = self.split_rows(input.items)?;
        self.check_classes(&targets, &rows)?;
        let t_test = targets.select(&rows.test);
        Ok(Prepared {
            t_train: targets.select(&rows.train),
            t_valid: targets.select(&rows.valid),
            resamples: self.resamples(input.task, input.seed, rows.test.len()),
            metrics: metrics_for(&t_test),
            t_test,
            rows,
        })
    }

    fn check_finite(&self, x: ArrayView2<f32>, items: &[Item]) -> Result<()> {
        match crate::rows::non_finite_problem(x, items) {
            Some(why) => Err(self.fail(why)),
            None => Ok(()),
        }
    }

    /// Trains every probe (and seed) on the train/valid rows of `x`.
    fn fit(
        &self,
        input: &EvalInput<'_>,
        prep: &Prepared,
        x: ArrayView2<f32>,
    ) -> Result<Vec<ProbeFit>> {
        let all = TrainSet {
            rows: &prep.rows.train,
            targets: &prep.t_train,
            draw: None,
        };
        self.fit_on(input, prep, x, &all)
    }

    /// Trains every probe on `train`'s rows of `x`, selecting on the
    /// valid rows: every configured seed, or one per label-fraction draw.
    fn fit_on(
        &self,
        input: &EvalInput<'_>,
        prep: &Prepared,
        x: ArrayView2<f32>,
        train: &TrainSet<'_>,
    ) -> Result<Vec<ProbeFit>> {
        self.check_finite(x, input.items)?;
        let standardizer = Standardizer::fit_rows(x, train.rows);
        // A float64 copy of the training rows (570 MB at 70 000 × 1024)
        // makes the logistic probe's repeated products faster; under a
        // tight memory budget they standardise each block as they read it
        // instead. The same values either way.
        let dense = (!input.low_memory).then(|| standardizer.rows(x, train.rows));
        let buffers = BlockBuffers::default();
        let x_train = match &dense {
            Some(d) => TrainRows::Dense(d.view()),
            None => TrainRows::Lazy {
                // A reborrow: views are invariant in their lifetime.
                x: x.view(),
                rows: train.rows,
                standardizer: &standardizer,
                buffers: &buffers,
            },
        };
        let x_valid = standardizer.rows(x, &prep.rows.valid);
        let data = FitData {
            x_train,
            t_train: train.targets,
            x_valid: x_valid.view(),
            t_valid: &prep.t_valid,
        };
        self.spec
            .probe_list()
            .iter()
            .enumerate()
            .map(|(pi, probe)| {
                let seeds = match train.draw {
                    None => self.seeds_for(probe),
                    Some(_) => self.spec.seeds[..1].to_vec(),
                };
                let per_seed = seeds
                    .into_iter()
                    .map(|s| {
                        let (s_text, pi_text) = (s.to_string(), pi.to_string());
                        let draw_text = train.draw.map(|d| d.to_string());
                        let mut parts = vec!["probe", input.task, &pi_text, &s_text];
                        if let Some(d) = &draw_text {
                            parts.extend(["label_draw", d.as_str()]);
                        }
                        let probe_seed = seed::derive(input.seed, &parts);
                        let fitted = probe.fit_select(&data, probe_seed);
                        buffers.release();
                        let mut fitted = fitted
                            .map_err(|e| self.fail(format!("probe {}: {e}", probe.kind())))?;
                        if standardizer.near_constant() > 0 {
                            fitted.params.insert(
                                "near_constant_features".into(),
                                standardizer.near_constant() as f64,
                            );
                        }
                        Ok((s, fitted))
                    })
                    .collect::<Result<_>>()?;
                Ok(ProbeFit {
                    kind: probe.kind(),
                    standardizer: standardizer.clone(),
                    per_seed,
                })
            })
            .collect()
    }

    /// Scores the test rows of `x` with fitted probes.
    fn score(
        &self,
        prep: &Prepared,
        fits: &[ProbeFit],
        x: ArrayView2<f32>,
        items: &[Item],
    ) -> Result<Vec<ProbeScores>> {
        self.check_finite(x, items)?;
        Ok(fits
            .iter()
            .map(|fit| {
                let x_test = fit.standardizer.rows(x, &prep.rows.test);
                ProbeScores {
                    kind: fit.kind,
                    per_seed: fit
                        .per_seed
                        .iter()
                        .map(|(s, f)| (*s, f.model.predict(x_test.view()), f.params.clone()))
                        .collect(),
                }
            })
            .collect())
    }

    /// Measurements of every probe and metric, with per-seed rows when a
    /// stochastic probe ran several seeds.
    fn measure(&self, prep: &Prepared, scores: &[ProbeScores]) -> Vec<Measurement> {
        let n = prep.rows.test.len();
        let mut out = Vec::new();
        for probe in scores {
            for metric in &prep.metrics {
                let on = |s: &Scores, idx: &[usize]| {
                    (metric.compute)(&prep.t_test.select(idx), &s.select(idx))
                };
                let e = estimate(n, &prep.resamples, |idx| {
                    Self::seed_mean(prep, metric, probe, idx)
                });
                let values: Vec<f64> = probe
                    .per_seed
                    .iter()
                    .map(|(_, s, _)| (metric.compute)(&prep.t_test, s))
                    .collect();
                let several = probe.per_seed.len() > 1;
                let base = Measurement {
                    evaluator: "probe".into(),
                    probe: Some(probe.kind.into()),
                    metric: metric.name.into(),
                    higher_is_better: metric.higher_is_better,
                    value: e.value,
                    ci_low: e.low,
                    ci_high: e.high,
                    n,
                    params: if several {
                        BTreeMap::new()
                    } else {
                        probe.per_seed[0].2.clone()
                    },
                    probe_seed: None,
                    seed_sd: several.then(|| sample_sd(&values)),
                    undefined_resamples: e.undefined,
                };
                if several {
                    for (s, scores, params) in &probe.per_seed {
                        let e = estimate(n, &prep.resamples, |idx| on(scores, idx));
                        out.push(Measurement {
                            value: e.value,
                            ci_low: e.low,
                            ci_high: e.high,
                            params: params.clone(),
                            probe_seed: Some(*s),
                            seed_sd: None,
                            undefined_resamples: e.undefined,
                            ..base.clone()
                        });
                    }
                }
                out.push(base);
            }
        }
        out
    }

    fn evaluation(&self, prep: &Prepared, fits: &[ProbeFit], scores: &[ProbeScores]) -> Evaluation {
        let predictions: Vec<ProbePredictions> = scores
            .iter()
            .map(|p| ProbePredictions {
                probe: p.kind.into(),
                seeds: p.per_seed.iter().map(|(_, s, _)| s.to_rows()).collect(),
            })
            .collect();
        // Each probe's validation score (mean over seeds) chooses the layer
        // its comparisons use; the unit's score is the best probe's.
        let probe_selection: BTreeMap<String, f64> = fits
            .iter()
            .map(|f| {
                let scores: Vec<f64> = f.per_seed.iter().map(|(_, fit)| fit.valid_score).collect();
                (f.kind.to_string(), mean(&scores))
            })
            .collect();
        Evaluation {
            measurements: self.measure(prep, scores),
            predictions: serde_json::to_value(&predictions).expect("predictions serialise"),
            selection_score: probe_selection
                .values()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max),
            probe_selection,
        }
    }

    /// `metric` on the items `idx`, averaged over seeds.
    fn seed_mean(prep: &Prepared, metric: &Metric, probe: &ProbeScores, idx: &[usize]) -> f64 {
        let t = prep.t_test.select(idx);
        mean(
            &probe
                .per_seed
                .iter()
                .map(|(_, s, _)| (metric.compute)(&t, &s.select(idx)))
                .collect::<Vec<_>>(),
        )
    }

    /// Per-severity drops relative to clean, paired over the same
    /// resamples: the loss, positive when the perturbed score is worse
    /// (`clean − perturbed`, or `perturbed − clean` for errors such as RMSE).
    fn drops(
        &self,
        prep: &Prepared,
        clean: &[ProbeScores],
        perturbed: &[ProbeScores],
    ) -> Vec<Measurement> {
        let n = prep.rows.test.len();
        let mut out = Vec::new();
        for (c, p) in clean.iter().zip(perturbed) {
            for metric in &prep.metrics {
                let on_clean = |idx: &[usize]| Self::seed_mean(prep, metric, c, idx);
                let on_perturbed = |idx: &[usize]| Self::seed_mean(prep, metric, p, idx);
                let r = if metric.higher_is_better {
                    paired(n, &prep.resamples, on_clean, on_perturbed)
                } else {
                    paired(n, &prep.resamples, on_perturbed, on_clean)
                };
                out.push(Measurement {
                    evaluator: "robustness".into(),
                    probe: Some(p.kind.into()),
                    metric: format!("{}_drop", metric.name),
                    higher_is_better: false,
                    value: r.delta.value,
                    ci_low: r.delta.low,
                    ci_high: r.delta.high,
                    n,
                    params: BTreeMap::from([("p_value".to_string(), r.p_value)]),
                    probe_seed: None,
                    seed_sd: None,
                    undefined_resamples: r.delta.undefined,
                });
            }
        }
        out
    }

    /// Normalised area under the retained-performance curve of a sweep:
    /// the trapezoid area of `[1, r_1, …, r_k]` over positions `0..=k`
    /// divided by `k`, where `r_i` is the metric at severity `i` relative
    /// to clean (`v/clean`, or `clean/v` for errors). 1 means no loss;
    /// severities count in config order (list them mildest first). A ratio
    /// is only meaningful between positive values, so the nAUC is undefined
    /// (NaN, `null` in JSON) where the clean score, or a perturbed error, is
    /// not positive (an R² ≤ 0, say).
    fn nauc(
        &self,
        prep: &Prepared,
        clean: &[ProbeScores],
        sweep: &[Vec<ProbeScores>],
    ) -> Vec<Measurement> {
        let n = prep.rows.test.len();
        let mut out = Vec::new();
        for (pi, c) in clean.iter().enumerate() {
            for metric in &prep.metrics {
                let area = |idx: &[usize]| {
                    let base = Self::seed_mean(prep, metric, c, idx);
                    let retained: Vec<f64> = std::iter::once(1.0)
                        .chain(sweep.iter().map(|scores| {
                            let v = Self::seed_mean(prep, metric, &scores[pi], idx);
                            match (metric.higher_is_better, base > 0.0, v > 0.0) {
                                (true, true, _) => v / base,
                                (false, _, true) => base / v,
                                _ => f64::NAN,
                            }
                        }))
                        .collect();
                    let k = (retained.len() - 1) as f64;
                    retained
                        .windows(2)
                        .map(|w| 0.5 * (w[0] + w[1]))
                        .sum::<f64>()
                        / k
                };
                let e = estimate(n, &prep.resamples, area);
                out.push(Measurement {
                    evaluator: "robustness".into(),
                    probe: Some(c.kind.into()),
                    metric: format!("{}_nauc", metric.name),
                    higher_is_better: true,
                    value: e.value,
                    ci_low: e.low,
                    ci_high: e.high,
                    n,
                    params: BTreeMap::new(),
                    probe_seed: None,
                    seed_sd: None,
                    undefined_resamples: e.undefined,
                });
            }
        }
        out
    }
}

impl Evaluator for ProbeEvaluator {
    /// The evaluator, the metric family of its target kind and each of its
    /// probes: a fix to the ridge probe leaves logistic-only tasks cached.
    fn implementation(&self) -> String {
        let metrics = match self.kind {
            TargetKind::Class => format!(
                "metrics-classification/{}",
                versions::METRICS_CLASSIFICATION
            ),
            TargetKind::Tags(_) => format!("metrics-multilabel/{}", versions::METRICS_MULTILABEL),
            TargetKind::Value => format!("metrics-regression/{}", versions::METRICS_REGRESSION),
        };
        let mut parts = vec![
            format!("probe-evaluator/{}", versions::PROBE_EVALUATOR),
            metrics,
        ];
        if !self.spec.label_fractions.is_empty() {
            parts.push(format!("label-curve/{}", versions::LABEL_CURVE));
        }
        parts.extend(self.spec.probe_list().iter().map(|p| p.implementation()));
        parts.join(" ")
    }

    fn fingerprint(&self) -> String {
        serde_json::to_string(&self.spec).expect("task specs serialise")
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let prep = self.prepare(input)?;
        let fits = self.fit(input, &prep, input.embeddings)?;
        let scores = self.score(&prep, &fits, input.embeddings, input.items)?;
        let mut evaluation = self.evaluation(&prep, &fits, &scores);
        if !self.spec.label_fractions.is_empty() {
            let curve = self.label_curve(input, &prep, &scores)?;
            evaluation.measurements.extend(curve);
        }
        Ok(evaluation)
    }

    /// Test-only perturbation trains each probe once on clean data and
    /// scores every severity's test rows with it; full perturbation
    /// retrains per severity. Both report drops and the sweep's nAUC.
    fn evaluate_variants(
        &self,
        input: &EvalInput<'_>,
        variants: &Variants<'_>,
    ) -> Result<VariantResults> {
        let prep = self.prepare(input)?;
        let clean_fits = self.fit(input, &prep, input.embeddings)?;
        let clean_scores = self.score(&prep, &clean_fits, input.embeddings, input.items)?;
        let mut per_variant = Vec::with_capacity(variants.len());
        let mut sweep_scores = Vec::with_capacity(variants.len());
        for i in 0..variants.len() {
            let full = variants.full_matrix(i, input.embeddings, input.items);
            let (fits, scores) = match variants {
                Variants::TestRows(_) => (
                    None,
                    self.score(&prep, &clean_fits, full.view(), input.items)?,
                ),
                Variants::Full(_) => {
                    let fits = self.fit(input, &prep, full.view())?;
                    let scores = self.score(&prep, &fits, full.view(), input.items)?;
                    (Some(fits), scores)
                }
            };
            let mut evaluation =
                self.evaluation(&prep, fits.as_deref().unwrap_or(&clean_fits), &scores);
            evaluation
                .measurements
                .extend(self.drops(&prep, &clean_scores, &scores));
            per_variant.push(evaluation);
            sweep_scores.push(scores);
        }
        Ok(VariantResults {
            per_variant,
            summary: self.nauc(&prep, &clean_scores, &sweep_scores),
        })
    }

    /// Each probe's test scores per seed, with the test items' ids and
    /// targets, so the primary metric can be recomputed on any resample
    /// ([`crate::exported::PrimaryMetric`]).
    fn item_predictions(
        &self,
        items: &[Item],
        evaluation: &Evaluation,
    ) -> Result<Vec<ItemPredictions>> {
        let targets =
            Targets::from_items(items, &self.spec.target, self.kind).map_err(|e| self.fail(e))?;
        let rows = self.split_rows(items)?;
        let (target, names, truth) = targets.select(&rows.test).to_export();
        let ids: Vec<String> = rows.test.iter().map(|&i| items[i].id.clone()).collect();
        let probes: Vec<ProbePredictions> = serde_json::from_value(evaluation.predictions.clone())
            .map_err(|err| {
                self.fail(format!(
                    "cached predictions unreadable ({err}); delete the cache entry"
                ))
            })?;
        Ok(probes
            .into_iter()
            .map(|p| ItemPredictions {
                seeds: self
                    .spec
                    .seeds
                    .iter()
                    .take(p.seeds.len())
                    .copied()
                    .collect(),
                probe: p.probe,
                target: target.into(),
                names: names.clone(),
                ids: ids.clone(),
                truth: truth.clone(),
                scores: p.seeds,
                forms: Vec::new(),
            })
            .collect())
    }

    /// Classes and values are mapped; tags have no single colour per item.
    fn map_implementation(&self) -> Option<String> {
        match self.kind {
            TargetKind::Tags(_) => None,
            TargetKind::Class | TargetKind::Value => Some(format!("maps/{}", versions::MAPS)),
        }
    }

    /// PCA and t-SNE of (a seeded sample of at most
    /// [`maps::MAP_ITEMS`]) test items, standardised with the training
    /// rows' statistics as the probes see them. The sample depends on the
    /// task and seed only, so every encoder's map shows the same items. A
    /// projection that is undefined on these embeddings is left out.
    fn embedding_maps(&self, input: &EvalInput<'_>) -> Result<Vec<ItemMap>> {
        let targets = Targets::from_items(input.items, &self.spec.target, self.kind)
            .map_err(|e| self.fail(e))?;
        let rows = self.split_rows(input.items)?;
        self.check_finite(input.embeddings, input.items)?;
        let standardizer = Standardizer::fit_rows(input.embeddings, &rows.train);
        let mut rng = seed::rng(input.seed, &["map", input.task]);
        let mapped = maps::sample_rows(&rows.test, maps::MAP_ITEMS, &mut rng);
        let x = standardizer.rows(input.embeddings, &mapped);
        let (target, names, truth) = targets.select(&mapped).to_export();
        let ids: Vec<String> = mapped.iter().map(|&i| input.items[i].id.clone()).collect();
        let projections = [maps::pca(x.view()), maps::tsne(x.view(), rng)];
        Ok(projections
            .into_iter()
            .filter_map(|p| p.ok())
            .map(|p| ItemMap {
                method: p.method.into(),
                params: p.params,
                target: target.into(),
                names: names.clone(),
                ids: ids.clone(),
                truth: truth.clone(),
                x: p.coords.column(0).to_vec(),
                y: p.coords.column(1).to_vec(),
            })
            .collect())
    }

    fn compare(
        &self,
        items: &[Item],
        seed_value: u64,
        a: &Evaluation,
        b: &Evaluation,
    ) -> Result<Vec<Comparison>> {
        if self.spec.bootstrap == 0 {
            return Ok(Vec::new());
        }
        let targets =
            Targets::from_items(items, &self.spec.target, self.kind).map_err(|e| self.fail(e))?;
        let rows = self.split_rows(items)?;
        let t_test = targets.select(&rows.test);
        let n = rows.test.len();
        let resamples = self.resamples(&self.spec.name, seed_value, n);
        let parse = |e: &Evaluation| -> Result<Vec<ProbePredictions>> {
            serde_json::from_value(e.predictions.clone()).map_err(|err| {
                self.fail(format!(
                    "cached predictions unreadable ({err}); delete the cache entry"
                ))
            })
        };
        let (pa, pb) = (parse(a)?, parse(b)?);
        let mut out = Vec::new();
        for (probe_a, probe_b) in pa.iter().zip(&pb) {
            let scores = |p: &ProbePredictions| -> Vec<Scores> {
                p.seeds
                    .iter()
                    .map(|rows| Scores::from_rows(&t_test, rows))
                    .collect()
            };
            let (sa, sb) = (scores(probe_a), scores(probe_b));
            for metric in metrics_for(&t_test) {
                let seed_mean = |set: &[Scores], idx: &[usize]| {
                    let t = t_test.select(idx);
                    mean(
                        &set.iter()
                            .map(|s| (metric.compute)(&t, &s.select(idx)))
                            .collect::<Vec<_>>(),
                    )
                };
                let r = paired(
                    n,
                    &resamples,
                    |idx| seed_mean(&sa, idx),
                    |idx| seed_mean(&sb, idx),
                );
                out.push(Comparison::from_paired(
                    probe_a.probe.clone(),
                    metric.name,
                    &r,
                    n,
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_evaluator;
    use ndarray::Array2;
    use rand::Rng as _;
    use repbench_framework::dataset::Label;

    fn split_of(i: usize) -> Split {
        [
            Split::Train,
            Split::Train,
            Split::Train,
            Split::Valid,
            Split::Test,
        ][i % 5]
    }

    fn item(i: usize, label: Label) -> Item {
        Item {
            id: format!("i{i}"),
            split: split_of(i),
            labels: BTreeMap::from([("y".to_string(), label)]),
            content_key: String::new(),
            source: String::new(),
        }
    }

    fn spec(extra: serde_json::Value) -> TaskSpec {
        let mut v =
            serde_json::json!({"name": "t", "dataset": "d", "target": "y", "bootstrap": 200});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn run(spec: &TaskSpec, items: &[Item], x: &Array2<f32>) -> Result<Evaluation> {
        build_evaluator(spec).evaluate(&EvalInput {
            task: "t",
            items,
            embeddings: x.view(),
            seed: 1,
            low_memory: false,
        })
    }

    fn value(e: &Evaluation, probe: &str, metric: &str) -> f64 {
        e.measurements
            .iter()
            .find(|m| {
                m.probe.as_deref() == Some(probe) && m.metric == metric && m.probe_seed.is_none()
            })
            .unwrap_or_else(|| panic!("no {probe}/{metric} in {:?}", e.measurements))
            .value
    }

    /// Noisy classes where more labels help: the label-efficiency curve
    /// has one record per fraction below 1 with growing training sets,
    /// rises towards the task's own score, and its area lies between the
    /// curve's ends; a regression task draws one too.
    #[test]
    fn label_fractions_give_a_rising_curve_and_its_area() {
        let n = 1000;
        let mut rng = seed::rng(9, &["noise"]);
        let items: Vec<Item> = (0..n)
            .map(|i| item(i, Label::Text(["a", "b", "c", "d"][i % 4].into())))
            .collect();
        let x = Array2::from_shape_fn((n, 16), |(i, j)| {
            let signal = if j % 4 == i % 4 { 0.6 } else { 0.0 };
            signal + rng.gen_range(-1.0f32..1.0)
        });
        let task =
            spec(serde_json::json!({"label_fractions": [0.01, 0.1, 0.5, 1.0], "label_draws": 4}));
        let e = run(&task, &items, &x).unwrap();
        assert_eq!(run(&task, &items, &x).unwrap(), e, "seeded: the same again");
        let curve: Vec<&Measurement> = e
            .measurements
            .iter()
            .filter(|m| m.evaluator == "label_efficiency" && m.metric == "accuracy")
            .collect();
        let fraction = |m: &Measurement| m.params["label_fraction"];
        assert_eq!(
            curve.iter().map(|m| fraction(m)).collect::<Vec<_>>(),
            [0.01, 0.1, 0.5]
        );
        let sizes: Vec<f64> = curve.iter().map(|m| m.params["train_items"]).collect();
        // 150 train items per class: round(1.5) = 2 of each at 1 %.
        assert_eq!(
            sizes,
            [8.0, 60.0, 300.0],
            "stratified shares of 600 train items"
        );
        for m in &curve {
            assert!(m.ci_low <= m.value && m.value <= m.ci_high, "{m:?}");
            assert!(m.seed_sd.unwrap() >= 0.0 && m.n == 200);
        }
        let full = value(&e, "logistic", "accuracy");
        assert!(curve[0].value + 0.1 < full, "{} vs {full}", curve[0].value);
        let auc = e
            .measurements
            .iter()
            .find(|m| m.evaluator == "label_efficiency" && m.metric == "accuracy_auc")
            .unwrap();
        assert!(auc.value > curve[0].value && auc.value < full, "{auc:?}");
        assert!(task.validate("tasks[0]").is_ok());

        let numbers: Vec<Item> = (0..n)
            .map(|i| item(i, Label::Number(x[[i, 0]] as f64 * 2.0)))
            .collect();
        let regression =
            spec(serde_json::json!({"type": "regression", "label_fractions": [0.05, 1.0]}));
        let e = run(&regression, &numbers, &x).unwrap();
        let r2 = e
            .measurements
            .iter()
            .find(|m| m.evaluator == "label_efficiency" && m.metric == "r2")
            .unwrap();
        assert_eq!(r2.params["train_items"], 30.0);
    }

    /// A fraction whose subset no probe setting fits (every k of a kNN
    /// probe above the subset's size) is an undefined point, and the rest
    /// of the task, the curve's other points included, is still measured.
    #[test]
    fn a_fraction_too_small_for_the_probe_is_undefined_not_fatal() {
        let items: Vec<Item> = (0..200)
            .map(|i| item(i, Label::Number((i % 9) as f64)))
            .collect();
        let x = Array2::from_shape_fn((200, 4), |(i, j)| ((i % 9) as f32) * (j as f32 + 1.0));
        let task = spec(serde_json::json!({
            "type": "regression", "probes": [{"kind": "knn", "ks": [5]}],
            "label_fractions": [0.01, 0.5, 1.0], "label_draws": 2
        }));
        let e = run(&task, &items, &x).unwrap();
        let point = |f: f64| {
            e.measurements
                .iter()
                .find(|m| m.metric == "r2" && m.params.get("label_fraction") == Some(&f))
                .unwrap()
        };
        assert!(point(0.01).value.is_nan() && point(0.01).params["fit_failed"] == 1.0);
        assert!(point(0.5).value.is_finite(), "{:?}", point(0.5));
        assert!(value(&e, "knn", "r2").is_finite());
        let area = e
            .measurements
            .iter()
            .find(|m| m.metric == "r2_auc")
            .unwrap();
        assert!(
            area.value.is_nan(),
            "an area over an undefined point is undefined"
        );
    }

    #[test]
    fn label_fractions_are_checked_naming_the_key() {
        for (extra, words) in [
            (
                serde_json::json!({"label_fractions": [0.5, 0.1]}),
                "ascending",
            ),
            (serde_json::json!({"label_fractions": [0.0, 1.0]}), "(0, 1]"),
            (serde_json::json!({"label_fractions": [1.0]}), "below 1"),
            (serde_json::json!({"label_draws": 2}), "label_fractions"),
            (
                serde_json::json!({"type": "retrieval", "label_fractions": [0.1]}),
                "only multiclass",
            ),
        ] {
            let err = spec(extra.clone())
                .validate("tasks[0]")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("tasks[0].label_") && err.contains(words),
                "{extra}: {err}"
            );
        }
    }

    #[test]
    fn every_probe_reads_separable_classes_and_scores_every_test_item() {
        let items: Vec<Item> = (0..150)
            .map(|i| item(i, Label::Text(["a", "b", "c"][i % 3].into())))
            .collect();
        let x = Array2::from_shape_fn((150, 3), |(i, j)| {
            if j == i % 3 {
                1.0
            } else {
                0.1 * ((i * 7 + j) % 5) as f32
            }
        });
        let probes = serde_json::json!([{"kind": "logistic"}, {"kind": "ridge"}, {"kind": "knn"},
            {"kind": "mlp", "hidden_units": 16, "hidden_layers": [1], "learning_rates": [0.01], "max_epochs": 300}]);
        let e = run(&spec(serde_json::json!({"probes": probes})), &items, &x).unwrap();
        for probe in ["logistic", "ridge", "knn", "mlp"] {
            assert_eq!(value(&e, probe, "accuracy"), 1.0, "{probe}");
        }
        for m in &e.measurements {
            assert_eq!(m.n, 30);
            assert!(m.ci_low <= m.value && m.value <= m.ci_high, "{m:?}");
        }
    }

    /// The exported predictions must reproduce every probe's primary
    /// value exactly (a leaderboard's rank intervals resample them), for
    /// classes with several seeds, tags and values, and name the test items.
    #[test]
    fn exported_predictions_reproduce_the_primary_metric() {
        type LabelOf = fn(usize) -> Label;
        let labels: [(&str, LabelOf); 3] = [
            ("classes", |i| Label::Text(["a", "b", "c"][i % 3].into())),
            ("tags", |i| Label::Text(["x", "y", "x;y"][i % 3].into())),
            ("values", |i| Label::Number((i % 7) as f64 * 0.5)),
        ];
        for (kind, label) in labels {
            let items: Vec<Item> = (0..120).map(|i| item(i, label(i))).collect();
            let x = Array2::from_shape_fn((120, 4), |(i, j)| {
                ((i * (j + 2)) % 7) as f32 * 0.3 + if j == i % 3 { 1.0 } else { 0.0 }
            });
            let mut extra = serde_json::json!({"probes": [{"kind": "ridge"},
                {"kind": "mlp", "hidden_units": 8, "hidden_layers": [1], "learning_rates": [0.01], "max_epochs": 20}],
                "seeds": [0, 1]});
            if kind == "values" {
                extra["type"] = "regression".into();
            } else if kind == "tags" {
                extra["type"] = "multilabel".into();
                extra["tag_separator"] = ";".into();
            }
            let spec = spec(extra);
            let e = run(&spec, &items, &x).unwrap();
            let exported = build_evaluator(&spec).item_predictions(&items, &e).unwrap();
            assert_eq!(exported.len(), 2, "{kind}");
            for p in &exported {
                assert_eq!(p.target, kind);
                assert_eq!(p.ids.len(), 24);
                assert!(p.ids.iter().all(|id| {
                    let i: usize = id[1..].parse().unwrap();
                    split_of(i) == Split::Test
                }));
                let metric = crate::exported::PrimaryMetric::new(p).unwrap();
                let all: Vec<usize> = (0..metric.len()).collect();
                let want = value(&e, &p.probe, metric.name());
                assert_eq!(metric.on(&all), want, "{kind} {}", p.probe);
                let text = serde_json::to_string(p).unwrap();
                let back: ItemPredictions = serde_json::from_str(&text).unwrap();
                assert_eq!(&back, p);
            }
            assert_eq!(exported[1].seeds, [0, 1], "the MLP trains once per seed");
        }
    }

    /// Two binary factors, target = a XOR b: no linear probe can beat chance.
    #[test]
    fn mlp_beats_logistic_on_xor_of_two_factors() {
        let mut rng = seed::rng(5, &["xor"]);
        let n = 400;
        let (mut items, mut x) = (Vec::new(), Array2::<f32>::zeros((n, 2)));
        for i in 0..n {
            let (a, b) = (rng.gen_bool(0.5), rng.gen_bool(0.5));
            x[[i, 0]] = f32::from(u8::from(a)) + rng.gen_range(-0.2..0.2);
            x[[i, 1]] = f32::from(u8::from(b)) + rng.gen_range(-0.2..0.2);
            items.push(item(
                i,
                Label::Text(if a ^ b { "odd" } else { "even" }.into()),
            ));
        }
        let probes = serde_json::json!([{"kind": "logistic"},
            {"kind": "mlp", "hidden_units": 32, "hidden_layers": [1], "learning_rates": [0.01], "max_epochs": 300}]);
        let e = run(&spec(serde_json::json!({"probes": probes})), &items, &x).unwrap();
        let (logistic, mlp) = (
            value(&e, "logistic", "accuracy"),
            value(&e, "mlp", "accuracy"),
        );
        assert!(logistic < 0.7, "logistic {logistic}");
        assert!(mlp > 0.95, "mlp {mlp}");
    }

    #[test]
    fn regression_and_multilabel_tasks_use_their_metrics() {
        let items: Vec<Item> = (0..100)
            .map(|i| item(i, Label::Number(i as f64 * 0.1)))
            .collect();
        let x = Array2::from_shape_fn((100, 2), |(i, j)| {
            if j == 0 {
                i as f32 * 0.1
            } else {
                ((i * 13) % 7) as f32
            }
        });
        let e = run(&spec(serde_json::json!({"type": "regression"})), &items, &x).unwrap();
        assert!(value(&e, "ridge", "r2") > 0.99);
        assert!(value(&e, "ridge", "rmse") < 0.1);

        let tags = ["rock;guitar", "rock", "jazz;piano", "jazz;guitar"];
        let items: Vec<Item> = (0..120)
            .map(|i| item(i, Label::Text(tags[i % 4].into())))
            .collect();
        let x = Array2::from_shape_fn((120, 4), |(i, j)| f32::from(u8::from(j == i % 4)));
        let e = run(&spec(serde_json::json!({"type": "multilabel"})), &items, &x).unwrap();
        assert_eq!(value(&e, "logistic", "roc_auc_macro"), 1.0);
        assert_eq!(value(&e, "logistic", "average_precision_macro"), 1.0);
    }

    #[test]
    fn seeds_are_reported_per_seed_and_as_mean_and_are_reproducible() {
        let items: Vec<Item> = (0..100)
            .map(|i| item(i, Label::Text(["a", "b"][(i / 2) % 2].into())))
            .collect();
        let x = Array2::from_shape_fn((100, 3), |(i, j)| {
            ((i * 31 + j * 17) % 11) as f32 + if j == 0 { ((i / 2) % 2) as f32 } else { 0.0 }
        });
        let s = spec(serde_json::json!({"seeds": [1, 2, 3],
            "probes": [{"kind": "mlp", "hidden_units": 8, "hidden_layers": [1], "learning_rates": [0.01], "max_epochs": 20}]}));
        let a = run(&s, &items, &x).unwrap();
        let b = run(&s, &items, &x).unwrap();
        assert_eq!(a, b);
        let acc: Vec<&Measurement> = a
            .measurements
            .iter()
            .filter(|m| m.metric == "accuracy")
            .collect();
        assert_eq!(acc.iter().filter(|m| m.probe_seed.is_some()).count(), 3);
        let mean_row = acc.iter().find(|m| m.probe_seed.is_none()).unwrap();
        assert!(mean_row.seed_sd.is_some());
        let per_seed: Vec<f64> = acc
            .iter()
            .filter(|m| m.probe_seed.is_some())
            .map(|m| m.value)
            .collect();
        assert!((mean_row.value - mean(&per_seed)).abs() < 1e-12);
        let other = spec(serde_json::json!({"seeds": [4, 5, 6],
            "probes": [{"kind": "mlp", "hidden_units": 8, "hidden_layers": [1], "learning_rates": [0.01], "max_epochs": 20}]}));
        assert_ne!(run(&other, &items, &x).unwrap().predictions, a.predictions);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let mut items: Vec<Item> = (0..30)
            .map(|i| item(i, Label::Text(["a", "b", "c"][i % 3].into())))
            .collect();
        let x = Array2::from_shape_fn((30, 2), |(i, _)| (i % 3) as f32);
        items[7].labels.clear();
        let err = run(&spec(serde_json::json!({})), &items, &x)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"i7\"") && err.contains("no label \"y\""),
            "{err}"
        );

        let mut items: Vec<Item> = (0..30)
            .map(|i| item(i, Label::Text(["a", "b", "c"][i % 3].into())))
            .collect();
        items
            .iter_mut()
            .filter(|i| i.split == Split::Valid)
            .for_each(|i| i.split = Split::Train);
        let err = run(&spec(serde_json::json!({})), &items, &x)
            .unwrap_err()
            .to_string();
        assert!(err.contains("valid split has no items"), "{err}");

        let items: Vec<Item> = (0..30)
            .map(|i| item(i, Label::Text(["a", "b", "c"][i % 3].into())))
            .collect();
        let mut bad = x.clone();
        bad[[4, 1]] = f32::NAN;
        let err = run(&spec(serde_json::json!({})), &items, &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"i4\"") && err.contains("NaN"), "{err}");

        let items: Vec<Item> = (0..30).map(|i| item(i, Label::Text("x".into()))).collect();
        let err = run(&spec(serde_json::json!({"type": "regression"})), &items, &x)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a finite number"), "{err}");
    }

    #[test]
    fn paired_comparison_separates_a_good_from_a_bad_encoder() {
        let items: Vec<Item> = (0..300)
            .map(|i| item(i, Label::Text(["a", "b", "c"][i % 3].into())))
            .collect();
        let good = Array2::from_shape_fn((300, 3), |(i, j)| f32::from(u8::from(j == i % 3)));
        let noise = Array2::from_shape_fn((300, 3), |(i, j)| ((i * 37 + j * 11) % 17) as f32);
        let s = spec(serde_json::json!({}));
        let ev = build_evaluator(&s);
        let (a, b) = (
            run(&s, &items, &good).unwrap(),
            run(&s, &items, &noise).unwrap(),
        );
        let cmp = ev.compare(&items, 1, &a, &b).unwrap();
        let acc = cmp.iter().find(|c| c.metric == "accuracy").unwrap();
        assert!(
            acc.delta > 0.3 && acc.p_value < 0.01 && acc.ci_low > 0.0,
            "{acc:?}"
        );
        let same = ev.compare(&items, 1, &a, &a).unwrap();
        assert!(same.iter().all(|c| c.delta == 0.0 && c.p_value == 1.0));
    }

    /// A one-hot code (a bump at the item's pitch bin, a pitch tracker's
    /// activation) on pitch-disjoint splits: the bins of test pitches never
    /// fire on train items and vary there by 1e-6 only. Dividing by that
    /// scale gave R² ≈ −1e10; now those bins are recorded as near-constant
    /// and set to 0, and the score stays an honest, modest failure.
    #[test]
    fn bins_that_never_fire_on_train_are_flagged_not_blown_up() {
        let n = 120;
        let pitch = |i: usize| (i % 60) as f64;
        let items: Vec<Item> = (0..n)
            .map(|i| {
                // Every pitch below 40 is in train (first cycle); valid
                // repeats some of them; test holds pitches 40–59 only.
                let split = if pitch(i) >= 40.0 {
                    Split::Test
                } else if i >= 60 && i % 3 == 0 {
                    Split::Valid
                } else {
                    Split::Train
                };
                Item {
                    split,
                    ..item(i, Label::Number(pitch(i)))
                }
            })
            .collect();
        let x = Array2::from_shape_fn((n, 60), |(i, j)| {
            let bump = f32::from(u8::from(j == i % 60));
            bump + 1e-6 * ((i * 7 + j * 3) % 5) as f32
        });
        let s = spec(serde_json::json!({"type": "regression", "probes": [{"kind": "ridge"}]}));
        let e = run(&s, &items, &x).unwrap();
        let r2 = e.measurements.iter().find(|m| m.metric == "r2").unwrap();
        assert_eq!(r2.params["near_constant_features"], 20.0, "{:?}", r2.params);
        assert!(r2.value > -50.0, "R² {}", r2.value);
    }

    /// Seven test items, one of a rare class: many resamples lose it, so
    /// balanced accuracy (averaged over the test split's classes) is
    /// undefined there and those resamples are counted, not averaged over
    /// fewer classes; accuracy is defined on every resample.
    #[test]
    fn resamples_that_lose_a_class_are_counted_as_undefined() {
        let label = |i: usize| if i == 9 { "rare" } else { ["a", "b"][i % 2] };
        let items: Vec<Item> = (0..40)
            .map(|i| {
                let split = match i {
                    9 | 30..=35 => Split::Test,
                    19 | 36..=39 => Split::Valid,
                    _ => Split::Train,
                };
                let class = if i == 19 || i == 29 { "rare" } else { label(i) };
                Item {
                    split,
                    ..item(i, Label::Text(class.into()))
                }
            })
            .collect();
        let x = Array2::from_shape_fn((40, 3), |(i, j)| {
            let class = ["a", "b", "rare"]
                .iter()
                .position(|c| matches!(&items[i].labels["y"], Label::Text(t) if t == c))
                .unwrap();
            f32::from(u8::from(j == class)) + 0.01 * ((i * 7 + j) % 3) as f32
        });
        let e = run(&spec(serde_json::json!({})), &items, &x).unwrap();
        let get = |metric: &str| {
            e.measurements
                .iter()
                .find(|m| m.metric == metric)
                .unwrap()
                .clone()
        };
        let (balanced, accuracy) = (get("balanced_accuracy"), get("accuracy"));
        assert_eq!(accuracy.undefined_resamples, 0);
        // P(a resample of 7 misses the rare item) = (6/7)^7 ≈ 0.34.
        assert!(
            (40..=110).contains(&balanced.undefined_resamples),
            "{balanced:?}"
        );
        assert!(balanced.ci_low.is_finite() && balanced.value.is_finite());
    }
}
