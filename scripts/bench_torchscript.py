#!/usr/bin/env python3
"""Throughput benchmark for a TorchScript model on CPU (PyTorch reference figure).

Runs `forward` repeatedly on a fixed, seeded random float32 input [B, L] under
torch.inference_mode() for about --seconds (warm-up included) and prints one JSON
line: {"frames_per_s", "batches", "batch", "threads", "torch"}.

    python scripts/bench_torchscript.py --model models/crepe-tiny/crepe-tiny.pt
"""

import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="TorchScript file")
    ap.add_argument("--batch", type=int, default=256, help="frames per forward (B)")
    ap.add_argument("--frame-len", type=int, default=1024, help="samples per frame (L)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads")
    ap.add_argument("--seconds", type=float, default=5.0, help="total run time")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)

    model = torch.jit.load(args.model, map_location="cpu").eval()
    x = torch.randn(args.batch, args.frame_len, dtype=torch.float32)

    deadline = time.perf_counter() + args.seconds
    with torch.inference_mode():
        # Warm-up: a few forwards, at most ~20% of the budget (always at least one).
        warm_end = time.perf_counter() + 0.2 * args.seconds
        for _ in range(3):
            model(x)
            if time.perf_counter() >= warm_end:
                break

        batches = 0
        start = time.perf_counter()
        while True:
            model(x)  # output may be a tensor, tuple or dict; it is discarded
            batches += 1
            if time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start

    print(json.dumps({
        "frames_per_s": round(batches * args.batch / elapsed, 1),
        "batches": batches,
        "batch": args.batch,
        "threads": args.threads,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
