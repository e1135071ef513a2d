//! The recommendation evaluator: how well do an encoder's item embeddings
//! predict which items users go on to hear (Tamm & Aljanaki, RecSys 2024)?
//!
//! Every model ranks the split's candidates for each evaluated user, minus
//! what the user heard before the cut-off. Scores are means over test
//! users with 95% percentile-bootstrap intervals over users, resampled by
//! task only so encoders are compared on the same users (paired).

use super::rank::rank_cosine;
use super::shallow::{train, ItemSide, ShallowParams};
use super::split::{EvalUser, RecSplit};
use crate::bootstrap::{estimate, paired, resample_indices};
use crate::metrics::recommendation::{hit_rate_at_k, ndcg_at_k, recall_at_k, reciprocal_rank};
use crate::rows::rows_f64;
use crate::standardize::Standardizer;
use crate::{versions, TaskSpec};
use ndarray::{Array2, ArrayView2, Axis};
use repbench_framework::evaluator::{EvalInput, Evaluation, Evaluator};
use repbench_framework::record::{Comparison, Measurement};
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A recommender a task trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecModel {
    /// Content only: a user is the mean of their heard items' (train-mean
    /// centred) embeddings; items ranked by cosine similarity.
    Knn,
    /// The paper's "Shallow Net": a learned linear + ReLU projection of the
    /// frozen item embeddings and trained user vectors (hinge loss).
    Shallow,
    /// The same model with free item vectors instead of embeddings: the
    /// reference that tells whether content helps (it cannot rank items
    /// never heard in training).
    Collaborative,
}

impl RecModel {
    /// Every model, in report order.
    pub const ALL: [RecModel; 3] = [RecModel::Knn, RecModel::Shallow, RecModel::Collaborative];

    /// The name results carry (in the `probe` field).
    pub fn name(self) -> &'static str {
        match self {
            RecModel::Knn => "knn",
            RecModel::Shallow => "shallow",
            RecModel::Collaborative => "collaborative",
        }
    }
}

/// The evaluator of one recommendation task over its joined log.
pub struct RecommendationEvaluator {
    spec: TaskSpec,
    split: Arc<RecSplit>,
    log_hash: String,
    /// The collaborative model per run seed: it reads no embedding, so
    /// every encoder × layer of the task gets the same one, trained once.
    collaborative: Mutex<BTreeMap<u64, Arc<Vectors>>>,
}

/// A model's user and item vectors (ranked by cosine similarity) and the
/// parameters its records carry.
#[derive(Clone)]
struct Vectors {
    users: Array2<f32>,
    items: Array2<f32>,
    params: BTreeMap<String, f64>,
}

/// Per model, per metric, each test user's value: what comparisons resample.
type PerUser = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

/// Mean of `values` at `idx`.
fn mean_at(values: &[f64], idx: &[usize]) -> f64 {
    idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64
}

