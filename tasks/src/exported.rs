//! Per-item predictions as a run exports them (`predictions.jsonl`), and
//! the task's primary metric recomputed from them on any subset of the
//! test items — what a leaderboard needs to bootstrap ranks across runs
//! with the same resamples for every encoder.

use crate::suite::{metrics_for, Metric};
use crate::targets::{Scores, Targets};
use repbench_framework::record::ItemPredictions;

/// The primary metric (the one that selects on validation and heads the
/// records) of one exported prediction set, ready to be evaluated on
/// resamples of its items.
pub struct PrimaryMetric {
    metric: Metric,
    targets: Targets,
    per_seed: Vec<Scores>,
}

impl PrimaryMetric {
    /// Parses `p`; the error says what does not fit (lengths, target kind).
    pub fn new(p: &ItemPredictions) -> Result<PrimaryMetric, String> {
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
        Ok(PrimaryMetric {
            metric,
            targets,
            per_seed,
        })
    }

    /// The metric's name as in `results.jsonl`.
    pub fn name(&self) -> &'static str {
        self.metric.name
    }

    /// Whether larger values are better.
    pub fn higher_is_better(&self) -> bool {
        self.metric.higher_is_better
    }

    /// The metric on the items `idx` (repeats allowed), averaged over
    /// seeds as the run's records average it.
    pub fn on(&self, idx: &[usize]) -> f64 {
        let t = self.targets.select(idx);
        let values: Vec<f64> = self
            .per_seed
            .iter()
            .map(|s| (self.metric.compute)(&t, &s.select(idx)))
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True without items.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}
