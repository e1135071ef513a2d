//! Disentanglement metrics over codes (embedding dimensions) and known
//! generative factors of the same items, and linear CKA between two
//! representations of the same items.
//!
//! * MIG — Chen et al., "Isolating Sources of Disentanglement in VAEs"
//!   (NeurIPS 2018): per factor, the gap between the two largest mutual
//!   informations with a single (discretised) code, over the factor's
//!   entropy; averaged over factors.
//! * SAP — Kumar et al., "Variational Inference of Disentangled Latent
//!   Concepts from Unlabeled Observations" (ICLR 2018): per factor, the gap
//!   between the two codes that explain it best, averaged.
//! * DCI — Eastwood & Williams, "A Framework for the Quantitative Evaluation
//!   of Disentangled Representations" (ICLR 2018), with Lasso importances:
//!   disentanglement (each code matters for one factor) and completeness
//!   (each factor is captured by one code).
//! * Linear CKA — Kornblith et al. (ICML 2019), defined in
//!   `repbench_framework::similarity` (the drift stage uses it) and checked
//!   against the reference value here.
//!
//! MIG and SAP (numeric factors) follow disentanglement_lib's definitions
//! (its continuous-factor SAP; η² replaces its classifier-based SAP for
//! categorical factors). DCI uses Lasso importances instead of
//! disentanglement_lib's gradient-boosted trees, and completeness is the
//! plain mean over factors. The values in
//! `tests/fixtures/metrics_reference.json` were computed with numpy and
//! scikit-learn under exactly these definitions.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
pub use repbench_framework::similarity::linear_cka;

/// One generative factor's value per item.
#[derive(Debug, Clone, PartialEq)]
pub enum Factor {
    /// Ordered values (pitch, tempo): SAP and DCI use the numbers.
    Numeric(Vec<f64>),
    /// Unordered classes (instrument), `0..n_classes`: SAP uses the
    /// correlation ratio and DCI one-vs-rest indicators.
    Categorical(Vec<usize>),
}

impl Factor {
    /// Discrete labels for mutual information: classes as they are,
    /// numbers by distinct value.
    pub fn labels(&self) -> Vec<usize> {
        match self {
            Factor::Categorical(c) => c.clone(),
            Factor::Numeric(v) => {
                let mut distinct: Vec<f64> = v.clone();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup();
                v.iter()
                    .map(|x| distinct.partition_point(|d| d < x))
                    .collect()
            }
        }
    }

    /// Labels for MIG: as [`Factor::labels`], except that a numeric factor
    /// with more than `bins` distinct values (a continuous one, e.g.
    /// arousal) is binned like the codes — one class per distinct value
    /// would make every code's information about it its own entropy.
    pub fn binned_labels(&self, bins: usize) -> Vec<usize> {
        let labels = self.labels();
        match self {
            Factor::Numeric(v) if labels.iter().max().is_some_and(|&m| m >= bins) => {
                discretize(ArrayView1::from(v.as_slice()), bins)
            }
            _ => labels,
        }
    }

    /// The factor restricted to `rows` (for bootstrap resamples).
    pub fn select(&self, rows: &[usize]) -> Factor {
        match self {
            Factor::Numeric(v) => Factor::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Factor::Categorical(c) => Factor::Categorical(rows.iter().map(|&r| c[r]).collect()),
        }
    }
}

/// Equal-width histogram bins of one code, numbered `1..=bins` as
/// `np.digitize(x, np.histogram(x, bins)[1][:-1])` numbers them.
pub fn discretize(code: ArrayView1<f64>, bins: usize) -> Vec<usize> {
    let (lo, hi) = code
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    // Constant (or empty / non-finite) codes fall in one bin, as numpy does.
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![1; code.len()];
    }
    // numpy.linspace: start + k * step, step = (stop - start) / bins.
    let step = (hi - lo) / bins as f64;
    let left: Vec<f64> = (0..bins).map(|k| lo + k as f64 * step).collect();
    code.iter()
        .map(|&x| left.partition_point(|&edge| edge <= x))
        .collect()
}

