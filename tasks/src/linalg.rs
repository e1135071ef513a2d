//! Dense symmetric positive-definite solves (Cholesky), for the ridge probe.
//! Pure Rust so the default build needs no BLAS/LAPACK system library.

use ndarray::{Array2, ArrayView2};

/// Solves `A X = B` for symmetric positive-definite `A` (n × n) by the
/// Cholesky factorisation `A = L Lᵀ` (Golub & Van Loan, *Matrix
/// Computations*, 4th ed., alg. 4.2.1). `None` if `A` is not positive
/// definite to working precision.
pub fn solve_spd(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    // Row-major lower factor in a flat buffer: the inner loops run over
    // contiguous slices and vectorise.
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = l[i * n..i * n + j]
                .iter()
                .zip(&l[j * n..j * n + j])
                .map(|(x, y)| x * y)
                .sum();
            let v = a[[i, j]] - dot;
            if i == j {
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                l[i * n + i] = v.sqrt();
            } else {
                l[i * n + j] = v / l[j * n + j];
            }
        }
    }
    let mut x = b.to_owned();
    for col in 0..x.ncols() {
        let mut y = x.column(col).to_vec();
        for i in 0..n {
            let dot: f64 = l[i * n..i * n + i]
                .iter()
                .zip(&y[..i])
                .map(|(p, q)| p * q)
                .sum();
            y[i] = (y[i] - dot) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = y[i];
            for k in i + 1..n {
                s -= l[k * n + i] * y[k];
            }
            y[i] = s / l[i * n + i];
        }
        x.column_mut(col).assign(&ndarray::Array1::from(y));
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn solves_and_rejects_indefinite() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let b = array![[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]];
        let x = solve_spd(a.view(), b.view()).unwrap();
        let back = a.dot(&x);
        assert!((&back - &b).iter().all(|v| v.abs() < 1e-12));
        assert!(solve_spd(
            array![[1.0, 2.0], [2.0, 1.0]].view(),
            b.slice(ndarray::s![..2, ..]).view()
        )
        .is_none());
    }
}
