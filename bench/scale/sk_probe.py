"""The logistic probe repbench runs, done by scikit-learn on the same arrays.

Usage: sk_probe.py DIR [EMBEDDINGS.npy ...]   (default embeddings.npy)

Per matrix, one after another: np.load, StandardScaler on train,
LogisticRegression (lbfgs, C = 1/alpha, max_iter 100, tol 1e-4) per alpha of
repbench's default grid with its edge extension, chosen on valid, scored on
test.
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

d = sys.argv[1]
files = sys.argv[2:] or ["embeddings.npy"]
y, split = np.load(f"{d}/y.npy"), np.load(f"{d}/split.npy")
tr, va, te = split == 0, split == 1, split == 2
for name in files:
    t0 = time.perf_counter()
    x = np.load(f"{d}/{name}")
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
    print(f"scikit-learn {name}: {len(scores)} fits, alpha {best:g}, test accuracy {acc:.4f}, {time.perf_counter() - t0:.2f} s inside")
    del xt, xv, xs, models
