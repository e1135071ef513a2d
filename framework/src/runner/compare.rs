//! Stage 4: paired comparisons between encoders on clean data, each encoder
//! represented, per probe, by its layer with that probe's best validation
//! score (never chosen on test data). p-values are Holm-adjusted over all
//! comparisons of a task.

use super::embed::Embeddings;
use super::evaluate::{cached, CleanResult};
use super::{RunPlan, RunStats};
use crate::bootstrap::holm;
use crate::cache::KeyBuilder;
use crate::record::{Comparison, ComparisonRecord};
use crate::Result;
use std::collections::BTreeSet;

/// Each encoder's unit with the best validation score for `probe`; ties
/// keep the earlier layer.
pub(super) fn best_layers<'a>(
    units: &[&'a CleanResult],
    probe: Option<&str>,
) -> Vec<&'a CleanResult> {
    let mut best: Vec<&CleanResult> = Vec::new();
    for &r in units {
        // selection_for maps undefined scores to −∞, so a later finite
        // score always replaces an undefined one.
        let score = r.evaluation.selection_for(probe);
        match best.iter_mut().find(|b| b.unit.encoder == r.unit.encoder) {
            Some(slot) if score > slot.evaluation.selection_for(probe) => *slot = r,
            Some(_) => {}
            None => best.push(r),
        }
    }
    best
}

/// Comparison records for every task, probe and pair of encoders.
pub fn encoders(
    plan: &RunPlan,
    clean: &[CleanResult],
    emb: &Embeddings,
    stats: &mut RunStats,
) -> Result<Vec<ComparisonRecord>> {
    let mut out = Vec::new();
    for (ti, task) in plan.tasks.iter().enumerate() {
        let units: Vec<&CleanResult> = clean.iter().filter(|r| r.unit.task == ti).collect();
        let probes: BTreeSet<&str> = units
            .iter()
            .flat_map(|r| r.evaluation.probe_selection.keys().map(String::as_str))
            .collect();
        let probes: Vec<Option<&str>> = if probes.is_empty() {
            vec![None]
        } else {
            probes.into_iter().map(Some).collect()
        };
        let mut task_records = Vec::new();
        for probe in probes {
            let best = best_layers(&units, probe);
            for (i, a) in best.iter().enumerate() {
                for b in &best[i + 1..] {
                    let dataset = &plan.datasets[a.unit.dataset];
                    // Cached like evaluations: keyed by both results it
                    // compares (whose keys hold the implementation version).
                    let key = KeyBuilder::new("comparison")
                        .field("a", &a.key)
                        .field("b", &b.key)
                        .finish();
                    let (found, _, bad): (Vec<Comparison>, _, _) = cached(plan, &key, || {
                        task.evaluator.compare(
                            dataset.items(),
                            plan.seed,
                            &a.evaluation,
                            &b.evaluation,
                        )
                    })?;
                    stats.corrupt_entries.extend(bad);
                    let layer = |r: &CleanResult| {
                        emb.clean[&(r.unit.dataset, r.unit.encoder)]
                            .layer_name(r.unit.layer)
                            .to_owned()
                    };
                    task_records.extend(
                        found
                            .into_iter()
                            .filter(|c| probe.is_none_or(|p| c.probe == p))
                            .map(|comparison| ComparisonRecord {
                                run_id: plan.run_id.clone(),
                                dataset: dataset.name().into(),
                                task: task.name.clone(),
                                encoder_a: plan.encoders[a.unit.encoder].name().into(),
                                layer_a: layer(a),
                                encoder_b: plan.encoders[b.unit.encoder].name().into(),
                                layer_b: layer(b),
                                p_holm: f64::NAN,
                                comparison,
                            }),
                    );
                }
            }
        }
        let raw: Vec<f64> = task_records.iter().map(|r| r.comparison.p_value).collect();
        for (r, adjusted) in task_records.iter_mut().zip(holm(&raw)) {
            r.p_holm = adjusted;
        }
        out.extend(task_records);
    }
    Ok(out)
}
