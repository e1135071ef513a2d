//! The run's memory budget (`run.max_memory_gb`): which embedding shards
//! stay in memory for the whole evaluation, how the others are read back
//! one layer at a time, and how many units are evaluated at once.
//!
//! An eighth of the budget may hold shards read once for the whole
//! evaluation (small ones: perturbed test rows, small datasets); shards
//! beyond it are verified, stored and dropped, and each unit that reads
//! one of their layers reads it from the cache (checksum verified). The
//! rest bounds a wave of units evaluated in parallel: each unit's estimate
//! is the layers it reads plus the float64 copies its evaluator makes of
//! them, and a unit whose estimate alone exceeds that runs by itself with
//! `EvalInput::low_memory` set, so its probes copy no training rows. None
//! of this changes a result: waves are collected in unit order, a layer
//! read back is the one stored, and a low-memory probe computes the same
//! values.

use crate::cache::{Cache, LayerShape, Lookup, Shard};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::cell::OnceCell;
use std::ops::Range;

/// Bytes of one float32 value.
const F32_BYTES: u64 = 4;

/// What a unit holds per float32 byte it reads: the matrix itself, and
/// the float64 copy of its rows that standardisation makes (twice its
/// size) in every evaluator. The kNN probe's and retrieval's similarity
/// blocks (64 MB per thread) are not counted.
const WORKING_FACTOR: u64 = 3;

/// A cached shard and its key: held in memory, or read layer by layer.
pub struct Stored {
    /// Cache key.
    pub key: String,
    /// Layer names and shapes.
    pub layers: Vec<LayerShape>,
    /// The shard, when it stays in memory for the whole evaluation.
    held: Option<Shard>,
    /// Otherwise, each layer file's checksum as verified: a layer read back
    /// must still be those bytes.
    checksums: Vec<String>,
}

impl Stored {
    /// A verified shard just read or stored under `key`, kept in memory
    /// when `held` says so.
    pub fn new(cache: &Cache, key: String, shard: Shard, held: &mut Held) -> Result<Self> {
        let layers = shard.shapes();
        let bytes = layers.iter().map(layer_bytes).sum();
        if held.keep(bytes) {
            return Ok(Stored {
                key,
                layers,
                held: Some(shard),
                checksums: Vec::new(),
            });
        }
        drop(shard);
        let checksums = match cache.stored_layers(&key)? {
            Lookup::Hit(stored) => stored.into_iter().map(|l| l.blake3).collect(),
            Lookup::Miss => return Err(changed(&key, "it is gone")),
            Lookup::Corrupt(why) => return Err(changed(&key, &why)),
        };
        Ok(Stored {
            key,
            layers,
            held: None,
            checksums,
        })
    }

    /// The shard stored under `key`, verified file by file without being
    /// held, then read into memory only when `held` keeps it.
    pub fn from_cache(cache: &Cache, key: &str, held: &mut Held) -> Result<Lookup<Self>> {
        let stored = match cache.verify_shard(key)? {
            Lookup::Hit(stored) => stored,
            Lookup::Miss => return Ok(Lookup::Miss),
            Lookup::Corrupt(why) => return Ok(Lookup::Corrupt(why)),
        };
        let layers: Vec<LayerShape> = stored.iter().map(|l| l.shape.clone()).collect();
        let bytes = layers.iter().map(layer_bytes).sum();
        if !held.keep(bytes) {
            return Ok(Lookup::Hit(Stored {
                key: key.to_owned(),
                layers,
                held: None,
                checksums: stored.into_iter().map(|l| l.blake3).collect(),
            }));
        }
        Ok(match cache.load_shard(key)? {
            Lookup::Hit(shard) => Lookup::Hit(Stored {
                key: key.to_owned(),
                layers,
                held: Some(shard),
                checksums: Vec::new(),
            }),
            Lookup::Miss => Lookup::Miss,
            Lookup::Corrupt(why) => Lookup::Corrupt(why),
        })
    }

    /// Whether the shard stays in memory.
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// Name of `layer`.
    pub fn layer_name(&self, layer: usize) -> &str {
        &self.layers[layer].name
    }

    /// Bytes of `layer`'s float32 matrix.
    pub fn bytes(&self, layer: usize) -> u64 {
        layer_bytes(&self.layers[layer])
    }

    /// What a unit holds while it reads `layer`: the float64 copies its
    /// evaluator makes, and the matrix itself unless the shard is held.
    pub fn working_bytes(&self, layer: usize) -> u64 {
        let copies = (WORKING_FACTOR - 1) * self.bytes(layer);
        if self.is_held() {
            copies
        } else {
            copies + self.bytes(layer)
        }
    }

