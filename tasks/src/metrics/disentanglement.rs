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
use rayon::prelude::*;
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
    let ones = vec![1; a.len()];
    weighted_mutual_information(a, b, &ones, &LnTable::up_to(a.len()))
}

/// `ln k` for the integers `0..=n` (`ln 0` unused), so mutual information
/// from counts needs no logarithm per cell.
struct LnTable(Vec<f64>);

impl LnTable {
    fn up_to(n: usize) -> LnTable {
        LnTable((0..=n).map(|k| (k as f64).ln()).collect())
    }
}

/// [`mutual_information`] of items taken `weights[i]` times each (a
/// bootstrap resample as its distinct items and their counts): the value
/// on the repeated items, without repeating them. `ln` covers the total
/// weight.
fn weighted_mutual_information(a: &[usize], b: &[usize], weights: &[usize], ln: &LnTable) -> f64 {
    ContingencyTable::default().mutual_information(a, b, weights, ln)
}

/// The counts behind a mutual information, kept between calls so that
/// the codes of one resample reuse one allocation.
#[derive(Default)]
struct ContingencyTable {
    joint: Vec<usize>,
    pa: Vec<usize>,
    pb: Vec<usize>,
}

impl ContingencyTable {
    /// See [`weighted_mutual_information`].
    fn mutual_information(
        &mut self,
        a: &[usize],
        b: &[usize],
        weights: &[usize],
        ln: &LnTable,
    ) -> f64 {
        let total: usize = weights.iter().sum();
        let ka = a.iter().max().map_or(0, |m| m + 1);
        let kb = b.iter().max().map_or(0, |m| m + 1);
        let reset = |v: &mut Vec<usize>, len: usize| {
            v.clear();
            v.resize(len, 0);
        };
        reset(&mut self.joint, ka * kb);
        reset(&mut self.pa, ka);
        reset(&mut self.pb, kb);
        let (joint, pa, pb) = (&mut self.joint, &mut self.pa, &mut self.pb);
        for ((&x, &y), &w) in a.iter().zip(b).zip(weights) {
            joint[x * kb + y] += w;
            pa[x] += w;
            pb[y] += w;
        }
        let (n, ln) = (total as f64, &ln.0);
        let ln_n = ln[total];
        let mut mi = 0.0;
        for x in 0..ka {
            for y in 0..kb {
                let c = joint[x * kb + y];
                if c > 0 {
                    // ln(c n / (pa pb)), from the table.
                    mi += c as f64 / n * (ln[c] + ln_n - ln[pa[x]] - ln[pb[y]]);
                }
            }
        }
        mi.max(0.0)
    }
}

/// Mutual information gap with `bins` equal-width bins per code (and per
/// continuous factor, see [`Factor::binned_labels`]), averaged over the
/// factors [`mig_per_factor`] defines; NaN when none is or there are fewer
/// than two codes.
pub fn mig(codes: ArrayView2<f64>, factors: &[Factor], bins: usize) -> f64 {
    mig_of(&mig_per_factor(codes, factors, bins))
}

/// [`mig`] from [`mig_per_factor`]'s values (the mean of the defined ones).
pub fn mig_of(per_factor: &[f64]) -> f64 {
    mean_defined(per_factor)
}

/// Each factor's mutual information gap: the best code's mutual
/// information with it minus the second best's, over the factor's entropy
/// (Chen et al. 2018). NaN for a factor with a single value (no
/// information) and for fewer than two codes.
pub fn mig_per_factor(codes: ArrayView2<f64>, factors: &[Factor], bins: usize) -> Vec<f64> {
    mig_per_factor_weighted(codes, factors, &vec![1; codes.nrows()], bins)
}

