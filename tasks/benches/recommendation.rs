//! The kNN recommender's scoring at the scale: 10 000 users ×
//! 50 000 items × 768 dimensions, top 100 per user with 20 listened items
//! excluded, timed against the 30 s budget (#17) on this machine's cores.
//! Prints the time, the budget and their ratio.
//!
//! `cargo bench -p repbench-tasks --bench recommendation`

use ndarray::Array2;
use rand::Rng as _;
use repbench_framework::seed;
use repbench_tasks::recommendation::rank::rank_cosine;
use std::time::Instant;

const BUDGET_S: f64 = 30.0;

fn main() {
    let (n_users, n_items, d, k) = (10_000, 50_000, 768, 100);
    let mut rng = seed::rng(13, &["bench", "recommendation"]);
    let mut random =
        |rows: usize| Array2::from_shape_fn((rows, d), |_| rng.gen_range(-1.0f32..1.0));
    let (users, items) = (random(n_users), random(n_items));
    let mut rng = seed::rng(14, &["bench", "recommendation", "lists"]);
    let candidates: Vec<usize> = (0..n_items).collect();
    let exclude: Vec<Vec<usize>> = (0..n_users)
        .map(|_| (0..20).map(|_| rng.gen_range(0..n_items)).collect())
        .collect();
    let relevant: Vec<Vec<usize>> = (0..n_users)
        .map(|_| (0..5).map(|_| rng.gen_range(0..n_items)).collect())
        .collect();
    let start = Instant::now();
    let ranked = rank_cosine(
        users.view(),
        items.view(),
        &candidates,
        &exclude,
        &relevant,
        k,
    )
    .expect("valid inputs");
    let seconds = start.elapsed().as_secs_f64();
    assert!(ranked.iter().all(|r| r.top.len() == k));
    println!(
        "knn scoring, {n_users} users × {n_items} items × {d} dims, top {k}, {} threads",
        rayon::current_num_threads()
    );
    println!(
        "repbench {seconds:.2} s   budget {BUDGET_S:.0} s   budget / repbench {:.2}×",
        BUDGET_S / seconds
    );
}
