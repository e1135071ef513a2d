//! Content-addressed, checksummed cache of embeddings and evaluation results.
//!
//! A key is a blake3 hash over named fields ([`KeyBuilder`]): the encoder
//! fingerprint, every item's content key, pooling, cropping, repbench's
//! cache format version. An entry is found by key only, never by a name or
//! position, so a changed option can never serve stale data.
//!
//! Layout under the cache root:
//!
//! ```text
//! emb/ab/abcdef…/entry.json     manifest: ids, layers, shapes, blake3 of each file
//! emb/ab/abcdef…/ids.txt        one item id per line, row order of the matrices
//! emb/ab/abcdef…/layer_0.npy    (items, dim) float32, readable with numpy.load
//! results/ab/abcdef….json       first line blake3 of the rest, then JSON
//! tmp/                          entries being written
//! ```
//!
//! Writes go to `tmp/` and are renamed into place, so a reader sees a whole
//! entry or none. A read re-hashes every file; an entry whose checksum does
//! not match is reported as [`Lookup::Corrupt`] and recomputed, never used.

use crate::fsutil::{is_temp_sibling, read, temp_sibling, write_atomic};
use crate::{Error, Result};
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bumped when the on-disk layout changes.
const FORMAT: u32 = 1;

/// Builds a cache key from named, length-prefixed fields.
pub struct KeyBuilder(blake3::Hasher);

impl KeyBuilder {
    /// Starts a key for one kind of entry (`"embeddings"`, `"result"`).
    pub fn new(kind: &str) -> Self {
        let mut k = KeyBuilder(blake3::Hasher::new());
        k.field("repbench-cache-format", &FORMAT.to_string());
        k.field("kind", kind);
        k
    }

    /// Adds `name = value`.
    pub fn field(&mut self, name: &str, value: &str) -> &mut Self {
        for part in [name, value] {
            self.0.update(&(part.len() as u64).to_le_bytes());
            self.0.update(part.as_bytes());
        }
        self
    }

    /// The key as 64 hex digits.
    pub fn finish(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

/// One named layer of a shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Layer name as the encoder reports it.
    pub name: String,
    /// `(items, dim)` pooled embeddings.
    pub matrix: Array2<f32>,
}

/// Embeddings of one (dataset, encoder) pair, all layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    /// Item ids, in row order.
    pub ids: Vec<String>,
    /// One matrix per layer.
    pub layers: Vec<Layer>,
}

impl Shard {
    /// Each layer's name and shape.
    pub fn shapes(&self) -> Vec<LayerShape> {
        self.layers
            .iter()
            .map(|l| LayerShape {
                name: l.name.clone(),
                rows: l.matrix.nrows(),
                cols: l.matrix.ncols(),
            })
            .collect()
    }
}

/// A stored layer's name and shape, as its entry's manifest gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// Layer name as the encoder reports it.
    pub name: String,
    /// Items.
    pub rows: usize,
    /// Dimensions.
    pub cols: usize,
}

/// A layer as an entry's manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    /// Name and shape.
    pub shape: LayerShape,
    /// blake3 of its file.
    pub blake3: String,
}

fn stored_layers(manifest: &EntryManifest) -> Vec<StoredLayer> {
    manifest
        .layers
        .iter()
        .map(|l| StoredLayer {
            shape: LayerShape {
                name: l.name.clone(),
                rows: l.rows,
                cols: l.cols,
            },
            blake3: l.blake3.clone(),
        })
        .collect()
}

/// The outcome of a cache read.
#[derive(Debug)]
pub enum Lookup<T> {
    /// A complete entry whose checksums match.
    Hit(T),
    /// No entry under this key.
    Miss,
    /// An entry exists but cannot be trusted; the reason says why.
    Corrupt(String),
}

#[derive(Serialize, Deserialize)]
struct LayerEntry {
    name: String,
    file: String,
    rows: usize,
    cols: usize,
    blake3: String,
}

#[derive(Serialize, Deserialize)]
struct EntryManifest {
    format: u32,
    key: String,
    ids_blake3: String,
    layers: Vec<LayerEntry>,
    /// Free-form provenance (encoder fingerprint, dataset name).
    about: serde_json::Value,
}

/// A cache rooted at one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// Removes a damaged entry at `path`, a directory or a file. One already
/// gone (another process removed or moved it meanwhile) is not an error.
fn remove_any(path: &Path) -> Result<()> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// The item ids of the entry in `dir`, checked against the manifest's
/// checksum and every layer's row count. The error says what is wrong.
fn read_ids(dir: &Path, manifest: &EntryManifest) -> std::result::Result<Vec<String>, String> {
    let Ok(bytes) = std::fs::read(dir.join("ids.txt")) else {
        return Err("ids.txt is missing".into());
    };
    if hash_hex(&bytes) != manifest.ids_blake3 {
        return Err("ids.txt checksum mismatch".into());
    }
    // Ids are never empty, so an empty line is the lone newline of an
    // empty shard, not an item.
    let ids: Vec<String> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    match manifest.layers.iter().find(|l| l.rows != ids.len()) {
        Some(layer) => Err(format!("{} has the wrong shape", layer.file)),
        None => Ok(ids),
    }
}

