"""Shared export harness for the repbench model zoo (`scripts/zoo/`).

What it does
    Every family script (e.g. `export_wav2vec2.py`) builds an eager
    `torch.nn.Module` whose `forward(wave)` returns a dict of named layers, and
    hands it to `export()` here, which
      1. traces it with `torch.jit.trace(..., strict=False)` (eval mode,
         float32, CPU, no grad), collecting tracer warnings; `.to(device)`
         calls that are no-ops on the tracing device are left out of the
         trace (`same_device_moves_untraced`), so they do not pin the saved
         module to the CPU;
      2. saves `<out>/<stem>.pt`, reloads it with `torch.jit.load` and compares
         it with the eager module on random audio of several lengths and batch
         sizes (max abs diff per layer; fails above `tol`); it also checks
         that the reloaded module returns the same keys, in the same order,
         with `[batch, time, dim]` shapes;
      3. writes the JSON sidecar `<out>/<stem>.json` (format below);
      4. prints the matching repbench `[[encoders]]` TOML block.
    `write_expected()` additionally stores a deterministic test input and the
    saved module's outputs for it (`<stem>.expected.json`), for tests that
    load the `.pt` without Python.
    The rest is what every family script's `main()` does the same way: its
    options (`add_common_args`), the model's identity for the sidecar
    (`tiny_meta`, `hub_meta`, `checkpoint_meta`, then `set_window`), the
    loop of its checks against the reference implementation
    (`check_lengths`, with `feature_diff` / `compare_scaled` for one length)
    and the end (`finish_export`: export, device check, fixture).

Contract of every saved module
    forward(wave: float32 [batch, samples]) -> Dict[str, float32 [batch, time, dim]]
    * wave: raw mono audio at the sidecar's `sample_rate`, roughly in [-1, 1];
      any feature extraction / normalisation is inside the module.
    * batch and samples are dynamic (checked for several values at export).
    * dict keys are `layer_names` of the sidecar, in that (insertion) order.

Sidecar `<stem>.json` (exactly these keys)
    family         e.g. "hubert", "wav2vec2"
    model_id       hub id, or "tiny/<name>" for random-weight fixtures
    revision       hub commit the weights came from (null for tiny models)
    licence        licence of the weights (string)
    sample_rate    Hz the module expects
    window_s       seconds per window repbench should cut (null = whole item)
    hop_s          seconds between window starts (null = same as window_s)
    input          "waveform"
    layer_names    list of output keys, in output order
    layer_dims     list of ints, the `dim` of each layer (same order)
    tiny           true for random-weight fixtures
    exported_with  {"torch": version, "transformers": version or null}

Used by the family scripts; not run on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from strip_torchscript_debug import strip as strip_debug  # noqa: E402

# Bound on |traced - eager| for any element of any layer (float32, CPU).
DEFAULT_TOL = 1e-4
# Sidecar licence of a random-weights fixture.
TINY_LICENCE = "none (random weights)"


@dataclass
class ExportMeta:
    """Everything the sidecar and the TOML block need besides the layers."""

    family: str
    model_id: str
    name: str  # stem of the files and repbench encoder name
    # The rate and window are known only once the model is built:
    # `set_window()` fills them in.
    sample_rate: int = 0
    window_s: Optional[float] = None
    hop_s: Optional[float] = None
    revision: Optional[str] = None
    licence: str = "unknown"
    tiny: bool = False
    versions: Dict[str, Optional[str]] = field(default_factory=dict)


def zero_mean_unit_var(wave: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Per-row normalisation of `[batch, samples]` audio, the formula of
    transformers' `Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm` for an
    unpadded item: `(x - mean) / sqrt(var + eps)`, population variance."""
    mean = wave.mean(dim=1, keepdim=True)
    var = wave.var(dim=1, keepdim=True, unbiased=False)
    return (wave - mean) / torch.sqrt(var + eps)


def versions(**extra: Optional[str]) -> Dict[str, Optional[str]]:
    """`exported_with` entry: torch's version plus the given libraries'."""
    out: Dict[str, Optional[str]] = {"torch": torch.__version__}
    out.update(extra)
    return out


