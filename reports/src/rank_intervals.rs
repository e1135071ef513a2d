//! Rank uncertainty across runs: the entries of one leaderboard table are
//! re-scored on the same bootstrap resamples of their shared test items
//! (from each run's `predictions.jsonl`), ranked on every resample, and
//! each entry's rank gets the 95% percentile interval of those ranks.
//!
//! The resamples are drawn from the test-set fingerprint alone, so they
//! are the same whichever runs a leaderboard merges, and the items are
//! matched by id, so runs that list them in another order still pair.

use repbench_framework::bootstrap::{holm, paired_p_value, percentile, resample_indices};
use repbench_framework::record::ItemPredictions;
use repbench_framework::seed;
use repbench_tasks::exported::PrimaryMetric;
use std::collections::HashMap;

/// Bootstrap resamples per table: enough for stable 2.5/97.5 percentiles
/// of integer-valued ranks.
pub const RANK_RESAMPLES: usize = 500;

/// Each entry's rank on every resample (`ranks[entry][b]`), or why there
/// are none.
pub struct RankSamples {
    /// Per entry, its (average) rank on each resample.
    pub ranks: Vec<Vec<f64>>,
    /// Per entry, its metric on each resample (NaN where undefined).
    pub values: Vec<Vec<f64>>,
}

impl RankSamples {
    /// The 95% interval of entry `e`'s rank.
    pub fn interval(&self, e: usize) -> (f64, f64) {
        let r = &self.ranks[e];
        (percentile(r, 2.5), percentile(r, 97.5))
    }

    /// Whether entry `best` is better than every other entry of `others`
    /// by the paired bootstrap test on these resamples, after Holm's
    /// adjustment over those comparisons, at α = 0.05 (the rule the run's
    /// own report bolds by). False when some comparison is undefined.
    pub fn significantly_best(
        &self,
        best: usize,
        others: &[usize],
        higher_is_better: bool,
    ) -> bool {
        let sign = if higher_is_better { 1.0 } else { -1.0 };
        let p: Vec<f64> = others
            .iter()
            .map(|&o| {
                let deltas: Vec<f64> = self.values[best]
                    .iter()
                    .zip(&self.values[o])
                    .map(|(x, y)| sign * (x - y))
                    .collect();
                // "Better" needs the resamples to favour `best`; the test
                // itself is the run's two-sided paired bootstrap test.
                let ahead = deltas.iter().filter(|d| **d > 0.0).count();
                let behind = deltas.iter().filter(|d| **d < 0.0).count();
                if ahead > behind {
                    paired_p_value(deltas)
                } else {
                    1.0
                }
            })
            .collect();
        !p.is_empty() && holm(&p).iter().all(|q| *q < SIGNIFICANCE)
    }
}

/// The family-wise error rate of "significantly best".
pub const SIGNIFICANCE: f64 = 0.05;