/// [`mig_per_factor`] on items taken `weights[i]` times each (see
/// [`weighted_mutual_information`]); equal to it on the repeated items:
/// the bins depend only on each code's range, and the labels only on the
/// distinct values, which repeats do not change.
pub fn mig_per_factor_weighted(
    codes: ArrayView2<f64>,
    factors: &[Factor],
    weights: &[usize],
    bins: usize,
) -> Vec<f64> {
    if codes.ncols() < 2 {
        return vec![f64::NAN; factors.len()];
    }
    let ln = LnTable::up_to(weights.iter().sum());
    let labels: Vec<Vec<usize>> = factors.iter().map(|f| f.binned_labels(bins)).collect();
    let entropy: Vec<f64> = labels
        .iter()
        .map(|l| weighted_mutual_information(l, l, weights, &ln))
        .collect();
    // Per code its bins once, then its information about every factor.
    let mut mi: Vec<Vec<f64>> = vec![Vec::with_capacity(codes.ncols()); factors.len()];
    let mut table = ContingencyTable::default();
    for code in codes.axis_iter(Axis(1)) {
        let binned = discretize(code, bins);
        for (l, m) in labels.iter().zip(mi.iter_mut()) {
            m.push(table.mutual_information(&binned, l, weights, &ln));
        }
    }
    mi.into_iter()
        .zip(entropy)
        .map(|(mut mi, entropy)| {
            if entropy <= 0.0 {
                return f64::NAN;
            }
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
    let weights = vec![1; code.len()];
    let spread = CodeSpread::of(code, &weights);
    let target = FactorMoments::of(factor, &weights);
    weighted_explained_variance(code, &spread, &target, &weights)
}

/// A code's (or numeric factor's) weighted mean and sum of squared
/// deviations over the items.
struct CodeSpread {
    n: f64,
    mean: f64,
    total: f64,
}

impl CodeSpread {
    /// Of `values` (one per item) taken `weights[i]` times each.
    fn of<'v>(values: impl IntoIterator<Item = &'v f64> + Clone, weights: &[usize]) -> CodeSpread {
        let n = weights.iter().sum::<usize>() as f64;
        let mean = values
            .clone()
            .into_iter()
            .zip(weights)
            .map(|(c, &w)| c * w as f64)
            .sum::<f64>()
            / n;
        let total = values
            .into_iter()
            .zip(weights)
            .map(|(c, &w)| w as f64 * (c - mean).powi(2))
            .sum();
        CodeSpread { n, mean, total }
    }
}

/// A factor with what [`weighted_explained_variance`] needs of it once for
/// every code: a numeric factor's mean and sum of squared deviations, a
/// categorical one's weighted class counts.
enum FactorMoments<'a> {
    Numeric {
        values: &'a [f64],
        mean: f64,
        total: f64,
    },
    Categorical {
        classes: &'a [usize],
        counts: Vec<f64>,
    },
}

impl FactorMoments<'_> {
    fn of<'a>(factor: &'a Factor, weights: &[usize]) -> FactorMoments<'a> {
        match factor {
            Factor::Numeric(v) => {
                let CodeSpread { mean, total, .. } = CodeSpread::of(v, weights);
                FactorMoments::Numeric {
                    values: v,
                    mean,
                    total,
                }
            }
            Factor::Categorical(classes) => {
                let k = classes.iter().max().map_or(0, |m| m + 1);
                let mut counts = vec![0.0; k];
                for (&c, &w) in classes.iter().zip(weights) {
                    counts[c] += w as f64;
                }
                FactorMoments::Categorical { classes, counts }
            }
        }
    }
}

