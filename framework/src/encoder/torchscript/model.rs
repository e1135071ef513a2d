//! Runs a TorchScript module through libtorch (tch) as an [`Encoder`].

use super::{DeviceRef, InputForm, LayerRef, Segmenting, TorchScriptSpec};
use crate::encoder::Encoder;
use crate::pooling::Pooling;
use crate::{Error, Result};
use ndarray::Array2;
use std::path::Path;
use tch::{CModule, Device, IValue, Kind, Tensor};

/// Bumped whenever segmentation or output handling changes what is cached.
const IMPL_VERSION: u32 = 1;

/// A loaded TorchScript encoder.
pub struct TorchScript {
    spec: TorchScriptSpec,
    module: CModule,
    device: Device,
    segmenting: Segmenting,
    /// Kept outputs: position among the module's outputs, and layer name.
    kept: Vec<(usize, String)>,
    fingerprint: String,
}

impl std::fmt::Debug for TorchScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorchScript")
            .field("name", &self.spec.name)
            .field("path", &self.spec.path)
            .field("device", &self.device)
            .field("layers", &self.kept)
            .finish_non_exhaustive()
    }
}

/// One forward pass's outputs, named, in the module's order.
type Outputs = Vec<(String, Tensor)>;

impl TorchScript {
    /// Loads the module (path relative to `base_dir`) onto its device,
    /// hashes the file for the fingerprint, and runs one probe batch to learn
    /// the output layers and check their shapes.
    pub fn open(mut spec: TorchScriptSpec, base_dir: &Path) -> Result<Self> {
        let name = spec.name.clone();
        let fail = |reason: String| Error::Encoder {
            encoder: name.clone(),
            reason,
        };
        let path = base_dir.join(&spec.path);
        // Configs arrive with the sidecar applied; a spec built in code may not.
        spec.apply_sidecar(base_dir)?;
        let bytes = std::fs::read(&path).map_err(|e| {
            fail(format!(
                "cannot read the TorchScript file {}: {e}; set `path` to a file saved with torch.jit.save",
                path.display()
            ))
        })?;
        let device = resolve_device(&spec.device).map_err(fail)?;
        if let Some(n) = spec.threads {
            // libtorch's thread pool is process-wide; the last encoder opened wins.
            tch::set_num_threads(i32::try_from(n).unwrap_or(i32::MAX));
        }
        let mut module =
            CModule::load_data_on_device(&mut bytes.as_slice(), device).map_err(|e| {
                fail(format!(
                "{} is not a TorchScript module ({}); expected a file saved with torch.jit.save \
                 (torch.save of a model or state_dict is not TorchScript)",
                path.display(),
                summarize(&e.to_string())
            ))
            })?;
        module.set_eval();
        let segmenting = spec.segmenting();
        let mut encoder = TorchScript {
            fingerprint: String::new(),
            spec,
            module,
            device,
            segmenting,
            kept: Vec::new(),
        };
        let probe = encoder.probe_input();
        let outputs = encoder.forward(&[&probe]).map_err(|reason| {
            fail(format!(
                "a probe forward on one [1, {}] input failed: {reason}",
                probe.len()
            ))
        })?;
        encoder.kept = select_layers(&outputs, &encoder.spec.layers).map_err(fail)?;
        // Only kept outputs must be poolable (a module may also return lengths or maps).
        for (pos, name) in &encoder.kept {
            check_shape(name, &outputs[*pos].1, 1).map_err(fail)?;
        }
        encoder.fingerprint = fingerprint(&encoder.spec, &blake3::hash(&bytes).to_hex());
        Ok(encoder)
    }