/// Ranks `entries` (their predictions, in table order) on the same
/// resamples of their test items; `metric` is the table's metric, which
/// every entry's predictions must recompute. `Err` says why intervals
/// cannot be given (shown in the page).
pub fn rank_samples(
    entries: &[&ItemPredictions],
    metric: &str,
    higher_is_better: bool,
    test_set: &str,
) -> Result<RankSamples, String> {
    let Some(first) = entries.first() else {
        return Err("no entries".into());
    };
    let scorers: Vec<PrimaryMetric> = entries
        .iter()
        .map(|p| PrimaryMetric::new(p))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("predictions unreadable: {e}"))?;
    if let Some(s) = scorers.iter().find(|s| s.name() != metric) {
        return Err(format!(
            "predictions recompute {} but the table ranks {metric}",
            s.name()
        ));
    }
    // Each entry's row of every reference item.
    let reference: HashMap<&str, usize> = first
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut rows: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
    for p in entries {
        if p.ids.len() != first.ids.len() {
            return Err("entries list different numbers of test items".into());
        }
        let mut at = vec![usize::MAX; first.ids.len()];
        for (row, id) in p.ids.iter().enumerate() {
            match reference.get(id.as_str()) {
                Some(&i) => at[i] = row,
                None => return Err(format!("test item {id} is not in every entry")),
            }
        }
        rows.push(at);
    }
    let n = first.ids.len();
    let resamples = resample_indices(
        n,
        RANK_RESAMPLES,
        &mut seed::rng(0, &["leaderboard", test_set]),
    );
    let mut ranks = vec![Vec::with_capacity(resamples.len()); entries.len()];
    let mut resampled = vec![Vec::with_capacity(resamples.len()); entries.len()];
    let mut mapped = vec![0usize; n];
    for idx in &resamples {
        let values: Vec<f64> = scorers
            .iter()
            .zip(&rows)
            .map(|(s, at)| {
                for (m, &i) in mapped.iter_mut().zip(idx) {
                    *m = at[i];
                }
                s.on(&mapped)
            })
            .collect();
        for (e, r) in crate::leaderboard::average_ranks(&values, higher_is_better)
            .into_iter()
            .enumerate()
        {
            // An entry undefined on a resample ranks last there.
            ranks[e].push(r.unwrap_or(entries.len() as f64));
        }
        for (e, v) in values.into_iter().enumerate() {
            resampled[e].push(v);
        }
    }
    Ok(RankSamples {
        ranks,
        values: resampled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictions(ids: &[&str], truth: &[usize], predicted: &[usize]) -> ItemPredictions {
        ItemPredictions {
            probe: "logistic".into(),
            target: "classes".into(),
            names: vec!["a".into(), "b".into()],
            ids: ids.iter().map(|s| s.to_string()).collect(),
            truth: serde_json::json!(truth),
            seeds: vec![0],
            scores: vec![predicted
                .iter()
                .map(|&c| {
                    if c == 0 {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 1.0]
                    }
                })
                .collect()],
            forms: Vec::new(),
        }
    }

    #[test]
    fn a_clear_winner_ranks_first_on_every_resample_and_close_entries_overlap() {
        let n = 60;
        let ids: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let truth: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let perfect = predictions(&ids, &truth, &truth);
        // Wrong on 20 and on 21 items: indistinguishable on 60 items.
        let wrong = |k: usize| -> Vec<usize> {
            truth
                .iter()
                .enumerate()
                .map(|(i, &t)| if i < k { 1 - t } else { t })
                .collect()
        };
        let a = predictions(&ids, &truth, &wrong(20));
        // The same as `a` on reversed rows: matching by id must undo it.
        let mut b = predictions(&ids, &truth, &wrong(21));
        b.ids.reverse();
        b.scores[0].reverse();
        b.truth = serde_json::json!(truth.iter().rev().collect::<Vec<_>>());
        let s = rank_samples(&[&perfect, &a, &b], "accuracy", true, "t").unwrap();
        assert_eq!(s.interval(0), (1.0, 1.0));
        let (a_low, a_high) = s.interval(1);
        let (b_low, b_high) = s.interval(2);
        assert!(
            a_low <= b_high && b_low <= a_high,
            "{:?} {:?}",
            s.interval(1),
            s.interval(2)
        );
        assert!(a_low >= 2.0 && b_high <= 3.0);
    }

    #[test]
    fn different_items_or_metrics_give_a_reason_not_intervals() {
        let p = predictions(&["x", "y"], &[0, 1], &[0, 1]);
        let q = predictions(&["x", "z"], &[0, 1], &[0, 1]);
        let err = rank_samples(&[&p, &q], "accuracy", true, "t")
            .err()
            .unwrap();
        assert!(err.contains("not in every entry"), "{err}");
        let err = rank_samples(&[&p, &p], "r2", true, "t").err().unwrap();
        assert!(err.contains("recompute accuracy"), "{err}");
    }
}