    /// `layer`'s matrix: the held one, or read from the cache and verified.
    pub fn matrix(&self, cache: &Cache, layer: usize) -> Result<Matrix<'_>> {
        if let Some(shard) = &self.held {
            return Ok(Matrix::Held(&shard.layers[layer].matrix));
        }
        match cache.load_layer(&self.key, layer, &self.checksums[layer])? {
            Lookup::Hit(m) if m.dim() == self.shape(layer) => Ok(Matrix::Read(m)),
            Lookup::Hit(_) => Err(changed(&self.key, "its shape is not the one verified")),
            Lookup::Miss => Err(changed(&self.key, "it is gone")),
            Lookup::Corrupt(why) => Err(changed(&self.key, &why)),
        }
    }

    fn shape(&self, layer: usize) -> (usize, usize) {
        (self.layers[layer].rows, self.layers[layer].cols)
    }
}

fn layer_bytes(l: &LayerShape) -> u64 {
    (l.rows as u64) * (l.cols as u64) * F32_BYTES
}

fn changed(key: &str, why: &str) -> Error {
    Error::Other(format!(
        "embedding entry {key} changed in the cache while this run read it ({why}); \
         another process (`repbench cache gc`, a user) removed or modified it: run again \
         and it is recomputed"
    ))
}

/// A layer's matrix as a unit reads it.
pub enum Matrix<'a> {
    /// From a shard held in memory.
    Held(&'a Array2<f32>),
    /// Read from the cache for this unit.
    Read(Array2<f32>),
}

impl Matrix<'_> {
    /// The matrix.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        match self {
            Matrix::Held(m) => m.view(),
            Matrix::Read(m) => m.view(),
        }
    }
}

/// A layer read on first use: a unit whose evaluation is cached reads no
/// embedding.
pub struct LazyLayer<'a> {
    store: &'a Stored,
    cache: &'a Cache,
    layer: usize,
    cell: OnceCell<Matrix<'a>>,
}

impl<'a> LazyLayer<'a> {
    /// `layer` of `store`, not read yet.
    pub fn new(store: &'a Stored, cache: &'a Cache, layer: usize) -> Self {
        LazyLayer {
            store,
            cache,
            layer,
            cell: OnceCell::new(),
        }
    }

    /// The matrix, read now if it was not.
    pub fn get(&self) -> Result<ArrayView2<'_, f32>> {
        if self.cell.get().is_none() {
            let m = self.store.matrix(self.cache, self.layer)?;
            // Only this thread fills the cell.
            let _ = self.cell.set(m);
        }
        Ok(self
            .cell
            .get()
            .expect("the cell was filled just above")
            .view())
    }
}

/// Which shards stay in memory: while their bytes fit an eighth of the
/// budget, in the order the run verifies or computes them (so the choice
/// depends on the config and on what was cached; results do not).
pub struct Held {
    limit: Option<u64>,
    /// Bytes of the shards kept.
    pub bytes: u64,
    /// Shards kept and shards left on disk, for `run.json`.
    pub counts: (usize, usize),
}

impl Held {
    /// No shard is dropped without a budget.
    pub fn new(budget: Option<u64>) -> Self {
        Held {
            limit: budget.map(|b| b / 8),
            bytes: 0,
            counts: (0, 0),
        }
    }

    fn keep(&mut self, bytes: u64) -> bool {
        let keep = self.limit.is_none_or(|l| self.bytes + bytes <= l);
        if keep {
            self.bytes += bytes;
            self.counts.0 += 1;
        } else {
            self.counts.1 += 1;
        }
        keep
    }
}

