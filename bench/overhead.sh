#!/usr/bin/env bash
# The framework's overhead on a TorchScript encoder: `repbench run
# configs/crepe.toml` into an empty cache, three times, and from each
# run.json the embedding stage's wall time, the time an encoder call was
# running (encoder_seconds) and the rest (framework_overhead_seconds:
# rendering/reading and resampling audio, framing, pooling, cache I/O).
# Prints each run and the median share (target < 5 %).
#
#   bench/overhead.sh [CONFIG]    (default configs/crepe.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/crepe.toml}
scripts/fetch-libtorch.sh >/dev/null
cargo build --release --quiet --features torch
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for i in 1 2 3; do
    target/release/repbench run "$config" --out "$dir/run$i" --quiet > /dev/null
done
python3 - "$dir" <<'PY'
import json, statistics, sys
shares = []
for i in (1, 2, 3):
    s = json.load(open(f"{sys.argv[1]}/run{i}/run.json"))["stats"]
    e, enc, o = s["embed_seconds"], s["encoder_seconds"], s["framework_overhead_seconds"]
    shares.append(o / e)
    print(f"run {i}: embedding stage {e:.3f} s, encoder calls {enc:.3f} s, framework {o:.3f} s ({100 * o / e:.1f} %)")
print(f"framework overhead, median of 3: {100 * statistics.median(shares):.1f} % of the embedding stage (target < 5 %)")
PY
