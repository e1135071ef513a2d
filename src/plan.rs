//! Builds a runnable plan from a checked config: the registry that maps
//! config kinds to datasets, encoders and evaluators lives here, the only
//! place that knows every crate.

use crate::config::LoadedConfig;
use repbench_framework::cache::Cache;
use repbench_framework::encoder::build_encoder;
use repbench_framework::perturb::PerturbationSpec;
use repbench_framework::runner::{PerturbationEntry, RunPlan, TaskEntry};
use repbench_framework::Result;
use std::path::Path;

/// What opening the datasets had to say: items left out under
/// `on_error = "skip"` and warnings. Written to `run.json` and the report,
/// so nothing is dropped silently.
#[derive(Debug, Default, serde::Serialize)]
pub struct DataNotes {
    /// Items left out, per dataset.
    pub skipped: Vec<serde_json::Value>,
    /// Messages for the user.
    pub warnings: Vec<String>,
    /// Per generated-music dataset, the synthesiser that rendered it.
    pub renderers: std::collections::BTreeMap<String, String>,
}

/// Builds datasets (reading manifests, hashing audio files), encoders and
/// evaluators.
pub fn build(loaded: &LoadedConfig, out_dir: &Path) -> Result<(RunPlan, DataNotes)> {
    let cfg = &loaded.config;
    let mut notes = DataNotes::default();
    let mut datasets = Vec::with_capacity(cfg.datasets.len());
    for spec in &cfg.datasets {
        let opened = repbench_datasets::open_dataset(spec, loaded.base_dir(), cfg.run.seed)?;
        for item in &opened.skipped {
            notes.skipped.push(serde_json::json!({
                "dataset": spec.name(),
                "id": item.id,
                "path": item.path.display().to_string(),
                "reason": item.reason,
            }));
        }
        // Dataset warnings already name their dataset.
        notes.warnings.extend(opened.warnings.iter().cloned());
        if let Some(renderer) = opened.renderer {
            notes.renderers.insert(spec.name().to_string(), renderer);
        }
        datasets.push(opened.dataset);
    }
    let encoders = cfg
        .encoders
        .iter()
        .map(|e| build_encoder(e, loaded.base_dir()))
        .collect::<Result<Vec<_>>>()?;
    let mut tasks: Vec<TaskEntry> = Vec::with_capacity(cfg.tasks.len());
    for (i, t) in cfg.tasks.iter().enumerate() {
        let evaluator = if t.task_type == repbench_tasks::TaskType::Recommendation {
            recommendation_evaluator(t, i, &datasets, cfg.run.seed, &mut notes)?
        } else {
            repbench_tasks::build_evaluator(t)
        };
        tasks.push(TaskEntry {
            name: t.name.clone(),
            dataset: t.dataset.clone(),
            evaluator,
        });
    }
    // Perturbation sweeps also get measured without a probe: embedding
    // drift per dataset, an evaluator like any task.
    if !cfg.perturbations.is_empty() {
        tasks.extend(datasets.iter().map(|d| TaskEntry {
            name: repbench_tasks::drift::DRIFT_TASK.into(),
            dataset: d.name().into(),
            evaluator: Box::new(repbench_tasks::drift::DriftEvaluator),
        }));
    }
    let cache_dir = cfg
        .run
        .cache_dir
        .clone()
        .unwrap_or_else(|| out_dir.join("cache"));
    let perturbations = perturbation_entries(&cfg.perturbations);
    let plan = RunPlan {
        run_id: loaded.run_id(),
        config_hash: loaded.hash.clone(),
        seed: cfg.run.seed,
        datasets,
        encoders,
        tasks,
        perturbations,
        perturb_splits: cfg.run.perturb_splits,
        cache: Cache::new(cache_dir),
        checkpoint_items: cfg
            .run
            .checkpoint_items
            .unwrap_or(repbench_framework::runner::DEFAULT_CHECKPOINT_ITEMS),
        // GiB to bytes; the range check keeps it finite and positive.
        max_memory_bytes: cfg
            .run
            .max_memory_gb
            .map(|gb| (gb * (1u64 << 30) as f64) as u64),
    };
    Ok((plan, notes))
}

