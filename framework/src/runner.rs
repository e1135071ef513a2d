//! Drives a run: fill the embedding cache for every (dataset, encoder) pair,
//! then evaluate every (task, encoder, layer), reusing cached results.
//!
//! Items are encoded in parallel (rayon); every output is collected in item
//! order and every random choice is seeded by name, so the records do not
//! depend on the thread count.

use crate::audio::fit_duration;
use crate::cache::{Cache, KeyBuilder, Layer, Lookup, Shard};
use crate::dataset::{digest, Dataset, Item};
use crate::encoder::{check_finite, Encoder};
use crate::evaluator::{EvalInput, Evaluation, Evaluator};
use crate::progress::Progress;
use crate::record::{Comparison, ComparisonRecord, ResultRecord};
use crate::{Error, Result, VERSION};
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

/// A task bound to its dataset and evaluator.
pub struct TaskEntry {
    /// Task name from the config.
    pub name: String,
    /// Name of the dataset it reads.
    pub dataset: String,
    /// What computes its measurements.
    pub evaluator: Box<dyn Evaluator>,
}

/// Everything a run needs, built from a validated config.
pub struct RunPlan {
    /// Stable id of the run (derived from the config hash).
    pub run_id: String,
    /// Hash of the canonical config.
    pub config_hash: String,
    /// Global seed.
    pub seed: u64,
    /// Datasets in config order.
    pub datasets: Vec<Box<dyn Dataset>>,
    /// Encoders in config order.
    pub encoders: Vec<Box<dyn Encoder>>,
    /// Tasks in config order.
    pub tasks: Vec<TaskEntry>,
    /// Where embeddings and results are cached.
    pub cache: Cache,
}

/// Counts and timings of a run, for `run.json`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RunStats {
    /// (dataset, encoder) shards computed in this run.
    pub shards_computed: usize,
    /// Shards read from the cache.
    pub shards_cached: usize,
    /// Cache entries found corrupt and recomputed.
    pub corrupt_entries: Vec<String>,
    /// Evaluations computed in this run.
    pub evaluations_computed: usize,
    /// Evaluations read from the cache.
    pub evaluations_cached: usize,
    /// Seconds spent filling the embedding cache.
    pub embed_seconds: f64,
    /// Seconds spent evaluating.
    pub evaluate_seconds: f64,
}

/// What a run produced.
pub struct RunOutcome {
    /// Records in config order (task, encoder, layer, measurement).
    pub records: Vec<ResultRecord>,
    /// Paired comparisons between encoders, per task, in config order.
    pub comparisons: Vec<ComparisonRecord>,
    /// Counts and timings.
    pub stats: RunStats,
}

/// Key of the embeddings of `items` under `encoder`.
pub fn embedding_key(encoder: &dyn Encoder, items: &[Item]) -> String {
    let mut items_hash = blake3::Hasher::new();
    for item in items {
        for part in [&item.id, &item.content_key] {
            items_hash.update(&(part.len() as u64).to_le_bytes());
            items_hash.update(part.as_bytes());
        }
    }
    KeyBuilder::new("embeddings")
        .field("encoder", &encoder.fingerprint())
        .field("sample_rate", &encoder.sample_rate().to_string())
        .field("pooling", encoder.pooling().as_str())
        .field("duration_s", &format!("{:?}", encoder.duration_s()))
        .field("items", &items_hash.finalize().to_hex())
        .finish()
}

/// Runs the plan.
pub fn execute(plan: &RunPlan, progress: &dyn Progress) -> Result<RunOutcome> {
    let mut stats = RunStats::default();
    let t0 = Instant::now();
    let mut shards: HashMap<(usize, usize), (String, Shard)> = HashMap::new();
    for (di, dataset) in plan.datasets.iter().enumerate() {
        let mut missing = Vec::new();
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            let key = embedding_key(encoder.as_ref(), dataset.items());
            match plan.cache.load_shard(&key)? {
                Lookup::Hit(shard) => {
                    stats.shards_cached += 1;
                    shards.insert((di, ei), (key, shard));
                }
                Lookup::Corrupt(why) => {
                    stats.corrupt_entries.push(why);
                    missing.push((ei, key));
                }
                Lookup::Miss => missing.push((ei, key)),
            }
        }
        if missing.is_empty() {
            continue;
        }
        let encoders: Vec<&dyn Encoder> = missing
            .iter()
            .map(|(ei, _)| plan.encoders[*ei].as_ref())
            .collect();
        let computed = embed_dataset(dataset.as_ref(), &encoders, progress)?;
        for ((ei, key), shard) in missing.into_iter().zip(computed) {
            let encoder = &plan.encoders[ei];
            let about = serde_json::json!({
                "dataset": dataset.name(),
                "encoder": encoder.name(),
                "fingerprint": encoder.fingerprint(),
                "repbench_version": VERSION,
            });
            plan.cache.store_shard(&key, &shard, about)?;
            stats.shards_computed += 1;
            shards.insert((di, ei), (key, shard));
        }
    }
    stats.embed_seconds = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let units = evaluation_units(plan)?;
    let stage = progress.stage("evaluate", units.len() as u64);
    let evaluated: Vec<Result<(Evaluation, String, bool)>> = units
        .par_iter()
        .map(|unit| {
            let (key, shard) = &shards[&(unit.dataset, unit.encoder)];
            let out = evaluate_unit(plan, unit, key, shard);
            stage.inc(1);
            out
        })
        .collect();
    stage.finish();
    let mut evaluations = Vec::with_capacity(units.len());
    let mut result_keys = Vec::with_capacity(units.len());
    for result in evaluated {
        let (evaluation, key, cached) = result?;
        result_keys.push(key);
        if cached {
            stats.evaluations_cached += 1;
        } else {
            stats.evaluations_computed += 1;
        }
        evaluations.push(evaluation);
    }
    let mut records = Vec::new();
    for (unit, evaluation) in units.iter().zip(&evaluations) {
        let (key, shard) = &shards[&(unit.dataset, unit.encoder)];
        records.extend(stamp(
            plan,
            unit,
            key,
            &shard.layers[unit.layer].name,
            evaluation,
        ));
    }
    let comparisons = compare_encoders(plan, &units, &evaluations, &result_keys, &shards)?;
    stats.evaluate_seconds = t1.elapsed().as_secs_f64();
    Ok(RunOutcome {
        records,
        comparisons,
        stats,
    })
}

