//! Seeded percentile bootstrap confidence intervals over test items.
//!
//! Efron & Tibshirani, *An Introduction to the Bootstrap* (1993), ch. 13:
//! resample the `n` test items with replacement `B` times, recompute the
//! metric on each resample, and take the `α/2` and `1 − α/2` percentiles of
//! those values (linear interpolation between order statistics, as numpy's
//! default `percentile`).

use crate::seed::Rng;
use rand::Rng as _;

/// A metric value with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The metric on all items.
    pub value: f64,
    /// Lower percentile of the bootstrap distribution.
    pub low: f64,
    /// Upper percentile of the bootstrap distribution.
    pub high: f64,
    /// Resamples on which the statistic was undefined (NaN) and which the
    /// interval therefore leaves out.
    pub undefined: usize,
}

/// Draws `resamples` index vectors of length `n` (with replacement).
///
/// Drawing the indices once and sharing them across metrics and encoders
/// makes their intervals paired: every encoder is judged on the same
/// resamples of the same items.
pub fn resample_indices(n: usize, resamples: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    (0..resamples)
        .map(|_| (0..n).map(|_| rng.gen_range(0..n)).collect())
        .collect()
}

/// The `q`-th percentile (0–100) of `values`, linearly interpolated.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// 95% percentile-bootstrap interval of `metric(indices)`, where `metric`
/// computes the statistic on a subset of items given by index.
pub fn estimate(n: usize, resamples: &[Vec<usize>], metric: impl Fn(&[usize]) -> f64) -> Estimate {
    let all: Vec<usize> = (0..n).collect();
    let value = metric(&all);
    if resamples.is_empty() {
        return Estimate {
            value,
            low: value,
            high: value,
            undefined: 0,
        };
    }
    let stats: Vec<f64> = resamples.iter().map(|idx| metric(idx)).collect();
    interval(value, &stats)
}

/// The estimate `value` with the 95% percentile interval of its values on
/// bootstrap resamples, `stats`, computed elsewhere (e.g. in parallel).
pub fn interval(value: f64, stats: &[f64]) -> Estimate {
    // A resample can leave a statistic undefined (a tag with no positive
    // item, a ratio over 0): such resamples carry no information.
    let defined: Vec<f64> = stats.iter().copied().filter(|v| v.is_finite()).collect();
    let undefined = stats.len() - defined.len();
    if defined.is_empty() {
        return Estimate {
            value,
            low: f64::NAN,
            high: f64::NAN,
            undefined,
        };
    }
    Estimate {
        value,
        low: percentile(&defined, 2.5),
        high: percentile(&defined, 97.5),
        undefined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn percentile_matches_numpy_linear_interpolation() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        let v = [4.0, 1.0, 3.0, 2.0];
        assert!((percentile(&v, 2.5) - 1.075).abs() < 1e-12);
        assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 97.5) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn mean_ci_covers_truth_at_about_the_nominal_rate_and_is_seeded() {
        // Bernoulli(0.7) samples of size 100: the 95% CI of the mean should
        // contain 0.7 in roughly 95% of 200 independent experiments.
        let mut data_rng = Rng::seed_from_u64(11);
        let mut covered = 0;
        for trial in 0..200 {
            let xs: Vec<f64> = (0..100)
                .map(|_| f64::from(data_rng.gen::<f64>() < 0.7))
                .collect();
            let mut rng = Rng::seed_from_u64(trial);
            let idx = resample_indices(xs.len(), 500, &mut rng);
            let e = estimate(xs.len(), &idx, |i| {
                i.iter().map(|&j| xs[j]).sum::<f64>() / i.len() as f64
            });
            assert!(e.low <= e.value && e.value <= e.high);
            covered += usize::from(e.low <= 0.7 && 0.7 <= e.high);
        }
        assert!((180..=198).contains(&covered), "coverage {covered}/200");
        let a = resample_indices(10, 3, &mut Rng::seed_from_u64(1));
        assert_eq!(a, resample_indices(10, 3, &mut Rng::seed_from_u64(1)));
    }
}

/// A paired difference `metric_a − metric_b` with its interval and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedEstimate {
    /// The difference on all items, with its 95% percentile interval.
    pub delta: Estimate,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
}

/// Paired bootstrap comparison of two systems scored on the same items
/// (Efron & Tibshirani 1993, §16.4; Koehn 2004): both metrics are computed
/// on each shared resample; the p-value is twice the smaller tail count of
/// the resampled differences at zero, with the usual +1 correction so it is
/// never exactly 0: `min(1, 2 (min(#Δ≤0, #Δ≥0) + 1) / (B + 1))`
/// (Davison & Hinkley 1997, eq. 4.11), over the resamples on which the
/// difference is defined; NaN when it is defined on none.
pub fn paired(
    n: usize,
    resamples: &[Vec<usize>],
    a: impl Fn(&[usize]) -> f64,
    b: impl Fn(&[usize]) -> f64,
) -> PairedEstimate {
    let diff = |idx: &[usize]| a(idx) - b(idx);
    let delta = estimate(n, resamples, diff);
    let p_value = paired_p_value(resamples.iter().map(|idx| diff(idx)));
    PairedEstimate { delta, p_value }
}

/// The two-sided p-value of [`paired`] from the resampled differences
/// `a − b` alone: `min(1, 2 (min(#Δ≤0, #Δ≥0) + 1) / (B + 1))` over the
/// defined (finite) differences; NaN when none is defined (undefined, which
/// Holm's adjustment leaves out, not "no difference").
pub fn paired_p_value(differences: impl IntoIterator<Item = f64>) -> f64 {
    let (mut defined, mut below, mut above) = (0usize, 0usize, 0usize);
    for d in differences.into_iter().filter(|d| d.is_finite()) {
        defined += 1;
        below += usize::from(d <= 0.0);
        above += usize::from(d >= 0.0);
    }
    if defined == 0 {
        f64::NAN
    } else {
        (2.0 * (below.min(above) + 1) as f64 / (defined + 1) as f64).min(1.0)
    }
}

/// Holm's step-down adjustment of `p_values` (Holm 1979, "A simple
/// sequentially rejective multiple test procedure"): with the `m` defined
/// p-values sorted ascending, `p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) p₍ⱼ₎)`;
/// returned in input order, NaN where the input is NaN (not counted in `m`).
/// Equals `statsmodels.stats.multitest.multipletests(p, method="holm")`.
/// Rejecting where `p̃ < α` controls the family-wise error rate at α.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len())
        .filter(|&i| !p_values[i].is_nan())
        .collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod paired_tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn clear_difference_is_significant_and_identical_systems_are_not() {
        let n = 200;
        let correct_a: Vec<f64> = (0..n).map(|i| f64::from(i % 10 != 0)).collect(); // 90%
        let correct_b: Vec<f64> = (0..n).map(|i| f64::from(i % 10 < 6)).collect(); // 60%
        let mean =
            |v: &Vec<f64>, idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
        let idx = resample_indices(n, 1000, &mut Rng::seed_from_u64(3));
        let r = paired(n, &idx, |i| mean(&correct_a, i), |i| mean(&correct_b, i));
        assert!((r.delta.value - 0.3).abs() < 1e-12);
        assert!(r.p_value < 0.01 && r.delta.low > 0.0, "{r:?}");
        let same = paired(n, &idx, |i| mean(&correct_a, i), |i| mean(&correct_a, i));
        assert_eq!(same.p_value, 1.0);
        let undefined = paired(n, &idx, |_| f64::NAN, |i| mean(&correct_a, i));
        assert!(undefined.p_value.is_nan());
    }
}
