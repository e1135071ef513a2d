//! Stage 4: paired comparisons between encoders on clean data, each encoder
//! represented by its layer with the best validation score (never chosen
//! on test data).

use super::embed::Embeddings;
use super::evaluate::{cached, CleanResult};
use super::{RunPlan, RunStats};
use crate::cache::KeyBuilder;
use crate::record::{Comparison, ComparisonRecord};
use crate::Result;

/// Comparison records for every task and pair of encoders.
pub fn encoders(
    plan: &RunPlan,
    clean: &[CleanResult],
    emb: &Embeddings,
    stats: &mut RunStats,
) -> Result<Vec<ComparisonRecord>> {
    let mut out = Vec::new();
    for (ti, task) in plan.tasks.iter().enumerate() {
        let mut best: Vec<&CleanResult> = Vec::new();
        for r in clean.iter().filter(|r| r.unit.task == ti) {
            match best.iter_mut().find(|b| b.unit.encoder == r.unit.encoder) {
                Some(slot) if r.evaluation.selection_score > slot.evaluation.selection_score => {
                    *slot = r
                }
                Some(_) => {}
                None => best.push(r),
            }
        }
        for (i, a) in best.iter().enumerate() {
            for b in &best[i + 1..] {
                let dataset = &plan.datasets[a.unit.dataset];
                // Cached like evaluations: keyed by both results it compares.
                let key = KeyBuilder::new("comparison")
                    .field("a", &a.key)
                    .field("b", &b.key)
                    .finish();
                let (found, _, bad): (Vec<Comparison>, _, _) = cached(plan, &key, || {
                    task.evaluator
                        .compare(dataset.items(), plan.seed, &a.evaluation, &b.evaluation)
                })?;
                stats.corrupt_entries.extend(bad);
                let layer = |r: &CleanResult| {
                    emb.clean[&(r.unit.dataset, r.unit.encoder)].shard.layers[r.unit.layer]
                        .name
                        .clone()
                };
                out.extend(found.into_iter().map(|comparison| ComparisonRecord {
                    run_id: plan.run_id.clone(),
                    dataset: dataset.name().into(),
                    task: task.name.clone(),
                    encoder_a: plan.encoders[a.unit.encoder].name().into(),
                    layer_a: layer(a),
                    encoder_b: plan.encoders[b.unit.encoder].name().into(),
                    layer_b: layer(b),
                    comparison,
                }));
            }
        }
    }
    Ok(out)
}
