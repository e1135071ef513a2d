#!/usr/bin/env bash
# Scale: a logistic probe over 100 000 precomputed 1024-d embeddings
# (70 000 train / 15 000 valid / 15 000 test, 10 classes), repbench end to
# end (`repbench run`: read the .npy, fill the cache, standardise, fit the
# default α grid, choose on valid, score every test item with a bootstrap
# interval) against scikit-learn doing the same probe on the same arrays
# (np.load, StandardScaler on train, LogisticRegression per α with lbfgs,
# C = 1/α, max_iter 100, tol 1e-4, the same grid and the same edge
# extension, chosen on valid, scored on test). Both run under
# /usr/bin/time -v; prints time and peak RSS of each and the ratios. Then
# repbench again under `max_memory_gb = 1.0`, where the probe reads its
# training rows in blocks, and checks that results.jsonl is unchanged.
# Needs python3 with numpy and scikit-learn, and a release build.
# Usage: bench/scale.sh [N_ITEMS] [DIM]   (defaults 100000 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dim=${2:-1024}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet
python3 bench/scale/make_data.py "$dir" "$n" "$dim"
cat > "$dir/scale.toml" <<TOML
[run]
name = "scale"
seed = 0
out_dir = "$dir/out"

[[datasets]]
name = "big"
kind = "manifest"
path = "manifest.csv"

[[encoders]]
name = "precomputed"
kind = "precomputed"
path = "embeddings.npy"
ids = "ids.txt"

[[tasks]]
name = "label"
dataset = "big"
target = "label"
type = "multiclass"
probes = [{ kind = "logistic" }]
TOML
summary=""
. bench/scale/measure.sh
measure repbench-cold target/release/repbench run "$dir/scale.toml" --quiet
grep -o '"[a-z_]*seconds": [0-9.]*' "$dir/out/run.json" | sed 's/^/  /'
python3 - "$dir/out/results.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("metric") == "accuracy" and r.get("perturbation", "none") == "none":
        print(f"  repbench test accuracy {r['value']:.4f} (alpha {r.get('params', {}).get('alpha')})")
PY
measure scikit-learn python3 bench/scale/sk_probe.py "$dir"
cat "$dir/scikit-learn.out" | sed 's/^/  /'
measure repbench-warm target/release/repbench run "$dir/scale.toml" --quiet
# The same run under a 1 GiB budget (its own cache), below the dense
# probe's need: the logistic probe reads its training rows in blocks.
sed -e "s|^seed = 0\$|seed = 0\nmax_memory_gb = 1.0|" -e "s|/out\"\$|/out-budget\"|" \
    "$dir/scale.toml" > "$dir/budget.toml"
measure repbench-1gib target/release/repbench run "$dir/budget.toml" --quiet
grep -o '"evaluat[a-z_]*": [0-9.]*' "$dir/out-budget/run.json" | sed 's/^/  /'
if cmp -s "$dir/out/results.jsonl" "$dir/out-budget/results.jsonl"; then
    echo "  results.jsonl byte-identical with and without the budget"
else
    echo "  results.jsonl DIFFERS under the budget"; exit 1
fi
python3 - "$summary" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in sys.argv[1].splitlines() if l.strip()}
(t, m), (ts, ms) = rows["repbench-cold"], rows["scikit-learn"]
print(f"repbench/scikit-learn: time {t / ts:.2f}x (target <= 1.5), peak RSS {m / ms:.2f}x; repbench peak RSS {m:.0f} MB (target <= 1536)")
tb, mb = rows["repbench-1gib"]
print(f"under max_memory_gb = 1.0: time {tb / t:.2f}x the unbudgeted run, {tb / ts:.2f}x scikit-learn; peak RSS {mb:.0f} MB (budget 1024 MiB = 1074 MB)")
PY
