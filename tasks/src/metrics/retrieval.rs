//! Query-by-example retrieval metrics with binary relevance.
//!
//! Each query ranks every *other* item by similarity (descending; ties
//! broken by item order, so rankings are deterministic). Definitions from
//! Manning, Raghavan & Schütze, *Introduction to Information Retrieval*
//! (2008), ch. 8 (AP, precision at k) and Järvelin & Kekäläinen (2002) for
//! nDCG with gain `rel_i / log2(i + 1)`.

/// Average precision of one ranking: `(1/R) Σ_{k: rel_k} P@k`, where `R`
/// is the number of relevant items. `None` when nothing is relevant.
pub fn average_precision(relevant: &[bool]) -> Option<f64> {
    let total = relevant.iter().filter(|r| **r).count();
    if total == 0 {
        return None;
    }
    let mut hits = 0.0;
    let mut sum = 0.0;
    for (i, &rel) in relevant.iter().enumerate() {
        if rel {
            hits += 1.0;
            sum += hits / (i + 1) as f64;
        }
    }
    Some(sum / total as f64)
}

/// Fraction of the top `k` that is relevant (divides by `k` even when
/// fewer than `k` items were ranked).
pub fn precision_at_k(relevant: &[bool], k: usize) -> f64 {
    relevant.iter().take(k).filter(|r| **r).count() as f64 / k as f64
}

/// Normalised discounted cumulative gain at `k`. `None` when nothing is
/// relevant.
pub fn ndcg_at_k(relevant: &[bool], k: usize) -> Option<f64> {
    let total = relevant.iter().filter(|r| **r).count();
    if total == 0 {
        return None;
    }
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = relevant
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..total.min(k)).map(gain).sum();
    Some(dcg / ideal)
}

/// Relevance lists of the queries `first, first + 1, …` whose similarity
/// rows `similarity` holds (one row per query, a column per item): query
/// `q` ranks all items `j ≠ q` by similarity, ties by item order, and
/// marks those with the same class as relevant.
pub fn rankings(
    similarity: ndarray::ArrayView2<'_, f64>,
    first: usize,
    classes: &[usize],
) -> Vec<Vec<bool>> {
    similarity
        .rows()
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let q = first + i;
            let mut others: Vec<usize> = (0..classes.len()).filter(|&j| j != q).collect();
            others.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            others.iter().map(|&j| classes[j] == classes[q]).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // Relevant at ranks 1, 3 (R = 2): AP = (1/1 + 2/3) / 2.
        let r = [true, false, true, false];
        assert!((average_precision(&r).unwrap() - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(precision_at_k(&r, 2), 0.5);
        // DCG@3 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@3 = 1 + 1/log2(3).
        let expected = 1.5 / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at_k(&r, 3).unwrap() - expected).abs() < 1e-12);
        assert_eq!(average_precision(&[false, false]), None);
    }

    #[test]
    fn rankings_exclude_the_query_and_sort_by_similarity() {
        let sim = ndarray::array![[1.0, 0.2, 0.9], [0.2, 1.0, 0.1], [0.9, 0.1, 1.0]];
        let r = rankings(sim.view(), 0, &[0, 1, 0]);
        assert_eq!(r[0], vec![true, false]);
        assert_eq!(r[1], vec![false, false]);
        // The last two queries' rows alone give their lists.
        let tail = rankings(sim.slice(ndarray::s![1.., ..]), 1, &[0, 1, 0]);
        assert_eq!(tail, r[1..]);
    }
}
