//! Stage 2: evaluations per (task, encoder, layer): clean, then each
//! perturbation sweep, each cached by the keys of everything it read.

use super::embed::{view_id, Embeddings};
use super::memory::{waves, LazyLayer, Stored};
use super::{PerturbSplits, RunPlan, RunStats};
use crate::cache::{KeyBuilder, Lookup};
use crate::dataset::{digest, test_set_fingerprint};
use crate::evaluator::{
    EvalInput, Evaluation, PairMeasurement, TransformedView, UnitEmbeddings, VariantResults,
    Variants,
};
use crate::progress::Progress;
use crate::record::{MatrixRecord, Measurement, PredictionRecord, ResultRecord};
use crate::{Error, Result, VERSION};
use rayon::prelude::*;

/// One (task, encoder, layer) combination.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// Task index.
    pub task: usize,
    /// Dataset index.
    pub dataset: usize,
    /// Encoder index.
    pub encoder: usize,
    /// Layer index within the encoder.
    pub layer: usize,
}

/// A clean evaluation with its unit and cache key (for comparisons).
pub struct CleanResult {
    /// Where it came from.
    pub unit: Unit,
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Its cache key.
    pub key: String,
}

/// Everything stage 2 produced.
pub struct Evaluated {
    /// Records in unit order: clean values, then each sweep.
    pub records: Vec<ResultRecord>,
    /// Clean evaluations, in unit order.
    pub clean: Vec<CleanResult>,
    /// Per-item test predictions in unit order: clean, then each sweep.
    pub predictions: Vec<PredictionRecord>,
    /// Matrices of values the clean evaluations hold, in unit order.
    pub matrices: Vec<MatrixRecord>,
}

