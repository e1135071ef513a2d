//! Linear convolution by FFT overlap-add.

use repbench_fft::num_complex::Complex32;
use repbench_fft::RealPlanner32;

/// The first `x.len()` samples of `x ∗ h`.
///
/// Blocks of `x` are convolved with `h` in FFTs of size `n` (a power of two
/// at least twice `h`'s length), so the cost is `O(len · log n)` whatever
/// the lengths, and memory stays at a few FFT buffers.
pub(crate) fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return vec![0.0; x.len()];
    }
    let n = (2 * h.len()).next_power_of_two().max(4096);
    let block = n - h.len() + 1;
    let mut planner = RealPlanner32::new();
    let forward = planner.forward(n);
    let inverse = planner.inverse(n);
    let mut scratch = forward.make_scratch_vec();
    let mut inv_scratch = inverse.make_scratch_vec();

    let mut time = vec![0.0f32; n];
    time[..h.len()].copy_from_slice(h);
    let mut h_spec = forward.make_output_vec();
    forward
        .process_with_scratch(&mut time, &mut h_spec, &mut scratch)
        .expect("buffers come from the same planned FFT");
    // Fold the inverse FFT's missing 1/n into the filter once.
    let scale = 1.0 / n as f32;
    for c in &mut h_spec {
        *c *= scale;
    }

    let mut out = vec![0.0f32; x.len()];
    let mut spec: Vec<Complex32> = forward.make_output_vec();
    for (b, chunk) in x.chunks(block).enumerate() {
        time[..chunk.len()].copy_from_slice(chunk);
        time[chunk.len()..].fill(0.0);
        forward
            .process_with_scratch(&mut time, &mut spec, &mut scratch)
            .expect("buffers come from the same planned FFT");
        for (s, hs) in spec.iter_mut().zip(&h_spec) {
            *s *= hs;
        }
        // Rounding can leave a tiny imaginary part in the DC and Nyquist
        // bins, which the real inverse FFT rejects.
        spec[0].im = 0.0;
        spec[n / 2].im = 0.0;
        inverse
            .process_with_scratch(&mut spec, &mut time, &mut inv_scratch)
            .expect("DC and Nyquist bins are real");
        let start = b * block;
        let end = (start + n).min(x.len());
        for (o, t) in out[start..end].iter_mut().zip(&time) {
            *o += t;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_convolution() {
        let x: Vec<f32> = (0..20000)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        for h_len in [1usize, 5, 3000] {
            let h: Vec<f32> = (0..h_len)
                .map(|i| (-(i as f32) / 500.0).exp() * if i % 3 == 0 { 1.0 } else { -0.5 })
                .collect();
            let y = convolve(&x, &h);
            assert_eq!(y.len(), x.len());
            for i in (0..x.len()).step_by(97) {
                let direct: f64 = (0..h.len().min(i + 1))
                    .map(|k| h[k] as f64 * x[i - k] as f64)
                    .sum();
                assert!(
                    (y[i] as f64 - direct).abs() < 1e-3,
                    "h_len {h_len}, i {i}: {} vs {direct}",
                    y[i]
                );
            }
        }
    }
}
