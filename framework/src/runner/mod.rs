//! Drives a run:
//!
//! 1. [`embed`]: fill the embedding cache for every (dataset, encoder) on
//!    clean audio, and for every (dataset, encoder, perturbation severity)
//!    on the perturbed items (the test split by default);
//! 2. [`evaluate`]: evaluate every (task, encoder, layer) on clean
//!    embeddings and, per perturbation sweep, on its perturbed variants
//!    (robustness), reusing cached results;
//! 3. [`compare`]: paired comparisons between encoders on clean data;
//! 4. [`maps`]: 2-D maps of each encoder's chosen layer, for tasks whose
//!    evaluator draws them.
//!
//! The runner knows no metric: embedding drift, like every measurement, is
//! an evaluator (`repbench_tasks::drift`), added to the plan's tasks.
//!
//! Items are processed in parallel (rayon) but every output is collected in
//! item order and every random choice is seeded by name, so records do not
//! depend on the thread count.

mod clock;
mod compare;
mod embed;
mod evaluate;
mod maps;
mod memory;
mod share;

pub use embed::embedding_key;
pub use share::Share;

use crate::cache::Cache;
use crate::dataset::Dataset;
use crate::encoder::Encoder;
use crate::evaluator::Evaluator;
use crate::perturb::Perturbation;
use crate::progress::Progress;
use crate::record::{ComparisonRecord, MapRecord, MatrixRecord, PredictionRecord, ResultRecord};
use crate::Result;
use serde::{Deserialize, Serialize};
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

/// One perturbation at one severity.
pub struct PerturbationEntry {
    /// Name in results (the kind, made unique within the config).
    pub name: String,
    /// Index of the `[[perturbations]]` entry (the sweep) it belongs to.
    pub sweep: usize,
    /// Name of the severity parameter, e.g. `snr_db`.
    pub severity_name: String,
    /// The severity value.
    pub severity: f64,
    /// The effect.
    pub effect: Box<dyn Perturbation>,
}

/// Which items perturbations apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PerturbSplits {
    /// Only test items: probes train on clean audio and are tested on
    /// perturbed audio (mir_ref's protocol).
    #[default]
    Test,
    /// Every item: probes train and test on perturbed audio.
    All,
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
    /// Perturbations, sweep by sweep, severities in config order.
    pub perturbations: Vec<PerturbationEntry>,
    /// Which items perturbations apply to.
    pub perturb_splits: PerturbSplits,
    /// Where embeddings and results are cached.
    pub cache: Cache,
    /// Items per extraction checkpoint: a dataset larger than this is
    /// embedded in chunks of this many items, each stored in the cache as
    /// soon as it is done, so an interrupted run loses at most one chunk.
    pub checkpoint_items: usize,
    /// Bytes the run aims to stay within (`run.max_memory_gb`): a chunked
    /// dataset is extracted one checkpoint at a time, shards beyond an
    /// eighth of it are read back one layer per unit, and units are
    /// evaluated in waves that fit the rest. `None`: every shard stays in
    /// memory and every unit may run at once.
    pub max_memory_bytes: Option<u64>,
}

/// Default of [`RunPlan::checkpoint_items`]: a few hundred items, so that
/// a checkpoint costs little I/O next to its extraction.
pub const DEFAULT_CHECKPOINT_ITEMS: usize = 256;

