//! Two-dimensional maps of embeddings, the figures MIR papers print: PCA
//! (linfa-reduction) and exact t-SNE (linfa-tsne, seeded), each with its
//! trustworthiness — how well the map keeps every item's nearest
//! neighbours — so a reader can tell a faithful map from a pretty one.

use linfa::traits::{Fit, Predict, Transformer};
use linfa::DatasetBase;
use linfa_reduction::Pca;
use linfa_tsne::TSneParams;
use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::index::sample;
use repbench_framework::seed;
use std::collections::BTreeMap;

/// At most this many test items are mapped (a seeded sample, the same for
/// every encoder of a task): exact t-SNE costs O(n²) per iteration, and a
/// scatter of more points than this is a blot on a printed page.
pub const MAP_ITEMS: usize = 500;
/// t-SNE perplexity (scikit-learn's default), lowered to `(n − 1) / 3`
/// for small sets as t-SNE requires.
pub const PERPLEXITY: f64 = 30.0;
/// t-SNE gradient steps (scikit-learn's default `max_iter`).
pub const TSNE_ITERATIONS: usize = 1000;
/// Neighbours `k` of the trustworthiness score (scikit-learn's default).
pub const TRUST_NEIGHBOURS: usize = 5;

/// One 2-D projection of `n` items.
#[derive(Debug, Clone)]
pub struct Projection {
    /// `pca` or `tsne`.
    pub method: &'static str,
    /// `(n, 2)` coordinates, rows in input order.
    pub coords: Array2<f64>,
    /// Settings and quality figures (`perplexity`, `pc1_variance`,
    /// `pc2_variance`, `trustworthiness`).
    pub params: BTreeMap<String, f64>,
}

/// Up to `max` of `rows`, drawn without replacement by `rng` and kept in
/// their original order; all of them when there are no more than `max`.
pub fn sample_rows(rows: &[usize], max: usize, rng: &mut seed::Rng) -> Vec<usize> {
    if rows.len() <= max {
        return rows.to_vec();
    }
    let mut picked = sample(rng, rows.len(), max).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| rows[i]).collect()
}

