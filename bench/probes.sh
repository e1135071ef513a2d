#!/usr/bin/env bash
# Probe speed against scikit-learn and linfa-logistic, in one run: the
# logistic probe, scikit-learn's LogisticRegression (lbfgs, C = 1/α,
# max_iter=100, tol=1e-4) and linfa-logistic's MultiLogisticRegression (the
# same objective, 100 iterations, gradient tolerance matched; see
# bench/linfa/src/main.rs) at α ∈ {100, 1, 0.01} on the same standardised
# 10 000 × 768, 10-class arrays; the kNN probe against scikit-learn's
# KNeighborsClassifier (cosine, brute force, each k of the default list on
# valid, the best on test) on the same arrays; plus ridge on 50 000 × 1024
# (six λ).
# Needs python3 with numpy and scikit-learn; linfa is skipped when
# bench/linfa does not build (it needs its crates from crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ours=$(REPBENCH_BENCH_DIR="$dir" cargo bench --quiet -p repbench-tasks --bench probes 2>/dev/null)
echo "$ours"
sk=$(python3 - "$dir" <<'PY'
import sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
d = sys.argv[1]
xt, yt = np.load(f"{d}/x_train.npy"), np.load(f"{d}/y_train.npy")
xs, ys = np.load(f"{d}/x_test.npy"), np.load(f"{d}/y_test.npy")
# Warm-up fit (lazy imports, BLAS threads), not timed.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    LogisticRegression(max_iter=5).fit(xt[:500], yt[:500])
for alpha in (100.0, 1.0, 0.01):
    t0 = time.perf_counter()
    clf = LogisticRegression(C=1.0 / alpha, max_iter=100, tol=1e-4).fit(xt, yt)
    t = time.perf_counter() - t0
    print(f"scikit-learn alpha={alpha:g} (C={1 / alpha:g}): {t:.3f} s, test accuracy {clf.score(xs, ys):.4f}, {int(clf.n_iter_.max())} iterations", flush=True)
# kNN as repbench's probe: cosine, brute force, each k on valid, the best on test.
from sklearn.neighbors import KNeighborsClassifier
xv, yv = np.load(f"{d}/x_valid.npy"), np.load(f"{d}/y_valid.npy")
t0 = time.perf_counter()
scores = {k: KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(xt, yt).score(xv, yv) for k in (1, 3, 5, 10, 20, 50)}
best = max(scores, key=lambda k: (scores[k], -k))
acc = KNeighborsClassifier(n_neighbors=best, metric="cosine", algorithm="brute").fit(xt, yt).score(xs, ys)
print(f"scikit-learn knn: {time.perf_counter() - t0:.3f} s, test accuracy {acc:.4f}, k {best}", flush=True)
PY
)
echo "$sk"
linfa=""
if (cd bench/linfa && CARGO_TARGET_DIR=target cargo build --quiet --release 2>/dev/null); then
    linfa=$(bench/linfa/target/release/repbench-linfa-bench "$dir")
    echo "$linfa"
else
    echo "linfa-logistic: skipped (bench/linfa does not build here)"
fi
python3 - "$ours" "$sk" "$linfa" <<'PY'
import re, sys
ours, sk, linfa = sys.argv[1:4]
num = r"([0-9.e+-]+)"
def table(text, prefix):
    rows = {}
    for m in re.finditer(prefix + r" ?alpha=" + num + r"[^:]*: " + num + r" s, test accuracy " + num, text):
        rows[float(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return rows
o, s = table(ours, "logistic [^,]*, 10 classes,"), table(sk, "scikit-learn")
mo = re.search(r"knn [^:]*: " + num + r" s, test accuracy " + num, ours)
ms = re.search(r"scikit-learn knn: " + num + r" s, test accuracy " + num, sk)
if mo and ms:
    print(f"knn: repbench/sklearn time ratio {float(mo.group(1)) / float(ms.group(1)):.2f}x, accuracy difference {100 * (float(mo.group(2)) - float(ms.group(2))):+.2f} points")
for alpha in (100.0, 1.0, 0.01):
    (t, a), (ts, as_) = o[alpha], s[alpha]
    print(f"alpha={alpha:g}: repbench/sklearn time ratio {t / ts:.2f}x (target <= 1.0), accuracy difference {100 * (a - as_):+.2f} points (target within 0.5)")
    for m in re.finditer(r"linfa alpha=" + num + r" (\w+) [^:]*: " + num + r" s, test accuracy " + num, linfa):
        if float(m.group(1)) == alpha:
            tl, al = float(m.group(3)), float(m.group(4))
            print(f"  linfa {m.group(2)}: linfa/repbench time ratio {tl / t:.2f}x (adopt if <= 1.5 at equal accuracy), accuracy linfa - repbench {100 * (al - a):+.2f} points, linfa - sklearn {100 * (al - as_):+.2f} points")
PY
