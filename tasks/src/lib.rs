//! repbench tasks: turn cached embeddings into measured values with
//! confidence intervals.
//!
//! * [`metrics`] — classification metrics, checked against scikit-learn.
//! * [`bootstrap`] — seeded percentile-bootstrap intervals.
//! * [`standardize`], [`logistic`] — the probe's pieces.
//! * [`probe::ProbeEvaluator`] — the informativeness evaluator.
//!
//! A task is one `[[tasks]]` entry ([`TaskSpec`]); [`build_evaluator`]
//! turns it into a [`repbench_framework::evaluator::Evaluator`].
//!
//! ```
//! use repbench_tasks::metrics::{accuracy, f1_macro};
//! assert_eq!(accuracy(&[0, 1, 1], &[0, 1, 0]), 2.0 / 3.0);
//! assert!((f1_macro(&[0, 1, 1], &[0, 1, 0], 2) - 2.0 / 3.0).abs() < 1e-12);
//! ```

pub mod bootstrap;
pub mod logistic;
pub mod metrics;
pub mod probe;
pub mod standardize;

use repbench_framework::evaluator::Evaluator;
use repbench_framework::{Error, Result};
use serde::{Deserialize, Serialize};

/// What kind of target a task reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// One class per item.
    #[default]
    Multiclass,
}

fn d_bootstrap() -> usize {
    1000
}

/// A task as written in the config (`[[tasks]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Name used in results.
    pub name: String,
    /// Name of the dataset it reads.
    pub dataset: String,
    /// Label or factor to predict.
    pub target: String,
    /// Target type.
    #[serde(rename = "type", default)]
    pub task_type: TaskType,
    /// Probes to train (default: logistic with its default grid).
    #[serde(default = "probe::default_probes")]
    pub probes: Vec<probe::ProbeSpec>,
    /// Bootstrap resamples for the confidence intervals (0 disables them).
    #[serde(default = "d_bootstrap")]
    pub bootstrap: usize,
}

impl TaskSpec {
    /// Range checks; `key` is this entry's path in the config.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.probes.is_empty() {
            return Err(Error::config(
                format!("{key}.probes"),
                "must list at least one probe",
            ));
        }
        for (i, p) in self.probes.iter().enumerate() {
            p.validate(&format!("{key}.probes[{i}]"))?;
        }
        if self.bootstrap > 100_000 {
            return Err(Error::config(
                format!("{key}.bootstrap"),
                format!("at most 100000 resamples (got {})", self.bootstrap),
            ));
        }
        Ok(())
    }
}

/// Builds the evaluator for a validated task.
pub fn build_evaluator(spec: &TaskSpec) -> Box<dyn Evaluator> {
    match spec.task_type {
        TaskType::Multiclass => Box::new(probe::ProbeEvaluator::new(spec.clone())),
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
}
