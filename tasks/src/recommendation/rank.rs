//! Top-K recommendation lists by cosine similarity, blocked so that a
//! 10 000-user × 50 000-item catalogue never holds the whole score matrix.
//!
//! Order: score descending, ties by lower item index, so every list is a
//! pure function of the inputs. A row with zero (or non-finite) norm has
//! no direction: its cosines are NaN, and NaN ranks below every number
//! (below −1), so such items come last and such a user's list is in item
//! order. Users are scored in fixed blocks of [`USER_BLOCK`] rows (never
//! sized by the thread count) against candidate blocks of [`ITEM_BLOCK`]
//! rows with ndarray's `f32` product (matrixmultiply); each score's sum
//! over the features is the same whatever the block, and blocks are
//! collected in user order, so the thread count changes nothing.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

/// Users per parallel block: 256 × 50 000 candidates is a 51 MB score
/// block, one per busy thread.
pub const USER_BLOCK: usize = 256;
/// Candidates per product: keeps one product's output within a few MB.
pub const ITEM_BLOCK: usize = 4096;

/// One user's recommendations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    /// The best `k` candidates (item row indices), best first; shorter
    /// when fewer than `k` candidates are left after the exclusions.
    pub top: Vec<usize>,
    /// 1-based rank, among all non-excluded candidates, of the user's
    /// best-placed relevant item; `None` when no relevant item is a
    /// non-excluded candidate. For MRR at any cut-off.
    pub first_relevant_rank: Option<usize>,
}

/// Ranks `candidates` (row indices of `items`) for every row of `users`
/// by cosine similarity and returns each user's top `k`, in user order.
///
/// `exclude[u]` (items the user already listened to) are removed from the
/// user's ranking altogether; `relevant[u]` are the user's held-out items,
/// read only for [`Ranked::first_relevant_rank`]. Either list may be empty
/// (`&[]`) to mean "none for any user"; otherwise it has one entry per
/// user. Indices in either that are not candidates are ignored; a relevant
/// item that is also excluded is not ranked. Errors: feature counts that
/// differ, an index outside `items`, a repeated candidate, per-user lists
/// of the wrong length.
pub fn rank_cosine(
    users: ArrayView2<f32>,
    items: ArrayView2<f32>,
    candidates: &[usize],
    exclude: &[Vec<usize>],
    relevant: &[Vec<usize>],
    k: usize,
) -> Result<Vec<Ranked>, String> {
    rank_blocked(
        users, items, candidates, exclude, relevant, k, USER_BLOCK, ITEM_BLOCK,
    )
}

/// The user's entry of a per-user list, or nothing for an empty list.
fn entry(lists: &[Vec<usize>], u: usize) -> &[usize] {
    lists.get(u).map_or(&[], |l| l.as_slice())
}

fn check_lists(
    lists: &[Vec<usize>],
    name: &str,
    n_users: usize,
    n_items: usize,
) -> Result<(), String> {
    if !lists.is_empty() && lists.len() != n_users {
        return Err(format!(
            "{name} has {} lists for {n_users} users (give one per user, or none)",
            lists.len()
        ));
    }
    match lists
        .iter()
        .enumerate()
        .find_map(|(u, l)| l.iter().find(|&&i| i >= n_items).map(|i| (u, i)))
    {
        Some((u, i)) => Err(format!(
            "{name}[{u}] names item {i}, but there are {n_items} items"
        )),
        None => Ok(()),
    }
}

/// Rows scaled to unit length in `f32`, the norm summed in `f64`; a row
/// with zero or non-finite norm becomes NaN, so its cosines are NaN.
fn unit_rows(x: ArrayView2<f32>, rows: &[usize]) -> Array2<f32> {
    let mut out = Array2::zeros((rows.len(), x.ncols()));
    for (mut dst, &r) in out.rows_mut().into_iter().zip(rows) {
        let src = x.row(r);
        let norm = src
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        let ok = norm > 0.0 && norm.is_finite();
        dst.zip_mut_with(&src, |d, &v| {
            *d = if ok {
                (f64::from(v) / norm) as f32
            } else {
                f32::NAN
            }
        });
    }
    out
}

