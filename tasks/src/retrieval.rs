//! Query-by-example retrieval: each test item queries the other test items
//! by cosine similarity of embeddings centred on the train split's mean;
//! items sharing the query's class are relevant. Pooled features share a
//! large common offset, which makes raw cosine similarities all close to 1
//! and hides the differences between items; the train mean removes it
//! without looking at test items. Nothing else is fitted.
//!
//! Reports mAP, precision@k and nDCG@k (see [`crate::metrics::retrieval`]),
//! each averaged over queries that have at least one relevant item, with a
//! bootstrap interval over queries (seeded by task, so paired across
//! encoders).

use crate::bootstrap::{estimate, paired, resample_indices};
use crate::metrics::retrieval::{average_precision, ndcg_at_k, precision_at_k, rankings};
use crate::rows::rows_f64;
use crate::targets::{TargetKind, Targets};
use crate::{versions, TaskSpec};
use ndarray::{s, Array1, Array2, Axis};
use rayon::prelude::*;
use repbench_framework::dataset::{rows_in, Item, Split};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator};
use repbench_framework::record::{Comparison, ItemPredictions, Measurement};
use repbench_framework::{seed, Error, Result};
use std::collections::BTreeMap;

/// Bytes of similarities one block of queries holds.
const SIMILARITY_BLOCK_BYTES: usize = 64 << 20;

/// The retrieval evaluator.
pub struct RetrievalEvaluator {
    spec: TaskSpec,
}

/// Per-query values of one metric (`None` where the query has no relevant item).
type PerQuery = BTreeMap<String, Vec<Option<f64>>>;

/// The `target` of exported per-query values.
pub const PER_QUERY: &str = "per_query";