impl RecommendationEvaluator {
    /// The evaluator of `spec` on `split`; `log_hash` (the log file's
    /// content hash) joins the spec in the fingerprint, so an edited log
    /// is re-evaluated and a moved one is not.
    pub fn new(spec: TaskSpec, split: RecSplit, log_hash: String) -> Self {
        RecommendationEvaluator {
            spec,
            split: Arc::new(split),
            log_hash,
            collaborative: Mutex::new(BTreeMap::new()),
        }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Task {
            task: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    /// Metric names, the primary (nDCG at the first k) first.
    fn metric_names(&self) -> Vec<String> {
        let ks = self.spec.k_list();
        let mut names: Vec<String> = Vec::new();
        for prefix in ["ndcg_at", "hit_rate_at", "recall_at"] {
            names.extend(ks.iter().map(|k| format!("{prefix}_{k}")));
        }
        names.push("mrr".into());
        names
    }

    /// Each user's value of every metric, in [`Self::metric_names`] order.
    fn score_users(
        &self,
        users: ArrayView2<f32>,
        items: ArrayView2<f32>,
        group: &[EvalUser],
    ) -> Result<Vec<Vec<f64>>> {
        let ks = self.spec.k_list();
        let k_max = ks.iter().copied().max().unwrap_or(1);
        let rows: Vec<usize> = group.iter().map(|e| e.user).collect();
        let exclude: Vec<Vec<usize>> = rows
            .iter()
            .map(|&u| self.split.history[u].clone())
            .collect();
        let relevant: Vec<Vec<usize>> = group.iter().map(|e| e.relevant.clone()).collect();
        let ranked = rank_cosine(
            users.select(Axis(0), &rows).view(),
            items,
            &self.split.candidates,
            &exclude,
            &relevant,
            k_max,
        )
        .map_err(|e| self.fail(e))?;
        Ok(ranked
            .iter()
            .zip(group)
            .map(|(r, e)| {
                let rel: BTreeSet<usize> = e.relevant.iter().copied().collect();
                let mut v: Vec<f64> = Vec::new();
                v.extend(ks.iter().map(|&k| ndcg_at_k(&r.top, &rel, k)));
                v.extend(ks.iter().map(|&k| hit_rate_at_k(&r.top, &rel, k)));
                v.extend(ks.iter().map(|&k| recall_at_k(&r.top, &rel, k)));
                v.push(reciprocal_rank(r.first_relevant_rank));
                v
            })
            .collect())
    }

    /// Mean nDCG at the first k over validation users: what early stopping
    /// and layer choice read.
    fn valid_ndcg(&self, users: ArrayView2<f32>, items: ArrayView2<f32>) -> Result<f64> {
        let per_user = self.score_users(users, items, &self.split.valid)?;
        Ok(per_user.iter().map(|v| v[0]).sum::<f64>() / per_user.len() as f64)
    }

    /// The kNN recommender's user and item vectors: items centred on the
    /// mean of the items heard in training (pooled features share an
    /// offset that makes raw cosines all ≈ 1, as in retrieval), a user the
    /// mean of their heard items.
    fn knn_vectors(&self, x: ArrayView2<f32>) -> Vectors {
        let centre = x.select(Axis(0), &self.split.heard).mean_axis(Axis(0));
        let mut items = x.to_owned();
        if let Some(c) = centre {
            items -= &c;
        }
        let mut users = Array2::<f32>::zeros((self.split.users.len(), x.ncols()));
        for (u, heard) in self.split.history.iter().enumerate() {
            let mean = items.select(Axis(0), heard).mean_axis(Axis(0));
            if let Some(m) = mean {
                users.row_mut(u).assign(&m);
            }
        }
        Vectors {
            users,
            items,
            params: BTreeMap::new(),
        }
    }

    /// Trains the shallow or collaborative model, early-stopped on
    /// validation nDCG; returns its vectors and its parameters to record.
    fn trained_vectors(&self, input: &EvalInput<'_>, model: RecModel) -> Result<Vectors> {
        let params = ShallowParams::default();
        // Standardised on the items heard in training, as probes are on
        // their train split; the collaborative model reads no embedding.
        let content = (model != RecModel::Collaborative).then(|| {
            let standardizer =
                Standardizer::fit(rows_f64(input.embeddings, &self.split.heard).view());
            let all: Vec<usize> = (0..input.embeddings.nrows()).collect();
            let mut content = rows_f64(input.embeddings, &all);
            standardizer.transform_in_place(&mut content);
            content
        });
        let side = match &content {
            Some(content) => ItemSide::Content(content.view()),
            None => ItemSide::Collaborative {
                n_items: input.embeddings.nrows(),
            },
        };
        let seed_value = seed::derive(input.seed, &["recommendation", input.task, model.name()]);
        let mut failure = None;
        let trained = train(
            side,
            self.split.users.len(),
            &self.split.train,
            &params,
            seed_value,
            |users, items| {
                let (u, i) = (users.mapv(|v| v as f32), items.mapv(|v| v as f32));
                self.valid_ndcg(u.view(), i.view()).unwrap_or_else(|e| {
                    failure = Some(e);
                    f64::NAN
                })
            },
        )
        .map_err(|e| self.fail(format!("{}: {e}", model.name())))?;
        if let Some(e) = failure {
            return Err(e);
        }
        let recorded = BTreeMap::from([
            ("epochs".to_string(), trained.epochs as f64),
            ("best_epoch".to_string(), trained.best_epoch as f64),
            ("dim".to_string(), params.dim as f64),
        ]);
        Ok(Vectors {
            users: trained.users.mapv(|v| v as f32),
            items: trained.items.mapv(|v| v as f32),
            params: recorded,
        })
    }

    /// The collaborative model of this run (`input.seed`), trained by the
    /// first unit that asks; the lock is held while training so that units
    /// evaluated in parallel wait for it instead of training it again.
    fn collaborative_vectors(&self, input: &EvalInput<'_>) -> Result<Vectors> {
        let mut trained = self
            .collaborative
            .lock()
            .map_err(|_| self.fail("a thread training the collaborative model panicked"))?;
        if let Some(v) = trained.get(&input.seed) {
            return Ok(v.as_ref().clone());
        }
        let v = Arc::new(self.trained_vectors(input, RecModel::Collaborative)?);
        trained.insert(input.seed, Arc::clone(&v));
        Ok(v.as_ref().clone())
    }

    fn resamples(&self, seed_value: u64, task: &str) -> Vec<Vec<usize>> {
        resample_indices(
            self.split.test.len(),
            self.spec.bootstrap,
            &mut seed::rng(seed_value, &["bootstrap", task]),
        )
    }

    fn check_items(&self, input: &EvalInput<'_>) -> Result<()> {
        let same = input.items.len() == self.split.item_ids.len()
            && input
                .items
                .iter()
                .zip(&self.split.item_ids)
                .all(|(item, id)| &item.id == id);
        if !same {
            return Err(self.fail(
                "the dataset's items differ from those the interaction log was joined to; report this as a bug",
            ));
        }
        match crate::rows::non_finite_problem(input.embeddings, input.items) {
            Some(why) => Err(self.fail(why)),
            None => Ok(()),
        }
    }
}

impl Evaluator for RecommendationEvaluator {
    fn implementation(&self) -> String {
        format!(
            "recommendation-evaluator/{} metrics-recommendation/{}",
            versions::RECOMMENDATION_EVALUATOR,
            versions::METRICS_RECOMMENDATION
        )
    }

    /// The spec without the log's path (where the file lies is not the
    /// experiment), plus the log's content hash.
    fn fingerprint(&self) -> String {
        let mut spec = self.spec.clone();
        spec.interactions = None;
        format!(
            "{} log:{}",
            serde_json::to_string(&spec).expect("task specs serialise"),
            self.log_hash
        )
    }

    fn evaluate(&self, input: &EvalInput<'_>) -> Result<Evaluation> {
        self.check_items(input)?;
        let names = self.metric_names();
        let resamples = self.resamples(input.seed, input.task);
        let n = self.split.test.len();
        let mut measurements = Vec::new();
        let mut per_user: PerUser = BTreeMap::new();
        let mut selection = BTreeMap::new();
        for model in self.spec.model_list() {
            let Vectors {
                users,
                items,
                mut params,
            } = match model {
                RecModel::Knn => self.knn_vectors(input.embeddings),
                RecModel::Shallow => self.trained_vectors(input, model)?,
                RecModel::Collaborative => self.collaborative_vectors(input)?,
            };
            params.insert("candidates".to_string(), self.split.candidates.len() as f64);
            // Collaborative filtering ignores the embeddings: a reference
            // line, never the layer an encoder is represented by (an
            // undefined validation score ranks lowest and is not recorded).
            let valid = match model {
                RecModel::Collaborative => f64::NAN,
                _ => self.valid_ndcg(users.view(), items.view())?,
            };
            selection.insert(model.name().to_string(), valid);
            let scores = self.score_users(users.view(), items.view(), &self.split.test)?;
            let mut by_metric = BTreeMap::new();
            for (m, name) in names.iter().enumerate() {
                let values: Vec<f64> = scores.iter().map(|v| v[m]).collect();
                let e = estimate(n, &resamples, |idx| mean_at(&values, idx));
                measurements.push(Measurement::from_estimate(
                    ("recommendation", Some(model.name())),
                    name,
                    true,
                    e,
                    n,
                    params.clone(),
                ));
                by_metric.insert(name.clone(), values);
            }
            per_user.insert(model.name().to_string(), by_metric);
        }
        Ok(Evaluation {
            measurements,
            predictions: serde_json::to_value(&per_user).expect("per-user values serialise"),
            selection_score: selection
                .values()
                .copied()
                .filter(|v| !v.is_nan())
                .fold(f64::NEG_INFINITY, f64::max),
            probe_selection: selection,
        })
    }

    /// Per model and metric, the paired bootstrap over the same test users.
    fn compare(
        &self,
        _items: &[repbench_framework::dataset::Item],
        seed_value: u64,
        a: &Evaluation,
        b: &Evaluation,
    ) -> Result<Vec<Comparison>> {
        if self.spec.bootstrap == 0 {
            return Ok(Vec::new());
        }
        let parse = |e: &Evaluation| -> Result<PerUser> {
            serde_json::from_value(e.predictions.clone()).map_err(|err| {
                self.fail(format!(
                    "cached per-user values unreadable ({err}); delete the cache entry"
                ))
            })
        };
        let (pa, pb) = (parse(a)?, parse(b)?);
        let n = self.split.test.len();
        let resamples = self.resamples(seed_value, &self.spec.name);
        let mut out = Vec::new();
        for (model, ma) in &pa {
            // Collaborative filtering reads no embedding: its difference
            // between encoders is 0 by construction, and counting those
            // tests would only loosen Holm's correction of the real ones.
            if model == RecModel::Collaborative.name() {
                continue;
            }
            let Some(mb) = pb.get(model) else { continue };
            for name in self.metric_names() {
                let (Some(va), Some(vb)) = (ma.get(&name), mb.get(&name)) else {
                    continue;
                };
                if va.len() != n || vb.len() != n {
                    return Err(self.fail(format!(
                        "cached {name} has {} and {} users but the test split {n}; delete the cache entry",
                        va.len(),
                        vb.len()
                    )));
                }
                let r = paired(
                    n,
                    &resamples,
                    |idx| mean_at(va, idx),
                    |idx| mean_at(vb, idx),
                );
                out.push(Comparison::from_paired(model.clone(), name, &r, n));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommendation::synthetic::SyntheticLog;
    use rand::Rng as _;
    use repbench_framework::dataset::{Item, Label, Split};

    const START: i64 = 1_577_836_800; // 2020-01-01

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: format!("tone-{i}"),
                split: Split::Train,
                labels: BTreeMap::from([
                    ("timbre".to_string(), Label::Text(format!("t{}", i % 4))),
                    ("pitch".to_string(), Label::Number(((i / 4) % 36) as f64)),
                ]),
                content_key: String::new(),
                source: String::new(),
            })
            .collect()
    }

    /// One-hot timbre and register (what users choose by) plus noise, or
    /// noise alone.
    fn embeddings(n: usize, informative: bool) -> Array2<f32> {
        let mut rng = seed::rng(5, &["embeddings", &informative.to_string()]);
        Array2::from_shape_fn((n, 12), |(i, j)| {
            let signal = informative
                && ((j < 4 && j == i % 4) || (4..7).contains(&j) && j - 4 == ((i / 4) % 36) / 12);
            f32::from(u8::from(signal)) + rng.gen_range(-0.2f32..0.2)
        })
    }

    /// The split of a synthetic log over `items`, cut on day 70.
    fn split(items: &[Item], cold_start: bool) -> RecSplit {
        let log = SyntheticLog {
            users: 160,
            listens: 20,
            factors: vec!["timbre".into(), "pitch".into()],
            strength: 2.5,
            new_items: 0.25,
            start: START,
            days: 100,
            cutoff_day: 70,
        }
        .draw(items, 1)
        .unwrap();
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        RecSplit::build(&log, &ids, START + 70 * 86_400, cold_start, 0, "rec").unwrap()
    }

    fn evaluate(cold_start: bool, informative: bool) -> Evaluation {
        let items = items(320);
        let split = split(&items, cold_start);
        let spec: TaskSpec = serde_json::from_value(serde_json::json!({
            "name": "rec", "dataset": "d", "type": "recommendation", "interactions": "log.csv",
            "cutoff": "2020-03-11", "cold_start": cold_start, "ks": [20], "bootstrap": 200
        }))
        .unwrap();
        spec.validate("tasks[0]").unwrap();
        let x = embeddings(items.len(), informative);
        RecommendationEvaluator::new(spec, split, "h".into())
            .evaluate(&EvalInput {
                task: "rec",
                items: &items,
                embeddings: x.view(),
                seed: 0,
                low_memory: false,
            })
            .unwrap()
    }

    fn ndcg<'a>(e: &'a Evaluation, model: &str) -> &'a Measurement {
        e.measurements
            .iter()
            .find(|m| m.probe.as_deref() == Some(model) && m.metric == "ndcg_at_20")
            .unwrap()
    }

