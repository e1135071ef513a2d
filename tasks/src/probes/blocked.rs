//! Products with a tall matrix `x` (items × features) over fixed blocks of
//! rows in parallel, for the probes' iterative solvers, whose time goes
//! into `x · w` and `xᵀ · r` on every iteration.
//!
//! Blocks are fixed by row count, never by the thread count, and the
//! partial sums of `xᵀ · r` are added in block order, so the result does
//! not depend on the number of threads. Rows read lazily ([`TrainRows`])
//! are standardised one block at a time, inside the block's task, so at
//! most one float64 block per thread exists. Figures: `bench/README.md`
//! (`bench/scale.sh`).

use super::rows::TrainRows;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// Rows per block: a block's product is large enough for the product
/// kernel to run at full speed (8192 × 1024 floats = 64 MB of input).
const ROWS: usize = 8192;

fn blocks(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .step_by(ROWS)
        .map(|a| (a, (a + ROWS).min(n)))
        .collect()
}

/// `x · w` (items × outputs), its row blocks in parallel. Each output row
/// is computed by the same product kernel as in `x.dot(&w)`.
pub fn dot(x: TrainRows<'_>, w: ArrayView2<f64>) -> Array2<f64> {
    if x.nrows() <= ROWS {
        return x.with_block(0..x.nrows(), |block| block.dot(&w));
    }
    let parts = per_block(x, |(a, b)| x.with_block(a..b, |block| block.dot(&w)));
    let views: Vec<ArrayView2<f64>> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views).expect("blocks share the column count")
}

/// `xᵀ · r` (features × outputs): one product per row block in parallel,
/// the partial sums added in block order.
pub fn t_dot(x: TrainRows<'_>, r: ArrayView2<f64>) -> Array2<f64> {
    if x.nrows() <= ROWS {
        return x.with_block(0..x.nrows(), |block| block.t().dot(&r));
    }
    let parts = per_block(x, |(a, b)| {
        x.with_block(a..b, |block| block.t().dot(&r.slice(ndarray::s![a..b, ..])))
    });
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least one block");
    parts.fold(first, |acc, p| acc + p)
}

/// `product` of every row block of `x`, in block order: in parallel, at
/// most [`TrainRows::blocks_at_once`] blocks at a time.
fn per_block(
    x: TrainRows<'_>,
    product: impl Fn((usize, usize)) -> Array2<f64> + Sync,
) -> Vec<Array2<f64>> {
    let all = blocks(x.nrows());
    // No more blocks run at once than there are threads: a bound at or
    // above that needs no groups, whose waits would only cost time.
    let at_once = x.blocks_at_once(all.len());
    let group = if at_once >= rayon::current_num_threads() {
        all.len()
    } else {
        at_once
    };
    all.chunks(group.max(1))
        .flat_map(|group| {
            group
                .par_iter()
                .map(|&block| product(block))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(n: usize, d: usize, salt: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, d), |(i, j)| {
            (((i * 7919 + j * 104_729 + salt) % 1000) as f64 - 500.0) / 250.0
        })
    }

    #[test]
    fn equal_the_plain_products_on_either_side_of_one_block() {
        for n in [5, ROWS, ROWS + 1, 2 * ROWS + 333] {
            let (x, w, r) = (matrix(n, 37, 1), matrix(37, 3, 2), matrix(n, 3, 3));
            assert_eq!(dot(x.view().into(), w.view()), x.dot(&w), "n = {n}");
            let plain = x.t().dot(&r);
            let worst = (&t_dot(x.view().into(), r.view()) - &plain)
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(worst <= 1e-9 * n as f64, "n = {n}: {worst}");
        }
    }

    #[test]
    fn do_not_depend_on_the_thread_count() {
        let (x, r) = (matrix(3 * ROWS + 5, 16, 4), matrix(3 * ROWS + 5, 2, 5));
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| t_dot(x.view().into(), r.view()));
        let b = three.install(|| t_dot(x.view().into(), r.view()));
        assert_eq!(a, b);
    }

    /// Rows standardised block by block give the products of their
    /// standardised copy exactly, across several blocks.
    #[test]
    fn lazy_rows_give_the_dense_products_bit_for_bit() {
        use crate::standardize::Standardizer;
        let n = 2 * ROWS + 77;
        let x = Array2::from_shape_fn((n + 9, 11), |(i, j)| {
            (((i * 7919 + j * 104_729) % 1000) as f32 - 500.0) / 125.0
        });
        let rows: Vec<usize> = (0..n + 9).rev().skip(9).collect();
        let standardizer = Standardizer::fit_rows(x.view(), &rows);
        let dense = standardizer.rows(x.view(), &rows);
        let buffers = super::super::rows::BlockBuffers::default();
        let lazy = TrainRows::Lazy {
            x: x.view(),
            rows: &rows,
            standardizer: &standardizer,
            buffers: &buffers,
        };
        let (w, r) = (matrix(11, 3, 6), matrix(n, 3, 7));
        // Twice: the second time through buffers the first one left. On
        // four threads, so that all three blocks could run at once.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        pool.install(|| {
            for _ in 0..2 {
                assert_eq!(dot(lazy, w.view()), dot(dense.view().into(), w.view()));
                assert_eq!(t_dot(lazy, r.view()), t_dot(dense.view().into(), r.view()));
            }
        });
        // Three blocks, read two at a time: never more than two buffers,
        // even when each block is slow enough for all three to be taken.
        pool.install(|| {
            per_block(lazy, |(a, b)| {
                lazy.with_block(a..b, |block| {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    block.to_owned()
                })
            })
        });
        assert!(buffers.kept() <= 2, "{} buffers", buffers.kept());
        buffers.release();
        assert_eq!(buffers.kept(), 0);
    }
}
