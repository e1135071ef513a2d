//! The "Shallow Net" of Tamm & Aljanaki (RecSys 2024) and its
//! collaborative variant.
//!
//! An item's vector is `z_i = ReLU(W x_i + b)`, a trained projection of its
//! frozen embedding `x_i` (content), or a free trained vector
//! (collaborative); each user has a trained vector `u`; the score is
//! `cos(u, z_i)`. Loss: for every training pair (u, i) and `negatives`
//! users u′ who did not interact with i, the max-margin hinge
//! `max(0, margin − cos(u, z_i) + cos(u′, z_i))`, summed over the
//! negatives and averaged over a minibatch's pairs, minimised with Adam
//! (Kingma & Ba, 2015). Early stopping reads a caller's validation score
//! after every epoch and returns the best epoch's vectors, not the last.
//!
//! Arithmetic is `f64`: the item embeddings arrive as `f64` (`rows`), the
//! validation closure reads `f64`, and the hand-written gradients are
//! checked against finite differences to 1e-7, which `f32` could not
//! resolve. The per-batch products (batch × features × dim) are small, so
//! training runs on one thread; only the all-items projection after each
//! epoch uses fixed parallel blocks (`probes::blocked`), which do not
//! depend on the thread count.

use super::hinge::{loss_and_grad, Params};
use crate::probes::blocked;
use ndarray::{Array1, Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::Rng as _;
use repbench_framework::seed;

/// What an item's vector is made from.
#[derive(Debug, Clone, Copy)]
pub enum ItemSide<'a> {
    /// Frozen item embeddings (items × features), standardised by the
    /// caller: `z_i = ReLU(W x_i + b)` with `W`, `b` trained.
    Content(ArrayView2<'a, f64>),
    /// A free trained vector per item, seeded at random.
    Collaborative {
        /// Number of items (rows of the returned item matrix).
        n_items: usize,
    },
}

impl ItemSide<'_> {
    fn n_items(&self) -> usize {
        match self {
            ItemSide::Content(x) => x.nrows(),
            ItemSide::Collaborative { n_items } => *n_items,
        }
    }
}

/// Options of the shallow model.
#[derive(Debug, Clone, PartialEq)]
pub struct ShallowParams {
    /// Size of the user and item vectors (the projection's outputs). 128.
    pub dim: usize,
    /// Negative users sampled per training pair. 20, as in the paper.
    pub negatives: usize,
    /// Hinge margin on the cosine difference. 0.2, the value in the
    /// authors' published training code (`dlt=0.2`); the paper does not
    /// print it.
    pub margin: f64,
    /// Adam step size. 1e-3 (PyTorch's default, which the authors use).
    pub learning_rate: f64,
    /// Epoch limit. 50.
    pub max_epochs: usize,
    /// Epochs without a better validation score before stopping. 5.
    pub patience: usize,
    /// Training pairs per minibatch. 256: on the example config's ≈ 4 000
    /// training pairs, 1 024 left about 4 Adam steps per epoch and early
    /// stopping ended training before the projection had learnt (logmel
    /// nDCG@10 0.128 at 1 024 against 0.153 at 256).
    pub batch: usize,
}

impl Default for ShallowParams {
    fn default() -> Self {
        ShallowParams {
            dim: 128,
            negatives: 20,
            margin: 0.2,
            learning_rate: 1e-3,
            max_epochs: 50,
            patience: 5,
            batch: 256,
        }
    }
}

impl ShallowParams {
    /// What is out of range, if anything.
    pub fn check(&self) -> Result<(), String> {
        let bad = [
            (self.dim == 0, "dim must be at least 1"),
            (self.negatives == 0, "negatives must be at least 1"),
            (
                !self.margin.is_finite() || self.margin < 0.0,
                "margin must be a finite number ≥ 0",
            ),
            (
                !(self.learning_rate.is_finite() && self.learning_rate > 0.0),
                "learning_rate must be a finite number > 0",
            ),
            (self.patience == 0, "patience must be at least 1"),
            (self.batch == 0, "batch must be at least 1"),
        ];
        match bad.iter().find(|(is_bad, _)| *is_bad) {
            Some((_, why)) => Err(format!("{why} (got {self:?})")),
            None => Ok(()),
        }
    }
}