/// A layer file of the entry in `dir`, opened to be read through the hash.
fn open_layer(
    dir: &Path,
    entry: &LayerEntry,
) -> std::result::Result<Hashing<std::io::BufReader<std::fs::File>>, String> {
    let file = std::fs::File::open(dir.join(&entry.file))
        .map_err(|_| format!("{} is missing", entry.file))?;
    Ok(Hashing::new(std::io::BufReader::with_capacity(
        1 << 20,
        file,
    )))
}

/// Hashes what is left of a layer file and checks the whole against the
/// manifest's checksum.
fn hash_rest(
    reader: &mut Hashing<std::io::BufReader<std::fs::File>>,
    entry: &LayerEntry,
) -> std::result::Result<(), String> {
    if std::io::copy(reader, &mut std::io::sink()).is_err() || reader.hex() != entry.blake3 {
        return Err(format!(
            "{} checksum mismatch (truncated or modified)",
            entry.file
        ));
    }
    Ok(())
}

/// Reads one layer file of the entry in `dir`, parsed and hashed in one
/// pass, so the matrix is in memory once and its bytes never; it is
/// returned only if the hash of every byte of the file matches and its
/// shape is the manifest's. The error says what is wrong with it.
fn read_layer(dir: &Path, entry: &LayerEntry) -> std::result::Result<Array2<f32>, String> {
    let mut reader = open_layer(dir, entry)?;
    let parsed = Array2::<f32>::read_npy(&mut reader);
    hash_rest(&mut reader, entry)?;
    let matrix = parsed.map_err(|e| format!("{} is not a float32 matrix ({e})", entry.file))?;
    if matrix.dim() != (entry.rows, entry.cols) {
        return Err(format!("{} has the wrong shape", entry.file));
    }
    Ok(matrix)
}

/// What a new embedding entry holds, apart from its matrices.
struct NewEntry<'a> {
    key: &'a str,
    ids: &'a [String],
    layers: &'a [LayerShape],
    about: &'a serde_json::Value,
}