/// [`explained_variance`] on items taken `weights[i]` times each.
fn weighted_explained_variance(
    code: ArrayView1<f64>,
    spread: &CodeSpread,
    moments: &FactorMoments,
    weights: &[usize],
) -> f64 {
    let CodeSpread { n, mean: mc, total } = *spread;
    if total <= 1e-12 * n {
        return 0.0;
    }
    match moments {
        FactorMoments::Numeric {
            values: v,
            mean: mv,
            total: var_v,
        } => {
            if *var_v == 0.0 {
                return 0.0;
            }
            let cov: f64 = code
                .iter()
                .zip(v.iter())
                .zip(weights)
                .map(|((c, x), &w)| w as f64 * (c - mc) * (x - mv))
                .sum();
            cov * cov / (total * var_v)
        }
        FactorMoments::Categorical { classes, counts } => {
            let mut sum = vec![0.0; counts.len()];
            for ((&c, &y), &w) in code.iter().zip(classes.iter()).zip(weights) {
                sum[y] += w as f64 * c;
            }
            let between: f64 = sum
                .iter()
                .zip(counts)
                .filter(|(_, &n)| n > 0.0)
                .map(|(s, &n)| n * (s / n - mc).powi(2))
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
    sap_of(&sap_per_factor(codes, factors))
}

/// [`sap`] from [`sap_per_factor`]'s values (their mean).
pub fn sap_of(per_factor: &[f64]) -> f64 {
    mean(per_factor)
}

/// Each factor's SAP gap (see [`sap`]); NaN with fewer than two codes.
pub fn sap_per_factor(codes: ArrayView2<f64>, factors: &[Factor]) -> Vec<f64> {
    sap_per_factor_weighted(codes, factors, &vec![1; codes.nrows()])
}

/// [`sap_per_factor`] on items taken `weights[i]` times each (equal to it
/// on the repeated items up to rounding).
pub fn sap_per_factor_weighted(
    codes: ArrayView2<f64>,
    factors: &[Factor],
    weights: &[usize],
) -> Vec<f64> {
    if codes.ncols() < 2 {
        return vec![f64::NAN; factors.len()];
    }
    let moments: Vec<FactorMoments> = factors
        .iter()
        .map(|f| FactorMoments::of(f, weights))
        .collect();
    let mut scores: Vec<Vec<f64>> = vec![Vec::with_capacity(codes.ncols()); factors.len()];
    for code in codes.axis_iter(Axis(1)) {
        let spread = CodeSpread::of(code, weights);
        for (m, s) in moments.iter().zip(scores.iter_mut()) {
            s.push(weighted_explained_variance(code, &spread, m, weights));
        }
    }
    scores
        .into_iter()
        .map(|mut s| {
            s.sort_by(|a, b| b.total_cmp(a));
            s[0] - s[1]
        })
        .collect()
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
    // h = G w, kept up to date; from the non-zero coefficients' rows (G
    // is symmetric), as a warm start has few.
    let mut h = ndarray::Array1::<f64>::zeros(d);
    for (j, &wj) in w.iter().enumerate() {
        if wj != 0.0 {
            h.scaled_add(wj, &gram.row(j));
        }
    }
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
            // G is symmetric: its row j is column j, contiguous in memory.
            h.scaled_add(delta, &gram.row(j));
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
        settle_active(gram, xty, penalty, &active, &mut w, &mut h);
    }
    w
}

/// Coordinate descent over the `active` coefficients alone until their
/// largest step is below `1e-4` times the largest of them (at most 1 000
/// passes), then `h = Gw` brought up to date. Only `h`'s active entries are
/// read meanwhile, so the passes run on the active block of `G` copied
/// contiguously: a change costs `O(|active|)` instead of `O(d)`, and the
/// other entries of `h` get the summed change once at the end.
fn settle_active(
    gram: ArrayView2<f64>,
    xty: ArrayView1<f64>,
    penalty: f64,
    active: &[usize],
    w: &mut [f64],
    h: &mut ndarray::Array1<f64>,
) {
    const TOL: f64 = 1e-4;
    if active.is_empty() {
        return;
    }
    let m = active.len();
    // Row-major as a plain slice, so the update below vectorises.
    let mut sub = Vec::with_capacity(m * m);
    for &r in active {
        let row = gram.row(r);
        sub.extend(active.iter().map(|&c| row[c]));
    }
    let start: Vec<f64> = active.iter().map(|&j| w[j]).collect();
    let mut wa = start.clone();
    let mut ha: Vec<f64> = active.iter().map(|&j| h[j]).collect();
    for _ in 0..1_000 {
        let (mut step, mut largest) = (0.0f64, 0.0f64);
        for (i, &j) in active.iter().enumerate() {
            let gjj = sub[i * m + i];
            if gjj > 0.0 {
                let rho = xty[j] - ha[i] + gjj * wa[i];
                let new = rho.signum() * (rho.abs() - penalty).max(0.0) / gjj;
                let delta = new - wa[i];
                if delta != 0.0 {
                    for (hv, g) in ha.iter_mut().zip(&sub[i * m..(i + 1) * m]) {
                        *hv += delta * g;
                    }
                    wa[i] = new;
                }
                step = step.max(delta.abs());
            }
            largest = largest.max(wa[i].abs());
        }
        if largest == 0.0 || step / largest < TOL {
            break;
        }
    }
    for (i, &j) in active.iter().enumerate() {
        let delta = wa[i] - start[i];
        if delta != 0.0 {
            h.scaled_add(delta, &gram.row(j));
        }
        w[j] = wa[i];
    }
}

/// DCI disentanglement and completeness from Lasso importances
/// (`alpha` on standardised codes and factors; a categorical factor's
/// importance is the mean over its one-vs-rest indicators). Disentanglement
/// weights each code's `1 − H_K` by its share of the total importance;
/// completeness averages `1 − H_D` over factors (entropies in base K
/// factors and D = the codes any factor uses, at least 2). NaN when nothing is important or there are fewer
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
    /// `(codes, factors)`: `R[i, j]`, the importance of code `i` for
    /// factor `j` (the mean |Lasso coefficient| over the factor's targets).
    pub importance: Array2<f64>,
}

/// The (at most `n`) codes with the largest total importance over the
/// factors, largest first (ties by index); codes of no importance are
/// left out. What a readable importance heatmap of a wide embedding shows.
pub fn top_codes(importance: ArrayView2<f64>, n: usize) -> Vec<usize> {
    let totals: Vec<f64> = importance.rows().into_iter().map(|r| r.sum()).collect();
    let mut codes: Vec<usize> = (0..totals.len()).filter(|&i| totals[i] > 0.0).collect();
    codes.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
    codes.truncate(n);
    codes
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
    dci_fit(&ColumnScale::of(codes), codes, factors, alpha, start).0
}

/// Per-item parts of a factor's informativeness on test items: the score
/// is `1 − Σ loss / Σ scale` (accuracy: loss 1 for a wrong class, scale
/// 1; R²: squared error, squared deviation from the test mean).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLosses {
    /// Loss per test item.
    pub loss: Vec<f64>,
    /// Scale per test item.
    pub scale: Vec<f64>,
}

