//! Top-k recommendation metrics for one user, with binary relevance.
//!
//! `ranked` is the user's recommendation list, best first, each item at
//! most once (as `recommendation::rank::rank_cosine` returns it);
//! `relevant` is the set of the user's held-out items. A set rather than a
//! sorted slice so that an unsorted or repeated list cannot silently give a
//! wrong count. Definitions: Manning, Raghavan & Schütze, *Introduction to
//! Information Retrieval* (2008), ch. 8 (recall) and Järvelin &
//! Kekäläinen, "Cumulated gain-based evaluation of IR techniques", ACM TOIS
//! 20(4), 2002 (nDCG, gain `1 / log2(rank + 1)`), as used for top-k
//! recommendation by Tamm & Aljanaki (RecSys 2024). Averages over users
//! are the caller's: a NaN marks a user with nothing to find, to be left
//! out of the mean rather than counted as a miss.

use std::collections::BTreeSet;

/// Discount of the item at 1-based `rank`: `1 / log2(rank + 1)`.
fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// Relevant items among the first `k` of `ranked`.
fn hits(ranked: &[usize], relevant: &BTreeSet<usize>, k: usize) -> usize {
    ranked
        .iter()
        .take(k)
        .filter(|i| relevant.contains(i))
        .count()
}

/// Hit rate at `k`: 1 when at least one relevant item is in the first `k`
/// of `ranked`, else 0 (so also 0 when `relevant` is empty or `k = 0`).
/// Averaged over users it is the fraction of users with a hit.
pub fn hit_rate_at_k(ranked: &[usize], relevant: &BTreeSet<usize>, k: usize) -> f64 {
    if hits(ranked, relevant, k) > 0 {
        1.0
    } else {
        0.0
    }
}

/// Recall at `k` (Manning et al. 2008, §8.3): relevant items in the first
/// `k` of `ranked` divided by `|relevant|`. NaN when `relevant` is empty
/// (undefined: the user has nothing to find). A `k` beyond the list's
/// length reads the whole list.
pub fn recall_at_k(ranked: &[usize], relevant: &BTreeSet<usize>, k: usize) -> f64 {
    if relevant.is_empty() {
        return f64::NAN;
    }
    hits(ranked, relevant, k) as f64 / relevant.len() as f64
}

/// Normalised discounted cumulative gain at `k` (Järvelin & Kekäläinen
/// 2002) with binary gains: `DCG = Σ_{r ≤ k, item r relevant} 1/log2(r+1)`
/// over 1-based ranks `r`, divided by the ideal
/// `IDCG = Σ_{r=1..min(k, |relevant|)} 1/log2(r+1)` (every relevant item
/// ranked first). The ideal counts all of `relevant`, not only the items
/// that appear in `ranked`, so a truncated list is not rewarded. NaN when
/// `relevant` is empty or `k = 0` (IDCG = 0).
pub fn ndcg_at_k(ranked: &[usize], relevant: &BTreeSet<usize>, k: usize) -> f64 {
    let ideal: f64 = (1..=k.min(relevant.len())).map(discount).sum();
    if ideal == 0.0 {
        return f64::NAN;
    }
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, i)| relevant.contains(i))
        .map(|(r, _)| discount(r + 1))
        .sum();
    dcg / ideal
}

