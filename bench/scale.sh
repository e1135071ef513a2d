#!/usr/bin/env bash
# Scale: a logistic probe over 100 000 precomputed 1024-d embeddings
# (70 000 train / 15 000 valid / 15 000 test, 10 classes), repbench end to
# end (`repbench run`: read the .npy, fill the cache, standardise, fit the
# default α grid, choose on valid, score every test item with a bootstrap
# interval) against scikit-learn doing the same probe on the same arrays
# (np.load, StandardScaler on train, LogisticRegression per α with lbfgs,
# C = 1/α, max_iter 100, tol 1e-4, the same grid and the same edge
# extension, chosen on valid, scored on test). Both run under
# /usr/bin/time -v; prints time and peak RSS of each and the ratios.
# Needs python3 with numpy and scikit-learn, and a release build.
# Usage: bench/scale.sh [N_ITEMS] [DIM]   (defaults 100000 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dim=${2:-1024}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet
python3 - "$dir" "$n" "$dim" <<'PY'
import sys, wave
import numpy as np
d, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
classes = 10
# Classes differ along a 32-d subspace, buried in isotropic noise: a probe
# needs many items and the right regularisation to read them.
basis = (rng.standard_normal((32, dim)) / np.sqrt(dim)).astype(np.float32)
means = rng.standard_normal((classes, 32)).astype(np.float32) * 0.5
y = rng.integers(0, classes, n)
x = np.empty((n, dim), dtype=np.float32)
for a in range(0, n, 10000):
    b = min(n, a + 10000)
    x[a:b] = means[y[a:b]] @ basis + rng.standard_normal((b - a, dim), dtype=np.float32)
np.save(f"{d}/embeddings.npy", x)
split = np.where(np.arange(n) % 20 < 14, "train", np.where(np.arange(n) % 20 < 17, "valid", "test"))
ids = [f"item{i:06d}" for i in range(n)]
with open(f"{d}/ids.txt", "w") as f:
    f.write("\n".join(ids) + "\n")
# Every row points at one short silent file: a precomputed encoder never
# decodes audio, and the dataset still hashes each row's file.
with wave.open(f"{d}/silence.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"\x00\x00" * 1600)
with open(f"{d}/manifest.csv", "w") as f:
    f.write("id,path,split,label\n")
    for i in range(n):
        f.write(f"{ids[i]},silence.wav,{split[i]},c{y[i]}\n")
np.save(f"{d}/y.npy", y)
np.save(f"{d}/split.npy", (np.arange(n) % 20 >= 14).astype(np.int8) + (np.arange(n) % 20 >= 17).astype(np.int8))
PY
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
measure() { # label, command...: prints "label: S s, peak RSS R MB"
    local label=$1; shift
    /usr/bin/time -v "$@" > "$dir/$label.out" 2> "$dir/$label.time" || { cat "$dir/$label.time"; exit 1; }
    local s rss
    s=$(grep "Elapsed (wall clock)" "$dir/$label.time" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(grep "Maximum resident" "$dir/$label.time" | awk '{print $NF}')
    echo "$label: $s s, peak RSS $((rss / 1024)) MB"
    summary+="$label $s $((rss / 1024))"$'\n'
}
measure repbench-cold target/release/repbench run "$dir/scale.toml" --quiet
grep -o '"[a-z_]*seconds": [0-9.]*' "$dir/out/run.json" | sed 's/^/  /'
python3 - "$dir/out/results.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("metric") == "accuracy" and r.get("perturbation", "none") == "none":
        print(f"  repbench test accuracy {r['value']:.4f} (alpha {r.get('params', {}).get('alpha')})")
PY
cat > "$dir/sk_probe.py" <<'PY'
import sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
t0 = time.perf_counter()
x = np.load(f"{d}/embeddings.npy")
y, split = np.load(f"{d}/y.npy"), np.load(f"{d}/split.npy")
tr, va, te = split == 0, split == 1, split == 2
scaler = StandardScaler().fit(x[tr])
xt, xv, xs = scaler.transform(x[tr]), scaler.transform(x[va]), scaler.transform(x[te])
del x
grid = [100.0, 10.0, 1.0, 0.1, 0.01]
models, scores = {}, {}
def fit(alpha):
    models[alpha] = LogisticRegression(C=1.0 / alpha, max_iter=100, tol=1e-4).fit(xt, y[tr])
    return models[alpha]
for a in grid:
    scores[a] = fit(a).score(xv, y[va])
# repbench extends the grid past an edge that wins and beats its neighbour.
for edge, step in ((0, 10.0), (-1, 0.1)):
    for _ in range(2):
        order = sorted(scores, reverse=True)
        best = max(order, key=lambda a: scores[a])
        if best != order[edge] or scores[best] <= scores[order[1 if edge == 0 else -2]]:
            break
        a = best * step
        scores[a] = fit(a).score(xv, y[va])
best = max(sorted(scores, reverse=True), key=lambda a: scores[a])
acc = models[best].score(xs, y[te])
print(f"scikit-learn: {len(scores)} fits, alpha {best:g}, test accuracy {acc:.4f}, {time.perf_counter() - t0:.2f} s inside")
PY
measure scikit-learn python3 "$dir/sk_probe.py" "$dir"
cat "$dir/scikit-learn.out" | sed 's/^/  /'
measure repbench-warm target/release/repbench run "$dir/scale.toml" --quiet
python3 - "$summary" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in sys.argv[1].splitlines() if l.strip()}
(t, m), (ts, ms) = rows["repbench-cold"], rows["scikit-learn"]
print(f"repbench/scikit-learn: time {t / ts:.2f}x (target <= 1.5), peak RSS {m / ms:.2f}x; repbench peak RSS {m:.0f} MB (target <= 1536)")
PY