/// For every task, compares each pair of encoders on the same test items,
/// each encoder represented by its layer with the best validation score
/// (never chosen on test data).
fn compare_encoders(
    plan: &RunPlan,
    units: &[Unit],
    evaluations: &[Evaluation],
    result_keys: &[String],
    shards: &HashMap<(usize, usize), (String, Shard)>,
) -> Result<Vec<ComparisonRecord>> {
    let mut out = Vec::new();
    for (ti, task) in plan.tasks.iter().enumerate() {
        let mut best: Vec<(usize, usize)> = Vec::new(); // (encoder, unit index)
        for (ui, unit) in units.iter().enumerate().filter(|(_, u)| u.task == ti) {
            match best.iter_mut().find(|(e, _)| *e == unit.encoder) {
                Some(slot)
                    if evaluations[ui].selection_score > evaluations[slot.1].selection_score =>
                {
                    slot.1 = ui
                }
                Some(_) => {}
                None => best.push((unit.encoder, ui)),
            }
        }
        for (i, &(_, ua)) in best.iter().enumerate() {
            for &(_, ub) in &best[i + 1..] {
                let (a, b) = (&units[ua], &units[ub]);
                let dataset = &plan.datasets[a.dataset];
                // Cached like evaluations: keyed by both results it compares.
                let key = KeyBuilder::new("comparison")
                    .field("a", &result_keys[ua])
                    .field("b", &result_keys[ub])
                    .finish();
                let found = match plan.cache.load_value::<Vec<Comparison>>(&key)? {
                    Lookup::Hit(found) => found,
                    Lookup::Miss | Lookup::Corrupt(_) => {
                        let found = task.evaluator.compare(
                            dataset.items(),
                            plan.seed,
                            &evaluations[ua],
                            &evaluations[ub],
                        )?;
                        plan.cache.store_value(&key, &found)?;
                        found
                    }
                };
                let layer = |u: &Unit| {
                    shards[&(u.dataset, u.encoder)].1.layers[u.layer]
                        .name
                        .clone()
                };
                out.extend(found.into_iter().map(|comparison| ComparisonRecord {
                    run_id: plan.run_id.clone(),
                    dataset: dataset.name().into(),
                    task: task.name.clone(),
                    encoder_a: plan.encoders[a.encoder].name().into(),
                    layer_a: layer(a),
                    encoder_b: plan.encoders[b.encoder].name().into(),
                    layer_b: layer(b),
                    comparison,
                }));
            }
        }
    }
    Ok(out)
}

/// Encodes every item of `dataset` with each of `encoders`, returning one
/// shard per encoder. Audio is loaded once per item and sample rate.
fn embed_dataset(
    dataset: &dyn Dataset,
    encoders: &[&dyn Encoder],
    progress: &dyn Progress,
) -> Result<Vec<Shard>> {
    let items = dataset.items();
    let stage = progress.stage(&format!("embed {}", dataset.name()), items.len() as u64);
    let per_item: Vec<Vec<Vec<ndarray::Array1<f32>>>> = items
        .par_iter()
        .map(|item| {
            let out = embed_item(dataset, item, encoders).map_err(|e| Error::Item {
                dataset: dataset.name().into(),
                item: item.id.clone(),
                source: Box::new(e),
            });
            stage.inc(1);
            out
        })
        .collect::<Result<_>>()?;
    stage.finish();
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let shards = encoders
        .iter()
        .enumerate()
        .map(|(e, encoder)| {
            let layers = encoder
                .layers()
                .into_iter()
                .enumerate()
                .map(|(l, name)| {
                    let dim = per_item.first().map_or(0, |v| v[e][l].len());
                    let mut matrix = Array2::zeros((items.len(), dim));
                    for (row, item_out) in per_item.iter().enumerate() {
                        matrix.row_mut(row).assign(&item_out[e][l]);
                    }
                    Layer { name, matrix }
                })
                .collect();
            Shard {
                ids: ids.clone(),
                layers,
            }
        })
        .collect();
    Ok(shards)
}

