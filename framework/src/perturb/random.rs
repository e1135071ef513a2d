//! Gaussian samples drawn from the caller's RNG (the framework has no
//! `rand_distr`, and Box–Muller keeps the stream easy to reason about).

use crate::seed::Rng;
use rand::Rng as _;

/// `n` independent standard normal samples (Box–Muller, both outputs used).
pub(crate) fn gaussian(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // 1 - U keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - rng.gen::<f64>();
        let u2 = rng.gen::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        out.push(r * c);
        out.push(r * s);
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_standard_normal_and_stream_is_seeded() {
        let x = gaussian(&mut crate::seed::rng(3, &["g"]), 200_001);
        assert_eq!(x.len(), 200_001);
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let kurt = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n / var.powi(2);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        assert_eq!(
            x[..100],
            gaussian(&mut crate::seed::rng(3, &["g"]), 100)[..]
        );
    }
}