/// Mutual information of two labelings in nats
/// (`sklearn.metrics.mutual_info_score`).
pub fn mutual_information(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut joint = vec![0usize; ka * kb];
    let (mut pa, mut pb) = (vec![0usize; ka], vec![0usize; kb]);
    for (&x, &y) in a.iter().zip(b) {
        joint[x * kb + y] += 1;
        pa[x] += 1;
        pb[y] += 1;
    }
    let mut mi = 0.0;
    for x in 0..ka {
        for y in 0..kb {
            let c = joint[x * kb + y];
            if c > 0 {
                let c = c as f64;
                mi += c / n * (c * n / (pa[x] as f64 * pb[y] as f64)).ln();
            }
        }
    }
    mi.max(0.0)
}

/// Mutual information gap with `bins` equal-width bins per code (and per
/// continuous factor, see [`Factor::binned_labels`]), averaged over the
/// factors [`mig_per_factor`] defines; NaN when none is or there are fewer
/// than two codes.
pub fn mig(codes: ArrayView2<f64>, factors: &[Factor], bins: usize) -> f64 {
    mean_defined(&mig_per_factor(codes, factors, bins))
}

/// Each factor's mutual information gap: the best code's mutual
/// information with it minus the second best's, over the factor's entropy
/// (Chen et al. 2018). NaN for a factor with a single value (no
/// information) and for fewer than two codes.
pub fn mig_per_factor(codes: ArrayView2<f64>, factors: &[Factor], bins: usize) -> Vec<f64> {
    if codes.ncols() < 2 {
        return vec![f64::NAN; factors.len()];
    }
    let binned: Vec<Vec<usize>> = codes
        .axis_iter(Axis(1))
        .map(|c| discretize(c, bins))
        .collect();
    factors
        .iter()
        .map(|f| {
            let labels = f.binned_labels(bins);
            let entropy = mutual_information(&labels, &labels);
            if entropy <= 0.0 {
                return f64::NAN;
            }
            let mut mi: Vec<f64> = binned
                .iter()
                .map(|b| mutual_information(b, &labels))
                .collect();
            mi.sort_by(|a, b| b.total_cmp(a));
            (mi[0] - mi[1]) / entropy
        })
        .collect()
}

/// Mean of the values that are not NaN; NaN when none is.
fn mean_defined(values: &[f64]) -> f64 {
    mean(
        &values
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect::<Vec<_>>(),
    )
}

/// Fraction of a code's variance one factor explains: the squared Pearson
/// correlation for a numeric factor, the correlation ratio η² (between-class
/// over total sum of squares) for a categorical one; 0 for a constant code.
pub fn explained_variance(code: ArrayView1<f64>, factor: &Factor) -> f64 {
    let n = code.len() as f64;
    let mc = code.sum() / n;
    let total: f64 = code.iter().map(|c| (c - mc).powi(2)).sum();
    if total <= 1e-12 * n {
        return 0.0;
    }
    match factor {
        Factor::Numeric(v) => {
            let mv = v.iter().sum::<f64>() / n;
            let var_v: f64 = v.iter().map(|x| (x - mv).powi(2)).sum();
            if var_v == 0.0 {
                return 0.0;
            }
            let cov: f64 = code.iter().zip(v).map(|(c, x)| (c - mc) * (x - mv)).sum();
            cov * cov / (total * var_v)
        }
        Factor::Categorical(classes) => {
            let k = classes.iter().max().map_or(0, |m| m + 1);
            let (mut sum, mut count) = (vec![0.0; k], vec![0usize; k]);
            for (&c, &y) in code.iter().zip(classes) {
                sum[y] += c;
                count[y] += 1;
            }
            let between: f64 = sum
                .iter()
                .zip(&count)
                .filter(|(_, &n)| n > 0)
                .map(|(s, &n)| n as f64 * (s / n as f64 - mc).powi(2))
                .sum();
            between / total
        }
    }
}

/// Separated attribute predictability: per factor, the best code's
/// explained variance minus the second best's, averaged over factors
/// (disentanglement_lib's continuous-factor SAP; η² for categorical
/// factors). NaN with fewer than two codes.
pub fn sap(codes: ArrayView2<f64>, factors: &[Factor]) -> f64 {
    mean(&sap_per_factor(codes, factors))
}

