//! Stage 1: embeddings for every (dataset, encoder) on clean audio and for
//! every (dataset, encoder, perturbation) on the perturbed items.

use super::clock::EncoderClock;
use super::memory::{Held, Stored};
use super::share::Share;
use super::{PerturbSplits, RunPlan, RunStats};
use crate::audio::fit_duration;
use crate::cache::{KeyBuilder, Layer, LayerShape, Lookup, Shard, StoredLayer};
use crate::dataset::{Dataset, Item, Split};
use crate::encoder::{check_finite, Encoder};
use crate::perturb::{TransformSpec, View};
use crate::progress::{Progress, Stage};
use crate::{seed, Error, Result, VERSION};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use std::collections::HashMap;

/// All embeddings of a run.
pub struct Embeddings {
    /// `(dataset, encoder)` → embeddings of every item, in item order.
    pub clean: HashMap<(usize, usize), Stored>,
    /// `(dataset, encoder, perturbation)` → embeddings of the perturbed
    /// items, in item order.
    pub perturbed: HashMap<(usize, usize, usize), Stored>,
    /// `dataset` → indices of the items perturbations apply to.
    pub perturbed_rows: HashMap<usize, Vec<usize>>,
    /// `(dataset, encoder, view id)` → embeddings of every item after a
    /// property task's transform view ([`view_id`]), in item order.
    pub views: HashMap<(usize, usize, String), Stored>,
}

/// Key of the embeddings of `items` under `encoder`, optionally after a
/// perturbation (its id) seeded from the run seed.
pub fn embedding_key(
    encoder: &dyn Encoder,
    items: &[&Item],
    perturbation: Option<(&str, u64)>,
) -> String {
    let mut items_hash = blake3::Hasher::new();
    for item in items {
        for part in [&item.id, &item.content_key] {
            items_hash.update(&(part.len() as u64).to_le_bytes());
            items_hash.update(part.as_bytes());
        }
    }
    let mut key = KeyBuilder::new("embeddings");
    key.field("encoder", &encoder.fingerprint())
        .field("sample_rate", &encoder.sample_rate().to_string())
        .field("pooling", encoder.pooling().as_str())
        .field("duration_s", &format!("{:?}", encoder.duration_s()))
        .field("items", &items_hash.finalize().to_hex());
    if let Some((id, seed_value)) = perturbation {
        key.field("perturbation", id)
            .field("perturbation_seed", &seed_value.to_string());
    }
    key.finish()
}

/// What a shard's encoder reads.
#[derive(Clone, Copy)]
enum Source {
    /// The clean audio.
    Clean,
    /// A perturbation (index into the plan's perturbations).
    Perturbation(usize),
    /// A transform view (index into the dataset's [`ViewJob`]s).
    View(usize),
}

/// One view of a property task's transform: every item, each at its own θ.
pub struct ViewJob {
    /// The transform.
    pub transform: TransformSpec,
    /// The draw or grid value.
    pub view: View,
}

impl ViewJob {
    /// Name of the view in cache keys and shard manifests.
    pub fn id(&self) -> String {
        view_id(&self.transform, &self.view)
    }
}

/// Name of `view` of `transform` in cache keys and lookups.
pub fn view_id(transform: &TransformSpec, view: &View) -> String {
    format!("{};{}", transform.id(), view.label)
}

/// One shard to compute: an encoder, what it reads, and the item rows it
/// covers.
struct Job {
    encoder: usize,
    source: Source,
    rows: Vec<usize>,
    mask: Vec<bool>,
    key: String,
}

/// The views every property task on dataset `di` reads, each once.
fn view_jobs(plan: &RunPlan, di: usize) -> Vec<ViewJob> {
    let name = plan.datasets[di].name();
    let mut out: Vec<ViewJob> = Vec::new();
    for task in plan.tasks.iter().filter(|t| t.dataset == name) {
        for (transform, view) in task
            .evaluator
            .transforms()
            .into_iter()
            .flat_map(|t| t.views().into_iter().map(move |v| (t, v)))
        {
            let job = ViewJob {
                transform: transform.clone(),
                view,
            };
            if !out.iter().any(|o| o.id() == job.id()) {
                out.push(job);
            }
        }
    }
    out
}

/// Which work units of a dataset this process computes: all of them, or
/// those of one shard ([`Share`]). A unit is one checkpoint's items under
/// one encoder, numbered from `first` (the units of earlier datasets).
struct Units {
    share: Option<Share>,
    first: usize,
    encoders: usize,
}

impl Units {
    fn takes(&self, checkpoint: usize, encoder: usize) -> bool {
        self.share
            .is_none_or(|s| s.takes(self.first + checkpoint * self.encoders + encoder))
    }
}

