//! Stage 1: embeddings for every (dataset, encoder) on clean audio and for
//! every (dataset, encoder, perturbation) on the perturbed items.

use super::{PerturbSplits, RunPlan, RunStats};
use crate::audio::fit_duration;
use crate::cache::{KeyBuilder, Layer, Lookup, Shard};
use crate::dataset::{Dataset, Item, Split};
use crate::encoder::{check_finite, Encoder};
use crate::progress::Progress;
use crate::{seed, Error, Result, VERSION};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use std::collections::HashMap;

/// A cached shard and its key.
pub struct Stored {
    /// Cache key.
    pub key: String,
    /// Embeddings.
    pub shard: Shard,
}

/// All embeddings of a run.
pub struct Embeddings {
    /// `(dataset, encoder)` → embeddings of every item, in item order.
    pub clean: HashMap<(usize, usize), Stored>,
    /// `(dataset, encoder, perturbation)` → embeddings of the perturbed
    /// items, in item order.
    pub perturbed: HashMap<(usize, usize, usize), Stored>,
    /// `dataset` → indices of the items perturbations apply to.
    pub perturbed_rows: HashMap<usize, Vec<usize>>,
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

/// One shard to compute: an encoder, optionally a perturbation, and the
/// item rows it covers.
struct Job {
    encoder: usize,
    perturbation: Option<usize>,
    rows: Vec<usize>,
    mask: Vec<bool>,
    key: String,
}

/// Fills the cache and returns every shard.
pub fn fill(plan: &RunPlan, progress: &dyn Progress, stats: &mut RunStats) -> Result<Embeddings> {
    let mut out = Embeddings {
        clean: HashMap::new(),
        perturbed: HashMap::new(),
        perturbed_rows: HashMap::new(),
    };
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
        let mut jobs = Vec::new();
        for (ei, encoder) in plan.encoders.iter().enumerate() {
            let subset =
                |rows: &[usize]| -> Vec<&Item> { rows.iter().map(|&i| &items[i]).collect() };
            jobs.push(new_job(
                ei,
                None,
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
                jobs.push(new_job(ei, Some(pi), perturbed.clone(), items.len(), key));
            }
        }
        let mut missing = Vec::new();
        for job in jobs {
            match plan.cache.load_shard(&job.key)? {
                Lookup::Hit(shard) => {
                    stats.shards_cached += 1;
                    store(
                        &mut out,
                        di,
                        &job,
                        Stored {
                            key: job.key.clone(),
                            shard,
                        },
                    );
                }
                Lookup::Corrupt(why) => {
                    stats.corrupt_entries.push(why);
                    missing.push(job);
                }
                Lookup::Miss => missing.push(job),
            }
        }
        if !missing.is_empty() {
            let shards = embed_jobs(plan, dataset.as_ref(), &missing, progress)?;
            for (job, shard) in missing.iter().zip(shards) {
                let encoder = &plan.encoders[job.encoder];
                let about = serde_json::json!({
                    "dataset": dataset.name(),
                    "encoder": encoder.name(),
                    "fingerprint": encoder.fingerprint(),
                    "perturbation": job.perturbation.map(|p| plan.perturbations[p].effect.id()),
                    "repbench_version": VERSION,
                });
                plan.cache.store_shard(&job.key, &shard, about)?;
                stats.shards_computed += 1;
                store(
                    &mut out,
                    di,
                    job,
                    Stored {
                        key: job.key.clone(),
                        shard,
                    },
                );
            }
        }
        out.perturbed_rows.insert(di, perturbed);
    }
    Ok(out)
}

fn new_job(
    encoder: usize,
    perturbation: Option<usize>,
    rows: Vec<usize>,
    n: usize,
    key: String,
) -> Job {
    let mut mask = vec![false; n];
    rows.iter().for_each(|&r| mask[r] = true);
    Job {
        encoder,
        perturbation,
        rows,
        mask,
        key,
    }
}

fn store(out: &mut Embeddings, dataset: usize, job: &Job, stored: Stored) {
    match job.perturbation {
        None => out.clean.insert((dataset, job.encoder), stored),
        Some(p) => out.perturbed.insert((dataset, job.encoder, p), stored),
    };
}

/// Items encoded together: enough for batched encoders to fill their
/// batches, few enough that the chunk's audio stays small in memory.
const ITEMS_PER_CHUNK: usize = 64;

/// Pooled per-layer vectors, `[item][job]`, `None` where a job skips an item.
type PerItem = Vec<Vec<Option<Vec<Array1<f32>>>>>;

/// Computes every job's shard in one pass over the items, chunk by chunk:
/// each item's audio is loaded once per sample rate and shared by all jobs
/// that need it, and each job encodes the chunk's items in one call.
fn embed_jobs(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    jobs: &[Job],
    progress: &dyn Progress,
) -> Result<Vec<Shard>> {
    let items = dataset.items();
    let work: usize = jobs.iter().map(|j| j.rows.len()).sum();
    let stage = progress.stage(&format!("embed {}", dataset.name()), work as u64);
    let mut per_item: PerItem = vec![vec![None; jobs.len()]; items.len()];
    let all: Vec<usize> = (0..items.len()).collect();
    for chunk in all.chunks(ITEMS_PER_CHUNK) {
        let mut clean: HashMap<u32, Vec<Option<Vec<f32>>>> = HashMap::new();
        for (j, job) in jobs.iter().enumerate() {
            let rows: Vec<usize> = chunk.iter().copied().filter(|&r| job.mask[r]).collect();
            if rows.is_empty() {
                continue;
            }
            let encoder: &dyn Encoder = plan.encoders[job.encoder].as_ref();
            let frames = match lookup_all(encoder, items, &rows) {
                Some(found) => {
                    if job.perturbation.is_some() {
                        return Err(Error::Encoder {
                            encoder: encoder.name().into(),
                            reason: "precomputed embeddings cannot be perturbed; remove the perturbations or this encoder".into(),
                        });
                    }
                    found
                }
                None => {
                    let rate = encoder.sample_rate();
                    if let std::collections::hash_map::Entry::Vacant(e) = clean.entry(rate) {
                        e.insert(load_chunk(plan, dataset, jobs, chunk, rate)?);
                    }
                    let audios =
                        job_audio(plan, dataset, job, encoder, chunk, &rows, &clean[&rate])?;
                    encoder.encode_batch(&audios)
                }
            };
            for (&r, result) in rows.iter().zip(frames) {
                let pooled = result.and_then(|f| pool_checked(encoder, f));
                per_item[r][j] = Some(pooled.map_err(|e| item_error(dataset, &items[r], e))?);
            }
            stage.inc(rows.len() as u64);
        }
    }
    stage.finish();
    jobs.iter()
        .enumerate()
        .map(|(j, job)| assemble(plan, items, job, j, &per_item))
        .collect()
}

fn item_error(dataset: &dyn Dataset, item: &Item, e: Error) -> Error {
    Error::Item {
        dataset: dataset.name().into(),
        item: item.id.clone(),
        source: Box::new(e),
    }
}

/// Frames that do not come from audio (precomputed), if the encoder has them.
fn lookup_all(
    encoder: &dyn Encoder,
    items: &[Item],
    rows: &[usize],
) -> Option<Vec<Result<Vec<Array2<f32>>>>> {
    rows.iter().map(|&r| encoder.lookup(&items[r].id)).collect()
}

/// Clean audio at `rate` of the chunk's items that some job at that rate
/// needs, indexed by position in the chunk; loaded in parallel.
fn load_chunk(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    jobs: &[Job],
    chunk: &[usize],
    rate: u32,
) -> Result<Vec<Option<Vec<f32>>>> {
    let at_rate: Vec<&Job> = jobs
        .iter()
        .filter(|j| plan.encoders[j.encoder].sample_rate() == rate)
        .collect();
    let items = dataset.items();
    chunk
        .par_iter()
        .map(|&r| {
            if !at_rate.iter().any(|j| j.mask[r]) {
                return Ok(None);
            }
            dataset
                .load(&items[r], rate)
                .map(Some)
                .map_err(|e| item_error(dataset, &items[r], e))
        })
        .collect()
}

/// The audio one job encodes for `rows` of the chunk: clean or perturbed
/// (seeded by run seed, effect and item, so independent of order and
/// threads), fitted to the encoder's duration.
fn job_audio(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    job: &Job,
    encoder: &dyn Encoder,
    chunk: &[usize],
    rows: &[usize],
    clean: &[Option<Vec<f32>>],
) -> Result<Vec<Vec<f32>>> {
    let items = dataset.items();
    let rate = encoder.sample_rate();
    rows.par_iter()
        .map(|&r| {
            let item = &items[r];
            let position = r - chunk[0];
            let audio = clean[position]
                .as_ref()
                .expect("load_chunk loads every row some job at this rate needs");
            let mut audio = match job.perturbation {
                None => audio.clone(),
                Some(p) => {
                    let effect = &plan.perturbations[p].effect;
                    let mut rng = seed::rng(plan.seed, &["perturb", &effect.id(), &item.id]);
                    effect
                        .apply(audio, rate, &mut rng)
                        .map_err(|e| item_error(dataset, item, e))?
                }
            };
            if let Some(d) = encoder.duration_s() {
                audio = fit_duration(audio, rate, d);
            }
            Ok(audio)
        })
        .collect()
}

/// One job's shard from the per-item vectors; every item must give each
/// layer the same dimension.
fn assemble(
    plan: &RunPlan,
    items: &[Item],
    job: &Job,
    j: usize,
    per_item: &PerItem,
) -> Result<Shard> {
    let encoder = &plan.encoders[job.encoder];
    let layers = encoder
        .layers()
        .into_iter()
        .enumerate()
        .map(|(l, name)| {
            let first = job.rows.first().copied();
            let dim = first.and_then(|r| per_item[r][j].as_ref()).map_or(0, |v| v[l].len());
            let mut matrix = Array2::zeros((job.rows.len(), dim));
            for (row, &r) in job.rows.iter().enumerate() {
                let Some(vectors) = &per_item[r][j] else { continue };
                if vectors[l].len() != dim {
                    return Err(Error::Encoder {
                        encoder: encoder.name().into(),
                        reason: format!(
                            "layer {name}: item \"{}\" has dimension {}, item \"{}\" has {dim}; every item needs the same",
                            items[r].id,
                            vectors[l].len(),
                            first.map_or("", |f| items[f].id.as_str())
                        ),
                    });
                }
                matrix.row_mut(row).assign(&vectors[l]);
            }
            Ok(Layer { name, matrix })
        })
        .collect::<Result<_>>()?;
    Ok(Shard {
        ids: job.rows.iter().map(|&r| items[r].id.clone()).collect(),
        layers,
    })
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