impl ItemLosses {
    /// The score on the items `idx` (repeats allowed); NaN when the scale
    /// sums to zero.
    pub fn score(&self, idx: &[usize]) -> f64 {
        let loss: f64 = idx.iter().map(|&i| self.loss[i]).sum();
        let scale: f64 = idx.iter().map(|&i| self.scale[i]).sum();
        if scale > 0.0 {
            1.0 - loss / scale
        } else {
            f64::NAN
        }
    }
}

/// DCI as Eastwood & Williams define it: the Lasso regressors fitted on
/// the train items (codes and targets standardised with the train
/// statistics), disentanglement and completeness from their importances
/// (as [`dci_from`] on the train codes), and **informativeness** scored
/// on the test items: per factor, R² of the de-standardised prediction
/// for a numeric factor, accuracy of the argmax over the de-standardised
/// class indicators (classes unseen in train are never predicted) for a
/// categorical one. `train_factors` and `test_factors` must number classes
/// alike. Checked against scikit-learn in
/// `tests/fixtures/dci_reference.json` (`scripts/make_dci_reference.py`).
pub fn dci_train_test(
    (train, train_factors): (ArrayView2<f64>, &[Factor]),
    (test, test_factors): (ArrayView2<f64>, &[Factor]),
    alpha: f64,
    start: Option<&DciFits>,
) -> (Dci, Vec<ItemLosses>) {
    let scale = ColumnScale::of(train);
    let (dci, targets) = dci_fit(&scale, train, train_factors, alpha, start);
    let x_test = scale.apply(test);
    let losses = test_factors
        .iter()
        .enumerate()
        .map(|(j, factor)| {
            let predict = |t: &TargetFit| -> Vec<f64> {
                let w = dci.fits.get(&(j, t.class)).expect("fitted");
                x_test
                    .dot(&ndarray::ArrayView1::from(w.as_slice()))
                    .iter()
                    .map(|v| v * t.sd + t.mean)
                    .collect()
            };
            let mine: Vec<&TargetFit> = targets.iter().filter(|t| t.factor == j).collect();
            match factor {
                Factor::Numeric(y) => {
                    let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
                    let pred = mine.first().map(|t| predict(t));
                    ItemLosses {
                        loss: y
                            .iter()
                            .enumerate()
                            .map(|(i, v)| pred.as_ref().map_or(f64::NAN, |p| (v - p[i]).powi(2)))
                            .collect(),
                        scale: y.iter().map(|v| (v - mean).powi(2)).collect(),
                    }
                }
                Factor::Categorical(y) => {
                    let scores: Vec<(usize, Vec<f64>)> =
                        mine.iter().map(|t| (t.class, predict(t))).collect();
                    let loss =
                        y.iter()
                            .enumerate()
                            .map(|(i, &truth)| {
                                // The first class (lowest index) wins ties.
                                let best =
                                    scores.iter().fold(None::<(usize, f64)>, |best, (c, s)| {
                                        match best {
                                            Some((_, b)) if s[i] <= b => best,
                                            _ => Some((*c, s[i])),
                                        }
                                    });
                                f64::from(u8::from(best.map(|b| b.0) != Some(truth)))
                            })
                            .collect();
                    ItemLosses {
                        loss,
                        scale: vec![1.0; y.len()],
                    }
                }
            }
        })
        .collect();
    (dci, losses)
}

/// Column means and population standard deviations of the items a DCI is
/// fitted on; applied to other items alike (constant columns become 0).
struct ColumnScale {
    mean: ndarray::Array1<f64>,
    sd: ndarray::Array1<f64>,
}