    /// The synthetic check: embeddings that carry the factors users
    /// choose by beat noise with every content model; collaborative
    /// filtering ranks warm items well whatever the embedding, and cannot
    /// rank cold ones (no better than noise).
    #[test]
    fn content_that_users_choose_by_beats_noise_and_cf_fails_cold() {
        let (good, noise) = (evaluate(false, true), evaluate(false, false));
        for model in ["knn", "shallow"] {
            let (g, n) = (ndcg(&good, model), ndcg(&noise, model));
            assert!(g.ci_low > n.ci_high, "{model}: {g:?} vs {n:?}");
        }
        let cf = ndcg(&noise, "collaborative");
        assert!(cf.ci_low > ndcg(&noise, "knn").ci_high, "warm CF: {cf:?}");
        assert_eq!(
            cf.value,
            ndcg(&good, "collaborative").value,
            "CF ignores embeddings"
        );
        assert!(good.probe_selection["knn"].is_finite());
        assert_eq!(good.selection_for(Some("collaborative")), f64::NEG_INFINITY);

        let (good, noise) = (evaluate(true, true), evaluate(true, false));
        let cf = ndcg(&noise, "collaborative");
        let content = ndcg(&good, "knn");
        assert!(
            content.ci_low > cf.ci_high,
            "cold: {content:?} vs CF {cf:?}"
        );
        // Within three standard errors of chance (the 95% interval is
        // ±1.96 of them): one seed's users may land on either side.
        let chance = chance_ndcg(&split(&items(320), true), 20);
        let se = (cf.ci_high - cf.ci_low) / (2.0 * 1.96);
        assert!(
            (cf.value - chance).abs() < 3.0 * se,
            "cold CF is at chance ({chance}): {cf:?}"
        );
        for m in &good.measurements {
            assert!(m.ci_low <= m.value && m.value <= m.ci_high, "{m:?}");
        }
    }

