//! Feature standardisation fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A feature whose training standard deviation is at most this fraction of
/// the features' typical scale — the root-mean-square standard deviation
/// of all features but the largest 1 % (so a few "massive activation"
/// dimensions of a transformer do not raise the bar) — is treated as
/// constant on the training split.
///
/// Dividing by such a scale (a pitch model's activation bins that never
/// fire on the training notes have σ ≈ 1e-5 beside a typical 0.05) turns
/// the same feature on unseen items into values of 10⁴ and more, and a
/// probe trained on the training split then scores R² of −200 and worse
/// (scikit-learn's `StandardScaler` gives the same). Such a feature
/// carries nothing a probe could learn from the training items, so it is
/// set to 0 everywhere instead, and the count is reported with the results
/// (`near_constant_features`).
pub const NEAR_CONSTANT_RELATIVE_SCALE: f64 = 1e-3;

/// Per-feature mean and scale learnt from training data.
#[derive(Debug, Clone)]
pub struct Standardizer {
    mean: Array1<f64>,
    /// `1 / σ`, or 0 for a near-constant feature.
    inverse_scale: Array1<f64>,
    near_constant: usize,
}

impl Standardizer {
    /// Learns mean and population standard deviation per column. Columns
    /// with σ ≤ [`NEAR_CONSTANT_RELATIVE_SCALE`] × the typical scale (RMS
    /// σ without the largest 1 %), or σ = 0, are mapped to 0.
    pub fn fit(x: ArrayView2<f64>) -> Self {
        let mean = x
            .mean_axis(Axis(0))
            .unwrap_or_else(|| Array1::zeros(x.ncols()));
        let std = x.std_axis(Axis(0), 0.0);
        let mut sorted = std.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.truncate(sorted.len() - sorted.len() / 100);
        let rms = if sorted.is_empty() {
            0.0
        } else {
            (sorted.iter().map(|s| s * s).sum::<f64>() / sorted.len() as f64).sqrt()
        };
        let floor = NEAR_CONSTANT_RELATIVE_SCALE * rms;
        let inverse_scale = std.mapv(|s| if s > floor && s > 0.0 { 1.0 / s } else { 0.0 });
        let near_constant = inverse_scale.iter().filter(|&&v| v == 0.0).count();
        Standardizer {
            mean,
            inverse_scale,
            near_constant,
        }
    }

    /// `(x - mean) / scale`; near-constant columns become 0.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean) * &self.inverse_scale
    }

    /// [`Standardizer::transform`] in place, for matrices too large to
    /// copy (the same arithmetic, so the same values bit for bit).
    pub fn transform_in_place(&self, x: &mut Array2<f64>) {
        for mut row in x.rows_mut() {
            row.zip_mut_with(&self.mean, |v, m| *v -= m);
            row.zip_mut_with(&self.inverse_scale, |v, s| *v *= s);
        }
    }

    /// Per column: true when it was treated as constant on the training rows.
    pub fn constant_mask(&self) -> Vec<bool> {
        self.inverse_scale.iter().map(|&v| v == 0.0).collect()
    }

    /// How many columns were treated as constant on the training rows.
    pub fn near_constant(&self) -> usize {
        self.near_constant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn uses_train_statistics_and_survives_constant_columns() {
        let train = array![[1.0, 5.0], [3.0, 5.0]];
        let s = Standardizer::fit(train.view());
        let t = s.transform(array![[2.0, 5.0], [5.0, 7.0]].view());
        assert_eq!(t, array![[0.0, 0.0], [3.0, 0.0]]);
        let mut same = array![[2.0, 5.0], [5.0, 7.0]];
        s.transform_in_place(&mut same);
        assert_eq!(same, t);
        assert_eq!(s.near_constant(), 1);
    }

    #[test]
    fn a_feature_nearly_constant_on_train_cannot_blow_up_on_test() {
        // Column 1 varies by 1e-6 on train beside a column of σ = 1.
        let train = array![[1.0, 0.0], [-1.0, 1e-6], [1.0, 2e-6], [-1.0, 0.0]];
        let s = Standardizer::fit(train.view());
        assert_eq!(s.near_constant(), 1);
        let t = s.transform(array![[0.5, 0.9]].view());
        assert_eq!(t, array![[0.5, 0.0]]);
        // A column at 1 % of the typical scale is kept and standardised.
        let train = array![[1.0, 0.0], [-1.0, 0.01], [1.0, 0.02], [-1.0, 0.0]];
        assert_eq!(Standardizer::fit(train.view()).near_constant(), 0);
    }

    /// One "massive activation" dimension at 1000× the others' scale (of
    /// 200) must not push features at 2 % of the typical scale under the
    /// bar, as an RMS over all dimensions would (≈ 71× typical).
    #[test]
    fn one_huge_dimension_does_not_raise_the_bar() {
        let train = ndarray::Array2::from_shape_fn((4, 200), |(i, j)| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            match j {
                0 => 1000.0 * sign,
                1 => 0.02 * sign,
                _ => sign,
            }
        });
        assert_eq!(Standardizer::fit(train.view()).near_constant(), 0);
    }
}
