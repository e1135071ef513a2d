#!/usr/bin/env python3
"""Export PANNs CNN14 (Kong et al. 2020, "PANNs: Large-Scale Pretrained Audio
Neural Networks for Audio Pattern Recognition") as a TorchScript module for
repbench's `kind = "torchscript"` encoder.

What it does
    Builds the `Cnn14` class of the `panns-inference` pip package (the
    architecture of the released checkpoints) and loads a checkpoint into it
    (or, with `--tiny`, builds a random-weights CNN14 with narrow layers),
    wraps it so that it takes raw audio, computes the log-mel features itself
    with torch ops and returns every conv block and the embedding, then hands
    it to `harness.export()` (trace, save, reload, compare with eager at
    several input lengths, sidecar, TOML block). Before that, on every run:
      * the in-module log-mel is compared with the package's own front end
        (torchlibrosa `Spectrogram` + `LogmelFilterBank`, the modules inside
        `Cnn14`, holding the checkpoint's STFT kernels and mel matrix) and
        with librosa's float64 `melspectrogram` (same settings) on random
        audio of several lengths; exit 1 above `--feature-tol` (default
        1e-3 dB, see below);
      * every layer is compared with the same layers computed from the
        package's front end, and `embedding` with `Cnn14.forward(...)
        ["embedding"]`; exit 1 above --tol (scaled by the layer's size,
        see `check_layers`).
    `--tiny` also writes `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at 32 kHz (the released `Cnn14_mAP=0.431.pth`;
      other checkpoints: --sample-rate etc., below). batch and samples are
      dynamic, samples >= 1.
    * features, inside the module, as `Cnn14.forward` computes them: centred
      STFT with reflect padding, periodic Hann window of n_fft = 1024, hop
      320 (10 ms), power spectrum, the checkpoint's own mel matrix
      (`logmel_extractor.melW`: librosa's Slaney mel filters, 64 bands,
      50 - 14000 Hz), 10 * log10(max(mel, 1e-10)) (ref 1, no top_db). The
      package does the STFT as two Conv1d with DFT kernels; here it is
      `torch.stft` (same values to float32 rounding, see the check above).
      Then `bn0` over the mel axis, as in the model.
    * short rows: CNN14 halves time five times (2x2 average pooling after
      blocks 1-5), so it needs 32 STFT frames; rows shorter than
      31 * hop = 9920 samples (0.31 s) are zero-padded at the end to that
      length inside the module (the released models were trained on 10 s
      clips, zero-padded when shorter). Only the frames that cover real
      audio are returned: with F = samples // hop + 1 real STFT frames, a
      layer whose frame spans s STFT frames keeps ceil(F / s) frames
      (frame j starts at STFT frame s * j). Rows of 9920 samples or more are
      not padded and nothing is trimmed.
    * outputs, in this order:
        conv_block1 .. conv_block6
                   each ConvBlock's output (after its 2x2 average pooling;
                   block 6 pools 1x1), averaged over the frequency axis,
                   which is what CNN14 itself does to block 6 before its
                   temporal pooling: [B, T_k, C_k] with C = 64, 128, 256,
                   512, 1024, 2048 and T_k = F // 2^k (k <= 5; block 6 as
                   block 5): 50, 25, 12.5, 6.25, 3.125, 3.125 frames/s;
        embedding  the 2048-d embedding `Cnn14.forward` returns (before the
                   AudioSet classifier `fc_audioset`): block 6 averaged over
                   frequency, max + mean over time, fc1, ReLU. One vector
                   per row, returned as [B, 1, 2048], so with the default
                   10 s window repbench gets one embedding per 10 s and
                   pools those. It is not computed per frame: that is not
                   what the model was trained to produce.
      The classifier output (527 AudioSet classes) is not exported.

Window (sidecar window_s; override with --window-s / --hop-s)
    10 s, hop = window: the released models were trained on 10 s AudioSet
    clips; CNN14 has no positional limit (convolutions, global pooling) but
    its embedding is a max + mean over the whole input, which matches
    training best at 10 s. repbench zero-pads an item's last window to the
    full 10 s, as PANNs training zero-padded shorter clips; for short items
    window_s = 0 keeps each item whole (one embedding per item).

Licence
    The PANNs code (qiuqiangkong/audioset_tagging_cnn, and the panns-inference
    package) is MIT. The checkpoints are on Zenodo (record 3987831), to my
    knowledge under CC-BY 4.0; not verified here (no internet): the sidecar
    says "CC-BY-4.0 (Zenodo record 3987831; unverified)" unless --licence
    says otherwise. Check the record before publishing results.

How to run
    Real checkpoint (downloaded by hand; the script never downloads):
        python scripts/zoo/export_panns.py --checkpoint Cnn14_mAP=0.431.pth --out models/zoo
      --name sets the file stem (default panns-cnn14); model_id in the
      sidecar is "panns/<checkpoint file name>" and revision the file's
      sha256. The checkpoint is a dict with the state dict under "model" (a
      bare state dict works too); it loads with torch.load(weights_only=
      True), and if the file holds other Python objects the script stops
      unless --unsafe-load is given (full unpickling: only for a file you
      trust). Other CNN14 checkpoints: --sample-rate, --n-fft, --hop,
      --fmin, --fmax (e.g. the 16 kHz `Cnn14_16k_mAP=0.438.pth`: 16000,
      512, 160, 50, 8000); n_fft and the mel settings are checked against
      the checkpoint's STFT kernels and mel matrix, the hop cannot be.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_panns.py --tiny --out models/zoo/tiny
      The same `Cnn14` object with its six `ConvBlock`s (the package's
      class) rebuilt at widths 8, 16, 32, 32, 32, 32 and fc1 32 -> 32,
      everything else (32 kHz front end, 64 mels, bn0, pooling) as in the
      released model; window_s 0.5 s (the fixture input's length).

Feature tolerance
    The log-mel is in dB; float32 power has a relative error of ~1e-7 per
    operation, and the two STFTs (FFT vs the package's DFT convolution)
    differ by rounding only, so where the band power is well above float32
    noise the dB values agree to a few 1e-5 (measured: <= 3.8e-5 dB vs the
    package, <= 1.3e-5 dB vs librosa float64). 1e-3 dB is a power ratio of
    1.0002: far below anything a model or a probe could use, far above
    rounding. bn0 then divides by the mel band's running std (several dB
    for the released model), shrinking the difference further.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import types
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SAMPLE_RATE = 32000
N_FFT = 1024
HOP = 320
N_MELS = 64
FMIN = 50.0
FMAX = 14000.0
CLASSES = 527
WINDOW_S = 10.0
# Blocks 1-5 pool time by 2, block 6 does not.
POOLS = (2, 2, 2, 2, 2, 1)
TINY_WIDTHS = (8, 16, 32, 32, 32, 32)
# Fixture input: 2 rows of 0.5 s at 32 kHz.
EXPECTED_SAMPLES = 16000
LICENCE = "CC-BY-4.0 (Zenodo record 3987831; unverified), code MIT"


def panns_models():
    """`panns_inference.models` (Cnn14, ConvBlock) without running the
    package's `__init__`: that imports `panns_inference.config`, which on
    first import downloads AudioSet's label CSV with wget into ~/panns_data.
    models.py itself only needs torch, torchlibrosa, numpy and matplotlib."""
    name = "panns_inference.models"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("panns_inference")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("panns-inference is not installed: pip install panns-inference==0.1.1 "
                         "(scripts/zoo/make_venv.sh does)")
    if "panns_inference" not in sys.modules:
        pkg = types.ModuleType("panns_inference")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["panns_inference"] = pkg
    return importlib.import_module(name)


class Cnn14AllLayers(nn.Module):
    """Raw audio -> log-mel (torch.stft) -> bn0 -> ConvBlocks 1-6 (each
    averaged over frequency) and the clip embedding. Holds the `Cnn14`'s
    own bn0, conv_block1..6 and fc1 modules, and its mel matrix."""

    def __init__(self, model: nn.Module, n_fft: int, hop: int):
        super().__init__()
        self.n_fft = int(n_fft)
        self.hop = int(hop)
        self.bn0 = model.bn0
        self.blocks = nn.ModuleList([getattr(model, f"conv_block{i}") for i in range(1, 7)])
        self.fc1 = model.fc1
        # 2^5 STFT frames are the least the five 2x pools accept.
        self.min_samples = (2 ** sum(p == 2 for p in POOLS) - 1) * self.hop
        mel = model.logmel_extractor.melW.detach().to(torch.float32).clone()
        if mel.shape[0] != self.n_fft // 2 + 1:
            raise SystemExit(f"mel matrix {tuple(mel.shape)} does not fit n_fft {self.n_fft}")
        self.register_buffer("melW", mel)  # [n_fft // 2 + 1, n_mels]
        # Periodic Hann, as librosa's get_window('hann', n, fftbins=True).
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True, dtype=torch.float64).float())

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] (samples > n_fft // 2) -> [B, frames, n_mels] in dB."""
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2  # [B, n_fft // 2 + 1, frames]
        mel = torch.matmul(power.transpose(1, 2), self.melW)
        return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))

    def pad(self, wave: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Zero-pads rows shorter than min_samples; returns (padded rows,
        number of real samples as a 0-dim tensor, traced dynamically)."""
        n = torch._shape_as_tensor(wave)[1]
        return F.pad(wave, (0, torch.clamp(self.min_samples - n, min=0))), n

    def layers(self, logmel: torch.Tensor, n: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Everything after the front end; `n` = real samples per row."""
        x = logmel.unsqueeze(1)  # [B, 1, frames, mels]
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        real_frames = n // self.hop + 1
        out: Dict[str, torch.Tensor] = {}
        span = 1
        for i, (block, pool) in enumerate(zip(self.blocks, POOLS)):
            x = block(x, pool_size=(pool, pool), pool_type="avg")
            span *= pool
            keep = (real_frames + span - 1) // span
            out[f"conv_block{i + 1}"] = x.mean(dim=3).transpose(1, 2)[:, :keep]
        h = x.mean(dim=3)  # [B, C, T]
        pooled = h.max(dim=2)[0] + h.mean(dim=2)
        out["embedding"] = F.relu(self.fc1(pooled)).unsqueeze(1)
        return out

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        x, n = self.pad(wave)
        return self.layers(self.logmel(x), n)


def package_logmel(model: nn.Module, wave: torch.Tensor) -> torch.Tensor:
    """The package's front end (torchlibrosa modules inside Cnn14)."""
    return model.logmel_extractor(model.spectrogram_extractor(wave)).squeeze(1)


def librosa_logmel(wave: torch.Tensor, sr: int, n_fft: int, hop: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa's melspectrogram in float64 (Slaney mel, periodic Hann,
    centred reflect-padded STFT, power 2), then 10 log10(max(x, 1e-10))."""
    import librosa
    rows = []
    for r in wave.numpy().astype(np.float64):
        s = librosa.feature.melspectrogram(y=r, sr=sr, n_fft=n_fft, hop_length=hop, win_length=n_fft,
                                           window="hann", center=True, pad_mode="reflect", power=2.0,
                                           n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64)
        rows.append(10.0 * np.log10(np.maximum(s, 1e-10)).T)
    return np.stack(rows)


def check_features(wrapped: Cnn14AllLayers, model: nn.Module, settings: dict, lengths: List[int], tol: float,
                   seed: int = 7) -> bool:
    """In-module log-mel vs the package's front end and librosa (float64)."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = wrapped.logmel(wave).numpy()
            pkg = package_logmel(model, wave).numpy()
        ref64 = librosa_logmel(wave, **settings)
        if mine.shape != pkg.shape or mine.shape != ref64.shape:
            print(f"FAIL: log-mel {mine.shape}, package {pkg.shape}, librosa {ref64.shape}")
            return False
        dp = float(np.abs(mine - pkg).max())
        dl = float(np.abs(mine - ref64).max())
        dpl = float(np.abs(pkg - ref64).max())
        print(f"  log-mel {mine.shape} for {n} samples: max abs diff (dB) vs package front end {dp:.2e}, "
              f"vs librosa float64 {dl:.2e} (package vs librosa {dpl:.2e})")
        return dp <= tol and dl <= tol

    return harness.check_lengths(f"log-mel check (bound {tol:.0e} dB)", lengths, check_one, seed)


def check_layers(wrapped: Cnn14AllLayers, model: nn.Module, lengths: List[int], tol: float, seed: int = 11) -> bool:
    """Every layer vs the same layers from the package's front end, and
    `embedding` vs `Cnn14.forward`, both on the rows as the module pads
    them (rows of >= min_samples are not padded). Bound: tol * max(1,
    max |reference|) per layer."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = wrapped(wave)
            x, real = wrapped.pad(wave)
            ref = wrapped.layers(package_logmel(model, x), real)
            ref["embedding (Cnn14.forward)"] = model(x)["embedding"].unsqueeze(1)
        return harness.compare_scaled(n, [(k, mine[k.split(" ")[0]], r) for k, r in ref.items()], tol)

    return harness.check_lengths(f"layer check vs package front end / Cnn14.forward "
                                 f"(bound {tol:.0e} x max(1, max |ref|))", lengths, check_one, seed)


def load_checkpoint(path: str, unsafe: bool) -> Dict[str, torch.Tensor]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickled non-tensor objects (e.g. a sampler state)
        if not unsafe:
            raise SystemExit(f"{path} does not load with weights_only=True ({str(e).splitlines()[0]}); "
                             "if you trust the file, rerun with --unsafe-load")
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(ckpt, dict) and "model" in ckpt and isinstance(ckpt["model"], dict):
        ckpt = ckpt["model"]
    if not isinstance(ckpt, dict):
        raise SystemExit(f"{path}: expected a state dict (or a dict with one under 'model')")
    return ckpt


def check_checkpoint_frontend(model: nn.Module, settings: dict) -> None:
    """n_fft and the mel settings must match the checkpoint's STFT kernels
    and mel matrix (which librosa settings would rebuild)."""
    import librosa
    kernel = model.spectrogram_extractor.stft.conv_real.weight
    if kernel.shape[-1] != settings["n_fft"]:
        raise SystemExit(f"checkpoint STFT kernels are {kernel.shape[-1]} long, --n-fft is {settings['n_fft']}")
    want = librosa.filters.mel(sr=settings["sr"], n_fft=settings["n_fft"], n_mels=settings["n_mels"],
                               fmin=settings["fmin"], fmax=settings["fmax"]).T
    have = model.logmel_extractor.melW.detach().numpy()
    d = float(np.abs(have - want).max()) if have.shape == want.shape else float("inf")
    print(f"checkpoint mel matrix {have.shape} vs librosa.filters.mel with these settings: max abs diff {d:.2e}")
    if d > 1e-3:
        raise SystemExit("the checkpoint's mel matrix is not librosa's for --sample-rate/--n-fft/--fmin/--fmax")


def tiny_model(seed: int, Cnn14, ConvBlock) -> nn.Module:
    """`Cnn14` (32 kHz front end, 64 mels, bn0) with its six ConvBlocks
    rebuilt at TINY_WIDTHS and fc1 32 -> 32; batch-norm statistics and
    affine parameters randomised so every one is exercised."""
    torch.manual_seed(seed)
    model = Cnn14(sample_rate=SAMPLE_RATE, window_size=N_FFT, hop_size=HOP, mel_bins=N_MELS,
                  fmin=FMIN, fmax=FMAX, classes_num=CLASSES)
    c_in = 1
    for i, c in enumerate(TINY_WIDTHS):
        setattr(model, f"conv_block{i + 1}", ConvBlock(in_channels=c_in, out_channels=c))
        c_in = c
    model.fc1 = nn.Linear(c_in, c_in)
    model.fc_audioset = nn.Linear(c_in, CLASSES)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                if name == "bn0":  # dB values: centre and scale them
                    m.running_mean.copy_(-40.0 + 5.0 * torch.randn(c, generator=g))
                    m.running_var.copy_(300.0 * (1.0 + 0.3 * torch.rand(c, generator=g)))
                else:
                    m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                    m.running_var.copy_(1.0 + 0.5 * torch.rand(c, generator=g))
                m.weight.copy_(1.0 + 0.1 * torch.randn(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
        model.fc1.bias.copy_(0.1 * torch.randn(c_in, generator=g))
    return model.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "(none: PANNs checkpoints are files, use --checkpoint)")
    src.add_argument("--checkpoint", help="a CNN14 checkpoint file, e.g. Cnn14_mAP=0.431.pth")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--unsafe-load", action="store_true",
                    help="allow full unpickling of a checkpoint that weights_only=True refuses (trusted files only)")
    ap.add_argument("--sample-rate", type=int, default=SAMPLE_RATE)
    ap.add_argument("--n-fft", type=int, default=N_FFT)
    ap.add_argument("--hop", type=int, default=HOP)
    ap.add_argument("--fmin", type=float, default=FMIN)
    ap.add_argument("--fmax", type=float, default=FMAX)
    ap.add_argument("--feature-tol", type=float, default=1e-3, help="bound on |in-module log-mel - references| (dB)")
    args = ap.parse_args()
    if args.model:
        raise SystemExit("PANNs checkpoints are not on a model hub: pass the file with --checkpoint")

    torch.set_grad_enabled(False)
    models = panns_models()
    vers = harness.versions(transformers=None, **{"panns-inference": harness.package_version("panns-inference"),
                                                  "torchlibrosa": harness.package_version("torchlibrosa"),
                                                  "librosa": harness.package_version("librosa")})
    if args.tiny:
        sr, n_fft, hop, fmin, fmax = SAMPLE_RATE, N_FFT, HOP, FMIN, FMAX
    else:
        sr, n_fft, hop, fmin, fmax = args.sample_rate, args.n_fft, args.hop, args.fmin, args.fmax
    settings = dict(sr=sr, n_fft=n_fft, hop=hop, n_mels=N_MELS, fmin=fmin, fmax=fmax)

    if args.tiny:
        model = tiny_model(args.seed, models.Cnn14, models.ConvBlock)
        meta = harness.tiny_meta(args, "panns-cnn14", "panns", vers)
        window_s = EXPECTED_SAMPLES / SAMPLE_RATE
    else:
        state = load_checkpoint(args.checkpoint, args.unsafe_load)
        classes = state["fc_audioset.weight"].shape[0] if "fc_audioset.weight" in state else CLASSES
        model = models.Cnn14(sample_rate=sr, window_size=n_fft, hop_size=hop, mel_bins=N_MELS,
                             fmin=fmin, fmax=fmax, classes_num=classes)
        model.load_state_dict(state, strict=True)
        model.eval()
        check_checkpoint_frontend(model, settings)
        meta = harness.checkpoint_meta(args, "panns", "panns", "panns-cnn14", LICENCE, vers)
        window_s = WINDOW_S
    harness.set_window(meta, args, sr, window_s)

    wrapped = Cnn14AllLayers(model.float().eval(), n_fft, hop).eval()
    print(f"{meta.model_id}: {sr} Hz, n_fft {n_fft}, hop {hop}, {N_MELS} mels {fmin:g}-{fmax:g} Hz, "
          f"widths {[b.conv1.out_channels for b in wrapped.blocks]}, embedding {wrapped.fc1.out_features}; "
          f"rows under {wrapped.min_samples} samples are zero-padded; window_s {meta.window_s}; hop_s {meta.hop_s}")

    win = int(round((meta.window_s or WINDOW_S) * sr))
    # Features: the window, an odd length, the shortest unpadded row.
    ok = check_features(wrapped, model, settings, [win, int(3.3 * sr) + 17, wrapped.min_samples], args.feature_tol)
    if args.tiny:
        # The tiny window is short; the released 10 s setting too.
        ok &= check_features(wrapped, model, settings, [int(WINDOW_S * sr)], args.feature_tol, seed=3)
    # Window, odd length, shortest unpadded row, a padded row.
    ok &= check_layers(wrapped, model, [win, int(1.3 * sr) + 5, wrapped.min_samples, 5000], args.tol)
    if not ok:
        print("VERIFY FAILED (front end / layers)")
        return 1

    # The window, shorter and odd lengths, the shortest unpadded row, padded
    # rows (one sample, a quarter of the minimum), a row longer than the window.
    checks = [(2, win), (3, int(0.73 * win) + 3), (1, wrapped.min_samples), (2, wrapped.min_samples // 4 + 1),
              (1, 1), (2, win + sr // 3)]
    return harness.finish_export(wrapped, meta, args, win, checks, EXPECTED_SAMPLES, device_check=True)


if __name__ == "__main__":
    sys.exit(main())
