"""Reference values for the property metrics (tasks/src/metrics/properties.rs).

Writes tasks/tests/fixtures/property_reference.json. Run from the repository
root with numpy and scikit-learn installed:

    python3 scripts/make_property_reference.py

Definitions checked:
- variance-weighted R^2: sklearn.metrics.r2_score(multioutput="variance_weighted");
- row cosines: numpy, over the feature axis;
- mean squared distance between distinct items: numpy, by brute force over
  every ordered pair i != j;
- invariance: 1 - mean_i ||x_i - y_i||^2 / mean_{i != j} ||x_i - x_j||^2;
- self-retrieval ranks: 1 + #{j != i : ||y_i - x_j|| <= ||y_i - x_i||}.
"""

import json

import numpy as np
from sklearn.metrics import r2_score


def case(rng, n, d, noise, scale):
    x = rng.normal(size=(n, d)) * scale + rng.normal(size=d)
    y = x + noise * rng.normal(size=(n, d))
    pred = y + 0.3 * rng.normal(size=(n, d))
    # Ties on purpose: two identical gallery rows.
    x[1] = x[0]
    pairs = [np.sum((x[i] - x[j]) ** 2) for i in range(n) for j in range(n) if i != j]
    mean_pair = float(np.mean(pairs))
    invariance = 1.0 - float(np.mean(np.sum((x - y) ** 2, axis=1))) / mean_pair
    ranks = []
    for i in range(n):
        dist = np.sum((y[i] - x) ** 2, axis=1)
        ranks.append(1 + int(np.sum(np.delete(dist, i) <= dist[i])))
    cos = np.sum(y * pred, axis=1) / (np.linalg.norm(y, axis=1) * np.linalg.norm(pred, axis=1))
    return {
        "x": x.tolist(),
        "y": y.tolist(),
        "pred": pred.tolist(),
        "r2_variance_weighted": float(r2_score(y, pred, multioutput="variance_weighted")),
        "row_cosines": cos.tolist(),
        "mean_pair_sq_distance": mean_pair,
        "invariance": invariance,
        "ranks": ranks,
    }


def main():
    rng = np.random.default_rng(20261202)
    cases = [case(rng, 12, 5, 0.2, 1.0), case(rng, 9, 7, 1.5, np.arange(1, 8)), case(rng, 15, 3, 0.01, 10.0)]
    with open("tasks/tests/fixtures/property_reference.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
