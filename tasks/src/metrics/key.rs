//! MIREX weighted score for musical key estimation.
//!
//! MIREX 2005 Audio Key Detection; same rules as `mir_eval.key.weighted_score`
//! (Raffel et al., 2014): 1.0 same key; 0.5 estimate a perfect fifth above
//! the reference in the same mode; 0.3 relative major/minor; 0.2 parallel
//! major/minor; else 0.

pub use repbench_framework::music::Key;

/// True when one key is the relative major/minor of the other (the minor
/// tonic three semitones below the major tonic).
fn relative(a: Key, b: Key) -> bool {
    let (major, minor) = match (a.major, b.major) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => return false,
    };
    (major.tonic as i32 - minor.tonic as i32).rem_euclid(12) == 3
}

/// Score of one estimate against its reference.
pub fn weighted_score(reference: Key, estimate: Key) -> f64 {
    let up = |from: u8, to: u8| (to as i32 - from as i32).rem_euclid(12);
    if reference == estimate {
        1.0
    } else if reference.major == estimate.major && up(reference.tonic, estimate.tonic) == 7 {
        0.5
    } else if relative(reference, estimate) {
        0.3
    } else if reference.major != estimate.major && reference.tonic == estimate.tonic {
        0.2
    } else {
        0.0
    }
}

/// Mean weighted score over items.
pub fn mean_weighted_score(reference: &[Key], estimate: &[Key]) -> f64 {
    if reference.is_empty() {
        return 0.0;
    }
    reference
        .iter()
        .zip(estimate)
        .map(|(r, e)| weighted_score(*r, *e))
        .sum::<f64>()
        / reference.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn mirex_rules() {
        assert_eq!(weighted_score(k("C major"), k("C major")), 1.0);
        assert_eq!(weighted_score(k("C major"), k("G major")), 0.5);
        assert_eq!(
            weighted_score(k("C major"), k("F major")),
            0.0,
            "descending fifth scores 0, as mir_eval by default"
        );
        assert_eq!(weighted_score(k("A minor"), k("E minor")), 0.5);
        assert_eq!(weighted_score(k("C major"), k("A minor")), 0.3);
        assert_eq!(weighted_score(k("A minor"), k("C major")), 0.3);
        assert_eq!(weighted_score(k("C major"), k("C minor")), 0.2);
        assert_eq!(weighted_score(k("C major"), k("D major")), 0.0);
        assert_eq!(k("Db:maj"), k("C# major"));
        assert_eq!(Key::parse("rock"), None);
        assert_eq!(
            mean_weighted_score(&[k("C major"), k("C major")], &[k("G major"), k("C minor")]),
            0.35
        );
    }
}
