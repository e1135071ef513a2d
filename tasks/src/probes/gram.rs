//! The Gram matrix `XᵀX` of a tall matrix, computed as its lower block
//! triangle only (symmetry gives the rest) with the blocks in parallel.
//!
//! With `b` column blocks, `b(b+1)/2` of the `b²` block products are
//! needed, so the work falls towards half of a general product; each block
//! is one ndarray product computed by one thread, so the result does not
//! depend on the thread count. Figures: `bench/README.md` (ridge probe).

use ndarray::{s, Array2, ArrayView2};
use rayon::prelude::*;

/// Columns per block: large enough for the product kernel to run at full
/// speed, small enough to give the triangle many blocks.
const BLOCK: usize = 192;

/// `xᵀ x` (features × features).
pub fn gram(x: ArrayView2<f64>) -> Array2<f64> {
    let d = x.ncols();
    let starts: Vec<usize> = (0..d).step_by(BLOCK).collect();
    let pairs: Vec<(usize, usize)> = (0..starts.len())
        .flat_map(|i| (0..=i).map(move |j| (i, j)))
        .collect();
    let span = |b: usize| starts[b]..(starts[b] + BLOCK).min(d);
    let blocks: Vec<Array2<f64>> = pairs
        .par_iter()
        .map(|&(i, j)| {
            let (ri, rj) = (span(i), span(j));
            x.slice(s![.., ri]).t().dot(&x.slice(s![.., rj]))
        })
        .collect();
    let mut out = Array2::zeros((d, d));
    for (&(i, j), block) in pairs.iter().zip(&blocks) {
        let (ri, rj) = (span(i), span(j));
        out.slice_mut(s![ri.clone(), rj.clone()]).assign(block);
        if i != j {
            out.slice_mut(s![rj, ri]).assign(&block.t());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_general_product_for_any_width() {
        for d in [1, 5, BLOCK, BLOCK + 1, 2 * BLOCK + 37] {
            let x = Array2::from_shape_fn((23, d), |(i, j)| ((i * 31 + j * 7) % 17) as f64 - 8.0);
            let g = gram(x.view());
            let direct = x.t().dot(&x);
            assert_eq!(g.dim(), (d, d));
            let worst = (&g - &direct).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(worst < 1e-9, "d={d}: {worst}");
            assert_eq!(g, g.t(), "symmetric");
        }
    }
}
