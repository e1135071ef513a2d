#!/usr/bin/env python3
"""Export VGGish (Hershey et al. 2017, "CNN Architectures for Large-Scale
Audio Classification"; the AudioSet embedding model of tensorflow/models
research/audioset/vggish) as a TorchScript module for repbench's
`kind = "torchscript"` encoder.

What it does
    Builds the `VGG` class of the `torchvggish` pip package (harritaylor's
    PyTorch port, whose checkpoint `vggish-10086976.pth` holds the converted
    TensorFlow weights) and loads a checkpoint into it (or, with `--tiny`,
    builds a random-weights VGG with narrow layers), wraps it so that it
    takes raw 16 kHz audio, computes VGGish's log-mel examples itself with
    torch ops and returns every conv stage and fully connected layer, then
    hands it to `harness.export()` (trace, save, reload, compare with eager
    at several input lengths, sidecar, TOML block). Before that, on every
    run:
      * the in-module examples are compared with the package's own front end
        (`torchvggish.vggish_input.waveform_to_examples`, numpy float64, the
        copy of VGGish's `vggish_input.py`) on random audio of several
        lengths; exit 1 above `--feature-tol` (default 1e-4, see below);
      * every layer is compared with the package's `VGG` run on those
        reference examples (its `features` / `embeddings` stages, and
        `VGG.forward`); exit 1 above --tol (scaled by the layer's size).
    `--tiny` also writes `<name>.expected.json`.

Contract of the saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at 16 kHz. batch and samples are dynamic,
      samples >= 1.
    * features, inside the module, as VGGish's `waveform_to_examples`: frames
      of 400 samples (25 ms) every 160 (10 ms), no centring or padding,
      periodic Hann window, |rfft| zero-padded to 512 points (magnitude, not
      power), VGGish's own HTK-style mel matrix (64 bands, 125 - 7500 Hz, no
      area normalisation, DC bin zeroed; built at export by the package's
      `mel_features.spectrogram_to_mel_matrix` and stored in the module),
      log(mel + 0.01); examples = non-overlapping groups of 96 frames
      (0.96 s), each a [96 x 64] image for the VGG.
    * examples and length handling: example e covers samples
      [15360 e, 15360 (e + 1) + 240) (its last frame reaches 240 samples,
      15 ms, past its 0.96 s). The module appends 240 zero samples to every
      row, so a row holds E = floor(samples / 15360) examples: every whole
      0.96 s of audio is one example, and the last one's final frame is
      partly padding (VGGish itself would need those 240 samples and drop
      the example without them). A tail shorter than 0.96 s is dropped, as
      VGGish does; rows shorter than 0.96 s are zero-padded to one example
      first. With window_s = 9.6 (below) a window is exactly 10 examples and
      consecutive windows give the examples VGGish gives on the whole item,
      except that the last frame of each window sees 240 zeros where VGGish
      would see the next window's first 15 ms.
    * outputs, in this order:
        pool1 .. pool4  each conv stage's output (conv1, conv2, conv3_1-2,
                        conv4_1-2 with ReLU, then its 2x2 max pooling; the
                        TensorFlow names of these tensors), averaged over
                        the mel axis; the time axes of the examples are laid
                        end to end: [B, E * t, C], C = 64, 128, 256, 512 and
                        t = 48, 24, 12, 6 frames per example (50, 25, 12.5,
                        6.25 frames/s);
        fc1_1, fc1_2    the two 4096-d fully connected layers (after ReLU),
                        one frame per example: [B, E, 4096];
        embedding       fc2, the 128-d VGGish embedding, one per 0.96 s
                        example: [B, E, 128]. It is fc2's linear output, as
                        in the current TensorFlow definition
                        (`vggish_slim.py`: fc2 with activation_fn=None); the
                        torchvggish package keeps a ReLU after it (as the
                        first TensorFlow release did), so its output is
                        relu(embedding) - checked at export. The AudioSet
                        release's PCA whitening + 8-bit quantisation
                        (torchvggish's `Postprocessor`, whose parameters are
                        a separate download) is not applied.

Window (sidecar window_s; override with --window-s / --hop-s)
    9.6 s = 10 examples, hop = window. VGGish sees one 0.96 s example at a
    time, so the window only bounds memory; 9.6 s is a whole number of
    examples, so no audio is dropped between windows and the examples are
    VGGish's own (see above). A window that is not a multiple of 0.96 s
    drops its tail (a 10 s window loses 0.4 s per window). Note that
    repbench zero-pads an item's last window to the full window, so the
    examples of that window past the item's end are silence (for short
    items set window_s = 0: the whole item is one row, nothing is padded
    beyond the module's own rule above).

Licence
    Apache-2.0: tensorflow/models (VGGish code and the released checkpoint)
    and the torchvggish port.

How to run
    Real checkpoint (downloaded by hand from the torchvggish release; the
    script never downloads):
        python scripts/zoo/export_vggish.py --checkpoint vggish-10086976.pth --out models/zoo
      --name sets the file stem (default vggish); model_id in the sidecar
      is "torchvggish/<checkpoint file name>" and revision the file's
      sha256. The file is a state dict of `torchvggish.VGG` (keys
      features.* and embeddings.*), loaded with torch.load(weights_only=
      True). The TensorFlow checkpoint (vggish_model.ckpt) is not read.
    Tiny random-weights fixture (no download):
        python scripts/zoo/export_vggish.py --tiny --out models/zoo/tiny
      The package's `VGG` with the same layer sequence (conv, ReLU, max
      pool ...; same state-dict keys) at conv widths 8, 16, 32, 32 and fully
      connected widths 64, 64, 32 (embedding); the real 16 kHz front end
      (64 mels, 96-frame examples); window_s 1.92 s (the fixture input: 2
      examples).

Feature tolerance
    The features are natural logs of mel magnitudes + 0.01. float32
    rounding of the framing, FFT and the 257 x 64 matrix product gives a
    relative error of ~1e-6 in the mel magnitude, hence an absolute error
    of at most ~1e-6 in log(mel + 0.01) (its derivative times the value is
    mel / (mel + 0.01) < 1). The features span about -4.6 .. +5; 1e-4 is two
    orders above rounding and far below anything a model could use.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SAMPLE_RATE = 16000
WIN = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512
N_MELS = 64
MEL_LO, MEL_HI = 125.0, 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EXAMPLE_SAMPLES = EXAMPLE_FRAMES * HOP  # 15360
OVERHANG = WIN - HOP  # 240: how far an example's last frame reaches past it
WINDOW_S = 9.6
STAGES = ("pool1", "pool2", "pool3", "pool4")
FC_NAMES = ("fc1_1", "fc1_2", "embedding")
TINY_CONV = (8, 16, 32, 32)
TINY_FC = (64, 64, 32)
# Fixture input: 2 rows of 1.92 s = 2 examples each.
EXPECTED_SAMPLES = 2 * EXAMPLE_SAMPLES
LICENCE = "Apache-2.0"


def torchvggish():
    try:
        import torchvggish as tv
        from torchvggish import mel_features, vggish_input
    except ImportError as e:
        raise SystemExit(f"torchvggish is not installed ({e}): pip install torchvggish==0.2 "
                         "(scripts/zoo/make_venv.sh does)")
    return tv, mel_features, vggish_input


def vgg_layout(vgg: nn.Module) -> Tuple[List[int], List[int]]:
    """Checks `vgg` is VGGish-shaped (conv/ReLU blocks, 4 max pools; three
    Linear + ReLU pairs) and returns (indices of the max pools in
    `features`, indices of the Linear layers in `embeddings`)."""
    feats = list(vgg.features)
    pools = [i for i, m in enumerate(feats) if isinstance(m, nn.MaxPool2d)]
    convs_ok = all(isinstance(m, (nn.Conv2d, nn.ReLU, nn.MaxPool2d)) for m in feats)
    emb = list(vgg.embeddings)
    linears = [i for i, m in enumerate(emb) if isinstance(m, nn.Linear)]
    fc_ok = (len(emb) == 6 and linears == [0, 2, 4] and all(isinstance(emb[i], nn.ReLU) for i in (1, 3, 5)))
    if len(pools) != len(STAGES) or pools[-1] != len(feats) - 1 or not convs_ok or not fc_ok:
        raise SystemExit(f"not a VGGish layout: features {feats}, embeddings {emb}")
    return pools, linears


class VGGishAllLayers(nn.Module):
    """Raw 16 kHz audio -> VGGish log-mel examples -> every conv stage
    (averaged over mels) and fully connected layer of a torchvggish `VGG`."""

    def __init__(self, vgg: nn.Module, mel_matrix: np.ndarray):
        super().__init__()
        self.pools, _ = vgg_layout(vgg)
        self.features = vgg.features
        self.embeddings = vgg.embeddings
        if mel_matrix.shape != (FFT // 2 + 1, N_MELS):
            raise SystemExit(f"mel matrix {mel_matrix.shape}")
        self.register_buffer("mel", torch.from_numpy(np.asarray(mel_matrix, dtype=np.float64)).float())
        self.register_buffer("window", torch.hann_window(WIN, periodic=True, dtype=torch.float64).float())

    def pad(self, wave: torch.Tensor) -> torch.Tensor:
        """Rows shorter than one example are zero-padded to it; then every
        row gets OVERHANG zeros, so whole 0.96 s pieces are whole examples."""
        n = torch._shape_as_tensor(wave)[1]
        return F.pad(wave, (0, torch.clamp(EXAMPLE_SAMPLES - n, min=0) + OVERHANG))

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples >= 400] -> [B, frames, 64], frames = 1 + (samples - 400) // 160."""
        frames = wave.unfold(1, WIN, HOP) * self.window
        mag = torch.fft.rfft(frames, n=FFT).abs()
        return torch.log(torch.matmul(mag, self.mel) + LOG_OFFSET)

    def examples(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] (already padded) -> [B * E, 1, 96, 64], row-major."""
        lm = self.log_mel(wave)
        whole = lm.shape[1] // EXAMPLE_FRAMES * EXAMPLE_FRAMES
        return lm[:, :whole].reshape(-1, 1, EXAMPLE_FRAMES, N_MELS)

    def forward(self, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
        batch = wave.shape[0]
        x = self.examples(self.pad(wave))
        out: Dict[str, torch.Tensor] = {}
        start = 0
        for name, stop in zip(STAGES, self.pools):
            for m in self.features[start:stop + 1]:
                x = m(x)
            start = stop + 1
            # [B*E, C, t, mels] -> mean over mels -> [B, E*t, C]
            out[name] = x.mean(dim=3).transpose(1, 2).reshape(batch, -1, x.shape[1])
        # torchvggish flattens as [t, mels, C] (TensorFlow's NHWC order).
        h = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        emb = self.embeddings
        h = emb[1](emb[0](h))
        out["fc1_1"] = h.reshape(batch, -1, h.shape[1])
        h = emb[3](emb[2](h))
        out["fc1_2"] = h.reshape(batch, -1, h.shape[1])
        h = emb[4](h)  # fc2 without the trailing ReLU
        out["embedding"] = h.reshape(batch, -1, h.shape[1])
        return out


def reference_examples(vggish_input, row: np.ndarray) -> torch.Tensor:
    """The package's examples for one row, zero-padded as the module pads."""
    n = row.shape[0]
    padded = np.pad(row.astype(np.float64), (0, max(0, EXAMPLE_SAMPLES - n) + OVERHANG))
    return vggish_input.waveform_to_examples(padded, SAMPLE_RATE, return_tensor=True).detach()


