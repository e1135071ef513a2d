//! Several perturbations applied in order.
//!
//! Parameter: `steps`, a non-empty list of perturbation tables
//! (`steps = [{kind = "lowpass", cutoff_hz = 4000}, {kind = "mp3",
//! bitrate_kbps = 64}]`). A chain has no severity axis: every parameter of
//! every step takes exactly one value, the chain expands to one
//! perturbation, and its severity is reported as `0` under the axis name
//! `none`. (To sweep a chain, write one chain per level.) Steps share the
//! caller's RNG in order, so a chain is as reproducible as its steps.

use super::spec::Effect;
use super::{bad, Perturbation, PerturbationSpec};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// `kind = "chain"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// The perturbations, applied first to last.
    pub steps: Vec<PerturbationSpec>,
}

impl ChainSpec {
    /// Checks there is at least one step and that every step is valid and
    /// single-valued; `key` names the chain, e.g. `perturbations[3]`.
    pub(crate) fn validate(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
        if self.steps.is_empty() {
            return Err(bad(key, "steps", "give at least one step"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let step_key = format!("{key}.steps[{i}]");
            step.validate_inner(&step_key, sample_rate)?;
            let n = step.severities().len();
            if n != 1 {
                return Err(bad(
                    &step_key,
                    step.severity_name(),
                    format!(
                        "inside a chain each parameter takes one value, not a list (got {n}); \
                         write one chain per level to sweep"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn build(&self) -> Chain {
        Chain {
            steps: self
                .steps
                .iter()
                .filter_map(|s| s.build_all().into_iter().next().map(|(_, e)| e))
                .collect(),
        }
    }
}

/// Applies its steps in order.
pub struct Chain {
    steps: Vec<Box<dyn Effect>>,
}

impl Chain {
    /// A chain of the steps' first severity values, checked like a config.
    pub fn new(spec: &ChainSpec) -> Result<Self> {
        spec.validate("chain", None)?;
        Ok(spec.build())
    }

    pub(crate) fn check(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
        for (i, step) in self.steps.iter().enumerate() {
            step.check(&format!("{key}.steps[{i}]"), sample_rate)?;
        }
        Ok(())
    }
}

impl Perturbation for Chain {
    fn id(&self) -> String {
        let ids: Vec<String> = self.steps.iter().map(|s| s.id()).collect();
        format!("chain/v1;steps=[{}]", ids.join("|"))
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, rng: &mut Rng) -> Result<Vec<f32>> {
        self.check("chain", Some(sample_rate))?;
        let mut x = audio.to_vec();
        for step in &self.steps {
            x = step.apply(&x, sample_rate, rng)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::music_like;
    use crate::perturb::{Filter, Gain};
    use crate::seed::rng;

    fn spec(json: &str) -> ChainSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn steps_run_in_order() {
        let c = Chain::new(&spec(
            r#"{"steps": [{"kind": "gain", "gain_db": -6}, {"kind": "lowpass", "cutoff_hz": 2000, "order": 2}]}"#,
        ))
        .unwrap();
        assert_eq!(
            c.id(),
            "chain/v1;steps=[gain/v1;gain_db=-6|lowpass/v1;cutoff_hz=2000;order=2]"
        );
        let x = music_like(16000, 1.0, 1);
        let mut r = rng(0, &[]);
        let by_hand = Filter::lowpass(2000.0, 2)
            .unwrap()
            .apply(
                &Gain::new(-6.0).unwrap().apply(&x, 16000, &mut r).unwrap(),
                16000,
                &mut r,
            )
            .unwrap();
        assert_eq!(c.apply(&x, 16000, &mut rng(0, &[])).unwrap(), by_hand);
    }

    #[test]
    fn lists_inside_a_chain_and_empty_chains_are_rejected() {
        let err = Chain::new(&spec(
            r#"{"steps": [{"kind": "gain", "gain_db": 1}, {"kind": "noise", "snr_db": [10, 20]}]}"#,
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("chain.steps[1].snr_db: inside a chain each parameter takes one value"),
            "{err}"
        );
        let err = Chain::new(&spec(r#"{"steps": []}"#))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "chain.steps: give at least one step");
        let c = Chain::new(&spec(
            r#"{"steps": [{"kind": "lowpass", "cutoff_hz": 6000}]}"#,
        ))
        .unwrap();
        let err = c
            .apply(&[0.0; 8], 8000, &mut rng(0, &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("chain.steps[0].cutoff_hz: must be below Nyquist (4000 Hz)"),
            "{err}"
        );
    }
}
