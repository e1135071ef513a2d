//! The recommendation task, after Tamm &
//! Aljanaki, "Comparative Analysis of Pretrained Audio Representations in
//! Music Recommender Systems" (RecSys 2024): frozen item embeddings are
//! judged by how well users' listening can be predicted from them.
//!
//! * [`rank`] — each user's top-K items by cosine similarity, in blocks
//!   (the kNN recommender, and the ranking step of every model).
//! * [`shallow`] — the "Shallow Net": user vectors and a one-layer ReLU
//!   projection of the item embeddings trained with a max-margin hinge
//!   loss, and its collaborative variant with free item vectors.
//!
//! * [`split`] — the interaction log and its temporal split.
//! * [`synthetic`] — seeded listening logs over labelled items.
//! * [`evaluator`] — the task's evaluator over all of the above.
//!
//! The per-user metrics are in [`crate::metrics::recommendation`].
//! Only the evaluator sees embeddings as the runner gives them; the rest
//! takes matrices and index lists and gives lists and matrices back.

pub mod evaluator;
mod hinge;
pub mod rank;
pub mod shallow;
pub mod split;
pub mod synthetic;

pub use evaluator::{RecModel, RecommendationEvaluator};