/// Each factor's SAP gap (see [`sap`]); NaN with fewer than two codes.
pub fn sap_per_factor(codes: ArrayView2<f64>, factors: &[Factor]) -> Vec<f64> {
    if codes.ncols() < 2 {
        return vec![f64::NAN; factors.len()];
    }
    factors
        .iter()
        .map(|f| {
            let mut scores: Vec<f64> = codes
                .axis_iter(Axis(1))
                .map(|c| explained_variance(c, f))
                .collect();
            scores.sort_by(|a, b| b.total_cmp(a));
            scores[0] - scores[1]
        })
        .collect()
}

/// Columns scaled to zero mean and unit (population) variance; constant
/// columns become zeros.
fn standardized(x: ArrayView2<f64>) -> Array2<f64> {
    let mut out = x.to_owned();
    for mut col in out.axis_iter_mut(Axis(1)) {
        let n = col.len() as f64;
        let m = col.sum() / n;
        let sd = (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        col.mapv_inplace(|v| if sd > 0.0 { (v - m) / sd } else { 0.0 });
    }
    out
}

/// Lasso coefficients minimising `‖y − Xw‖² / (2n) + alpha ‖w‖₁` for
/// centred `x` and `y` (scikit-learn's `Lasso` objective); see
/// [`lasso_gram`], which this calls with `XᵀX` and `Xᵀy`.
pub fn lasso(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    alpha: f64,
    start: Option<&[f64]>,
) -> Vec<f64> {
    let gram = crate::probes::gram::gram(x);
    let xty = x.t().dot(&y);
    lasso_gram(
        (gram.view(), xty.view(), y.dot(&y)),
        x.nrows(),
        alpha,
        start,
    )
}

/// [`lasso`] from the Gram matrix `G = XᵀX`, `q = Xᵀy` and `yᵀy` alone
/// (scikit-learn's `enet_coordinate_descent_gram`): cyclic coordinate
/// descent keeping `Gw` up to date, so a coordinate costs `O(1)` and a
/// change `O(d)` whatever the number of items `n`, and one `G` serves
/// every target fitted on the same codes. After each full sweep the
/// non-zero coefficients are iterated alone until they settle (an active
/// set: most codes stay at zero). Stops as scikit-learn does
/// (`tol = 1e-4`): once a full sweep's largest step is below `tol` times
/// the largest coefficient, if the duality gap is below `tol · ‖y‖²`; at
/// most 1 000 full sweeps. `start` warm-starts it (same optimum, fewer
/// sweeps), e.g. from the fit on the full data for a resample.
pub fn lasso_gram(
    (gram, xty, yty): (ArrayView2<f64>, ArrayView1<f64>, f64),
    n: usize,
    alpha: f64,
    start: Option<&[f64]>,
) -> Vec<f64> {
    const TOL: f64 = 1e-4;
    let d = xty.len();
    let mut w = start.map_or_else(|| vec![0.0; d], <[f64]>::to_vec);
    // h = G w, kept up to date.
    let mut h = gram.dot(&ndarray::ArrayView1::from(&w));
    // scikit-learn's coordinate descent works on the objective times n.
    let penalty = alpha * n as f64;
    let tol = TOL * yty;
    let update = |j: usize, w: &mut [f64], h: &mut ndarray::Array1<f64>| -> f64 {
        let gjj = gram[[j, j]];
        if gjj <= 0.0 {
            return 0.0;
        }
        let rho = xty[j] - h[j] + gjj * w[j];
        let new = rho.signum() * (rho.abs() - penalty).max(0.0) / gjj;
        let delta = new - w[j];
        if delta != 0.0 {
            h.scaled_add(delta, &gram.column(j));
            w[j] = new;
        }
        delta.abs()
    };
    let all: Vec<usize> = (0..d).collect();
    for _ in 0..1_000 {
        let largest_step = all
            .iter()
            .map(|&j| update(j, &mut w, &mut h))
            .fold(0.0, f64::max);
        let largest_w = w.iter().map(|v| v.abs()).fold(0.0, f64::max);
        if largest_w == 0.0 || largest_step / largest_w < TOL {
            // Xᵀr = q − Gw; ‖r‖² = yᵀy − 2qᵀw + wᵀGw; rᵀy = yᵀy − qᵀw.
            let dual_norm = (0..d).map(|j| (xty[j] - h[j]).abs()).fold(0.0, f64::max);
            let qw: f64 = (0..d).map(|j| xty[j] * w[j]).sum();
            let wgw: f64 = (0..d).map(|j| w[j] * h[j]).sum();
            let r2 = (yty - 2.0 * qw + wgw).max(0.0);
            let (scale, mut gap) = if dual_norm > penalty {
                let s = penalty / dual_norm;
                (s, 0.5 * (r2 + r2 * s * s))
            } else {
                (1.0, r2)
            };
            let l1: f64 = w.iter().map(|v| v.abs()).sum();
            gap += penalty * l1 - scale * (yty - qw);
            if gap < tol {
                break;
            }
        }
        let active: Vec<usize> = all.iter().copied().filter(|&j| w[j] != 0.0).collect();
        for _ in 0..1_000 {
            let step = active
                .iter()
                .map(|&j| update(j, &mut w, &mut h))
                .fold(0.0, f64::max);
            let largest = active.iter().map(|&j| w[j].abs()).fold(0.0, f64::max);
            if largest == 0.0 || step / largest < TOL {
                break;
            }
        }
    }
    w
}

/// DCI disentanglement and completeness from Lasso importances
/// (`alpha` on standardised codes and factors; a categorical factor's
/// importance is the mean over its one-vs-rest indicators). Disentanglement
/// weights each code's `1 − H_K` by its share of the total importance;
/// completeness averages `1 − H_D` over factors (entropies in base K
/// factors and D codes). NaN when nothing is important or there are fewer
/// than two codes or factors.
pub fn dci(codes: ArrayView2<f64>, factors: &[Factor], alpha: f64) -> (f64, f64) {
    let r = dci_from(codes, factors, alpha, None);
    (r.disentanglement, r.completeness)
}

/// A DCI computation: the scores, each factor's completeness, and the
/// Lasso fits (to warm-start resamples).
pub struct Dci {
    /// DCI disentanglement.
    pub disentanglement: f64,
    /// DCI completeness (mean over factors).
    pub completeness: f64,
    /// `1 − H_D` of each factor's importances over the codes.
    pub completeness_per_factor: Vec<f64>,
    /// Lasso coefficients by (factor, class).
    pub fits: DciFits,
}

/// Lasso coefficients of a DCI computation by (factor, class) — class 0
/// for a numeric factor — to warm-start DCI on resamples of the same items.
pub type DciFits = std::collections::HashMap<(usize, usize), Vec<f64>>;

/// [`dci`], warm-started from `start` (the fits on the full data), also
/// returning each factor's completeness and this computation's fits.
pub fn dci_from(
    codes: ArrayView2<f64>,
    factors: &[Factor],
    alpha: f64,
    start: Option<&DciFits>,
) -> Dci {
    let (d, k) = (codes.ncols(), factors.len());
    let mut fits = DciFits::new();
    let undefined = |fits| Dci {
        disentanglement: f64::NAN,
        completeness: f64::NAN,
        completeness_per_factor: vec![f64::NAN; k],
        fits,
    };
    if d < 2 || k < 2 {
        return undefined(fits);
    }
    let x = standardized(codes);
    // One Gram matrix serves every factor's and class's Lasso.
    let gram = crate::probes::gram::gram(x.view());
    let mut importance = Array2::<f64>::zeros((d, k));
    for (j, factor) in factors.iter().enumerate() {
        let targets: Vec<(usize, Vec<f64>)> = match factor {
            Factor::Numeric(v) => vec![(0, v.clone())],
            Factor::Categorical(c) => {
                let classes = c.iter().max().map_or(0, |m| m + 1);
                (0..classes)
                    .map(|class| {
                        let t = c.iter().map(|&y| f64::from(u8::from(y == class))).collect();
                        (class, t)
                    })
                    .filter(|(_, t): &(usize, Vec<f64>)| t.iter().any(|&v| v > 0.0))
                    .collect()
            }
        };
        for (class, t) in &targets {
            let y = standardized(ndarray::ArrayView2::from_shape((t.len(), 1), t).expect("column"));
            let warm = start.and_then(|s| s.get(&(j, *class))).map(Vec::as_slice);
            let (y, n) = (y.column(0), x.nrows());
            let w = lasso_gram(
                (gram.view(), x.t().dot(&y).view(), y.dot(&y)),
                n,
                alpha,
                warm,
            );
            for (i, w) in w.iter().enumerate() {
                importance[[i, j]] += w.abs() / targets.len() as f64;
            }
            fits.insert((j, *class), w);
        }
    }
    let total = importance.sum();
    if total <= 0.0 {
        return undefined(fits);
    }
    let disentanglement = importance
        .rows()
        .into_iter()
        .map(|row| {
            let s = row.sum();
            if s > 0.0 {
                s / total * (1.0 - entropy_base(row, k))
            } else {
                0.0
            }
        })
        .sum();
    let per_factor: Vec<f64> = importance
        .columns()
        .into_iter()
        .map(|col| {
            if col.sum() > 0.0 {
                1.0 - entropy_base(col, d)
            } else {
                0.0
            }
        })
        .collect();
    Dci {
        disentanglement,
        completeness: mean(&per_factor),
        completeness_per_factor: per_factor,
        fits,
    }
}

/// Entropy of the normalised weights in base `base`.
fn entropy_base(weights: ArrayView1<f64>, base: usize) -> f64 {
    let s = weights.sum();
    -weights
        .iter()
        .filter(|&&w| w > 0.0)
        .map(|&w| (w / s) * (w / s).ln())
        .sum::<f64>()
        / (base as f64).ln()
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::reference_cases;
    use ndarray::Array2;

    fn matrix(v: &serde_json::Value) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let (n, d) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, d), rows.concat()).unwrap()
    }

    fn reference() -> (Array2<f64>, Vec<Factor>, serde_json::Value) {
        let case = &reference_cases("disentanglement")[0];
        let factors = matrix(&case["factors"]);
        let factors = factors
            .columns()
            .into_iter()
            .map(|c| Factor::Numeric(c.to_vec()))
            .collect();
        (matrix(&case["codes"]), factors, case["expected"].clone())
    }

    /// The Lasso optimum satisfies its KKT conditions: `|x_jᵀr| / n ≤ α`
    /// for every code, with equality and the coefficient's sign where it is
    /// non-zero — on collinear codes (a few latent directions mixed into
    /// many), cold and warm-started.
    #[test]
    fn the_gram_lasso_meets_the_optimality_conditions() {
        let (n, d) = (120, 30);
        let latent =
            Array2::from_shape_fn((n, 4), |(i, j)| ((i * (j + 3) * 7 + j) % 13) as f64 - 6.0);
        let mix = Array2::from_shape_fn((4, d), |(i, j)| (((i + 1) * (j + 2)) % 5) as f64 - 2.0);
        let noise = Array2::from_shape_fn((n, d), |(i, j)| {
            (((i * 31 + j * 17) % 11) as f64 - 5.0) * 0.05
        });
        let x = standardized((latent.dot(&mix) + noise).view());
        let t: Vec<f64> = (0..n)
            .map(|i| latent[[i, 0]] - 0.5 * latent[[i, 2]])
            .collect();
        let y = standardized(ndarray::ArrayView2::from_shape((n, 1), &t).unwrap());
        let y = y.column(0);
        for alpha in [0.02, 0.2] {
            let cold = lasso(x.view(), y, alpha, None);
            let warm = lasso(x.view(), y, alpha, Some(&vec![0.1; d]));
            for w in [&cold, &warm] {
                let r = &y - &x.dot(&ndarray::ArrayView1::from(w.as_slice()));
                assert!(w.iter().any(|v| *v != 0.0), "alpha {alpha}: all zero");
                for (j, wj) in w.iter().enumerate() {
                    let g = x.column(j).dot(&r) / n as f64;
                    assert!(
                        g.abs() <= alpha * 1.01 + 1e-6,
                        "alpha {alpha}, code {j}: {g}"
                    );
                    if *wj != 0.0 {
                        assert!(
                            (g - alpha * wj.signum()).abs() < 0.02 * alpha,
                            "alpha {alpha}, code {j}: {g}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mig_sap_and_dci_equal_the_reference_values() {
        let (codes, factors, expected) = reference();
        let close = |got: f64, key: &str, tol: f64| {
            let want = expected[key].as_f64().unwrap();
            assert!((got - want).abs() <= tol, "{key}: {got} vs {want}");
        };
        close(mig(codes.view(), &factors, 20), "mig_20_bins", 1e-9);
        close(sap(codes.view(), &factors), "sap_continuous", 1e-9);
        let (d, c) = dci(codes.view(), &factors, 0.02);
        close(d, "dci_lasso_alpha_0.02_disentanglement", 1e-3);
        close(c, "dci_lasso_alpha_0.02_completeness", 1e-3);
    }

    #[test]
    fn linear_cka_equals_the_reference_value_and_ignores_rotation_and_scale() {
        let case = &reference_cases("linear_cka")[0];
        let (x, y) = (matrix(&case["x"]), matrix(&case["y"]));
        let want = case["expected"]["linear_cka"].as_f64().unwrap();
        assert!((linear_cka(x.view(), y.view()) - want).abs() < 1e-9);
        // An orthogonal map (swap two columns, flip one) times 3 changes nothing.
        let mut rotated = x.clone() * 3.0;
        let first = rotated.column(0).to_owned();
        let second = rotated.column(1).to_owned();
        rotated.column_mut(0).assign(&second);
        rotated.column_mut(1).assign(&(-first));
        assert!((linear_cka(x.view(), rotated.view()) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_perfectly_disentangled_code_scores_one_and_a_mixed_one_less() {
        // Two factors on a full 4 × 4 × 4 grid, each copied into its own
        // code, plus a code for a third, unlisted factor (independent of both).
        let n = 64;
        let a: Vec<f64> = (0..n).map(|i| (i % 4) as f64).collect();
        let b: Vec<usize> = (0..n).map(|i| (i / 4) % 4).collect();
        let noise: Vec<f64> = (0..n).map(|i| (i / 16) as f64).collect();
        let factors = vec![Factor::Numeric(a.clone()), Factor::Categorical(b.clone())];
        let clean = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => a[i],
            1 => b[i] as f64,
            _ => noise[i],
        });
        assert!((mig(clean.view(), &factors, 20) - 1.0).abs() < 1e-12);
        assert!((sap(clean.view(), &factors) - 1.0).abs() < 0.05);
        let (d, c) = dci(clean.view(), &factors, 0.02);
        assert!(d > 0.95 && c > 0.95, "{d} {c}");
        // Mixing both factors into every code lowers every score.
        let mixed = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => a[i] + b[i] as f64,
            1 => a[i] - b[i] as f64,
            _ => noise[i],
        });
        assert!(mig(mixed.view(), &factors, 20) < 0.5);
        let (dm, cm) = dci(mixed.view(), &factors, 0.02);
        assert!(dm < d && cm < c, "{dm} {cm}");
    }

    #[test]
    fn a_continuous_factor_is_binned_for_mig() {
        // Code 0 carries the factor, code 1 is unrelated; 300 distinct values.
        let n = 300;
        let factor: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let codes = Array2::from_shape_fn((n, 2), |(i, j)| {
            if j == 0 {
                factor[i]
            } else {
                ((i * 7919) % 101) as f64
            }
        });
        let m = mig(codes.view(), &[Factor::Numeric(factor)], 20);
        assert!(m > 0.7, "{m}");
    }

    #[test]
    fn the_correlation_ratio_of_a_categorical_factor_is_between_over_total() {
        // Classes 0, 0, 1, 1 with codes 1, 3, 5, 7: means 2 and 6, grand mean 4.
        let code = ndarray::arr1(&[1.0, 3.0, 5.0, 7.0]);
        let eta2 = explained_variance(code.view(), &Factor::Categorical(vec![0, 0, 1, 1]));
        // Between: 2·(2−4)² + 2·(6−4)² = 16; total: 9 + 1 + 1 + 9 = 20.
        assert!((eta2 - 0.8).abs() < 1e-12);
    }

    #[test]
    fn discretize_numbers_bins_like_numpy_digitize() {
        let code = ndarray::arr1(&[0.0, 0.5, 1.0, 0.25]);
        // Edges 0, .25, .5, .75 (4 bins): the maximum falls in the last bin.
        assert_eq!(discretize(code.view(), 4), vec![1, 3, 4, 2]);
        assert_eq!(
            discretize(ndarray::arr1(&[2.0, 2.0]).view(), 20),
            vec![1, 1]
        );
    }
}
