//! Label-efficiency curves: every probe retrained on nested, seeded
//! fractions of the training split (validation and test unchanged), the
//! score at each fraction, and the curve's normalised area.

use super::{sample_sd, Prepared, ProbeEvaluator, ProbeScores, TrainSet};
use crate::bootstrap::estimate;
use crate::label_subsets::nested_subsets;
use repbench_framework::evaluator::EvalInput;
use repbench_framework::record::{Measurement, LABEL_EFFICIENCY};
use repbench_framework::{seed, Result};
use std::collections::BTreeMap;

/// Normalised area under a score-vs-fraction curve on a log₁₀ fraction
/// axis: `∫ score d(log₁₀ f) / (0 − log₁₀ f_min)` by the trapezoid rule
/// over `points` (`(fraction, score)`, ascending fractions, the last at 1).
/// It is the curve's mean height over the log-fraction range, in the
/// metric's own units (a flat curve's area is its score), so a
/// representation that needs few labels scores close to its full-data
/// score. NaN when any point is undefined or fewer than two are given.
pub fn normalised_log_area(points: &[(f64, f64)]) -> f64 {
    if points.len() < 2 || points.iter().any(|p| !p.1.is_finite()) {
        return f64::NAN;
    }
    let span = points[points.len() - 1].0.log10() - points[0].0.log10();
    let area: f64 = points
        .windows(2)
        .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0.log10() - w[0].0.log10()))
        .sum();
    area / span
}

impl ProbeEvaluator {
    /// The curve's measurements: per probe, metric and fraction below 1
    /// the mean over draws (interval: percentile bootstrap of that mean
    /// over the task's test resamples; `seed_sd`: spread over draws), and
    /// per probe and metric the normalised area with fraction 1 taken
    /// from `full`, the task's own scores.
    pub(super) fn label_curve(
        &self,
        input: &EvalInput<'_>,
        prep: &Prepared,
        full: &[ProbeScores],
    ) -> Result<Vec<Measurement>> {
        let fractions: Vec<f64> = self
            .spec
            .label_fractions
            .iter()
            .copied()
            .filter(|&f| f < 1.0)
            .collect();
        let draws = self.spec.label_draw_count();
        // curve[j][p]: probe p at fraction j, one "seed" per draw.
        let mut curve: Vec<Vec<ProbeScores>> = (0..fractions.len())
            .map(|_| {
                full.iter()
                    .map(|p| ProbeScores {
                        kind: p.kind,
                        per_seed: Vec::with_capacity(draws),
                    })
                    .collect()
            })
            .collect();
        let mut train_items = vec![0usize; fractions.len()];
        // A subset too small for a probe (every k of a kNN probe above its
        // size, say) leaves that point undefined, not the whole task.
        let mut failed = vec![false; fractions.len()];
        for draw in 0..draws {
            let mut rng = seed::rng(
                input.seed,
                &["label_fraction", input.task, &draw.to_string()],
            );
            let subsets = nested_subsets(&prep.t_train, &fractions, &mut rng);
            for (j, subset) in subsets.iter().enumerate() {
                let rows: Vec<usize> = subset.iter().map(|&p| prep.rows.train[p]).collect();
                let targets = prep.t_train.select(subset);
                let train = TrainSet {
                    rows: &rows,
                    targets: &targets,
                    draw: Some(draw),
                };
                if failed[j] {
                    continue;
                }
                let Ok(fits) = self.fit_on(input, prep, input.embeddings, &train) else {
                    failed[j] = true;
                    curve[j].iter_mut().for_each(|p| p.per_seed.clear());
                    continue;
                };
                let scores = self.score(prep, &fits, input.embeddings, input.items)?;
                for (slot, probe) in curve[j].iter_mut().zip(scores) {
                    let (_, s, params) = probe.per_seed.into_iter().next().ok_or_else(|| {
                        self.fail("a label-fraction fit returned no model; report this as a bug")
                    })?;
                    slot.per_seed.push((draw as u64, s, params));
                }
                train_items[j] += rows.len();
            }
        }
        Ok(self.curve_measurements(prep, full, &fractions, &curve, (&train_items, &failed)))
    }

