//! Per-item pieces of the property metrics (invariance, equivariance).
//!
//! Each property score is a ratio of sums over test items, so a bootstrap
//! resample (or a paired comparison) only re-adds per-item numbers; the
//! functions here compute those numbers. Reference values:
//! `tests/fixtures/property_reference.json`, made by
//! `scripts/make_property_reference.py` (numpy, scikit-learn).

use super::classification::same_length;
use ndarray::{ArrayView2, Axis};

/// `‖aᵢ − bᵢ‖²` per row.
///
/// # Panics
/// If the shapes differ.
pub fn squared_distances(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Vec<f64> {
    assert_eq!(a.dim(), b.dim(), "squared_distances: shapes differ");
    a.rows()
        .into_iter()
        .zip(b.rows())
        .map(|(x, y)| x.iter().zip(y.iter()).map(|(p, q)| (p - q).powi(2)).sum())
        .collect()
}

/// Each item's share of the mean squared distance between two different
/// items: `sᵢ = 2n/(n−1) · ‖zᵢ − z̄‖²`, so `mean(s) = mean_{i≠j} ‖zᵢ − zⱼ‖²`
/// (the identity `Σ_{i≠j} ‖zᵢ − zⱼ‖² = 2n Σᵢ ‖zᵢ − z̄‖²`). Empty for fewer
/// than two items.
pub fn pair_distance_shares(z: ArrayView2<f64>) -> Vec<f64> {
    let n = z.nrows();
    if n < 2 {
        return Vec::new();
    }
    let mean = z.mean_axis(Axis(0)).expect("at least two rows");
    let factor = 2.0 * n as f64 / (n as f64 - 1.0);
    z.rows()
        .into_iter()
        .map(|r| {
            factor
                * r.iter()
                    .zip(&mean)
                    .map(|(x, m)| (x - m).powi(2))
                    .sum::<f64>()
        })
        .collect()
}

/// Rank (1 = nearest) of `gallery[i]` among all gallery rows for query
/// `queries[i]`, by Euclidean distance. Ties count against the item
/// (`1 + #{j ≠ i : d(q, gⱼ) ≤ d(q, gᵢ)}`), so a representation that maps
/// every item to one point ranks each item last, never first.
///
/// # Panics
/// If the shapes differ.
pub fn self_retrieval_ranks(queries: ArrayView2<f64>, gallery: ArrayView2<f64>) -> Vec<usize> {
    assert_eq!(
        queries.dim(),
        gallery.dim(),
        "self_retrieval_ranks: shapes differ"
    );
    let n = gallery.nrows();
    let norms: Vec<f64> = gallery.rows().into_iter().map(|r| r.dot(&r)).collect();
    let mut ranks = Vec::with_capacity(n);
    // Blocks of queries keep the distance matrix small for large n.
    const BLOCK: usize = 512;
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let block = queries.slice(ndarray::s![start..end, ..]);
        let cross = block.dot(&gallery.t());
        for (offset, row) in cross.rows().into_iter().enumerate() {
            let i = start + offset;
            // ‖q‖² is the same for every gallery item: rank by ‖g‖² − 2q·g.
            let own = norms[i] - 2.0 * row[i];
            // Relative slack so rounding cannot split an exact tie.
            let slack = 1e-12 * (norms[i].abs() + own.abs() + 1.0);
            let closer = (0..n)
                .filter(|&j| j != i && norms[j] - 2.0 * row[j] <= own + slack)
                .count();
            ranks.push(1 + closer);
        }
    }
    ranks
}