/// Writes an entry's files into `dir`: ids, each layer streamed from
/// `fill`, and the manifest last (an entry without one is never trusted).
fn write_entry_files(
    dir: &Path,
    entry: &NewEntry<'_>,
    fill: &mut dyn FnMut(usize, &mut LayerSink) -> Result<()>,
) -> Result<()> {
    let mut ids_text = entry.ids.join("\n");
    ids_text.push('\n');
    write_atomic(&dir.join("ids.txt"), ids_text.as_bytes())?;
    let mut layers = Vec::new();
    for (i, shape) in entry.layers.iter().enumerate() {
        let file = format!("layer_{i}.npy");
        // Streamed into the staging directory (renamed into place as a
        // whole), hashed on the way: no copy of the matrix's bytes.
        let path = dir.join(&file);
        let out = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut sink = LayerSink {
            writer: Hashing::new(std::io::BufWriter::with_capacity(1 << 20, out)),
            path: path.clone(),
            shape: shape.clone(),
            rows: 0,
            row_bytes: Vec::new(),
        };
        sink.write(&npy_header(shape.rows, shape.cols))?;
        fill(i, &mut sink)?;
        if sink.rows != shape.rows {
            return Err(Error::Other(format!(
                "{}: layer {} got {} rows, {} declared",
                path.display(),
                shape.name,
                sink.rows,
                shape.rows
            )));
        }
        let blake3 = sink.writer.hex();
        let out = sink
            .writer
            .inner
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        out.sync_all().map_err(|e| Error::io(&path, e))?;
        layers.push(LayerEntry {
            name: shape.name.clone(),
            file,
            rows: shape.rows,
            cols: shape.cols,
            blake3,
        });
    }
    let manifest = EntryManifest {
        format: FORMAT,
        key: entry.key.to_owned(),
        ids_blake3: hash_hex(ids_text.as_bytes()),
        layers,
        about: entry.about.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    write_atomic(&dir.join("entry.json"), &json)
}

/// Where one layer's rows go while a shard is stored: a `.npy` file,
/// through the hash its manifest records.
pub struct LayerSink {
    writer: Hashing<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
    shape: LayerShape,
    rows: usize,
    /// One row's bytes, reused.
    row_bytes: Vec<u8>,
}

impl LayerSink {
    /// Appends `block`'s rows; its columns must be the layer's, and the
    /// rows so far must not exceed the layer's.
    pub fn rows(&mut self, block: ndarray::ArrayView2<'_, f32>) -> Result<()> {
        if block.ncols() != self.shape.cols || self.rows + block.nrows() > self.shape.rows {
            return Err(Error::Other(format!(
                "{}: layer {} is {} × {}; a block of {} × {} after {} rows does not fit it",
                self.path.display(),
                self.shape.name,
                self.shape.rows,
                self.shape.cols,
                block.nrows(),
                block.ncols(),
                self.rows
            )));
        }
        for row in block.rows() {
            self.row_bytes.clear();
            for v in row {
                self.row_bytes.extend_from_slice(&v.to_le_bytes());
            }
            let bytes = std::mem::take(&mut self.row_bytes);
            let written = self.write(&bytes);
            self.row_bytes = bytes;
            written?;
        }
        self.rows += block.nrows();
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        self.writer
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// The `.npy` (version 1.0) header of a C-ordered little-endian float32
/// matrix of `rows × cols`, padded to 64 bytes as numpy and ndarray-npy
/// write it (NEP 1, "A Simple File Format for NumPy Arrays"): the file is
/// readable with `numpy.load`, and a test checks it byte for byte against
/// `ndarray_npy::write_npy`.
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols})}}");
    // Magic, version and the 2-byte header length, then the dict, spaces
    // and a newline to a multiple of 64.
    let prefix = 6 + 2 + 2;
    let unpadded = prefix + dict.len() + 1;
    // Always some padding, as ndarray-npy writes it.
    let total = unpadded + (64 - unpadded % 64);
    let header_len = u16::try_from(total - prefix).expect("a 2-d shape fits a v1.0 header");
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A reader or writer that hashes every byte passing through it.
struct Hashing<T> {
    inner: T,
    hasher: blake3::Hasher,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
        }
    }

    /// The hash of the bytes so far, as [`hash_hex`] gives it.
    fn hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Cache {
    /// A cache under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Cache { root: root.into() }
    }

    /// Whether the root looks like a repbench cache: a directory holding
    /// nothing but its `emb/`, `results/` and `tmp/` directories (or empty).
    /// `cache` commands refuse any other directory rather than report on
    /// (or clean) something that is not a cache.
    pub fn looks_like_cache(&self) -> bool {
        let Ok(children) = std::fs::read_dir(&self.root) else {
            return false;
        };
        children.flatten().all(|c| {
            c.path().is_dir() && matches!(c.file_name().to_str(), Some("emb" | "results" | "tmp"))
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory of the embedding entry for `key`.
    pub fn embedding_dir(&self, key: &str) -> PathBuf {
        self.root.join("emb").join(&key[..2]).join(key)
    }

    fn result_path(&self, key: &str) -> PathBuf {
        self.root
            .join("results")
            .join(&key[..2])
            .join(format!("{key}.json"))
    }

    /// Whether an embedding entry is stored under `key`: its manifest is
    /// there and names the key. Its data are not read or verified, so this
    /// only decides what work to skip (a shard process leaving an entry to
    /// another); whatever reads an entry uses [`Cache::load_shard`], which
    /// verifies every checksum.
    pub fn has_entry(&self, key: &str) -> bool {
        let manifest = self.embedding_dir(key).join("entry.json");
        std::fs::read(manifest)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<EntryManifest>(&bytes).ok())
            .is_some_and(|m| m.format == FORMAT && m.key == key)
    }

    /// Reads and verifies the shard stored under `key`.
    pub fn load_shard(&self, key: &str) -> Result<Lookup<Shard>> {
        let (dir, manifest) = match self.read_manifest(key) {
            Lookup::Hit(found) => found,
            Lookup::Miss => return Ok(Lookup::Miss),
            Lookup::Corrupt(why) => return Ok(Lookup::Corrupt(why)),
        };
        let corrupt = |why: String| Ok(Lookup::Corrupt(format!("{}: {why}", dir.display())));
        let ids = match read_ids(&dir, &manifest) {
            Ok(ids) => ids,
            Err(why) => return corrupt(why),
        };
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for entry in &manifest.layers {
            match read_layer(&dir, entry) {
                Ok(matrix) => layers.push(Layer {
                    name: entry.name.clone(),
                    matrix,
                }),
                Err(why) => return corrupt(why),
            }
        }
        Ok(Lookup::Hit(Shard { ids, layers }))
    }

    /// The layers stored under `key` (names, shapes, checksums) from its
    /// manifest alone: no data are read or verified; what reads a layer
    /// uses [`Cache::load_layer`], which checks it against the checksum.
    pub fn stored_layers(&self, key: &str) -> Result<Lookup<Vec<StoredLayer>>> {
        Ok(match self.read_manifest(key) {
            Lookup::Hit((_, manifest)) => Lookup::Hit(stored_layers(&manifest)),
            Lookup::Miss => Lookup::Miss,
            Lookup::Corrupt(why) => Lookup::Corrupt(why),
        })
    }

    /// Verifies the shard stored under `key` as [`Cache::load_shard`] does
    /// (ids, every layer file against its checksum) without holding it:
    /// each file is streamed through the hash. Returns its layers.
    pub fn verify_shard(&self, key: &str) -> Result<Lookup<Vec<StoredLayer>>> {
        let (dir, manifest) = match self.read_manifest(key) {
            Lookup::Hit(found) => found,
            Lookup::Miss => return Ok(Lookup::Miss),
            Lookup::Corrupt(why) => return Ok(Lookup::Corrupt(why)),
        };
        let checked = read_ids(&dir, &manifest).and_then(|_| {
            manifest.layers.iter().try_for_each(|entry| {
                let mut reader = open_layer(&dir, entry)?;
                hash_rest(&mut reader, entry)
            })
        });
        if let Err(why) = checked {
            return Ok(Lookup::Corrupt(format!("{}: {why}", dir.display())));
        }
        Ok(Lookup::Hit(stored_layers(&manifest)))
    }

    /// Reads and verifies one layer of the shard stored under `key`: the
    /// matrix is used only if its file's checksum matches the manifest and
    /// the manifest's is `blake3` (the one verified earlier), so an
    /// evaluation can hold one layer of a shard instead of all of them and
    /// still reads the very bytes the run verified.
    pub fn load_layer(&self, key: &str, layer: usize, blake3: &str) -> Result<Lookup<Array2<f32>>> {
        let (dir, manifest) = match self.read_manifest(key) {
            Lookup::Hit(found) => found,
            Lookup::Miss => return Ok(Lookup::Miss),
            Lookup::Corrupt(why) => return Ok(Lookup::Corrupt(why)),
        };
        let Some(entry) = manifest.layers.get(layer) else {
            return Ok(Lookup::Corrupt(format!(
                "{}: has {} layers, layer {layer} was asked for",
                dir.display(),
                manifest.layers.len()
            )));
        };
        if entry.blake3 != blake3 {
            return Ok(Lookup::Corrupt(format!(
                "{}: {} was rewritten since this run verified it",
                dir.display(),
                entry.file
            )));
        }
        Ok(match read_layer(&dir, entry) {
            Ok(matrix) => Lookup::Hit(matrix),
            Err(why) => Lookup::Corrupt(format!("{}: {why}", dir.display())),
        })
    }

    /// The entry directory under `key` and its manifest, checked to belong
    /// to the key and this format.
    fn read_manifest(&self, key: &str) -> Lookup<(PathBuf, EntryManifest)> {
        let dir = self.embedding_dir(key);
        if !dir.exists() {
            return Lookup::Miss;
        }
        let corrupt = |why: &str| Lookup::Corrupt(format!("{}: {why}", dir.display()));
        if !dir.is_dir() {
            return corrupt("is a file where an entry directory belongs");
        }
        let Ok(bytes) = std::fs::read(dir.join("entry.json")) else {
            return corrupt("entry.json is missing");
        };
        let manifest: EntryManifest = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => return corrupt(&format!("entry.json is unreadable ({e})")),
        };
        if manifest.format != FORMAT || manifest.key != key {
            return corrupt("entry.json belongs to another key or format");
        }
        Lookup::Hit((dir, manifest))
    }

    /// Stores `shard` under `key` atomically (any corrupt entry there is
    /// replaced). `about` is provenance written into the manifest.
    pub fn store_shard(&self, key: &str, shard: &Shard, about: serde_json::Value) -> Result<()> {
        self.store_shard_streamed(
            key,
            &shard.ids,
            &shard.shapes(),
            about,
            &mut |layer, sink| sink.rows(shard.layers[layer].matrix.view()),
        )
    }

    /// Stores a shard under `key` atomically without holding it: for each
    /// layer, `fill(layer, sink)` passes its rows to the sink in order, in
    /// blocks of any size, and they are streamed to disk through the hash.
    /// A layer that does not get exactly the rows and columns `layers`
    /// declares is an error, and nothing is stored.
    pub fn store_shard_streamed(
        &self,
        key: &str,
        ids: &[String],
        layers: &[LayerShape],
        about: serde_json::Value,
        fill: &mut dyn FnMut(usize, &mut LayerSink) -> Result<()>,
    ) -> Result<()> {
        let entry = NewEntry {
            key,
            ids,
            layers,
            about: &about,
        };
        match self.store_shard_once(&entry, fill) {
            // Another process (a `cache gc` from an older repbench, a user
            // clearing tmp/) removed the staging entry mid-write: once more.
            Err(_) if !matches!(self.verify_shard(key), Ok(Lookup::Hit(_))) => {
                self.store_shard_once(&entry, fill)
            }
            done => done,
        }
    }

    /// Removes the embedding entry under `key`, if any. The entry is first
    /// renamed into `tmp/`, so a concurrent reader sees it whole or not at
    /// all.
    pub fn remove_shard(&self, key: &str) -> Result<()> {
        let dir = self.embedding_dir(key);
        let tmp_root = self.root.join("tmp");
        std::fs::create_dir_all(&tmp_root).map_err(|e| Error::io(&tmp_root, e))?;
        let doomed = temp_sibling(&tmp_root.join(key));
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => std::fs::remove_dir_all(&doomed).map_err(|e| Error::io(&doomed, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&dir, e)),
        }
    }

    fn store_shard_once(
        &self,
        entry: &NewEntry<'_>,
        fill: &mut dyn FnMut(usize, &mut LayerSink) -> Result<()>,
    ) -> Result<()> {
        let key = entry.key;
        let tmp_root = self.root.join("tmp");
        let staging = temp_sibling(&tmp_root.join(key));
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        let written = write_entry_files(&staging, entry, fill);
        let finished = written.and_then(|()| {
            let dest = self.embedding_dir(key);
            let parent = dest.parent().expect("entry dirs have a parent");
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            if dest.exists() {
                // Only corrupt entries are overwritten; a valid one written
                // meanwhile by another process is equally good.
                if let Ok(Lookup::Hit(_)) = self.verify_shard(key) {
                    return Ok(());
                }
                remove_any(&dest)?;
            }
            match std::fs::rename(&staging, &dest) {
                Ok(()) => Ok(()),
                Err(_) if matches!(self.verify_shard(key), Ok(Lookup::Hit(_))) => Ok(()),
                Err(e) => Err(Error::io(&dest, e)),
            }
        });
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        finished
    }

    /// Reads a checksummed JSON value stored under `key`.
    pub fn load_value<T: DeserializeOwned>(&self, key: &str) -> Result<Lookup<T>> {
        let path = self.result_path(key);
        if !path.exists() {
            return Ok(Lookup::Miss);
        }
        if path.is_dir() {
            return Ok(Lookup::Corrupt(format!(
                "{}: is a directory where an entry file belongs",
                path.display()
            )));
        }
        let bytes = read(&path)?;
        let text = String::from_utf8_lossy(&bytes);
        let Some((sum, payload)) = text.split_once('\n') else {
            return Ok(Lookup::Corrupt(format!(
                "{}: no checksum line",
                path.display()
            )));
        };
        if hash_hex(payload.as_bytes()) != sum {
            return Ok(Lookup::Corrupt(format!(
                "{}: checksum mismatch",
                path.display()
            )));
        }
        match serde_json::from_str(payload) {
            Ok(v) => Ok(Lookup::Hit(v)),
            Err(e) => Ok(Lookup::Corrupt(format!("{}: {e}", path.display()))),
        }
    }

    /// Stores a JSON value under `key` with its checksum, atomically.
    pub fn store_value<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let payload = serde_json::to_string(value).expect("cache values serialise");
        let text = format!("{}\n{payload}", hash_hex(payload.as_bytes()));
        let path = self.result_path(key);
        if path.is_dir() {
            remove_any(&path)?;
        }
        write_atomic(&path, text.as_bytes())
    }
}

