//! repbench tasks: turn cached embeddings into measured values with
//! confidence intervals.
//!
//! * [`metrics`] — one pure function per metric, checked against
//!   scikit-learn or the cited formula.
//! * [`bootstrap`] — seeded percentile-bootstrap intervals and paired tests.
//! * [`probes`] — logistic, ridge, MLP and kNN probes with validation-selected
//!   hyper-parameters; [`targets`], [`standardize`], [`suite`] support them.
//! * [`informativeness::ProbeEvaluator`] (multiclass, multilabel, regression),
//!   [`retrieval::RetrievalEvaluator`],
//!   [`disentanglement::DisentanglementEvaluator`] and
//!   [`geometry::GeometryEvaluator`] — the evaluators.
//!
//! A task is one `[[tasks]]` entry ([`TaskSpec`]); [`build_evaluator`]
//! turns it into a [`repbench_framework::evaluator::Evaluator`].
//!
//! ```
//! use repbench_tasks::metrics::{accuracy, f1_macro};
//! assert_eq!(accuracy(&[0, 1, 1], &[0, 1, 0]), 2.0 / 3.0);
//! assert!((f1_macro(&[0, 1, 1], &[0, 1, 0], &[0, 1]) - 2.0 / 3.0).abs() < 1e-12);
//! ```

pub use repbench_framework::bootstrap;
pub mod cross_transform;
pub mod disentanglement;
pub mod drift;
pub mod exported;
pub mod geometry;
pub mod informativeness;
pub mod label_subsets;
pub mod maps;
pub mod metrics;
pub mod probes;
pub mod properties;
pub mod recommendation;
pub mod retrieval;
pub mod rows;
pub mod similarity;
pub mod standardize;
pub mod suite;
pub mod targets;
pub mod versions;

use probes::ProbeSpec;
use repbench_framework::evaluator::Evaluator;
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};
use targets::TargetKind;

/// What kind of target a task reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// One class per item.
    #[default]
    Multiclass,
    /// Any number of tags per item (separated by `tag_separator`).
    Multilabel,
    /// A number per item.
    Regression,
    /// Query-by-example: items of the same class are relevant.
    Retrieval,
    /// Whether `factors` live in separate dimensions (MIG, SAP, DCI).
    Disentanglement,
    /// How many dimensions the embeddings use (RankMe, α-ReQ); no labels.
    Geometry,
    /// Whether `transform` leaves embeddings where they were.
    Invariance,
    /// Whether `transform` moves embeddings predictably (maps, θ probes).
    Equivariance,
    /// How well users' later listening is predicted from the item
    /// embeddings and an `interactions` log.
    Recommendation,
}

impl TaskType {
    /// True for the property tasks that read a transform's views.
    pub fn reads_transform(self) -> bool {
        matches!(self, TaskType::Invariance | TaskType::Equivariance)
    }
}

fn d_bootstrap() -> usize {
    1000
}
fn d_seeds() -> Vec<u64> {
    vec![0]
}
fn d_separator() -> String {
    ";".into()
}