/// Cosine between `a[i]` and `b[i]` over the feature axis, per row; NaN
/// where either row is zero.
///
/// # Panics
/// If the shapes differ.
pub fn row_cosines(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Vec<f64> {
    assert_eq!(a.dim(), b.dim(), "row_cosines: shapes differ");
    a.rows()
        .into_iter()
        .zip(b.rows())
        .map(|(x, y)| {
            let (xy, xx, yy) = (x.dot(&y), x.dot(&x), y.dot(&y));
            if xx > 0.0 && yy > 0.0 {
                xy / (xx.sqrt() * yy.sqrt())
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// Variance-weighted R² over output dimensions (sklearn
/// `r2_score(y, ŷ, multioutput="variance_weighted")`):
/// `1 − Σᵢₖ (yᵢₖ − ŷᵢₖ)² / Σᵢₖ (yᵢₖ − ȳₖ)²`; NaN when `y` is constant or
/// empty.
///
/// # Panics
/// If the shapes differ.
pub fn variance_weighted_r2(y: ArrayView2<f64>, y_pred: ArrayView2<f64>) -> f64 {
    assert_eq!(y.dim(), y_pred.dim(), "variance_weighted_r2: shapes differ");
    let residual: f64 = squared_distances(y, y_pred).iter().sum();
    let Some(mean) = y.mean_axis(Axis(0)) else {
        return f64::NAN;
    };
    let total: f64 = (&y - &mean).iter().map(|v| v * v).sum();
    if total.is_nan() || total <= 0.0 {
        return f64::NAN;
    }
    1.0 - residual / total
}

/// `1 − Σ num / Σ den`: the share of `den` that `num` leaves unexplained,
/// subtracted from 1; NaN when `Σ den` is not positive.
///
/// # Panics
/// If the lengths differ.
pub fn one_minus_ratio(num: &[f64], den: &[f64]) -> f64 {
    same_length("one_minus_ratio", num.len(), den.len());
    let (a, b): (f64, f64) = (num.iter().sum(), den.iter().sum());
    if b.is_nan() || b <= 0.0 {
        f64::NAN
    } else {
        1.0 - a / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn fixture(name: &str) -> serde_json::Value {
        let text = include_str!("../../tests/fixtures/property_reference.json");
        let all: serde_json::Value = serde_json::from_str(text).unwrap();
        all[name].clone()
    }

    fn matrix(v: &serde_json::Value) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let (n, d) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, d), rows.concat()).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }

    #[test]
    fn equal_numpy_and_scikit_learn_on_the_committed_cases() {
        for case in fixture("cases").as_array().unwrap() {
            let (x, y, p) = (
                matrix(&case["x"]),
                matrix(&case["y"]),
                matrix(&case["pred"]),
            );
            close(
                variance_weighted_r2(y.view(), p.view()),
                case["r2_variance_weighted"].as_f64().unwrap(),
            );
            let cos: Vec<f64> = serde_json::from_value(case["row_cosines"].clone()).unwrap();
            row_cosines(y.view(), p.view())
                .iter()
                .zip(&cos)
                .for_each(|(a, b)| close(*a, *b));
            let mean_pair: f64 = case["mean_pair_sq_distance"].as_f64().unwrap();
            let s = pair_distance_shares(x.view());
            close(s.iter().sum::<f64>() / s.len() as f64, mean_pair);
            let inv = case["invariance"].as_f64().unwrap();
            close(
                one_minus_ratio(&squared_distances(x.view(), y.view()), &s),
                inv,
            );
            let ranks: Vec<usize> = serde_json::from_value(case["ranks"].clone()).unwrap();
            assert_eq!(self_retrieval_ranks(y.view(), x.view()), ranks);
        }
    }

    #[test]
    fn a_collapsed_gallery_ranks_every_item_last_and_has_no_pair_distance() {
        let z = Array2::from_elem((4, 3), 2.0);
        assert_eq!(self_retrieval_ranks(z.view(), z.view()), vec![4; 4]);
        let s = pair_distance_shares(z.view());
        assert!(one_minus_ratio(&[0.0; 4], &s).is_nan());
        assert!(variance_weighted_r2(z.view(), z.view()).is_nan());
        assert!(row_cosines(array![[0.0, 0.0]].view(), array![[1.0, 0.0]].view())[0].is_nan());
    }
}