def check_features(wrapped: VGGishAllLayers, vggish_input, lengths: List[int], tol: float, seed: int = 7) -> bool:
    """In-module log-mel examples vs the package's `waveform_to_examples`,
    row by row (padded as the module pads)."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = wrapped.examples(wrapped.pad(wave)).reshape(2, -1, EXAMPLE_FRAMES, N_MELS)
        ok = True
        worst = 0.0
        for b in range(2):
            ref = reference_examples(vggish_input, wave[b].numpy())[:, 0]
            if ref.shape != mine[b].shape or ref.shape[0] != max(1, n // EXAMPLE_SAMPLES):
                print(f"FAIL: {n} samples: examples {tuple(mine[b].shape)}, package {tuple(ref.shape)}")
                ok = False
                continue
            worst = max(worst, (mine[b] - ref).abs().max().item())
        # What VGGish gives on the row as it is (no padding), for comparison.
        plain = 1 + (n - WIN) // HOP if n >= WIN else 0
        print(f"  {n} samples: {mine.shape[1]} examples per row (VGGish unpadded: {plain // EXAMPLE_FRAMES}), "
              f"max abs diff vs package front end {worst:.2e}")
        return ok and worst <= tol

    return harness.check_lengths(f"log-mel example check (bound {tol:.0e})", lengths, check_one, seed)


def check_layers(wrapped: VGGishAllLayers, vgg: nn.Module, vggish_input, lengths: List[int], tol: float,
                 seed: int = 11) -> bool:
    """Every layer vs the package's VGG on the package's examples, one row
    and one example stage at a time; relu(embedding) vs VGG.forward."""

    def check_one(n: int, wave: torch.Tensor) -> bool:
        with torch.no_grad():
            mine = wrapped(wave)
            refs: Dict[str, List[torch.Tensor]] = {}
            for b in range(2):
                ex = reference_examples(vggish_input, wave[b].numpy())
                for name, stop in zip(STAGES, wrapped.pools):
                    y = vgg.features[:stop + 1](ex)  # [E, C, t, mels]
                    refs.setdefault(name, []).append(torch.cat([e.mean(dim=2).t() for e in y]))
                flat = torch.flatten(torch.transpose(torch.transpose(vgg.features(ex), 1, 3), 1, 2), 1)
                for name, k in zip(FC_NAMES, (2, 4, 5)):
                    refs.setdefault(name, []).append(vgg.embeddings[:k](flat))
                refs.setdefault("relu(embedding) vs VGG.forward", []).append(vgg(ex))
        pairs = [(k, mine[k] if k in mine else F.relu(mine["embedding"]), torch.stack(rows))
                 for k, rows in refs.items()]
        return harness.compare_scaled(n, pairs, tol)

    return harness.check_lengths(f"layer check vs package VGG (bound {tol:.0e} x max(1, max |ref|))",
                                 lengths, check_one, seed)


def tiny_vgg(seed: int, VGG) -> nn.Module:
    """torchvggish's `VGG` at TINY_CONV / TINY_FC widths: the same layer
    sequence and state-dict keys as `make_layers()` + `VGG.embeddings`.
    Kaiming-normal weights and small random biases keep activations O(1)."""
    torch.manual_seed(seed)
    layers: List[nn.Module] = []
    c_in = 1
    for stage, c in enumerate(TINY_CONV):
        for _ in range(1 if stage < 2 else 2):  # conv1, conv2, conv3_1-2, conv4_1-2
            layers += [nn.Conv2d(c_in, c, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            c_in = c
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    vgg = VGG(nn.Sequential(*layers), postprocess=False)
    flat = c_in * (EXAMPLE_FRAMES // 16) * (N_MELS // 16)
    a, b, c = TINY_FC
    vgg.embeddings = nn.Sequential(nn.Linear(flat, a), nn.ReLU(True), nn.Linear(a, b), nn.ReLU(True),
                                   nn.Linear(b, c), nn.ReLU(True))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in vgg.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    return vgg.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = harness.add_common_args(ap, "(none: use --checkpoint)")
    src.add_argument("--checkpoint", help="a torchvggish state dict, e.g. vggish-10086976.pth")
    src.add_argument("--tiny", action="store_true", help="random-weights fixture")
    ap.add_argument("--feature-tol", type=float, default=1e-4, help="bound on |in-module log-mel - package|")
    args = ap.parse_args()
    if args.model:
        raise SystemExit("VGGish weights are a file here: pass it with --checkpoint")

    torch.set_grad_enabled(False)
    tv, mel_features, vggish_input = torchvggish()
    vers = harness.versions(transformers=None, torchvggish=harness.package_version("torchvggish"))
    if args.tiny:
        vgg = tiny_vgg(args.seed, tv.VGG)
        meta = harness.tiny_meta(args, "vggish", "vggish", vers)
        window_s = EXPECTED_SAMPLES / SAMPLE_RATE
    else:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        vgg = tv.VGG(tv.make_layers(), postprocess=False)
        vgg.load_state_dict(state, strict=True)
        meta = harness.checkpoint_meta(args, "torchvggish", "vggish", "vggish", LICENCE, vers)
        window_s = WINDOW_S
    harness.set_window(meta, args, SAMPLE_RATE, window_s)

    mel = mel_features.spectrogram_to_mel_matrix(
        num_mel_bins=N_MELS, num_spectrogram_bins=FFT // 2 + 1, audio_sample_rate=SAMPLE_RATE,
        lower_edge_hertz=MEL_LO, upper_edge_hertz=MEL_HI)
    wrapped = VGGishAllLayers(vgg.float().eval(), mel).eval()
    widths = [m.out_channels for m in vgg.features if isinstance(m, nn.Conv2d)]
    print(f"{meta.model_id}: conv widths {widths}, fc {[m.out_features for m in vgg.embeddings if isinstance(m, nn.Linear)]}; "
          f"window_s {meta.window_s}; hop_s {meta.hop_s}")

    sr = SAMPLE_RATE
    win = int(round((meta.window_s or WINDOW_S) * sr))
    # Lengths: the window, odd lengths, exactly one example, one sample short
    # of it (padded), what unpadded VGGish needs for one example.
    lengths = [win, int(2.5 * sr) + 17, EXAMPLE_SAMPLES, EXAMPLE_SAMPLES - 1, EXAMPLE_SAMPLES + OVERHANG, 3000]
    ok = check_features(wrapped, vggish_input, lengths, args.feature_tol)
    if args.tiny:
        ok &= check_features(wrapped, vggish_input, [int(WINDOW_S * sr)], args.feature_tol, seed=3)
    ok &= check_layers(wrapped, vgg, vggish_input, [win, int(2.5 * sr) + 17, 5000], args.tol)
    if not ok:
        print("VERIFY FAILED (front end / layers)")
        return 1

    # The window, longer and odd lengths, the edges of one example, padded rows.
    checks = [(2, win), (3, int(3.3 * sr) + 7), (1, EXAMPLE_SAMPLES), (2, EXAMPLE_SAMPLES - 1),
              (1, 2 * EXAMPLE_SAMPLES - 1), (2, 400), (1, 1)]
    return harness.finish_export(wrapped, meta, args, win, checks, EXPECTED_SAMPLES, device_check=True)


if __name__ == "__main__":
    sys.exit(main())