/// Reciprocal rank `1 / rank` of the first relevant item, from its 1-based
/// rank among all candidates (`Ranked::first_relevant_rank`); its mean over
/// users is MRR (Voorhees, TREC-8 QA track, 1999). `None` (no relevant
/// item was ranked: all excluded or outside the candidates) gives 0, the
/// limit of `1 / rank` as the item falls off the list; a user with nothing
/// relevant at all should be left out by the caller, as for recall.
/// `Some(0)` is not a 1-based rank and gives NaN.
pub fn reciprocal_rank(first_relevant_rank: Option<usize>) -> f64 {
    match first_relevant_rank {
        None => 0.0,
        Some(0) => f64::NAN,
        Some(rank) => 1.0 / rank as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[usize]) -> BTreeSet<usize> {
        items.iter().copied().collect()
    }

    #[test]
    fn hand_worked_ranking() {
        // Ranking [3, 1, 4, 0, 2], relevant {1, 2}: item 1 at rank 2,
        // item 2 at rank 5.
        let ranked = [3, 1, 4, 0, 2];
        let rel = set(&[1, 2]);
        // log2(2) = 1, log2(3) = 1.5849625007, log2(6) = 2.5849625007.
        // k = 3: DCG = 1/log2(3) = 0.6309297536;
        //        IDCG = 1/log2(2) + 1/log2(3) = 1.6309297536;
        //        nDCG = 0.6309297536 / 1.6309297536 = 0.3868528072.
        let dcg3 = 1.0 / 3f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((ndcg_at_k(&ranked, &rel, 3) - 0.386_852_807_234_541_6).abs() < 1e-12);
        assert!((ndcg_at_k(&ranked, &rel, 3) - dcg3 / idcg).abs() < 1e-15);
        // k = 5: DCG = 1/log2(3) + 1/log2(6) = 0.6309297536 + 0.3868528072
        //        = 1.0177825608; IDCG as above (min(5, 2) = 2 terms);
        //        nDCG = 1.0177825608 / 1.6309297536 = 0.6240505200.
        assert!((ndcg_at_k(&ranked, &rel, 5) - 0.624_050_520_003_837_9).abs() < 1e-12);
        assert_eq!(hit_rate_at_k(&ranked, &rel, 1), 0.0);
        assert_eq!(hit_rate_at_k(&ranked, &rel, 2), 1.0);
        assert_eq!(recall_at_k(&ranked, &rel, 3), 0.5);
        assert_eq!(recall_at_k(&ranked, &rel, 5), 1.0);
        // First relevant item at rank 2.
        assert_eq!(reciprocal_rank(Some(2)), 0.5);
    }

    #[test]
    fn perfect_ranking_scores_one() {
        let rel = set(&[7, 9]);
        assert!((ndcg_at_k(&[9, 7, 1], &rel, 3) - 1.0).abs() < 1e-15);
        // One of two relevant items, at rank 1, k = 1: IDCG has one term.
        assert!((ndcg_at_k(&[9, 1, 7], &rel, 1) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn k_beyond_the_list_reads_the_whole_list() {
        let ranked = [3, 1, 4, 0, 2];
        let rel = set(&[1, 2, 8]);
        // Item 8 is never ranked: the ideal still counts it.
        // DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3) + 1/log2(4).
        let expected = (1.0 / 3f64.log2() + 1.0 / 6f64.log2()) / (1.0 + 1.0 / 3f64.log2() + 0.5);
        assert!((ndcg_at_k(&ranked, &rel, 50) - expected).abs() < 1e-12);
        assert!((recall_at_k(&ranked, &rel, 50) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(hit_rate_at_k(&ranked, &rel, 50), 1.0);
        assert_eq!(hit_rate_at_k(&[], &rel, 50), 0.0);
        assert_eq!(ndcg_at_k(&[], &rel, 50), 0.0);
    }

    #[test]
    fn nothing_relevant_is_nan_not_zero() {
        let empty = BTreeSet::new();
        assert!(recall_at_k(&[1, 2], &empty, 2).is_nan());
        assert!(ndcg_at_k(&[1, 2], &empty, 2).is_nan());
        assert_eq!(hit_rate_at_k(&[1, 2], &empty, 2), 0.0);
        assert!(ndcg_at_k(&[1, 2], &set(&[1]), 0).is_nan());
        assert_eq!(recall_at_k(&[1, 2], &set(&[1]), 0), 0.0);
    }

    #[test]
    fn reciprocal_rank_of_missing_and_invalid_ranks() {
        assert_eq!(reciprocal_rank(None), 0.0);
        assert_eq!(reciprocal_rank(Some(1)), 1.0);
        assert_eq!(reciprocal_rank(Some(4)), 0.25);
        assert!(reciprocal_rank(Some(0)).is_nan());
    }
}
