//! Orthonormal DCT-II along the columns of a matrix.

use ndarray::{Array2, ArrayView2};

/// DCT-II with orthonormal scaling (scipy `dct(type=2, norm="ortho")`),
/// applied to each row of `x` (shape `(frames, n)`), keeping the first
/// `n_out` coefficients:
///
/// `y[k] = s_k * sum_n x[n] cos(pi * k * (2n + 1) / (2N))`,
/// `s_0 = sqrt(1/N)`, `s_k = sqrt(2/N)` for `k > 0`.
pub fn dct2_ortho(x: ArrayView2<f32>, n_out: usize) -> Array2<f32> {
    let n = x.ncols();
    let mut basis = Array2::<f32>::zeros((n, n_out));
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64;
            basis[[i, k]] = (scale * angle.cos()) as f32;
        }
    }
    x.dot(&basis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn dct_of_constant_is_dc_only_and_energy_is_preserved() {
        let x = array![[1.0f32, 1.0, 1.0, 1.0]];
        let y = dct2_ortho(x.view(), 4);
        assert!((y[[0, 0]] - 2.0).abs() < 1e-6);
        assert!(y.iter().skip(1).all(|v| v.abs() < 1e-6));
        let x = array![[0.3f32, -1.2, 2.5, 0.7, 0.1]];
        let y = dct2_ortho(x.view(), 5);
        let ex: f32 = x.iter().map(|v| v * v).sum();
        let ey: f32 = y.iter().map(|v| v * v).sum();
        assert!((ex - ey).abs() < 1e-5);
    }
}
