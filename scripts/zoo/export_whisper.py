#!/usr/bin/env python3
"""Export the encoder of a Whisper model from `transformers` as a TorchScript
module for repbench's `kind = "torchscript"` encoder.

What it does
    Loads a Whisper checkpoint (or, with `--tiny`, builds a random-weights
    `WhisperModel` from a tiny config), keeps only its encoder, wraps it so
    that it takes raw 16 kHz audio, computes Whisper's log-mel features itself
    and returns every encoder layer, then hands it to `harness.export()`
    (trace, save, reload, compare with eager at several input lengths, sidecar,
    TOML block). Before that it checks the in-module log-mel features against
    transformers' `WhisperFeatureExtractor` (both its torch float32 path, the
    one `__call__` uses, and its numpy float64 path) on random audio of
    several lengths; exit 1 above `--feature-tol` (default 1e-4); and the
    module's layers against the plain transformers pipeline (extractor, then
    encoder) at two lengths. `--tiny`
    also writes `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at 16 kHz (the feature extractor's sampling_rate).
      batch and samples are dynamic, samples >= 1.
    * features, inside the module, as `WhisperFeatureExtractor.__call__`
      computes them: zero-pad (or cut) each row to the model's fixed input of
      N = 2 * max_source_positions * hop_length samples (480,000 = 30 s for
      every released Whisper), periodic Hann window of n_fft = 400, hop 160,
      centred STFT with reflect padding, power spectrum, the extractor's own
      Slaney mel filter bank (80 mels, 128 for large-v3; taken from the
      checkpoint's feature extractor), last frame dropped, log10 of
      max(mel, 1e-10), floor at (per-row maximum - 8), then (x + 4) / 4.
      The per-row maximum is taken over the whole padded window, as the
      extractor does. No `do_normalize` (the extractor's default, and the
      released models' setting).
    * time axis: the encoder always sees N samples (its positional embedding
      has exactly max_source_positions rows and transformers refuses any other
      length), so a shorter row is padded with silence inside the module, as
      Whisper itself does. Only the frames that cover the real audio are
      returned: encoder frame j is centred on sample 320 * j, and frames with
      320 * j < samples are kept, i.e.
          time = min(ceil(samples / 320), max_source_positions)
      (one frame per 20 ms; 1500 frames for 30 s). Longer rows are cut to N
      samples. Padding frames are not returned, but they do take part in
      attention, so a frame's values depend on how much of the window is
      padding; repbench's window should therefore be the full 30 s.
    * outputs, in this order:
        hidden_0  input of the first encoder layer (conv stem + GELU +
                  sinusoidal positions), [B, T, d_model];
        hidden_i  output of encoder layer i, i = 1 .. encoder_layers - 1
                  (transformers' `output_hidden_states=True`);
        hidden_N  N = encoder_layers: the last layer's output after the
                  encoder's final LayerNorm (`last_hidden_state`, what the
                  decoder attends to; OpenAI's `ln_post`). This is also what
                  transformers returns as hidden_states[-1] for Whisper, so
                  there is no separate `final` key; the last layer's output
                  before that LayerNorm is not exported.

Window (sidecar window_s; override with --window-s / --hop-s)
    30 s = the model's fixed input (N / 16000). Shorter windows work (the
    module pads), but then each window is mostly padding, which costs the same
    compute as a full window and shifts the features away from what Whisper
    saw in training; longer windows would be cut. hop = window.

How to run
    Real models (needs internet for the hub; not testable offline):
        python scripts/zoo/export_whisper.py --model openai/whisper-base --out models/zoo
        python scripts/zoo/export_whisper.py --model openai/whisper-large-v3 --out models/zoo
      --revision pins a hub commit (the resolved commit is recorded either
      way); --name sets the file stem (default: the id's last part, lower
      case); --licence overrides the licence read from the model card.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_whisper.py --tiny --out models/zoo/tiny
      80 mels, d_model 32, 2 encoder layers, max_source_positions 50, so the
      module's fixed input is 1 s (window_s 1.0 in its sidecar).
"""

from __future__ import annotations

import argparse
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
from transformers.models.whisper.modeling_whisper import WhisperEncoder  # noqa: E402

SAMPLE_RATE = 16000
# Samples per row of the fixture input (2 rows of 0.5 s).
EXPECTED_SAMPLES = 8000