/// Fills the cache and returns every shard.
///
/// With a `share`, only that shard's units are computed (each checkpoint
/// stored as it is done, or the whole shard when the dataset fits one
/// checkpoint) and cached entries are found by their manifest without
/// being read: the returned embeddings are then incomplete and serve no
/// evaluation.
pub fn fill(
    plan: &RunPlan,
    share: Option<Share>,
    progress: &dyn Progress,
    stats: &mut RunStats,
) -> Result<Embeddings> {
    let mut out = Embeddings {
        clean: HashMap::new(),
        perturbed: HashMap::new(),
        perturbed_rows: HashMap::new(),
        views: HashMap::new(),
    };
    let mut first_unit = 0;
    let clock = EncoderClock::default();
    let mut held = Held::new(plan.max_memory_bytes);
    for (di, dataset) in plan.datasets.iter().enumerate() {
        let items = dataset.items();
        let all: Vec<usize> = (0..items.len()).collect();
        let perturbed: Vec<usize> = match plan.perturb_splits {
            PerturbSplits::All => all.clone(),
            PerturbSplits::Test => all
                .iter()
                .copied()
                .filter(|&i| items[i].split == Split::Test)
                .collect(),
        };
        let views = view_jobs(plan, di);
        let mut jobs = Vec::new();
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            let subset =
                |rows: &[usize]| -> Vec<&Item> { rows.iter().map(|&i| &items[i]).collect() };
            jobs.push(new_job(
                ei,
                Source::Clean,
                all.clone(),
                items.len(),
                embedding_key(encoder.as_ref(), &subset(&all), None),
            ));
            for (pi, p) in plan.perturbations.iter().enumerate() {
                let key = embedding_key(
                    encoder.as_ref(),
                    &subset(&perturbed),
                    Some((&p.effect.id(), plan.seed)),
                );
                jobs.push(new_job(
                    ei,
                    Source::Perturbation(pi),
                    perturbed.clone(),
                    items.len(),
                    key,
                ));
            }
            for (vi, v) in views.iter().enumerate() {
                let key =
                    embedding_key(encoder.as_ref(), &subset(&all), Some((&v.id(), plan.seed)));
                jobs.push(new_job(ei, Source::View(vi), all.clone(), items.len(), key));
            }
        }
        let units = Units {
            share,
            first: first_unit,
            encoders: plan.encoders.len(),
        };
        first_unit += grid(plan, items.len()).len() * plan.encoders.len();
        let mut missing = Vec::new();
        for job in jobs {
            if share.is_some() {
                if plan.cache.has_entry(&job.key) {
                    stats.shards_cached += 1;
                } else {
                    missing.push(job);
                }
                continue;
            }
            // Under a budget a cached shard is verified file by file and
            // read into memory only if it is held.
            let found = if plan.max_memory_bytes.is_some() {
                Stored::from_cache(&plan.cache, &job.key, &mut held)?
            } else {
                match plan.cache.load_shard(&job.key)? {
                    Lookup::Hit(shard) => {
                        Lookup::Hit(Stored::new(&plan.cache, job.key.clone(), shard, &mut held)?)
                    }
                    Lookup::Miss => Lookup::Miss,
                    Lookup::Corrupt(why) => Lookup::Corrupt(why),
                }
            };
            match found {
                Lookup::Hit(stored) => {
                    stats.shards_cached += 1;
                    store(&mut out, di, &job, &views, stored);
                }
                Lookup::Corrupt(why) => {
                    stats.corrupt_entries.push(why);
                    missing.push(job);
                }
                Lookup::Miss => missing.push(job),
            }
        }
        if !missing.is_empty() {
            let shards = embed_jobs(
                plan,
                dataset.as_ref(),
                (&missing, &views, &units),
                (progress, &clock),
                stats,
            )?;
            for (job, (whole, encoded)) in missing.iter().zip(shards) {
                let Some(whole) = whole else { continue };
                let encoder = &plan.encoders[job.encoder];
                let about = serde_json::json!({
                    "dataset": dataset.name(),
                    "encoder": encoder.name(),
                    "fingerprint": encoder.fingerprint(),
                    "perturbation": match job.source {
                        Source::Perturbation(p) => Some(plan.perturbations[p].effect.id()),
                        Source::View(v) => Some(views[v].id()),
                        Source::Clean => None,
                    },
                    "repbench_version": VERSION,
                });
                let stored = match whole {
                    Whole::Shard(shard) => {
                        plan.cache.store_shard(&job.key, &shard, about)?;
                        Stored::new(&plan.cache, job.key.clone(), shard, &mut held)?
                    }
                    Whole::Checkpoints => {
                        store_from_checkpoints(plan, items, job, about)?;
                        match Stored::from_cache(&plan.cache, &job.key, &mut held)? {
                            Lookup::Hit(stored) => stored,
                            Lookup::Miss => return Err(assembled_gone(&job.key, "it is gone")),
                            Lookup::Corrupt(why) => return Err(assembled_gone(&job.key, &why)),
                        }
                    }
                };
                stats.shards_computed += 1;
                if !encoded {
                    stats.shards_assembled += 1;
                }
                // The whole shard is stored: its checkpoints are redundant.
                for key in chunk_keys(plan, dataset.items().len(), job) {
                    plan.cache.remove_shard(&key)?;
                }
                store(&mut out, di, job, &views, stored);
            }
        }
        out.perturbed_rows.insert(di, perturbed);
    }
    stats.encoder_seconds = clock.busy_seconds();
    (stats.shards_held, stats.shards_read_per_unit) = held.counts;
    Ok(out)
}

