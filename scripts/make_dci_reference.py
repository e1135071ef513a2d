"""Reference values for DCI fitted on train items and scored on test items
(tasks/src/metrics/disentanglement.rs, `dci_train_test`).

Writes tasks/tests/fixtures/dci_reference.json. Run from the repository root
with numpy and scikit-learn installed:

    python3 scripts/make_dci_reference.py

Definitions (Eastwood & Williams, "A Framework for the Quantitative
Evaluation of Disentangled Representations", ICLR 2018, with Lasso
regressors):
- codes standardised with the train items' mean and population standard
  deviation (constant codes -> 0), applied to train and test codes;
- per numeric factor, and per class of a categorical factor present on the
  train items (its 0/1 indicator), the target standardised the same way and
  sklearn.linear_model.Lasso(alpha, fit_intercept=False) fitted on train;
- importance R[i, j] = |w_i| (mean over a categorical factor's classes);
- disentanglement = sum_i (R_i. / R..) (1 - H_K(R_i. / R_i.)), K factors;
- completeness_j = 1 - H_D'(R_.j / R_.j), D' = the number of codes with any
  importance (at least 2): the codes actually used, so unused dimensions of
  a wide embedding do not inflate it;
- informativeness_j on test items: R^2 (sklearn.metrics.r2_score) of the
  de-standardised prediction for a numeric factor; accuracy of the argmax
  of the de-standardised class indicators (classes in sorted order, the
  first on ties) for a categorical one.
"""

import json

import numpy as np
from sklearn.linear_model import Lasso
from sklearn.metrics import accuracy_score, r2_score


def standardise(train, other):
    mean = train.mean(axis=0)
    sd = train.std(axis=0)
    safe = np.where(sd > 0, sd, 1.0)
    keep = sd > 0
    return (train - mean) / safe * keep, (other - mean) / safe * keep


def entropy(p, base):
    p = p / p.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(base))


def dci(train_codes, test_codes, factors_train, factors_test, kinds, alpha):
    xtr, xte = standardise(train_codes, test_codes)
    d, k = xtr.shape[1], len(kinds)
    importance = np.zeros((d, k))
    informativeness = []
    for j, kind in enumerate(kinds):
        ytr, yte = factors_train[j], factors_test[j]
        if kind == "numeric":
            targets = [ytr.astype(float)]
        else:
            classes = sorted(set(ytr.tolist()))
            targets = [(ytr == c).astype(float) for c in classes]
        predictions = []
        for t in targets:
            mean, sd = t.mean(), t.std()
            fit = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=1_000_000)
            fit.fit(xtr, (t - mean) / sd)
            importance[:, j] += np.abs(fit.coef_) / len(targets)
            predictions.append(xte @ fit.coef_ * sd + mean)
        if kind == "numeric":
            informativeness.append(float(r2_score(yte, predictions[0])))
        else:
            pred = np.array(classes)[np.argmax(np.stack(predictions, axis=1), axis=1)]
            informativeness.append(float(accuracy_score(yte, pred)))
    total = importance.sum()
    disentanglement = sum(
        row.sum() / total * (1 - entropy(row, k)) for row in importance if row.sum() > 0
    )
    used = max(int((importance.sum(axis=1) > 0).sum()), 2)
    completeness = [1 - entropy(col, used) if col.sum() > 0 else 0.0 for col in importance.T]
    return {
        "disentanglement": float(disentanglement),
        "completeness": float(np.mean(completeness)),
        "completeness_per_factor": completeness,
        "codes_used": int((importance.sum(axis=1) > 0).sum()),
        "informativeness_per_factor": informativeness,
        "informativeness": float(np.mean(informativeness)),
    }


def case(rng, n_train, n_test, alpha, mixing):
    n = n_train + n_test
    a = rng.uniform(-1, 1, size=n)
    b = rng.integers(0, 3, size=n)
    noise = rng.normal(size=(n, 6))
    codes = np.stack(
        [
            a + 0.1 * noise[:, 0],
            b + mixing * a + 0.2 * noise[:, 1],
            0.5 * a - 0.3 * b + noise[:, 2],
            noise[:, 3],
            noise[:, 4],
            noise[:, 5] * 0.01,
        ],
        axis=1,
    )
    tr, te = slice(0, n_train), slice(n_train, n)
    factors = [a, b]
    kinds = ["numeric", "categorical"]
    expected = dci(
        codes[tr], codes[te], [f[tr] for f in factors], [f[te] for f in factors], kinds, alpha
    )
    return {
        "alpha": alpha,
        "train_codes": codes[tr].tolist(),
        "test_codes": codes[te].tolist(),
        "factors_train": [a[tr].tolist(), b[tr].tolist()],
        "factors_test": [a[te].tolist(), b[te].tolist()],
        "kinds": kinds,
        "expected": expected,
    }


def main():
    rng = np.random.default_rng(20261202)
    cases = [case(rng, 150, 90, 0.02, 0.0), case(rng, 120, 80, 0.1, 0.8)]
    out = {
        "about": "DCI with Lasso importances fitted on train items, informativeness on test "
        "items; scripts/make_dci_reference.py (scikit-learn Lasso, tol 1e-12).",
        "cases": cases,
    }
    with open("tasks/tests/fixtures/dci_reference.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
