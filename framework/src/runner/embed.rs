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

/// Computes every job's shard in one pass over the items: each item's audio
/// is loaded once per sample rate and shared by all jobs that need it.
fn embed_jobs(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    jobs: &[Job],
    progress: &dyn Progress,
) -> Result<Vec<Shard>> {
    let items = dataset.items();
    let stage = progress.stage(&format!("embed {}", dataset.name()), items.len() as u64);
    let per_item: Vec<Vec<Option<Vec<Array1<f32>>>>> = items
        .par_iter()
        .enumerate()
        .map(|(index, item)| {
            let out = embed_item(plan, dataset, item, index, jobs).map_err(|e| Error::Item {
                dataset: dataset.name().into(),
                item: item.id.clone(),
                source: Box::new(e),
            });
            stage.inc(1);
            out
        })
        .collect::<Result<_>>()?;
    stage.finish();
    jobs.iter()
        .enumerate()
        .map(|(j, job)| assemble(plan, items, job, j, &per_item))
        .collect()
}

/// One job's shard from the per-item vectors; every item must give each
/// layer the same dimension.
fn assemble(
    plan: &RunPlan,
    items: &[Item],
    job: &Job,
    j: usize,
    per_item: &[Vec<Option<Vec<Array1<f32>>>>],
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

/// Pooled embeddings of one item for every job that covers it.
fn embed_item(
    plan: &RunPlan,
    dataset: &dyn Dataset,
    item: &Item,
    index: usize,
    jobs: &[Job],
) -> Result<Vec<Option<Vec<Array1<f32>>>>> {
    let mut audio_by_rate: HashMap<u32, Vec<f32>> = HashMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        if !job.mask[index] {
            out.push(None);
            continue;
        }
        let encoder: &dyn Encoder = plan.encoders[job.encoder].as_ref();
        if let Some(found) = encoder.lookup(&item.id) {
            if job.perturbation.is_some() {
                return Err(Error::Encoder {
                    encoder: encoder.name().into(),
                    reason: "precomputed embeddings cannot be perturbed; remove the perturbations or this encoder".into(),
                });
            }
            out.push(Some(pool_checked(encoder, found?)?));
            continue;
        }
        let rate = encoder.sample_rate();
        let clean = match audio_by_rate.entry(rate) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(dataset.load(item, rate)?),
        };
        let mut audio = match job.perturbation {
            None => clean.clone(),
            Some(p) => {
                let effect = &plan.perturbations[p].effect;
                // Seeded by (run seed, effect, item): independent of order and threads.
                let mut rng = seed::rng(plan.seed, &["perturb", &effect.id(), &item.id]);
                effect.apply(clean, rate, &mut rng)?
            }
        };
        if let Some(d) = encoder.duration_s() {
            audio = fit_duration(audio, rate, d);
        }
        out.push(Some(pool_checked(encoder, encoder.encode(&audio)?)?));
    }
    Ok(out)
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