fn new_job(encoder: usize, source: Source, rows: Vec<usize>, n: usize, key: String) -> Job {
    let mut mask = vec![false; n];
    rows.iter().for_each(|&r| mask[r] = true);
    Job {
        encoder,
        source,
        rows,
        mask,
        key,
    }
}

fn store(out: &mut Embeddings, dataset: usize, job: &Job, views: &[ViewJob], stored: Stored) {
    match job.source {
        Source::Clean => out.clean.insert((dataset, job.encoder), stored),
        Source::Perturbation(p) => out.perturbed.insert((dataset, job.encoder, p), stored),
        Source::View(v) => out
            .views
            .insert((dataset, job.encoder, views[v].id()), stored),
    };
}

/// Items per batch when some encoder batches across items: enough to fill
/// its batches, few enough that the batch's audio stays small in memory.
const ITEMS_PER_BATCH: usize = 64;

/// Pooled per-layer vectors, `[item][job]`, `None` where a job skips an item.
type PerItem = Vec<Vec<Option<Vec<Array1<f32>>>>>;

/// Key of the checkpoint of `shard_key`'s rows in `[start, end)`.
fn chunk_key(shard_key: &str, start: usize, end: usize) -> String {
    let mut key = KeyBuilder::new("embedding-chunk");
    key.field("shard", shard_key)
        .field("start", &start.to_string())
        .field("end", &end.to_string());
    key.finish()
}

/// The checkpoint grid of a dataset of `n` items in this plan: rounded to
/// whole batches when any encoder batches across items. It depends on the
/// config alone, not on which shards are missing, so a resumed run, every
/// shard process and the run after them cut the items alike.
fn grid(plan: &RunPlan, n: usize) -> Vec<(usize, usize)> {
    let batched = plan.encoders.iter().any(|e| e.batches_items());
    checkpoints(n, plan.checkpoint_items, batched)
}

/// The checkpoint grid over `n` items: consecutive `[start, end)` ranges of
/// `checkpoint` items, rounded up to whole batches so that batched encoders
/// see the same batches whatever the checkpoint size.
fn checkpoints(n: usize, checkpoint: usize, batched: bool) -> Vec<(usize, usize)> {
    let len = if batched {
        checkpoint.max(1).div_ceil(ITEMS_PER_BATCH) * ITEMS_PER_BATCH
    } else {
        checkpoint.max(1)
    };
    (0..n.max(1))
        .step_by(len)
        .map(|a| (a, (a + len).min(n)))
        .collect()
}

/// A job's whole shard (`None` when this process computes only part of
/// it), and whether any of its items was encoded here rather than read
/// from checkpoints.
type JobOutcome = (Option<Whole>, bool);

/// A whole shard as extraction leaves it.
enum Whole {
    /// In memory.
    Shard(Shard),
    /// In its checkpoints, all stored: under a memory budget only one
    /// checkpoint's rows are held at a time, and the shard is assembled
    /// from them on disk ([`store_from_checkpoints`]).
    Checkpoints,
}

