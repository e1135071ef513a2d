//! Similarity of two representations of the same items.
//!
//! Linear CKA — Kornblith et al., "Similarity of Neural Network
//! Representations Revisited" (ICML 2019): with column-centred `X`, `Y`,
//! `CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`, equivalently
//! `⟨HKH, HLH⟩_F / (‖HKH‖_F ‖HLH‖_F)` for the Gram matrices `K = XXᵀ`,
//! `L = YYᵀ` and the centring matrix `H`. 1 for representations equal up
//! to rotation and isotropic scale.

use ndarray::{Array2, ArrayView2, Axis};

/// Linear CKA of two `(items, dim)` representations (feature form, cost
/// `O(n·d²)`); NaN if either is constant or empty.
pub fn linear_cka(x: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    if x.nrows() == 0 || y.nrows() == 0 {
        return f64::NAN;
    }
    let center = |a: ArrayView2<f64>| {
        let m = a
            .mean_axis(Axis(0))
            .unwrap_or_else(|| ndarray::Array1::zeros(a.ncols()));
        &a - &m
    };
    let (x, y) = (center(x), center(y));
    let frob = |a: &Array2<f64>| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let cross = y.t().dot(&x);
    let denominator = frob(&x.t().dot(&x)) * frob(&y.t().dot(&y));
    if denominator == 0.0 {
        return f64::NAN;
    }
    frob(&cross).powi(2) / denominator
}

/// Linear CKA from the *uncentred* Gram matrices `XXᵀ` and `YYᵀ`, restricted
/// to the items `rows` (which may repeat, as in a bootstrap resample), in
/// `O(m²)` time and `O(m)` memory for `m` rows once the Grams exist, using
/// `⟨HKH, HLH⟩ = ⟨K, L⟩ − (2/m)(K1)·(L1) + (1ᵀK1)(1ᵀL1)/m²`.
pub fn linear_cka_gram(gx: ArrayView2<f64>, gy: ArrayView2<f64>, rows: &[usize]) -> f64 {
    let (cx, cy) = (CentredGram::of(gx, rows), CentredGram::of(gy, rows));
    linear_cka_centred((gx, &cx), (gy, &cy), rows)
}

/// What one representation's Gram matrix contributes to [`linear_cka_gram`]
/// on a set of rows, computed once when it is paired with several others:
/// `K1` on the rows, `1ᵀK1` and the centred `⟨HKH, HKH⟩`.
pub struct CentredGram {
    row_sums: Vec<f64>,
    total: f64,
    self_dot: f64,
}

impl CentredGram {
    /// The parts of `gram` restricted to `rows` (repeats allowed).
    pub fn of(gram: ArrayView2<f64>, rows: &[usize]) -> CentredGram {
        let row_sums: Vec<f64> = rows
            .iter()
            .map(|&i| rows.iter().map(|&j| gram[[i, j]]).sum())
            .collect();
        let total: f64 = row_sums.iter().sum();
        let mut c = CentredGram {
            row_sums,
            total,
            self_dot: 0.0,
        };
        c.self_dot = centred_dot((gram, &c), (gram, &c), rows);
        c
    }
}

/// `⟨HKH, HLH⟩` on `rows` from the Grams and their [`CentredGram`]s.
fn centred_dot(
    (a, ca): (ArrayView2<f64>, &CentredGram),
    (b, cb): (ArrayView2<f64>, &CentredGram),
    rows: &[usize],
) -> f64 {
    let m = rows.len() as f64;
    let plain: f64 = rows
        .iter()
        .map(|&i| rows.iter().map(|&j| a[[i, j]] * b[[i, j]]).sum::<f64>())
        .sum();
    let cross: f64 = ca
        .row_sums
        .iter()
        .zip(&cb.row_sums)
        .map(|(p, q)| p * q)
        .sum();
    plain - 2.0 / m * cross + ca.total * cb.total / (m * m)
}

/// [`linear_cka_gram`] from Grams whose [`CentredGram`]s on `rows` are
/// already known; NaN if either representation is constant.
pub fn linear_cka_centred(
    (gx, cx): (ArrayView2<f64>, &CentredGram),
    (gy, cy): (ArrayView2<f64>, &CentredGram),
    rows: &[usize],
) -> f64 {
    let xy = centred_dot((gx, cx), (gy, cy), rows);
    let denominator = (cx.self_dot * cy.self_dot).sqrt();
    if denominator <= 0.0 {
        return f64::NAN;
    }
    xy / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gram_form_equals_the_feature_form_on_any_rows() {
        let x = Array2::from_shape_fn((9, 4), |(i, j)| ((i * 7 + j * 3) % 5) as f64 - (j as f64));
        let y = Array2::from_shape_fn((9, 6), |(i, j)| ((i * i + j) % 7) as f64 * 0.5);
        let (gx, gy) = (x.dot(&x.t()), y.dot(&y.t()));
        let all: Vec<usize> = (0..9).collect();
        let feature = linear_cka(x.view(), y.view());
        assert!((linear_cka_gram(gx.view(), gy.view(), &all) - feature).abs() < 1e-12);
        let rows = [0, 0, 3, 5, 5, 5, 8, 2];
        let picked = |a: &Array2<f64>| a.select(Axis(0), &rows);
        let resampled = linear_cka(picked(&x).view(), picked(&y).view());
        assert!((linear_cka_gram(gx.view(), gy.view(), &rows) - resampled).abs() < 1e-12);
    }
}