class WhisperAllLayers(nn.Module):
    """Raw 16 kHz audio -> log-mel (as WhisperFeatureExtractor) -> every
    encoder layer, trimmed to the frames that cover the real audio."""

    def __init__(self, encoder: nn.Module, fe):
        super().__init__()
        self.encoder = encoder
        cfg = encoder.config
        self.n_fft = int(fe.n_fft)
        self.hop = int(fe.hop_length)
        self.max_positions = int(cfg.max_source_positions)
        # conv1 stride 1, conv2 stride 2: two mel frames per encoder frame.
        self.frame_hop = self.hop * encoder.conv1.stride[0] * encoder.conv2.stride[0]
        self.n_samples = self.max_positions * self.frame_hop
        mels = np.asarray(fe.mel_filters)  # [n_fft // 2 + 1, n_mels], float64
        if mels.shape != (self.n_fft // 2 + 1, cfg.num_mel_bins):
            raise SystemExit(f"mel filters {mels.shape} do not fit n_fft {self.n_fft} / {cfg.num_mel_bins} mels")
        if self.n_samples != int(fe.n_samples):
            print(f"note: encoder input {self.n_samples} samples, feature extractor pads to {fe.n_samples}")
        # Same float32 values the extractor's torch path uses.
        self.register_buffer("mel_t", torch.from_numpy(mels).to(torch.float32).t().contiguous())
        self.register_buffer("window", torch.hann_window(self.n_fft))
        self._positions_from_table(encoder)

    @staticmethod
    def _positions_from_table(encoder: nn.Module) -> None:
        """WhisperEncoder adds `embed_positions(torch.arange(max_positions,
        device=x.device))`, i.e. every row of the table in order; a trace
        records that arange with the tracing device (CPU) baked in, so the
        saved module would fail on a GPU. Looking up every row in order
        gives the table itself, so `embed_positions` returns its weight (a
        parameter: it follows the module to another device) and the arange
        is left unused, which the trace drops. Outside tracing it checks it
        is asked for exactly those rows."""
        table = encoder.embed_positions
        rows = int(table.num_embeddings)

        def all_rows(ids: torch.Tensor) -> torch.Tensor:
            if not torch.jit.is_tracing() and not torch.equal(ids.cpu(), torch.arange(rows)):
                raise RuntimeError(f"embed_positions asked for rows {ids.tolist()}, not all {rows} in order")
            return table.weight

        table.forward = all_rows

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] -> [B, n_mels, 2 * max_positions] log-mel, padded or
        cut to the encoder's fixed input first."""
        x = F.pad(wave, (0, self.n_samples - wave.shape[1]))
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec[..., :-1].abs() ** 2
        mel = self.mel_t @ power
        log = torch.clamp(mel, min=1e-10).log10()
        top = log.amax(dim=(1, 2), keepdim=True)
        log = torch.maximum(log, top - 8.0)
        return (log + 4.0) / 4.0

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        # Frames centred on real audio; slicing past the end keeps them all.
        keep = (wave.shape[1] + self.frame_hop - 1) // self.frame_hop
        out = self.encoder(self.features(wave), output_hidden_states=True, return_dict=True)
        # hidden_states[-1] is last_hidden_state already (transformers ties
        # them); taking the latter explicitly keeps that if the default changes.
        states = list(out.hidden_states[:-1]) + [out.last_hidden_state]
        layers = {}
        for i, h in enumerate(states):
            layers[f"hidden_{i}"] = h[:, :keep]
        return layers