/// Computes every job's shard in one pass over the items, checkpoint by
/// checkpoint ([`RunPlan::checkpoint_items`]): a checkpoint's vectors are
/// stored in the cache as soon as they exist, and a checkpoint found there
/// (left by an interrupted run or a shard process) is read instead of
/// computed. Within a checkpoint, per item (in parallel) its audio is
/// loaded once per sample rate and every per-item encoder runs on it;
/// encoders that batch across items ([`Encoder::batches_items`]) then
/// encode batches of [`ITEMS_PER_BATCH`] items in one call. Only the
/// `units` this process takes are computed.
fn embed_jobs(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    (jobs, views, units): (&[Job], &[ViewJob], &Units),
    (progress, clock): (&dyn Progress, &EncoderClock),
    stats: &mut RunStats,
) -> Result<Vec<JobOutcome>> {
    let items = dataset.items();
    let work: usize = jobs.iter().map(|j| j.rows.len()).sum();
    // One pass over the items runs every encoder: the bar names them all.
    let mut names: Vec<&str> = Vec::new();
    for job in jobs {
        let name = plan.encoders[job.encoder].name();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let grid = grid(plan, items.len());
    let work: usize = if units.share.is_some() {
        let taken = |j: &Job, (c, &(a, b)): (usize, &(usize, usize))| {
            units.takes(c, j.encoder) as usize * (a..b).filter(|&r| j.mask[r]).count()
        };
        jobs.iter()
            .map(|j| grid.iter().enumerate().map(|c| taken(j, c)).sum::<usize>())
            .sum()
    } else {
        work
    };
    let stage = progress.stage(
        &format!("embed {} with {}", dataset.name(), names.join(", ")),
        work as u64,
    );
    let batched: Vec<bool> = jobs
        .iter()
        .map(|j| plan.encoders[j.encoder].batches_items())
        .collect();
    // A dataset that fits one checkpoint is stored whole, without chunks.
    let chunked = grid.len() > 1;
    let sharing = units.share.is_some();
    // Under a memory budget a chunked dataset holds one checkpoint's rows
    // per job, not the whole shard.
    let streamed = chunked && plan.max_memory_bytes.is_some();
    let mut outputs: Vec<JobMatrices> = jobs
        .iter()
        .map(|j| JobMatrices::new(plan, j, if streamed { &[] } else { &j.rows }))
        .collect();
    let mut encoded = vec![false; jobs.len()];
    for (c, &(start, end)) in grid.iter().enumerate() {
        let mut active = vec![false; jobs.len()];
        let job_rows: Vec<Vec<usize>> = jobs
            .iter()
            .map(|job| (start..end).filter(|&r| job.mask[r]).collect())
            .collect();
        if streamed {
            for (j, job) in jobs.iter().enumerate() {
                outputs[j] = JobMatrices::new(plan, job, &job_rows[j]);
            }
        }
        for (j, (job, rows)) in jobs.iter().zip(&job_rows).enumerate() {
            if rows.is_empty() || !units.takes(c, job.encoder) {
                continue;
            }
            if chunked {
                let key = chunk_key(&job.key, start, end);
                // A shard process needs no vectors it does not compute.
                if sharing && plan.cache.has_entry(&key) {
                    stats.chunks_cached += 1;
                    stage.inc(rows.len() as u64);
                    continue;
                }
                match load_chunk(plan, items, job, &key, rows)? {
                    Lookup::Hit(vectors) => {
                        // Verified; a streamed shard reads it again when
                        // it is assembled.
                        if !streamed {
                            for (&r, v) in rows.iter().zip(vectors) {
                                outputs[j].put(r, &v, items)?;
                            }
                        }
                        stats.chunks_cached += 1;
                        stage.inc(rows.len() as u64);
                        continue;
                    }
                    Lookup::Corrupt(why) => stats.corrupt_entries.push(why),
                    Lookup::Miss => {}
                }
            }
            active[j] = true;
            encoded[j] = true;
        }
        if !active.contains(&true) {
            continue;
        }
        let batch_len = if batched.iter().zip(&active).any(|(&b, &a)| a && b) {
            ITEMS_PER_BATCH
        } else {
            end - start
        };
        let rows: Vec<usize> = (start..end).collect();
        let batches: Vec<&[usize]> = rows.chunks(batch_len).collect();
        let run = BatchRun {
            plan,
            dataset,
            jobs: (jobs, views),
            batched: &batched,
            active: &active,
            progress: (stage.as_ref(), clock),
        };
        let mut next = batches.first().map(|b| run.prepare(b));
        for (i, batch) in batches.iter().enumerate() {
            let prepared = next
                .take()
                .expect("every batch is prepared before its turn")?;
            // The next batch's audio is read while this one is encoded.
            let (pooled, upcoming) = rayon::join(
                || run.encode(batch, prepared),
                || batches.get(i + 1).map(|b| run.prepare(b)),
            );
            next = upcoming;
            // Copied into the jobs' matrices and freed batch by batch, so
            // memory holds each embedding once, not once per item besides.
            for (&r, vectors) in batch.iter().zip(pooled?) {
                for (j, v) in vectors.into_iter().enumerate() {
                    if let Some(v) = v {
                        outputs[j].put(r, &v, items)?;
                    }
                }
            }
        }
        if chunked {
            for (j, job) in jobs.iter().enumerate().filter(|(j, _)| active[*j]) {
                let chunk = outputs[j].shard_of(&job_rows[j], items);
                let key = chunk_key(&job.key, start, end);
                let about = serde_json::json!({
                    "dataset": dataset.name(),
                    "encoder": plan.encoders[job.encoder].name(),
                    "chunk_of": job.key,
                    "rows": [start, end],
                    "repbench_version": VERSION,
                });
                plan.cache.store_shard(&key, &chunk, about)?;
                stats.chunks_computed += 1;
            }
        }
    }
    stage.finish();
    Ok(jobs
        .iter()
        .zip(outputs)
        .zip(encoded)
        .map(|((job, out), encoded)| {
            // A shard process assembles a whole shard only when it computed
            // all of it: a dataset of one checkpoint, in a unit it takes.
            let whole = !sharing || (!chunked && units.takes(0, job.encoder));
            let whole = whole.then(|| {
                if streamed {
                    Whole::Checkpoints
                } else {
                    Whole::Shard(out.into_shard(job, items))
                }
            });
            (whole, encoded)
        })
        .collect())
}

/// Keys of the checkpoints `embed_jobs` stored for `job` (none when the
/// dataset fits one checkpoint): removed once the whole shard is stored.
fn chunk_keys(plan: &RunPlan, items: usize, job: &Job) -> Vec<String> {
    let grid = grid(plan, items);
    if grid.len() <= 1 {
        return Vec::new();
    }
    grid.into_iter()
        .filter(|&(a, b)| (a..b).any(|r| job.mask[r]))
        .map(|(a, b)| chunk_key(&job.key, a, b))
        .collect()
}

/// Stores `job`'s whole shard from its stored checkpoints, one layer of
/// one checkpoint in memory at a time (each verified as it is read).
fn store_from_checkpoints(
    plan: &RunPlan,
    items: &[Item],
    job: &Job,
    about: serde_json::Value,
) -> Result<()> {
    // Another job of this run with the same key (two encoders that differ
    // only in name), or another run sharing the cache, may have stored it
    // and removed the checkpoints already.
    if let Lookup::Hit(_) = plan.cache.verify_shard(&job.key)? {
        return Ok(());
    }
    match assemble(plan, items, job, about) {
        Err(_) if matches!(plan.cache.verify_shard(&job.key)?, Lookup::Hit(_)) => Ok(()),
        done => done,
    }
}

fn assembled_gone(key: &str, why: &str) -> Error {
    Error::Other(format!(
        "embedding entry {key} changed in the cache just after this run stored it ({why}); \
         another process removed or modified it: run again"
    ))
}

/// [`store_from_checkpoints`]' assembly.
fn assemble(plan: &RunPlan, items: &[Item], job: &Job, about: serde_json::Value) -> Result<()> {
    let ranges: Vec<(usize, usize)> = grid(plan, items.len())
        .into_iter()
        .filter(|&(a, b)| (a..b).any(|r| job.mask[r]))
        .collect();
    let keys = chunk_keys(plan, items.len(), job);
    let encoder = &plan.encoders[job.encoder];
    let changed = |key: &str, why: &str| {
        Error::Other(format!(
            "extraction checkpoint {key} changed in the cache while this run assembled its \
             shard ({why}); another process removed or modified it: run again"
        ))
    };
    // Each checkpoint's layers, read from its manifest once; every
    // checkpoint's columns are checked against the first one's.
    let layers = encoder.layers().len();
    let mut stored: Vec<Vec<StoredLayer>> = Vec::with_capacity(keys.len());
    for key in &keys {
        stored.push(match plan.cache.stored_layers(key)? {
            Lookup::Hit(found) if found.len() == layers => found,
            Lookup::Hit(_) => return Err(changed(key, "it holds other layers")),
            Lookup::Miss => return Err(changed(key, "it is gone")),
            Lookup::Corrupt(why) => return Err(changed(key, &why)),
        });
    }
    let cols: Vec<usize> = match stored.first() {
        None => vec![0; layers],
        Some(first) => first.iter().map(|l| l.shape.cols).collect(),
    };
    let shapes: Vec<LayerShape> = encoder
        .layers()
        .into_iter()
        .zip(cols)
        .map(|(name, cols)| LayerShape {
            name,
            rows: job.rows.len(),
            cols,
        })
        .collect();
    let ids: Vec<String> = job.rows.iter().map(|&r| items[r].id.clone()).collect();
    plan.cache
        .store_shard_streamed(&job.key, &ids, &shapes, about, &mut |layer, sink| {
            for ((key, &(a, b)), chunk) in keys.iter().zip(&ranges).zip(&stored) {
                // Verified against its manifest (load_chunk verified the
                // checkpoint whole earlier in this run).
                let matrix = match plan.cache.load_layer(key, layer, &chunk[layer].blake3)? {
                    Lookup::Hit(m) => m,
                    Lookup::Miss => return Err(changed(key, "it is gone")),
                    Lookup::Corrupt(why) => return Err(changed(key, &why)),
                };
                let shape = &shapes[layer];
                if matrix.ncols() != shape.cols {
                    return Err(Error::Encoder {
                        encoder: encoder.name().into(),
                        reason: format!(
                            "layer {}: items \"{}\" to \"{}\" have dimension {}, earlier items {}; every item needs the same",
                            shape.name,
                            items[a].id,
                            items[b - 1].id,
                            matrix.ncols(),
                            shape.cols
                        ),
                    });
                }
                sink.rows(matrix.view())?;
            }
            Ok(())
        })
}

/// A stored checkpoint's vectors for `rows` (per row, per layer), verified
/// against the rows' ids and the encoder's layers.
fn load_chunk(
    plan: &RunPlan,
    items: &[Item],
    job: &Job,
    key: &str,
    rows: &[usize],
) -> Result<Lookup<Vec<Vec<Array1<f32>>>>> {
    let shard = match plan.cache.load_shard(key)? {
        Lookup::Hit(shard) => shard,
        Lookup::Miss => return Ok(Lookup::Miss),
        Lookup::Corrupt(why) => return Ok(Lookup::Corrupt(why)),
    };
    let ids_match = shard.ids.len() == rows.len()
        && rows
            .iter()
            .zip(&shard.ids)
            .all(|(&r, id)| items[r].id == *id);
    let layers = plan.encoders[job.encoder].layers();
    let layers_match = shard.layers.len() == layers.len()
        && shard
            .layers
            .iter()
            .zip(&layers)
            .all(|(l, name)| l.name == *name);
    if !(ids_match && layers_match) {
        return Ok(Lookup::Corrupt(format!(
            "{}: checkpoint does not hold the items or layers its key names",
            plan.cache.embedding_dir(key).display()
        )));
    }
    Ok(Lookup::Hit(
        (0..rows.len())
            .map(|i| {
                shard
                    .layers
                    .iter()
                    .map(|l| l.matrix.row(i).to_owned())
                    .collect()
            })
            .collect(),
    ))
}

/// The active jobs of one checkpoint, run batch by batch.
struct BatchRun<'a> {
    plan: &'a RunPlan,
    dataset: &'a dyn Dataset,
    jobs: (&'a [Job], &'a [ViewJob]),
    batched: &'a [bool],
    active: &'a [bool],
    progress: (&'a dyn Stage, &'a EncoderClock),
}

