#!/usr/bin/env python3
"""Export the encoder side of an EnCodec model from `transformers` (latents
before quantisation and the per-codebook embeddings of its residual vector
quantiser) as a TorchScript module for repbench's `kind = "torchscript"`
encoder.

What it does
    Loads an `EncodecModel` (or, with `--tiny`, builds a random-weights one
    from a tiny config), wraps its SEANet encoder and residual vector
    quantiser so that the module takes raw mono audio and returns the layers
    below, checks the wrapper against transformers' own path
    (`EncodecFeatureExtractor` -> `EncodecModel.encoder` / `.encode()`:
    latents and codes) on random audio, then hands it to `harness.export()`
    (trace, save, reload, compare with eager at several input lengths,
    sidecar, TOML block). `--tiny` also writes `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at the model's sampling_rate (24 kHz for
      facebook/encodec_24khz). batch and samples are dynamic; samples > 6 *
      hop = 1920 (0.08 s at 24 kHz): the reflect padding of the last
      convolution needs more than 6 latent frames, and the traced module
      keeps the long-input branch of transformers' padding helper, so torch
      refuses shorter rows (eager transformers zero-extends them instead).
    * input handling, inside the module, as transformers does it:
      `EncodecFeatureExtractor` only adds the channel axis
      ([batch, channels, samples]) and, for batches of different lengths,
      zero-pads with a padding mask; an unpadded row gets an all-ones mask,
      so nothing else happens to it. The module therefore reshapes to
      [batch, 1, samples]; for a stereo checkpoint (audio_channels = 2, e.g.
      encodec_48khz) the mono row is copied to both channels. When the config
      has `normalize = true` (48 kHz model) each row is divided by its RMS
      + 1e-8 first, as `EncodecModel._encode_frame` does (the 24 kHz model
      does not normalise). The model's own chunking (48 kHz model:
      chunk_length_s 1 s, overlap 0.01) is not inside the module: it becomes
      the sidecar's window_s / hop_s, so each repbench window is one chunk.
    * time = ceil(samples / hop), hop = prod(upsampling_ratios) = 320
      samples (75 frames per second at 24 kHz).
    * outputs, in this order:
        latent      the SEANet encoder's output, i.e. the continuous latents
                    before quantisation, [B, T, hidden_size] (128);
        codebook_k  k = 1 .. Q: the embedding (codebook vector) that the k-th
                    residual quantiser picks for each frame, i.e.
                    codebook_k.embed[code_k], [B, T, codebook_dim] (128). The
                    codes are exactly those of `EncodecModel.encode(...,
                    bandwidth)` (nearest neighbour of the residual left by
                    codebooks 1 .. k-1);
        quantized   sum of codebook_1 .. codebook_Q: the quantised latent the
                    decoder receives at that bandwidth.
      Q = the number of codebooks at `--bandwidth` (default: the config's
      largest target bandwidth, 24 kbps = 32 codebooks for the 24 kHz model;
      `--bandwidth 6.0` gives 8). The integer codes themselves are not
      returned (the contract is float [B, T, dim] layers); they are the
      argmin behind each codebook_k.
    Why these layers: the issue asks for the latents before quantisation and
    per-codebook embeddings. Both trace cleanly (the nearest-neighbour search
    is a matmul + max, the lookup an embedding), so nothing was left out.
    Intermediate SEANet stages are not exported: they run at other frame
    rates (hop 1 .. 40 samples) and are convolutional feature maps of
    32 .. 512 channels rather than representations the codec was built to
    expose.

Window (sidecar window_s; override with --window-s / --hop-s)
    24 kHz model: 10 s, hop = window. EnCodec has no positional limit (causal
    convolutions + a 2-layer LSTM) and was, to my knowledge, trained on 1 s
    crops; 10 s gives the LSTM ample context at bounded memory (the first
    convolutions hold [32 .. 64 channels x 240,000 samples] per row).
    Models whose config sets chunk_length_s (48 kHz): window =
    chunk_length_s, hop = chunk_stride / sampling_rate (1 s and 0.99 s),
    i.e. the model's own chunking.

How to run
    Real models (needs internet for the hub; not testable offline):
        python scripts/zoo/export_encodec.py --model facebook/encodec_24khz --out models/zoo
        python scripts/zoo/export_encodec.py --model facebook/encodec_24khz --bandwidth 6.0 --name encodec_24khz-6kbps --out models/zoo
      --revision pins a hub commit (the resolved commit is recorded either
      way); --name sets the file stem (default: the id's last part, lower
      case); --licence overrides the licence read from the model card.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_encodec.py --tiny --out models/zoo/tiny
      24 kHz, the released strides (hop 320) and layer structure with 2 base
      filters, latent width 16, 4 codebooks of 16 entries; window_s 1.0.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import transformers  # noqa: E402

# Samples per row of the fixture input (2 rows of 0.5 s at 24 kHz).
EXPECTED_SAMPLES = 12000


class EncodecLayers(nn.Module):
    """Raw mono audio -> EnCodec latents and per-codebook embeddings."""

    def __init__(self, model: nn.Module, bandwidth: Optional[float]):
        super().__init__()
        cfg = model.config
        self.encoder = model.encoder
        self.channels = int(cfg.audio_channels)
        self.normalize = bool(cfg.normalize)
        n_q = model.quantizer.get_num_quantizers_for_bandwidth(bandwidth)
        self.n_q = n_q
        # Only the codebook vectors used at this bandwidth travel with the
        # module ([Q, codebook_size, dim]; not the training statistics).
        books = [layer.codebook.embed.detach().clone() for layer in model.quantizer.layers[:n_q]]
        self.register_buffer("embeds", torch.stack(books))
        for sub in self.encoder.modules():
            if isinstance(sub, nn.LSTM):
                self._zero_state_from_input(sub)

    @staticmethod
    def _zero_state_from_input(lstm: nn.LSTM) -> None:
        """transformers' EncodecLSTM calls its `nn.LSTM` without a state, and
        torch then makes the zero state with `torch.zeros(...,
        device=input.device)`, which a trace records with the tracing device
        (CPU) baked in, so the saved module would fail on a GPU. The same
        zeros are made here with `input.new_zeros(...)`, which follows the
        input's device and dtype, and passed in as the state."""
        original = lstm.forward
        layers = lstm.num_layers * (2 if lstm.bidirectional else 1)
        h_size = lstm.proj_size if lstm.proj_size > 0 else lstm.hidden_size

        def forward(input: torch.Tensor, hx=None):
            if hx is None and input.dim() == 3:
                batch = input.shape[0] if lstm.batch_first else input.shape[1]
                hx = (input.new_zeros((layers, batch, h_size)), input.new_zeros((layers, batch, lstm.hidden_size)))
            return original(input, hx)

        lstm.forward = forward

    @staticmethod
    def nearest(residual: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        """Codes of the nearest codebook vectors, [B, T, D] -> [B, T], with
        the formula of transformers' EncodecEuclideanCodebook.quantize (so
        the float rounding, and hence any near-tie, goes the same way)."""
        flat = residual.reshape(-1, residual.shape[-1])
        e = embed.t()
        dist = -(flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e + e.pow(2).sum(0, keepdim=True))
        return dist.max(dim=-1).indices.reshape(residual.shape[:-1])

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        x = wave.unsqueeze(1)
        if self.channels == 2:
            x = torch.cat([x, x], dim=1)
        if self.normalize:
            mono = x.sum(dim=1, keepdim=True) / x.shape[1]
            x = x / (mono.pow(2).mean(dim=-1, keepdim=True).sqrt() + 1e-8)
        latent = self.encoder(x).transpose(1, 2)  # [B, T, D]
        layers = {"latent": latent}
        residual = latent
        total = torch.zeros_like(latent)
        for k in range(self.n_q):
            embed = self.embeds[k]
            chosen = nn.functional.embedding(self.nearest(residual, embed), embed)
            layers[f"codebook_{k + 1}"] = chosen
            residual = residual - chosen
            total = total + chosen
        layers["quantized"] = total
        return layers


def check_against_transformers(module: EncodecLayers, model, fe, bandwidth: Optional[float],
                               lengths: List[int], tol: float, seed: int = 5) -> bool:
    """Module vs transformers' path: feature extractor -> encoder (latents)
    and -> model.encode (codes, checked through the chosen embeddings)."""
    bw = bandwidth if bandwidth is not None else model.config.target_bandwidths[-1]

    def check_one(n: int, wave: torch.Tensor) -> bool:
        ok = True
        with torch.no_grad():
            mine = module(wave)
            # One row at a time: an unpadded item, as repbench's windows are.
            worst_latent, code_mismatch = 0.0, 0
            for b in range(wave.shape[0]):
                inp = fe(wave[b].numpy(), sampling_rate=fe.sampling_rate, return_tensors="pt")
                x = inp["input_values"]
                if module.normalize:
                    mono = x.sum(dim=1, keepdim=True) / x.shape[1]
                    x = x / (mono.pow(2).mean(dim=-1, keepdim=True).sqrt() + 1e-8)
                latent = model.encoder(x).transpose(1, 2)[0]
                worst_latent = max(worst_latent, (mine["latent"][b] - latent).abs().max().item())
                codes = model.encode(inp["input_values"], inp["padding_mask"], bandwidth=bw).audio_codes
                codes = codes[0, 0]  # [Q, T] (one chunk: no chunking in the 24 kHz model)
                if codes.shape[0] != module.n_q:
                    print(f"FAIL: {codes.shape[0]} codebooks from encode(), module has {module.n_q}")
                    ok = False
                    continue
                for k in range(module.n_q):
                    ref = nn.functional.embedding(codes[k], model.quantizer.layers[k].codebook.embed)
                    code_mismatch += int((mine[f"codebook_{k + 1}"][b] - ref).abs().amax(dim=-1).gt(0).sum())
        print(f"  {n} samples: latent max abs diff vs transformers {worst_latent:.2e}; "
              f"frames whose chosen code differs from encode(): {code_mismatch}")
        return ok and worst_latent <= tol and code_mismatch == 0

    return harness.check_lengths(f"transformers check (bound {tol:.0e}, codes exact)", lengths, check_one, seed)


def code_margin(module: EncodecLayers, wave: torch.Tensor) -> float:
    """Smallest relative gap between the nearest and second-nearest codebook
    vector over all frames and codebooks: a test that reloads the module
    elsewhere (other thread counts, other BLAS blocking) picks the same codes
    if this is well above float32 rounding."""
    worst = float("inf")
    with torch.no_grad():
        residual = module(wave)["latent"]
        for k in range(module.n_q):
            embed = module.embeds[k]
            flat = residual.reshape(-1, residual.shape[-1])
            dist = torch.cdist(flat.double(), embed.double()) ** 2
            two = dist.topk(2, dim=-1, largest=False).values
            gap = (two[:, 1] - two[:, 0]) / (two[:, 1].abs() + 1e-12)
            worst = min(worst, gap.min().item())
            residual = residual - nn.functional.embedding(module.nearest(residual, embed), embed)
    return worst


def distinct_codes(module: EncodecLayers, wave: torch.Tensor) -> bool:
    """Refuses a fixture input whose `code_margin` is too small for its codes
    to be reproducible (see there)."""
    margin = code_margin(module, wave)
    print(f"fixture input: smallest relative gap between nearest and second-nearest code {margin:.2e}")
    if margin < 1e-4:
        print("FAIL: codes of the fixture are too close to a tie to be reproducible; change --seed")
        return False
    return True


def tiny_model(seed: int):
    """EncodecModel with a tiny config: 24 kHz mono, the released strides
    (8, 5, 4, 2 -> hop 320), kernels and LSTM, 2 base filters, latent 16,
    4 codebooks of 16 entries; seeded random weights and codebooks."""
    cfg = transformers.EncodecConfig(
        sampling_rate=24000, audio_channels=1, normalize=False,
        num_filters=2, hidden_size=16, codebook_size=16,
        # 16 entries = 4 bits at 75 frames/s = 300 bps per codebook.
        target_bandwidths=[0.6, 1.2],
    )
    torch.manual_seed(seed)
    model = transformers.EncodecModel(cfg)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        # Default init leaves codebooks at zero and norms at one; perturb
        # every parameter, and give the codebooks spread-out vectors.
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
        for layer in model.quantizer.layers:
            layer.codebook.embed.copy_(torch.randn(layer.codebook.embed.shape, generator=g))
    fe = transformers.EncodecFeatureExtractor(feature_size=1, sampling_rate=24000, padding_value=0.0)
    return model.eval(), fe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "facebook/encodec_24khz")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--bandwidth", type=float,
                    help="kbps, one of the config's target_bandwidths (default: the largest = all codebooks)")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    vers = harness.versions(transformers=transformers.__version__)

    if args.tiny:
        model, fe = tiny_model(args.seed)
        meta = harness.tiny_meta(args, "encodec", "encodec", vers)
        window_s, hop_s = 1.0, None
    else:
        model_id = args.model
        fe = transformers.EncodecFeatureExtractor.from_pretrained(model_id, revision=args.revision)
        model = transformers.EncodecModel.from_pretrained(model_id, revision=args.revision).eval()
        meta = harness.hub_meta(args, model.config.model_type, vers)
        if model.config.chunk_length is not None:
            window_s = model.config.chunk_length / model.config.sampling_rate
            stride = model.config.chunk_stride
            hop_s = None if stride in (None, model.config.chunk_length) else stride / model.config.sampling_rate
        else:
            window_s, hop_s = 10.0, None
    cfg = model.config
    bandwidth = args.bandwidth if args.bandwidth is not None else cfg.target_bandwidths[-1]
    if bandwidth not in cfg.target_bandwidths:
        raise SystemExit(f"--bandwidth {bandwidth} is not one of {list(cfg.target_bandwidths)}")
    sample_rate = int(cfg.sampling_rate)
    if int(fe.sampling_rate) != sample_rate:
        raise SystemExit(f"feature extractor sampling_rate {fe.sampling_rate} != model {sample_rate}")
    harness.set_window(meta, args, sample_rate, window_s, hop_s)

    wrapped = EncodecLayers(model.float().eval(), bandwidth).eval()
    print(f"{meta.model_id}: {sample_rate} Hz, {cfg.audio_channels} channel(s), normalize {cfg.normalize}, "
          f"hop {cfg.hop_length}, latent {cfg.hidden_size}, bandwidth {bandwidth} kbps = "
          f"{wrapped.n_q} codebooks of {cfg.codebook_size}; window_s {meta.window_s}; hop_s {meta.hop_s}")

    sr = sample_rate
    win = int(round((meta.window_s or 2.0) * sr))
    ok = check_against_transformers(wrapped, model, fe, bandwidth, [win, sr // 2 + 7], args.tol)
    if not ok:
        print("VERIFY FAILED (transformers check)")
        return 1

    trace_samples = win if args.tiny else 2 * sr
    # Several lengths and batch sizes: the window, shorter and odd lengths,
    # and the shortest valid input (last_kernel_size frames).
    min_samples = (int(cfg.last_kernel_size) - 1) * int(cfg.hop_length) + 1
    checks = [(2, trace_samples), (3, win), (1, int(0.73 * sr) + 3), (2, sr // 2), (2, min_samples)]
    return harness.finish_export(wrapped, meta, args, trace_samples, checks, EXPECTED_SAMPLES,
                                 device_check=True, fixture_check=lambda wave: distinct_codes(wrapped, wave))


if __name__ == "__main__":
    sys.exit(main())