/// Pooled embeddings of one item: `[encoder][layer] -> vector`.
fn embed_item(
    dataset: &dyn Dataset,
    item: &Item,
    encoders: &[&dyn Encoder],
) -> Result<Vec<Vec<ndarray::Array1<f32>>>> {
    let mut audio_by_rate: HashMap<u32, Vec<f32>> = HashMap::new();
    let mut out = Vec::with_capacity(encoders.len());
    for encoder in encoders {
        let rate = encoder.sample_rate();
        let mut audio = match audio_by_rate.entry(rate) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(dataset.load(item, rate)?).clone()
            }
        };
        if let Some(d) = encoder.duration_s() {
            audio = fit_duration(audio, rate, d);
        }
        let frames = encoder.encode(&audio)?;
        let expected = encoder.layers().len();
        if frames.len() != expected {
            return Err(Error::Encoder {
                encoder: encoder.name().into(),
                reason: format!("returned {} layers, declared {expected}", frames.len()),
            });
        }
        check_finite(encoder.name(), &frames)?;
        out.push(
            frames
                .iter()
                .map(|f| encoder.pooling().pool(f.view()))
                .collect(),
        );
    }
    Ok(out)
}

struct Unit {
    task: usize,
    dataset: usize,
    encoder: usize,
    layer: usize,
}

fn evaluation_units(plan: &RunPlan) -> Result<Vec<Unit>> {
    let mut units = Vec::new();
    for (ti, task) in plan.tasks.iter().enumerate() {
        let di = plan
            .datasets
            .iter()
            .position(|d| d.name() == task.dataset)
            .ok_or_else(|| Error::Task {
                task: task.name.clone(),
                reason: format!("no dataset named \"{}\"", task.dataset),
            })?;
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            for li in 0..encoder.layers().len() {
                units.push(Unit {
                    task: ti,
                    dataset: di,
                    encoder: ei,
                    layer: li,
                });
            }
        }
    }
    Ok(units)
}

/// Evaluates one unit, or reads it from the cache. Returns the evaluation,
/// its cache key and whether it came from the cache.
fn evaluate_unit(
    plan: &RunPlan,
    unit: &Unit,
    emb_key: &str,
    shard: &Shard,
) -> Result<(Evaluation, String, bool)> {
    let task = &plan.tasks[unit.task];
    let items = plan.datasets[unit.dataset].items();
    let layer = &shard.layers[unit.layer];
    let key = KeyBuilder::new("result")
        .field("repbench", VERSION)
        .field("embeddings", emb_key)
        .field("layer", &layer.name)
        .field("evaluator", &task.evaluator.fingerprint())
        .field("items", &digest(items))
        .field("seed", &plan.seed.to_string())
        .finish();
    if let Lookup::Hit(evaluation) = plan.cache.load_value::<Evaluation>(&key)? {
        return Ok((evaluation, key, true));
    }
    let input = EvalInput {
        task: &task.name,
        items,
        embeddings: layer.matrix.view(),
        seed: plan.seed,
    };
    let evaluation = task.evaluator.evaluate(&input)?;
    plan.cache.store_value(&key, &evaluation)?;
    Ok((evaluation, key, false))
}

/// Turns one unit's measurements into result records.
fn stamp(
    plan: &RunPlan,
    unit: &Unit,
    emb_key: &str,
    layer: &str,
    evaluation: &Evaluation,
) -> Vec<ResultRecord> {
    let task = &plan.tasks[unit.task];
    let dataset = &plan.datasets[unit.dataset];
    let encoder = &plan.encoders[unit.encoder];
    evaluation
        .measurements
        .iter()
        .cloned()
        .map(|m| ResultRecord {
            run_id: plan.run_id.clone(),
            encoder: encoder.name().into(),
            layer: layer.into(),
            dataset: dataset.name().into(),
            task: task.name.clone(),
            evaluator: m.evaluator,
            probe: m.probe,
            perturbation: "none".into(),
            severity: None,
            seed: plan.seed,
            metric: m.metric,
            higher_is_better: m.higher_is_better,
            value: m.value,
            ci_low: m.ci_low,
            ci_high: m.ci_high,
            n: m.n,
            params: m.params,
            probe_seed: m.probe_seed,
            seed_sd: m.seed_sd,
            embedding_key: emb_key.into(),
            config_hash: plan.config_hash.clone(),
            repbench_version: VERSION.into(),
        })
        .collect()
}
