//! Per-item predictions as a run exports them (`predictions.jsonl`), and
//! the task's primary metric recomputed from them on any subset of the
//! test items — what a leaderboard needs to bootstrap ranks across runs
//! with the same resamples for every encoder.

use crate::properties::{Form, SumStat, PER_ITEM_SUMS};
use crate::retrieval::{mean_defined, PER_QUERY};
use crate::suite::{metrics_for, Metric};
use crate::targets::{Scores, Targets};
use repbench_framework::record::ItemPredictions;

/// The primary metric (the one that selects on validation and heads the
/// records) of one exported prediction set, ready to be evaluated on
/// resamples of its items.
pub struct PrimaryMetric(Kind);

enum Kind {
    /// A probe's scores, scored against the targets by the suite's metric.
    Probe {
        metric: Metric,
        targets: Targets,
        per_seed: Vec<Scores>,
        /// For accuracy: per seed, whether each item's argmax is its class
        /// (then a resample costs a count, not a copy of the scores).
        hits: Option<Vec<Vec<bool>>>,
    },
    /// Each item's own value (`per_query`): the metric is their mean over
    /// the defined ones, as the evaluator averages them.
    PerItem {
        name: String,
        values: Vec<Option<f64>>,
    },
    /// A property score from per-item sums (`per_item_sums`).
    Sums { name: String, stat: SumStat },
}

impl PrimaryMetric {
    /// Parses `p`; the error says what does not fit (lengths, target kind).
    pub fn new(p: &ItemPredictions) -> Result<PrimaryMetric, String> {
        if p.target == PER_QUERY {
            return Self::per_item(p);
        }
        if p.target == PER_ITEM_SUMS {
            return Self::sums(p);
        }
        let targets = Targets::from_export(&p.target, &p.names, &p.truth)?;
        if targets.len() != p.ids.len() {
            return Err(format!(
                "{} item ids but {} truth values",
                p.ids.len(),
                targets.len()
            ));
        }
        if p.scores.is_empty() {
            return Err("no scores".into());
        }
        let width = targets.n_outputs();
        let mut per_seed = Vec::with_capacity(p.scores.len());
        for rows in &p.scores {
            if rows.len() != p.ids.len() {
                return Err(format!(
                    "{} item ids but {} score rows",
                    p.ids.len(),
                    rows.len()
                ));
            }
            if rows.iter().any(|r| r.len() != width) {
                return Err(format!("score rows must have {width} values"));
            }
            per_seed.push(Scores::from_rows(&targets, rows));
        }
        let metric = metrics_for(&targets)
            .into_iter()
            .next()
            .ok_or("no metric for these targets")?;
        let hits = match (&targets, metric.name) {
            (Targets::Classes { y, .. }, "accuracy") => Some(
                per_seed
                    .iter()
                    .map(|s| s.argmax().iter().zip(y).map(|(p, t)| p == t).collect())
                    .collect(),
            ),
            _ => None,
        };
        Ok(PrimaryMetric(Kind::Probe {
            metric,
            targets,
            per_seed,
            hits,
        }))
    }

    /// The first metric of per-item values (one set, one value per metric
    /// and item, NaN where undefined).
    fn per_item(p: &ItemPredictions) -> Result<PrimaryMetric, String> {
        let rows = one_score_set(p, 1)?;
        let name = p.names[0].clone();
        let values = rows
            .iter()
            .map(|r| Some(r[0]).filter(|v| !v.is_nan()))
            .collect();
        Ok(PrimaryMetric(Kind::PerItem { name, values }))
    }

    /// The first metric of per-item sums: its numerator and denominator
    /// parts per item and its form.
    fn sums(p: &ItemPredictions) -> Result<PrimaryMetric, String> {
        let rows = one_score_set(p, 2)?;
        if p.forms.len() != p.names.len() {
            return Err(format!(
                "{} metric names but {} forms",
                p.names.len(),
                p.forms.len()
            ));
        }
        let name = p.names[0].clone();
        let form =
            Form::from_name(&p.forms[0]).ok_or_else(|| format!("unknown form {}", p.forms[0]))?;
        let stat = SumStat::new(
            form,
            rows.iter().map(|r| r[0]).collect(),
            rows.iter().map(|r| r[1]).collect(),
        );
        Ok(PrimaryMetric(Kind::Sums { name, stat }))
    }