/// Sort key of a score: NaN (no direction) as −∞, and −0 as +0 so that
/// `total_cmp` agrees with `==` on ties.
fn key(score: f32) -> f32 {
    if score.is_nan() {
        f32::NEG_INFINITY
    } else {
        score + 0.0
    }
}

/// `rank_cosine` with explicit block sizes (tests use small ones).
#[allow(clippy::too_many_arguments)]
fn rank_blocked(
    users: ArrayView2<f32>,
    items: ArrayView2<f32>,
    candidates: &[usize],
    exclude: &[Vec<usize>],
    relevant: &[Vec<usize>],
    k: usize,
    user_block: usize,
    item_block: usize,
) -> Result<Vec<Ranked>, String> {
    let (n_users, n_items) = (users.nrows(), items.nrows());
    if users.ncols() != items.ncols() {
        return Err(format!(
            "users have {} features but items have {}",
            users.ncols(),
            items.ncols()
        ));
    }
    check_lists(exclude, "exclude", n_users, n_items)?;
    check_lists(relevant, "relevant", n_users, n_items)?;
    if let Some(&i) = candidates.iter().find(|&&i| i >= n_items) {
        return Err(format!(
            "candidate {i} is not an item (there are {n_items})"
        ));
    }
    // Sorted candidates: a candidate's position orders ties like its index.
    let mut cands = candidates.to_vec();
    cands.sort_unstable();
    if let Some(w) = cands.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("candidate {} is listed twice", w[0]));
    }
    if cands.is_empty() {
        return Ok(vec![
            Ranked {
                top: Vec::new(),
                first_relevant_rank: None
            };
            n_users
        ]);
    }
    let mut position = vec![usize::MAX; n_items];
    for (p, &i) in cands.iter().enumerate() {
        position[i] = p;
    }
    let unit_users = unit_rows(users, &(0..n_users).collect::<Vec<_>>());
    let unit_items = unit_rows(items, &cands);
    let nc = cands.len();
    let (user_block, item_block) = (user_block.max(1), item_block.max(1));
    let blocks: Vec<(usize, usize)> = (0..n_users)
        .step_by(user_block)
        .map(|a| (a, (a + user_block).min(n_users)))
        .collect();
    let per_block: Vec<Vec<Ranked>> = blocks
        .into_par_iter()
        .map(|(a, b)| {
            let mut scores = vec![0f32; (b - a) * nc];
            let mut view = ArrayViewMut2::from_shape((b - a, nc), &mut scores[..])
                .map_err(|e| format!("score block: {e}"))?;
            let ub = unit_users.slice(s![a..b, ..]);
            for c in (0..nc).step_by(item_block) {
                let c_end = (c + item_block).min(nc);
                let ib = unit_items.slice(s![c..c_end, ..]);
                general_mat_mul(
                    1.0,
                    &ub,
                    &ib.t(),
                    0.0,
                    &mut view.slice_mut(s![.., c..c_end]),
                );
            }
            let mut order = Vec::with_capacity(nc);
            Ok(scores
                .chunks_mut(nc)
                .enumerate()
                .map(|(r, row)| {
                    let u = a + r;
                    rank_user(
                        row,
                        &cands,
                        &position,
                        entry(exclude, u),
                        entry(relevant, u),
                        k,
                        &mut order,
                    )
                })
                .collect())
        })
        .collect::<Result<_, String>>()?;
    Ok(per_block.into_iter().flatten().collect())
}

