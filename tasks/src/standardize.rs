//! Feature standardisation fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// Per-feature mean and scale learnt from training data.
#[derive(Debug, Clone)]
pub struct Standardizer {
    mean: Array1<f64>,
    scale: Array1<f64>,
}

impl Standardizer {
    /// Learns mean and population standard deviation per column. A
    /// constant column gets scale 1 (it becomes all zeros, never NaN).
    pub fn fit(x: ArrayView2<f64>) -> Self {
        let mean = x
            .mean_axis(Axis(0))
            .unwrap_or_else(|| Array1::zeros(x.ncols()));
        let scale = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 1e-12 { s } else { 1.0 });
        Standardizer { mean, scale }
    }

    /// `(x - mean) / scale`.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean) / &self.scale
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
        assert_eq!(t, array![[0.0, 0.0], [3.0, 2.0]]);
    }
}
