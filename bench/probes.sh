#!/usr/bin/env bash
# Probe speed against scikit-learn, in one run: the logistic probe and
# sklearn's LogisticRegression (lbfgs, C=1, max_iter=100, tol=1e-4) on the
# same standardised 10 000 × 768, 10-class arrays; plus ridge on
# 50 000 × 1024. Needs python3 with numpy and scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ours=$(REPBENCH_BENCH_DIR="$dir" cargo bench --quiet -p repbench-tasks --bench probes 2>/dev/null)
echo "$ours"
python3 - "$dir" "$ours" <<'PY'
import re, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
d, ours = sys.argv[1], sys.argv[2]
xt, yt = np.load(f"{d}/x_train.npy"), np.load(f"{d}/y_train.npy")
xs, ys = np.load(f"{d}/x_test.npy"), np.load(f"{d}/y_test.npy")
t0 = time.perf_counter()
clf = LogisticRegression(C=1.0, max_iter=100, tol=1e-4).fit(xt, yt)
sk_time = time.perf_counter() - t0
sk_acc = clf.score(xs, ys)
m = re.search(r"logistic .*: ([0-9.]+) s, test accuracy ([0-9.]+)", ours)
t, acc = float(m.group(1)), float(m.group(2))
print(f"scikit-learn LogisticRegression: {sk_time:.3f} s, test accuracy {sk_acc:.4f}")
print(f"logistic time ratio repbench/sklearn = {t / sk_time:.2f}x (target <= 1.0), accuracy difference {100 * (acc - sk_acc):+.2f} points (target within 0.5)")
PY