    /// A quiet 440 Hz tone of the length one segment (or item) has.
    fn probe_input(&self) -> Vec<f32> {
        let rate = self.spec.rate() as usize;
        let len = self.segmenting.len.unwrap_or_else(|| {
            self.spec
                .duration_s
                .map_or(rate, |d| ((d * rate as f64).round() as usize).max(1))
        });
        (0..len)
            .map(|i| 0.1 * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Runs the module on equal-length rows; errors are reasons (the caller
    /// names the encoder).
    fn forward(&self, rows: &[&[f32]]) -> std::result::Result<Outputs, String> {
        let width = rows.first().map_or(0, |r| r.len());
        let mut flat = Vec::with_capacity(rows.len() * width);
        rows.iter().for_each(|r| flat.extend_from_slice(r));
        let input = Tensor::f_from_slice(&flat)
            .and_then(|t| t.f_reshape([rows.len() as i64, width as i64]))
            .and_then(|t| t.f_to_device(self.device))
            .map_err(|e| summarize(&e.to_string()))?;
        let output = tch::no_grad(|| self.module.forward_is(&[IValue::Tensor(input)]))
            .map_err(|e| summarize(&e.to_string()))?;
        named_outputs(output, self.spec.layer_names.as_deref())
    }

    /// Encodes items whose segments are batched together; one result per
    /// item (a failed batch fails each item in it).
    fn encode_items(&self, audios: &[&[f32]]) -> Vec<Result<Vec<Array2<f32>>>> {
        let segments: Vec<Vec<Vec<f32>>> =
            audios.iter().map(|a| self.segmenting.segments(a)).collect();
        let rows: Vec<(usize, &[f32])> = segments
            .iter()
            .enumerate()
            .flat_map(|(item, segs)| segs.iter().map(move |s| (item, s.as_slice())))
            .collect();
        let mut frames: Vec<Vec<LayerFrames>> =
            vec![vec![LayerFrames::default(); self.kept.len()]; audios.len()];
        let mut failed: Vec<Option<String>> = vec![None; audios.len()];
        let mut start = 0;
        while start < rows.len() {
            // A batch is a run of rows of one length: whole items may differ.
            let width = rows[start].1.len();
            let mut end = start + 1;
            while end < rows.len()
                && end - start < self.spec.batch_size
                && rows[end].1.len() == width
            {
                end += 1;
            }
            let batch = &rows[start..end];
            let slices: Vec<&[f32]> = batch.iter().map(|r| r.1).collect();
            match self.forward_kept(&slices) {
                Ok(layers) => collect(batch, layers, &mut frames, &mut failed),
                // Retry one row at a time so the error names the item that caused it.
                Err(_) if batch.len() > 1 => {
                    for row in batch {
                        match self.forward_kept(&[row.1]) {
                            Ok(layers) => collect(&[*row], layers, &mut frames, &mut failed),
                            Err(reason) => {
                                failed[row.0].get_or_insert_with(|| {
                                    format!("forward on a [1, {width}] input failed: {reason}")
                                });
                            }
                        }
                    }
                }
                Err(reason) => {
                    for (item, _) in batch {
                        failed[*item].get_or_insert_with(|| {
                            format!("forward on a [1, {width}] input failed: {reason}")
                        });
                    }
                }
            }
            start = end;
        }
        frames
            .into_iter()
            .zip(failed)
            .map(|(layers, failed)| match failed {
                Some(reason) => Err(Error::Encoder {
                    encoder: self.spec.name.clone(),
                    reason,
                }),
                None => Ok(layers.into_iter().map(LayerFrames::into_array).collect()),
            })
            .collect()
    }
}

impl TorchScript {
    /// Forward on `rows`, returning the kept layers (found by name, so a
    /// module whose outputs vary in number or order is caught) as per-row
    /// `(dim, values)`.
    fn forward_kept(&self, rows: &[&[f32]]) -> std::result::Result<KeptRows, String> {
        let outputs = self.forward(rows)?;
        self.kept
            .iter()
            .map(|(_, name)| {
                let (_, t) = outputs.iter().find(|(n, _)| n == name).ok_or_else(|| {
                    format!(
                        "the module no longer returns layer \"{name}\" (it did on the probe input)"
                    )
                })?;
                check_shape(name, t, rows.len())?;
                to_rows(t).map(|r| (name.clone(), r))
            })
            .collect()
    }
}

/// Appends a batch's kept layers to its items' frames.
fn collect(
    batch: &[(usize, &[f32])],
    layers: KeptRows,
    frames: &mut [Vec<LayerFrames>],
    failed: &mut [Option<String>],
) {
    for (l, (name, per_row)) in layers.into_iter().enumerate() {
        for ((item, _), row) in batch.iter().zip(per_row) {
            if let Err(why) = frames[*item][l].push(row) {
                failed[*item].get_or_insert(format!("layer \"{name}\": {why}"));
            }
        }
    }
}

/// Kept layers of one forward: name and per-row `(dim, values)`.
type KeptRows = Vec<(String, Vec<(usize, Vec<f32>)>)>;

/// One item's frames of one layer, accumulated over batches.
#[derive(Clone, Default)]
struct LayerFrames {
    dim: usize,
    data: Vec<f32>,
}

impl LayerFrames {
    /// Appends one segment's `(time, dim)` frames.
    fn push(&mut self, (dim, values): (usize, Vec<f32>)) -> std::result::Result<(), String> {
        if !self.data.is_empty() && dim != self.dim {
            return Err(format!(
                "dimension changed from {} to {dim} between segments",
                self.dim
            ));
        }
        self.dim = dim;
        self.data.extend(values);
        Ok(())
    }

    fn into_array(self) -> Array2<f32> {
        let rows = self.data.len().checked_div(self.dim).unwrap_or(0);
        Array2::from_shape_vec((rows, self.dim), self.data).expect("rows * dim values")
    }
}

/// Checks a layer is `[batch, dim]` or `[batch, time, dim]`.
fn check_shape(name: &str, t: &Tensor, batch: usize) -> std::result::Result<(), String> {
    let size = t.size();
    let ok =
        matches!(size.len(), 2 | 3) && size[0] == batch as i64 && size[1..].iter().all(|&d| d > 0);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "layer \"{name}\" has shape {size:?} for a batch of {batch}; expected [{batch}, dim] or [{batch}, time, dim] with time, dim ≥ 1"
        ))
    }
}

