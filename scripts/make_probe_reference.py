"""Reference values for the measurement-validity tests, from scikit-learn.

Writes tasks/tests/fixtures/probe_reference.json:

* logistic: scikit-learn's LogisticRegression (lbfgs) on an ill-conditioned
  design (correlated features whose scales span two decades, not
  standardised), at C = 1/alpha for alpha in {100, 1, 0.01}; for four
  classes (multinomial), two classes (binary) and three tags (one binary
  model per tag, as OneVsRest). Each case holds the test-set probabilities
  at the optimum (solver newton-cg, tol 1e-10: exact Newton steps on the
  same objective; lbfgs needs over a thousand iterations here), and the
  iterations scikit-learn needs at its defaults (tol 1e-4, max_iter 100) on the same
  features standardised with the train split's mean and population
  standard deviation (as the probes see them).
* classification: macro-F1 with a fixed label set (labels=...) on a
  resample that lost a class; balanced accuracy over the classes present.
* regression: the undefined cases (constant truth, constant prediction).
* holm: p-values (with ties and a NaN) and their Holm adjustment by
  statsmodels' multipletests(method="holm").
* geometry: RankMe (Garrido et al. 2023, eq. 1, on the centred matrix's
  singular values, numpy.linalg.svd) and alpha-ReQ (least-squares slope of
  -log(eigenvalue) on log(rank), numpy.polyfit) of two fixed matrices, one
  wider than tall.

Run: python3 scripts/make_probe_reference.py (numpy, scipy, scikit-learn, statsmodels).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import scipy.stats
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, r2_score

rng = np.random.default_rng(20261201)
N_TRAIN, N_TEST, DIM = 240, 60, 12
ALPHAS = [100.0, 1.0, 0.01]


def design(n):
    """Correlated features with scales from 0.1 to 10 (condition ~1e2)."""
    z = rng.standard_normal((n, DIM))
    mix = np.eye(DIM) + 0.6 * np.tril(np.ones((DIM, DIM)), -1) / DIM
    scales = np.logspace(-1, 1, DIM)
    return (z @ mix) * scales


x_all = design(N_TRAIN + N_TEST)
w_true = rng.standard_normal((DIM, 4)) / np.logspace(-1, 1, DIM)[:, None]
logits = x_all @ w_true + 0.8 * rng.standard_normal((N_TRAIN + N_TEST, 4))
y4 = logits.argmax(1)
y2 = (logits[:, 0] > np.median(logits[:, 0])).astype(int)
tags = (logits[:, 1:] > np.quantile(logits[:, 1:], 0.6, axis=0)).astype(int)
x_train, x_test = x_all[:N_TRAIN], x_all[N_TRAIN:]
x_std = (x_train - x_train.mean(0)) / x_train.std(0)


def fit(x, y, alpha, tol, max_iter, solver="lbfgs"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(
            C=1.0 / alpha, tol=tol, max_iter=max_iter, solver=solver
        ).fit(x, y)


def logistic_case(kind, y):
    cases = []
    for alpha in ALPHAS:
        if kind == "tags":
            probs = np.column_stack(
                [fit(x_train, y[:N_TRAIN, j], alpha, 1e-10, 10000, "newton-cg").predict_proba(x_test)[:, 1]
                 for j in range(y.shape[1])]
            )
            iters = [int(fit(x_std, y[:N_TRAIN, j], alpha, 1e-4, 100).n_iter_[0])
                     for j in range(y.shape[1])]
        else:
            probs = fit(x_train, y[:N_TRAIN], alpha, 1e-10, 10000, "newton-cg").predict_proba(x_test)
            iters = [int(fit(x_std, y[:N_TRAIN], alpha, 1e-4, 100).n_iter_[0])]
        cases.append({
            "kind": kind,
            "alpha": alpha,
            "test_probabilities": probs.tolist(),
            "sklearn_iterations_standardised_tol_1e-4": iters,
        })
    return cases


logistic = {
    "x_train": x_train.tolist(),
    "x_test": x_test.tolist(),
    "x_train_standardised": x_std.tolist(),
    "y_multiclass": y4[:N_TRAIN].tolist(),
    "y_binary": y2[:N_TRAIN].tolist(),
    "y_tags": tags[:N_TRAIN].tolist(),
    "cases": logistic_case("multiclass", y4) + logistic_case("binary", y2)
    + logistic_case("tags", tags),
}

# A resample of a 3-class test set that lost class 1 (two predictions of it).
t = [0, 0, 0, 2, 2, 2, 2, 0]
p = [0, 1, 0, 2, 2, 0, 1, 0]
classification = {
    "y_true": t,
    "y_pred": p,
    "labels": [0, 1, 2],
    "f1_macro_labels": f1_score(t, p, labels=[0, 1, 2], average="macro", zero_division=0),
    "balanced_accuracy_present": balanced_accuracy_score(t, p),
}

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    regression = {
        "constant_truth_r2": r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], force_finite=False),
        "constant_prediction_pearson": scipy.stats.pearsonr([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]).statistic,
    }

from statsmodels.stats.multitest import multipletests  # noqa: E402

holm_p = [0.01, 0.04, 0.03, 0.04, 0.5, 0.002, 0.2, 0.9]
holm = {"p": holm_p + [None], "adjusted": multipletests(holm_p, method="holm")[1].tolist() + [None]}

def geometry_case(x):
    centred = x - x.mean(0)
    sigma = np.linalg.svd(centred, compute_uv=False)
    p = sigma / sigma.sum()
    p = p[p > 0]
    lam = sigma**2 / x.shape[0]
    lam = lam[lam > 1e-12 * lam[0]]
    k = np.arange(1, len(lam) + 1)
    alpha = np.polyfit(np.log(k), -np.log(lam), 1)[0]
    return {"x": x.tolist(), "rankme": float(np.exp(-(p * np.log(p)).sum())), "alpha_req": float(alpha)}


geometry = [
    geometry_case(rng.standard_normal((30, 8)) * np.linspace(3, 0.2, 8) + 5.0),
    geometry_case(rng.standard_normal((10, 25)) @ np.diag(np.logspace(0, -2, 25))),
]

out = {
    "about": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
    "generated by scripts/make_probe_reference.py",
    "logistic": logistic,
    "classification": classification,
    "regression": {k: (None if not np.isfinite(v) else v) for k, v in regression.items()},
    "holm": holm,
    "geometry": geometry,
}
path = Path(__file__).resolve().parent.parent / "tasks/tests/fixtures/probe_reference.json"
path.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
print(f"wrote {path}")
