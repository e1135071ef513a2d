//! `precomputed`: embeddings made elsewhere, joined to dataset items by id.
//!
//! Either one `.npy` matrix with an ids file (row `i` belongs to line `i`):
//! `(items, dim)` for one layer or `(items, layers, dim)` for several; or a
//! directory of `<id>.npy` files, each `(dim,)` (already pooled), or
//! `(frames, dim)` / `(layers, frames, dim)`, pooled over frames. float32 or
//! float64. Only frames are pooled: a matrix row or a `(dim,)` file is used
//! as it is (mean ± std "pooling" of one vector would append `dim`
//! all-zero columns, which change every dimension-based statistic).

use super::Encoder;
use crate::pooling::Pooling;
use crate::{Error, Result};
use ndarray::{Array1, Array2, Array3, ArrayD, ArrayViewD, Axis};
use ndarray_npy::{ReadNpyExt, ViewNpyExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// 2: inputs that are one vector per item are not pooled.
const IMPL_VERSION: u32 = 2;

/// Options of `kind = "precomputed"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecomputedSpec {
    /// Name used in results.
    pub name: String,
    /// A `.npy` matrix, or a directory of `<id>.npy` files (relative to the
    /// config file).
    pub path: PathBuf,
    /// Ids file for a matrix: one item id per line, in row order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<PathBuf>,
    /// Layer names (default `0`, `1`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_names: Option<Vec<String>>,
    /// Pooling of per-item frame matrices (directory of `(frames, dim)` or
    /// `(layers, frames, dim)` files); default `mean_std`. Not allowed for
    /// a matrix, which holds one vector per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooling: Option<Pooling>,
}

impl PrecomputedSpec {
    /// Checks that a matrix comes with its ids file.
    pub fn validate(&self, key: &str) -> Result<()> {
        let is_npy = self.path.extension().is_some_and(|e| e == "npy");
        if is_npy && self.ids.is_none() {
            return Err(Error::config(
                format!("{key}.ids"),
                "a .npy matrix needs an ids file (one item id per line, in row order)",
            ));
        }
        if is_npy && self.pooling.is_some() {
            return Err(Error::config(
                format!("{key}.pooling"),
                "a .npy matrix holds one vector per item, so there is nothing to pool; remove `pooling` (it applies to a directory of (frames, dim) files)",
            ));
        }
        if !is_npy && self.ids.is_some() {
            return Err(Error::config(
                format!("{key}.ids"),
                "only a .npy matrix takes an ids file; a directory holds one <id>.npy per item",
            ));
        }
        Ok(())
    }
}

/// Reads a float32 or float64 `.npy` array of any rank as float32.
fn read_any(path: &Path) -> Result<ArrayD<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_any(&bytes, path)
}

/// Parses `.npy` bytes (float32 or float64) as float32; `path` names errors.
fn parse_any(bytes: &[u8], path: &Path) -> Result<ArrayD<f32>> {
    if let Ok(a) = ArrayD::<f32>::read_npy(bytes) {
        return Ok(a);
    }
    ArrayD::<f64>::read_npy(bytes)
        .map(|a| a.mapv(|v| v as f32))
        .map_err(|e| {
            Error::Other(format!(
                "{}: not a float32/float64 .npy array ({e})",
                path.display()
            ))
        })
}

/// Per-layer frame matrices from one item's array.
fn frames_of(a: ArrayD<f32>, path: &Path) -> Result<Vec<Array2<f32>>> {
    match a.ndim() {
        1 => Ok(vec![a
            .insert_axis(Axis(0))
            .into_dimensionality()
            .expect("rank 2")]),
        2 => Ok(vec![a.into_dimensionality().expect("rank 2")]),
        3 => {
            let a: Array3<f32> = a.into_dimensionality().expect("rank 3");
            Ok(a.outer_iter().map(|l| l.to_owned()).collect())
        }
        n => Err(Error::Other(format!(
            "{}: expected (dim,), (frames, dim) or (layers, frames, dim), got rank {n}",
            path.display()
        ))),
    }
}

