"""Reference values for the embedding maps (tasks/src/maps.rs).

Writes tasks/tests/fixtures/map_reference.json. Run from the repository
root with numpy and scikit-learn installed:

    python3 scripts/make_map_reference.py

Definitions checked:
- PCA coordinates and explained-variance shares:
  sklearn.decomposition.PCA(n_components=2).fit_transform / explained_variance_ratio_
  (coordinates compared up to each axis's sign, which is arbitrary);
- trustworthiness: sklearn.manifold.trustworthiness (Euclidean), at
  several k, of the PCA map and of an unrelated random map.
"""

import json

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness


def case(rng, n, d, scales):
    x = rng.normal(size=(n, d)) * scales + rng.normal(size=d)
    coords = PCA(n_components=2).fit(x)
    y = coords.transform(x)
    scrambled = rng.normal(size=(n, 2))
    ks = [1, 3, 5, 9]
    return {
        "x": x.tolist(),
        "pca": y.tolist(),
        "explained_variance_ratio": coords.explained_variance_ratio_.tolist(),
        "random_map": scrambled.tolist(),
        "ks": ks,
        "trust_pca": [float(trustworthiness(x, y, n_neighbors=k)) for k in ks],
        "trust_random": [float(trustworthiness(x, scrambled, n_neighbors=k)) for k in ks],
    }


def main():
    rng = np.random.default_rng(20261203)
    cases = [
        case(rng, 40, 6, np.array([5.0, 3.0, 1.0, 0.5, 0.3, 0.1])),
        case(rng, 25, 9, np.ones(9)),
        case(rng, 60, 4, np.array([1.0, 1.0, 0.2, 0.05])),
    ]
    with open("tasks/tests/fixtures/map_reference.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