/// Consecutive ranges of units evaluated in parallel, each as long as its
/// units' `needs` fit `limit` bytes (a unit that alone exceeds it runs
/// alone). Without a limit, one wave of everything.
pub fn waves(needs: &[u64], limit: Option<u64>) -> Vec<Range<usize>> {
    let Some(limit) = limit else {
        return std::iter::once(0..needs.len()).collect();
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut sum = 0u64;
    for (i, &need) in needs.iter().enumerate() {
        match out.last_mut() {
            Some(wave) if sum.saturating_add(need) <= limit => {
                wave.end = i + 1;
                sum += need;
            }
            _ => {
                out.push(i..i + 1);
                sum = need;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Layer;

    const A: &str = "aa00000000000000000000000000000000000000000000000000000000000000";
    const B: &str = "bb00000000000000000000000000000000000000000000000000000000000000";

    fn shard(rows: usize, cols: &[usize]) -> Shard {
        Shard {
            ids: (0..rows).map(|i| format!("i{i}")).collect(),
            layers: cols
                .iter()
                .enumerate()
                .map(|(l, &c)| Layer {
                    name: format!("l{l}"),
                    matrix: Array2::from_shape_fn((rows, c), |(r, k)| (r * 10 + k + l) as f32),
                })
                .collect(),
        }
    }

    #[test]
    fn waves_fit_the_limit_and_cover_every_unit_in_order() {
        let everything = waves(&[5, 5, 5], None);
        assert_eq!((everything.len(), &everything[0]), (1, &(0..3)));
        // Two units of 5 per wave of 10.
        assert_eq!(waves(&[5, 5, 5, 5, 5], Some(10)), vec![0..2, 2..4, 4..5]);
        // A unit larger than the limit runs alone.
        assert_eq!(waves(&[3, 20, 3, 3], Some(10)), vec![0..1, 1..2, 2..4]);
        assert_eq!(waves(&[], Some(10)), Vec::<Range<usize>>::new());
    }

    #[test]
    fn shards_beyond_an_eighth_of_the_budget_are_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let (a, b) = (shard(4, &[3, 2]), shard(4, &[5]));
        cache.store_shard(A, &a, serde_json::Value::Null).unwrap();
        cache.store_shard(B, &b, serde_json::Value::Null).unwrap();
        // a: 4 × 5 floats = 80 bytes fits an eighth of 800; b's 80 more
        // do not.
        let mut held = Held::new(Some(800));
        let sa = Stored::new(&cache, A.into(), a.clone(), &mut held).unwrap();
        let sb = Stored::new(&cache, B.into(), b.clone(), &mut held).unwrap();
        assert!(sa.is_held() && !sb.is_held());
        assert_eq!((held.counts, held.bytes), ((1, 1), 80));
        assert_eq!(sb.layer_name(0), "l0");
        assert_eq!(sb.bytes(0), 80);
        assert_eq!(sb.working_bytes(0), 240);
        assert_eq!(sa.working_bytes(1), 64);
        for (stored, shard) in [(&sa, &a), (&sb, &b)] {
            for (l, layer) in shard.layers.iter().enumerate() {
                let lazy = LazyLayer::new(stored, &cache, l);
                assert_eq!(lazy.get().unwrap(), layer.matrix.view());
            }
        }
        // Without a budget everything stays in memory.
        let mut unlimited = Held::new(None);
        let held_b = Stored::from_cache(&cache, B, &mut unlimited).unwrap();
        assert!(matches!(held_b, Lookup::Hit(s) if s.is_held()));
        // Verified without holding it under a budget, read back equal.
        let on_disk = match Stored::from_cache(&cache, B, &mut Held::new(Some(8))).unwrap() {
            Lookup::Hit(s) => s,
            _ => panic!("b is stored"),
        };
        assert!(!on_disk.is_held());
        assert_eq!(
            on_disk.matrix(&cache, 0).unwrap().view(),
            b.layers[0].matrix.view()
        );
    }

    #[test]
    fn a_layer_changed_after_verification_is_an_error_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let a = shard(4, &[3]);
        cache.store_shard(A, &a, serde_json::Value::Null).unwrap();
        let stored = Stored::new(&cache, A.into(), a.clone(), &mut Held::new(Some(0))).unwrap();
        let file = cache.embedding_dir(A).join("layer_0.npy");
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let err = stored.matrix(&cache, 0).err().unwrap().to_string();
        assert!(
            err.contains(&format!("embedding entry {A} changed")),
            "{err}"
        );
        assert!(err.contains("checksum mismatch"), "{err}");
        // Rewritten whole with other valid bytes: not the layer verified.
        cache.remove_shard(A).unwrap();
        let mut other = a.clone();
        other.layers[0].matrix[[0, 0]] += 1.0;
        cache
            .store_shard(A, &other, serde_json::Value::Null)
            .unwrap();
        let err = stored.matrix(&cache, 0).err().unwrap().to_string();
        assert!(
            err.contains("rewritten since this run verified it"),
            "{err}"
        );
        cache.remove_shard(A).unwrap();
        let err = stored.matrix(&cache, 0).err().unwrap().to_string();
        assert!(err.contains("it is gone"), "{err}");
    }
}