/// A C-ordered, little-endian float matrix file `(items, layers, dim)`
/// whose rows are read where they lie, so the embeddings are never all in
/// memory at once.
struct RowFile {
    file: File,
    /// Byte offset of the data (after the header).
    offset: u64,
    layers: usize,
    dim: usize,
    /// float64 (converted to float32 on reading) rather than float32.
    wide: bool,
}

impl RowFile {
    /// The layout of `path`, when its data can be read row by row; `None`
    /// for what only a full read handles (Fortran order, big-endian,
    /// unaligned data, other types).
    fn open(path: &Path) -> Result<Option<(RowFile, Vec<usize>)>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the mapping is read only here, to parse the header, and
        // dropped before this function returns; a concurrent writer could
        // at worst make the header unreadable, which is an error.
        let map = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => map,
            Err(_) => return Ok(None),
        };
        let (shape, standard, wide) = if let Ok(v) = ArrayViewD::<f32>::view_npy(&map[..]) {
            (v.shape().to_vec(), v.is_standard_layout(), false)
        } else if let Ok(v) = ArrayViewD::<f64>::view_npy(&map[..]) {
            (v.shape().to_vec(), v.is_standard_layout(), true)
        } else {
            return Ok(None);
        };
        // The data end the file (a view accepts no extra bytes), so they
        // start where the file ends minus their length.
        let data_bytes = shape.iter().product::<usize>() * if wide { 8 } else { 4 };
        let Some(offset) = map.len().checked_sub(data_bytes) else {
            return Ok(None);
        };
        let offset = offset as u64;
        if !standard || !matches!(shape.len(), 2 | 3) {
            return Ok(None);
        }
        let (layers, dim) = match shape[..] {
            [_, dim] => (1, dim),
            [_, layers, dim] => (layers, dim),
            _ => unreachable!("rank checked above"),
        };
        let rows = RowFile {
            file,
            offset,
            layers,
            dim,
            wide,
        };
        Ok(Some((rows, shape)))
    }

    /// Row `row`'s vectors, one per layer.
    fn read(&self, row: usize, path: &Path) -> Result<Vec<Array1<f32>>> {
        let width = if self.wide { 8 } else { 4 };
        let row_bytes = self.layers * self.dim * width;
        let mut bytes = vec![0u8; row_bytes];
        read_at(
            &self.file,
            &mut bytes,
            self.offset + (row * row_bytes) as u64,
        )
        .map_err(|e| Error::io(path, e))?;
        let values: Vec<f32> = if self.wide {
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect()
        } else {
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect()
        };
        Ok(values
            .chunks_exact(self.dim.max(1))
            .take(self.layers)
            .map(|v| Array1::from(v.to_vec()))
            .collect())
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

enum Source {
    /// id → row of a matrix file read row by row.
    Rows(RowFile, HashMap<String, usize>),
    /// id → per-layer rows of the matrix (files [`RowFile`] cannot read).
    Matrix(HashMap<String, Vec<Array1<f32>>>),
    /// Directory of `<id>.npy`.
    Directory(PathBuf),
}

/// The `precomputed` encoder.
pub struct Precomputed {
    spec: PrecomputedSpec,
    source: Source,
    layers: Vec<String>,
    fingerprint: String,
    /// True when every item is one vector per layer (a matrix, or `(dim,)`
    /// files): nothing is pooled.
    pooled_input: bool,
}

impl Precomputed {
    /// Opens the embeddings (paths relative to `base_dir`) and hashes them,
    /// so replacing a file invalidates the cache.
    pub fn open(spec: PrecomputedSpec, base_dir: &Path) -> Result<Self> {
        let path = base_dir.join(&spec.path);
        let mut hash = blake3::Hasher::new();
        let fail = |reason: String| Error::Encoder {
            encoder: spec.name.clone(),
            reason,
        };
        let (source, n_layers, pooled_input) = if let Some(ids_rel) = &spec.ids {
            let ids_path = base_dir.join(ids_rel);
            let ids_text =
                std::fs::read_to_string(&ids_path).map_err(|e| Error::io(&ids_path, e))?;
            let ids: Vec<&str> = ids_text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            hash.update(ids_text.as_bytes());
            if let Some((rows, shape)) = RowFile::open(&path)? {
                // Hashed as a stream through the handle rows are read
                // from (positioned reads ignore its cursor): the matrix is
                // never in memory whole.
                hash.update_reader(&rows.file)
                    .map_err(|e| Error::io(&path, e))?;
                if shape[0] != ids.len() {
                    return Err(fail(format!(
                        "{} has {} rows but {} lists {} ids",
                        path.display(),
                        shape[0],
                        ids_path.display(),
                        ids.len()
                    )));
                }
                let mut index = HashMap::with_capacity(ids.len());
                for (row, id) in ids.iter().enumerate() {
                    if index.insert((*id).to_owned(), row).is_some() {
                        return Err(fail(format!(
                            "{} lists id \"{id}\" twice",
                            ids_path.display()
                        )));
                    }
                }
                let layers = rows.layers;
                (Source::Rows(rows, index), layers, true)
            } else {
                // Read once: the same bytes are parsed and hashed.
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                let array = parse_any(&bytes, &path)?;
                hash.update(&bytes);
                let layered: Array3<f32> = match array.ndim() {
                    2 => array
                        .insert_axis(Axis(1))
                        .into_dimensionality()
                        .expect("rank 3"),
                    3 => array.into_dimensionality().expect("rank 3"),
                    n => {
                        return Err(fail(format!(
                            "{}: expected (items, dim) or (items, layers, dim), got rank {n}",
                            path.display()
                        )))
                    }
                };
                if layered.shape()[0] != ids.len() {
                    return Err(fail(format!(
                        "{} has {} rows but {} lists {} ids",
                        path.display(),
                        layered.shape()[0],
                        ids_path.display(),
                        ids.len()
                    )));
                }
                let mut map = HashMap::with_capacity(ids.len());
                for (id, row) in ids.iter().zip(layered.outer_iter()) {
                    if map
                        .insert(
                            (*id).to_owned(),
                            row.outer_iter().map(|l| l.to_owned()).collect(),
                        )
                        .is_some()
                    {
                        return Err(fail(format!(
                            "{} lists id \"{id}\" twice",
                            ids_path.display()
                        )));
                    }
                }
                (Source::Matrix(map), layered.shape()[1], true)
            }
        } else {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| Error::io(&path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "npy"))
                .collect();
            files.sort();
            let first = files
                .first()
                .ok_or_else(|| fail(format!("{} holds no .npy files", path.display())))?;
            let first_array = read_any(first)?;
            let pooled_input = first_array.ndim() == 1;
            if pooled_input && spec.pooling.is_some() {
                return Err(fail(format!(
                    "{} is one (dim,) vector per item, so there is nothing to pool; remove `pooling`",
                    path.display()
                )));
            }
            let n_layers = frames_of(first_array, first)?.len();
            for f in &files {
                hash.update(
                    f.file_name()
                        .map(|n| n.as_encoded_bytes())
                        .unwrap_or_default(),
                );
                hash.update(&std::fs::read(f).map_err(|e| Error::io(f, e))?);
            }
            (Source::Directory(path.clone()), n_layers, pooled_input)
        };
        let layers = match &spec.layer_names {
            Some(names) if names.len() != n_layers => {
                return Err(fail(format!(
                    "layer_names lists {} names but the embeddings have {n_layers} layers",
                    names.len()
                )))
            }
            Some(names) => names.clone(),
            None => (0..n_layers).map(|i| i.to_string()).collect(),
        };
        let pool = if pooled_input {
            "none"
        } else {
            spec.pooling.unwrap_or_default().as_str()
        };
        let fingerprint = format!(
            "precomputed/v{IMPL_VERSION};data={};layers={layers:?};pool={pool}",
            hash.finalize().to_hex(),
        );
        Ok(Precomputed {
            spec,
            source,
            layers,
            fingerprint,
            pooled_input,
        })
    }
}

