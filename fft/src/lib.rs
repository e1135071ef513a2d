//! Real-input FFT plans and rubato's FFT resampler behind concrete types.
//!
//! realfft (over rustfft) and rubato are generic over the sample type, and a
//! crate that names a concrete type compiles every FFT algorithm for it
//! (SSE, AVX and scalar butterflies of each prime size): in the framework
//! that was 53 % of its LLVM IR (`cargo llvm-lines`), compiled twice in a
//! test build, once for the library and once for its unit tests. Named
//! here, the algorithms are compiled once, in this small crate, and the
//! framework calls the plans through realfft's trait objects as before; the
//! algorithms and so the numbers are the same.

use std::sync::Arc;

pub use realfft::num_complex;
pub use realfft::{ComplexToReal, RealToComplex};

/// Plans real-input FFTs on `f32` (realfft's planner, which reuses the
/// tables it has built).
pub struct RealPlanner32(realfft::RealFftPlanner<f32>);

/// Plans real-input FFTs on `f64`.
pub struct RealPlanner64(realfft::RealFftPlanner<f64>);

impl Default for RealPlanner32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for RealPlanner64 {
    fn default() -> Self {
        Self::new()
    }
}

// `inline(never)`: an inlined body would compile the generic planner in the
// caller's crate again, which is what this crate is for avoiding.
impl RealPlanner32 {
    /// An empty planner.
    #[inline(never)]
    pub fn new() -> Self {
        Self(realfft::RealFftPlanner::new())
    }

    /// The forward transform of `len` real samples.
    #[inline(never)]
    pub fn forward(&mut self, len: usize) -> Arc<dyn RealToComplex<f32>> {
        self.0.plan_fft_forward(len)
    }

    /// The inverse transform back to `len` real samples.
    #[inline(never)]
    pub fn inverse(&mut self, len: usize) -> Arc<dyn ComplexToReal<f32>> {
        self.0.plan_fft_inverse(len)
    }
}

impl RealPlanner64 {
    /// An empty planner.
    #[inline(never)]
    pub fn new() -> Self {
        Self(realfft::RealFftPlanner::new())
    }

    /// The forward transform of `len` real samples.
    #[inline(never)]
    pub fn forward(&mut self, len: usize) -> Arc<dyn RealToComplex<f64>> {
        self.0.plan_fft_forward(len)
    }

    /// The inverse transform back to `len` real samples.
    #[inline(never)]
    pub fn inverse(&mut self, len: usize) -> Arc<dyn ComplexToReal<f64>> {
        self.0.plan_fft_inverse(len)
    }
}

/// rubato's synchronous FFT resampler (`FftFixedIn`) on one channel of
/// `f32`, fed a fixed number of input frames at a time.
pub struct FftResampler(rubato::FftFixedIn<f32>);

impl FftResampler {
    /// A resampler from `from` Hz to `to` Hz taking `chunk` input frames
    /// per call, its FFTs split into `sub_chunks`; rubato's error as text.
    #[inline(never)]
    pub fn new(from: usize, to: usize, chunk: usize, sub_chunks: usize) -> Result<Self, String> {
        rubato::FftFixedIn::new(from, to, chunk, sub_chunks, 1)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// Output frames by which the output lags the input.
    #[inline(never)]
    pub fn output_delay(&self) -> usize {
        rubato::Resampler::output_delay(&self.0)
    }

    /// Resamples one chunk of exactly `chunk` input frames.
    #[inline(never)]
    pub fn process(&mut self, chunk: &[f32]) -> Result<Vec<f32>, String> {
        let mut out =
            rubato::Resampler::process(&mut self.0, &[chunk], None).map_err(|e| e.to_string())?;
        Ok(out.swap_remove(0))
    }
}
