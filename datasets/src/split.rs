//! Seeded random splits by fraction.

use rand::seq::SliceRandom;
use repbench_framework::dataset::Split;
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};

/// Fractions of items per split; they must sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFractions {
    /// Share of training items.
    pub train: f64,
    /// Share of validation items.
    pub valid: f64,
    /// Share of test items.
    pub test: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        SplitFractions {
            train: 0.6,
            valid: 0.2,
            test: 0.2,
        }
    }
}

impl SplitFractions {
    /// Each fraction in (0, 1) and the three summing to 1.
    pub fn validate(&self, key: &str) -> Result<()> {
        let all = [self.train, self.valid, self.test];
        if all.iter().any(|f| !(f.is_finite() && *f > 0.0 && *f < 1.0)) {
            return Err(Error::config(
                key,
                format!("each fraction must be in (0, 1); got {all:?}"),
            ));
        }
        let sum: f64 = all.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::config(
                key,
                format!("train + valid + test must be 1 (got {sum})"),
            ));
        }
        Ok(())
    }

    /// Assigns `n` items to splits: a seeded shuffle, then the first
    /// `round(n * train)` go to train, the next `round(n * valid)` to valid,
    /// the rest to test.
    pub fn assign(&self, n: usize, seed_value: u64, stream: &[&str]) -> Vec<Split> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut seed::rng(seed_value, stream));
        let n_train = (n as f64 * self.train).round() as usize;
        let n_valid = (n as f64 * self.valid).round() as usize;
        let mut splits = vec![Split::Test; n];
        for (rank, &i) in order.iter().enumerate() {
            splits[i] = if rank < n_train {
                Split::Train
            } else if rank < n_train + n_valid {
                Split::Valid
            } else {
                Split::Test
            };
        }
        splits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_counts_and_is_seeded() {
        let f = SplitFractions::default();
        let a = f.assign(100, 3, &["x"]);
        assert_eq!(a.iter().filter(|s| **s == Split::Train).count(), 60);
        assert_eq!(a.iter().filter(|s| **s == Split::Valid).count(), 20);
        assert_eq!(a.iter().filter(|s| **s == Split::Test).count(), 20);
        assert_eq!(a, f.assign(100, 3, &["x"]));
        assert_ne!(a, f.assign(100, 4, &["x"]));
        let bad = SplitFractions {
            train: 0.5,
            valid: 0.2,
            test: 0.2,
        };
        assert!(bad
            .validate("datasets[0].split")
            .unwrap_err()
            .to_string()
            .contains("must be 1"));
    }
}