/// Splits a `[batch, dim]` or `[batch, time, dim]` tensor into per-row
/// `(dim, values)`, as f32 on the CPU.
fn to_rows(t: &Tensor) -> std::result::Result<Vec<(usize, Vec<f32>)>, String> {
    let size = t.size();
    let (batch, dim) = (size[0] as usize, size[size.len() - 1] as usize);
    let cpu = t
        .f_to_device(Device::Cpu)
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_contiguous())
        .map_err(|e| summarize(&e.to_string()))?;
    let numel = cpu.numel();
    let mut all = vec![0f32; numel];
    cpu.f_copy_data(&mut all, numel)
        .map_err(|e| summarize(&e.to_string()))?;
    let per_row = numel / batch.max(1);
    Ok(all.chunks(per_row).map(|c| (dim, c.to_vec())).collect())
}

/// Names the module's outputs: a tensor, a tuple or list of tensors (named
/// by `layer_names` or by position) or a dict with string keys.
fn named_outputs(value: IValue, names: Option<&[String]>) -> std::result::Result<Outputs, String> {
    let positional = |tensors: Vec<IValue>| -> std::result::Result<Outputs, String> {
        if let Some(names) = names {
            if names.len() != tensors.len() {
                return Err(format!(
                    "layer_names has {} names but the module returns {} outputs",
                    names.len(),
                    tensors.len()
                ));
            }
        }
        tensors
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let name = names.map_or_else(|| i.to_string(), |n| n[i].clone());
                match v {
                    IValue::Tensor(t) => Ok((name, t)),
                    other => Err(format!(
                        "output {i} is {}; expected a tensor",
                        describe(&other)
                    )),
                }
            })
            .collect()
    };
    match value {
        IValue::Tensor(t) => positional(vec![IValue::Tensor(t)]),
        IValue::Tuple(v) | IValue::GenericList(v) => positional(v),
        IValue::TensorList(v) => positional(v.into_iter().map(IValue::Tensor).collect()),
        IValue::GenericDict(pairs) => {
            if names.is_some() {
                return Err("layer_names is for tensor and tuple outputs; this module returns a dict, whose keys name the layers".into());
            }
            pairs
                .into_iter()
                .map(|(k, v)| match (k, v) {
                    (IValue::String(k), IValue::Tensor(t)) => Ok((k, t)),
                    (k, v) => Err(format!(
                        "dict entry {} → {}; expected string keys and tensor values",
                        describe(&k),
                        describe(&v)
                    )),
                })
                .collect()
        }
        other => Err(format!(
            "returned {}; expected a tensor, a tuple/list of tensors or a dict of named tensors",
            describe(&other)
        )),
    }
}

/// Resolves `layers` against the probe's outputs.
fn select_layers(
    outputs: &Outputs,
    wanted: &[LayerRef],
) -> std::result::Result<Vec<(usize, String)>, String> {
    let available = || {
        outputs
            .iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if wanted == [LayerRef::Name("all".into())] {
        return Ok(outputs
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (i, n.clone()))
            .collect());
    }
    let mut kept: Vec<(usize, String)> = Vec::new();
    for w in wanted {
        let pos = match w {
            LayerRef::Index(i) if *i < outputs.len() => *i,
            LayerRef::Index(i) => {
                return Err(format!(
                    "layers: index {i} is out of range; the module returns {} outputs ({})",
                    outputs.len(),
                    available()
                ))
            }
            LayerRef::Name(n) => outputs.iter().position(|(o, _)| o == n).ok_or_else(|| {
                format!(
                    "layers: no output named \"{n}\"; the module returns {}",
                    available()
                )
            })?,
        };
        if kept.iter().any(|(p, _)| *p == pos) {
            return Err(format!("layers: \"{}\" is listed twice", outputs[pos].0));
        }
        kept.push((pos, outputs[pos].0.clone()));
    }
    Ok(kept)
}