/// A task as written in the config (`[[tasks]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Name used in results.
    pub name: String,
    /// Name of the dataset it reads.
    pub dataset: String,
    /// Label or factor to predict (every type but disentanglement).
    #[serde(default)]
    pub target: String,
    /// Factors whose separation a disentanglement task measures (at least
    /// two labels of the dataset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub factors: Vec<String>,
    /// Target type.
    #[serde(rename = "type", default)]
    pub task_type: TaskType,
    /// Probes to train; default `logistic` for classification, `ridge` for
    /// regression, none for retrieval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Vec<ProbeSpec>>,
    /// Bootstrap resamples for the confidence intervals (0 disables them and
    /// the paired comparisons).
    #[serde(default = "d_bootstrap")]
    pub bootstrap: usize,
    /// Probe-training seeds: stochastic probes (MLP) are trained once per
    /// seed and reported per seed and as mean ± sd.
    #[serde(default = "d_seeds")]
    pub seeds: Vec<u64>,
    /// Separator of tags in a multilabel target.
    #[serde(default = "d_separator")]
    pub tag_separator: String,
    /// Cut-offs for retrieval precision@k and nDCG@k (default `[1, 10]`)
    /// and recommendation HitRate@K, Recall@K and nDCG@K (default `[50]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks: Option<Vec<usize>>,
    /// The transform a property task (`invariance`, `equivariance`) applies:
    /// a perturbation kind with θ as `range` or `grid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<repbench_framework::perturb::TransformSpec>,
    /// Transforms a disentanglement task applies to test items to see
    /// whether each factor's probe survives them (cross-transform
    /// disentanglement, [`cross_transform`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<cross_transform::CrossTransform>,
    /// What a disentanglement task scores: the embedding's own dimensions
    /// (`raw`) or its principal components fitted on train items (`pca`).
    #[serde(default, skip_serializing_if = "is_default_codes")]
    pub codes: disentanglement::Codes,
    /// Principal components kept with `codes = "pca"` (default 10 per factor,
    /// at most the dimensions and the train items − 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pca_components: Option<usize>,
    /// How a property task normalises embeddings (`standardize` or
    /// `unit_norm`).
    #[serde(default, skip_serializing_if = "is_default_normalization")]
    pub normalization: properties::Normalization,
    /// Label-efficiency curve of a probe task: fractions of the training
    /// split (ascending, in (0, 1]) each probe is also trained on, as
    /// nested, stratified, seeded subsets; validation and test unchanged.
    /// Fraction 1 is the task's own result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_fractions: Vec<f64>,
    /// Subsets drawn per label fraction (default 3): the curve's value is
    /// the mean over draws, its spread across draws `seed_sd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_draws: Option<usize>,
    /// A recommendation task's interaction log (CSV or Parquet with
    /// `user_id`, `item_id`, `timestamp`), relative to the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactions: Option<std::path::PathBuf>,
    /// A recommendation task's cut-off: interactions before it train,
    /// later ones evaluate (a date, date-time or Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<String>,
    /// Recommenders a recommendation task trains (default all three).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<recommendation::RecModel>,
    /// Evaluate only items never heard before the cut-off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cold_start: bool,
}

fn is_default_codes(c: &disentanglement::Codes) -> bool {
    *c == disentanglement::Codes::default()
}

fn is_default_normalization(n: &properties::Normalization) -> bool {
    *n == properties::Normalization::default()
}

/// The θ probes an equivariance task trains unless it lists its own:
/// ridge (linear) and a one-hidden-layer MLP of 64 units, because a move
/// along the feature axis (a pitch activation shifting by θ bins) makes θ
/// a non-linear function of the pair. 64 units, not 128: on the
/// 5 000 × 768 bench the pair probe's R² is 0.993 against 0.994 at less
/// than half the time (3.1 s against 7.5 s; `bench/README.md`).
fn equivariance_probes() -> Vec<ProbeSpec> {
    let mlp = probes::mlp::MlpParams {
        learning_rates: vec![3.2e-3],
        hidden_layers: vec![1],
        hidden_units: 64,
        max_epochs: 50,
        patience: 10,
        ..Default::default()
    };
    vec![ProbeSpec::Ridge(Default::default()), ProbeSpec::Mlp(mlp)]
}

impl TaskSpec {
    /// The probes this task trains, defaults filled in.
    pub fn probe_list(&self) -> Vec<ProbeSpec> {
        match (&self.probes, self.task_type) {
            (Some(p), _) => p.clone(),
            (None, TaskType::Regression) => vec![ProbeSpec::Ridge(Default::default())],
            (None, TaskType::Equivariance) => equivariance_probes(),
            (
                None,
                TaskType::Retrieval
                | TaskType::Disentanglement
                | TaskType::Geometry
                | TaskType::Invariance
                | TaskType::Recommendation,
            ) => Vec::new(),
            (None, _) => vec![ProbeSpec::Logistic(Default::default())],
        }
    }