/// A batch after its per-item pass: per item, each job's pooled vectors
/// (batched jobs still `None`) and the clean audio at each rate a batched
/// job needs.
type PreparedBatch = (PerItem, Vec<HashMap<u32, Vec<f32>>>);

impl BatchRun<'_> {
    /// The per-item pass over `batch` (consecutive item rows), items in
    /// parallel: audio read and resampled once per rate, every per-item
    /// job run, the audio the batched jobs need kept.
    fn prepare(&self, batch: &[usize]) -> Result<PreparedBatch> {
        let (plan, dataset) = (self.plan, self.dataset);
        let (jobs, views) = self.jobs;
        let (batched, active) = (self.batched, self.active);
        let (stage, clock) = self.progress;
        let items = dataset.items();
        let batched_rates: Vec<u32> = jobs
            .iter()
            .zip(batched.iter().zip(active))
            .filter(|(_, (&b, &a))| a && b)
            .map(|(j, _)| plan.encoders[j.encoder].sample_rate())
            .collect();
        let prepared: Vec<Prepared> = batch
            .par_iter()
            .map(|&r| {
                let out = prepare_item(
                    plan,
                    dataset,
                    &items[r],
                    r,
                    (jobs, views),
                    (batched, active),
                    (&batched_rates, clock),
                )
                .map_err(|e| item_error(dataset, &items[r], e));
                let done = jobs
                    .iter()
                    .zip(batched.iter().zip(active))
                    .filter(|(j, (&b, &a))| a && !b && j.mask[r])
                    .count();
                stage.inc(done as u64);
                out
            })
            .collect::<Result<_>>()?;
        Ok(prepared.into_iter().map(|p| (p.pooled, p.clean)).unzip())
    }

    /// Runs each active batched job on `batch` in one call. Returns, per
    /// item of the batch, each job's pooled vectors (`None` for inactive
    /// jobs and items a job does not cover).
    fn encode(&self, batch: &[usize], (mut pooled, clean): PreparedBatch) -> Result<PerItem> {
        let (plan, dataset) = (self.plan, self.dataset);
        let (jobs, views) = self.jobs;
        let (stage, clock) = self.progress;
        let items = dataset.items();
        for (j, job) in jobs
            .iter()
            .enumerate()
            .filter(|(j, _)| self.batched[*j] && self.active[*j])
        {
            let rows: Vec<usize> = batch.iter().copied().filter(|&r| job.mask[r]).collect();
            if rows.is_empty() {
                continue;
            }
            let encoder: &dyn Encoder = plan.encoders[job.encoder].as_ref();
            let audios = job_audio(
                plan,
                dataset,
                (job, views),
                encoder,
                batch[0],
                &rows,
                &clean,
            )?;
            for (&r, frames) in rows
                .iter()
                .zip(clock.time(|| encoder.encode_batch(&audios)))
            {
                let vectors = frames.and_then(|f| pool_checked(encoder, f));
                pooled[r - batch[0]][j] =
                    Some(vectors.map_err(|e| item_error(dataset, &items[r], e))?);
            }
            stage.inc(rows.len() as u64);
        }
        Ok(pooled)
    }
}