impl Encoder for Precomputed {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn sample_rate(&self) -> u32 {
        0
    }
    fn layers(&self) -> Vec<String> {
        self.layers.clone()
    }
    fn encode(&self, _audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        Err(Error::Encoder {
            encoder: self.spec.name.clone(),
            reason: "precomputed embeddings are looked up by item id, not computed from audio"
                .into(),
        })
    }
    fn lookup(&self, item_id: &str) -> Option<Result<Vec<Array2<f32>>>> {
        let missing = |place: &Path| Error::Encoder {
            encoder: self.spec.name.clone(),
            reason: format!("no embedding for item \"{item_id}\" in {}", place.display()),
        };
        Some(match &self.source {
            Source::Rows(rows, index) => match index.get(item_id) {
                Some(&row) => rows.read(row, &self.spec.path).map(|vectors| {
                    vectors
                        .into_iter()
                        .map(|v| v.insert_axis(Axis(0)))
                        .collect()
                }),
                None => Err(missing(&self.spec.path)),
            },
            Source::Matrix(map) => map
                .get(item_id)
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.clone().insert_axis(Axis(0)))
                        .collect()
                })
                .ok_or_else(|| missing(&self.spec.path)),
            Source::Directory(dir) => {
                let file = dir.join(format!("{item_id}.npy"));
                if file.exists() {
                    read_any(&file).and_then(|a| {
                        if (a.ndim() == 1) != self.pooled_input {
                            return Err(Error::Encoder {
                                encoder: self.spec.name.clone(),
                                reason: format!(
                                    "{} is rank {} but the directory's first file is {}: use (dim,) vectors for every item, or frames for every item",
                                    file.display(),
                                    a.ndim(),
                                    if self.pooled_input { "a (dim,) vector" } else { "frames" }
                                ),
                            });
                        }
                        frames_of(a, &file)
                    })
                } else {
                    Err(missing(dir))
                }
            }
        })
    }
    /// One vector per item is passed through (the mean of one frame is
    /// that frame); frames are pooled as configured.
    fn pooling(&self) -> Pooling {
        if self.pooled_input {
            Pooling::Mean
        } else {
            self.spec.pooling.unwrap_or_default()
        }
    }
    fn duration_s(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, ShapeBuilder};
    use ndarray_npy::write_npy;

    fn spec(path: &str, ids: Option<&str>) -> PrecomputedSpec {
        PrecomputedSpec {
            name: "ext".into(),
            path: path.into(),
            ids: ids.map(Into::into),
            layer_names: None,
            pooling: None,
        }
    }

    #[test]
    fn matrix_with_ids_joins_by_id_and_names_missing_ids() {
        let dir = tempfile::tempdir().unwrap();
        write_npy(
            dir.path().join("e.npy"),
            &array![[[1.0f64, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]],
        )
        .unwrap();
        std::fs::write(dir.path().join("ids.txt"), "b\na\n").unwrap();
        let enc = Precomputed::open(spec("e.npy", Some("ids.txt")), dir.path()).unwrap();
        assert_eq!(enc.layers(), vec!["0", "1"]);
        let a = enc.lookup("a").unwrap().unwrap();
        assert_eq!(a[1], array![[7.0f32, 8.0]]);
        let err = enc.lookup("zz").unwrap().unwrap_err().to_string();
        assert!(err.contains("\"zz\"") && err.contains("e.npy"), "{err}");
    }

    #[test]
    fn directory_of_items_and_fingerprint_follows_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("emb")).unwrap();
        write_npy(
            dir.path().join("emb/x.npy"),
            &array![[1.0f32, 0.0], [3.0, 2.0]],
        )
        .unwrap();
        let enc = Precomputed::open(spec("emb", None), dir.path()).unwrap();
        assert_eq!(enc.lookup("x").unwrap().unwrap()[0].nrows(), 2);
        let before = enc.fingerprint();
        write_npy(
            dir.path().join("emb/x.npy"),
            &array![[1.0f32, 0.5], [3.0, 2.0]],
        )
        .unwrap();
        assert_ne!(
            Precomputed::open(spec("emb", None), dir.path())
                .unwrap()
                .fingerprint(),
            before
        );
        assert!(spec("e.npy", None).validate("encoders[0]").is_err());
    }

    /// A C-ordered matrix is read row by row where it lies; a Fortran-ordered
    /// one (which has no contiguous rows) is read whole. Both give the same
    /// vectors, and the fingerprint hashes the ids and every byte of the
    /// file either way.
    #[test]
    fn row_reads_and_whole_reads_agree() {
        let dir = tempfile::tempdir().unwrap();
        let m = array![[1.5f32, -2.0, 0.25], [3.0, 4.0, 5.0], [6.0, 7.0, 8.5]];
        write_npy(dir.path().join("c.npy"), &m).unwrap();
        let mut fortran = Array2::<f32>::zeros(m.dim().f());
        fortran.assign(&m);
        write_npy(dir.path().join("f.npy"), &fortran).unwrap();
        write_npy(dir.path().join("w.npy"), &m.mapv(f64::from)).unwrap();
        std::fs::write(dir.path().join("ids.txt"), "x\ny\nz\n").unwrap();
        let open = |f: &str| Precomputed::open(spec(f, Some("ids.txt")), dir.path()).unwrap();
        let (c, f, w) = (open("c.npy"), open("f.npy"), open("w.npy"));
        assert!(matches!(c.source, Source::Rows(..)) && matches!(w.source, Source::Rows(..)));
        assert!(
            matches!(f.source, Source::Matrix(..)),
            "Fortran order is read whole"
        );
        for (row, id) in ["x", "y", "z"].iter().enumerate() {
            for enc in [&c, &f, &w] {
                let got = enc.lookup(id).unwrap().unwrap();
                assert_eq!(got[0].row(0), m.row(row), "{id}");
            }
        }
        let mut expected = blake3::Hasher::new();
        expected.update(b"x\ny\nz\n");
        expected.update(&std::fs::read(dir.path().join("c.npy")).unwrap());
        assert!(c
            .fingerprint()
            .contains(&expected.finalize().to_hex().to_string()));
        let err = Precomputed::open(spec("c.npy", Some("ids2.txt")), dir.path());
        assert!(err.is_err());
        std::fs::write(dir.path().join("ids2.txt"), "x\ny\n").unwrap();
        let err = Precomputed::open(spec("c.npy", Some("ids2.txt")), dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("3 rows") && err.contains("2 ids"), "{err}");
        // An empty matrix is a clear error, not a panic.
        write_npy(dir.path().join("e.npy"), &Array2::<f32>::zeros((0, 3))).unwrap();
        std::fs::write(dir.path().join("none.txt"), "").unwrap();
        let empty = Precomputed::open(spec("e.npy", Some("none.txt")), dir.path()).unwrap();
        assert!(empty.lookup("x").unwrap().is_err());
    }

    /// A matrix row and a `(dim,)` file are one vector per item: they reach
    /// the cache as they are, not with `dim` zero std columns appended.
    #[test]
    fn one_vector_per_item_is_not_pooled() {
        let dir = tempfile::tempdir().unwrap();
        write_npy(dir.path().join("e.npy"), &array![[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
        std::fs::write(dir.path().join("ids.txt"), "a\nb\n").unwrap();
        let enc = Precomputed::open(spec("e.npy", Some("ids.txt")), dir.path()).unwrap();
        let frames = &enc.lookup("b").unwrap().unwrap()[0];
        assert_eq!(enc.pooling().pool(frames.view()), array![3.0f32, 4.0]);
        assert!(enc.fingerprint().contains("pool=none"));
        let mut pooled = spec("e.npy", Some("ids.txt"));
        pooled.pooling = Some(Pooling::MeanStd);
        let err = pooled.validate("encoders[0]").unwrap_err().to_string();
        assert!(err.contains("encoders[0].pooling"), "{err}");

        std::fs::create_dir(dir.path().join("vecs")).unwrap();
        write_npy(dir.path().join("vecs/a.npy"), &array![1.0f32, 2.0, 3.0]).unwrap();
        write_npy(dir.path().join("vecs/b.npy"), &array![[1.0f32, 2.0, 3.0]]).unwrap();
        let enc = Precomputed::open(spec("vecs", None), dir.path()).unwrap();
        let a = &enc.lookup("a").unwrap().unwrap()[0];
        assert_eq!(enc.pooling().pool(a.view()).len(), 3);
        let err = enc.lookup("b").unwrap().unwrap_err().to_string();
        assert!(err.contains("b.npy") && err.contains("rank 2"), "{err}");
    }
}
