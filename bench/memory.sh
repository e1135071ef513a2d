#!/usr/bin/env bash
# Memory budget: K precomputed encoders of N × DIM float32 embeddings
# (default 3 × 100 000 × 1024: 1.2 GB of embeddings), one logistic probe
# task (the default α grid, as bench/scale.sh). repbench runs twice from an
# empty cache, without a budget and with `max_memory_gb` (default 1.5),
# and scikit-learn does the same probes on the same arrays one matrix after
# another. Everything runs under /usr/bin/time -v; prints time and peak RSS
# of each, the ratios, and whether both repbench runs wrote byte-identical
# results.
# Needs python3 with numpy and scikit-learn, a release build, and about
# 5 GB free under $TMPDIR at the default size (the matrices, two caches).
# Usage: bench/memory.sh [N_ITEMS] [DIM] [ENCODERS] [MAX_MEMORY_GB]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dim=${2:-1024}
k=${3:-3}
budget=${4:-1.5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet
python3 bench/scale/make_data.py "$dir" "$n" "$dim" "$k"
config() { # RUN_EXTRA OUT
    printf '[run]\nname = "memory"\nseed = 0\nout_dir = "%s"\n%s\n' "$2" "$1"
    printf '[[datasets]]\nname = "big"\nkind = "manifest"\npath = "manifest.csv"\n\n'
    local files=(embeddings.npy)
    for ((e = 1; e < k; e++)); do files+=("embeddings_$e.npy"); done
    for ((e = 0; e < k; e++)); do
        printf '[[encoders]]\nname = "encoder%d"\nkind = "precomputed"\npath = "%s"\nids = "ids.txt"\n\n' "$e" "${files[$e]}"
    done
    printf '[[tasks]]\nname = "label"\ndataset = "big"\ntarget = "label"\ntype = "multiclass"\nprobes = [{ kind = "logistic" }]\n'
}
config "" "$dir/unlimited" > "$dir/unlimited.toml"
config "max_memory_gb = $budget" "$dir/budget" > "$dir/budget.toml"
summary=""
. bench/scale/measure.sh
for run in unlimited budget; do
    measure "repbench-$run" target/release/repbench run "$dir/$run.toml" --quiet
    grep -o '"\(embed_seconds\|evaluate_seconds\|shards_held\|shards_read_per_unit\|evaluation_waves\)": [0-9.]*' "$dir/$run/run.json" | sed 's/^/  /'
done
if cmp -s "$dir/unlimited/results.jsonl" "$dir/budget/results.jsonl"; then
    echo "results.jsonl: byte-identical with and without the budget"
else
    echo "results.jsonl: DIFFERENT with and without the budget"; exit 1
fi
python3 - "$dir/budget/results.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("metric") == "accuracy" and r.get("perturbation", "none") == "none":
        print(f"  repbench {r['encoder']}: test accuracy {r['value']:.4f} (alpha {r.get('params', {}).get('alpha')})")
PY
files=(embeddings.npy)
for ((e = 1; e < k; e++)); do files+=("embeddings_$e.npy"); done
measure scikit-learn python3 bench/scale/sk_probe.py "$dir" "${files[@]}"
sed 's/^/  /' "$dir/scikit-learn.out"
python3 - "$summary" "$budget" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in sys.argv[1].splitlines() if l.strip()}
budget_mb = float(sys.argv[2]) * 1024
(tu, mu), (tb, mb), (ts, ms) = rows["repbench-unlimited"], rows["repbench-budget"], rows["scikit-learn"]
print(f"repbench without a budget / scikit-learn: time {tu / ts:.2f}x, peak RSS {mu / ms:.2f}x ({mu:.0f} MB)")
print(f"repbench with max_memory_gb / scikit-learn: time {tb / ts:.2f}x (target <= 1.5), peak RSS {mb / ms:.2f}x ({mb:.0f} MB; budget {budget_mb:.0f} MB)")
PY
