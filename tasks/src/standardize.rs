//! Feature standardisation fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis, Zip};

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
        Self::from_moments(mean, x.std_axis(Axis(0), 0.0))
    }

    /// [`Standardizer::fit`] on rows `rows` of a float32 matrix, read one
    /// row at a time: no float64 copy of the rows is made. Equal to
    /// `fit(rows_f64(x, rows))` bit for bit: the sums and Welford updates
    /// below are ndarray's `mean_axis` and `var_axis` along rows, in the
    /// same order (no rows go through ndarray itself: its mean of nothing
    /// is 0, not NaN).
    pub fn fit_rows(x: ArrayView2<f32>, rows: &[usize]) -> Self {
        let d = x.ncols();
        if rows.is_empty() {
            return Self::fit(crate::rows::rows_f64(x, rows).view());
        }
        let mut sum = Array1::<f64>::zeros(d);
        let mut mean = Array1::<f64>::zeros(d);
        let mut sum_sq = Array1::<f64>::zeros(d);
        let mut row = Array1::<f64>::zeros(d);
        for (i, &r) in rows.iter().enumerate() {
            row.zip_mut_with(&x.row(r), |v, &s| *v = f64::from(s));
            let count = (i + 1) as f64;
            Zip::from(&mut sum)
                .and(&mut mean)
                .and(&mut sum_sq)
                .and(&row)
                .for_each(|s, m, q, &v| {
                    *s += v;
                    let delta = v - *m;
                    *m += delta / count;
                    *q = (v - *m).mul_add(delta, *q);
                });
        }
        let n = rows.len() as f64;
        Self::from_moments(sum / n, sum_sq.mapv_into(|q| (q / n).sqrt()))
    }

    /// The standardiser for per-column `mean` and population `std`.
    fn from_moments(mean: Array1<f64>, std: Array1<f64>) -> Self {
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

    /// Row `src` of float32 values standardised into `dst`: the arithmetic
    /// of [`Standardizer::transform_in_place`] on its float64 copy.
    pub fn standardise_row(&self, src: ArrayView1<f32>, mut dst: ArrayViewMut1<f64>) {
        Zip::from(&mut dst)
            .and(&src)
            .and(&self.mean)
            .and(&self.inverse_scale)
            .for_each(|d, &v, &m, &s| *d = (f64::from(v) - m) * s);
    }

    /// Rows `rows` of `x` standardised, as float64: equal to
    /// `rows_f64(x, rows)` transformed, without the unstandardised copy.
    pub fn rows(&self, x: ArrayView2<f32>, rows: &[usize]) -> Array2<f64> {
        let mut out = Array2::zeros((rows.len(), x.ncols()));
        for (dst, &r) in out.rows_mut().into_iter().zip(rows) {
            self.standardise_row(x.row(r), dst);
        }
        out
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

    /// The low-memory path (statistics and standardised rows read from
    /// float32 rows) gives the float64 path's values bit for bit, on rows
    /// out of order and on every width, so results do not depend on it.
    #[test]
    fn float32_rows_give_the_float64_copy_bit_for_bit() {
        let x = ndarray::Array2::from_shape_fn((300, 37), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f32 / 97.0 - 5.0 + (j as f32) * 1e3
        });
        let rows: Vec<usize> = (0..300).rev().step_by(3).chain(1..40).collect();
        for width in [1, 2, 37] {
            let x = x.slice(ndarray::s![.., ..width]);
            let copy = crate::rows::rows_f64(x, &rows);
            let dense = Standardizer::fit(copy.view());
            let lean = Standardizer::fit_rows(x, &rows);
            assert_eq!(lean.mean, dense.mean, "width {width}");
            assert_eq!(lean.inverse_scale, dense.inverse_scale, "width {width}");
            let mut transformed = copy.clone();
            dense.transform_in_place(&mut transformed);
            assert_eq!(lean.rows(x, &rows), transformed, "width {width}");
        }
        let none = Standardizer::fit_rows(x.view(), &[]);
        assert_eq!(none.near_constant(), 37);
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