/// One user's list from their row of scores (one per candidate position).
/// Excluded positions are marked NaN, which no key is, and skipped.
fn rank_user(
    row: &mut [f32],
    cands: &[usize],
    position: &[usize],
    exclude: &[usize],
    relevant: &[usize],
    k: usize,
    order: &mut Vec<usize>,
) -> Ranked {
    row.iter_mut().for_each(|s| *s = key(*s));
    for &i in exclude {
        if let Some(s) = row.get_mut(position[i]) {
            *s = f32::NAN;
        }
    }
    let row = &*row;
    let before = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
    let best_relevant = relevant
        .iter()
        .map(|&i| position[i])
        .filter(|&p| row.get(p).is_some_and(|s| !s.is_nan()))
        .min_by(before);
    // Comparisons with NaN are false, so excluded positions never count.
    let first_relevant_rank = best_relevant.map(|b| {
        let sb = row[b];
        1 + row
            .iter()
            .enumerate()
            .filter(|&(p, &s)| s > sb || (s == sb && p < b))
            .count()
    });
    order.clear();
    order.extend((0..row.len()).filter(|&p| !row[p].is_nan()));
    if k == 0 {
        order.clear();
    } else if k < order.len() {
        order.select_nth_unstable_by(k - 1, before);
        order.truncate(k);
    }
    order.sort_unstable_by(before);
    Ranked {
        top: order.iter().map(|&p| cands[p]).collect(),
        first_relevant_rank,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::Rng as _;
    use repbench_framework::seed;

    fn random(n: usize, d: usize, rng: &mut seed::Rng) -> Array2<f32> {
        Array2::from_shape_fn((n, d), |_| rng.gen_range(-1.0f32..1.0))
    }

    /// Full sort of every non-excluded candidate by a plain `f64` cosine.
    fn naive(
        users: &Array2<f32>,
        items: &Array2<f32>,
        candidates: &[usize],
        exclude: &[Vec<usize>],
        relevant: &[Vec<usize>],
        k: usize,
    ) -> Vec<Ranked> {
        let cos = |u: usize, i: usize| {
            let (a, b) = (users.row(u), items.row(i));
            let dot: f64 = a
                .iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let c = dot / (na * nb);
            if c.is_nan() {
                f64::NEG_INFINITY
            } else {
                c
            }
        };
        (0..users.nrows())
            .map(|u| {
                let mut list: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|i| !entry(exclude, u).contains(i))
                    .collect();
                list.sort_by(|&a, &b| cos(u, b).total_cmp(&cos(u, a)).then(a.cmp(&b)));
                Ranked {
                    first_relevant_rank: list
                        .iter()
                        .position(|i| entry(relevant, u).contains(i))
                        .map(|p| p + 1),
                    top: list.into_iter().take(k).collect(),
                }
            })
            .collect()
    }

    #[test]
    fn equals_a_full_sort_with_exclusions_and_any_blocks() {
        let mut rng = seed::rng(11, &["rank-test"]);
        let (users, items) = (random(23, 6, &mut rng), random(41, 6, &mut rng));
        // Every other item is a candidate; listened and relevant items
        // include non-candidates, which must be ignored.
        let candidates: Vec<usize> = (0..41).rev().filter(|i| i % 5 != 2).collect();
        let mut exclude = Vec::new();
        let mut relevant = Vec::new();
        for _ in 0..23 {
            let mut all: Vec<usize> = (0..41).collect();
            all.shuffle(&mut rng);
            exclude.push(all[..rng.gen_range(0..8)].to_vec());
            relevant.push(all[8..8 + rng.gen_range(0..4)].to_vec());
        }
        for k in [0, 1, 3, 10, 33, 100] {
            let expected = naive(&users, &items, &candidates, &exclude, &relevant, k);
            for (ub, ib) in [(USER_BLOCK, ITEM_BLOCK), (4, 7), (1, 1)] {
                let got = rank_blocked(
                    users.view(),
                    items.view(),
                    &candidates,
                    &exclude,
                    &relevant,
                    k,
                    ub,
                    ib,
                )
                .unwrap();
                assert_eq!(got, expected, "k = {k}, blocks {ub} × {ib}");
            }
        }
        assert!(naive(&users, &items, &candidates, &exclude, &relevant, 5)
            .iter()
            .any(|r| r.first_relevant_rank.is_some_and(|r| r > 1)));
    }

    #[test]
    fn ties_go_to_the_lower_index_and_zero_rows_come_last() {
        let users = ndarray::array![[1.0f32, 0.0], [0.0, 0.0]];
        // Items 1, 3 and 4 point the same way (×2, ×0.5 are exact); item 2
        // is a zero row; item 0 is orthogonal.
        let items = ndarray::array![
            [0.0f32, 1.0],
            [1.0, 1.0],
            [0.0, 0.0],
            [2.0, 2.0],
            [0.5, 0.5]
        ];
        let all = [4, 3, 2, 1, 0];
        let got = rank_cosine(
            users.view(),
            items.view(),
            &all,
            &[],
            &[vec![3], vec![2]],
            5,
        )
        .unwrap();
        assert_eq!(got[0].top, vec![1, 3, 4, 0, 2]);
        // Item 3 ties with item 1, which comes first.
        assert_eq!(got[0].first_relevant_rank, Some(2));
        // The zero user has no direction: item order.
        assert_eq!(got[1].top, vec![0, 1, 2, 3, 4]);
        assert_eq!(got[1].first_relevant_rank, Some(3));
        // Excluding item 1 moves item 3 to the front.
        let got = rank_cosine(
            users.view(),
            items.view(),
            &all,
            &[vec![1], vec![]],
            &[vec![3], vec![1]],
            2,
        )
        .unwrap();
        assert_eq!(
            got[0],
            Ranked {
                top: vec![3, 4],
                first_relevant_rank: Some(1)
            }
        );
        assert_eq!(got[1].first_relevant_rank, Some(2));
    }

    #[test]
    fn same_lists_at_one_and_three_threads() {
        let mut rng = seed::rng(12, &["rank-threads"]);
        let (users, items) = (random(50, 5, &mut rng), random(30, 5, &mut rng));
        let candidates: Vec<usize> = (0..30).collect();
        let exclude: Vec<Vec<usize>> = (0..50).map(|u| vec![u % 30, (u * 7) % 30]).collect();
        let relevant: Vec<Vec<usize>> = (0..50).map(|u| vec![(u * 3 + 1) % 30]).collect();
        let run = |n: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            pool.install(|| {
                rank_blocked(
                    users.view(),
                    items.view(),
                    &candidates,
                    &exclude,
                    &relevant,
                    4,
                    3,
                    4,
                )
                .unwrap()
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn bad_inputs_are_errors_and_empty_inputs_are_empty() {
        let (users, items) = (Array2::<f32>::ones((2, 3)), Array2::<f32>::ones((4, 3)));
        let call = |c: &[usize], e: &[Vec<usize>], r: &[Vec<usize>]| {
            rank_cosine(users.view(), items.view(), c, e, r, 2)
        };
        assert!(call(&[0, 4], &[], &[]).unwrap_err().contains("candidate 4"));
        assert!(call(&[0, 1, 0], &[], &[]).unwrap_err().contains("twice"));
        assert!(call(&[0], &[vec![]], &[])
            .unwrap_err()
            .contains("exclude has 1"));
        assert!(call(&[0], &[], &[vec![], vec![9]])
            .unwrap_err()
            .contains("relevant[1]"));
        let narrow = Array2::<f32>::ones((4, 2));
        assert!(rank_cosine(users.view(), narrow.view(), &[0], &[], &[], 1).is_err());
        let none = call(&[], &[], &[]).unwrap();
        assert_eq!(
            none,
            vec![
                Ranked {
                    top: vec![],
                    first_relevant_rank: None
                };
                2
            ]
        );
        let no_users = Array2::<f32>::zeros((0, 3));
        assert!(
            rank_cosine(no_users.view(), items.view(), &[0, 1], &[], &[], 1)
                .unwrap()
                .is_empty()
        );
    }
}