fn item_error(dataset: &dyn Dataset, item: &Item, e: Error) -> Error {
    Error::Item {
        dataset: dataset.name().into(),
        item: item.id.clone(),
        source: Box::new(e),
    }
}

/// One item after the per-item pass.
struct Prepared {
    /// Pooled vectors of every per-item job (batched jobs: `None` for now).
    pooled: Vec<Option<Vec<Array1<f32>>>>,
    /// Clean audio at each rate a batched job needs, kept for it.
    clean: HashMap<u32, Vec<f32>>,
}

/// Runs every per-item job covering `item` and keeps the clean audio the
/// batched jobs need.
fn prepare_item(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    item: &Item,
    index: usize,
    (jobs, views): (&[Job], &[ViewJob]),
    (batched, active): (&[bool], &[bool]),
    (batched_rates, clock): (&[u32], &EncoderClock),
) -> Result<Prepared> {
    let mut clean: HashMap<u32, Vec<f32>> = HashMap::new();
    let mut pooled = Vec::with_capacity(jobs.len());
    for ((job, &is_batched), &is_active) in jobs.iter().zip(batched).zip(active) {
        let encoder: &dyn Encoder = plan.encoders[job.encoder].as_ref();
        let covers = is_active && job.mask[index];
        if !covers || is_batched {
            if covers {
                clean_at(&mut clean, dataset, item, encoder.sample_rate())?;
            }
            pooled.push(None);
            continue;
        }
        if let Some(found) = encoder.lookup(&item.id) {
            if !matches!(job.source, Source::Clean) {
                return Err(Error::Encoder {
                    encoder: encoder.name().into(),
                    reason: "precomputed embeddings cannot be perturbed or transformed; remove the perturbations and property tasks, or this encoder".into(),
                });
            }
            pooled.push(Some(pool_checked(encoder, found?)?));
            continue;
        }
        let audio = clean_at(&mut clean, dataset, item, encoder.sample_rate())?;
        let audio = input_audio(plan, (job, views), encoder, item, audio)?;
        let frames = clock.time(|| encoder.encode(&audio))?;
        pooled.push(Some(pool_checked(encoder, frames)?));
    }
    // Only what a batched job will still read stays in memory.
    clean.retain(|rate, _| batched_rates.contains(rate));
    Ok(Prepared { pooled, clean })
}