impl ColumnScale {
    fn of(x: ArrayView2<f64>) -> ColumnScale {
        let n = x.nrows().max(1) as f64;
        let mean = x.sum_axis(Axis(0)) / n;
        let sd = x
            .axis_iter(Axis(1))
            .zip(&mean)
            .map(|(col, m)| (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt())
            .collect();
        ColumnScale { mean, sd }
    }

    fn apply(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        for ((mut col, m), sd) in out.axis_iter_mut(Axis(1)).zip(&self.mean).zip(&self.sd) {
            col.mapv_inplace(|v| if *sd > 0.0 { (v - m) / sd } else { 0.0 });
        }
        out
    }
}

/// One Lasso target of a DCI: a numeric factor, or one class's 0/1
/// indicator of a categorical one, with its mean and standard deviation
/// on the fitted items.
struct TargetFit {
    factor: usize,
    class: usize,
    mean: f64,
    sd: f64,
}

/// The Lasso fits on `codes` (standardised by `scale`) and the DCI scores
/// from their importances.
fn dci_fit(
    scale: &ColumnScale,
    codes: ArrayView2<f64>,
    factors: &[Factor],
    alpha: f64,
    start: Option<&DciFits>,
) -> (Dci, Vec<TargetFit>) {
    let (d, k) = (codes.ncols(), factors.len());
    let mut fits = DciFits::new();
    if d < 2 || k < 2 {
        return (dci_scores(Array2::zeros((d, k)), fits), Vec::new());
    }
    let x = scale.apply(codes);
    let n = x.nrows();
    // One Gram matrix serves every factor's and class's Lasso, and one
    // product Xᵀ[y₁ … y_T] every target's Xᵀy.
    let gram = crate::probes::gram::gram(x.view());
    let mut targets = Vec::new();
    let mut columns = Vec::new();
    for (j, factor) in factors.iter().enumerate() {
        let classes = lasso_targets(factor);
        let share = classes.len() as f64;
        for (class, t) in classes {
            let column = ndarray::ArrayView2::from_shape((t.len(), 1), &t).expect("column");
            let target_scale = ColumnScale::of(column);
            columns.push(target_scale.apply(column));
            targets.push((
                share,
                TargetFit {
                    factor: j,
                    class,
                    mean: target_scale.mean[0],
                    sd: target_scale.sd[0],
                },
            ));
        }
    }
    if columns.is_empty() {
        return (dci_scores(Array2::zeros((d, k)), fits), Vec::new());
    }
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    let y = ndarray::concatenate(Axis(1), &views).expect("target columns of equal length");
    let xty = x.t().dot(&y);
    // The Lassos are independent: fitted in parallel, collected in order.
    let weights: Vec<Vec<f64>> = targets
        .par_iter()
        .enumerate()
        .map(|(c, (_, t))| {
            let warm = start
                .and_then(|s| s.get(&(t.factor, t.class)))
                .map(Vec::as_slice);
            let yc = y.column(c);
            let q = xty.column(c).to_owned();
            lasso_gram((gram.view(), q.view(), yc.dot(&yc)), n, alpha, warm)
        })
        .collect();
    let mut importance = Array2::<f64>::zeros((d, k));
    for ((share, t), w) in targets.iter().zip(weights) {
        for (i, w) in w.iter().enumerate() {
            importance[[i, t.factor]] += w.abs() / share;
        }
        fits.insert((t.factor, t.class), w);
    }
    let targets_fitted = targets.into_iter().map(|(_, t)| t).collect();
    (dci_scores(importance, fits), targets_fitted)
}

/// The Lasso targets of a factor: `(class, values)` — the numbers of a
/// numeric factor (class 0), the 0/1 indicator of each class present.
fn lasso_targets(factor: &Factor) -> Vec<(usize, Vec<f64>)> {
    match factor {
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
    }
}

/// DCI disentanglement and completeness from the `(codes, factors)`
/// importance matrix; NaN when nothing is important.
fn dci_scores(importance: Array2<f64>, fits: DciFits) -> Dci {
    let (d, k) = importance.dim();
    let total = importance.sum();
    if total <= 0.0 || d < 2 || k < 2 {
        return Dci {
            disentanglement: f64::NAN,
            completeness: f64::NAN,
            completeness_per_factor: vec![f64::NAN; k],
            fits,
            importance,
        };
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
    // Completeness in base "codes used": the dimensions no factor uses
    // would otherwise make any factor look complete in a wide embedding.
    let used = importance
        .rows()
        .into_iter()
        .filter(|row| row.sum() > 0.0)
        .count()
        .max(2);
    let per_factor: Vec<f64> = importance
        .columns()
        .into_iter()
        .map(|col| {
            if col.sum() > 0.0 {
                1.0 - entropy_base(col, used)
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
        importance,
    }
}

/// The sums of each block of items that a DCI refit on a resample of
/// blocks needs (the bootstrap of random groups): item count, `Σx`,
/// `Σxxᵀ` and per Lasso target `Σy`, `Σy²`, `Σxy`. A resample's
/// standardised Gram matrix and targets then cost `O(blocks · d²)` instead
/// of `O(items · d²)`; with one item per block it is the item bootstrap.
pub struct DciBlocks {
    count: Vec<f64>,
    sum_x: Array2<f64>,
    /// Each block's `Σxxᵀ` as its packed upper triangle (row by row), half
    /// the memory a resample's sum reads.
    sum_xx: Vec<Vec<f64>>,
    targets: Vec<BlockTarget>,
    factors: usize,
}

/// One Lasso target's block sums.
struct BlockTarget {
    factor: usize,
    class: usize,
    /// A class indicator (absent from a resample → not a target).
    categorical: bool,
    sum_y: Vec<f64>,
    sum_yy: Vec<f64>,
    sum_xy: Array2<f64>,
}

impl DciBlocks {
    /// The block sums of `codes` and `factors` for the item groups
    /// `blocks` (indices into the rows).
    pub fn new(codes: ArrayView2<f64>, factors: &[Factor], blocks: &[Vec<usize>]) -> DciBlocks {
        let d = codes.ncols();
        let rows: Vec<Array2<f64>> = blocks.iter().map(|b| codes.select(Axis(0), b)).collect();
        let mut sum_x = Array2::zeros((blocks.len(), d));
        for (b, x) in rows.iter().enumerate() {
            sum_x.row_mut(b).assign(&x.sum_axis(Axis(0)));
        }
        let sum_xx = rows
            .iter()
            .map(|x| {
                let g = crate::probes::gram::gram(x.view());
                (0..d)
                    .flat_map(|i| (i..d).map(move |j| (i, j)))
                    .map(|ij| g[ij])
                    .collect()
            })
            .collect();
        let mut targets = Vec::new();
        for (j, factor) in factors.iter().enumerate() {
            for (class, t) in lasso_targets(factor) {
                let mut sum_xy = Array2::zeros((blocks.len(), d));
                let (mut sum_y, mut sum_yy) = (Vec::new(), Vec::new());
                for (b, (block, x)) in blocks.iter().zip(&rows).enumerate() {
                    let y = ndarray::Array1::from_iter(block.iter().map(|&i| t[i]));
                    sum_xy.row_mut(b).assign(&x.t().dot(&y));
                    sum_y.push(y.sum());
                    sum_yy.push(y.dot(&y));
                }
                targets.push(BlockTarget {
                    factor: j,
                    class,
                    categorical: matches!(factor, Factor::Categorical(_)),
                    sum_y,
                    sum_yy,
                    sum_xy,
                });
            }
        }
        DciBlocks {
            count: blocks.iter().map(|b| b.len() as f64).collect(),
            sum_x,
            sum_xx,
            targets,
            factors: factors.len(),
        }
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.count.len()
    }

    /// True without blocks.
    pub fn is_empty(&self) -> bool {
        self.count.is_empty()
    }

    /// [`dci_from`] on the items of the blocks taken `weights[b]` times
    /// each (equal to it on those items up to rounding), warm-started from
    /// `start`.
    pub fn dci(&self, weights: &[f64], alpha: f64, start: Option<&DciFits>) -> Dci {
        let d = self.sum_x.ncols();
        let k = self.factors;
        let n: f64 = weights.iter().zip(&self.count).map(|(w, c)| w * c).sum();
        let weighted = |rows: &Array2<f64>| -> ndarray::Array1<f64> {
            ndarray::ArrayView1::from(weights).dot(rows)
        };
        let mean = weighted(&self.sum_x) / n;
        let mut packed = vec![0.0; d * (d + 1) / 2];
        for (w, sxx) in weights.iter().zip(&self.sum_xx) {
            if *w != 0.0 {
                for (p, s) in packed.iter_mut().zip(sxx) {
                    *p += w * s;
                }
            }
        }
        let mut gram = Array2::<f64>::zeros((d, d));
        // Where row i of the packed triangle (its diagonal) starts.
        let mut starts = Vec::with_capacity(d);
        let mut at = 0;
        for i in 0..d {
            starts.push(at);
            at += d - i;
        }
        // Centre, then scale to unit population variance; a column whose
        // variance is at rounding level of its second moment is constant
        // (→ 0, as [`ColumnScale`] makes it).
        let inv: Vec<f64> = (0..d)
            .map(|j| inverse_sd(packed[starts[j]] / n, mean[j]))
            .collect();
        for i in 0..d {
            for (off, p) in packed[starts[i]..starts[i] + d - i].iter().enumerate() {
                let j = i + off;
                let g = (p - n * mean[i] * mean[j]) * inv[i] * inv[j];
                gram[[i, j]] = g;
                gram[[j, i]] = g;
            }
        }
        let mut fits = DciFits::new();
        let mut importance = Array2::<f64>::zeros((d, k));
        let mut per_factor_targets = vec![0usize; k];
        let mut fitted: Vec<(usize, Vec<f64>)> = Vec::new();
        for t in &self.targets {
            let sy = ndarray::ArrayView1::from(weights).dot(&ndarray::ArrayView1::from(&t.sum_y));
            // A class absent from the resample is not a target (as in [`dci_from`]).
            if sy <= 0.0 && t.categorical {
                continue;
            }
            let syy = ndarray::ArrayView1::from(weights).dot(&ndarray::ArrayView1::from(&t.sum_yy));
            let y_mean = sy / n;
            let y_inv = inverse_sd(syy / n, y_mean);
            let sxy = weighted(&t.sum_xy);
            let (q, yty) = if y_inv > 0.0 {
                let q: ndarray::Array1<f64> = (0..d)
                    .map(|j| (sxy[j] - n * mean[j] * y_mean) * inv[j] * y_inv)
                    .collect();
                (q, n)
            } else {
                (ndarray::Array1::zeros(d), 0.0)
            };
            let warm = start
                .and_then(|s| s.get(&(t.factor, t.class)))
                .map(Vec::as_slice);
            let w = lasso_gram(
                (gram.view(), q.view(), yty),
                n.round() as usize,
                alpha,
                warm,
            );
            per_factor_targets[t.factor] += 1;
            fitted.push((t.factor, w.clone()));
            fits.insert((t.factor, t.class), w);
        }
        for (factor, w) in &fitted {
            for (i, w) in w.iter().enumerate() {
                importance[[i, *factor]] += w.abs() / per_factor_targets[*factor] as f64;
            }
        }
        dci_scores(importance, fits)
    }
}

/// `1 / sd` from a column's mean square and mean; 0 for a constant column
/// (variance within rounding of the mean square).
fn inverse_sd(mean_square: f64, mean: f64) -> f64 {
    let var = mean_square - mean * mean;
    if var > 1e-12 * mean_square {
        1.0 / var.sqrt()
    } else {
        0.0
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

    /// Orthonormal standardised codes make each Lasso a soft threshold,
    /// `w = sign(z) max(|z| − α, 0)` with `z = xᵀy / n`, so the importance
    /// matrix is known by hand: factor A = x0 reads 1 − 0.02 from code 0;
    /// B = x1 + x2 / 2 (standardised: divided by √1.25) reads
    /// 2/√5 − 0.02 from code 1 and 1/√5 − 0.02 from code 2.
    #[test]
    fn importance_is_the_soft_thresholded_correlation_on_orthonormal_codes() {
        let x = [
            [1.0, 1.0, 1.0],
            [-1.0, 1.0, -1.0],
            [1.0, -1.0, -1.0],
            [-1.0, -1.0, 1.0],
        ];
        let codes = Array2::from_shape_fn((4, 3), |(i, j)| x[i][j]);
        let a: Vec<f64> = (0..4).map(|i| x[i][0]).collect();
        let b: Vec<f64> = (0..4).map(|i| x[i][1] + 0.5 * x[i][2]).collect();
        let d = dci_from(
            codes.view(),
            &[Factor::Numeric(a), Factor::Numeric(b)],
            DCI_TEST_ALPHA,
            None,
        );
        let want = [
            [0.98, 0.0],
            [0.0, 2.0 / 5f64.sqrt() - 0.02],
            [0.0, 1.0 / 5f64.sqrt() - 0.02],
        ];
        for (i, row) in want.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                let got = d.importance[[i, j]];
                assert!((got - w).abs() < 1e-9, "R[{i}, {j}] = {got}, want {w}");
            }
        }
        assert_eq!(top_codes(d.importance.view(), 2), [0, 1]);
        assert_eq!(top_codes(d.importance.view(), 9), [0, 1, 2]);
    }

    const DCI_TEST_ALPHA: f64 = 0.02;

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
        let raw = latent.dot(&mix) + noise;
        let x = ColumnScale::of(raw.view()).apply(raw.view());
        let t: Vec<f64> = (0..n)
            .map(|i| latent[[i, 0]] - 0.5 * latent[[i, 2]])
            .collect();
        let column = ndarray::ArrayView2::from_shape((n, 1), &t).unwrap();
        let y = ColumnScale::of(column).apply(column);
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
        // This fixture's completeness is in base "all codes"; completeness
        // in base "codes used" is checked by the DCI train/test fixture.
        let (d, _) = dci(codes.view(), &factors, 0.02);
        close(d, "dci_lasso_alpha_0.02_disentanglement", 1e-3);
    }

    /// DCI fitted on train items, informativeness on test items, against
    /// scikit-learn's Lasso (`scripts/make_dci_reference.py`), two cases
    /// with different α and mixing.
    #[test]
    fn dci_train_test_equals_the_reference_values() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/dci_reference.json"
        ))
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for case in json["cases"].as_array().unwrap() {
            let factors = |key: &str| -> Vec<Factor> {
                case[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(case["kinds"].as_array().unwrap())
                    .map(|(values, kind)| {
                        let v = values
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_f64().unwrap());
                        if kind == "numeric" {
                            Factor::Numeric(v.collect())
                        } else {
                            Factor::Categorical(v.map(|x| x as usize).collect())
                        }
                    })
                    .collect()
            };
            let (train, test) = (matrix(&case["train_codes"]), matrix(&case["test_codes"]));
            let alpha = case["alpha"].as_f64().unwrap();
            let (dci, losses) = dci_train_test(
                (train.view(), &factors("factors_train")),
                (test.view(), &factors("factors_test")),
                alpha,
                None,
            );
            let want = &case["expected"];
            let close = |got: f64, want: &serde_json::Value, what: &str| {
                let want = want.as_f64().unwrap();
                assert!(
                    (got - want).abs() < 1e-3,
                    "α {alpha} {what}: {got} vs {want}"
                );
            };
            close(dci.disentanglement, &want["disentanglement"], "D");
            close(dci.completeness, &want["completeness"], "C");
            for (j, l) in losses.iter().enumerate() {
                close(
                    dci.completeness_per_factor[j],
                    &want["completeness_per_factor"][j],
                    "C per factor",
                );
                let all: Vec<usize> = (0..l.loss.len()).collect();
                close(l.score(&all), &want["informativeness_per_factor"][j], "I");
            }
        }
    }

    /// A resample of blocks from block sums equals DCI on the same items
    /// repeated, with a class absent from the resample and a constant code.
    #[test]
    fn block_resamples_equal_dci_on_the_repeated_items() {
        let (train, test) = {
            let text = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/dci_reference.json"
            ))
            .unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let case = &json["cases"][1];
            (matrix(&case["train_codes"]), case["factors_train"].clone())
        };
        let n = train.nrows();
        let mut codes = train.clone();
        codes.column_mut(3).fill(2.5);
        let a: Vec<f64> = serde_json::from_value(test[0].clone()).unwrap();
        // Class 3 only in the first item's block.
        let mut b: Vec<usize> = serde_json::from_value::<Vec<f64>>(test[1].clone())
            .unwrap()
            .iter()
            .map(|&x| x as usize)
            .collect();
        b[0] = 3;
        let factors = vec![Factor::Numeric(a), Factor::Categorical(b)];
        let blocks: Vec<Vec<usize>> = (0..10).map(|g| (g..n).step_by(10).collect()).collect();
        let sums = DciBlocks::new(codes.view(), &factors, &blocks);
        let weights = [0.0, 2.0, 1.0, 0.0, 3.0, 1.0, 0.0, 1.0, 2.0, 0.0];
        let rows: Vec<usize> = blocks
            .iter()
            .zip(weights)
            .flat_map(|(blk, w)| std::iter::repeat_n(blk.clone(), w as usize).flatten())
            .collect();
        let f: Vec<Factor> = factors.iter().map(|f| f.select(&rows)).collect();
        let want = dci_from(codes.select(Axis(0), &rows).view(), &f, 0.05, None);
        let got = sums.dci(&weights, 0.05, None);
        assert!((got.disentanglement - want.disentanglement).abs() < 1e-6);
        assert!((got.completeness - want.completeness).abs() < 1e-6);
        assert_eq!(got.fits.len(), want.fits.len(), "class 3 is not a target");
    }

    #[test]
    fn weighted_mig_and_sap_equal_the_scores_on_the_repeated_items() {
        // A resample's distinct items with their counts must give the
        // bootstrap the scores of the repeated items: same bins (range),
        // same labels (distinct values), same counts. The continuous
        // factor has more distinct values than bins, so it is binned too.
        let n = 40;
        let codes = Array2::from_shape_fn((n, 5), |(i, j)| {
            ((i * (j + 3)) % 17) as f64 * 0.3 + (i as f64 * 0.7 + j as f64).sin()
        });
        let factors = [
            Factor::Categorical((0..n).map(|i| i % 4).collect()),
            Factor::Numeric((0..n).map(|i| (i % 3) as f64).collect()),
            Factor::Numeric((0..n).map(|i| (i as f64 * 1.3).cos() * 5.0).collect()),
        ];
        let rows = [0usize, 3, 7, 12, 19, 25, 31, 38];
        let weights = [3usize, 1, 2, 1, 4, 1, 2, 1];
        let repeated: Vec<usize> = rows
            .iter()
            .zip(weights)
            .flat_map(|(&r, w)| std::iter::repeat_n(r, w))
            .collect();
        let pick = |idx: &[usize]| {
            (
                codes.select(Axis(0), idx),
                factors.iter().map(|f| f.select(idx)).collect::<Vec<_>>(),
            )
        };
        let (x_rep, f_rep) = pick(&repeated);
        let (x_dist, f_dist) = pick(&rows);
        for bins in [3, 20] {
            let want = mig_per_factor(x_rep.view(), &f_rep, bins);
            let got = mig_per_factor_weighted(x_dist.view(), &f_dist, &weights, bins);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-12,
                    "MIG with {bins} bins: {got:?} vs {want:?}"
                );
            }
        }
        let want = sap_per_factor(x_rep.view(), &f_rep);
        let got = sap_per_factor_weighted(x_dist.view(), &f_dist, &weights);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "SAP: {got:?} vs {want:?}");
        }
        assert!(want.iter().all(|v| v.is_finite()));
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
