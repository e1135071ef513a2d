//! A perturbation sweep's x axis in words: the parameter's name and unit,
//! a log scale where the parameter acts by ratios, ticks at the severities
//! that were measured, and which way is stronger.

use crate::chart::{Ticks, XAxis};
use repbench_framework::perturb::{ThetaScale, TransformSpec};
use std::collections::HashMap;

/// One sweep as `run.json` lists it: the perturbation, its severity
/// parameter and the severities from mildest to strongest.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Perturbation name (`noise`, `mp3`, …).
    pub name: String,
    /// The severity parameter (`snr_db`, `bitrate_kbps`, …).
    pub severity_name: String,
    /// Severities in config order: mildest first.
    pub severities: Vec<f64>,
}

/// The sweeps in `run.json` (`perturbations`), in their order.
pub fn sweeps(run: &serde_json::Value) -> Vec<Sweep> {
    let Some(list) = run.get("perturbations").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| {
            Some(Sweep {
                name: p.get("name")?.as_str()?.to_owned(),
                severity_name: p.get("severity_name")?.as_str()?.to_owned(),
                severities: p
                    .get("severities")?
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_f64())
                    .collect(),
            })
        })
        .collect()
}

/// The parameter's name in words with its unit, and whether it acts by
/// ratios (a log axis shows equal ratios at equal distances).
fn words(parameter: &str) -> (String, bool) {
    let (text, ratio) = match parameter {
        "snr_db" => ("SNR (dB)", false),
        "gain_db" => ("gain (dB)", false),
        "bitrate_kbps" => ("MP3 bitrate (kbit/s)", true),
        "cutoff_hz" => ("cutoff frequency (Hz)", true),
        "high_hz" => ("upper band edge (Hz)", true),
        "rt60_s" => ("reverberation time RT60 (s)", true),
        "wet" => ("reverb wet share", false),
        "semitones" => ("pitch shift (semitones)", false),
        "rate" => ("time-stretch rate (×)", true),
        "rate_hz" => ("sample rate (Hz)", true),
        "percentile" => ("clipping threshold (percentile of |x|)", false),
        "bits" => ("bit depth (bits)", false),
        other => return (other.replace('_', " "), false),
    };
    (text.to_owned(), ratio)
}

/// Each property task's θ in words, from the config text's `transform`
/// tables: `pitch shift (semitones)`, `log₂ time-stretch rate (×)`. A task
/// whose transform cannot be read is left out (its axis just says θ).
pub fn theta_axes(config: &str) -> HashMap<String, String> {
    let Ok(table) = config.parse::<toml::Table>() else {
        return HashMap::new();
    };
    let Some(tasks) = table.get("tasks").and_then(|t| t.as_array()) else {
        return HashMap::new();
    };
    tasks
        .iter()
        .filter_map(|task| {
            let name = task.get("name")?.as_str()?.to_owned();
            let spec: TransformSpec = task.get("transform")?.clone().try_into().ok()?;
            let (text, _) = words(spec.axis());
            let label = match spec.scale() {
                ThetaScale::Linear => text,
                ThetaScale::Log2 => format!("log₂ {text}"),
            };
            Some((name, label))
        })
        .collect()
}

impl Sweep {
    /// The x axis for this sweep's curves.
    pub fn axis(&self) -> XAxis {
        let (label, ratio) = words(&self.severity_name);
        let s = &self.severities;
        let rising = s.windows(2).all(|w| w[1] > w[0]);
        let falling = s.windows(2).all(|w| w[1] < w[0]);
        let label = match (s.len() > 1, rising, falling) {
            (true, true, _) => format!("{label}, stronger →"),
            (true, _, true) => format!("{label}, ← stronger"),
            _ => label,
        };
        let mut ticks = s.clone();
        ticks.sort_by(f64::total_cmp);
        ticks.dedup();
        XAxis {
            label,
            log: ratio && s.len() > 1 && s.iter().all(|&v| v > 0.0),
            ticks: Ticks::At(ticks),
        }
    }

    /// The strongest severity as `parameter = value` (`snr_db = 0`).
    pub fn strongest(&self) -> Option<String> {
        let last = *self.severities.last()?;
        Some(format!(
            "{} = {}",
            self.severity_name,
            crate::chart::tick_text(last)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(parameter: &str, severities: &[f64]) -> Sweep {
        Sweep {
            name: "p".into(),
            severity_name: parameter.into(),
            severities: severities.to_vec(),
        }
    }

    #[test]
    fn bitrate_is_a_log_axis_in_words_with_its_direction() {
        let a = sweep("bitrate_kbps", &[320.0, 128.0, 64.0, 32.0]).axis();
        assert_eq!(a.label, "MP3 bitrate (kbit/s), ← stronger");
        assert!(a.log);
        assert!(matches!(a.ticks, Ticks::At(ref t) if t == &[32.0, 64.0, 128.0, 320.0]));
    }

    #[test]
    fn decibels_stay_linear_and_unknown_names_read_as_words() {
        let snr = sweep("snr_db", &[40.0, 20.0, 0.0]).axis();
        assert!(!snr.log);
        assert_eq!(snr.label, "SNR (dB), ← stronger");
        let rt = sweep("rt60_s", &[0.3, 0.8, 3.0]).axis();
        assert!(rt.log && rt.label.ends_with("stronger →"));
        let odd = sweep("some_param", &[1.0, -1.0, 2.0]).axis();
        assert_eq!(
            odd.label, "some param",
            "no direction when the order is not monotone"
        );
        assert_eq!(
            sweep("snr_db", &[40.0, 0.0]).strongest().as_deref(),
            Some("snr_db = 0")
        );
    }

    #[test]
    fn property_tasks_name_their_theta_from_the_config() {
        let config = r#"
[[tasks]]
name = "tempo"
dataset = "d"
type = "equivariance"
transform = { kind = "time_stretch", range = [0.8, 1.25] }

[[tasks]]
name = "shift"
dataset = "d"
type = "equivariance"
transform = { kind = "pitch_shift", grid = [-2, 2] }

[[tasks]]
name = "plain"
dataset = "d"
target = "pitch"
"#;
        let axes = theta_axes(config);
        assert_eq!(axes["tempo"], "log₂ time-stretch rate (×)");
        assert_eq!(axes["shift"], "pitch shift (semitones)");
        assert!(!axes.contains_key("plain"));
        assert!(theta_axes("not toml [").is_empty());
    }

    #[test]
    fn sweeps_are_read_from_run_json() {
        let run = serde_json::json!({"perturbations": [
            {"name": "noise", "severity_name": "snr_db", "severities": [40.0, 0.0]}
        ]});
        assert_eq!(
            sweeps(&run),
            vec![sweep("snr_db", &[40.0, 0.0]).renamed("noise")]
        );
        assert!(sweeps(&serde_json::json!({})).is_empty());
    }

    impl Sweep {
        fn renamed(mut self, name: &str) -> Self {
            self.name = name.into();
            self
        }
    }
}
