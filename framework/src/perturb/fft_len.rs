//! FFT sizes that rustfft transforms quickly.

/// The smallest `n ≥ len` whose only prime factors are 2, 3 and 5, so a
/// full-signal FFT costs `O(n log n)` without padding to the next power of
/// two (which can nearly double the work).
pub(crate) fn fast_len(len: usize) -> usize {
    let mut n = len.max(1);
    loop {
        let mut m = n;
        for p in [2, 3, 5] {
            while m % p == 0 {
                m /= p;
            }
        }
        if m == 1 {
            return n;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::fast_len;

    #[test]
    fn smooth_sizes() {
        assert_eq!(fast_len(0), 1);
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(1_323_001), 1_327_104);
        assert_eq!(fast_len(1000), 1000);
    }
}