/// A trained model: the best validation epoch's vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// User vectors (users × dim); score items by cosine with these.
    pub users: Array2<f64>,
    /// Item vectors (items × dim) for every item: items without training
    /// pairs get their content projection, or keep their random start.
    pub items: Array2<f64>,
    /// Epochs run (early stopping may end before `max_epochs`).
    pub epochs: usize,
    /// Epoch whose vectors these are; 0 when no epoch beat the start.
    pub best_epoch: usize,
    /// Validation score of `best_epoch`.
    pub best_score: f64,
    /// Validation score after each epoch, `[0]` before training.
    pub scores: Vec<f64>,
    /// Mean hinge loss per training pair in each epoch.
    pub losses: Vec<f64>,
}

/// The `r`-th (0-based) user not in `taken` (sorted, distinct): one draw
/// per negative, no rejection loop. `taken[j] − j` users outside `taken`
/// lie below `taken[j]`, a non-decreasing count, so the answer is `r` plus
/// the number of `j` with `taken[j] − j ≤ r`.
fn nth_absent(taken: &[usize], r: usize) -> usize {
    let (mut lo, mut hi) = (0, taken.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if taken[mid] - mid <= r {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    r + lo
}

/// Seeded `U(−bound, bound)` matrix.
fn uniform(rows: usize, cols: usize, bound: f64, rng: &mut seed::Rng) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-bound..=bound))
}

/// Every item's vector under `p`.
fn all_items(p: &Params, side: &ItemSide) -> Array2<f64> {
    match side {
        ItemSide::Content(x) => {
            let mut z = blocked::dot((*x).into(), p.w.view()) + &p.b;
            z.mapv_inplace(|v| v.max(0.0));
            z
        }
        ItemSide::Collaborative { .. } => p.free.clone(),
    }
}