/// The item's clean audio at `rate`, loaded on first use.
fn clean_at<'a>(
    clean: &'a mut HashMap<u32, Vec<f32>>,
    dataset: &dyn Dataset,
    item: &Item,
    rate: u32,
) -> Result<&'a Vec<f32>> {
    Ok(match clean.entry(rate) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => e.insert(dataset.load(item, rate)?),
    })
}

/// What `job`'s encoder reads for `item`: the clean audio, its perturbed
/// copy (seeded by run seed, effect and item, so independent of order and
/// threads) or its transformed copy at the item's own θ, fitted to the
/// encoder's duration.
fn input_audio(
    plan: &RunPlan,
    (job, views): (&Job, &[ViewJob]),
    encoder: &dyn Encoder,
    item: &Item,
    clean: &[f32],
) -> Result<Vec<f32>> {
    let rate = encoder.sample_rate();
    let mut audio = match job.source {
        Source::Clean => clean.to_vec(),
        Source::Perturbation(p) => {
            let effect = &plan.perturbations[p].effect;
            let mut rng = seed::rng(plan.seed, &["perturb", &effect.id(), &item.id]);
            effect.apply(clean, rate, &mut rng)?
        }
        Source::View(v) => {
            let ViewJob { transform, view } = &views[v];
            let theta = transform.theta(view, &item.id, plan.seed);
            let mut rng = transform.effect_rng(view, &item.id, plan.seed);
            transform.effect(theta)?.apply(clean, rate, &mut rng)?
        }
    };
    if let Some(d) = encoder.duration_s() {
        audio = fit_duration(audio, rate, d);
    }
    Ok(audio)
}

