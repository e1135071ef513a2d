//! Rows of an embedding matrix as float64, the precision every evaluator
//! computes in.

use ndarray::{Array2, ArrayView2};

/// Rows `idx` of `x` as float64, converted in one pass: no float32 copy of
/// the rows first (at 70 000 × 1024 that copy alone is 290 MB).
pub fn rows_f64(x: ArrayView2<f32>, idx: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros((idx.len(), x.ncols()));
    for (mut dst, &r) in out.rows_mut().into_iter().zip(idx) {
        dst.zip_mut_with(&x.row(r), |d, &v| *d = f64::from(v));
    }
    out
}

/// Why `x` cannot be evaluated, if it cannot: the first item (row `i`
/// belongs to `items[i]`) whose embedding holds NaN or infinity.
pub fn non_finite_problem(
    x: ArrayView2<f32>,
    items: &[repbench_framework::dataset::Item],
) -> Option<String> {
    x.indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|((row, _), _)| {
            format!(
                "embedding of item \"{}\" contains NaN or infinity",
                items[row].id
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    #[test]
    fn equals_select_then_convert() {
        let x = array![[1.5f32, -2.0], [0.1, 3.0], [7.0, 8.0]];
        let idx = [2, 0, 2];
        assert_eq!(
            rows_f64(x.view(), &idx),
            x.select(Axis(0), &idx).mapv(f64::from)
        );
        assert_eq!(rows_f64(x.view(), &[]).dim(), (0, 2));
    }
}