/// Counts and timings of a run, for `run.json`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RunStats {
    /// Embedding shards computed in this run.
    pub shards_computed: usize,
    /// Shards read from the cache (by a shard process: found there).
    pub shards_cached: usize,
    /// Of `shards_computed`, those assembled wholly from checkpoints found
    /// in the cache (left by shard processes or an interrupted run): no
    /// item was encoded for them.
    pub shards_assembled: usize,
    /// Extraction checkpoints computed and stored (datasets larger than one
    /// checkpoint; removed once their shard is whole).
    pub chunks_computed: usize,
    /// Checkpoints read back from an interrupted earlier run.
    pub chunks_cached: usize,
    /// Shards kept in memory for the whole evaluation.
    pub shards_held: usize,
    /// Shards beyond the memory budget: stored, dropped, and read back one
    /// layer at a time by each unit that uses them.
    pub shards_read_per_unit: usize,
    /// Groups of units evaluated in parallel, each within the memory
    /// budget (one without a budget).
    pub evaluation_waves: usize,
    /// Units computed (not read from the cache) under `low_memory`, as
    /// their estimate alone exceeded what the budget leaves: probe tasks
    /// then read training rows in blocks, standardised as they are read,
    /// instead of a float64 copy (slower; the same results). Other
    /// evaluators ignore the flag.
    pub evaluations_low_memory: usize,
    /// Cache entries found corrupt and recomputed.
    pub corrupt_entries: Vec<String>,
    /// Evaluations computed in this run.
    pub evaluations_computed: usize,
    /// Evaluations read from the cache.
    pub evaluations_cached: usize,
    /// Embedding maps computed in this run.
    pub maps_computed: usize,
    /// Embedding maps read from the cache.
    pub maps_cached: usize,
    /// Seconds spent filling the embedding cache.
    pub embed_seconds: f64,
    /// Of `embed_seconds`, those during which an encoder call was running
    /// (on any thread; parallel calls count once).
    pub encoder_seconds: f64,
    /// `embed_seconds − encoder_seconds`: the framework's own share of the
    /// embedding stage (reading, resampling and perturbing audio, pooling,
    /// cache I/O).
    pub framework_overhead_seconds: f64,
    /// `framework_overhead_seconds / embed_seconds` (`null` when nothing
    /// was embedded).
    pub framework_overhead_fraction: f64,
    /// Seconds spent evaluating.
    pub evaluate_seconds: f64,
}

impl RunStats {
    /// Records the embedding stage's wall time and the framework's share
    /// of it (the time no encoder was running).
    fn finish_embedding(&mut self, seconds: f64) {
        self.embed_seconds = seconds;
        self.framework_overhead_seconds = (seconds - self.encoder_seconds).max(0.0);
        self.framework_overhead_fraction = if seconds > 0.0 {
            self.framework_overhead_seconds / seconds
        } else {
            f64::NAN
        };
    }
}

/// What a run produced.
pub struct RunOutcome {
    /// Records: per task (config order, then the plan's drift tasks) clean
    /// then robustness values.
    pub records: Vec<ResultRecord>,
    /// Paired comparisons between encoders, per task, in config order.
    pub comparisons: Vec<ComparisonRecord>,
    /// Per-item test predictions, in the order of the records.
    pub predictions: Vec<PredictionRecord>,
    /// 2-D maps of test embeddings, per task and encoder.
    pub maps: Vec<MapRecord>,
    /// Matrices of values (e.g. DCI importances), per task, encoder and
    /// layer.
    pub matrices: Vec<MatrixRecord>,
    /// Counts and timings.
    pub stats: RunStats,
}

/// Runs the plan.
pub fn execute(plan: &RunPlan, progress: &dyn Progress) -> Result<RunOutcome> {
    let mut stats = RunStats::default();
    let t0 = Instant::now();
    let embeddings = embed::fill(plan, None, progress, &mut stats)?;
    stats.finish_embedding(t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let evaluated = evaluate::run(plan, &embeddings, progress, &mut stats)?;
    let records = evaluated.records;
    let comparisons = compare::encoders(plan, &evaluated.clean, &embeddings, &mut stats)?;
    let maps = maps::draw(plan, &evaluated.clean, &embeddings, progress, &mut stats)?;
    stats.evaluate_seconds = t1.elapsed().as_secs_f64();
    Ok(RunOutcome {
        records,
        comparisons,
        predictions: evaluated.predictions,
        matrices: evaluated.matrices,
        maps,
        stats,
    })
}

/// Fills the embedding cache without evaluating (`repbench extract`): all
/// of it, or only `share`'s units ([`Share`]), so that shard processes on
/// a cluster fill one shared cache and a plain run then finds every
/// embedding there.
pub fn extract(plan: &RunPlan, share: Option<Share>, progress: &dyn Progress) -> Result<RunStats> {
    let mut stats = RunStats::default();
    let t0 = Instant::now();
    embed::fill(plan, share, progress, &mut stats)?;
    stats.finish_embedding(t0.elapsed().as_secs_f64());
    Ok(stats)
}