fn units(plan: &RunPlan) -> Result<Vec<Unit>> {
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

/// Index ranges of `plan.perturbations` that form one sweep each.
fn sweeps(plan: &RunPlan) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, p) in plan.perturbations.iter().enumerate() {
        match out.last_mut() {
            Some(r) if plan.perturbations[r.start].sweep == p.sweep => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Evaluates every unit (in parallel) and stamps the records.
pub fn run(
    plan: &RunPlan,
    emb: &Embeddings,
    progress: &dyn Progress,
    stats: &mut RunStats,
) -> Result<Evaluated> {
    let units = units(plan)?;
    let sweeps = sweeps(plan);
    let test_sets: Vec<String> = plan
        .datasets
        .iter()
        .map(|d| test_set_fingerprint(d.items()))
        .collect();
    let thetas = task_thetas(plan, &units);
    let stage = progress.stage(
        &format!(
            "evaluate {} task(s) on {} dataset(s)",
            plan.tasks.len(),
            plan.datasets.len()
        ),
        units.len() as u64,
    );
    let needs: Vec<u64> = units.iter().map(|u| unit_need(plan, emb, u)).collect();
    let limit = wave_limit(plan, emb);
    // A unit whose estimate alone exceeds what the budget leaves runs in a
    // wave of its own and asks its evaluator not to copy its rows whole.
    let low_memory: Vec<bool> = needs
        .iter()
        .map(|&need| limit.is_some_and(|limit| need > limit))
        .collect();
    let waves = waves(&needs, limit);
    stats.evaluation_waves = waves.len();
    let mut results: Vec<Result<UnitOutput>> = Vec::with_capacity(units.len());
    for wave in waves {
        // Indexed: results stay in unit order.
        let wave_units = units[wave.clone()].par_iter().zip(&low_memory[wave]);
        results.par_extend(wave_units.map(|(unit, &low_memory)| {
            let out = evaluate_unit(
                plan,
                emb,
                (&sweeps, &thetas[unit.task]),
                &test_sets[unit.dataset],
                (unit, low_memory),
            );
            stage.inc(1);
            out
        }));
    }
    stage.finish();
    let mut out = Evaluated {
        records: Vec::new(),
        clean: Vec::new(),
        predictions: Vec::new(),
        matrices: Vec::new(),
    };
    for ((unit, result), low_memory) in units.iter().zip(results).zip(low_memory) {
        let r = result?;
        stats.evaluations_low_memory += usize::from(low_memory && r.computed > 0);
        stats.evaluations_cached += r.cached;
        stats.evaluations_computed += r.computed;
        stats.corrupt_entries.extend(r.corrupt);
        out.records.extend(r.records);
        out.predictions.extend(r.predictions);
        out.matrices.extend(r.matrices);
        out.clean.push(CleanResult {
            unit: *unit,
            evaluation: r.clean,
            key: r.clean_key,
        });
    }
    for (ti, task) in plan.tasks.iter().enumerate() {
        if task.evaluator.across_units() {
            let task_units: Vec<&Unit> = units.iter().filter(|u| u.task == ti).collect();
            out.records
                .extend(evaluate_across(plan, emb, &test_sets, &task_units, stats)?);
        }
    }
    Ok(out)
}

/// What the units evaluated at once may hold: the budget less the shards
/// held for the whole evaluation.
pub(super) fn wave_limit(plan: &RunPlan, emb: &Embeddings) -> Option<u64> {
    let held: u64 = emb
        .clean
        .values()
        .chain(emb.perturbed.values())
        .chain(emb.views.values())
        .filter(|s| s.is_held())
        .map(|s| (0..s.layers.len()).map(|l| s.bytes(l)).sum::<u64>())
        .sum();
    plan.max_memory_bytes.map(|b| b.saturating_sub(held))
}

/// What evaluating `unit` holds at most, in bytes: every layer it reads
/// (clean, its transform views, each perturbed variant) with the float64
/// copies made of them ([`Stored::working_bytes`]).
fn unit_need(plan: &RunPlan, emb: &Embeddings, unit: &Unit) -> u64 {
    let stores = unit_stores(plan, emb, unit);
    let mut need = stores.clean.working_bytes(unit.layer);
    for store in stores.views.iter().flatten().chain(&stores.perturbed) {
        need += store.working_bytes(unit.layer);
    }
    need
}

/// The stored embeddings a unit reads.
struct UnitStores<'a> {
    clean: &'a Stored,
    /// Per transform, each of its views.
    views: Vec<Vec<&'a Stored>>,
    /// Each perturbation, in plan order (none for a task with views: it
    /// measures its own transform, and sweeps are the other tasks').
    perturbed: Vec<&'a Stored>,
}

fn unit_stores<'a>(plan: &RunPlan, emb: &'a Embeddings, unit: &Unit) -> UnitStores<'a> {
    let task = &plan.tasks[unit.task];
    let views: Vec<Vec<&Stored>> = task
        .evaluator
        .transforms()
        .into_iter()
        .map(|t| {
            t.views()
                .iter()
                .map(|v| &emb.views[&(unit.dataset, unit.encoder, view_id(t, v))])
                .collect()
        })
        .collect();
    let perturbed = if views.is_empty() {
        (0..plan.perturbations.len())
            .map(|p| &emb.perturbed[&(unit.dataset, unit.encoder, p)])
            .collect()
    } else {
        Vec::new()
    };
    UnitStores {
        clean: &emb.clean[&(unit.dataset, unit.encoder)],
        views,
        perturbed,
    }
}