impl RetrievalEvaluator {
    /// Wraps a validated task spec.
    pub fn new(spec: TaskSpec) -> Self {
        RetrievalEvaluator { spec }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    fn test_rows(&self, items: &[Item]) -> Result<Vec<usize>> {
        let rows: Vec<usize> = rows_in(items, Split::Test);
        if rows.len() < 2 {
            return Err(self.fail("retrieval needs at least two test items"));
        }
        Ok(rows)
    }

    /// `measure` of the relevance list of each item in `rows` querying the
    /// other `rows` by cosine similarity, in query order. Each list is
    /// dropped once measured, and queries go in blocks holding
    /// [`SIMILARITY_BLOCK_BYTES`] of similarity rows (the whole n × n
    /// matrix would be 1.8 GB at 15 000 test items, the lists another
    /// 225 MB), in parallel, collected in query order.
    fn rank<T: Send>(
        &self,
        input: &EvalInput<'_>,
        (rows, y): (&[usize], &[usize]),
        measure: impl Fn(&[bool]) -> T + Sync,
    ) -> Result<Vec<T>> {
        let classes: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
        let mut x: Array2<f64> = rows_f64(input.embeddings, rows);
        x -= &self.train_mean(input)?;
        for mut row in x.rows_mut() {
            let norm = row.dot(&row).sqrt();
            if !norm.is_finite() {
                return Err(self.fail("an embedding contains NaN or infinity"));
            }
            if norm > 0.0 {
                row /= norm;
            }
        }
        let block = (SIMILARITY_BLOCK_BYTES / 8 / x.nrows().max(1)).clamp(1, 1024);
        let starts: Vec<usize> = (0..x.nrows()).step_by(block).collect();
        let measured: Vec<Vec<T>> = starts
            .par_iter()
            .map(|&a| {
                let queries = x.slice(s![a..(a + block).min(x.nrows()), ..]);
                rankings(queries.dot(&x.t()).view(), a, &classes)
                    .into_iter()
                    .map(|list| measure(&list))
                    .collect()
            })
            .collect();
        Ok(measured.into_iter().flatten().collect())
    }

    /// Mean embedding of the train split (the centre of the cosine).
    fn train_mean(&self, input: &EvalInput<'_>) -> Result<Array1<f64>> {
        let train: Vec<usize> = rows_in(input.items, Split::Train);
        input
            .embeddings
            .select(Axis(0), &train)
            .mapv(f64::from)
            .mean_axis(Axis(0))
            .ok_or_else(|| {
                self.fail("retrieval centres embeddings on the train split's mean, but the train split has no items")
            })
    }

    fn resamples(&self, seed_value: u64, n: usize) -> Vec<Vec<usize>> {
        resample_indices(
            n,
            self.spec.bootstrap,
            &mut seed::rng(seed_value, &["bootstrap", &self.spec.name]),
        )
    }
}

/// Mean of the defined values among `idx`; NaN when none is defined.
/// The mean of the defined values among `idx` (repeats allowed); NaN
/// when none is defined.
pub(crate) fn mean_defined(values: &[Option<f64>], idx: &[usize]) -> f64 {
    let (sum, count) = idx
        .iter()
        .filter_map(|&i| values[i])
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

impl Evaluator for RetrievalEvaluator {
    fn implementation(&self) -> String {
        format!(
            "retrieval-evaluator/{} metrics-retrieval/{}",
            versions::RETRIEVAL_EVALUATOR,
            versions::METRICS_RETRIEVAL
        )
    }

    fn fingerprint(&self) -> String {
        serde_json::to_string(&self.spec).expect("task specs serialise")
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        let rows = self.test_rows(input.items)?;
        let Targets::Classes { y, .. } =
            Targets::from_items(input.items, &self.spec.target, TargetKind::Class)
                .map_err(|e| self.fail(e))?
        else {
            unreachable!("class targets requested");
        };
        let ks = self.spec.k_list();
        // Per query: mAP, then precision and nDCG at each k.
        let measured = self.rank(input, (&rows, &y), |r| {
            let has_relevant = r.iter().any(|x| *x);
            let mut values = vec![average_precision(r)];
            for &k in &ks {
                values.push(has_relevant.then(|| precision_at_k(r, k)));
                values.push(ndcg_at_k(r, k));
            }
            values
        })?;
        let column = |i: usize| -> Vec<Option<f64>> { measured.iter().map(|v| v[i]).collect() };
        let mut per_query: PerQuery = BTreeMap::new();
        per_query.insert("map".into(), column(0));
        for (j, k) in ks.iter().enumerate() {
            per_query.insert(format!("precision_at_{k}"), column(1 + 2 * j));
            per_query.insert(format!("ndcg_at_{k}"), column(2 + 2 * j));
        }
        let n = rows.len();
        let resamples = self.resamples(input.seed, n);
        let measurements = per_query
            .iter()
            .map(|(name, values)| {
                let e = estimate(n, &resamples, |idx| mean_defined(values, idx));
                Measurement {
                    evaluator: "retrieval".into(),
                    probe: None,
                    metric: name.clone(),
                    higher_is_better: true,
                    value: e.value,
                    ci_low: e.low,
                    ci_high: e.high,
                    n,
                    params: BTreeMap::from([("train_mean_centred".to_string(), 1.0)]),
                    probe_seed: None,
                    seed_sd: None,
                    undefined_resamples: e.undefined,
                }
            })
            .collect();
        // Layers are chosen for comparisons on validation queries, never on
        // the test items they are compared on.
        let valid: Vec<usize> = rows_in(input.items, Split::Valid);
        let selection_score = if valid.len() < 2 {
            f64::NEG_INFINITY
        } else {
            let ap: Vec<Option<f64>> = self.rank(input, (&valid, &y), average_precision)?;
            let m = mean_defined(&ap, &(0..ap.len()).collect::<Vec<_>>());
            if m.is_finite() {
                m
            } else {
                f64::NEG_INFINITY
            }
        };
        Ok(Evaluation {
            measurements,
            predictions: serde_json::to_value(&per_query).expect("per-query values serialise"),
            selection_score,
            probe_selection: BTreeMap::new(),
        })
    }

    /// Each test query's value of every metric (`per_query`), the primary
    /// (mAP, the records' first) first, so that a leaderboard resamples
    /// queries as the run's intervals do.
    fn item_predictions(
        &self,
        items: &[Item],
        evaluation: &Evaluation,
    ) -> Result<Vec<ItemPredictions>> {
        let rows = self.test_rows(items)?;
        let per_query: PerQuery =
            serde_json::from_value(evaluation.predictions.clone()).map_err(|err| {
                self.fail(format!(
                    "cached per-query values unreadable ({err}); delete the cache entry"
                ))
            })?;
        if let Some((name, v)) = per_query.iter().find(|(_, v)| v.len() != rows.len()) {
            return Err(self.fail(format!(
                "cached {name} has {} queries but the test split {}; delete the cache entry",
                v.len(),
                rows.len()
            )));
        }
        let Targets::Classes { y, names } =
            Targets::from_items(items, &self.spec.target, TargetKind::Class)
                .map_err(|e| self.fail(e))?
        else {
            unreachable!("class targets requested");
        };
        let metrics: Vec<&String> = per_query.keys().collect();
        let scores: Vec<Vec<f64>> = (0..rows.len())
            .map(|q| {
                metrics
                    .iter()
                    .map(|m| per_query[*m][q].unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        Ok(vec![ItemPredictions {
            probe: "none".into(),
            target: PER_QUERY.into(),
            names: metrics.into_iter().cloned().collect(),
            ids: rows.iter().map(|&i| items[i].id.clone()).collect(),
            truth: serde_json::json!(rows.iter().map(|&i| &names[y[i]]).collect::<Vec<_>>()),
            seeds: vec![0],
            scores: vec![scores],
            forms: Vec::new(),
        }])
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
        let n = self.test_rows(items)?.len();
        let resamples = self.resamples(seed_value, n);
        let parse = |e: &Evaluation| -> Result<PerQuery> {
            serde_json::from_value(e.predictions.clone())
                .map_err(|err| self.fail(format!("cached per-query values unreadable ({err})")))
        };
        let (qa, qb) = (parse(a)?, parse(b)?);
        Ok(qa
            .iter()
            .filter_map(|(name, va)| qb.get(name).map(|vb| (name, va, vb)))
            .map(|(name, va, vb)| {
                let r = paired(
                    n,
                    &resamples,
                    |idx| mean_defined(va, idx),
                    |idx| mean_defined(vb, idx),
                );
                Comparison::from_paired("none", name.clone(), &r, n)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::dataset::Label;

    fn item(i: usize, split: Split, label: &str) -> Item {
        Item {
            id: format!("i{i}"),
            split,
            labels: BTreeMap::from([("y".to_string(), Label::Text(label.into()))]),
            content_key: String::new(),
            source: String::new(),
        }
    }

    /// Evaluates a retrieval task with cut-offs `ks` on `x`.
    fn run(items: &[Item], x: &Array2<f32>, ks: &[usize]) -> Evaluation {
        let spec: TaskSpec = serde_json::from_value(serde_json::json!(
            {"name": "t", "dataset": "d", "target": "y", "type": "retrieval", "ks": ks}
        ))
        .unwrap();
        RetrievalEvaluator::new(spec)
            .evaluate(&EvalInput {
                task: "t",
                items,
                embeddings: x.view(),
                seed: 0,
                low_memory: false,
            })
            .unwrap()
    }

    #[test]
    fn clustered_embeddings_retrieve_perfectly() {
        let items: Vec<Item> = (0..40)
            .map(|i| {
                item(
                    i,
                    if i < 20 { Split::Train } else { Split::Test },
                    ["a", "b"][i % 2],
                )
            })
            .collect();
        let x = Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == i % 2 {
                1.0 + (i as f32) * 0.01
            } else {
                0.05
            }
        });
        let e = run(&items, &x, &[5]);
        let get = |m: &str| e.measurements.iter().find(|r| r.metric == m).unwrap().value;
        assert_eq!(get("map"), 1.0);
        assert_eq!(get("precision_at_5"), 1.0);
        assert_eq!(get("ndcg_at_5"), 1.0);
        assert!(e.measurements.iter().all(|m| m.n == 20));
    }

    /// The exported per-query values recompute every reported value, on
    /// all queries and on a resample with repeats, and survive JSON (a
    /// query without a relevant item is null there).
    #[test]
    fn exported_per_query_values_recompute_the_primary_metric() {
        // Class c has one test item: as a query it has nothing relevant.
        let labels = ["a", "b", "a", "b", "a", "b", "c"];
        let items: Vec<Item> = (0..20)
            .map(|i| item(i, Split::Train, ["a", "b"][i % 2]))
            .chain((20..27).map(|i| item(i, Split::Test, labels[i - 20])))
            .collect();
        let x = Array2::from_shape_fn((27, 3), |(i, j)| {
            ((i * 7 + j * 3) % 11) as f32 + 0.1 * j as f32
        });
        let e = run(&items, &x, &[2]);
        let evaluator = RetrievalEvaluator::new(
            serde_json::from_value(serde_json::json!(
                {"name": "t", "dataset": "d", "target": "y", "type": "retrieval", "ks": [2]}
            ))
            .unwrap(),
        );
        let exported = evaluator.item_predictions(&items, &e).unwrap();
        let [p] = exported.as_slice() else {
            panic!("one prediction set")
        };
        assert_eq!(p.names, ["map", "ndcg_at_2", "precision_at_2"]);
        assert_eq!(p.ids[0], "i20");
        assert!(p.scores[0][6][0].is_nan(), "the lone c query has no AP");
        let line = serde_json::to_string(p).unwrap();
        let back: ItemPredictions = serde_json::from_str(&line).unwrap();
        let metric = crate::exported::PrimaryMetric::new(&back).unwrap();
        let map = e.measurements.iter().find(|m| m.metric == "map").unwrap();
        assert_eq!(metric.name(), "map");
        assert_eq!(metric.on(&(0..7).collect::<Vec<_>>()), map.value);
        let resample = [0, 0, 3, 6, 5, 5, 1];
        let per_query: PerQuery = serde_json::from_value(e.predictions.clone()).unwrap();
        assert_eq!(
            metric.on(&resample),
            mean_defined(&per_query["map"], &resample)
        );
    }

    /// Test items share an offset (10, 0) with the train items; within it,
    /// class a points up and class b down. Raw cosine ranks (10, −0.2)
    /// nearer to (10, 1) than (10, 3) is; centred on the train mean, every
    /// query finds its own class first.
    #[test]
    fn cosine_is_taken_around_the_train_mean() {
        let points = [
            (Split::Train, "a", [10.0, 2.0]),
            (Split::Train, "b", [10.0, -2.0]),
            (Split::Test, "a", [10.0, 1.0]),
            (Split::Test, "a", [10.0, 3.0]),
            (Split::Test, "b", [10.0, -1.0]),
            (Split::Test, "b", [10.0, -0.2]),
        ];
        let items: Vec<Item> = points
            .iter()
            .enumerate()
            .map(|(i, (split, label, _))| item(i, *split, label))
            .collect();
        let x = Array2::from_shape_fn((6, 2), |(i, j)| points[i].2[j] as f32);
        let e = run(&items, &x, &[1]);
        let map = e.measurements.iter().find(|r| r.metric == "map").unwrap();
        assert_eq!(map.value, 1.0);
        assert_eq!(map.params["train_mean_centred"], 1.0);
    }

    /// Ranked in blocks of queries (2 100 test items: three blocks), the
    /// relevance lists equal those of the whole similarity matrix.
    #[test]
    fn blocked_rankings_equal_the_whole_matrix() {
        let n = 2_200;
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let split = if i < 100 { Split::Train } else { Split::Test };
                item(i, split, ["a", "b", "c"][(i * 7 + i / 11) % 3])
            })
            .collect();
        let mut state = 11u64;
        let x = Array2::from_shape_fn((n, 6), |_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Coarse values: many exact ties between items.
            ((state >> 60) as f32) - 8.0
        });
        let spec: TaskSpec = serde_json::from_value(serde_json::json!(
            {"name": "t", "dataset": "d", "target": "y", "type": "retrieval"}
        ))
        .unwrap();
        let evaluator = RetrievalEvaluator::new(spec);
        let input = EvalInput {
            task: "t",
            items: &items,
            embeddings: x.view(),
            seed: 0,
            low_memory: false,
        };
        let rows = evaluator.test_rows(&items).unwrap();
        let Targets::Classes { y, .. } =
            Targets::from_items(&items, "y", TargetKind::Class).unwrap()
        else {
            unreachable!()
        };
        let blocked = evaluator.rank(&input, (&rows, &y), |r| r.to_vec()).unwrap();
        // The whole matrix, as before blocking.
        let classes: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
        let mut u: Array2<f64> = rows_f64(input.embeddings, &rows);
        u -= &evaluator.train_mean(&input).unwrap();
        for mut row in u.rows_mut() {
            let norm = row.dot(&row).sqrt();
            if norm > 0.0 {
                row /= norm;
            }
        }
        let whole = rankings(u.dot(&u.t()).view(), 0, &classes);
        assert_eq!(blocked.len(), 2_100);
        assert!(blocked == whole, "blocked rankings differ");
    }
}