    /// The metric's name as in `results.jsonl`.
    pub fn name(&self) -> &str {
        match &self.0 {
            Kind::Probe { metric, .. } => metric.name,
            Kind::PerItem { name, .. } | Kind::Sums { name, .. } => name,
        }
    }

    /// Whether larger values are better (every per-query metric is).
    pub fn higher_is_better(&self) -> bool {
        match &self.0 {
            Kind::Probe { metric, .. } => metric.higher_is_better,
            Kind::PerItem { .. } => true,
            Kind::Sums { stat, .. } => stat.form.higher_is_better(),
        }
    }

    /// The metric on the items `idx` (repeats allowed), averaged over
    /// seeds as the run's records average it.
    pub fn on(&self, idx: &[usize]) -> f64 {
        let (metric, targets, per_seed, hits) = match &self.0 {
            Kind::PerItem { values, .. } => return mean_defined(values, idx),
            Kind::Sums { stat, .. } => return stat.value(idx),
            Kind::Probe {
                metric,
                targets,
                per_seed,
                hits,
            } => (metric, targets, per_seed, hits),
        };
        if let Some(hits) = hits {
            // `metrics::classification::accuracy` on the selected items:
            // the same count over the same length.
            let values: Vec<f64> = hits
                .iter()
                .map(|h| {
                    if idx.is_empty() {
                        return f64::NAN;
                    }
                    idx.iter().filter(|&&i| h[i]).count() as f64 / idx.len() as f64
                })
                .collect();
            return values.iter().sum::<f64>() / values.len() as f64;
        }
        let t = targets.select(idx);
        let values: Vec<f64> = per_seed
            .iter()
            .map(|s| (metric.compute)(&t, &s.select(idx)))
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match &self.0 {
            Kind::Probe { targets, .. } => targets.len(),
            Kind::PerItem { values, .. } => values.len(),
            Kind::Sums { stat, .. } => stat.len(),
        }
    }

    /// True without items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The one score set of per-item values of `p` (`per_query`,
/// `per_item_sums`): a row per item of `width` values per metric name.
fn one_score_set(p: &ItemPredictions, width: usize) -> Result<&[Vec<f64>], String> {
    let [rows] = p.scores.as_slice() else {
        return Err(format!("{} needs one set of scores", p.target));
    };
    if p.names.is_empty() {
        return Err("no metric names".into());
    }
    if rows.len() != p.ids.len() {
        return Err(format!(
            "{} item ids but {} score rows",
            p.ids.len(),
            rows.len()
        ));
    }
    if rows.iter().any(|r| r.len() != width * p.names.len()) {
        return Err(format!(
            "score rows must have {} values",
            width * p.names.len()
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counting shortcut for accuracy equals the metric itself on
    /// resamples with repeats, seed by seed averaged.
    #[test]
    fn accuracy_on_resamples_equals_the_metric_on_the_selected_items() {
        let truth = [0usize, 1, 2, 1, 0, 2, 2];
        let seed_scores = |shift: usize| -> Vec<Vec<f64>> {
            (0..truth.len())
                .map(|i| {
                    (0..3)
                        .map(|c| {
                            if c == (truth[i] + shift * (i % 2)) % 3 {
                                1.0
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect()
        };
        let p = ItemPredictions {
            probe: "logistic".into(),
            target: "classes".into(),
            names: vec!["a".into(), "b".into(), "c".into()],
            ids: (0..truth.len()).map(|i| i.to_string()).collect(),
            truth: serde_json::json!(truth),
            seeds: vec![0, 1],
            scores: vec![seed_scores(0), seed_scores(1)],
            forms: Vec::new(),
        };
        let m = PrimaryMetric::new(&p).unwrap();
        assert!(matches!(m.0, Kind::Probe { hits: Some(_), .. }));
        let targets = Targets::from_export("classes", &p.names, &p.truth).unwrap();
        for idx in [
            vec![0, 1, 2, 3, 4, 5, 6],
            vec![1, 1, 3, 6, 6, 6, 0],
            vec![5],
        ] {
            let want: f64 = p
                .scores
                .iter()
                .map(|rows| {
                    let s = Scores::from_rows(&targets, rows);
                    (metrics_for(&targets)[0].compute)(&targets.select(&idx), &s.select(&idx))
                })
                .sum::<f64>()
                / 2.0;
            assert_eq!(m.on(&idx), want, "{idx:?}");
        }
        assert!(m.on(&[]).is_nan());
    }
}
