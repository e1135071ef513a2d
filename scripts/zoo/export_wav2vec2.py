#!/usr/bin/env python3
"""Export HuBERT / wav2vec 2.0 (and MERT-style) encoders from `transformers`
as TorchScript modules for repbench's `kind = "torchscript"` encoder.

What it does
    Loads a model (or, with `--tiny`, builds a random-weights one of the same
    transformers classes), wraps it so that it takes raw audio and returns
    every layer, then hands it to `harness.export()`: trace (eval, float32,
    CPU), save `<out>/<name>.pt`, reload and compare with the eager model on
    audio of several lengths and batch sizes (exit 1 if any element differs
    by more than 1e-4), write the `<name>.json` sidecar and print the
    `[[encoders]]` TOML block. `--tiny` also writes `<name>.expected.json`
    (a fixed input and the saved module's outputs for it).

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at the sidecar's sample_rate (16 kHz for HuBERT /
      wav2vec 2.0 / MERT-v0, 24 kHz for MERT-v1). batch and samples are
      dynamic; samples >= 400 (the conv stack's receptive field, 25 ms at
      16 kHz). time = floor((samples - 400) / 320) + 1 for the standard conv
      stack (one frame per 20 ms at 16 kHz, 13.3 ms at 24 kHz).
    * normalisation: when the checkpoint's feature extractor has
      `do_normalize = true` (its preprocessor_config.json), each row is
      normalised inside the module exactly as `Wav2Vec2FeatureExtractor` does
      for an unpadded item: (x - mean) / sqrt(var + 1e-7), population
      variance. Otherwise the audio goes in as is. `--normalize yes|no`
      overrides; the choice is printed. Padding of a short item by the caller
      (e.g. repbench's zero-padded last window) is part of the row and so of
      the statistics; no attention mask is used.
    * outputs, in this order:
        conv      output of the convolutional feature encoder, [B, T, conv_dim[-1]]
                  (512 for the released models), before the feature projection;
        hidden_0  input of the first transformer layer (feature projection +
                  positional conv; for post-norm models also the encoder's
                  LayerNorm), [B, T, hidden_size];
        hidden_i  output of transformer layer i, i = 1 .. num_hidden_layers
                  (transformers' `output_hidden_states=True`);
        final     only for pre-norm ("stable layer norm") models such as
                  wav2vec2-large-lv60 / hubert-large / XLS-R: the encoder's
                  final LayerNorm applied to hidden_N, i.e. `last_hidden_state`.
                  (With transformers 5.x, hidden_N of those models is taken
                  before that LayerNorm; for post-norm models hidden_N already
                  equals last_hidden_state.)

Windows (sidecar window_s; override with --window-s / --hop-s)
    HuBERT / wav2vec 2.0: 15 s. Both were pre-trained (fairseq) on random
    crops of at most 250,000 samples = 15.6 s at 16 kHz, so 15 s windows stay
    inside the lengths the transformer saw while keeping attention cost
    bounded; hop = window (no overlap).
    MERT (any model id containing "mert"): 5 s, MERT's pre-training crop length.
    Sample rate always comes from the checkpoint's feature extractor
    (`sampling_rate`): 16 kHz for HuBERT/wav2vec2/MERT-v0, 24 kHz for MERT-v1.

How to run
    Real models (needs internet for the hub; not testable offline):
        python scripts/zoo/export_wav2vec2.py --model facebook/hubert-base-ls960 --out models/zoo
        python scripts/zoo/export_wav2vec2.py --model facebook/wav2vec2-base --out models/zoo
        python scripts/zoo/export_wav2vec2.py --model m-a-p/MERT-v1-95M --trust-remote-code --out models/zoo
      --revision pins a hub commit (the resolved commit is recorded in the
      sidecar either way); --name sets the file stem (default: the part of the
      id after "/", lower-cased); --licence overrides the licence read from
      the model card.
    Tiny random-weights fixtures (no download):
        python scripts/zoo/export_wav2vec2.py --tiny hubert --out models/zoo/tiny
        python scripts/zoo/export_wav2vec2.py --tiny wav2vec2 --out models/zoo/tiny
    Needs torch==2.13.0 (the libtorch repbench links), numpy, transformers
    (fixtures were made with the version in scripts/zoo/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import transformers  # noqa: E402

# Samples of the fixture input (2 rows of 0.5 s at 16 kHz).
EXPECTED_SAMPLES = 8000


class AllLayers(nn.Module):
    """Raw audio -> dict of every layer of a HuBERT / wav2vec 2.0 model."""

    def __init__(self, model: nn.Module, normalize: bool):
        super().__init__()
        self.model = model
        self.normalize = normalize
        self.stable = bool(getattr(model.config, "do_stable_layer_norm", False))
        self._conv = []
        # The conv encoder's output is not among the model's outputs (HuBERT
        # returns none, wav2vec2 a layer-normed copy); a hook records it, so
        # the conv stack runs once.
        model.feature_extractor.register_forward_hook(lambda _m, _i, out: self._conv.append(out))

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        x = harness.zero_mean_unit_var(wave) if self.normalize else wave
        self._conv.clear()
        out = self.model(x, output_hidden_states=True, return_dict=True)
        layers = {"conv": self._conv.pop().transpose(1, 2)}
        for i, h in enumerate(out.hidden_states):
            layers[f"hidden_{i}"] = h
        if self.stable:
            layers["final"] = out.last_hidden_state
        return layers


def tiny_model(kind: str, seed: int):
    """Same classes as the released models, tiny sizes, seeded random weights.
    hubert: post-norm encoder, GroupNorm conv stack (like hubert-base); the
    module gets raw audio (normalize = False, as for the base models).
    wav2vec2: pre-norm ("stable layer norm") encoder, LayerNorm conv stack
    (like wav2vec2-large-lv60 / XLS-R); normalize = True, as their feature
    extractors do."""
    common = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        # The released conv stack's kernels and strides (400-sample receptive
        # field, hop 320) with 16 channels instead of 512.
        conv_dim=(16,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
    )
    torch.manual_seed(seed)
    if kind == "hubert":
        cfg = transformers.HubertConfig(feat_extract_norm="group", do_stable_layer_norm=False, **common)
        model = transformers.HubertModel(cfg)
        normalize = False
    elif kind == "wav2vec2":
        cfg = transformers.Wav2Vec2Config(feat_extract_norm="layer", do_stable_layer_norm=True, **common)
        model = transformers.Wav2Vec2Model(cfg)
        normalize = True
    else:
        raise SystemExit(f"unknown --tiny kind {kind!r} (hubert, wav2vec2)")
    # Default init leaves norms at 1/0 and biases at 0; perturb every
    # parameter so a test also catches a dropped bias or norm affine.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model.eval(), normalize


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "facebook/hubert-base-ls960")
    src.add_argument("--tiny", choices=["hubert", "wav2vec2"], help="random-weights fixture")
    ap.add_argument("--normalize", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--trust-remote-code", action="store_true", help="for MERT-v1 and other custom code")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    vers = harness.versions(transformers=transformers.__version__)

    if args.tiny:
        model, normalize = tiny_model(args.tiny, args.seed)
        meta = harness.tiny_meta(args, args.tiny, args.tiny, vers)
        sample_rate, window_s = 16000, 1.0
    else:
        model_id = args.model
        fe = transformers.AutoFeatureExtractor.from_pretrained(
            model_id, revision=args.revision, trust_remote_code=args.trust_remote_code)
        model = transformers.AutoModel.from_pretrained(
            model_id, revision=args.revision, trust_remote_code=args.trust_remote_code)
        for attr in ("feature_extractor", "encoder"):
            if not hasattr(model, attr):
                raise SystemExit(f"{model_id}: {type(model).__name__} has no .{attr}; not a HuBERT/wav2vec2-style model")
        sample_rate = int(fe.sampling_rate)
        normalize = bool(getattr(fe, "do_normalize", False))
        window_s = 5.0 if "mert" in model_id.lower() else 15.0
        meta = harness.hub_meta(args, model.config.model_type, vers)
        print(f"{model_id} ({type(model).__name__}, model_type {meta.family}): "
              f"sample_rate {sample_rate}, feature extractor do_normalize {normalize}")

    if args.normalize != "auto":
        normalize = args.normalize == "yes"
    harness.set_window(meta, args, sample_rate, window_s)
    print(f"normalise inside the module: {normalize}; window_s {meta.window_s}; hop_s {meta.hop_s}")

    wrapped = AllLayers(model.float().eval(), normalize)

    sr = sample_rate
    win = int(round((meta.window_s or 2.0) * sr))
    trace_samples = win if args.tiny else 2 * sr
    # Several lengths and batch sizes: the full window, a shorter and an odd
    # length, and the shortest valid input (one frame).
    checks = [(2, trace_samples), (3, win), (1, int(0.73 * sr) + 3), (2, sr // 2), (2, 400)]
    return harness.finish_export(wrapped, meta, args, trace_samples, checks, EXPECTED_SAMPLES,
                                 device_check=True)


if __name__ == "__main__":
    sys.exit(main())
