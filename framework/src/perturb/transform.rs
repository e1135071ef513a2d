//! Transforms of the property tasks: a perturbation kind whose severity
//! θ is not one value for all items but drawn per item (a range) or taken
//! from a grid (every item at every value).
//!
//! ```toml
//! transform = { kind = "pitch_shift", range = [-4, 4] }            # θ ~ U(-4, 4) per item
//! transform = { kind = "time_stretch", grid = [0.8, 1.25] }         # every item at both rates
//! transform = { kind = "noise", color = "pink", range = [40, 5], draws = 2 }
//! ```
//!
//! The table is a `[[perturbations]]` entry without its severity axis,
//! plus `range` or `grid` (in the axis' own units) and `draws`. θ is the
//! severity on the scale where equal steps are equal changes: the value
//! itself for decibels, semitones, seconds and percentiles, `log2` of it
//! for rates, frequencies and bitrates ([`ThetaScale`]). A range is drawn
//! uniformly on that scale.
//!
//! Each draw (or grid value) is one *view*: one extra embedding pass over
//! every item. θ and the effect's own randomness are seeded by the run
//! seed, the transform's [`TransformSpec::id`], the view and the item, not
//! by the task, so tasks that name the same transform share the pass.

use super::{num, Perturbation, PerturbationSpec};
use crate::{seed, Error, Result};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How θ relates to the severity value of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThetaScale {
    /// θ is the value (dB, semitones, seconds, percentile).
    Linear,
    /// θ is `log2` of the value (rates, frequencies, bitrates).
    Log2,
}

impl ThetaScale {
    /// θ of a severity value.
    pub fn theta(self, value: f64) -> f64 {
        match self {
            ThetaScale::Linear => value,
            ThetaScale::Log2 => value.log2(),
        }
    }

    /// The severity value of θ.
    pub fn value(self, theta: f64) -> f64 {
        match self {
            ThetaScale::Linear => theta,
            ThetaScale::Log2 => theta.exp2(),
        }
    }
}

/// How θ is chosen per item.
#[derive(Debug, Clone, PartialEq)]
pub enum ThetaPlan {
    /// Drawn uniformly (on the θ scale) between the two values, `draws`
    /// times per item.
    Range {
        /// The two ends, in the axis' units, as written.
        ends: [f64; 2],
        /// Independent draws per item (views).
        draws: usize,
    },
    /// Every item at every value (one view per value), in the axis' units.
    Grid(Vec<f64>),
}

/// One embedding pass of a transform over every item.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// Position among the transform's views.
    pub index: usize,
    /// Canonical name within the transform (`draw=0`, `value=1.25`).
    pub label: String,
    /// The grid value (axis units) every item gets; `None` for a draw.
    pub fixed: Option<f64>,
}

/// A property task's transform: a perturbation kind, its other settings,
/// and how θ is chosen (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSpec {
    kind: String,
    /// The perturbation table without its severity axis (includes `kind`).
    settings: BTreeMap<String, Value>,
    axis: &'static str,
    scale: ThetaScale,
    plan: ThetaPlan,
    /// [`TransformSpec::id`], computed once: every item's θ and effect
    /// seed hash it.
    id: String,
}

/// The severity axis of `kind` (given the table, for reverb's two forms),
/// its θ scale, and whether it takes any value in a range.
fn axis_of(
    kind: &str,
    settings: &BTreeMap<String, Value>,
) -> Option<(&'static str, ThetaScale, bool)> {
    use ThetaScale::*;
    Some(match kind {
        "noise" => ("snr_db", Linear, true),
        "gain" => ("gain_db", Linear, true),
        "mp3" => ("bitrate_kbps", Log2, false),
        "lowpass" | "highpass" => ("cutoff_hz", Log2, true),
        "bandpass" => ("high_hz", Log2, true),
        "reverb" if settings.contains_key("ir_path") => ("wet", Linear, true),
        "reverb" => ("rt60_s", Linear, true),
        "pitch_shift" => ("semitones", Linear, true),
        "time_stretch" => ("rate", Log2, true),
        "clipping" => ("percentile", Linear, true),
        "bitcrush" => ("bits", Linear, false),
        "resample" => ("rate_hz", Log2, false),
        _ => return None,
    })
}

const KINDS: &str = "noise, gain, mp3, lowpass, highpass, bandpass, reverb, pitch_shift, time_stretch, clipping, bitcrush, resample";