def check_features(module: WhisperAllLayers, fe, lengths: List[int], tol: float, seed: int = 7) -> bool:
    """In-module log-mel vs WhisperFeatureExtractor (torch float32 path via
    `__call__`, and the numpy float64 path) on random audio."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = module.features(wave).numpy()
        rows = [r.numpy() for r in wave]
        ref = fe(rows, sampling_rate=fe.sampling_rate, return_tensors="np")["input_features"]
        padded = np.zeros((2, fe.n_samples), dtype=np.float32)
        m = min(n, fe.n_samples)
        padded[:, :m] = wave.numpy()[:, :m]
        ref64 = fe._np_extract_fbank_features(padded.astype(np.float64), "cpu")
        d32 = harness.feature_diff(mine, ref)
        if d32 is None:
            return False
        d64 = float(np.abs(mine - ref64).max())
        print(f"  features {tuple(mine.shape)} for {n} samples: max abs diff vs extractor "
              f"(torch float32 path) {d32:.2e}, (numpy float64 path) {d64:.2e}")
        return d32 <= tol and d64 <= tol

    return harness.check_lengths(f"log-mel check (bound {tol:.0e})", lengths, check_one, seed)


def check_pipeline(module: WhisperAllLayers, fe, lengths: List[int], tol: float, seed: int = 11) -> bool:
    """Module outputs vs the plain transformers pipeline (feature extractor
    -> encoder, output_hidden_states) cut to the same frames."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = module(wave)
            feats = fe([r.numpy() for r in wave], sampling_rate=fe.sampling_rate, return_tensors="pt")
            ref = module.encoder(feats["input_features"], output_hidden_states=True, return_dict=True)
        frames_ok = True
        worst = 0.0
        for k, h in zip(mine, ref.hidden_states):
            if mine[k].shape[1] != min(-(-n // module.frame_hop), module.max_positions):
                frames_ok = False
            worst = max(worst, (mine[k] - h[:, : mine[k].shape[1]]).abs().max().item())
        print(f"  {n} samples: module vs extractor + encoder, max abs diff {worst:.2e} "
              f"({len(mine)} layers, time {mine['hidden_0'].shape[1]})")
        return frames_ok and worst <= tol

    return harness.check_lengths(f"pipeline check (bound {tol:.0e})", lengths, check_one, seed)


def tiny_model(seed: int):
    """WhisperModel with a tiny config (real n_fft/hop/80 mels, small widths,
    50 positions = 1 s input); returns (encoder, feature extractor)."""
    cfg = transformers.WhisperConfig(
        vocab_size=64, num_mel_bins=80, d_model=32,
        encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64,
        max_source_positions=50, max_target_positions=16,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        encoder_layerdrop=0.0, decoder_layerdrop=0.0,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
    )
    torch.manual_seed(seed)
    encoder = transformers.WhisperModel(cfg).get_encoder()
    # Perturb every parameter (norms, biases, positions) so a test catches a
    # dropped one.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    fe = transformers.WhisperFeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, hop_length=160,
                                              chunk_length=1, n_fft=400)
    return encoder.eval(), fe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "openai/whisper-base")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--feature-tol", type=float, default=1e-4, help="bound on |in-module log-mel - extractor|")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    vers = harness.versions(transformers=transformers.__version__)

    if args.tiny:
        encoder, fe = tiny_model(args.seed)
        meta = harness.tiny_meta(args, "whisper", "whisper", vers)
    else:
        model_id = args.model
        fe = transformers.WhisperFeatureExtractor.from_pretrained(model_id, revision=args.revision)
        model = transformers.WhisperModel.from_pretrained(model_id, revision=args.revision)
        encoder = model.get_encoder()
        meta = harness.hub_meta(args, model.config.model_type, vers)
        print(f"{model_id}: {encoder.config.num_mel_bins} mels, {encoder.config.encoder_layers} layers, "
              f"d_model {encoder.config.d_model}, {encoder.config.max_source_positions} positions")
    if int(fe.sampling_rate) != SAMPLE_RATE:
        print(f"note: feature extractor sampling_rate {fe.sampling_rate}")
    sample_rate = int(fe.sampling_rate)

    wrapped = WhisperAllLayers(encoder.float().eval(), fe).eval()
    n = wrapped.n_samples
    harness.set_window(meta, args, sample_rate, n / sample_rate)
    print(f"encoder input {n} samples ({n / sample_rate:g} s, padded inside); window_s {meta.window_s}; "
          f"hop_s {meta.hop_s}")

    # Features: the full window, shorter and odd lengths, one sample over.
    ok = check_features(wrapped, fe, [n, n // 3 + 7, sample_rate // 4 + 1, n + 1], args.feature_tol)
    if args.tiny:
        # The tiny extractor pads to 1 s; check the released 30 s setups too.
        for mels in (80, 128):
            full = transformers.WhisperFeatureExtractor(feature_size=mels)
            enc = transformers.WhisperConfig(num_mel_bins=mels, max_source_positions=1500, d_model=8,
                                             encoder_layers=0, encoder_attention_heads=1,
                                             decoder_layers=0, decoder_attention_heads=1)
            probe = WhisperAllLayers(WhisperEncoder(enc).eval(), full)
            print(f"released 30 s setup, {mels} mels:")
            ok &= check_features(probe, full, [full.n_samples, 12345], args.feature_tol)
    ok &= check_pipeline(wrapped, fe, [n, sample_rate // 2 + 3], args.tol)
    if not ok:
        print("VERIFY FAILED (features)")
        return 1

    return harness.finish_export(wrapped, meta, args, n, harness.fixed_input_checks(n, sample_rate),
                                 EXPECTED_SAMPLES, device_check=True)


if __name__ == "__main__":
    sys.exit(main())