    /// The `type` as written in configs.
    pub fn type_name(&self) -> String {
        serde_json::to_value(self.task_type)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Every transform the task applies, with its key in the config
    /// (`transform` or `transforms[j]`).
    pub fn transform_specs(&self) -> Vec<(String, &repbench_framework::perturb::TransformSpec)> {
        self.transform
            .iter()
            .map(|t| ("transform".to_string(), t))
            .chain(
                self.transforms
                    .iter()
                    .enumerate()
                    .map(|(j, c)| (format!("transforms[{j}]"), &c.transform)),
            )
            .collect()
    }

    /// [`TaskSpec::transform_specs`], mutable (to resolve paths).
    pub fn transform_specs_mut(
        &mut self,
    ) -> impl Iterator<Item = &mut repbench_framework::perturb::TransformSpec> {
        self.transform
            .iter_mut()
            .chain(self.transforms.iter_mut().map(|c| &mut c.transform))
    }

    /// What is wrong with `transforms`, if anything.
    fn transforms_problem(&self) -> Option<String> {
        if self.transforms.is_empty() {
            return None;
        }
        if self.task_type != TaskType::Disentanglement {
            return Some(
                "only disentanglement tasks take `transforms` (invariance and equivariance take one `transform`); remove it"
                    .into(),
            );
        }
        let mut kinds: Vec<&str> = self.transforms.iter().map(|c| c.transform.kind()).collect();
        kinds.sort_unstable();
        if let Some(w) = kinds.windows(2).find(|w| w[0] == w[1]) {
            return Some(format!(
                "kind \"{}\" is listed twice: results name transforms by kind, so list each kind once",
                w[0]
            ));
        }
        self.transforms.iter().enumerate().find_map(|(j, c)| {
            c.alters
                .iter()
                .find(|a| !self.factors.contains(a))
                .map(|a| {
                    format!(
                        "transforms[{j}].alters names \"{a}\", which is not one of the task's factors {:?}",
                        self.factors
                    )
                })
        })
    }

    /// The cut-offs `k` of retrieval or recommendation metrics.
    pub fn k_list(&self) -> Vec<usize> {
        match (&self.ks, self.task_type) {
            (Some(ks), _) => ks.clone(),
            (None, TaskType::Recommendation) => vec![50],
            (None, _) => vec![1, 10],
        }
    }

    /// The recommenders a recommendation task trains, defaults filled in.
    pub fn model_list(&self) -> Vec<recommendation::RecModel> {
        if self.models.is_empty() {
            recommendation::RecModel::ALL.to_vec()
        } else {
            self.models.clone()
        }
    }

    /// What is wrong with the recommendation keys, if anything: the key
    /// and why.
    fn recommendation_problem(&self) -> Option<(&'static str, String)> {
        if self.task_type != TaskType::Recommendation {
            let given = [
                ("interactions", self.interactions.is_some()),
                ("cutoff", self.cutoff.is_some()),
                ("models", !self.models.is_empty()),
                ("cold_start", self.cold_start),
            ];
            return given.into_iter().find(|g| g.1).map(|(key, _)| {
                (
                    key,
                    "only type = \"recommendation\" takes interactions, cutoff, models and cold_start; remove it".into(),
                )
            });
        }
        if self.interactions.is_none() {
            return Some((
                "interactions",
                "missing: the interaction log, e.g. interactions = \"data/listens.csv\" (columns user_id, item_id, timestamp)".into(),
            ));
        }
        match &self.cutoff {
            None => Some((
                "cutoff",
                "missing: the date that splits train from evaluation, e.g. cutoff = \"2020-06-01\""
                    .into(),
            )),
            Some(c) if recommendation::split::parse_time(c).is_none() => Some((
                "cutoff",
                format!(
                    "\"{c}\" is not a date: write 2020-06-01, 2020-06-01T12:00:00Z or Unix seconds"
                ),
            )),
            Some(_) => {
                let mut seen = std::collections::HashSet::new();
                self.models.iter().find(|m| !seen.insert(**m)).map(|m| {
                    (
                        "models",
                        format!("\"{}\" is listed twice; list each model once", m.name()),
                    )
                })
            }
        }
    }

    /// Subsets drawn per label fraction.
    pub fn label_draw_count(&self) -> usize {
        self.label_draws.unwrap_or(3)
    }

    /// What is wrong with `label_fractions`, if anything.
    fn label_fractions_problem(&self) -> Option<String> {
        let f = &self.label_fractions;
        if f.is_empty() {
            return None;
        }
        if self.target_kind().is_none() {
            return Some(format!(
                "only multiclass, multilabel and regression tasks train probes on label fractions (this task is {}); remove it",
                self.type_name()
            ));
        }
        if f.len() > 32 || f.iter().any(|x| !(x.is_finite() && *x > 0.0 && *x <= 1.0)) {
            return Some(format!(
                "must be 1 to 32 fractions of the training split in (0, 1], e.g. [0.01, 0.1, 0.5, 1.0] (got {f:?})"
            ));
        }
        if f.windows(2).any(|w| w[0] >= w[1]) {
            return Some(format!(
                "list the fractions ascending without repeats (got {f:?})"
            ));
        }
        if f[0] >= 1.0 {
            return Some("list at least one fraction below 1 (1 is the task's own result)".into());
        }
        None
    }

    /// Range checks; `key` is this entry's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        let bad = |field: &str, why: String| Err(Error::config(format!("{key}.{field}"), why));
        let probes = self.probe_list();
        if self.task_type == TaskType::Disentanglement {
            if !self.target.is_empty() {
                return bad(
                    "target",
                    "a disentanglement task reads `factors = [...]`, not `target`".into(),
                );
            }
            let mut seen = std::collections::HashSet::new();
            if self.factors.len() < 2 || !self.factors.iter().all(|f| seen.insert(f)) {
                return bad(
                    "factors",
                    format!(
                        "list at least two different labels (got {:?})",
                        self.factors
                    ),
                );
            }
        } else if matches!(
            self.task_type,
            TaskType::Geometry | TaskType::Recommendation
        ) || self.task_type.reads_transform()
        {
            if !self.target.is_empty() || !self.factors.is_empty() {
                return bad(
                    "target",
                    format!(
                        "a {} task reads no label; remove `target` and `factors`",
                        self.type_name()
                    ),
                );
            }
        } else {
            if self.target.is_empty() {
                return bad("target", "missing: the label this task predicts".into());
            }
            if !self.factors.is_empty() {
                return bad(
                    "factors",
                    "only type = \"disentanglement\" takes factors; use `target`".into(),
                );
            }
        }
        match (self.task_type.reads_transform(), &self.transform) {
            (true, None) => {
                return bad(
                    "transform",
                    "missing: e.g. transform = { kind = \"pitch_shift\", range = [-4, 4] }".into(),
                )
            }
            (false, Some(_)) => {
                return bad(
                    "transform",
                    "only invariance and equivariance tasks take a transform; remove it".into(),
                )
            }
            _ => {}
        }
        if let Some(why) = self.transforms_problem() {
            return bad("transforms", why);
        }
        if self.task_type != TaskType::Disentanglement
            && (!is_default_codes(&self.codes) || self.pca_components.is_some())
        {
            return bad(
                "codes",
                "only disentanglement tasks take `codes` and `pca_components`; remove them".into(),
            );
        }
        if let Some(n) = self.pca_components {
            if !(1..=MAX_PCA_COMPONENTS).contains(&n) {
                return bad(
                    "pca_components",
                    format!("must be in 1..={MAX_PCA_COMPONENTS} (got {n})"),
                );
            }
        }
        if !self.task_type.reads_transform() && !is_default_normalization(&self.normalization) {
            return bad(
                "normalization",
                "only invariance and equivariance tasks take a normalization; remove it".into(),
            );
        }
        match self.task_type {
            TaskType::Retrieval
            | TaskType::Disentanglement
            | TaskType::Geometry
            | TaskType::Invariance
            | TaskType::Recommendation
                if !probes.is_empty() =>
            {
                return bad(
                    "probes",
                    "retrieval, disentanglement, geometry, invariance and recommendation tasks train no probe (a recommendation task lists `models`); remove `probes`"
                        .into(),
                );
            }
            TaskType::Retrieval
            | TaskType::Disentanglement
            | TaskType::Geometry
            | TaskType::Invariance
            | TaskType::Recommendation => {}
            _ if probes.is_empty() => return bad("probes", "must list at least one probe".into()),
            _ => {}
        }
        for (i, p) in probes.iter().enumerate() {
            if matches!(
                self.task_type,
                TaskType::Regression | TaskType::Equivariance
            ) && matches!(p, ProbeSpec::Logistic(_))
            {
                return bad(
                    &format!("probes[{i}]"),
                    "logistic does not apply to regression (an equivariance task's probes read θ); use ridge, mlp or knn".into(),
                );
            }
            p.validate(&format!("{key}.probes[{i}]"))?;
            if probes[..i].iter().any(|q| q.kind() == p.kind()) {
                return bad(
                    &format!("probes[{i}]"),
                    format!(
                        "a second `{}` probe: results name probes by kind, so list each kind once (put every value in one grid)",
                        p.kind()
                    ),
                );
            }
        }
        if self.bootstrap > 100_000 {
            return bad(
                "bootstrap",
                format!("at most 100000 resamples (got {})", self.bootstrap),
            );
        }
        if self.seeds.is_empty() || self.seeds.len() > MAX_SEEDS {
            return bad(
                "seeds",
                format!(
                    "must list 1 to {MAX_SEEDS} seeds (got {})",
                    self.seeds.len()
                ),
            );
        }
        if self.tag_separator.chars().count() != 1 {
            return bad(
                "tag_separator",
                format!("must be a single character (got {:?})", self.tag_separator),
            );
        }
        if let Some(why) = self.label_fractions_problem() {
            return bad("label_fractions", why);
        }
        if let Some(d) = self.label_draws {
            if self.label_fractions.is_empty() || !(1..=MAX_LABEL_DRAWS).contains(&d) {
                return bad(
                    "label_draws",
                    format!(
                        "must be in 1..={MAX_LABEL_DRAWS}, with `label_fractions` set (got {d})"
                    ),
                );
            }
        }
        if let Some((field, why)) = self.recommendation_problem() {
            return bad(field, why);
        }
        let ks = self.k_list();
        let mut distinct = ks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != ks.len() {
            return bad("ks", format!("list each cut-off once (got {ks:?})"));
        }
        if ks.is_empty() || ks.len() > 64 || ks.iter().any(|&k| k == 0 || k > MAX_K) {
            return bad(
                "ks",
                format!("must be a list of 1 to 64 integers in 1..={MAX_K} (got {ks:?})"),
            );
        }
        Ok(())
    }
}

