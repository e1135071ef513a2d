#!/usr/bin/env python3
"""Export an Audio Spectrogram Transformer (AST, `transformers.ASTModel`) as a
TorchScript module for repbench's `kind = "torchscript"` encoder.

What it does
    Loads an AST checkpoint (or, with `--tiny`, builds a random-weights
    `ASTModel` from a tiny config), wraps it so that it takes raw 16 kHz audio,
    computes AST's Kaldi-style log-mel filter bank itself and returns every
    layer, then hands it to `harness.export()` (trace, save, reload, compare
    with eager at several input lengths, sidecar, TOML block). Before that it
    checks the in-module features against transformers' `ASTFeatureExtractor`
    on random audio of several lengths (exit 1 above `--feature-tol`, default
    1e-4 in log-mel units, i.e. before the mean/std normalisation), and the module's layers against
    the plain transformers pipeline (extractor, then `ASTModel`). `--tiny`
    also writes `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at 16 kHz (the extractor's sampling_rate), in
      [-1, 1] as the extractor gets it (it does not scale to 16-bit integers).
      batch and samples are dynamic, samples >= 1.
    * features, inside the module, as `ASTFeatureExtractor` computes them
      (`torchaudio.compliance.kaldi.fbank(..., window_type="hanning",
      num_mel_bins=128)` with Kaldi's defaults; transformers' numpy fallback
      reproduces it): frames of 400 samples (25 ms) every 160 (10 ms), only
      frames that fit entirely (Kaldi's snip_edges); per frame: dither 0,
      DC removal (subtract the frame mean), pre-emphasis 0.97
      (x[i] - 0.97 x[i-1], x[0] * 0.03), symmetric Hann window of 400 ("hanning";
      note: NOT Kaldi's default "povey" window, which AST does not use),
      zero-padded to a 512-point FFT, power spectrum, Kaldi mel bank
      (num_mel_bins triangles on the 1127 ln(1 + f/700) scale, 20 Hz to
      8 kHz, no normalisation), natural log of max(mel, float32 eps). Then
      the frame axis is zero-padded or cut to max_length frames (1024 =
      10.24 s of frames for the released models) and, if the extractor's
      do_normalize is set (it is for the released models), normalised with
      the checkpoint's constants: (x - mean) / (2 * std) (AudioSet:
      mean -4.2677393, std 4.5689974). Padding frames hold 0 before that
      normalisation, exactly as the extractor pads. Computed in float64
      (window included) like the extractor's numpy path, returned as
      float32: with a float32 window and FFT the weakest (lowest) mel bins
      were off by up to 3e-4 in log units; in float64 the features match the
      extractor to one float32 rounding step (1.2e-7).
    * short and long inputs: the transformer only accepts exactly
      max_length frames (its positional table is fixed), so a row shorter
      than 400 + (max_length - 1) * 160 samples (164,080 = 10.255 s) is
      padded with such zero frames, as the extractor does, and a longer row
      is cut to that length (the extractor truncates the frames the same
      way). No attention mask is used (AST has none): padding frames take
      part in attention, as in AST's own training and in transformers.
    * time axis: the conv patch embedding cuts the [mels x frames] image into
      16 x 16 patches with strides (frequency_stride, time_stride) = (10, 10),
      giving a grid of f_dim x t_dim patches (12 x 101 for the released
      models) plus the CLS and distillation tokens. The hidden layers are
      returned per patch *column*: the mean over the f_dim frequency patches
      of a column, in time order, so one time step = time_stride frames
      (100 ms; each column covers 16 frames = 0.175 s). Only columns that
      start inside the real audio are returned (column j starts at sample
      1600 * j), i.e.
          time = min(ceil(samples / 1600), t_dim)
      (101 for a full 10.24 s window). Mean pooling over this axis is the
      mean over all patch tokens of those columns. The two special tokens
      are not part of the time axis; they are returned as `pooled`.
    * outputs, in this order:
        hidden_0  input of the first transformer layer (patch embedding +
                  positions), [B, T, hidden_size];
        hidden_i  output of transformer layer i, i = 1 .. num_hidden_layers
                  (AST is pre-norm: no LayerNorm after the last layer);
        final     the model's final LayerNorm of hidden_N (transformers'
                  `last_hidden_state`), [B, T, hidden_size];
        pooled    [B, 1, hidden_size]: (CLS + distillation token) / 2 of
                  `last_hidden_state`, transformers' `pooler_output`, the
                  vector AST's AudioSet classifier head reads.
      768 wide for the released base models; 12 layers.

Window (sidecar window_s; override with --window-s / --hop-s)
    The whole seconds that fit into max_length frames: 10 s for the released
    models (1024 frames = 10.24 s; AST was trained on 10 s AudioSet clips
    padded to 1024 frames). hop = window. Shorter windows work (padded), but
    the padding then takes part in attention as explained above.

How to run
    Real models (needs internet for the hub; not testable offline):
        python scripts/zoo/export_ast.py --model MIT/ast-finetuned-audioset-10-10-0.4593 --out models/zoo
      --revision pins a hub commit (the resolved commit is recorded either
      way); --name sets the file stem (default: the id's last part, lower
      case); --licence overrides the licence read from the model card. The
      AudioSet classifier head of the checkpoint is not exported.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_ast.py --tiny --out models/zoo/tiny
      128 mels (the released frontend), max_length 100 frames (1 s window),
      hidden 32, 2 layers, 2 heads, the released 16 x 16 patches with strides
      10 (grid 12 x 9).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from typing import Dict, List

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import transformers  # noqa: E402
from transformers.audio_utils import mel_filter_bank  # noqa: E402
from transformers.models.audio_spectrogram_transformer import (  # noqa: E402
    feature_extraction_audio_spectrogram_transformer as ast_fe_module,
)
from transformers.utils import is_speech_available  # noqa: E402

SAMPLE_RATE = 16000
# Kaldi fbank settings of ASTFeatureExtractor (torchaudio defaults).
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_LENGTH = 512  # next power of two
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
LOG_FLOOR = float(np.finfo(np.float32).eps)  # 1.1920929e-07, Kaldi's / the extractor's floor
# Samples per row of the fixture input (2 rows of 0.5 s).
EXPECTED_SAMPLES = 8000


class KaldiFbank(nn.Module):
    """Raw 16 kHz audio [B, samples] -> ASTFeatureExtractor's input_values
    [B, max_length, num_mel_bins] (see the module docstring)."""

    def __init__(self, fe):
        super().__init__()
        sr = int(fe.sampling_rate)
        self.n_mels = int(fe.num_mel_bins)
        self.max_length = int(fe.max_length)
        self.do_normalize = bool(fe.do_normalize)
        self.mean = float(fe.mean)
        self.std = float(fe.std)
        # Samples that make exactly max_length frames.
        self.n_samples = FRAME_LENGTH + (self.max_length - 1) * FRAME_SHIFT
        mels = mel_filter_bank(
            num_frequency_bins=FFT_LENGTH // 2 + 1, num_mel_filters=self.n_mels, min_frequency=LOW_FREQ,
            max_frequency=sr // 2, sampling_rate=sr, norm=None, mel_scale="kaldi",
            triangularize_in_mel_space=True,
        )  # [257, n_mels], float64: the extractor's own bank (numpy path)
        # harness casts floating buffers to float32; the bank is used in
        # float64 (rounding its weights changes each mel energy by < 1e-7,
        # relative).
        self.register_buffer("mel", torch.from_numpy(mels).to(torch.float32).contiguous())
        # The window is computed in float64 from an integer buffer: a
        # float32-rounded window leaks enough to move the weakest mel bins
        # (the lowest ones, ~80 dB under the frame's peak after
        # pre-emphasis) by up to ~3e-4 in log units.
        self.register_buffer("window_pos", torch.arange(FRAME_LENGTH))
        # Last sample (exclusive) of each frame; a frame is real when it fits.
        self.register_buffer("frame_end", torch.arange(self.max_length) * FRAME_SHIFT + FRAME_LENGTH)

    def window(self) -> torch.Tensor:
        """Symmetric Hann window of FRAME_LENGTH in float64, as
        np.hanning / torch.hann_window(periodic=False)."""
        return 0.5 - 0.5 * torch.cos((2.0 * math.pi / (FRAME_LENGTH - 1)) * self.window_pos.to(torch.float64))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        n = wave.shape[1]
        # float64 throughout (the extractor's numpy path is float64 with a
        # complex64 FFT): in float32 the low mel bins, which pre-emphasis
        # leaves with little energy, drift by up to ~1e-3 in log units.
        x = F.pad(wave.to(torch.float64), (0, self.n_samples - n))  # pad with zeros or cut
        frames = x.unfold(1, FRAME_LENGTH, FRAME_SHIFT)  # [B, max_length, 400]
        frames = frames - frames.mean(dim=-1, keepdim=True)
        frames = torch.cat([frames[..., :1] * (1.0 - PREEMPHASIS),
                            frames[..., 1:] - PREEMPHASIS * frames[..., :-1]], dim=-1)
        window = self.window()
        spec = torch.fft.rfft(frames * window, n=FFT_LENGTH)
        power = spec.real ** 2 + spec.imag ** 2
        logmel = torch.clamp(power @ self.mel.to(torch.float64), min=LOG_FLOOR).log()
        # Frames past the real audio are the extractor's zero padding.
        real = (self.frame_end <= n).to(logmel.dtype)
        logmel = logmel * real[None, :, None]
        if self.do_normalize:
            logmel = (logmel - self.mean) / (self.std * 2.0)
        return logmel.to(wave.dtype)


class ASTAllLayers(nn.Module):
    """Raw 16 kHz audio -> Kaldi fbank (as ASTFeatureExtractor) -> every AST
    layer, per patch column, trimmed to the columns that start in real audio."""

    def __init__(self, model: nn.Module, fe):
        super().__init__()
        cfg = model.config
        self.model = model
        self.frontend = KaldiFbank(fe)
        if self.frontend.n_mels != cfg.num_mel_bins or self.frontend.max_length != cfg.max_length:
            raise SystemExit(f"feature extractor ({self.frontend.n_mels} mels, {self.frontend.max_length} frames) "
                             f"does not fit the model ({cfg.num_mel_bins}, {cfg.max_length})")
        self.f_dim, self.t_dim = model.embeddings.get_shape(cfg)
        # Samples between the starts of two patch columns.
        self.column_hop = FRAME_SHIFT * int(cfg.time_stride)

    def columns(self, h: torch.Tensor) -> torch.Tensor:
        """[B, 2 + f_dim * t_dim, D] tokens -> [B, t_dim, D]: patch tokens
        (frequency-major, as the conv output is flattened) averaged over
        frequency."""
        b, _, d = h.shape
        return h[:, 2:].reshape(b, self.f_dim, self.t_dim, d).mean(dim=1)

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        keep = (wave.shape[1] + self.column_hop - 1) // self.column_hop
        h = self.model.embeddings(self.frontend(wave))
        states = [h]
        for layer in self.model.layers:
            h = layer(h, None)
            states.append(h)
        final = self.model.layernorm(h)
        layers: Dict[str, torch.Tensor] = {}
        for i, s in enumerate(states):
            layers[f"hidden_{i}"] = self.columns(s)[:, :keep]
        layers["final"] = self.columns(final)[:, :keep]
        layers["pooled"] = ((final[:, 0] + final[:, 1]) / 2).unsqueeze(1)
        return layers


@contextlib.contextmanager
def numpy_path():
    """Makes ASTFeatureExtractor take its numpy implementation (float64)
    inside the block even where torchaudio is installed (its torchaudio
    path is float32, whose own rounding in the weakest mel bins is of the
    order of the bound below). Without torchaudio, the numpy path is what
    the extractor always uses."""
    saved = ast_fe_module.is_speech_available
    ast_fe_module.is_speech_available = lambda: False
    try:
        yield
    finally:
        ast_fe_module.is_speech_available = saved


def reference_extractor(fe):
    """A copy of `fe` built on the numpy path (use it inside numpy_path())."""
    with numpy_path():
        return transformers.ASTFeatureExtractor(
            sampling_rate=fe.sampling_rate, num_mel_bins=fe.num_mel_bins, max_length=fe.max_length,
            do_normalize=fe.do_normalize, mean=fe.mean, std=fe.std)


def check_features(frontend: KaldiFbank, fe, lengths: List[int], tol: float, seed: int = 7) -> bool:
    """In-module features vs ASTFeatureExtractor.__call__ (numpy path) on
    random audio. The bound applies in log-mel units (natural log of the
    mel energy, before the (x - mean) / (2 std) normalisation): 1e-4 =
    0.01 % of a mel energy, two orders of magnitude above float32 rounding
    of the features (about 1e-6 in these units), far below anything a model
    resolves. Where torchaudio is installed, the difference to its
    (float32) path is printed too, without a bound."""
    scale = 2.0 * frontend.std if frontend.do_normalize else 1.0
    ref_fe = reference_extractor(fe)

    def check_one(n: int, wave: torch.Tensor) -> bool:
        rows = [r.numpy() for r in wave]
        with torch.no_grad():
            mine = frontend(wave).numpy()
        with numpy_path():
            ref = ref_fe(rows, sampling_rate=fe.sampling_rate, return_tensors="np")["input_values"]
        d = harness.feature_diff(mine, ref)
        if d is None:
            return False
        extra = ""
        if is_speech_available():
            ta = fe(rows, sampling_rate=fe.sampling_rate, return_tensors="np")["input_values"]
            extra = f"; vs its torchaudio path {float(np.abs(mine - ta).max()) * scale:.2e} (not bounded)"
        print(f"  features {tuple(mine.shape)} for {n} samples: max abs diff vs extractor (numpy path) "
              f"{d:.2e} (= {d * scale:.2e} in log-mel units){extra}")
        return d * scale <= tol

    return harness.check_lengths(f"fbank check (bound {tol:.0e} in log-mel units)", lengths, check_one, seed)


def check_pipeline(module: ASTAllLayers, fe, lengths: List[int], tol: float, seed: int = 11) -> bool:
    """Module outputs vs the plain transformers pipeline (extractor ->
    ASTModel with output_hidden_states), tokens turned into columns the same
    way and cut to the same columns."""
    ref_fe = reference_extractor(fe)

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = module(wave)
            with numpy_path():
                feats = ref_fe([r.numpy() for r in wave], sampling_rate=fe.sampling_rate, return_tensors="pt")
            ref = module.model(feats["input_values"], output_hidden_states=True, return_dict=True)
        keep = min(-(-n // module.column_hop), module.t_dim)
        refs = {f"hidden_{j}": module.columns(h)[:, :keep] for j, h in enumerate(ref.hidden_states)}
        refs["final"] = module.columns(ref.last_hidden_state)[:, :keep]
        refs["pooled"] = ref.pooler_output.unsqueeze(1)
        if list(refs) != list(mine):
            print(f"FAIL: layers {list(mine)}, transformers {list(refs)}")
            return False
        worst = max((mine[k] - refs[k]).abs().max().item() for k in refs)
        print(f"  {n} samples: module vs extractor + ASTModel, max abs diff {worst:.2e} "
              f"({len(mine)} layers, time {mine['hidden_0'].shape[1]})")
        return worst <= tol and mine["hidden_0"].shape[1] == keep

    return harness.check_lengths(f"pipeline check (bound {tol:.0e})", lengths, check_one, seed)


def tiny_model(seed: int):
    """ASTModel with a tiny config (the released frontend: 128 mels, 16 x 16
    patches, strides 10; max_length 100 frames = 1 s; width 32, 2 layers);
    returns (model, feature extractor)."""
    cfg = transformers.ASTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        patch_size=16, frequency_stride=10, time_stride=10, max_length=100, num_mel_bins=128,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    model = transformers.ASTModel(cfg)
    # CLS/distillation tokens and positions start at zero, norms at 1/0:
    # perturb every parameter so a test catches a dropped one.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    fe = transformers.ASTFeatureExtractor(num_mel_bins=128, max_length=100)
    return model.eval(), fe


def default_window(fe) -> float:
    """Whole seconds that fit in max_length frames (10 s for 1024 frames)."""
    span = (FRAME_LENGTH + (int(fe.max_length) - 1) * FRAME_SHIFT) / int(fe.sampling_rate)
    return float(math.floor(span)) if span >= 1 else span


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "MIT/ast-finetuned-audioset-10-10-0.4593")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--feature-tol", type=float, default=1e-4,
                    help="bound on |in-module features - extractor|, in log-mel units (before normalisation)")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    vers = harness.versions(transformers=transformers.__version__)

    if args.tiny:
        model, fe = tiny_model(args.seed)
        meta = harness.tiny_meta(args, "ast", "audio-spectrogram-transformer", vers)
    else:
        model_id = args.model
        fe = transformers.ASTFeatureExtractor.from_pretrained(model_id, revision=args.revision)
        # The base model of an ASTForAudioClassification checkpoint; the
        # classifier head is dropped.
        model = transformers.ASTModel.from_pretrained(model_id, revision=args.revision)
        meta = harness.hub_meta(args, model.config.model_type, vers)
        c = model.config
        print(f"{model_id}: {c.num_mel_bins} mels, max_length {c.max_length}, {c.num_hidden_layers} layers, "
              f"hidden {c.hidden_size}, patches {c.patch_size} strides ({c.frequency_stride}, {c.time_stride}); "
              f"extractor mean {fe.mean} std {fe.std} do_normalize {fe.do_normalize}")
    sample_rate = int(fe.sampling_rate)
    if sample_rate != SAMPLE_RATE:
        print(f"note: feature extractor sampling_rate {sample_rate}")

    wrapped = ASTAllLayers(model.float().eval(), fe).eval()
    n = wrapped.frontend.n_samples
    harness.set_window(meta, args, sample_rate, default_window(fe))
    print(f"model input {wrapped.frontend.max_length} frames = {n} samples ({n / sample_rate:g} s, padded inside); "
          f"grid {wrapped.f_dim} x {wrapped.t_dim}; window_s {meta.window_s}; hop_s {meta.hop_s}")

    # Features: the full window, shorter and odd lengths, one sample over,
    # the shortest row with one frame.
    ok = check_features(wrapped.frontend, fe, [n, n // 3 + 7, sample_rate // 4 + 1, n + 1, FRAME_LENGTH],
                        args.feature_tol)
    if args.tiny:
        # The tiny extractor pads to 1 s; check the released 10.24 s setup too.
        full = transformers.ASTFeatureExtractor()
        print("released setup (128 mels, 1024 frames, AudioSet mean/std):")
        ok &= check_features(KaldiFbank(full), full, [KaldiFbank(full).n_samples, 3 * sample_rate + 5],
                             args.feature_tol)
    ok &= check_pipeline(wrapped, fe, [n, sample_rate // 2 + 3], args.tol)
    if not ok:
        print("VERIFY FAILED (features)")
        return 1

    # A row too short for any frame is all padding.
    return harness.finish_export(wrapped, meta, args, n, harness.fixed_input_checks(n, sample_rate),
                                 EXPECTED_SAMPLES, device_check=True)


if __name__ == "__main__":
    sys.exit(main())
