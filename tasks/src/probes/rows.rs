//! A probe's training rows: a standardised float64 matrix, or rows of the
//! float32 embeddings standardised block by block as a probe reads them.
//!
//! The second form is for data larger than memory allows (`run.
//! max_memory_gb`): the logistic probe, whose time goes into products over
//! fixed row blocks ([`super::blocked`]), then never holds a float64 copy
//! of the training split (570 MB at 70 000 × 1024). The MLP gathers its
//! minibatches from either form ([`TrainRows::select_f32`]). Both give the
//! same values bit for bit ([`Standardizer::standardise_row`]), so a probe
//! computes the same model from either.

use crate::standardize::Standardizer;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, CowArray, Ix2};
use std::ops::Range;
use std::sync::Mutex;

/// Float64 buffers for blocks of rows read lazily, reused by every
/// product of a fit: a fresh 64 MB block per product would cost its page
/// faults each time. At most one exists per block read at once (one per
/// thread), and all are freed with the fit.
#[derive(Default)]
pub struct BlockBuffers(Mutex<Vec<Vec<f64>>>);

impl BlockBuffers {
    fn take(&self) -> Vec<f64> {
        // A panic elsewhere cannot leave a buffer list half-changed.
        let mut free = self.0.lock().unwrap_or_else(|e| e.into_inner());
        free.pop().unwrap_or_default()
    }

    fn put(&self, buffer: Vec<f64>) {
        let mut free = self.0.lock().unwrap_or_else(|e| e.into_inner());
        free.push(buffer);
    }

    /// Frees every buffer, once a probe is fitted: the next probe may
    /// need its memory for a whole copy (ridge, kNN).
    pub fn release(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// How many buffers are kept for reuse.
    pub fn kept(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Standardised training rows, whole or read in blocks.
#[derive(Clone, Copy)]
pub enum TrainRows<'a> {
    /// Already standardised, in memory.
    Dense(ArrayView2<'a, f64>),
    /// Rows `rows` of `x`, standardised by `standardizer` when read.
    Lazy {
        /// The embeddings (every split).
        x: ArrayView2<'a, f32>,
        /// The training rows of `x`, in training order.
        rows: &'a [usize],
        /// Fitted on those rows.
        standardizer: &'a Standardizer,
        /// Where blocks are standardised.
        buffers: &'a BlockBuffers,
    },
}

impl<'a> From<ArrayView2<'a, f64>> for TrainRows<'a> {
    fn from(x: ArrayView2<'a, f64>) -> Self {
        TrainRows::Dense(x)
    }
}

impl<'a> TrainRows<'a> {
    /// Number of training rows.
    pub fn nrows(&self) -> usize {
        match self {
            TrainRows::Dense(x) => x.nrows(),
            TrainRows::Lazy { rows, .. } => rows.len(),
        }
    }

    /// Number of features.
    pub fn ncols(&self) -> usize {
        match self {
            TrainRows::Dense(x) => x.ncols(),
            TrainRows::Lazy { x, .. } => x.ncols(),
        }
    }

    /// How many of `blocks` row blocks a product may read at once: all of
    /// them from a dense matrix; read lazily, at most a quarter of them
    /// (their buffers then hold at most a quarter of what a float64 copy
    /// would, whatever the thread count), and at least two.
    pub fn blocks_at_once(&self, blocks: usize) -> usize {
        match self {
            TrainRows::Dense(_) => blocks.max(1),
            TrainRows::Lazy { .. } => (blocks / 4).max(2),
        }
    }

    /// `f` of rows `range` (in training order), standardised: a view of
    /// the dense matrix, or of a reused buffer the rows are read into.
    pub fn with_block<R>(&self, range: Range<usize>, f: impl FnOnce(ArrayView2<f64>) -> R) -> R {
        match *self {
            TrainRows::Dense(x) => f(x.slice(s![range, ..])),
            TrainRows::Lazy {
                x,
                rows,
                standardizer,
                buffers,
            } => {
                let rows = &rows[range];
                let mut buffer = buffers.take();
                buffer.resize(rows.len() * x.ncols(), 0.0);
                let mut block = ArrayViewMut2::from_shape((rows.len(), x.ncols()), &mut buffer)
                    .expect("the buffer was sized for the block");
                for (dst, &r) in block.rows_mut().into_iter().zip(rows) {
                    standardizer.standardise_row(x.row(r), dst);
                }
                let out = f(block.view());
                buffers.put(buffer);
                out
            }
        }
    }

    /// Every row as one float64 matrix, for probes that need the whole of
    /// it at once (ridge's Gram matrix, kNN's training set): a view of the
    /// dense matrix, or a new standardised copy.
    pub fn whole(&self) -> CowArray<'a, f64, Ix2> {
        match *self {
            TrainRows::Dense(x) => x.into(),
            TrainRows::Lazy {
                x,
                rows,
                standardizer,
                ..
            } => standardizer.rows(x, rows).into(),
        }
    }

    /// Rows at positions `picks` of the training order, standardised, as
    /// float32 (the MLP's precision, one minibatch at a time): no copy of
    /// the whole is made in either form.
    pub fn select_f32(&self, picks: &[usize]) -> Array2<f32> {
        let mut out = Array2::zeros((picks.len(), self.ncols()));
        match *self {
            TrainRows::Dense(x) => {
                for (mut dst, &i) in out.rows_mut().into_iter().zip(picks) {
                    dst.zip_mut_with(&x.row(i), |d, &v| *d = v as f32);
                }
            }
            TrainRows::Lazy {
                x,
                rows,
                standardizer,
                ..
            } => {
                let mut row = ndarray::Array1::zeros(x.ncols());
                for (mut dst, &i) in out.rows_mut().into_iter().zip(picks) {
                    standardizer.standardise_row(x.row(rows[i]), row.view_mut());
                    dst.zip_mut_with(&row, |d, &v| *d = v as f32);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_the_same_values() {
        let x = Array2::from_shape_fn((50, 6), |(i, j)| ((i * 31 + j * 17) % 23) as f32 - 11.5);
        let rows: Vec<usize> = (0..50).rev().step_by(2).collect();
        let standardizer = Standardizer::fit_rows(x.view(), &rows);
        let dense = standardizer.rows(x.view(), &rows);
        let buffers = BlockBuffers::default();
        let lazy = TrainRows::Lazy {
            x: x.view(),
            rows: &rows,
            standardizer: &standardizer,
            buffers: &buffers,
        };
        let whole = TrainRows::from(dense.view());
        assert_eq!((lazy.nrows(), lazy.ncols()), (25, 6));
        assert_eq!(lazy.whole(), whole.whole());
        assert_eq!(
            lazy.with_block(3..9, |b| b.to_owned()),
            whole.with_block(3..9, |b| b.to_owned())
        );
        for _ in 0..2 {
            let read = lazy.with_block(3..9, |b| b.to_owned());
            assert_eq!(read, dense.slice(s![3..9, ..]));
        }
        assert_eq!(lazy.with_block(0..25, |b| b.to_owned()), dense);
        let picks = [7, 0, 24, 7, 3];
        let expected = dense.select(ndarray::Axis(0), &picks).mapv(|v| v as f32);
        assert_eq!(lazy.select_f32(&picks), expected);
        assert_eq!(whole.select_f32(&picks), expected);
    }
}