fn numbers(v: &Value, what: &str) -> std::result::Result<Vec<f64>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("`{what}` must be a list of numbers"))?;
    list.iter()
        .map(|x| {
            x.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("`{what}` must hold finite numbers (got {x})"))
        })
        .collect()
}

impl TryFrom<Map<String, Value>> for TransformSpec {
    type Error = String;

    fn try_from(map: Map<String, Value>) -> std::result::Result<Self, String> {
        let mut settings: BTreeMap<String, Value> = map.into_iter().collect();
        let kind = settings
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("a transform needs `kind` (one of {KINDS})"))?
            .to_string();
        let (axis, scale, continuous) = axis_of(&kind, &settings)
            .ok_or_else(|| format!("unknown transform kind \"{kind}\"; expected one of {KINDS}"))?;
        if settings.contains_key(axis) {
            return Err(format!(
                "`{axis}` is what the transform varies: give its values as `range = [lo, hi]` or `grid = [...]`, not `{axis}`"
            ));
        }
        let draws = match settings.remove("draws") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|d| (1..=64).contains(d))
                    .ok_or_else(|| format!("`draws` must be a whole number in 1..=64 (got {v})"))?
                    as usize,
            ),
        };
        let plan = match (settings.remove("range"), settings.remove("grid")) {
            (Some(_), Some(_)) => return Err("give either `range` or `grid`, not both".into()),
            (None, None) => {
                return Err(format!(
                    "give θ as `range = [lo, hi]` (drawn per item) or `grid = [...]` (every item at every value), in {axis}'s units"
                ))
            }
            (Some(r), None) => {
                let ends = numbers(&r, "range")?;
                let [a, b] = ends[..] else {
                    return Err(format!("`range` must be two numbers [lo, hi] (got {})", ends.len()));
                };
                if a == b {
                    return Err(format!("`range` must span an interval (got [{}, {}]); for one value use `grid = [{}]`", num(a), num(b), num(a)));
                }
                if !continuous {
                    return Err(format!(
                        "{kind}'s `{axis}` takes only certain values, so θ cannot be drawn from a range; list them with `grid = [...]`"
                    ));
                }
                ThetaPlan::Range {
                    ends: [a, b],
                    draws: draws.unwrap_or(1),
                }
            }
            (None, Some(g)) => {
                if draws.is_some() {
                    return Err("`draws` applies to a `range`; a grid puts every item at every value".into());
                }
                let grid = numbers(&g, "grid")?;
                if grid.is_empty() {
                    return Err("`grid` must list at least one value".into());
                }
                for (i, v) in grid.iter().enumerate() {
                    if grid[..i].contains(v) {
                        return Err(format!("`grid` lists {} twice", num(*v)));
                    }
                }
                ThetaPlan::Grid(grid)
            }
        };
        if scale == ThetaScale::Log2 {
            let values = match &plan {
                ThetaPlan::Range { ends, .. } => ends.to_vec(),
                ThetaPlan::Grid(g) => g.clone(),
            };
            if let Some(v) = values.iter().find(|v| **v <= 0.0) {
                return Err(format!("{axis} must be positive (got {})", num(*v)));
            }
        }
        let mut spec = TransformSpec {
            kind,
            settings,
            axis,
            scale,
            plan,
            id: String::new(),
        };
        spec.id = spec.compute_id();
        // Every value the plan can produce must make a valid effect: the
        // ends of a range (the checks are intervals) or each grid value.
        for value in spec.values_to_check() {
            spec.spec_at(value).map_err(|e| e.to_string())?;
        }
        Ok(spec)
    }
}

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        TransformSpec::try_from(map).map_err(serde::de::Error::custom)
    }
}

impl Serialize for TransformSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Map::<String, Value>::from(self.clone()).serialize(s)
    }
}

impl From<TransformSpec> for Map<String, Value> {
    fn from(spec: TransformSpec) -> Self {
        let mut map: Map<String, Value> = spec.settings.into_iter().collect();
        match spec.plan {
            ThetaPlan::Range { ends, draws } => {
                map.insert("range".into(), serde_json::json!(ends));
                map.insert("draws".into(), draws.into());
            }
            ThetaPlan::Grid(g) => {
                map.insert("grid".into(), serde_json::json!(g));
            }
        }
        map
    }
}

