#!/usr/bin/env bash
# TorchScript throughput, repbench (tch) against Python torch, in one run:
# CREPE-tiny on [256, 1024] frame batches, 2 intra-op threads, alternating
# the two engines for 5 rounds of 5 s and comparing medians. repbench's
# figure covers its whole encode path (framing, input tensor, forward,
# copying outputs back); Python's is the bare forward on a ready tensor.
# Needs a Python with torch==2.13.0 (PYTHON=/path/to/venv/bin/python).
#
#   bench/torchscript.sh [BATCH] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
batch=${1:-256}
threads=${2:-2}
model=models/crepe-tiny/crepe-tiny.pt
scripts/fetch-libtorch.sh >/dev/null
cargo bench --quiet -p repbench-framework --features torch --bench torchscript --no-run 2>/dev/null
args=(--model "$model" --batch "$batch" --threads "$threads" --seconds 5)
lines=()
for round in 1 2 3 4 5; do
    lines+=("$(REPBENCH_ROOT="$PWD" cargo bench --quiet -p repbench-framework --features torch --bench torchscript -- "${args[@]}" 2>/dev/null | tail -n 1)")
    lines+=("$("$PYTHON" scripts/bench_torchscript.py "${args[@]}" | tail -n 1)")
done
printf '%s\n' "${lines[@]}"
printf '%s\n' "${lines[@]}" | "$PYTHON" -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
tch = statistics.median(r["frames_per_s"] for r in rows if r.get("engine") == "tch")
py = statistics.median(r["frames_per_s"] for r in rows if "torch" in r)
print(f"tch {tch:.1f} frames/s, python {py:.1f} frames/s, tch/python = {tch / py:.3f}")
'