    fn curve_measurements(
        &self,
        prep: &Prepared,
        full: &[ProbeScores],
        fractions: &[f64],
        curve: &[Vec<ProbeScores>],
        (train_items, failed): (&[usize], &[bool]),
    ) -> Vec<Measurement> {
        let n = prep.rows.test.len();
        let draws = self.spec.label_draw_count();
        let mut out = Vec::new();
        for (pi, whole) in full.iter().enumerate() {
            for metric in &prep.metrics {
                let base = Measurement {
                    evaluator: LABEL_EFFICIENCY.into(),
                    probe: Some(whole.kind.into()),
                    metric: metric.name.into(),
                    higher_is_better: metric.higher_is_better,
                    value: f64::NAN,
                    ci_low: f64::NAN,
                    ci_high: f64::NAN,
                    n,
                    params: BTreeMap::new(),
                    probe_seed: None,
                    seed_sd: None,
                    undefined_resamples: 0,
                };
                for (j, &fraction) in fractions.iter().enumerate() {
                    let at = &curve[j][pi];
                    if failed[j] {
                        out.push(Measurement {
                            params: BTreeMap::from([
                                ("label_fraction".to_string(), fraction),
                                ("fit_failed".to_string(), 1.0),
                            ]),
                            ..base.clone()
                        });
                        continue;
                    }
                    let e = estimate(n, &prep.resamples, |idx| {
                        Self::seed_mean(prep, metric, at, idx)
                    });
                    let per_draw: Vec<f64> = at
                        .per_seed
                        .iter()
                        .map(|(_, s, _)| (metric.compute)(&prep.t_test, s))
                        .collect();
                    out.push(Measurement {
                        value: e.value,
                        ci_low: e.low,
                        ci_high: e.high,
                        params: BTreeMap::from([
                            ("label_fraction".to_string(), fraction),
                            ("draws".to_string(), draws as f64),
                            (
                                "train_items".to_string(),
                                train_items[j] as f64 / draws as f64,
                            ),
                        ]),
                        seed_sd: (draws > 1).then(|| sample_sd(&per_draw)),
                        undefined_resamples: e.undefined,
                        ..base.clone()
                    });
                }
                let area = |idx: &[usize]| {
                    let points: Vec<(f64, f64)> = fractions
                        .iter()
                        .enumerate()
                        .map(|(j, &f)| (f, Self::seed_mean(prep, metric, &curve[j][pi], idx)))
                        .chain(std::iter::once((
                            1.0,
                            Self::seed_mean(prep, metric, whole, idx),
                        )))
                        .collect();
                    normalised_log_area(&points)
                };
                let e = estimate(n, &prep.resamples, area);
                out.push(Measurement {
                    metric: format!("{}_auc", metric.name),
                    value: e.value,
                    ci_low: e.low,
                    ci_high: e.high,
                    params: BTreeMap::from([("fraction_low".to_string(), fractions[0])]),
                    undefined_resamples: e.undefined,
                    ..base
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::normalised_log_area;

    /// Worked by hand: fractions 0.01, 0.1, 1 sit at log₁₀ −2, −1, 0; with
    /// scores 0.2, 0.6, 0.8 the trapezoids are ½(0.2+0.6)·1 = 0.4 and
    /// ½(0.6+0.8)·1 = 0.7, so the area over a span of 2 is 1.1 / 2 = 0.55.
    #[test]
    fn area_is_the_mean_height_over_log_fraction() {
        let a = normalised_log_area(&[(0.01, 0.2), (0.1, 0.6), (1.0, 0.8)]);
        assert!((a - 0.55).abs() < 1e-12, "{a}");
        // Uneven spacing: 0.25 → 1 spans log₁₀ 4 = 0.60206; one trapezoid
        // of mean height ½(0.5+0.9) = 0.7, normalised by that same span.
        let b = normalised_log_area(&[(0.25, 0.5), (1.0, 0.9)]);
        assert!((b - 0.7).abs() < 1e-12, "{b}");
        // 0.05, 0.5, 1: log widths 1 and log₁₀ 2 = 0.30103 over a span of
        // log₁₀ 20 = 1.30103; area ½(0.1+0.3)·1 + ½(0.3+0.4)·0.30103 =
        // 0.3053605, normalised 0.2347067.
        let c = normalised_log_area(&[(0.05, 0.1), (0.5, 0.3), (1.0, 0.4)]);
        assert!((c - 0.2347067).abs() < 1e-6, "{c}");
        assert!(normalised_log_area(&[(0.1, f64::NAN), (1.0, 0.5)]).is_nan());
        assert!(normalised_log_area(&[(1.0, 0.5)]).is_nan());
    }
}