impl TransformSpec {
    /// The perturbation kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The severity axis θ varies (e.g. `semitones`).
    pub fn axis(&self) -> &'static str {
        self.axis
    }

    /// How θ relates to the axis' values.
    pub fn scale(&self) -> ThetaScale {
        self.scale
    }

    /// How θ is chosen.
    pub fn plan(&self) -> &ThetaPlan {
        &self.plan
    }

    /// What θ measures, for results and reports: `semitones` or
    /// `log2(rate)`.
    pub fn theta_name(&self) -> String {
        match self.scale {
            ThetaScale::Linear => self.axis.to_string(),
            ThetaScale::Log2 => format!("log2({})", self.axis),
        }
    }

    /// Canonical fingerprint of everything that decides the transformed
    /// audio (kind, settings, θ plan); part of embedding cache keys.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn compute_id(&self) -> String {
        let settings = serde_json::to_string(&self.settings).expect("JSON values serialise");
        let plan = match &self.plan {
            ThetaPlan::Range { ends, draws } => {
                format!("range={},{};draws={draws}", num(ends[0]), num(ends[1]))
            }
            ThetaPlan::Grid(g) => {
                let values: Vec<String> = g.iter().map(|v| num(*v)).collect();
                format!("grid={}", values.join(","))
            }
        };
        format!("transform/v1;{settings};{plan}")
    }

    /// The views, in order: one per draw or grid value.
    pub fn views(&self) -> Vec<View> {
        match &self.plan {
            ThetaPlan::Range { draws, .. } => (0..*draws)
                .map(|d| View {
                    index: d,
                    label: format!("draw={d}"),
                    fixed: None,
                })
                .collect(),
            ThetaPlan::Grid(g) => g
                .iter()
                .enumerate()
                .map(|(i, v)| View {
                    index: i,
                    label: format!("value={}", num(*v)),
                    fixed: Some(*v),
                })
                .collect(),
        }
    }

    /// θ of `item` in `view`: the grid value's θ, or a uniform draw on
    /// the θ scale seeded by run seed, transform, view and item.
    /// A view that is not one of [`Self::views`] (a grid view without its
    /// value) has θ NaN, which no effect accepts.
    pub fn theta(&self, view: &View, item: &str, run_seed: u64) -> f64 {
        match (&self.plan, view.fixed) {
            (_, Some(v)) => self.scale.theta(v),
            (ThetaPlan::Range { ends, .. }, None) => {
                let (a, b) = (self.scale.theta(ends[0]), self.scale.theta(ends[1]));
                let mut rng = seed::rng(run_seed, &["theta", &self.id, &view.label, item]);
                a.min(b) + (a - b).abs() * rng.gen::<f64>()
            }
            (ThetaPlan::Grid(_), None) => f64::NAN,
        }
    }

    /// The effect at θ (on the θ scale).
    pub fn effect(&self, theta: f64) -> Result<Box<dyn Perturbation>> {
        let spec = self.spec_at(self.scale.value(theta))?;
        let mut expanded = spec.expand();
        Ok(expanded.remove(0).1)
    }

    /// The seed stream of the effect's own randomness (noise, reverb) for
    /// `item` in `view`.
    pub fn effect_rng(&self, view: &View, item: &str, run_seed: u64) -> seed::Rng {
        seed::rng(run_seed, &["transform", &self.id, &view.label, item])
    }

    /// Resolves a relative `ir_path` against the config's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(Value::String(p)) = self.settings.get_mut("ir_path") {
            let path = std::path::Path::new(p.as_str());
            if path.is_relative() {
                *p = base.join(path).display().to_string();
            }
        }
        self.id = self.compute_id();
    }

    /// Checks every value θ can take against an encoder's sample rate
    /// (filter edges below Nyquist, …); `key` starts the error message.
    pub fn validate_at(&self, key: &str, sample_rate: u32) -> Result<()> {
        for value in self.values_to_check() {
            let spec = self
                .spec_at(value)
                .map_err(|e| Error::config(key, e.to_string()))?;
            spec.validate_at(key, sample_rate)?;
        }
        Ok(())
    }

    fn values_to_check(&self) -> Vec<f64> {
        match &self.plan {
            ThetaPlan::Range { ends, .. } => ends.to_vec(),
            ThetaPlan::Grid(g) => g.clone(),
        }
    }

    /// The perturbation spec at one severity value.
    fn spec_at(&self, value: f64) -> Result<PerturbationSpec> {
        let mut table: Map<String, Value> = self.settings.clone().into_iter().collect();
        table.insert(self.axis.into(), serde_json::json!(value));
        let spec: PerturbationSpec = serde_json::from_value(Value::Object(table))
            .map_err(|e| Error::config("transform", e.to_string()))?;
        spec.validate("transform")?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<TransformSpec, String> {
        #[derive(Deserialize)]
        struct T {
            transform: TransformSpec,
        }
        toml::from_str::<T>(text)
            .map(|t| t.transform)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_range_draws_each_item_its_own_theta_reproducibly_within_the_range() {
        let t = parse(r#"transform = { kind = "time_stretch", range = [0.8, 1.25], draws = 2 }"#)
            .unwrap();
        assert_eq!(t.axis(), "rate");
        assert_eq!(t.theta_name(), "log2(rate)");
        let views = t.views();
        assert_eq!(views.len(), 2);
        let thetas: Vec<f64> = (0..200)
            .map(|i| t.theta(&views[0], &format!("i{i}"), 7))
            .collect();
        let (lo, hi) = (0.8f64.log2(), 1.25f64.log2());
        assert!(thetas.iter().all(|&x| x >= lo && x <= hi));
        let mean = thetas.iter().sum::<f64>() / 200.0;
        assert!((mean - (lo + hi) / 2.0).abs() < 0.05, "{mean}");
        assert_eq!(thetas[3], t.theta(&views[0], "i3", 7));
        assert_ne!(thetas[3], t.theta(&views[1], "i3", 7));
        assert_ne!(thetas[3], t.theta(&views[0], "i3", 8));
        let effect = t.effect(thetas[3]).unwrap();
        assert!(
            effect.id().starts_with("time_stretch/v1;"),
            "{}",
            effect.id()
        );
    }

    #[test]
    fn a_grid_puts_every_item_at_every_value_and_round_trips() {
        let t =
            parse(r#"transform = { kind = "noise", color = "pink", grid = [40, 10] }"#).unwrap();
        let views = t.views();
        assert_eq!(views.len(), 2);
        assert_eq!(t.theta(&views[1], "anything", 1), 10.0);
        assert!(t.effect(10.0).unwrap().id().contains("color=pink"));
        let back: TransformSpec =
            serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.id(), t.id());
    }

    #[test]
    fn bad_transforms_say_what_to_write() {
        let cases = [
            (
                r#"{ kind = "pitch_shift", semitones = 2, range = [-4, 4] }"#,
                "range = [lo, hi]",
            ),
            (r#"{ kind = "pitch_shift" }"#, "give θ as"),
            (
                r#"{ kind = "pitch_shift", range = [-40, 40] }"#,
                "semitones",
            ),
            (r#"{ kind = "mp3", range = [32, 128] }"#, "grid"),
            (r#"{ kind = "warp", range = [1, 2] }"#, "pitch_shift"),
            (r#"{ kind = "gain", grid = [1, 1] }"#, "twice"),
            (r#"{ kind = "gain", range = [-6, 6], draws = 0 }"#, "draws"),
            (
                r#"{ kind = "gain", range = [-6, 6], colour = "x" }"#,
                "colour",
            ),
        ];
        for (table, expected) in cases {
            let err = parse(&format!("transform = {table}")).unwrap_err();
            assert!(err.contains(expected), "{table}: {err}");
        }
        assert!(parse(r#"transform = { kind = "mp3", grid = [32, 128] }"#).is_ok());
    }

    #[test]
    fn every_kind_names_the_axis_its_perturbation_spec_sweeps() {
        for kind in KINDS.split(", ") {
            let mut settings = BTreeMap::from([("kind".to_string(), Value::from(kind))]);
            let (axis, _, _) = axis_of(kind, &settings).unwrap();
            if kind == "bandpass" {
                settings.insert("low_hz".into(), 100.into());
            }
            settings.insert(axis.into(), 1000.into());
            let spec: std::result::Result<PerturbationSpec, _> =
                serde_json::from_value(Value::Object(settings.into_iter().collect()));
            assert_eq!(spec.unwrap().severity_name(), axis, "{kind}");
        }
    }
}