/// The values a task measures between pairs of its units (cached by every
/// unit's embeddings), as records of the first unit naming the second.
fn evaluate_across(
    plan: &RunPlan,
    emb: &Embeddings,
    test_sets: &[String],
    task_units: &[&Unit],
    stats: &mut RunStats,
) -> Result<Vec<ResultRecord>> {
    let Some(first) = task_units.first() else {
        return Ok(Vec::new());
    };
    if task_units.len() < 2 {
        return Ok(Vec::new());
    }
    let task = &plan.tasks[first.task];
    let items = plan.datasets[first.dataset].items();
    let stores: Vec<&Stored> = task_units
        .iter()
        .map(|u| &emb.clean[&(u.dataset, u.encoder)])
        .collect();
    // (encoder, layer) of each unit, in unit order.
    let names: Vec<(&str, &str)> = task_units
        .iter()
        .zip(&stores)
        .map(|(u, store)| (plan.encoders[u.encoder].name(), store.layer_name(u.layer)))
        .collect();
    let implementation = task.evaluator.implementation();
    let mut key = KeyBuilder::new("across");
    key.field("repbench", VERSION)
        .field("evaluator", &task.evaluator.fingerprint())
        .field("implementation", &implementation)
        .field("items", &digest(items))
        .field("seed", &plan.seed.to_string());
    for (store, (_, layer)) in stores.iter().zip(&names) {
        key.field("embeddings", &store.key).field("layer", layer);
    }
    let (pairs, was_cached, bad): (Vec<PairMeasurement>, _, _) =
        cached(plan, &key.finish(), || {
            // Measured between every pair, so every unit's layer is read
            // at once, whatever the memory budget.
            let held = task_units
                .iter()
                .zip(&stores)
                .map(|(u, store)| store.matrix(&plan.cache, u.layer))
                .collect::<Result<Vec<_>>>()?;
            let embeddings: Vec<UnitEmbeddings> = names
                .iter()
                .zip(&held)
                .map(|(&(encoder, layer), m)| UnitEmbeddings {
                    encoder,
                    layer,
                    embeddings: m.view(),
                })
                .collect();
            let input = EvalInput {
                task: &task.name,
                items,
                embeddings: embeddings[0].embeddings,
                seed: plan.seed,
                low_memory: false,
            };
            task.evaluator.evaluate_across(&input, &embeddings)
        })?;
    stats.evaluations_cached += usize::from(was_cached);
    stats.evaluations_computed += usize::from(!was_cached);
    stats.corrupt_entries.extend(bad);
    let mut records = Vec::new();
    for p in pairs {
        let (Some(&(_, a_layer)), Some(&(b_encoder, b_layer))) = (names.get(p.a), names.get(p.b))
        else {
            return Err(Error::Task {
                task: task.name.clone(),
                reason: format!("a pair names unit {} or {} of {}", p.a, p.b, names.len()),
            });
        };
        let provenance = Provenance {
            embedding_key: &stores[p.a].key,
            layer: a_layer,
            test_set: &test_sets[first.dataset],
            implementation: &implementation,
            selection: None,
        };
        for mut r in stamp(plan, task_units[p.a], &provenance, &[p.measurement], None) {
            r.versus_encoder = Some(b_encoder.to_string());
            r.versus_layer = Some(b_layer.to_string());
            records.push(r);
        }
    }
    Ok(records)
}

struct UnitOutput {
    clean: Evaluation,
    clean_key: String,
    records: Vec<ResultRecord>,
    predictions: Vec<PredictionRecord>,
    matrices: Vec<MatrixRecord>,
    cached: usize,
    computed: usize,
    corrupt: Vec<String>,
}

/// Reads `key` from the cache or computes and stores it. Returns the value,
/// whether it was cached, and why an existing entry was not trusted.
pub(super) fn cached<T: serde::Serialize + serde::de::DeserializeOwned>(
    plan: &RunPlan,
    key: &str,
    compute: impl FnOnce() -> Result<T>,
) -> Result<(T, bool, Option<String>)> {
    let corrupt = match plan.cache.load_value::<T>(key)? {
        Lookup::Hit(v) => return Ok((v, true, None)),
        Lookup::Miss => None,
        Lookup::Corrupt(why) => Some(why),
    };
    let v = compute()?;
    plan.cache.store_value(key, &v)?;
    Ok((v, false, corrupt))
}

/// θ of every item in one view.
type ViewThetas = Vec<f64>;

