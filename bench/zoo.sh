#!/usr/bin/env bash
# Items per second of each model-zoo fixture (models/zoo/tiny/*.pt: the
# zoo's architectures with tiny random weights) on the CPU, and the
# framework's share of the embedding stage: `repbench run` of 360
# synthetic 1 s notes with that one TorchScript encoder into an empty
# cache, three times per model; from run.json the embedding stage's wall
# time, the time an encoder call was running (encoder_seconds) and the
# rest (framework_overhead_seconds: rendering and resampling audio,
# batching, pooling, cache writes). Prints the median per model.
#
#   bench/zoo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-libtorch.sh >/dev/null
cargo build --release --quiet --features torch
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=$(pwd)
for pt in models/zoo/tiny/*.pt; do
    stem=$(basename "$pt" .pt)
    rate=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sample_rate"])' "${pt%.pt}.json")
    cat > "$dir/$stem.toml" <<TOML
[run]
name = "zoo-bench"
seed = 1
out_dir = "runs/zoo-bench"

[[datasets]]
name = "notes"
kind = "synthetic_notes"
renderer = "builtin"
pitch_range = [36, 96]
instruments = ["piano", "organ", "strings", "flute", "trumpet"]
velocities = [60, 110]
durations_s = [0.8]
clip_s = 1.0
n_items = 360
split = { method = "stratified", by = "pitch_class", train = 0.6, valid = 0.2, test = 0.2 }

[[encoders]]
name = "$stem"
kind = "torchscript"
path = "$root/$pt"
sample_rate = $rate
window_s = 0          # whole 1 s items, not the tiny sidecars' windows (0.5-1.92 s)
layers = ["all"]
pooling = "mean"
batch_size = 32

[[tasks]]
name = "pitch_class"
dataset = "notes"
target = "pitch_class"
type = "multiclass"
probes = [{ kind = "logistic", alphas = [1.0] }]
bootstrap = 50
TOML
    for i in 1 2 3; do
        target/release/repbench run "$dir/$stem.toml" --out "$dir/$stem-$i" --quiet > /dev/null
    done
    python3 - "$dir" "$stem" <<'PY'
import json, statistics, sys
d, stem = sys.argv[1], sys.argv[2]
runs = [json.load(open(f"{d}/{stem}-{i}/run.json"))["stats"] for i in (1, 2, 3)]
e = statistics.median(r["embed_seconds"] for r in runs)
enc = statistics.median(r["encoder_seconds"] for r in runs)
fw = statistics.median(r["framework_overhead_seconds"] for r in runs)
share = statistics.median(r["framework_overhead_seconds"] / r["embed_seconds"] for r in runs)
print(f"{stem}: 360 items of 1 s, embedding stage {e:.2f} s ({360 / e:.0f} items/s), "
      f"encoder forward {enc:.2f} s ({360 / enc:.0f} items/s), framework {fw:.2f} s = {100 * share:.1f} % (medians of 3)")
PY
done
