//! Intrinsic geometry of a set of embeddings: how many dimensions it uses
//! and how fast its variance spectrum decays. No labels.
//!
//! Both read the eigenvalues of the centred covariance matrix
//! `Σ = XcᵀXc / n` (equivalently the squared singular values of the
//! centred embedding matrix over `n`). Centring departs from RankMe's
//! definition on raw embeddings on purpose: pooled audio features share a
//! large mean offset, which would count as one dominant dimension and hide
//! the rest.

use ndarray::ArrayView2;

/// Eigenvalues of the centred covariance of the rows of `x`, largest
/// first, negative rounding noise clamped to 0. Computed from the smaller
/// of the `d × d` covariance and the `n × n` Gram matrix (their non-zero
/// eigenvalues agree), with faer's self-adjoint eigensolver.
pub fn covariance_spectrum(x: ArrayView2<f64>) -> Vec<f64> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Vec::new();
    }
    let mean = x.mean_axis(ndarray::Axis(0)).expect("non-empty");
    let centred = &x - &mean;
    let small = if d <= n {
        centred.t().dot(&centred)
    } else {
        centred.dot(&centred.t())
    };
    let m = small.nrows();
    let values = faer::Mat::from_fn(m, m, |i, j| small[[i, j]] / n as f64)
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .unwrap_or_else(|_| vec![f64::NAN; m]);
    let mut out: Vec<f64> = values.into_iter().map(|v| v.max(0.0)).collect();
    out.reverse();
    out
}

/// Effective rank RankMe (Garrido et al., "RankMe: Assessing the downstream
/// performance of pretrained self-supervised representations by their
/// rank", ICML 2023, eq. 1): `exp(−Σ p_k log p_k)` with `p_k = σ_k / Σ σ`
/// over the singular values `σ_k = √(n λ_k)` (here of the centred
/// embeddings), leaving out eigenvalues below `1e-12 · λ₁`, which are
/// rounding noise of a zero. Between 1 and the rank; `d` for an isotropic
/// cloud. NaN when every eigenvalue is 0 (a collapsed representation).
pub fn rankme(spectrum: &[f64]) -> f64 {
    let top = spectrum.iter().copied().fold(0.0, f64::max);
    let sigma: Vec<f64> = spectrum
        .iter()
        .filter(|&&l| l > 1e-12 * top)
        .map(|l| l.sqrt())
        .collect();
    let total: f64 = sigma.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return f64::NAN;
    }
    let entropy: f64 = sigma
        .iter()
        .filter(|&&s| s > 0.0)
        .map(|&s| {
            let p = s / total;
            -p * p.ln()
        })
        .sum();
    entropy.exp()
}

/// Eigenspectrum decay α of α-ReQ (Agrawal et al., "α-ReQ: Assessing
/// representation quality in self-supervised learning by measuring
/// eigenspectrum decay", NeurIPS 2022): the slope of the least-squares
/// line through `(log k, −log λ_k)` over the eigenvalues above
/// `1e-12 · λ₁`, so `λ_k ∝ k^(−α)`. Small α: variance spread over many
/// dimensions; large α: a few dominate. NaN with fewer than two such
/// eigenvalues.
pub fn alpha_req(spectrum: &[f64]) -> f64 {
    let top = spectrum.first().copied().unwrap_or(0.0);
    if top.is_nan() || top <= 0.0 {
        return f64::NAN;
    }
    let points: Vec<(f64, f64)> = spectrum
        .iter()
        .enumerate()
        .take_while(|(_, &l)| l > 1e-12 * top)
        .map(|(k, &l)| (((k + 1) as f64).ln(), -l.ln()))
        .collect();
    if points.len() < 2 {
        return f64::NAN;
    }
    let m = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / m,
        points.iter().map(|p| p.1).sum::<f64>() / m,
    );
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng as _;
    use repbench_framework::seed;

    fn gaussian(n: usize, d: usize, scale: impl Fn(usize) -> f64) -> Array2<f64> {
        let mut rng = seed::rng(3, &["geometry"]);
        Array2::from_shape_fn((n, d), |(_, j)| {
            let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
            scale(j) * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
    }

    #[test]
    fn rankme_counts_the_dimensions_a_cloud_uses() {
        let iso = gaussian(4000, 16, |_| 1.0);
        let r = rankme(&covariance_spectrum(iso.view()));
        assert!((15.5..=16.0).contains(&r), "isotropic 16-d: {r}");
        // Rank 4 embedded in 16 dimensions (plus an offset, which centring
        // removes).
        let low = gaussian(4000, 4, |_| 1.0).dot(&gaussian(4, 16, |_| 1.0)) + 50.0;
        let r = rankme(&covariance_spectrum(low.view()));
        assert!((3.0..=4.0).contains(&r), "rank 4: {r}");
        assert!(rankme(&covariance_spectrum(Array2::from_elem((10, 3), 2.0).view())).is_nan());
    }

    #[test]
    fn alpha_req_recovers_a_power_law_decay() {
        // Variances k^(−1.5): standard deviations k^(−0.75).
        let x = gaussian(20000, 12, |j| ((j + 1) as f64).powf(-0.75));
        let a = alpha_req(&covariance_spectrum(x.view()));
        assert!((a - 1.5).abs() < 0.1, "{a}");
        assert!(alpha_req(&[1.0]).is_nan());
    }

    /// Gram route (d > n) and covariance route (d ≤ n) give the same
    /// spectrum: stacking the rows twice keeps the covariance and moves
    /// 6 × 9 items onto the covariance route.
    #[test]
    fn covariance_and_gram_spectra_agree() {
        let x = gaussian(6, 9, |j| 1.0 + j as f64);
        let wide = covariance_spectrum(x.view());
        let twice = ndarray::concatenate![ndarray::Axis(0), x, x];
        let tall = covariance_spectrum(twice.view());
        assert_eq!((wide.len(), tall.len()), (6, 9));
        for (a, b) in wide.iter().zip(&tall) {
            assert!((a - b).abs() < 1e-9 * wide[0], "{wide:?} {tall:?}");
        }
    }
}
