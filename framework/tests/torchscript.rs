//! The `torchscript` encoder against the outputs Python's torch gave for the
//! committed test modules (scripts/make_torch_test_models.py), and its
//! errors on bad modules and options.
#![cfg(feature = "torch")]

use ndarray::{Array2, Array3, ArrayD, Axis};
use ndarray_npy::read_npy;
use repbench_framework::encoder::torchscript::{TorchScript, TorchScriptSpec};
use repbench_framework::encoder::Encoder;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch")
}

fn spec(model: &str, extra: &str) -> TorchScriptSpec {
    toml::from_str(&format!(
        "name = \"{model}\"\npath = \"{model}.pt\"\nsample_rate = 16000\n{extra}"
    ))
    .unwrap()
}

fn open(model: &str, extra: &str) -> Result<TorchScript, String> {
    TorchScript::open(spec(model, extra), &fixtures()).map_err(|e| e.to_string())
}

fn waveforms() -> Vec<Vec<f32>> {
    let w: Array2<f32> = read_npy(fixtures().join("waveforms.npy")).unwrap();
    w.outer_iter().map(|r| r.to_vec()).collect()
}

/// Python's output of `model` for `layer`, per batch row as `(time, dim)`.
fn expected(model: &str, layer: &str) -> Vec<Array2<f32>> {
    let a: ArrayD<f32> = read_npy(fixtures().join(format!("{model}.{layer}.npy"))).unwrap();
    match a.ndim() {
        2 => a
            .outer_iter()
            .map(|r| {
                r.insert_axis(Axis(0))
                    .to_owned()
                    .into_dimensionality()
                    .unwrap()
            })
            .collect(),
        _ => {
            let a: Array3<f32> = a.into_dimensionality().unwrap();
            a.outer_iter().map(|r| r.to_owned()).collect()
        }
    }
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every item's layers, through one `encode_batch` call.
fn encode_all(encoder: &TorchScript, audio: &[Vec<f32>]) -> Vec<Vec<Array2<f32>>> {
    encoder
        .encode_batch(audio)
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn tensor_tuple_and_dict_outputs_equal_python() {
    let cases: [(&str, &[&str]); 3] = [
        ("waveform_tensor", &["0"]),
        ("waveform_tuple", &["0", "1"]),
        ("waveform_dict", &["conv", "proj"]),
    ];
    let audio = waveforms();
    for (model, layers) in cases {
        let encoder = open(model, "batch_size = 3").unwrap();
        assert_eq!(encoder.layers(), layers.to_vec(), "{model}");
        let out = encode_all(&encoder, &audio);
        for (l, layer) in layers.iter().enumerate() {
            for (item, want) in expected(model, layer).iter().enumerate() {
                let diff = max_abs_diff(&out[item][l], want);
                assert!(diff <= 1e-5, "{model}.{layer} item {item}: {diff}");
            }
        }
    }
}

#[test]
fn framed_input_cuts_frames_like_python_was_given() {
    let frames: Array2<f32> = read_npy(fixtures().join("frames.npy")).unwrap();
    let audio: Vec<f32> = frames.iter().copied().collect();
    let encoder = open(
        "framed",
        "input = \"framed\"\nframe_len = 256\nbatch_size = 4",
    )
    .unwrap();
    let out = encoder.encode(&audio).unwrap();
    let want: Array2<f32> = read_npy(fixtures().join("framed.0.npy")).unwrap();
    assert!(max_abs_diff(&out[0], &want) <= 1e-5);
}

#[test]
fn batch_size_and_windows_do_not_change_per_window_outputs() {
    let audio = waveforms();
    let one = open("waveform_dict", "batch_size = 1").unwrap();
    let three = open("waveform_dict", "batch_size = 3").unwrap();
    let a = one.encode_batch(&audio);
    let b = three.encode_batch(&audio);
    for (x, y) in a.iter().zip(&b) {
        let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
        for (lx, ly) in x.iter().zip(y) {
            assert!(max_abs_diff(lx, ly) <= 1e-6);
        }
    }
    // Two 2000-sample windows give the frames of each half, stacked.
    let windowed = open("waveform_tensor", "window_s = 0.125").unwrap();
    let halves: Vec<Vec<f32>> = audio[0].chunks(2000).map(<[f32]>::to_vec).collect();
    let whole = windowed.encode(&audio[0]).unwrap();
    let parts = windowed.encode_batch(&halves);
    let first = &parts[0].as_ref().unwrap()[0];
    assert_eq!(whole[0].nrows(), 2 * first.nrows());
    let top = whole[0].slice(ndarray::s![..first.nrows(), ..]).to_owned();
    assert!(max_abs_diff(&top, first) <= 1e-6);
}

#[test]
fn layers_are_chosen_by_name_or_index_and_named_by_layer_names() {
    assert_eq!(
        open("waveform_dict", "layers = [\"proj\"]")
            .unwrap()
            .layers(),
        ["proj"]
    );
    let named = open(
        "waveform_tuple",
        "layer_names = [\"frames\", \"clip\"]\nlayers = [1]",
    )
    .unwrap();
    assert_eq!(named.layers(), ["clip"]);
    let err = open("waveform_dict", "layers = [\"nope\"]").unwrap_err();
    assert!(
        err.contains("no output named \"nope\"") && err.contains("\"conv\", \"proj\""),
        "{err}"
    );
    let err = open("waveform_tuple", "layers = [5]").unwrap_err();
    assert!(err.contains("index 5 is out of range"), "{err}");
    let err = open("waveform_tuple", "layer_names = [\"only_one\"]").unwrap_err();
    assert!(
        err.contains("layer_names has 1 names but the module returns 2"),
        "{err}"
    );
}

#[test]
fn bad_modules_give_errors_naming_the_encoder_and_what_was_expected() {
    let err = open("missing_model", "").unwrap_err();
    assert!(
        err.contains("encoder \"missing_model\"")
            && err.contains("cannot read the TorchScript file"),
        "{err}"
    );
    let err = open("state_dict_not_torchscript", "").unwrap_err();
    assert!(err.contains("is not a TorchScript module"), "{err}");
    let err = open("returns_rank4", "").unwrap_err();
    assert!(
        err.contains("encoder \"returns_rank4\"") && err.contains("[1, dim] or [1, time, dim]"),
        "{err}"
    );
    // NaN outputs are caught where every encoder's output is checked.
    let nan = open("returns_nan", "").unwrap();
    let frames = nan.encode(&waveforms()[0]).unwrap();
    let err = repbench_framework::encoder::check_finite(nan.name(), &frames)
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN"), "{err}");
}

#[test]
fn cuda_without_a_cuda_libtorch_is_a_clear_error() {
    if tch::Cuda::is_available() {
        let encoder = open("waveform_tensor", "device = \"cuda:0\"").unwrap();
        let cpu = open("waveform_tensor", "").unwrap();
        let audio = &waveforms()[0];
        let diff = max_abs_diff(
            &encoder.encode(audio).unwrap()[0],
            &cpu.encode(audio).unwrap()[0],
        );
        assert!(diff <= 1e-4, "cuda vs cpu: {diff}");
        return;
    }
    let err = open("waveform_tensor", "device = \"cuda:0\"").unwrap_err();
    assert!(
        err.contains("encoder \"waveform_tensor\"")
            && err.contains("needs a CUDA GPU and a CUDA build of libtorch"),
        "{err}"
    );
}

#[test]
fn the_fingerprint_follows_the_file_contents() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str| std::fs::copy(fixtures().join(from), dir.path().join("m.pt")).unwrap();
    let open_copy = || {
        TorchScript::open(spec("m", ""), dir.path())
            .unwrap()
            .fingerprint()
    };
    copy("waveform_tensor.pt");
    let first = open_copy();
    assert_eq!(first, open_copy());
    copy("waveform_dict.pt");
    assert_ne!(first, open_copy());
    // Batch size, device and threads do not change outputs, so not the key.
    let a = open("waveform_tensor", "batch_size = 1")
        .unwrap()
        .fingerprint();
    let b = open("waveform_tensor", "batch_size = 7\nthreads = 1")
        .unwrap()
        .fingerprint();
    assert_eq!(a, b);
}

#[test]
fn the_shipped_crepe_tiny_finds_the_pitch_of_a_sine() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/crepe-tiny");
    let spec: TorchScriptSpec = toml::from_str(
        "name = \"crepe\"\npath = \"crepe-tiny.pt\"\nsample_rate = 16000\ninput = \"framed\"\n\
         frame_len = 1024\nhop = 512\nlayer_names = [\"activation\", \"embedding\"]",
    )
    .unwrap();
    let crepe = TorchScript::open(spec, &models).unwrap();
    assert_eq!(crepe.layers(), ["activation", "embedding"]);
    for hz in [110.0f32, 440.0, 1000.0] {
        let tone: Vec<f32> = (0..8192)
            .map(|i| 0.5 * (std::f32::consts::TAU * hz * i as f32 / 16000.0).sin())
            .collect();
        let out = crepe.encode(&tone).unwrap();
        assert_eq!((out[0].ncols(), out[1].ncols()), (360, 256));
        let mean = out[0].mean_axis(Axis(0)).unwrap();
        let bin = (0..mean.len())
            .max_by(|&a, &b| mean[a].total_cmp(&mean[b]))
            .unwrap();
        // CREPE's bins: 20 cents apart from 1997.38 cents above 10 Hz (Kim et al., 2018).
        let cents = 20.0 * bin as f64 + 1_997.379_408_437_619;
        let found = 10.0 * 2f64.powf(cents / 1200.0);
        let off = 1200.0 * (found / f64::from(hz)).log2();
        assert!(
            off.abs() <= 20.0,
            "{hz} Hz: bin {bin} = {found:.1} Hz ({off:+.1} cents)"
        );
    }
}