/// Why `x` cannot be mapped at all: too few rows or columns, values that
/// are not finite, or no spread.
fn check(x: ArrayView2<f64>) -> Result<(), String> {
    if x.nrows() < 3 || x.ncols() < 2 {
        return Err(format!(
            "a 2-D map needs at least 3 items and 2 dimensions, got {} × {}",
            x.nrows(),
            x.ncols()
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err("embeddings contain NaN or infinity".into());
    }
    let first = x.row(0);
    if x.rows().into_iter().all(|r| r == first) {
        return Err("every mapped item has the same embedding".into());
    }
    Ok(())
}

/// Principal components 1 and 2 of `x` (centred, not whitened), with the
/// share of the total variance each explains — scikit-learn's
/// `PCA(n_components=2)` `transform` and `explained_variance_ratio_`
/// (reference: `scripts/make_map_reference.py`). Each axis's sign is
/// arbitrary; it is fixed so that the item farthest along it is positive.
pub fn pca(x: ArrayView2<f64>) -> Result<Projection, String> {
    check(x)?;
    let data = DatasetBase::from(x.to_owned());
    let model = Pca::params(2)
        .fit(&data)
        .map_err(|e| format!("PCA failed: {e}"))?;
    let mut coords: Array2<f64> = model.predict(&x.to_owned());
    for mut axis in coords.axis_iter_mut(Axis(1)) {
        let extreme = axis
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(0.0);
        if extreme < 0.0 {
            axis.mapv_inplace(|v| -v);
        }
    }
    let mean = x.mean_axis(Axis(0)).expect("checked: at least 3 rows");
    let total: f64 = (&x - &mean).iter().map(|v| v * v).sum();
    let sigma = model.singular_values();
    let mut params = BTreeMap::new();
    for (k, name) in ["pc1_variance", "pc2_variance"].into_iter().enumerate() {
        let share = if total > 0.0 {
            sigma[k] * sigma[k] / total
        } else {
            f64::NAN
        };
        params.insert(name.to_string(), share);
    }
    params.insert(
        "trustworthiness".into(),
        trustworthiness(x, coords.view(), TRUST_NEIGHBOURS),
    );
    Ok(Projection {
        method: "pca",
        coords,
        params,
    })
}

/// Exact t-SNE of `x` into 2-D (van der Maaten & Hinton 2008; linfa-tsne
/// with the Barnes-Hut approximation off, so neither a tree nor the thread
/// count changes the result), started from `rng`.
pub fn tsne(x: ArrayView2<f64>, rng: seed::Rng) -> Result<Projection, String> {
    check(x)?;
    let n = x.nrows();
    // t-SNE needs n − 1 ≥ 3 × perplexity; stay just inside it.
    let perplexity = PERPLEXITY.min((n as f64 - 1.0) / 3.0 - 1e-6);
    if perplexity < 2.0 {
        return Err(format!(
            "t-SNE needs at least 8 items to map, got {n} (perplexity ≥ 2)"
        ));
    }
    let coords = TSneParams::embedding_size_with_rng(2, rng)
        .perplexity(perplexity)
        .approx_threshold(0.0)
        .max_iter(TSNE_ITERATIONS)
        .transform(x.to_owned())
        .map_err(|e| format!("t-SNE failed: {e}"))?;
    if coords.iter().any(|v| !v.is_finite()) {
        return Err("t-SNE diverged (coordinates not finite)".into());
    }
    let mut params = BTreeMap::new();
    params.insert("perplexity".to_string(), perplexity);
    params.insert(
        "trustworthiness".into(),
        trustworthiness(x, coords.view(), TRUST_NEIGHBOURS),
    );
    Ok(Projection {
        method: "tsne",
        coords,
        params,
    })
}

/// Each row's other rows, nearest first by Euclidean distance (ties by
/// index).
fn neighbour_order(x: ArrayView2<f64>) -> Vec<Vec<usize>> {
    let n = x.nrows();
    let sq: Vec<f64> = x.rows().into_iter().map(|r| r.dot(&r)).collect();
    let gram = x.dot(&x.t());
    (0..n)
        .map(|i| {
            let mut others: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| ((sq[i] + sq[j] - 2.0 * gram[[i, j]]).max(0.0), j))
                .collect();
            others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            others.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

/// Trustworthiness of an embedding `y` of `x` with `k` neighbours
/// (Venna & Kaski 2001; scikit-learn's `sklearn.manifold.trustworthiness`,
/// Euclidean): `1 − 2/(n k (2n − 3k − 1)) Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k)`,
/// where `Uᵢ` are `i`'s `k` nearest neighbours in `y` that are not among
/// its `k` nearest in `x`, and `r(i, j)` is `j`'s rank among `i`'s
/// neighbours in `x`. 1 = no false neighbours. NaN unless `k < n / 2`.
pub fn trustworthiness(x: ArrayView2<f64>, y: ArrayView2<f64>, k: usize) -> f64 {
    let n = x.nrows();
    if n != y.nrows() || k == 0 || 2 * k >= n {
        return f64::NAN;
    }
    let in_x = neighbour_order(x);
    let in_y = neighbour_order(y);
    let mut rank = vec![0usize; n];
    let mut penalty = 0.0;
    for i in 0..n {
        for (r, &j) in in_x[i].iter().enumerate() {
            rank[j] = r + 1;
        }
        penalty += in_y[i][..k]
            .iter()
            .map(|&j| rank[j].saturating_sub(k) as f64)
            .sum::<f64>();
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn clusters(n_per: usize, seed_value: u64) -> Array2<f64> {
        let mut rng = seed::rng(seed_value, &["clusters"]);
        Array2::from_shape_fn((3 * n_per, 6), |(i, j)| {
            let centre = if j == i / n_per { 8.0 } else { 0.0 };
            centre + rng.gen_range(-1.0..1.0)
        })
    }

    #[test]
    fn tsne_is_reproducible_and_keeps_clusters_apart() {
        let x = clusters(20, 7);
        let a = tsne(x.view(), seed::rng(1, &["map"])).unwrap();
        let b = tsne(x.view(), seed::rng(1, &["map"])).unwrap();
        assert_eq!(a.coords, b.coords);
        assert!(a.params["trustworthiness"] > 0.9, "{:?}", a.params);
        // Every item's nearest map neighbour is from its own cluster.
        let order = neighbour_order(a.coords.view());
        for (i, others) in order.iter().enumerate() {
            assert_eq!(others[0] / 20, i / 20, "item {i}");
        }
    }

    #[test]
    fn a_map_that_scrambles_neighbours_is_less_trustworthy() {
        let x = clusters(10, 3);
        let kept = pca(x.view()).unwrap();
        let mut rng = seed::rng(5, &["scramble"]);
        let scrambled = Array2::from_shape_fn((30, 2), |_| rng.gen_range(-1.0..1.0));
        let t_kept = kept.params["trustworthiness"];
        let t_scrambled = trustworthiness(x.view(), scrambled.view(), 5);
        assert!(t_kept > 0.9 && t_scrambled < 0.8, "{t_kept} {t_scrambled}");
        assert!(trustworthiness(x.view(), x.view(), 5) == 1.0);
        assert!(trustworthiness(x.view(), scrambled.view(), 15).is_nan());
    }

    #[test]
    fn degenerate_inputs_are_reasons_not_panics() {
        let same = Array2::from_elem((10, 4), 1.0);
        assert!(pca(same.view()).unwrap_err().contains("same embedding"));
        assert!(tsne(same.view(), seed::rng(0, &[])).is_err());
        let few = clusters(2, 1);
        assert!(tsne(few.view(), seed::rng(0, &[]))
            .unwrap_err()
            .contains("at least 8"));
        let narrow = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        assert!(pca(narrow.view()).unwrap_err().contains("2 dimensions"));
    }

    #[test]
    fn samples_keep_item_order_and_are_seeded() {
        let rows: Vec<usize> = (100..1100).collect();
        let a = sample_rows(&rows, 500, &mut seed::rng(9, &["map"]));
        let b = sample_rows(&rows, 500, &mut seed::rng(9, &["map"]));
        assert_eq!(a, b);
        assert_eq!(a.len(), 500);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            sample_rows(&rows[..10], 500, &mut seed::rng(9, &[])).len(),
            10
        );
    }
}