/// One cache entry as found on disk, with the outcome of verifying it.
#[derive(Debug, Clone, Serialize)]
pub struct EntryInfo {
    /// `embeddings` or `value` (evaluations, comparisons).
    pub kind: &'static str,
    /// The entry's key.
    pub key: String,
    /// Bytes on disk.
    pub bytes: u64,
    /// Provenance (dataset, encoder, fingerprint) for embeddings.
    pub about: serde_json::Value,
    /// `None` when every checksum matches, else why it cannot be trusted.
    pub problem: Option<String>,
    /// Where it is on disk.
    #[serde(skip)]
    pub path: PathBuf,
}

/// Whether `name` is a cache key: 64 lowercase hex digits. Nothing else in
/// a cache directory is listed, verified or removed by `cache` commands.
fn is_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `name` is a staging entry or temporary file repbench made for a
/// key ([`temp_sibling`]: `.KEY[.json].PID.N.tmp`).
fn is_key_temp(name: &str) -> bool {
    is_temp_sibling(name) && name.get(1..65).is_some_and(is_key)
}

/// What [`Cache::gc`] removed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GcReport {
    /// Corrupt entries removed.
    pub corrupt_removed: Vec<String>,
    /// Leftover staging directories/files of interrupted writes removed.
    pub staging_removed: usize,
    /// Staging entries left alone: their writer is running, or they are
    /// recent enough that a writer elsewhere may still be.
    pub staging_kept: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
}

