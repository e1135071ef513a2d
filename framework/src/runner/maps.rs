//! Stage 4: 2-D maps of the test embeddings, for tasks whose evaluator
//! draws them: one set per encoder, of its layer with the best validation
//! score (as in the comparisons, never chosen on test data), cached by the
//! evaluation it maps and the map code's version.

use super::compare::best_layers;
use super::embed::Embeddings;
use super::evaluate::{cached, wave_limit, CleanResult};
use super::memory::{waves, LazyLayer};
use super::{RunPlan, RunStats};
use crate::cache::KeyBuilder;
use crate::dataset::test_set_fingerprint;
use crate::evaluator::EvalInput;
use crate::progress::Progress;
use crate::record::{ItemMap, MapRecord};
use crate::Result;
use rayon::prelude::*;

/// One unit's maps, whether they came from the cache, and why a cached
/// entry was not trusted.
type Drawn = (Vec<MapRecord>, bool, Option<String>);

/// Maps of every mapped task × encoder, in task then encoder order.
pub fn draw(
    plan: &RunPlan,
    clean: &[CleanResult],
    emb: &Embeddings,
    progress: &dyn Progress,
    stats: &mut RunStats,
) -> Result<Vec<MapRecord>> {
    let mut chosen: Vec<(&CleanResult, String)> = Vec::new();
    for (ti, task) in plan.tasks.iter().enumerate() {
        let Some(version) = task.evaluator.map_implementation() else {
            continue;
        };
        let units: Vec<&CleanResult> = clean.iter().filter(|r| r.unit.task == ti).collect();
        chosen.extend(
            best_layers(&units, None)
                .into_iter()
                .map(|r| (r, version.clone())),
        );
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    // Fingerprinted once per dataset, not once per encoder.
    let test_sets: Vec<String> = plan
        .datasets
        .iter()
        .map(|d| test_set_fingerprint(d.items()))
        .collect();
    let stage = progress.stage(
        &format!("map the test embeddings of {} unit(s)", chosen.len()),
        chosen.len() as u64,
    );
    let needs: Vec<u64> = chosen
        .iter()
        .map(|(r, _)| emb.clean[&(r.unit.dataset, r.unit.encoder)].working_bytes(r.unit.layer))
        .collect();
    let mut drawn: Vec<Result<Drawn>> = Vec::with_capacity(chosen.len());
    for wave in waves(&needs, wave_limit(plan, emb)) {
        drawn.par_extend(chosen[wave].par_iter().map(|(r, version)| {
            let out = draw_one(plan, emb, r, version, &test_sets[r.unit.dataset]);
            stage.inc(1);
            out
        }));
    }
    stage.finish();
    let mut records = Vec::new();
    for result in drawn {
        let (maps, was_cached, bad) = result?;
        stats.maps_cached += usize::from(was_cached);
        stats.maps_computed += usize::from(!was_cached);
        stats.corrupt_entries.extend(bad);
        records.extend(maps);
    }
    Ok(records)
}

/// The maps of one chosen unit.
fn draw_one(
    plan: &RunPlan,
    emb: &Embeddings,
    r: &CleanResult,
    version: &str,
    test_set: &str,
) -> Result<Drawn> {
    let task = &plan.tasks[r.unit.task];
    let dataset = &plan.datasets[r.unit.dataset];
    let store = &emb.clean[&(r.unit.dataset, r.unit.encoder)];
    let layer = LazyLayer::new(store, &plan.cache, r.unit.layer);
    // The evaluation's key holds the embeddings, evaluator, items and seed.
    let key = KeyBuilder::new("maps")
        .field("evaluation", &r.key)
        .field("implementation", version)
        .finish();
    let (maps, was_cached, bad): (Vec<ItemMap>, _, _) = cached(plan, &key, || {
        task.evaluator.embedding_maps(&EvalInput {
            task: &task.name,
            items: dataset.items(),
            embeddings: layer.get()?,
            seed: plan.seed,
            low_memory: false,
        })
    })?;
    let records = maps
        .into_iter()
        .map(|map| MapRecord {
            run_id: plan.run_id.clone(),
            dataset: dataset.name().into(),
            task: task.name.clone(),
            encoder: plan.encoders[r.unit.encoder].name().into(),
            layer: store.layer_name(r.unit.layer).into(),
            test_set: test_set.into(),
            map,
        })
        .collect();
    Ok((records, was_cached, bad))
}