/// The model zoo's tiny random-weight exports (`scripts/zoo/`, same export
/// code as the real models; every `models/zoo/tiny/*.expected.json`):
/// repbench finds every layer the sidecar names,
/// in its order and width, and reproduces the outputs Python's torch gave
/// for the stored input.
#[test]
fn zoo_tiny_models_reproduce_python_outputs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/zoo/tiny");
    let json = |name: String| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".expected.json").map(str::to_owned)
        })
        .collect();
    stems.sort();
    // Every family's fixture is checked; these two at least are shipped.
    for shipped in ["hubert-tiny", "wav2vec2-tiny"] {
        assert!(stems.iter().any(|s| s == shipped), "{shipped} in {stems:?}");
    }
    for stem in &stems {
        let sidecar = json(format!("{stem}.json"));
        let expected = json(format!("{stem}.expected.json"));
        let names: Vec<String> = serde_json::from_value(sidecar["layer_names"].clone()).unwrap();
        let dims: Vec<usize> = serde_json::from_value(sidecar["layer_dims"].clone()).unwrap();
        // The rate comes from the sidecar; each stored input row is fed
        // whole (`window_s = 0`), as Python ran it, not cut or padded to
        // the sidecar's window.
        let spec: TorchScriptSpec = toml::from_str(&format!(
            "name = \"{stem}\"\npath = \"{stem}.pt\"\nwindow_s = 0\nbatch_size = 2"
        ))
        .unwrap();
        let encoder = TorchScript::open(spec, &dir).unwrap();
        assert_eq!(encoder.layers(), names, "{stem}");
        let input: Vec<Vec<f32>> = serde_json::from_value(expected["input"].clone()).unwrap();
        let out = encode_all(&encoder, &input);
        for (l, name) in names.iter().enumerate() {
            let want: Vec<Vec<Vec<f32>>> =
                serde_json::from_value(expected["outputs"][name].clone()).unwrap();
            assert_eq!(want.len(), input.len(), "{stem}.{name}");
            for (item, rows) in want.iter().enumerate() {
                let want =
                    Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap();
                assert_eq!(want.ncols(), dims[l], "{stem}.{name}: sidecar width");
                let diff = max_abs_diff(&out[item][l], &want);
                assert!(diff <= 1e-4, "{stem}.{name} item {item}: {diff}");
            }
        }
    }
}