/// A batched job's input audio for `rows` (absolute item indices; the
/// chunk starts at `first`), made in parallel.
fn job_audio(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    (job, views): (&Job, &[ViewJob]),
    encoder: &dyn Encoder,
    first: usize,
    rows: &[usize],
    clean: &[HashMap<u32, Vec<f32>>],
) -> Result<Vec<Vec<f32>>> {
    let items = dataset.items();
    let rate = encoder.sample_rate();
    rows.par_iter()
        .map(|&r| {
            let audio = clean[r - first]
                .get(&rate)
                .expect("prepare_item keeps the audio of every batched job's rate");
            input_audio(plan, (job, views), encoder, &items[r], audio)
                .map_err(|e| item_error(dataset, &items[r], e))
        })
        .collect()
}

/// One job's embeddings as they are computed: per layer a matrix with a
/// row per item the job covers, allocated when the first vectors arrive
/// (their dimensions fix every later item's).
struct JobMatrices {
    encoder: String,
    names: Vec<String>,
    /// Item index → row of the matrices (`usize::MAX`: not covered).
    row_of: Vec<usize>,
    rows: usize,
    /// The matrices, and the item whose vectors fixed their dimensions.
    layers: Option<(Vec<Array2<f32>>, usize)>,
}

impl JobMatrices {
    /// Matrices for `rows` of `job` (all its rows, or one checkpoint's).
    fn new(plan: &RunPlan, job: &Job, rows: &[usize]) -> Self {
        let encoder = &plan.encoders[job.encoder];
        let mut row_of = vec![usize::MAX; job.mask.len()];
        for (row, &r) in rows.iter().enumerate() {
            row_of[r] = row;
        }
        JobMatrices {
            encoder: encoder.name().into(),
            names: encoder.layers(),
            row_of,
            rows: rows.len(),
            layers: None,
        }
    }

    /// Stores item `r`'s vectors (one per layer); every item must give
    /// each layer the same dimension.
    fn put(&mut self, r: usize, vectors: &[Array1<f32>], items: &[Item]) -> Result<()> {
        let rows = self.rows;
        let (matrices, first) = self.layers.get_or_insert_with(|| {
            let matrices = vectors
                .iter()
                .map(|v| Array2::zeros((rows, v.len())))
                .collect();
            (matrices, r)
        });
        for ((matrix, v), name) in matrices.iter_mut().zip(vectors).zip(&self.names) {
            if v.len() != matrix.ncols() {
                return Err(Error::Encoder {
                    encoder: self.encoder.clone(),
                    reason: format!(
                        "layer {name}: item \"{}\" has dimension {}, item \"{}\" has {}; every item needs the same",
                        items[r].id,
                        v.len(),
                        items[*first].id,
                        matrix.ncols()
                    ),
                });
            }
            matrix.row_mut(self.row_of[r]).assign(v);
        }
        Ok(())
    }

    /// The rows of items `rows` as a shard (a checkpoint's).
    fn shard_of(&self, rows: &[usize], items: &[Item]) -> Shard {
        let at: Vec<usize> = rows.iter().map(|&r| self.row_of[r]).collect();
        let layers = self
            .names
            .iter()
            .enumerate()
            .map(|(l, name)| Layer {
                name: name.clone(),
                matrix: match &self.layers {
                    Some((m, _)) => m[l].select(Axis(0), &at),
                    None => Array2::zeros((rows.len(), 0)),
                },
            })
            .collect();
        Shard {
            ids: rows.iter().map(|&r| items[r].id.clone()).collect(),
            layers,
        }
    }

    /// The whole shard, without copying the matrices.
    fn into_shard(self, job: &Job, items: &[Item]) -> Shard {
        let rows = self.rows;
        let matrices = match self.layers {
            Some((m, _)) => m,
            None => vec![Array2::zeros((rows, 0)); self.names.len()],
        };
        Shard {
            ids: job.rows.iter().map(|&r| items[r].id.clone()).collect(),
            layers: self
                .names
                .into_iter()
                .zip(matrices)
                .map(|(name, matrix)| Layer { name, matrix })
                .collect(),
        }
    }
}

/// Checks an encoder's output (layer count, finite values) and pools it.
fn pool_checked(encoder: &dyn Encoder, frames: Vec<Array2<f32>>) -> Result<Vec<Array1<f32>>> {
    let expected = encoder.layers().len();
    if frames.len() != expected {
        return Err(Error::Encoder {
            encoder: encoder.name().into(),
            reason: format!("returned {} layers, declared {expected}", frames.len()),
        });
    }
    check_finite(encoder.name(), &frames)?;
    Ok(frames
        .iter()
        .map(|f| encoder.pooling().pool(f.view()))
        .collect())
}