/// A recommendation task's evaluator: its log read and joined to its
/// dataset's items now, so that `validate` and the start of `run` report
/// a log that cannot be used, and the split's notes become warnings.
fn recommendation_evaluator(
    task: &repbench_tasks::TaskSpec,
    index: usize,
    datasets: &[Box<dyn repbench_framework::dataset::Dataset>],
    seed: u64,
    notes: &mut DataNotes,
) -> Result<Box<dyn repbench_framework::evaluator::Evaluator>> {
    use repbench_framework::Error;
    use repbench_tasks::recommendation::{split::RecSplit, RecommendationEvaluator};
    let key = |field: &str| format!("tasks[{index}].{field}");
    let (Some(path), Some(cutoff)) = (&task.interactions, &task.cutoff) else {
        return Err(Error::config(
            key("interactions"),
            "missing (checked by validate)",
        ));
    };
    let cutoff = repbench_tasks::recommendation::split::parse_time(cutoff)
        .ok_or_else(|| Error::config(key("cutoff"), "not a date"))?;
    let Some(dataset) = datasets.iter().find(|d| d.name() == task.dataset) else {
        return Err(Error::config(key("dataset"), "no such dataset"));
    };
    let (log, hash) =
        crate::interactions::read_log(path).map_err(|e| Error::config(key("interactions"), e))?;
    let ids: Vec<String> = dataset.items().iter().map(|i| i.id.clone()).collect();
    let split = RecSplit::build(&log, &ids, cutoff, task.cold_start, seed, &task.name)
        .map_err(|e| Error::config(key(e.key()), e.to_string()))?;
    notes.warnings.extend(
        split
            .notes
            .iter()
            .map(|n| format!("task \"{}\": {n}", task.name)),
    );
    Ok(Box::new(RecommendationEvaluator::new(
        task.clone(),
        split,
        hash,
    )))
}

/// Expands every sweep into one entry per severity. A kind used by several
/// sweeps is numbered (`noise`, `noise#2`) so result names stay unique.
fn perturbation_entries(specs: &[PerturbationSpec]) -> Vec<PerturbationEntry> {
    let mut entries = Vec::new();
    for (sweep, spec) in specs.iter().enumerate() {
        let earlier = specs[..sweep]
            .iter()
            .filter(|s| s.kind() == spec.kind())
            .count();
        let name = if earlier == 0 {
            spec.kind().to_string()
        } else {
            format!("{}#{}", spec.kind(), earlier + 1)
        };
        for (severity, effect) in spec.expand() {
            entries.push(PerturbationEntry {
                name: name.clone(),
                sweep,
                severity_name: spec.severity_name().into(),
                severity,
                effect,
            });
        }
    }
    entries
}

/// Checks that every task's target (or factors) are labels of its
/// dataset's items.
pub fn check_targets(loaded: &LoadedConfig, plan: &RunPlan) -> std::result::Result<(), String> {
    for (i, task) in loaded.config.tasks.iter().enumerate() {
        let Some(dataset) = plan.datasets.iter().find(|d| d.name() == task.dataset) else {
            continue;
        };
        let mut labels: Vec<&str> = dataset
            .items()
            .iter()
            .flat_map(|item| item.labels.keys().map(String::as_str))
            .collect();
        labels.sort_unstable();
        labels.dedup();
        let reads_no_label = matches!(
            task.task_type,
            repbench_tasks::TaskType::Geometry | repbench_tasks::TaskType::Recommendation
        ) || task.task_type.reads_transform();
        let read: Vec<(String, &str)> = if reads_no_label {
            Vec::new()
        } else if task.factors.is_empty() {
            vec![(format!("tasks[{i}].target"), task.target.as_str())]
        } else {
            task.factors
                .iter()
                .enumerate()
                .map(|(j, f)| (format!("tasks[{i}].factors[{j}]"), f.as_str()))
                .collect()
        };
        for (key, label) in read {
            if labels.is_empty() {
                return Err(format!(
                    "{key}: dataset \"{}\" has no labels at all (no label column has a value in any row); add label columns to its manifest",
                    task.dataset
                ));
            }
            if !labels.contains(&label) {
                return Err(format!(
                    "{key}: dataset \"{}\" has no label \"{label}\" (no item has a value for it: the column is missing, or empty in every row); expected one of: {}",
                    task.dataset,
                    labels.join(", ")
                ));
            }
        }
        // Every item's value must be readable as the task reads it (a text
        // label in a regression target), found here rather than after the
        // embeddings are computed.
        if let Some(kind) = task.target_kind() {
            repbench_tasks::targets::Targets::from_items(dataset.items(), &task.target, kind)
                .map_err(|e| format!("tasks[{i}].target: dataset \"{}\": {e}", task.dataset))?;
        }
    }
    Ok(())
}
