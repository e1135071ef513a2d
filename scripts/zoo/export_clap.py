#!/usr/bin/env python3
"""Export the audio tower of a CLAP model (`transformers.ClapModel`:
`audio_model`, an HTSAT Swin transformer, plus `audio_projection`) as a
TorchScript module for repbench's `kind = "torchscript"` encoder.

What it does
    Loads a CLAP checkpoint (or, with `--tiny`, builds a random-weights
    `ClapAudioModelWithProjection` from a tiny HTSAT config), keeps the audio
    encoder and its projection, wraps them so that they take raw 48 kHz audio,
    compute CLAP's log-mel spectrogram themselves and return every Swin block,
    then hands the wrapper to `harness.export()` (trace, save, reload, compare
    with eager at several input lengths, sidecar, TOML block). Before that it
    checks the in-module features against transformers' `ClapFeatureExtractor`
    (numpy, float64) on random audio of several lengths (exit 1 above
    `--feature-tol`, default 1e-4 dB), and the module's outputs against the
    plain transformers pipeline (extractor, then the audio model with
    `output_hidden_states`, and the projection; for a real checkpoint also
    `ClapModel.get_audio_features`). `--tiny` also writes
    `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at 48 kHz (the extractor's sampling_rate).
      batch and samples are dynamic, samples >= 1.
    * length handling, inside the module, as `ClapFeatureExtractor` does with
      the checkpoint's settings (laion/clap-htsat-unfused: truncation
      "rand_trunc", padding "repeatpad"), for max_length = max_length_s *
      48000 = 480,000 samples (10 s):
        - shorter rows ("repeatpad"): the row is repeated floor(480000 /
          samples) times and the rest zero-padded ("repeat": repeated and
          cut; "pad": zero-padded), exactly as the extractor;
        - longer rows: the extractor takes a *random* 10 s crop
          ("rand_trunc"); the module is deterministic and takes the first
          10 s. repbench's windows are 10 s (the sidecar's window_s), so
          rows are never longer; its zero-padded last window is a full-length
          row and so is not repeated.
      Fused checkpoints (`enable_fusion = true`, e.g. laion/clap-htsat-fused,
      extractor truncation "fusion") are refused: their input is four mel
      stacks with a random crop per clip and an `is_longer` flag the
      extractor sets at random for short batches, which one deterministic
      window cannot reproduce.
    * features (the extractor's `_np_extract_fbank_features`): centred STFT
      with reflect padding, periodic Hann window of fft_window_size = 1024,
      hop 480 (10 ms), power spectrum, mel bank with the extractor's settings
      (feature_size = 64 mels, frequency_min .. frequency_max; Slaney scale
      and norm for "rand_trunc", the HTK bank for "fusion"), floor 1e-10,
      10 log10 (dB, no top_db clipping). 1001 frames for 10 s. Computed in
      float64 like the extractor and returned as float32.
    * model input: as `ClapAudioModel` does: BatchNorm over the mel bins,
      frames resized to spec_size * freq_ratio = 1024 (bicubic, as
      transformers; 1001 -> 1024), the [1024 x 64] spectrogram folded into a
      256 x 256 image (4 time chunks of 256 frames stacked along frequency),
      4 x 4 patch embedding, then the Swin stages. No attention mask: the
      zero-padded tail of a "repeatpad" row takes part in attention, as in
      CLAP.
    * time axis: Swin tokens form an H x W grid per stage whose rows are
      (time chunk, frequency band) and columns time inside the chunk. Each
      layer is returned in time order, averaged over the frequency bands
      (the same regrouping transformers applies to `last_hidden_state`):
      T_s = 4 * W_s steps over the 10 s window, i.e. 256 steps of 39 ms after
      the patch embedding and in stage 1, 128 / 64 / 32 steps (78 / 156 /
      313 ms) in stages 2 / 3 / 4. Only steps that start inside the first
      copy of the audio are returned (step j of a stage with k resized frames
      per step starts at resized frame j * k, i.e. at STFT frame
      j * k * (F - 1) / 1023 with F = 1001 STFT frames, centred on sample
      480 times that), so
          time_s = min(ceil(samples * 1023 / (480 * k_s * 1000)), T_s)
      (26 steps of 256 for a 1 s row; all of them for 10 s). Mean pooling
      over this axis is the mean over all tokens of those steps.
    * outputs, in this order (released HTSAT-base widths):
        hidden_0       patch embedding (after its LayerNorm), [B, T_1, 96];
        hidden_1 .. hidden_12
                       output of each Swin block (2, 2, 6, 2 blocks per
                       stage: widths 96, 96, 192, 192, 384 x 6, 768, 768),
                       before the stage's patch merging;
        final          the encoder's final LayerNorm of hidden_12, [B, T_4, 768]
                       (transformers' `last_hidden_state`, regrouped in time);
        pooled         [B, 1, 768]: mean of `final` over all tokens of the
                       whole 10 s input (transformers' `pooler_output`);
        projection     [B, 1, 512]: `audio_projection(pooled)`, L2-normalised
                       = `ClapModel.get_audio_features`, CLAP's joint
                       audio-text embedding.
      `pooled` and `projection` always see the whole (repeat-padded) input.

Window (sidecar window_s; override with --window-s / --hop-s)
    max_length_s = 10 s, the extractor's fixed input (CLAP was trained on
    10 s crops); hop = window. Shorter rows are repeat-padded to 10 s.

How to run
    Real models (needs internet for the hub; not testable offline):
        python scripts/zoo/export_clap.py --model laion/clap-htsat-unfused --out models/zoo
      --revision pins a hub commit (the resolved commit is recorded either
      way); --name sets the file stem (default: the id's last part, lower
      case); --licence overrides the licence read from the model card. The
      text tower is not exported.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_clap.py --tiny --out models/zoo/tiny
      48 kHz, 1024-point STFT, hop 480 as released, but 16 mels, max_length_s
      1 (window 1 s, 101 frames resized to 256), spec_size 64 (image 64 x 64,
      4 chunks), 2 stages of 2 blocks (widths 16, 32; window_size 8, so the
      first stage uses shifted windows and the second, 8 x 8, one window as
      HTSAT's last stage does), projection 16.
"""