impl TaskSpec {
    /// How a probe task reads its `target` (`None` for other task types).
    pub fn target_kind(&self) -> Option<TargetKind> {
        let separator = self.tag_separator.chars().next().unwrap_or(';');
        match self.task_type {
            TaskType::Multiclass => Some(TargetKind::Class),
            TaskType::Multilabel => Some(TargetKind::Tags(separator)),
            TaskType::Regression => Some(TargetKind::Value),
            _ => None,
        }
    }
}

/// Most probe seeds a task may list (each is a whole evaluation).
pub const MAX_SEEDS: usize = 100;
/// Largest retrieval or kNN cut-off `k`.
pub const MAX_K: usize = 100_000;
/// Most subsets a task may draw per label fraction.
pub const MAX_LABEL_DRAWS: usize = 50;
/// Most principal components a disentanglement task may keep.
pub const MAX_PCA_COMPONENTS: usize = 4096;

/// Builds the evaluator for a validated task.
pub fn build_evaluator(spec: &TaskSpec) -> Box<dyn Evaluator> {
    let mut resolved = spec.clone();
    resolved.probes = Some(spec.probe_list());
    match spec.task_type {
        TaskType::Multiclass | TaskType::Multilabel | TaskType::Regression => {
            let kind = spec.target_kind().expect("probe tasks read a target");
            Box::new(informativeness::ProbeEvaluator::new(resolved, kind))
        }
        TaskType::Retrieval => Box::new(retrieval::RetrievalEvaluator::new(resolved)),
        TaskType::Recommendation => unreachable!(
            "recommendation tasks need their joined log: build them with recommendation::RecommendationEvaluator::new"
        ),
        TaskType::Disentanglement => {
            Box::new(disentanglement::DisentanglementEvaluator::new(resolved))
        }
        TaskType::Geometry => Box::new(geometry::GeometryEvaluator::new(resolved)),
        TaskType::Invariance | TaskType::Equivariance => {
            let Some(transform) = spec.transform.clone() else {
                unreachable!("validate() requires a transform for property tasks")
            };
            if spec.task_type == TaskType::Invariance {
                Box::new(properties::invariance::InvarianceEvaluator::new(
                    resolved, transform,
                ))
            } else {
                Box::new(properties::equivariance::EquivarianceEvaluator::new(
                    resolved, transform,
                ))
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_probe_keys_and_kinds_are_rejected_with_choices() {
        let bad_key = r#"name = "t"
dataset = "d"
target = "x"
probes = [{ kind = "logistic", alpha = [1.0] }]
"#;
        let err = toml::from_str::<TaskSpec>(bad_key).unwrap_err().to_string();
        assert!(err.contains("alpha") && err.contains("alphas"), "{err}");
        let bad_kind = bad_key.replace("kind = \"logistic\", alpha = [1.0]", "kind = \"logstic\"");
        let err = toml::from_str::<TaskSpec>(&bad_kind)
            .unwrap_err()
            .to_string();
        assert!(err.contains("logstic") && err.contains("logistic"), "{err}");
    }

    #[test]
    fn only_disentanglement_tasks_take_pca_codes() {
        let base = "name = \"t\"\ndataset = \"d\"\n";
        let probe: TaskSpec =
            toml::from_str(&format!("{base}target = \"x\"\ncodes = \"pca\"")).unwrap();
        let err = probe.validate("tasks[0]").unwrap_err().to_string();
        assert!(
            err.starts_with("tasks[0].codes") && err.contains("only disentanglement"),
            "{err}"
        );
        let ok: TaskSpec = toml::from_str(&format!(
            "{base}type = \"disentanglement\"\nfactors = [\"a\", \"b\"]\ncodes = \"pca\"\npca_components = 8"
        ))
        .unwrap();
        ok.validate("tasks[0]").unwrap();
        let zero = TaskSpec {
            pca_components: Some(0),
            ..ok
        };
        assert!(zero
            .validate("tasks[0]")
            .unwrap_err()
            .to_string()
            .contains("pca_components"));
    }

    /// Size options are bounded at validation: a stray digit must not
    /// become a billion-entry allocation or a week of probe fits.
    #[test]
    fn size_options_have_upper_bounds_naming_the_key() {
        let base = "name = \"t\"\ndataset = \"d\"\ntarget = \"x\"\n";
        for (extra, key) in [
            ("seeds = [0, 1]\nks = [1, 100001]", "tasks[0].ks"),
            ("type = \"retrieval\"\nks = [0]", "tasks[0].ks"),
            (
                "probes = [{ kind = \"mlp\", max_epochs = 1000000000 }]",
                "max_epochs",
            ),
            (
                "probes = [{ kind = \"logistic\", max_iter = 10000000 }]",
                "max_iter",
            ),
            ("probes = [{ kind = \"knn\", ks = [5, 1000000] }]", "ks"),
        ] {
            let spec: TaskSpec = toml::from_str(&format!("{base}{extra}")).unwrap();
            let err = spec.validate("tasks[0]").unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("1.."), "{extra}: {err}");
        }
        let many_seeds = format!("seeds = [{}]", vec!["1"; MAX_SEEDS + 1].join(", "));
        let spec: TaskSpec = toml::from_str(&format!("{base}{many_seeds}")).unwrap();
        let err = spec.validate("tasks[0]").unwrap_err().to_string();
        assert!(
            err.contains("tasks[0].seeds") && err.contains("1 to 100"),
            "{err}"
        );
        let within = format!("ks = [1, {MAX_K}]\nseeds = [0, 1, 2]");
        let spec: TaskSpec = toml::from_str(&format!("{base}{within}")).unwrap();
        spec.validate("tasks[0]").unwrap();
    }
}
