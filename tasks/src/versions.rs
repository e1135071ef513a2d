//! Implementation versions of every evaluator, probe and metric family.
//!
//! Each is part of the cache key of every result it computes (through
//! [`repbench_framework::evaluator::Evaluator::implementation`]) and is
//! stamped on each record. Bump a version in the same commit that changes
//! what its code computes, so cached results made by the old code are
//! recomputed, and only those.

/// The probe evaluator: splits, standardisation, bootstrap, drops, nAUC.
/// 2: near-constant features dropped by the standardiser, undefined
/// resamples counted, per-probe validation scores.
pub const PROBE_EVALUATOR: u32 = 2;
/// Label-efficiency curves of probe tasks (`label_fractions`): subsets,
/// their fits and the normalised area under the curve. 2: a fraction no
/// probe setting fits is an undefined point, not a failed task.
pub const LABEL_CURVE: u32 = 2;
/// The recommendation evaluator: temporal split, kNN / shallow /
/// collaborative recommenders, per-user bootstrap. 2: minibatches of 256
/// training pairs, not 1 024. 3: collaborative filtering left out of the
/// comparisons between encoders.
pub const RECOMMENDATION_EVALUATOR: u32 = 3;
/// HitRate@K, Recall@K, nDCG@K and MRR (`metrics::recommendation`).
pub const METRICS_RECOMMENDATION: u32 = 1;
/// The retrieval evaluator. 2: train-mean centring before cosine.
pub const RETRIEVAL_EVALUATOR: u32 = 2;
/// The axis-based disentanglement evaluator. 2: undefined resamples
/// counted. 3: nothing measured per perturbation severity. 4: per-factor
/// MIG, SAP and DCI completeness; `codes = "pca"`. 5: DCI fitted on train
/// items with its informativeness on test items. 6: DCI's importance
/// matrix (top codes, with intervals) kept with the evaluation.
pub const DISENTANGLEMENT_EVALUATOR: u32 = 6;
/// Logistic probe. 2: scikit-learn's `tol`, binary models for two classes
/// and tags, strong-Wolfe line search, grid extension at an edge. 3: the
/// products with the data over row blocks in parallel (rounding-level
/// changes above 8192 train items).
pub const LOGISTIC: u32 = 3;
/// Ridge probe. 2: grid extension at an edge. 3: the Gram matrix from its
/// lower block triangle (rounding-level changes). 4: each λ solved by a
/// Cholesky factorisation instead of one eigendecomposition for all
/// (rounding-level changes).
pub const RIDGE: u32 = 4;
/// Cosine kNN probe.
pub const KNN: u32 = 1;
/// MLP probe.
pub const MLP: u32 = 1;
/// Accuracy, balanced accuracy, macro-F1, MIREX key score. 2: a fixed
/// class set across resamples, NaN where undefined.
pub const METRICS_CLASSIFICATION: u32 = 2;
/// ROC-AUC and average precision over tags.
pub const METRICS_MULTILABEL: u32 = 1;
/// R², Pearson r, RMSE, MAE. 2: NaN where undefined.
pub const METRICS_REGRESSION: u32 = 2;
/// mAP, precision@k, nDCG@k.
pub const METRICS_RETRIEVAL: u32 = 1;
/// MIG, SAP, DCI. 2: DCI's Lasso by coordinate descent on the Gram
/// matrix (same optimum to scikit-learn's tolerance, 13× faster).
/// 3: completeness in base "codes used"; train/test DCI. 4: the Lasso's
/// active passes on the active block of the Gram matrix, MIG from a table
/// of logarithms, resamples as weighted distinct items (values equal up to
/// rounding).
pub const METRICS_DISENTANGLEMENT: u32 = 4;
/// Cross-transform disentanglement (a factor's probe under another
/// factor's transform).
pub const CROSS_TRANSFORM: u32 = 1;
/// The intrinsic-geometry evaluator.
pub const GEOMETRY_EVALUATOR: u32 = 1;
/// The similarity matrix (linear CKA between encoder × layer units).
pub const SIMILARITY: u32 = 1;
/// RankMe and α-ReQ.
pub const METRICS_GEOMETRY: u32 = 1;
/// The invariance evaluator.
pub const INVARIANCE_EVALUATOR: u32 = 1;
/// The equivariance evaluator (feature maps and θ probes). 2: the default
/// MLP θ probe has 64 hidden units (was 128).
pub const EQUIVARIANCE_EVALUATOR: u32 = 2;
/// Invariance, self-retrieval, variance-weighted R², row cosines.
pub const METRICS_PROPERTIES: u32 = 1;
/// Embedding drift. 2: a zero vector has no direction (NaN). 3: an
/// evaluator (cached), train-split standardisation, `relative_shift`.
pub const DRIFT: u32 = 3;
/// Embedding maps: PCA and exact t-SNE of a seeded sample of test items,
/// standardised on train, with trustworthiness.
pub const MAPS: u32 = 1;