from __future__ import annotations

import argparse
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

SAMPLE_RATE = 48000
MEL_FLOOR = 1e-10  # the extractor's mel floor = power_to_db's min_value (-100 dB)
# Samples per row of the fixture input (2 rows of 0.3 s: repeated 3 times,
# then 0.1 s of zeros, in the tiny model's 1 s input).
EXPECTED_SAMPLES = 14400


class ClapFrontend(nn.Module):
    """Raw 48 kHz audio [B, samples] -> ClapFeatureExtractor's input_features
    [B, 1, frames, n_mels] (dB) for one window (see the module docstring)."""

    def __init__(self, fe):
        super().__init__()
        if fe.truncation == "fusion":
            raise SystemExit("feature extractor truncation 'fusion' (a fused checkpoint) is not supported")
        if fe.truncation != "rand_trunc":
            raise SystemExit(f"unknown feature extractor truncation {fe.truncation!r}")
        if fe.padding not in ("repeatpad", "repeat", "pad"):
            raise SystemExit(f"unknown feature extractor padding {fe.padding!r}")
        self.padding = str(fe.padding)
        self.n_fft = int(fe.fft_window_size)
        self.hop = int(fe.hop_length)
        self.n_samples = int(fe.nb_max_samples)
        self.n_frames = self.n_samples // self.hop + 1
        mels = np.asarray(fe.mel_filters_slaney)  # [n_fft // 2 + 1, n_mels], float64 ("rand_trunc")
        self.n_mels = int(mels.shape[1])
        # harness casts floating buffers to float32; the bank is used in
        # float64 (rounding its weights changes each mel energy by < 1e-7,
        # relative). The window is computed in float64 from an integer
        # buffer: a float32-rounded window leaks into the weakest bins.
        self.register_buffer("mel_t", torch.from_numpy(mels).to(torch.float32).t().contiguous())
        self.register_buffer("window_pos", torch.arange(self.n_fft))
        self.register_buffer("index", torch.arange(self.n_samples))

    def window(self) -> torch.Tensor:
        """Periodic Hann window of n_fft in float64, as the extractor's
        window_function(n_fft, "hann")."""
        return 0.5 - 0.5 * torch.cos((2.0 * math.pi / self.n_fft) * self.window_pos.to(torch.float64))

    def padded(self, wave: torch.Tensor) -> torch.Tensor:
        """Repeat/zero-pad (or cut) every row to n_samples, as the extractor."""
        n = torch._shape_as_tensor(wave)[1]  # a traced value, so lengths stay dynamic
        if self.padding == "repeatpad":
            real = torch.clamp(self.n_samples // n, min=1) * n  # whole copies
        elif self.padding == "repeat":
            real = torch.clamp(n, min=self.n_samples)
        else:  # "pad"
            real = n
        x = wave[:, self.index % n]
        return x * (self.index < real).to(x.dtype)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.padded(wave.to(torch.float64))
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window(), center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2  # [B, n_fft // 2 + 1, frames]
        mel = torch.clamp(self.mel_t.to(torch.float64) @ power, min=MEL_FLOOR)
        db = 10.0 * torch.log10(mel)
        return db.transpose(1, 2).unsqueeze(1).to(wave.dtype)


class ClapAllLayers(nn.Module):
    """Raw 48 kHz audio -> CLAP log-mel -> every HTSAT block in time order,
    the pooled output and the normalised projection."""

    def __init__(self, audio_model: nn.Module, projection: nn.Module, fe):
        super().__init__()
        enc = audio_model.audio_encoder
        cfg = audio_model.config
        if cfg.enable_fusion:
            raise SystemExit("fused CLAP checkpoints (enable_fusion = true) are not supported")
        self.audio_model = audio_model
        self.projection = projection
        self.frontend = ClapFrontend(fe)
        if self.frontend.n_mels != cfg.num_mel_bins:
            raise SystemExit(f"feature extractor has {self.frontend.n_mels} mels, the model {cfg.num_mel_bins}")
        self.freq_ratio = int(enc.freq_ratio)
        self.spec_width = int(cfg.spec_size) * self.freq_ratio  # resized frames
        if self.frontend.n_frames > self.spec_width:
            raise SystemExit(f"{self.frontend.n_frames} frames do not fit the model's {self.spec_width}")
        self.resolutions = [tuple(int(v) for v in r) for r in enc.input_resolutions]
        for h, _ in self.resolutions:
            if h % self.freq_ratio:
                raise SystemExit(f"grid height {h} is not a multiple of freq_ratio {self.freq_ratio}")
        self._cache_attention_masks(enc)
        # Per stage: (steps over the window, divisor for the number kept).
        self.steps = []
        for _, w in self.resolutions:
            t = self.freq_ratio * w
            k = self.spec_width // t  # resized frames per step
            self.steps.append((t, self.frontend.hop * k * (self.frontend.n_frames - 1)))

    def _cache_attention_masks(self, enc: nn.Module) -> None:
        """The shifted-window attention masks depend only on the (fixed)
        grid, but transformers builds them from `torch.arange(...,
        device=...)`, which a trace records with the tracing device (CPU)
        baked in. Each block's mask is therefore computed once here, by
        transformers' own `get_attn_mask`, and stored as a buffer, so it
        follows the module to another device; the block returns that buffer
        (and, outside tracing, checks it is asked for the same grid)."""
        n_masks = 0
        for s, stage in enumerate(enc.layers):
            res = self.resolutions[s]
            for b, block in enumerate(stage.blocks):
                block.set_shift_and_window_size(res)  # what its first forward does
                ws = int(block.window_size)
                hp, wp = -(-res[0] // ws) * ws, -(-res[1] // ws) * ws
                mask = block.get_attn_mask(hp, wp, dtype=torch.float32, device=torch.device("cpu"))
                if mask is None:
                    continue
                name = f"attn_mask_{s}_{b}"
                self.register_buffer(name, mask.contiguous())
                block.get_attn_mask = self._mask_getter(name, hp, wp)
                n_masks += 1
        self.n_cached_masks = n_masks

    def _mask_getter(self, name: str, hp: int, wp: int):
        def get_attn_mask(height, width, dtype, device):
            if not torch.jit.is_tracing() and (int(height), int(width)) != (hp, wp):
                raise RuntimeError(f"{name}: asked for a {height} x {width} grid, cached {hp} x {wp}")
            return getattr(self, name).to(dtype)
        return get_attn_mask

    def in_time(self, h: torch.Tensor, stage: int) -> torch.Tensor:
        """[B, H * W, C] Swin tokens (row-major, rows = (chunk, band)) ->
        [B, freq_ratio * W, C], averaged over the bands."""
        b, _, c = h.shape
        height, width = self.resolutions[stage]
        return h.reshape(b, self.freq_ratio, height // self.freq_ratio, width, c).mean(dim=2).reshape(
            b, self.freq_ratio * width, c)

    def keep(self, n, stage: int):
        """Steps that start inside the first copy of an n-sample row."""
        _, den = self.steps[stage]
        return (n * (self.spec_width - 1) + den - 1) // den

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        n = wave.shape[1]
        enc = self.audio_model.audio_encoder
        feats = self.frontend(wave)  # [B, 1, frames, mels]
        x = enc.batch_norm(feats.transpose(1, 3)).transpose(1, 3)
        h = enc.patch_embed(enc.reshape_mel2img(x), None)
        layers: Dict[str, torch.Tensor] = {"hidden_0": self.in_time(h, 0)[:, :self.keep(n, 0)]}
        i = 0
        for s, stage in enumerate(enc.layers):
            dims = self.resolutions[s]
            for block in stage.blocks:
                # always_partition=True: skip set_shift_and_window_size,
                # already applied in _cache_attention_masks (traced, it
                # would record a CPU tensor constant).
                h = block(h, dims, False, True)[0]
                i += 1
                layers[f"hidden_{i}"] = self.in_time(h, s)[:, :self.keep(n, s)]
            if stage.downsample is not None:
                h = stage.downsample(h, dims)
        last = len(self.resolutions) - 1
        final = enc.norm(h)
        layers["final"] = self.in_time(final, last)[:, :self.keep(n, last)]
        pooled = final.mean(dim=1)
        layers["pooled"] = pooled.unsqueeze(1)
        layers["projection"] = F.normalize(self.projection(pooled), dim=-1).unsqueeze(1)
        return layers


def reference_features(fe, wave: torch.Tensor) -> np.ndarray:
    """ClapFeatureExtractor on each row; a row longer than max_length is cut
    to its first max_length samples first (the extractor would crop at
    random)."""
    rows = [r.numpy()[: fe.nb_max_samples] for r in wave]
    return fe(rows, sampling_rate=fe.sampling_rate, return_tensors="np")["input_features"]


def check_features(frontend: ClapFrontend, fe, lengths: List[int], tol: float, seed: int = 7) -> bool:
    """In-module log-mel (dB) vs ClapFeatureExtractor on random audio. The
    bound, 1e-4 dB, is 0.0023 % of a mel energy; float32 rounding of the
    features (up to 100 dB in size) alone is about 4e-6 dB."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = frontend(wave).numpy()
        ref = reference_features(fe, wave)
        d = harness.feature_diff(mine, ref)
        if d is None:
            return False
        print(f"  features {tuple(mine.shape)} for {n} samples: max abs diff vs extractor {d:.2e} dB "
              f"(values {ref.min():.1f} .. {ref.max():.1f} dB)")
        return d <= tol

    return harness.check_lengths(f"log-mel check (bound {tol:.0e} dB)", lengths, check_one, seed)


def check_pipeline(module: ClapAllLayers, fe, lengths: List[int], tol: float, clap_model=None,
                   seed: int = 11) -> bool:
    """Module outputs vs the plain transformers pipeline: extractor ->
    ClapAudioModel(output_hidden_states, before downsampling) for the last
    block of each stage, last_hidden_state / pooler_output, and the
    normalised projection (also ClapModel.get_audio_features if given)."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = module(wave)
            feats = torch.from_numpy(reference_features(fe, wave)).float()
            ref = module.audio_model(input_features=feats, output_hidden_states=True,
                                     output_hidden_states_before_downsampling=True, return_dict=True)
            proj = F.normalize(module.projection(ref.pooler_output), dim=-1)
        pairs = []
        # hidden_states: patch embedding, then each stage's last block
        # ([B, C, H, W] reshaped forms).
        block = 0
        ends = [0]
        for stage in module.audio_model.audio_encoder.layers:
            block += len(stage.blocks)
            ends.append(block)
        for s, (end, hs) in enumerate(zip(ends, ref.hidden_states)):
            stage = max(s - 1, 0)
            tokens = hs.flatten(2).transpose(1, 2)
            pairs.append((f"hidden_{end}", module.in_time(tokens, stage)[:, :module.keep(n, stage)]))
        last = len(module.resolutions) - 1
        # last_hidden_state is [B, C, bands, T_last], already in time order.
        lhs = ref.last_hidden_state.mean(dim=2).transpose(1, 2)
        pairs.append(("final", lhs[:, :module.keep(n, last)]))
        pairs.append(("pooled", ref.pooler_output.unsqueeze(1)))
        pairs.append(("projection", proj.unsqueeze(1)))
        if clap_model is not None:
            pairs.append(("projection", clap_model.get_audio_features(input_features=feats).pooler_output.unsqueeze(1)))
        ok = True
        worst = 0.0
        for k, r in pairs:
            if mine[k].shape != r.shape:
                print(f"FAIL: {k} {tuple(mine[k].shape)}, transformers {tuple(r.shape)}")
                ok = False
                continue
            worst = max(worst, (mine[k] - r).abs().max().item())
        print(f"  {n} samples: module vs extractor + ClapAudioModel ({len(pairs)} comparisons), "
              f"max abs diff {worst:.2e} (time {mine['hidden_0'].shape[1]} / {mine['final'].shape[1]})")
        return ok and worst <= tol

    return harness.check_lengths(f"pipeline check (bound {tol:.0e})", lengths, check_one, seed)


def tiny_model(seed: int):
    """ClapAudioModelWithProjection with a tiny HTSAT config; returns
    (audio model, projection, feature extractor)."""
    cfg = transformers.ClapAudioConfig(
        num_mel_bins=16, spec_size=64, patch_size=4, patch_stride=(4, 4), window_size=8,
        depths=(2, 2), num_attention_heads=(2, 4), patch_embeds_hidden_size=16, hidden_size=32,
        projection_dim=16, mlp_ratio=2.0, enable_fusion=False, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, drop_path_rate=0.0,
    )
    torch.manual_seed(seed)
    model = transformers.ClapAudioModelWithProjection(cfg)
    # Perturb every parameter, and give the mel BatchNorm running statistics
    # other than 0 / 1, so a test catches a dropped one.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
        bn = model.audio_model.audio_encoder.batch_norm
        bn.running_mean.copy_(-40.0 + 5.0 * torch.randn(bn.running_mean.shape, generator=g))
        bn.running_var.copy_(100.0 * (1.0 + torch.rand(bn.running_var.shape, generator=g)))
    fe = transformers.ClapFeatureExtractor(
        feature_size=16, sampling_rate=SAMPLE_RATE, hop_length=480, max_length_s=1, fft_window_size=1024,
        frequency_min=50, frequency_max=14000, truncation="rand_trunc", padding="repeatpad",
    )
    return model.audio_model.eval(), model.audio_projection.eval(), fe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "laion/clap-htsat-unfused")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--feature-tol", type=float, default=1e-4, help="bound on |in-module log-mel - extractor| (dB)")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    vers = harness.versions(transformers=transformers.__version__)

    clap_model = None
    if args.tiny:
        audio_model, projection, fe = tiny_model(args.seed)
        meta = harness.tiny_meta(args, "clap", "clap", vers)
    else:
        model_id = args.model
        fe = transformers.ClapFeatureExtractor.from_pretrained(model_id, revision=args.revision)
        clap_model = transformers.ClapModel.from_pretrained(model_id, revision=args.revision).eval()
        audio_model, projection = clap_model.audio_model, clap_model.audio_projection
        meta = harness.hub_meta(args, clap_model.config.model_type, vers)
        c = audio_model.config
        print(f"{model_id}: {c.num_mel_bins} mels, spec_size {c.spec_size}, depths {tuple(c.depths)}, "
              f"width {c.patch_embeds_hidden_size} -> {c.hidden_size}, projection {c.projection_dim}, "
              f"fusion {c.enable_fusion}; extractor truncation {fe.truncation!r}, padding {fe.padding!r}, "
              f"{fe.frequency_min}-{fe.frequency_max} Hz, {fe.max_length_s} s")
    sample_rate = int(fe.sampling_rate)
    if sample_rate != SAMPLE_RATE:
        print(f"note: feature extractor sampling_rate {sample_rate}")

    wrapped = ClapAllLayers(audio_model.float().eval(), projection.float().eval(), fe).eval()
    n = wrapped.frontend.n_samples
    harness.set_window(meta, args, sample_rate, n / sample_rate)
    print(f"model input {n} samples ({n / sample_rate:g} s, {wrapped.frontend.n_frames} frames -> "
          f"{wrapped.spec_width}); steps per stage {[t for t, _ in wrapped.steps]}; window_s {meta.window_s}; "
          f"hop_s {meta.hop_s}")

    # Features: the full window, repeat-padded lengths (one that divides the
    # window, odd ones), one sample over (cut), very short rows.
    lengths = [n, n // 3 + 7, n // 4, sample_rate // 7 + 1, n + 1, 1000, 1]
    ok = check_features(wrapped.frontend, fe, lengths, args.feature_tol)
    if args.tiny:
        # The tiny extractor pads to 1 s with 16 mels; check the released
        # setup (laion/clap-htsat-unfused's preprocessor_config, as far as
        # known here: 64 mels, 50 Hz - 14 kHz, 10 s) too.
        full = transformers.ClapFeatureExtractor(frequency_min=50, frequency_max=14000,
                                                 truncation="rand_trunc", padding="repeatpad")
        print("released setup (64 mels, 10 s, rand_trunc, repeatpad):")
        ok &= check_features(ClapFrontend(full), full, [full.nb_max_samples, 3 * sample_rate + 5],
                             args.feature_tol)
    ok &= check_pipeline(wrapped, fe, [n, sample_rate // 3 + 3, n + 1234], args.tol, clap_model)
    if not ok:
        print("VERIFY FAILED (features)")
        return 1

    # Shorter lengths are repeat-padded inside.
    return harness.finish_export(wrapped, meta, args, n, harness.fixed_input_checks(n, sample_rate),
                                 EXPECTED_SAMPLES, device_check=True)


if __name__ == "__main__":
    sys.exit(main())