/// Starting parameters: `W`, `b` as PyTorch's `nn.Linear`
/// (`U(±1/√features)`), free item vectors `U(±√(3/dim))` (unit expected
/// norm), each user the mean of their items' starting vectors, or a
/// random vector when that mean has no direction (no items, or all
/// items' vectors zero), so no user starts where the cosine is undefined.
fn initial(
    side: &ItemSide,
    n_users: usize,
    items_of: &[Vec<usize>],
    dim: usize,
    seed_value: u64,
) -> Params {
    let mut rng = seed::rng(seed_value, &["shallow", "init"]);
    let free_bound = (3.0 / dim as f64).sqrt();
    let mut p = match side {
        ItemSide::Content(x) => {
            let bound = 1.0 / (x.ncols() as f64).sqrt();
            let w = uniform(x.ncols(), dim, bound, &mut rng);
            let b = Array1::from_shape_fn(dim, |_| rng.gen_range(-bound..=bound));
            Params {
                users: Array2::zeros((n_users, dim)),
                w,
                b,
                free: Array2::zeros((0, dim)),
            }
        }
        ItemSide::Collaborative { n_items } => Params {
            users: Array2::zeros((n_users, dim)),
            w: Array2::zeros((0, dim)),
            b: Array1::zeros(dim),
            free: uniform(*n_items, dim, free_bound, &mut rng),
        },
    };
    let z = all_items(&p, side);
    for (u, items) in items_of.iter().enumerate() {
        let mut row = p.users.row_mut(u);
        for &i in items {
            row += &z.row(i);
        }
        if row.dot(&row) > 0.0 {
            row /= items.len() as f64;
        } else {
            let mut r = seed::rng(seed_value, &["shallow", "user", &u.to_string()]);
            row.mapv_inplace(|_| r.gen_range(-free_bound..=free_bound));
        }
    }
    p
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One Adam step on every parameter (dense, as PyTorch's Adam on
/// embedding tables with dense gradients: rows outside the batch still
/// move with their momentum).
fn adam(p: &mut Params, g: &Params, m: &mut Params, v: &mut Params, lr: f64, t: i32) {
    let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
    let step = |p: &mut f64, g: f64, m: &mut f64, v: &mut f64| {
        *m = BETA1 * *m + (1.0 - BETA1) * g;
        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
        *p -= lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
    };
    for (p, g, m, v) in [
        (&mut p.users, &g.users, &mut m.users, &mut v.users),
        (&mut p.w, &g.w, &mut m.w, &mut v.w),
        (&mut p.free, &g.free, &mut m.free, &mut v.free),
    ] {
        ndarray::Zip::from(p)
            .and(g)
            .and(m)
            .and(v)
            .for_each(|p, &g, m, v| step(p, g, m, v));
    }
    ndarray::Zip::from(&mut p.b)
        .and(&g.b)
        .and(&mut m.b)
        .and(&mut v.b)
        .for_each(|p, &g, m, v| step(p, g, m, v));
}

/// Trains the model on `train_pairs` (user, item) and returns the vectors
/// of the epoch with the best `validate(users, items)` score (higher is
/// better; NaN never counts as better), after at most `max_epochs` and
/// stopping after `patience` epochs without improvement.
///
/// Repeated pairs count once. Negative users for a pair are drawn
/// uniformly from the users with no pair with its item (with replacement,
/// one stream per epoch from `rng_seed`); a pair whose item every user
/// has is left out, having no negative. The same seed gives the same
/// result at any thread count if `validate` is deterministic.
pub fn train(
    side: ItemSide,
    n_users: usize,
    train_pairs: &[(usize, usize)],
    params: &ShallowParams,
    rng_seed: u64,
    mut validate: impl FnMut(ArrayView2<f64>, ArrayView2<f64>) -> f64,
) -> Result<Trained, String> {
    params.check()?;
    let n_items = side.n_items();
    if n_users == 0 || n_items == 0 {
        return Err(format!(
            "need users and items (got {n_users} users, {n_items} items)"
        ));
    }
    if let ItemSide::Content(x) = side {
        if x.ncols() == 0 || x.iter().any(|v| !v.is_finite()) {
            return Err("item embeddings must have features, all finite".into());
        }
    }
    if let Some(&(u, i)) = train_pairs
        .iter()
        .find(|&&(u, i)| u >= n_users || i >= n_items)
    {
        return Err(format!(
            "pair ({u}, {i}) is outside {n_users} users × {n_items} items"
        ));
    }
    let mut pairs = train_pairs.to_vec();
    pairs.sort_unstable();
    pairs.dedup();
    let mut items_of = vec![Vec::new(); n_users];
    let mut users_of = vec![Vec::new(); n_items];
    for &(u, i) in &pairs {
        items_of[u].push(i);
        users_of[i].push(u);
    }
    // `pairs` is sorted by user, so every `users_of` list is sorted.
    pairs.retain(|&(_, i)| users_of[i].len() < n_users);
    if pairs.is_empty() {
        return Err(
            "no training pair has a negative user (an item nobody lacks, or no pairs)".into(),
        );
    }
    let mut p = initial(&side, n_users, &items_of, params.dim, rng_seed);
    let (mut m, mut v, mut g) = (p.zeros_like(), p.zeros_like(), p.zeros_like());
    let first = (p.users.clone(), all_items(&p, &side));
    let start_score = validate(first.0.view(), first.1.view());
    let mut best = (first, 0, start_score);
    let (mut scores, mut losses) = (vec![start_score], Vec::new());
    let mut negs = Vec::new();
    let (mut step, mut since_best) = (0, 0);
    for epoch in 1..=params.max_epochs {
        let mut rng = seed::rng(rng_seed, &["shallow", "epoch", &epoch.to_string()]);
        let mut order = pairs.clone();
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for batch in order.chunks(params.batch) {
            negs.clear();
            for &(_, i) in batch {
                let taken = &users_of[i];
                for _ in 0..params.negatives {
                    negs.push(nth_absent(taken, rng.gen_range(0..n_users - taken.len())));
                }
            }
            g.fill(0.0);
            total +=
                loss_and_grad(&p, &side, batch, &negs, params.margin, &mut g) * batch.len() as f64;
            step += 1;
            adam(&mut p, &g, &mut m, &mut v, params.learning_rate, step);
        }
        losses.push(total / pairs.len() as f64);
        let now = (p.users.clone(), all_items(&p, &side));
        let score = validate(now.0.view(), now.1.view());
        scores.push(score);
        if score > best.2 || (best.2.is_nan() && !score.is_nan()) {
            best = (now, epoch, score);
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= params.patience {
                break;
            }
        }
    }
    let ((users, items), best_epoch, best_score) = best;
    Ok(Trained {
        users,
        items,
        epochs: losses.len(),
        best_epoch,
        best_score,
        scores,
        losses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recommendation::ndcg_at_k;
    use crate::recommendation::rank::rank_cosine;
    use std::collections::BTreeSet;

    #[test]
    fn nth_absent_counts_past_the_taken_users() {
        let taken = [1, 3, 4, 8];
        let absent: Vec<usize> = (0..6).map(|r| nth_absent(&taken, r)).collect();
        assert_eq!(absent, vec![0, 2, 5, 6, 7, 9]);
        assert_eq!(nth_absent(&[], 3), 3);
    }

    /// Users prefer one of two clusters; the cluster is one feature among
    /// eight, the rest noise, so the starting projection ranks poorly.
    struct Problem {
        x: Array2<f64>,
        train: Vec<(usize, usize)>,
        listened: Vec<Vec<usize>>,
        held_out: Vec<Vec<usize>>,
    }

    fn problem() -> Problem {
        let (n_users, n_items) = (40, 60);
        let mut rng = seed::rng(5, &["shallow-problem"]);
        let x = Array2::from_shape_fn((n_items, 8), |(i, f)| {
            let noise = rng.gen_range(-1.7..1.7);
            if f == 0 {
                if i % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            } else {
                noise
            }
        });
        let (mut train, mut listened, mut held_out) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..n_users {
            let mut liked: Vec<usize> = (0..n_items).filter(|i| i % 2 == u % 2).collect();
            liked.shuffle(&mut rng);
            train.extend(liked[..6].iter().map(|&i| (u, i)));
            listened.push(liked[..6].to_vec());
            held_out.push(liked[6..].to_vec());
        }
        Problem {
            x,
            train,
            listened,
            held_out,
        }
    }

    /// Mean nDCG@10 of the held-out items, listened items excluded.
    fn validation(pr: &Problem) -> impl FnMut(ArrayView2<f64>, ArrayView2<f64>) -> f64 + '_ {
        move |users, items| {
            let all: Vec<usize> = (0..items.nrows()).collect();
            let (u32s, i32s) = (users.mapv(|v| v as f32), items.mapv(|v| v as f32));
            let ranked = rank_cosine(
                u32s.view(),
                i32s.view(),
                &all,
                &pr.listened,
                &pr.held_out,
                10,
            )
            .unwrap();
            let sum: f64 = ranked
                .iter()
                .zip(&pr.held_out)
                .map(|(r, rel)| {
                    ndcg_at_k(&r.top, &rel.iter().copied().collect::<BTreeSet<_>>(), 10)
                })
                .sum();
            sum / ranked.len() as f64
        }
    }

    fn small() -> ShallowParams {
        ShallowParams {
            dim: 16,
            negatives: 5,
            learning_rate: 1e-2,
            max_epochs: 40,
            patience: 8,
            batch: 32,
            ..Default::default()
        }
    }

    #[test]
    fn training_beats_the_starting_vectors_and_keeps_the_best_epoch() {
        let pr = problem();
        // Content finds the one informative feature; free vectors learn
        // the clusters from co-listening alone (six items per user) and
        // overfit sooner, so only the gain is required of them.
        for (name, side, floor) in [
            ("content", ItemSide::Content(pr.x.view()), 0.9),
            (
                "collaborative",
                ItemSide::Collaborative { n_items: 60 },
                0.0,
            ),
        ] {
            let t = train(side, 40, &pr.train, &small(), 3, validation(&pr)).unwrap();
            assert!(
                t.best_score > t.scores[0] + 0.15 && t.best_score > floor,
                "{name}: {:?}",
                t.scores
            );
            assert_eq!(t.scores[t.best_epoch], t.best_score);
            assert!(t.scores.iter().all(|&s| s <= t.best_score));
            assert_eq!(t.scores.len(), t.epochs + 1);
            assert!(t.losses.last() < t.losses.first(), "{:?}", t.losses);
            assert_eq!((t.users.dim(), t.items.dim()), ((40, 16), (60, 16)));
            // The returned vectors are the best epoch's, not the last's.
            assert_eq!(
                validation(&pr)(t.users.view(), t.items.view()),
                t.best_score
            );
        }
    }

    #[test]
    fn same_seed_same_model_at_one_and_three_threads() {
        let pr = problem();
        let run = |n: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            let params = ShallowParams {
                max_epochs: 4,
                ..small()
            };
            pool.install(|| {
                train(
                    ItemSide::Content(pr.x.view()),
                    40,
                    &pr.train,
                    &params,
                    9,
                    validation(&pr),
                )
                .unwrap()
            })
        };
        let one = run(1);
        assert_eq!(one, run(3));
        let other_seed = train(
            ItemSide::Content(pr.x.view()),
            40,
            &pr.train,
            &ShallowParams {
                max_epochs: 4,
                ..small()
            },
            10,
            validation(&pr),
        )
        .unwrap();
        assert_ne!(one.items, other_seed.items);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = Array2::<f64>::ones((3, 2));
        let ok = |_: ArrayView2<f64>, _: ArrayView2<f64>| 0.0;
        let p = ShallowParams::default();
        assert!(train(ItemSide::Content(x.view()), 2, &[], &p, 0, ok)
            .unwrap_err()
            .contains("no training pair"));
        assert!(train(ItemSide::Content(x.view()), 2, &[(2, 0)], &p, 0, ok)
            .unwrap_err()
            .contains("(2, 0)"));
        assert!(train(ItemSide::Content(x.view()), 0, &[], &p, 0, ok).is_err());
        // Both users have item 0: it has no negative user.
        assert!(train(ItemSide::Content(x.view()), 2, &[(0, 0), (1, 0)], &p, 0, ok).is_err());
        let zero_dim = ShallowParams {
            dim: 0,
            ..Default::default()
        };
        assert!(train(
            ItemSide::Collaborative { n_items: 3 },
            2,
            &[(0, 0)],
            &zero_dim,
            0,
            ok
        )
        .unwrap_err()
        .contains("dim"));
        let mut nan = x.clone();
        nan[[1, 1]] = f64::NAN;
        assert!(
            train(ItemSide::Content(nan.view()), 2, &[(0, 0)], &p, 0, ok)
                .unwrap_err()
                .contains("finite")
        );
    }

    #[test]
    fn max_epochs_zero_returns_the_start() {
        let x = Array2::from_shape_fn((4, 3), |(i, f)| (i * 3 + f) as f64 - 5.0);
        let p = ShallowParams {
            max_epochs: 0,
            dim: 4,
            ..Default::default()
        };
        let t = train(
            ItemSide::Content(x.view()),
            3,
            &[(0, 1), (1, 2)],
            &p,
            1,
            |_, _| 0.5,
        )
        .unwrap();
        assert_eq!((t.epochs, t.best_epoch, t.best_score), (0, 0, 0.5));
        // User 0 starts at its one item's vector.
        assert_eq!(t.users.row(0), t.items.row(1));
    }
}
