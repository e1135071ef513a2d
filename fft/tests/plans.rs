//! The plans and the resampler through the public API. Here rather than
//! as unit tests: a unit-test build of the crate would compile rustfft's
//! algorithms a second time, which is what the crate is for avoiding
//! (33 s of a cold test build).

use repbench_fft::{FftResampler, RealPlanner32, RealPlanner64};

/// A forward then inverse transform gives the signal back, times `len`
/// (realfft leaves both unnormalised), in both precisions.
#[test]
fn forward_then_inverse_restores_the_signal() {
    let len = 30;
    let signal: Vec<f64> = (0..len).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
    let mut planner = RealPlanner64::new();
    let mut x = signal.clone();
    let mut spectrum = planner.forward(len).make_output_vec();
    planner.forward(len).process(&mut x, &mut spectrum).unwrap();
    assert!((spectrum[0].re - signal.iter().sum::<f64>()).abs() < 1e-12);
    let mut back = vec![0.0; len];
    planner
        .inverse(len)
        .process(&mut spectrum, &mut back)
        .unwrap();
    for (b, s) in back.iter().zip(&signal) {
        assert!((b / len as f64 - s).abs() < 1e-12);
    }

    let mut planner = RealPlanner32::new();
    let mut x: Vec<f32> = signal.iter().map(|&v| v as f32).collect();
    let mut spectrum = planner.forward(len).make_output_vec();
    planner.forward(len).process(&mut x, &mut spectrum).unwrap();
    let mut back = vec![0.0f32; len];
    planner
        .inverse(len)
        .process(&mut spectrum, &mut back)
        .unwrap();
    for (b, s) in back.iter().zip(&signal) {
        assert!((*b as f64 / len as f64 - s).abs() < 1e-5);
    }
}

/// A chunk of the configured size gives the expected number of output
/// frames; a chunk of another size is an error, not a panic.
#[test]
fn resampler_sizes_and_errors() {
    let mut r = FftResampler::new(16000, 8000, 1024, 2).unwrap();
    let out = r.process(&[0.25; 1024]).unwrap();
    assert_eq!(out.len(), 512);
    assert!(!r.process(&[0.0; 10]).unwrap_err().is_empty());
}
