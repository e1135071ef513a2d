//! Temporal pooling: frame embeddings `(frames, dim)` to one vector per item.

use ndarray::{Array1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// How frame embeddings are pooled over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean over frames.
    Mean,
    /// Mean, then population standard deviation, concatenated (`2 * dim`).
    #[default]
    MeanStd,
    /// Maximum over frames.
    Max,
}

impl Pooling {
    /// The config spelling, used in fingerprints.
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::MeanStd => "mean_std",
            Pooling::Max => "max",
        }
    }

    /// Output dimension for frame dimension `dim`.
    pub fn output_dim(self, dim: usize) -> usize {
        match self {
            Pooling::MeanStd => 2 * dim,
            Pooling::Mean | Pooling::Max => dim,
        }
    }

    /// Pools `frames` (at least one row) over time, accumulating in f64.
    pub fn pool(self, frames: ArrayView2<f32>) -> Array1<f32> {
        let wide = frames.mapv(f64::from);
        let mean = wide
            .mean_axis(Axis(0))
            .expect("encoders emit at least one frame");
        match self {
            Pooling::Mean => mean.mapv(|v| v as f32),
            Pooling::Max => frames.fold_axis(Axis(0), f32::NEG_INFINITY, |a, &b| a.max(b)),
            Pooling::MeanStd => {
                let std = wide.std_axis(Axis(0), 0.0);
                let mut out = Array1::zeros(2 * mean.len());
                for (i, (m, s)) in mean.iter().zip(std.iter()).enumerate() {
                    out[i] = *m as f32;
                    out[mean.len() + i] = *s as f32;
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pooling_values() {
        let f = array![[1.0f32, 4.0], [3.0, 0.0]];
        assert_eq!(Pooling::Mean.pool(f.view()), array![2.0, 2.0]);
        assert_eq!(Pooling::Max.pool(f.view()), array![3.0, 4.0]);
        assert_eq!(Pooling::MeanStd.pool(f.view()), array![2.0, 2.0, 1.0, 2.0]);
    }
}
