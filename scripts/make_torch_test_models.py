"""Makes the tiny TorchScript modules the `torchscript` encoder is tested with,
and the outputs Python gets from them, so the Rust tests need no Python.

Run from the repo root in a venv with `pip install torch==2.13.0 numpy`:

    python scripts/make_torch_test_models.py

Writes framework/tests/fixtures/torch/: one `.pt` per model, the inputs
(`waveforms.npy` [3, 4000], `frames.npy` [7, 256]) and, per model and output
layer, `<model>.<layer>.npy` with what `forward` returns for those inputs.
Every model is seeded, so rerunning reproduces the files.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from strip_torchscript_debug import strip as strip_debug

OUT = Path(__file__).resolve().parent.parent / "framework" / "tests" / "fixtures" / "torch"


class Frontend(nn.Module):
    """Strided conv over the waveform: [B, S] -> [B, T, 6]."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 6, kernel_size=32, stride=16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x.unsqueeze(1))).transpose(1, 2)


class WaveformTensor(nn.Module):
    """One tensor, [B, T, 6]."""

    def __init__(self):
        super().__init__()
        self.front = Frontend()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.front(x)


class WaveformTuple(nn.Module):
    """A tuple: frames [B, T, 6] and a clip vector [B, 4]."""

    def __init__(self):
        super().__init__()
        self.front = Frontend()
        self.head = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor):
        h = self.front(x)
        return h, self.head(h.mean(dim=1))


class WaveformDict(nn.Module):
    """A dict of named layers, in insertion order: conv [B, T, 6], proj [B, T, 3]."""

    def __init__(self):
        super().__init__()
        self.front = Frontend()
        self.proj = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.front(x)
        return {"conv": h, "proj": torch.relu(self.proj(h))}


class Framed(nn.Module):
    """Per-frame model like CREPE: [N, 256] -> [N, 5]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(256, 16), nn.ReLU(), nn.Linear(16, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ReturnsNan(nn.Module):
    """Broken on purpose: every output is NaN."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, :64] * float("nan")).unsqueeze(1)


class ReturnsRank4(nn.Module):
    """Broken on purpose: a [B, 1, T, D] output no encoder can pool."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :64].reshape(x.shape[0], 1, 8, 8)


def save(name: str, module: nn.Module, inputs: torch.Tensor) -> None:
    torch.manual_seed(0)
    scripted = torch.jit.script(module.eval())
    path = OUT / f"{name}.pt"
    scripted.save(str(path))
    strip_debug(str(path))  # no machine paths in the committed files
    with torch.inference_mode():
        out = torch.jit.load(str(path))(inputs)
    if isinstance(out, torch.Tensor):
        layers = [("0", out)]
    elif isinstance(out, tuple):
        layers = [(str(i), t) for i, t in enumerate(out)]
    else:
        layers = list(out.items())
    for layer, tensor in layers:
        np.save(OUT / f"{name}.{layer}.npy", tensor.numpy().astype(np.float32))


def seeded(factory):
    torch.manual_seed(0)
    return factory()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 16000.0
    waveforms = np.stack(
        [np.sin(2 * np.pi * f * t) * 0.5 + rng.normal(0, 0.05, t.size) for f in (220.0, 440.0, 880.0)]
    ).astype(np.float32)
    frames = rng.normal(0, 0.3, (7, 256)).astype(np.float32)
    np.save(OUT / "waveforms.npy", waveforms)
    np.save(OUT / "frames.npy", frames)
    w, f = torch.from_numpy(waveforms), torch.from_numpy(frames)
    save("waveform_tensor", seeded(WaveformTensor), w)
    save("waveform_tuple", seeded(WaveformTuple), w)
    save("waveform_dict", seeded(WaveformDict), w)
    save("framed", seeded(Framed), f)
    # Saved without outputs: encoding with them must fail in Rust.
    for name, module in [("returns_nan", ReturnsNan()), ("returns_rank4", ReturnsRank4())]:
        torch.jit.script(module).save(str(OUT / f"{name}.pt"))
        strip_debug(str(OUT / f"{name}.pt"))
    torch.save(seeded(Framed).state_dict(), OUT / "state_dict_not_torchscript.pt")
    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size:>8}  {p.name}")


if __name__ == "__main__":
    main()