/// Maps the config's device to a tch device, or says why it is unusable.
fn resolve_device(s: &str) -> std::result::Result<Device, String> {
    match DeviceRef::parse(s) {
        Some(DeviceRef::Cpu) => Ok(Device::Cpu),
        Some(DeviceRef::Cuda(n)) => {
            let count = if tch::Cuda::is_available() {
                tch::Cuda::device_count()
            } else {
                0
            };
            if (n as i64) < count {
                Ok(Device::Cuda(n))
            } else {
                Err(format!(
                    "device \"{s}\" needs a CUDA GPU and a CUDA build of libtorch, but this libtorch sees {count} CUDA device(s); \
                     use device = \"cpu\", or build against a CUDA libtorch (README, \"GPU\")"
                ))
            }
        }
        None => Err(format!(
            "device \"{s}\": expected \"cpu\", \"cuda\" or \"cuda:N\""
        )),
    }
}

/// Everything that changes the output; batch size, device and threads do
/// not (beyond floating-point noise), so caches are shared across machines.
fn fingerprint(spec: &TorchScriptSpec, file_hash: &str) -> String {
    let seg = spec.segmenting();
    let form = match spec.input {
        InputForm::Waveform => "waveform",
        InputForm::Framed => "framed",
    };
    format!(
        "torchscript/v{IMPL_VERSION}:file={file_hash},sample_rate={},input={form},segment={:?}/{},layer_names={:?},layers={:?},pooling={}",
        spec.rate(),
        seg.len,
        seg.hop,
        spec.layer_names,
        spec.layers,
        spec.pooling.as_str()
    )
}

/// A libtorch error in one line: its first sentence and, for TorchScript
/// interpreter errors, the last message line (the Python-side exception),
/// without the C++ backtrace libtorch appends.
fn summarize(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Exception raised from"))
        .filter(|l| !l.is_empty() && !l.starts_with("frame #"))
        .collect();
    let first_sentence = |l: &str| match l.find(". ") {
        Some(i) if l.len() > 160 => l[..=i].to_string(),
        _ => l.to_string(),
    };
    match lines.as_slice() {
        [] => "unknown libtorch error".into(),
        [only] => first_sentence(only),
        [first, .., last] => format!("{} … {last}", first_sentence(first)),
    }
}

/// The kind of an IValue, for error messages.
fn describe(v: &IValue) -> String {
    match v {
        IValue::Tensor(t) => format!("a tensor of shape {:?}", t.size()),
        IValue::None => "None".into(),
        IValue::Double(_) => "a float".into(),
        IValue::Int(_) => "an int".into(),
        IValue::Bool(_) => "a bool".into(),
        IValue::String(s) => format!("the string \"{s}\""),
        IValue::Tuple(v) => format!("a tuple of {}", v.len()),
        IValue::GenericDict(_) => "a dict".into(),
        IValue::TensorList(_) | IValue::GenericList(_) => "a list".into(),
        _ => "an unsupported value".into(),
    }
}

impl Encoder for TorchScript {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn sample_rate(&self) -> u32 {
        self.spec.rate()
    }
    fn layers(&self) -> Vec<String> {
        self.kept.iter().map(|(_, n)| n.clone()).collect()
    }
    fn encode(&self, audio: &[f32]) -> Result<Vec<Array2<f32>>> {
        self.encode_items(&[audio])
            .pop()
            .expect("one result per item")
    }
    fn batches_items(&self) -> bool {
        true
    }
    fn encode_batch(&self, audios: &[Vec<f32>]) -> Vec<Result<Vec<Array2<f32>>>> {
        let slices: Vec<&[f32]> = audios.iter().map(Vec::as_slice).collect();
        self.encode_items(&slices)
    }
    fn pooling(&self) -> Pooling {
        self.spec.pooling
    }
    fn duration_s(&self) -> Option<f64> {
        self.spec.duration_s
    }
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn libtorch_errors_lose_their_backtrace() {
        let raw = "Internal torch error: PytorchStreamReader failed locating file constants.pkl: file not found. This is an internal miniz error. If you are seeing this error, there is a high likelihood that your checkpoint file is corrupted.\nException raised from valid at ../caffe2/serialize/inline_container.cc:236 (most recent call first):\nframe #0: c10::Error::Error() + 0x1\n";
        assert_eq!(
            summarize(raw),
            "Internal torch error: PytorchStreamReader failed locating file constants.pkl: file not found."
        );
        let script = "The following operation failed in the TorchScript interpreter.\nTraceback of TorchScript (most recent call last):\n  File \"m.py\", line 3\nRuntimeError: shape '[2, 3]' is invalid for input of size 5\n";
        assert_eq!(
            summarize(script),
            "The following operation failed in the TorchScript interpreter. … RuntimeError: shape '[2, 3]' is invalid for input of size 5"
        );
    }
}