    /// Mean nDCG@k of random rankings of each test user's candidates
    /// (without their history), by Monte Carlo: what a ranking that knows
    /// nothing scores.
    fn chance_ndcg(split: &RecSplit, k: usize) -> f64 {
        use rand::seq::SliceRandom;
        let mut rng = seed::rng(0, &["chance"]);
        let per_user = split.test.iter().map(|e| {
            let mut pool: Vec<usize> = split
                .candidates
                .iter()
                .copied()
                .filter(|i| split.history[e.user].binary_search(i).is_err())
                .collect();
            let rel: BTreeSet<usize> = e.relevant.iter().copied().collect();
            (0..400)
                .map(|_| {
                    pool.shuffle(&mut rng);
                    ndcg_at_k(&pool, &rel, k)
                })
                .sum::<f64>()
                / 400.0
        });
        per_user.sum::<f64>() / split.test.len() as f64
    }

    /// Paired comparisons of two encoders on the same test users.
    #[test]
    fn comparisons_pair_encoders_per_model_and_metric() {
        let (good, noise) = (evaluate(false, true), evaluate(false, false));
        let spec: TaskSpec = serde_json::from_value(serde_json::json!({
            "name": "rec", "dataset": "d", "type": "recommendation", "interactions": "log.csv",
            "cutoff": "2020-03-11", "ks": [20], "bootstrap": 200
        }))
        .unwrap();
        let items = items(320);
        let evaluator = RecommendationEvaluator::new(spec, split(&items, false), "h".into());
        let c = evaluator.compare(&items, 0, &good, &noise).unwrap();
        let knn = c
            .iter()
            .find(|c| c.probe == "knn" && c.metric == "ndcg_at_20")
            .unwrap();
        assert!(knn.delta > 0.0 && knn.p_value < 0.01, "{knn:?}");
        assert!(
            c.iter().all(|c| c.probe != "collaborative"),
            "no Δ = 0 tests"
        );
        assert_eq!(
            c.len(),
            2 * 4,
            "knn, shallow × (nDCG, hit rate, recall at 20, MRR)"
        );
    }
}
