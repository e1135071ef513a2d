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
/// `O(n·d²)`); NaN if either is constant.
pub fn linear_cka(x: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let center = |a: ArrayView2<f64>| {
        let m = a.mean_axis(Axis(0)).expect("at least one row");
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
/// to the items `rows` (which may repeat, as in a bootstrap resample):
/// `O(m²)` for `m` rows once the Grams exist, so resampling is cheap
/// whatever the embedding width.
pub fn linear_cka_gram(gx: ArrayView2<f64>, gy: ArrayView2<f64>, rows: &[usize]) -> f64 {
    let centred = |g: ArrayView2<f64>| {
        let m = rows.len();
        let mut k = Array2::from_shape_fn((m, m), |(i, j)| g[[rows[i], rows[j]]]);
        let row_means = k.mean_axis(Axis(1)).expect("rows");
        let grand = row_means.mean().unwrap_or(0.0);
        // Symmetric: column means equal row means.
        for ((i, j), v) in k.indexed_iter_mut() {
            *v += grand - row_means[i] - row_means[j];
        }
        k
    };
    let (k, l) = (centred(gx), centred(gy));
    let dot = |a: &Array2<f64>, b: &Array2<f64>| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let denominator = (dot(&k, &k) * dot(&l, &l)).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    dot(&k, &l) / denominator
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