/// Each task's θ per transform, view and item (empty for tasks that read
/// no transform): drawn once here, shared by every encoder and layer.
fn task_thetas(plan: &RunPlan, units: &[Unit]) -> Vec<Vec<Vec<ViewThetas>>> {
    plan.tasks
        .iter()
        .enumerate()
        .map(|(ti, task)| {
            let Some(unit) = units.iter().find(|u| u.task == ti) else {
                return Vec::new();
            };
            let items = plan.datasets[unit.dataset].items();
            task.evaluator
                .transforms()
                .into_iter()
                .map(|transform| {
                    transform
                        .views()
                        .iter()
                        .map(|view| {
                            items
                                .iter()
                                .map(|item| transform.theta(view, &item.id, plan.seed))
                                .collect()
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn evaluate_unit(
    plan: &RunPlan,
    emb: &Embeddings,
    (sweeps, thetas): (&[std::ops::Range<usize>], &[Vec<ViewThetas>]),
    test_set: &str,
    (unit, low_memory): (&Unit, bool),
) -> Result<UnitOutput> {
    let task = &plan.tasks[unit.task];
    let items = plan.datasets[unit.dataset].items();
    let UnitStores {
        clean: clean_store,
        views: view_stores,
        perturbed: perturbed_stores,
    } = unit_stores(plan, emb, unit);
    let layer_name = clean_store.layer_name(unit.layer);
    // Read only if an evaluation is not cached.
    let clean_layer = LazyLayer::new(clean_store, &plan.cache, unit.layer);
    let input = || -> Result<EvalInput<'_>> {
        Ok(EvalInput {
            task: &task.name,
            items,
            embeddings: clean_layer.get()?,
            seed: plan.seed,
            low_memory,
        })
    };
    let implementation = task.evaluator.implementation();
    let mut key = KeyBuilder::new("result");
    key.field("repbench", VERSION)
        .field("embeddings", &clean_store.key)
        .field("layer", layer_name)
        .field("evaluator", &task.evaluator.fingerprint())
        .field("implementation", &implementation)
        .field("items", &digest(items))
        .field("seed", &plan.seed.to_string());
    for store in view_stores.iter().flatten() {
        key.field("view", &store.key);
    }
    let clean_key = key.finish();
    let mut corrupt = Vec::new();
    let (clean, was_cached, bad) = cached(plan, &clean_key, || {
        if view_stores.is_empty() {
            return task.evaluator.evaluate(&input()?);
        }
        let layers: Vec<Vec<LazyLayer>> = view_stores
            .iter()
            .map(|stores| {
                stores
                    .iter()
                    .map(|store| LazyLayer::new(store, &plan.cache, unit.layer))
                    .collect()
            })
            .collect();
        let mut views: Vec<Vec<TransformedView>> = Vec::with_capacity(layers.len());
        for (layers, thetas) in layers.iter().zip(thetas) {
            let mut transform = Vec::with_capacity(layers.len());
            for (layer, theta) in layers.iter().zip(thetas) {
                transform.push(TransformedView {
                    theta: theta.clone(),
                    embeddings: layer.get()?,
                });
            }
            views.push(transform);
        }
        task.evaluator.evaluate_transformed(&input()?, &views)
    })?;
    corrupt.extend(bad);
    let (mut n_cached, mut n_computed) = (usize::from(was_cached), usize::from(!was_cached));
    let stamp = |emb_key: &str, measurements: &[Measurement], p: Option<usize>| {
        stamp(
            plan,
            unit,
            &Provenance {
                embedding_key: emb_key,
                layer: layer_name,
                test_set,
                implementation: &implementation,
                // Validation scores rank clean results only.
                selection: p.is_none().then_some(&clean),
            },
            measurements,
            p,
        )
    };
    let mut records = stamp(&clean_store.key, &clean.measurements, None);
    let exported = |evaluation: &Evaluation, p: Option<usize>| -> Result<Vec<PredictionRecord>> {
        let perturbation = p.map(|i| &plan.perturbations[i]);
        Ok(task
            .evaluator
            .item_predictions(items, evaluation)?
            .into_iter()
            .map(|predictions| PredictionRecord {
                run_id: plan.run_id.clone(),
                dataset: plan.datasets[unit.dataset].name().into(),
                task: task.name.clone(),
                encoder: plan.encoders[unit.encoder].name().into(),
                layer: layer_name.into(),
                perturbation: perturbation.map_or_else(|| "none".into(), |p| p.name.clone()),
                severity: perturbation.map(|p| p.severity),
                test_set: test_set.into(),
                predictions,
            })
            .collect())
    };
    let mut predictions = exported(&clean, None)?;
    let matrices = task
        .evaluator
        .unit_matrices(&clean)?
        .into_iter()
        .map(|matrix| MatrixRecord {
            run_id: plan.run_id.clone(),
            dataset: plan.datasets[unit.dataset].name().into(),
            task: task.name.clone(),
            encoder: plan.encoders[unit.encoder].name().into(),
            layer: layer_name.into(),
            implementation: implementation.clone(),
            matrix,
        })
        .collect();
    // A property task measures its own transform; perturbation sweeps are
    // the robustness of the other tasks.
    let sweeps = if view_stores.is_empty() { sweeps } else { &[] };
    for sweep in sweeps {
        let stores = &perturbed_stores[sweep.clone()];
        let mut key = KeyBuilder::new("robustness");
        key.field("clean", &clean_key)
            .field("splits", &format!("{:?}", plan.perturb_splits));
        for s in stores {
            key.field("variant", &s.key);
        }
        let key = key.finish();
        let (results, was_cached, bad) = cached(plan, &key, || {
            // One sweep's variants at a time, dropped before the next.
            let held = stores
                .iter()
                .map(|s| s.matrix(&plan.cache, unit.layer))
                .collect::<Result<Vec<_>>>()?;
            let matrices = held.iter().map(|m| m.view()).collect();
            let variants = match plan.perturb_splits {
                PerturbSplits::Test => Variants::TestRows(matrices),
                PerturbSplits::All => Variants::Full(matrices),
            };
            task.evaluator.evaluate_variants(&input()?, &variants)
        })?;
        corrupt.extend(bad);
        n_cached += usize::from(was_cached);
        n_computed += usize::from(!was_cached);
        let VariantResults {
            per_variant,
            summary,
        } = results;
        for (p, evaluation) in sweep.clone().zip(&per_variant) {
            records.extend(stamp(
                &perturbed_stores[p].key,
                &evaluation.measurements,
                Some(p),
            ));
            predictions.extend(exported(evaluation, Some(p))?);
        }
        let mut summary_records = stamp(&clean_store.key, &summary, Some(sweep.start));
        summary_records.iter_mut().for_each(|r| r.severity = None);
        records.extend(summary_records);
    }
    Ok(UnitOutput {
        clean,
        clean_key,
        records,
        predictions,
        matrices,
        cached: n_cached,
        computed: n_computed,
        corrupt,
    })
}

/// Where a unit's measurements came from, for its records.
pub struct Provenance<'a> {
    /// Cache key of the embeddings evaluated.
    pub embedding_key: &'a str,
    /// Layer name.
    pub layer: &'a str,
    /// Fingerprint of the dataset's test items.
    pub test_set: &'a str,
    /// The evaluator's implementation versions.
    pub implementation: &'a str,
    /// The clean evaluation whose validation scores rank the unit (clean
    /// records only).
    pub selection: Option<&'a Evaluation>,
}

/// Result records for `measurements` of `unit`, under perturbation `p`.
pub fn stamp(
    plan: &RunPlan,
    unit: &Unit,
    from: &Provenance<'_>,
    measurements: &[Measurement],
    p: Option<usize>,
) -> Vec<ResultRecord> {
    let task = &plan.tasks[unit.task];
    let dataset = &plan.datasets[unit.dataset];
    let encoder = &plan.encoders[unit.encoder];
    let perturbation = p.map(|i| &plan.perturbations[i]);
    measurements
        .iter()
        .cloned()
        .map(|m| {
            let valid_score = from
                .selection
                .map(|e| e.selection_for(m.probe.as_deref()))
                .filter(|v| v.is_finite());
            ResultRecord {
                run_id: plan.run_id.clone(),
                encoder: encoder.name().into(),
                layer: from.layer.into(),
                dataset: dataset.name().into(),
                task: task.name.clone(),
                evaluator: m.evaluator,
                probe: m.probe,
                perturbation: perturbation.map_or_else(|| "none".into(), |p| p.name.clone()),
                severity: perturbation.map(|p| p.severity),
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
                undefined_resamples: m.undefined_resamples,
                implementation: from.implementation.into(),
                test_set: from.test_set.into(),
                valid_score,
                versus_encoder: None,
                versus_layer: None,
                embedding_key: from.embedding_key.into(),
                config_hash: plan.config_hash.clone(),
                repbench_version: VERSION.into(),
            }
        })
        .collect()
}