def _prepare(module: torch.nn.Module) -> torch.nn.Module:
    module = module.eval().float().to("cpu")
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _run(module, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
    out = module(wave)
    if not isinstance(out, dict):
        raise TypeError(f"module must return a dict of tensors, got {type(out).__name__}")
    return out


def random_audio(batch: int, samples: int, seed: int) -> torch.Tensor:
    """Seeded test audio: noise plus a sine per row, different levels and a
    small DC offset, so normalisation inside a module is exercised."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(samples, dtype=torch.float64)
    rows = []
    for b in range(batch):
        freq = 0.01 + 0.03 * b  # cycles per sample
        sine = torch.sin(2 * math.pi * freq * t).float()
        noise = torch.randn(samples, generator=g)
        level = 0.5 / (1 + b)
        rows.append(level * (0.6 * sine + 0.3 * noise) + 0.01 * b)
    return torch.stack(rows)


def _same_device_move(t: torch.Tensor, args: tuple, kwargs: dict) -> bool:
    """Whether `t.to(*args, **kwargs)` only names a device, `t`'s own (a
    no-op: torch returns `t` itself)."""
    if len(args) == 1 and not kwargs:
        dev = args[0]
    elif not args and set(kwargs) == {"device"}:
        dev = kwargs["device"]
    else:
        return False
    return isinstance(dev, (torch.device, str)) and torch.device(dev) == t.device


@contextlib.contextmanager
def same_device_moves_untraced():
    """While tracing inside this block, `x.to(device)` with x already on that
    device returns x without recording anything. Model code such as
    transformers' `pos.to(hidden_states.device)` (HuBERT / wav2vec 2.0
    encoders) is a no-op when traced on one device, but a trace records
    `aten::to` with the tracing device (CPU) baked in, so the saved module
    would copy that tensor back to the CPU on a GPU and fail. Eager
    results are unchanged (torch returns x itself there too); any other
    `.to` call (dtype, copy, another device) is recorded as usual."""
    had_own = "to" in torch.Tensor.__dict__
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        if torch.jit.is_tracing() and _same_device_move(self, args, kwargs):
            return self
        return original(self, *args, **kwargs)

    torch.Tensor.to = to
    try:
        yield
    finally:
        if had_own:
            torch.Tensor.to = original
        else:
            del torch.Tensor.to


def trace(module: torch.nn.Module, example: torch.Tensor) -> Tuple[torch.jit.ScriptModule, List[str]]:
    """Traces `module` on `example` (with `same_device_moves_untraced()`);
    returns the traced module and the distinct warning messages the tracer
    printed."""
    module = _prepare(module)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad(), same_device_moves_untraced():
        warnings.simplefilter("always")
        traced = torch.jit.trace(module, (example,), strict=False, check_trace=False)
    seen: List[str] = []
    for w in caught:
        where = f"{os.path.basename(os.path.dirname(w.filename))}/{os.path.basename(w.filename)}:{w.lineno}"
        msg = f"{w.category.__name__} at {where}: {str(w.message).splitlines()[0]}"
        if msg not in seen:
            seen.append(msg)
    return traced, seen


def compare(eager: torch.nn.Module, loaded, checks: Sequence[Tuple[int, int]], seed: int = 0,
            tol: float = DEFAULT_TOL) -> Tuple[bool, Dict[str, float], List[str], List[int]]:
    """Runs both modules on `random_audio(batch, samples)` for each
    `(batch, samples)` in `checks`. Returns (ok, worst diff per layer, layer
    names, layer dims)."""
    ok = True
    worst: Dict[str, float] = {}
    names: List[str] = []
    dims: List[int] = []
    with torch.no_grad():
        for i, (batch, samples) in enumerate(checks):
            wave = random_audio(batch, samples, seed + i)
            ref = _run(eager, wave)
            got = _run(loaded, wave)
            if list(got.keys()) != list(ref.keys()):
                print(f"FAIL: keys differ for {batch}x{samples}: {list(got)} vs {list(ref)}")
                ok = False
                continue
            if not names:
                names = list(ref.keys())
                dims = [int(ref[k].shape[-1]) for k in names]
            line = []
            for k in names:
                r, g = ref[k], got[k]
                if g.dim() != 3 or g.shape != r.shape or g.shape[0] != batch or g.dtype != torch.float32:
                    print(f"FAIL: {k} has shape {tuple(g.shape)} {g.dtype}, eager {tuple(r.shape)}")
                    ok = False
                    continue
                d = (g - r).abs().max().item() if g.numel() else 0.0
                if not math.isfinite(d) or not torch.isfinite(g).all():
                    d = float("inf")
                worst[k] = max(worst.get(k, 0.0), d)
                line.append(f"{k} {tuple(g.shape)} {d:.2e}")
            print(f"  input {batch}x{samples}: " + ", ".join(line))
    for k, d in worst.items():
        if d > tol:
            print(f"FAIL: {k} max abs diff {d:.3e} > {tol:.0e}")
            ok = False
    return ok, worst, names, dims


def sidecar(meta: ExportMeta, names: List[str], dims: List[int]) -> dict:
    return {
        "family": meta.family,
        "model_id": meta.model_id,
        "revision": meta.revision,
        "licence": meta.licence,
        "sample_rate": meta.sample_rate,
        "window_s": meta.window_s,
        "hop_s": meta.hop_s,
        "input": "waveform",
        "layer_names": names,
        "layer_dims": dims,
        "tiny": meta.tiny,
        "exported_with": meta.versions,
    }


def toml_block(meta: ExportMeta, pt_path: str) -> str:
    lines = [
        "[[encoders]]",
        f'name = "{meta.name}"',
        'kind = "torchscript"',
        f'path = "{pt_path}"   # relative to the config file',
        f"sample_rate = {meta.sample_rate}",
        'input = "waveform"',
    ]
    if meta.window_s is not None:
        lines.append(f"window_s = {meta.window_s!r}")
        if meta.hop_s is not None:
            lines.append(f"hop_s = {meta.hop_s!r}")
    lines += ['layers = ["all"]', 'pooling = "mean"']
    return "\n".join(lines)


def export(module: torch.nn.Module, meta: ExportMeta, out_dir: str, trace_samples: int,
           checks: Sequence[Tuple[int, int]], tol: float = DEFAULT_TOL) -> Tuple[bool, str, dict]:
    """Traces, saves, reloads, verifies, writes the sidecar, prints the TOML.
    `checks` should hold at least two different lengths (the first may be
    `trace_samples`). Returns (ok, path of the .pt, sidecar dict)."""
    if meta.sample_rate <= 0:
        raise ValueError(f"{meta.name}: no sample rate in ExportMeta (set_window() not called)")
    torch.set_grad_enabled(False)
    module = _prepare(module)
    os.makedirs(out_dir, exist_ok=True)
    pt = os.path.join(out_dir, meta.name + ".pt")

    traced, warns = trace(module, random_audio(2, trace_samples, seed=1234))
    for w in warns:
        print(f"  tracer: {w}")
    traced.save(pt)
    # No machine paths in committed files; verified below in this form.
    strip_debug(pt)
    print(f"saved {pt} ({os.path.getsize(pt)} bytes)")

    loaded = torch.jit.load(pt, map_location="cpu").eval()
    if len({s for _, s in checks}) < 2:
        print("FAIL: verification needs at least two input lengths")
        return False, pt, {}
    ok, worst, names, dims = compare(module, loaded, checks, tol=tol)
    print(f"max abs diff traced vs eager (bound {tol:.0e}): "
          + ", ".join(f"{k} {d:.2e}" for k, d in worst.items()))

    side = sidecar(meta, names, dims)
    json_path = os.path.join(out_dir, meta.name + ".json")
    with open(json_path, "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")
    print(f"wrote {json_path}")
    print()
    print(toml_block(meta, pt))
    print()
    print("VERIFY OK" if ok else "VERIFY FAILED")
    return ok, pt, side


def _f32(x: float) -> str:
    """Shortest decimal that reads back as the same float32."""
    return str(np.float32(x))  # numpy prints the shortest round-trip form


def _nested(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ",".join(_f32(v) for v in a) + "]"
    return "[" + ",".join(_nested(s) for s in a) + "]"


def write_expected(pt: str, sample_rate: int, wave: torch.Tensor, eager: Optional[torch.nn.Module] = None,
                   tol: float = DEFAULT_TOL) -> Tuple[bool, str]:
    """Runs the saved module at `pt` on `wave` and writes
    `<stem>.expected.json` = {"sample_rate", "input": [batch][samples],
    "outputs": {layer: [batch][time][dim]}}, float32 values written as the
    shortest decimals that read back exactly. With `eager`, also checks the
    outputs against it."""
    wave = wave.to(torch.float32).contiguous()
    loaded = torch.jit.load(pt, map_location="cpu").eval()
    with torch.no_grad():
        out = _run(loaded, wave)
        ok = True
        if eager is not None:
            ref = _run(_prepare(eager), wave)
            for k in out:
                d = (out[k] - ref[k]).abs().max().item()
                ok &= d <= tol
                print(f"  expected-output check {k}: max abs diff vs eager {d:.2e}")
    path = pt[: -len(".pt")] + ".expected.json"
    parts = [f'{{"sample_rate":{int(sample_rate)},\n"input":{_nested(wave.numpy())},\n"outputs":{{']
    parts.append(",\n".join(f"{json.dumps(k)}:{_nested(v.numpy())}" for k, v in out.items()))
    parts.append("}}\n")
    with open(path, "w") as f:
        f.write("".join(parts))
    # Read back: the file must be valid JSON holding exactly these float32s.
    with open(path) as f:
        back = json.load(f)
    ok &= bool(np.array_equal(np.asarray(back["input"], dtype=np.float32), wave.numpy()))
    for k, v in out.items():
        ok &= bool(np.array_equal(np.asarray(back["outputs"][k], dtype=np.float32), v.numpy()))
    print(f"wrote {path} ({os.path.getsize(path)} bytes){'' if ok else ' FAILED CHECK'}")
    return ok, path


def exit_with(ok: bool) -> None:
    sys.exit(0 if ok else 1)


def fixture_input(sample_rate: int, samples: int) -> torch.Tensor:
    """The fixed [2, samples] input stored in `<name>.expected.json`: a
    220 Hz sine with a little noise, and quieter noise with a DC offset."""
    g = torch.Generator().manual_seed(20240516)
    t = torch.arange(samples, dtype=torch.float64) / sample_rate
    row0 = 0.4 * torch.sin(2 * torch.pi * 220.0 * t).float() + 0.05 * torch.randn(samples, generator=g)
    row1 = 0.1 * torch.randn(samples, generator=g) + 0.02
    return torch.stack([row0, row1]).float()


def add_common_args(ap, example_id: str):
    """The options every family's export script takes: the model source
    (`--model ID` or `--tiny`), output, name, window, licence, seed and
    tolerance. Returns the `--model`/`--tiny` group, so a family can change
    what `--tiny` takes."""
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help=f"hub id, e.g. {example_id}")
    ap.add_argument("--revision", help="hub revision (branch, tag or commit)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--name", help="file stem / encoder name")
    ap.add_argument("--window-s", type=float, help="override the window length (s); <= 0 = whole item")
    ap.add_argument("--hop-s", type=float, help="override the hop (s)")
    ap.add_argument("--licence", help="override the licence string")
    ap.add_argument("--seed", type=int, default=0, help="--tiny: weight seed")
    ap.add_argument("--tol", type=float, default=DEFAULT_TOL)
    return src


def apply_overrides(args, window_s, hop_s, licence):
    """A family's window, hop and licence after the common options
    `--window-s` (<= 0: whole item), `--hop-s` and `--licence`."""
    if args.window_s is not None:
        window_s = args.window_s if args.window_s > 0 else None
    if args.hop_s is not None:
        hop_s = args.hop_s
    return window_s, hop_s, args.licence or licence


def set_window(meta: ExportMeta, args, sample_rate: int, window_s: Optional[float],
               hop_s: Optional[float] = None) -> None:
    """Fills in `meta`'s sample rate, and its window, hop and licence after
    the command-line overrides (`apply_overrides`): the family's defaults
    are known only once its model is built, after the identity
    (`tiny_meta` / `hub_meta` / `checkpoint_meta`)."""
    meta.sample_rate = int(sample_rate)
    meta.window_s, meta.hop_s, meta.licence = apply_overrides(args, window_s, hop_s, meta.licence)


def tiny_meta(args, key: str, family: str, versions: Dict[str, Optional[str]]) -> ExportMeta:
    """Identity of a random-weights fixture, the same for every family so
    the fixtures are named alike: model_id `tiny/<key>`, file stem
    `<key>-tiny` (unless --name), no revision, licence TINY_LICENCE."""
    return ExportMeta(family=family, model_id=f"tiny/{key}", name=args.name or f"{key}-tiny",
                      revision=None, licence=TINY_LICENCE, tiny=True, versions=versions)


def hub_info(model_id: str, revision: Optional[str]):
    """(resolved commit, licence) from the hub; (revision, None) if unavailable."""
    try:
        from huggingface_hub import model_info

        info = model_info(model_id, revision=revision)
        lic = getattr(info.card_data, "license", None) if info.card_data is not None else None
        if isinstance(lic, list):
            lic = ",".join(lic)
        return info.sha or revision, lic
    except Exception as e:  # offline, gated, ...
        print(f"warning: could not read hub info for {model_id}: {e}")
        return revision, None


def hub_meta(args, family: str, versions: Dict[str, Optional[str]]) -> ExportMeta:
    """Identity of a hub model (`--model ID`, already loaded): the file stem
    is the id's last part, lower case (unless --name); the revision is the
    commit the hub resolves (--revision as given if the hub cannot be asked)
    and the licence the model card's, so the sidecar records which weights
    were exported."""
    model_id = args.model
    revision, licence = hub_info(model_id, args.revision)
    return ExportMeta(family=family, model_id=model_id, name=args.name or model_id.split("/")[-1].lower(),
                      revision=revision, licence=licence or "unknown", tiny=False, versions=versions)


def file_sha256(path: str) -> str:
    """Hex sha256 of a file, read in 1 MiB pieces (checkpoints are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checkpoint_meta(args, prefix: str, family: str, default_name: str, licence: str,
                    versions: Dict[str, Optional[str]]) -> ExportMeta:
    """Identity of weights from a file (`--checkpoint PATH`, not on a hub):
    model_id `<prefix>/<file name>` and, as the revision, the file's sha256,
    which pins the weights as a hub commit would."""
    return ExportMeta(family=family, model_id=f"{prefix}/{os.path.basename(args.checkpoint)}",
                      name=args.name or default_name, revision=f"sha256:{file_sha256(args.checkpoint)}",
                      licence=licence, tiny=False, versions=versions)


def package_version(dist: str) -> Optional[str]:
    """Installed version of a pip distribution, None if unknown (for
    `versions()` of families built on packages other than transformers)."""
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def check_lengths(title: str, lengths: Sequence[int], check_one: Callable[[int, torch.Tensor], bool],
                  seed: int) -> bool:
    """Runs `check_one(n, wave)` on 2 rows of `random_audio(2, n, seed + i)`
    for the i-th length n, then prints `<title>: OK` (or `FAILED`). Every
    family checks its in-module front end and layers against the reference
    implementation this way: all lengths are checked even after a failure,
    and each check ends in one verdict line."""
    ok = True
    for i, n in enumerate(lengths):
        ok &= bool(check_one(n, random_audio(2, n, seed + i)))
    print(f"{title}: {'OK' if ok else 'FAILED'}")
    return ok


def feature_diff(mine: np.ndarray, ref: np.ndarray) -> Optional[float]:
    """max |mine - ref| between in-module features and a feature extractor's,
    or None (after a FAIL line) if their shapes differ, which is a failure
    of its own rather than a large difference."""
    if ref.shape != mine.shape:
        print(f"FAIL: features {mine.shape}, extractor {ref.shape}")
        return None
    return float(np.abs(mine - ref).max())


def compare_scaled(n: int, pairs: Iterable[Tuple[str, torch.Tensor, torch.Tensor]], tol: float) -> bool:
    """Compares each (label, module output, reference) for one input of n
    samples and prints one line of their max abs diffs. The bound is
    `tol * max(1, max |reference|)`: deep CNN layers grow well past 1, where
    float32 rounding grows with them."""
    ok = True
    parts = []
    for k, m, r in pairs:
        if m.shape != r.shape:
            print(f"FAIL: {k} {tuple(m.shape)} vs reference {tuple(r.shape)}")
            ok = False
            continue
        d = (m - r).abs().max().item()
        ok &= d <= tol * max(1.0, r.abs().max().item())
        parts.append(f"{k} {tuple(m.shape)} {d:.2e}")
    print(f"  {n} samples: " + ", ".join(parts))
    return ok


def fixed_input_checks(n: int, sample_rate: int) -> List[Tuple[int, int]]:
    """`export()` checks for a module that pads or cuts every row to a fixed
    input of n samples inside (AST, CLAP, Whisper): the full input, shorter
    and odd lengths, a row longer than the input (cut), one frame, and a
    row too short for any frame."""
    return [(2, n), (3, n // 2 + 17), (1, int(0.73 * n) + 3), (2, n + sample_rate // 4), (2, 400), (1, 1)]


def baked_devices(pt: str) -> List[str]:
    """Lines of the saved module's TorchScript code that create tensors on a
    fixed device (`torch.device("cpu")`, recorded by the tracer from code
    such as `torch.arange(n, device=x.device)`): such a module fails, or
    silently copies, once moved to a GPU. Returns them (empty = none)."""
    found = []
    with zipfile.ZipFile(pt) as z:
        for name in z.namelist():
            if name.endswith(".py") and "/code/" in name:
                for line in z.read(name).decode("utf-8", "replace").splitlines():
                    if "torch.device(" in line:
                        found.append(f"{name.split('/code/', 1)[1]}: {line.strip()}")
    return found


def check_devices(pt: str) -> bool:
    """Prints and fails on `baked_devices(pt)`."""
    found = baked_devices(pt)
    for line in found:
        print(f"  fixed device in saved code: {line}")
    print(f"device check (no tensors created on a fixed device): {'OK' if not found else 'FAILED'}")
    return not found


def finish_export(module: torch.nn.Module, meta: ExportMeta, args, trace_samples: int,
                  checks: Sequence[Tuple[int, int]], fixture_samples: int, device_check: bool = False,
                  fixture_check: Optional[Callable[[torch.Tensor], bool]] = None) -> int:
    """The end of every family script's `main()`; returns its exit status.
    `export()` (to --out, bound --tol); with `device_check`, `check_devices()`
    on the saved file (for modules whose Python code makes tensors with a
    device, which a trace bakes in); then, for a --tiny fixture whose export
    passed, `write_expected()` on `fixture_input(meta.sample_rate,
    fixture_samples)`. `fixture_check(wave)` may refuse that input first
    (exit 1), for a family whose outputs it must not leave ambiguous."""
    ok, pt, _ = export(module, meta, args.out, trace_samples, checks, tol=args.tol)
    if device_check:
        ok &= check_devices(pt)

    if meta.tiny and ok:
        wave = fixture_input(meta.sample_rate, fixture_samples)
        if fixture_check is not None and not fixture_check(wave):
            return 1
        ok, _ = write_expected(pt, meta.sample_rate, wave, eager=module, tol=args.tol)
    return 0 if ok else 1
