//! One process's share of the embedding work, for sharded extraction on a
//! cluster's own scheduler (a Slurm job array, a Kubernetes Indexed Job):
//! `repbench extract CONFIG --shard I/N` in N processes fills one shared
//! cache, then a plain `repbench run` finds every embedding there.
//!
//! The work is cut into units — per dataset, per extraction checkpoint
//! (the same grid an interrupted run resumes from), per encoder: every
//! variant of that encoder (clean, each perturbation, each transform view)
//! over those items — numbered in config order, and shard `I` takes the
//! units whose number is `I` modulo `N`. The numbering depends only on the
//! config, never on what the cache holds, so every process agrees on it.

use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as `SLURM_ARRAY_TASK_ID` and
/// `JOB_COMPLETION_INDEX` count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// Which shard, `0..count`.
    pub index: usize,
    /// How many shards there are.
    pub count: usize,
}

impl Share {
    /// Whether work unit number `unit` belongs to this shard.
    pub fn takes(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }
}

impl FromStr for Share {
    type Err = Error;

    /// Parses `I/N`, e.g. `3/8`: shard 3 of 8, numbered from 0.
    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::Config {
            key: "--shard".into(),
            reason: format!(
                "{text:?}: {why}; write I/N with 0 <= I < N, e.g. --shard 0/4 … --shard 3/4"
            ),
        };
        let (i, n) = text.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let parse = |s: &str, what: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{what} {s:?} is not a whole number")))
        };
        let (index, count) = (parse(i, "I")?, parse(n, "N")?);
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad("I must be below N (shards are numbered from 0)"));
        }
        Ok(Share { index, count })
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_over_count() {
        let s: Share = "3/8".parse().unwrap();
        assert_eq!(s, Share { index: 3, count: 8 });
        assert_eq!(s.to_string(), "3/8");
        assert_eq!("0/1".parse::<Share>().unwrap().count, 1);
    }

    #[test]
    fn rejects_what_is_not_a_shard() {
        for (text, words) in [
            ("3", "no '/'"),
            ("4/4", "below N"),
            ("0/0", "at least 1"),
            ("-1/4", "not a whole number"),
            ("a/4", "not a whole number"),
        ] {
            let e = text.parse::<Share>().unwrap_err().to_string();
            assert!(e.contains(words) && e.contains("--shard"), "{text}: {e}");
        }
    }

    #[test]
    fn every_unit_goes_to_exactly_one_shard() {
        let shards: Vec<Share> = (0..4).map(|index| Share { index, count: 4 }).collect();
        for unit in 0..50 {
            assert_eq!(shards.iter().filter(|s| s.takes(unit)).count(), 1);
        }
    }
}