/// How long [`Cache::gc`] leaves a staging entry whose owner it cannot
/// see running (a writer on another machine sharing the cache).
pub const STAGING_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether the process named in a staging entry (`.KEY.PID.N.tmp`, see
/// [`temp_sibling`]) is running on this machine (Linux: `/proc/PID`).
fn staging_owner_alive(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (Some("tmp"), Some(_n), Some(pid)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    pid.parse::<u32>()
        .is_ok_and(|pid| Path::new("/proc").join(pid.to_string()).exists())
}

fn disk_size(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .map(|e| disk_size(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The key of the entry at `<kind>/<ab>/<KEY><suffix>`, if `path` is one:
/// a key whose first two digits name its parent directory.
fn key_at(path: &Path, suffix: &str) -> Option<String> {
    let name = path.file_name()?.to_str()?.strip_suffix(suffix)?;
    let parent = path.parent()?.file_name()?.to_str()?;
    (is_key(name) && name[..2] == *parent).then(|| name.to_owned())
}

/// Entries two levels down (`<kind>/<ab>/<entry>`), sorted by path.
fn two_level_children(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard_dir in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(shard_dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}

impl Cache {
    /// Every entry, verified (checksums re-hashed).
    pub fn entries(&self) -> Result<Vec<EntryInfo>> {
        let mut out = Vec::new();
        for path in two_level_children(&self.root.join("emb")) {
            let Some(key) = key_at(&path, "") else {
                continue;
            };
            let about = std::fs::read(path.join("entry.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("about").cloned())
                .unwrap_or(serde_json::Value::Null);
            // Streamed through the hash: a cache of large shards is
            // verified without holding any of them.
            let problem = match self.verify_shard(&key)? {
                Lookup::Hit(_) => None,
                Lookup::Miss => Some("not a cache entry".into()),
                Lookup::Corrupt(why) => Some(why),
            };
            out.push(EntryInfo {
                kind: "embeddings",
                bytes: disk_size(&path),
                key,
                about,
                problem,
                path,
            });
        }
        for path in two_level_children(&self.root.join("results")) {
            let Some(key) = key_at(&path, ".json") else {
                continue;
            };
            let problem = match self.load_value::<serde_json::Value>(&key)? {
                Lookup::Hit(_) => None,
                Lookup::Miss => Some("not a cache entry".into()),
                Lookup::Corrupt(why) => Some(why),
            };
            out.push(EntryInfo {
                kind: "value",
                bytes: disk_size(&path),
                key,
                about: serde_json::Value::Null,
                problem,
                path,
            });
        }
        Ok(out)
    }

    /// Removes corrupt entries and leftovers of interrupted writes; valid
    /// entries are never touched, nor the staging entries of a live run
    /// (see [`Cache::gc_older_than`] with [`STAGING_GRACE`]).
    pub fn gc(&self) -> Result<GcReport> {
        self.gc_older_than(STAGING_GRACE)
    }

    /// [`Cache::gc`], removing a staging entry only when its owner process
    /// (the pid in its name) is not running on this machine and it was last
    /// modified more than `grace` ago: a writer on another machine sharing
    /// the cache cannot be checked, so recent entries are kept for it.
    pub fn gc_older_than(&self, grace: std::time::Duration) -> Result<GcReport> {
        let mut report = GcReport::default();
        for entry in self.entries()?.into_iter().filter(|e| e.problem.is_some()) {
            remove_any(&entry.path)?;
            report.bytes_freed += entry.bytes;
            report.corrupt_removed.push(entry.key);
        }
        // Staging entries in tmp/, and temporary files of interrupted
        // atomic writes beside the entries; only names repbench gives them.
        let mut leftovers: Vec<PathBuf> = std::fs::read_dir(self.root.join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        for kind in ["emb", "results"] {
            let prefixes = std::fs::read_dir(self.root.join(kind))
                .into_iter()
                .flatten()
                .flatten();
            for prefix in prefixes.filter(|p| p.path().is_dir()) {
                let children = std::fs::read_dir(prefix.path())
                    .into_iter()
                    .flatten()
                    .flatten();
                leftovers.extend(children.map(|e| e.path()));
            }
        }
        for path in leftovers {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !is_key_temp(&name) {
                continue;
            }
            let age = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            if staging_owner_alive(&name) || age < grace {
                report.staging_kept += 1;
                continue;
            }
            report.bytes_freed += disk_size(&path);
            remove_any(&path)?;
            report.staging_removed += 1;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn shard() -> Shard {
        Shard {
            ids: vec!["a".into(), "b".into()],
            layers: vec![Layer {
                name: "logmel".into(),
                matrix: array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]],
            }],
        }
    }

    fn key(s: &str) -> String {
        KeyBuilder::new("test").field("x", s).finish()
    }

    #[test]
    fn key_fields_are_delimited_and_every_field_matters() {
        let a = KeyBuilder::new("e").field("a", "bc").finish();
        let b = KeyBuilder::new("e").field("ab", "c").finish();
        assert_ne!(a, b);
        assert_ne!(KeyBuilder::new("e").finish(), KeyBuilder::new("r").finish());
    }

    /// An entry directory replaced by a file (or a value file by a
    /// directory) is a corrupt entry that a store replaces, not an I/O
    /// error that ends the run.
    #[test]
    fn an_entry_of_the_wrong_file_type_is_corrupt_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("file");
        let at = cache.embedding_dir(&k);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, b"not a directory").unwrap();
        match cache.load_shard(&k).unwrap() {
            Lookup::Corrupt(why) => assert!(why.contains("is a file"), "{why}"),
            other => panic!("{other:?}"),
        }
        cache
            .store_shard(&k, &shard(), serde_json::Value::Null)
            .unwrap();
        assert!(matches!(cache.load_shard(&k).unwrap(), Lookup::Hit(s) if s == shard()));

        let v = key("value");
        std::fs::create_dir_all(cache.result_path(&v)).unwrap();
        assert!(matches!(
            cache.load_value::<u32>(&v).unwrap(),
            Lookup::Corrupt(why) if why.contains("is a directory")
        ));
        cache.store_value(&v, &7u32).unwrap();
        assert!(matches!(
            cache.load_value::<u32>(&v).unwrap(),
            Lookup::Hit(7)
        ));
        assert!(cache.looks_like_cache());
    }

    /// `cache gc` on a directory that merely has `tmp/` or `results/`
    /// folders once deleted the user's files in them.
    #[test]
    fn gc_removes_only_what_repbench_named() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let foreign = [
            "tmp/draft.txt",
            "tmp/.notes.tmp",
            "results/ab/notes.json",
            "results/2024/data.csv",
            "emb/xy/photos",
        ];
        for f in foreign {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"user data").unwrap();
        }
        let k = key("leftover");
        // Left by a writer that is gone (no process has pid u32::MAX - 1).
        let dead = u32::MAX - 1;
        let staging = dir.path().join("tmp").join(format!(".{k}.{dead}.0.tmp"));
        std::fs::create_dir_all(&staging).unwrap();
        let partial = cache
            .result_path(&k)
            .with_file_name(format!(".{k}.json.{dead}.3.tmp"));
        std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
        std::fs::write(&partial, b"half").unwrap();

        assert!(cache.entries().unwrap().is_empty());
        let report = cache.gc_older_than(std::time::Duration::ZERO).unwrap();
        assert_eq!(report.staging_removed, 2, "{report:?}");
        assert!(report.corrupt_removed.is_empty());
        assert!(!staging.exists() && !partial.exists());
        for f in foreign {
            assert!(dir.path().join(f).exists(), "{f} was removed");
        }
    }

    #[test]
    fn only_a_directory_of_cache_folders_is_a_cache() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Cache::new(dir.path()).looks_like_cache());
        std::fs::create_dir(dir.path().join("results")).unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        assert!(Cache::new(dir.path()).looks_like_cache());
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        assert!(!Cache::new(dir.path()).looks_like_cache());
        assert!(!Cache::new(dir.path().join("missing")).looks_like_cache());
    }

    #[test]
    fn round_trip_and_numpy_readable_layout() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("1");
        assert!(matches!(cache.load_shard(&k).unwrap(), Lookup::Miss));
        cache
            .store_shard(&k, &shard(), serde_json::json!({"encoder": "x"}))
            .unwrap();
        match cache.load_shard(&k).unwrap() {
            Lookup::Hit(s) => assert_eq!(s, shard()),
            other => panic!("expected hit, got {other:?}"),
        }
        let npy = std::fs::read(cache.embedding_dir(&k).join("layer_0.npy")).unwrap();
        assert_eq!(&npy[..6], b"\x93NUMPY");
        assert!(std::fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn truncated_npy_is_corrupt_and_is_replaced_on_store() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("2");
        cache
            .store_shard(&k, &shard(), serde_json::Value::Null)
            .unwrap();
        let npy = cache.embedding_dir(&k).join("layer_0.npy");
        let bytes = std::fs::read(&npy).unwrap();
        std::fs::write(&npy, &bytes[..bytes.len() - 4]).unwrap();
        assert!(matches!(cache.load_shard(&k).unwrap(), Lookup::Corrupt(_)));
        cache
            .store_shard(&k, &shard(), serde_json::Value::Null)
            .unwrap();
        assert!(matches!(cache.load_shard(&k).unwrap(), Lookup::Hit(_)));
    }

    #[test]
    fn entry_without_manifest_is_never_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("3");
        cache
            .store_shard(&k, &shard(), serde_json::Value::Null)
            .unwrap();
        std::fs::remove_file(cache.embedding_dir(&k).join("entry.json")).unwrap();
        assert!(matches!(cache.load_shard(&k).unwrap(), Lookup::Corrupt(_)));
    }

    #[test]
    fn an_empty_shard_reads_back_as_empty_not_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("empty");
        let empty = Shard {
            ids: Vec::new(),
            layers: vec![Layer {
                name: "l".into(),
                matrix: Array2::zeros((0, 4)),
            }],
        };
        cache
            .store_shard(&k, &empty, serde_json::Value::Null)
            .unwrap();
        match cache.load_shard(&k).unwrap() {
            Lookup::Hit(s) => assert_eq!(s, empty),
            other => panic!("expected hit, got {other:?}"),
        }
    }

    #[test]
    fn entries_verify_and_gc_removes_only_what_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let (good, bad) = (key("good"), key("bad"));
        cache
            .store_shard(&good, &shard(), serde_json::json!({"encoder": "x"}))
            .unwrap();
        cache
            .store_shard(&bad, &shard(), serde_json::Value::Null)
            .unwrap();
        cache.store_value(&key("v"), &1.5f64).unwrap();
        std::fs::write(cache.embedding_dir(&bad).join("layer_0.npy"), b"junk").unwrap();
        let half = format!("tmp/.{}.{}.0.tmp", key("half"), u32::MAX - 1);
        std::fs::create_dir_all(dir.path().join(half)).unwrap();
        let entries = cache.entries().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries.iter().filter(|e| e.problem.is_some()).count(), 1);
        // The recent staging entry is kept for a writer that may still be
        // running elsewhere; once old enough it goes.
        let report = cache.gc().unwrap();
        assert_eq!(report.corrupt_removed, vec![bad.clone()]);
        assert_eq!((report.staging_removed, report.staging_kept), (0, 1));
        let report = cache.gc_older_than(std::time::Duration::ZERO).unwrap();
        assert_eq!(report.staging_removed, 1);
        assert!(matches!(cache.load_shard(&good).unwrap(), Lookup::Hit(_)));
        assert!(matches!(cache.load_shard(&bad).unwrap(), Lookup::Miss));
    }

    /// A live run's staging entry survives `gc` whatever its age; a dead
    /// writer's old one is removed.
    #[test]
    fn gc_leaves_a_live_writers_staging_entry_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("k");
        let live = dir
            .path()
            .join(format!("tmp/.{k}.{}.0.tmp", std::process::id()));
        // No process has pid u32::MAX - 1 (Linux caps pids far below).
        let dead = dir.path().join(format!("tmp/.{k}.{}.0.tmp", u32::MAX - 1));
        for p in [&live, &dead] {
            std::fs::create_dir_all(p).unwrap();
        }
        let report = cache.gc_older_than(std::time::Duration::ZERO).unwrap();
        assert_eq!((report.staging_removed, report.staging_kept), (1, 1));
        assert!(live.exists() && !dead.exists());
    }

    #[test]
    fn values_are_checksummed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key("4");
        cache.store_value(&k, &vec![1.5f64, 2.5]).unwrap();
        assert!(
            matches!(cache.load_value::<Vec<f64>>(&k).unwrap(), Lookup::Hit(v) if v == vec![1.5, 2.5])
        );
        let path = cache.result_path(&k);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("2.5", "9.5");
        std::fs::write(&path, text).unwrap();
        assert!(matches!(
            cache.load_value::<Vec<f64>>(&k).unwrap(),
            Lookup::Corrupt(_)
        ));
    }

    #[test]
    fn streamed_layers_are_the_npy_files_ndarray_npy_writes() {
        use ndarray_npy::WriteNpyExt;
        // Zero-column matrices give every header length without memory.
        for digits in 1..=15u32 {
            for (rows, cols) in [(10usize.pow(digits - 1), 0), (0, 10usize.pow(digits - 1))] {
                let mut expected = Vec::new();
                Array2::<f32>::zeros((rows, cols))
                    .write_npy(&mut expected)
                    .unwrap();
                assert_eq!(npy_header(rows, cols), expected, "{rows} × {cols}");
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let matrix = Array2::from_shape_fn((5, 3), |(r, c)| r as f32 - 0.25 * c as f32);
        let shard = Shard {
            ids: (0..5).map(|i| format!("i{i}")).collect(),
            layers: vec![Layer {
                name: "x".into(),
                matrix: matrix.clone(),
            }],
        };
        let key = "cd".repeat(32);
        // Rows in uneven blocks, as a shard assembled from checkpoints.
        let shapes = [LayerShape {
            name: "x".into(),
            rows: 5,
            cols: 3,
        }];
        cache
            .store_shard_streamed(
                &key,
                &shard.ids,
                &shapes,
                serde_json::Value::Null,
                &mut |_, sink| {
                    sink.rows(matrix.slice(ndarray::s![..2, ..]))?;
                    sink.rows(matrix.slice(ndarray::s![2.., ..]))
                },
            )
            .unwrap();
        let mut expected = Vec::new();
        matrix.write_npy(&mut expected).unwrap();
        let file = cache.embedding_dir(&key).join("layer_0.npy");
        assert_eq!(std::fs::read(file).unwrap(), expected);
        assert!(matches!(cache.load_shard(&key).unwrap(), Lookup::Hit(s) if s == shard));
        // Too few rows, or a block of the wrong width: nothing is stored.
        let other = "ef".repeat(32);
        for bad in [1, 2] {
            let err = cache
                .store_shard_streamed(
                    &other,
                    &shard.ids,
                    &shapes,
                    serde_json::Value::Null,
                    &mut |_, sink| {
                        if bad == 1 {
                            sink.rows(matrix.slice(ndarray::s![..4, ..]))
                        } else {
                            sink.rows(matrix.slice(ndarray::s![.., ..2]))
                        }
                    },
                )
                .unwrap_err()
                .to_string();
            assert!(err.contains("layer x"), "{err}");
            assert!(matches!(cache.load_shard(&other).unwrap(), Lookup::Miss));
        }
    }
}
