//! SynTheory-style synthetic music: sets whose every factor is known
//! exactly, rendered deterministically from the seed.
//!
//! One dataset kind per set (each documented in its module):
//! `synthetic_notes`, `synthetic_intervals`, `synthetic_chords`,
//! `synthetic_scales` ([`pitched`]) and `synthetic_tempos`,
//! `synthetic_time_signatures` ([`rhythm`]). Every set also takes:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | — | name used in results |
//! | `seed` | run seed | seed of the factor draws, sampling and drum noise |
//! | `renderer` | `"auto"` | `"auto"`: a SoundFont if one is configured or installed at [`soundfont::DEBIAN_SOUNDFONT`], else the built-in synthesiser; `"builtin"`; `"soundfont"` (fails without one) |
//! | `soundfont` | none | an SF2 file, relative to the config file |
//! | `split` | random 0.6/0.2/0.2 | any [`crate::split::SplitSpec`] |
//!
//! An item's content key hashes the set, its score (every note's timing,
//! key, velocity and instrument), the drum-noise seed, the renderer
//! (`builtin`, or `soundfont:` + the SF2 file's blake3) and a render
//! version, so anything that changes the audio changes the key. Audio is a
//! pure function of that recipe and the sample rate.

pub mod builtin;
pub mod pitched;
pub mod rhythm;
pub mod score;
pub mod soundfont;
#[cfg(test)]
mod tests;

use crate::split::SplitSpec;
use rand::seq::SliceRandom;
use repbench_framework::dataset::{Dataset, Item, Label, Split};
use repbench_framework::{seed as seeding, Error, Result};
use score::Score;
use serde::{Deserialize, Serialize};
use soundfont::SoundFontFile;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Bumped whenever rendering of either renderer changes.
const RENDER_VERSION: u32 = 1;

/// Which synthesiser renders a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RendererChoice {
    /// A SoundFont when one is configured or installed, else built-in.
    #[default]
    Auto,
    /// Always the built-in synthesiser.
    Builtin,
    /// Always a SoundFont (an error when none is found).
    Soundfont,
}

/// The options every set shares, borrowed from its spec.
pub(crate) struct Common<'a> {
    pub name: &'a str,
    pub renderer: RendererChoice,
    pub soundfont: Option<&'a Path>,
    pub split: Option<&'a SplitSpec>,
}

impl Common<'_> {
    /// Checks the shared keys.
    pub fn validate(&self, key: &str) -> Result<()> {
        if self.renderer == RendererChoice::Builtin && self.soundfont.is_some() {
            return Err(Error::config(
                format!("{key}.soundfont"),
                "is not used with renderer = \"builtin\"; remove one of them",
            ));
        }
        if let Some(split) = self.split {
            split.validate(&format!("{key}.split"))?;
        }
        Ok(())
    }
}

/// Defines a set's spec: the shared keys plus the set's own.
macro_rules! synth_spec {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Name used in results.
            pub name: String,
            /// Seed of the factor draws (default: the run's seed).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub seed: Option<u64>,
            /// Which synthesiser renders the set (default `auto`).
            #[serde(default)]
            pub renderer: $crate::synth::RendererChoice,
            /// An SF2 SoundFont, relative to the config file.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub soundfont: Option<std::path::PathBuf>,
            /// The split (default: random 0.6 / 0.2 / 0.2).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub split: Option<$crate::split::SplitSpec>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            pub(crate) fn common(&self) -> $crate::synth::Common<'_> {
                $crate::synth::Common {
                    name: &self.name,
                    renderer: self.renderer,
                    soundfont: self.soundfont.as_deref(),
                    split: self.split.as_ref(),
                }
            }
        }
    };
}
pub(crate) use synth_spec;

/// How a set's audio is made.
pub enum Renderer {
    /// [`builtin::render`].
    Builtin,
    /// rustysynth with this SF2 file.
    SoundFont(SoundFontFile),
}

impl Renderer {
    /// Picks the renderer; the message says when `auto` fell back to the
    /// built-in synthesiser.
    fn choose(common: &Common<'_>, base_dir: &Path) -> Result<(Renderer, Option<String>)> {
        let configured = common.soundfont.map(|p| base_dir.join(p));
        let debian = Path::new(soundfont::DEBIAN_SOUNDFONT);
        match (common.renderer, configured) {
            (RendererChoice::Builtin, _) => Ok((Renderer::Builtin, None)),
            (_, Some(path)) => Ok((Renderer::SoundFont(SoundFontFile::open(&path)?), None)),
            (_, None) if debian.exists() => {
                Ok((Renderer::SoundFont(SoundFontFile::open(debian)?), None))
            }
            (RendererChoice::Soundfont, None) => Err(Error::Other(format!(
                "dataset \"{}\": renderer = \"soundfont\" but no `soundfont` is set and {} does not exist (Debian: apt-get install fluid-soundfont-gm)",
                common.name,
                debian.display()
            ))),
            (RendererChoice::Auto, None) => Ok((
                Renderer::Builtin,
                Some(format!(
                    "dataset \"{}\": no SoundFont configured or at {}; rendering with the built-in synthesiser",
                    common.name,
                    debian.display()
                )),
            )),
        }
    }

    /// `builtin` or `soundfont:<blake3 of the SF2>`: part of content keys.
    pub fn id(&self) -> String {
        match self {
            Renderer::Builtin => "builtin".into(),
            Renderer::SoundFont(sf) => format!("soundfont:{}", sf.hash()),
        }
    }

    /// Human-readable: which synthesiser and file.
    pub fn describe(&self) -> String {
        match self {
            Renderer::Builtin => "built-in synthesiser".into(),
            Renderer::SoundFont(sf) => format!("SoundFont {}", sf.path().display()),
        }
    }
}

/// One generated item before its split is known.
pub(crate) struct Generated {
    pub id: String,
    pub labels: BTreeMap<String, Label>,
    pub score: Score,
}

/// Keeps `n` of `grid` (a seeded sample, in grid order) or all of them.
pub(crate) fn sample_grid<T>(
    grid: Vec<T>,
    n_items: Option<usize>,
    seed: u64,
    set: &str,
) -> Result<Vec<(usize, T)>> {
    let total = grid.len();
    let Some(n) = n_items else {
        return Ok(grid.into_iter().enumerate().collect());
    };
    if n > total || n < 10 {
        return Err(Error::Other(format!(
            "{set}: n_items = {n}, but must be between 10 and the {total} factor combinations"
        )));
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.shuffle(&mut seeding::rng(seed, &[set, "sample"]));
    let mut keep = vec![false; total];
    for &i in &order[..n] {
        keep[i] = true;
    }
    Ok(grid
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .collect())
}

/// A rendered-on-demand synthetic set.
pub struct SyntheticMusic {
    name: String,
    items: Vec<Item>,
    scores: Vec<Score>,
    noise_seeds: Vec<u64>,
    index: HashMap<String, usize>,
    renderer: Renderer,
    warnings: Vec<String>,
}

impl SyntheticMusic {
    /// Builds the items of set `set` from its generated scores.
    pub(crate) fn build(
        set: &str,
        common: &Common<'_>,
        generated: Vec<Generated>,
        base_dir: &Path,
        seed: u64,
    ) -> Result<Self> {
        let (renderer, note) = Renderer::choose(common, base_dir)?;
        let ids: Vec<&str> = generated.iter().map(|g| g.id.as_str()).collect();
        let labels: Vec<&BTreeMap<String, Label>> = generated.iter().map(|g| &g.labels).collect();
        let split = common.split.cloned().unwrap_or_default();
        let splits: Vec<Split> = split
            .assign(&ids, &labels, seed)
            .map_err(|e| Error::Other(format!("dataset \"{}\": {e}", common.name)))?;
        let renderer_id = renderer.id();
        let mut items = Vec::with_capacity(generated.len());
        let mut scores = Vec::with_capacity(generated.len());
        let mut noise_seeds = Vec::with_capacity(generated.len());
        for (g, split) in generated.into_iter().zip(splits) {
            let noise_seed = seeding::derive(seed, &["synthetic_music", set, &g.id]);
            // Only the built-in drums draw noise; elsewhere the seed does not
            // change the audio, so it stays out of the key (and the cache
            // survives a seed change that leaves the scores as they were).
            let uses_noise = matches!(renderer, Renderer::Builtin)
                && g.score
                    .notes
                    .iter()
                    .any(|n| matches!(n.voice, score::Voice::Drum(_)));
            let recipe = serde_json::json!({
                "set": set,
                "render_version": RENDER_VERSION,
                "renderer": renderer_id,
                "noise_seed": uses_noise.then_some(noise_seed),
                "score": g.score,
            });
            let recipe = serde_json::to_string(&recipe).expect("scores serialise");
            items.push(Item {
                content_key: blake3::hash(recipe.as_bytes()).to_hex().to_string(),
                source: format!("{set} item {} ({})", g.id, renderer.describe()),
                id: g.id,
                split,
                labels: g.labels,
            });
            scores.push(g.score);
            noise_seeds.push(noise_seed);
        }
        crate::checks::splits_not_empty(common.name, &items)?;
        let index = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.id.clone(), i))
            .collect();
        Ok(SyntheticMusic {
            name: common.name.to_owned(),
            items,
            scores,
            noise_seeds,
            index,
            renderer,
            warnings: note.into_iter().collect(),
        })
    }

    /// The renderer in use.
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Notes for the user (e.g. `auto` fell back to the built-in synth).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The score of item `id`.
    pub fn score(&self, id: &str) -> Option<&Score> {
        self.index.get(id).map(|&i| &self.scores[i])
    }
}

impl Dataset for SyntheticMusic {
    fn name(&self) -> &str {
        &self.name
    }
    fn items(&self) -> &[Item] {
        &self.items
    }
    fn load(&self, item: &Item, sample_rate: u32) -> Result<Vec<f32>> {
        let &i = self.index.get(&item.id).ok_or_else(|| {
            Error::Other(format!(
                "item \"{}\" is not in dataset \"{}\"",
                item.id, self.name
            ))
        })?;
        match &self.renderer {
            Renderer::Builtin => Ok(builtin::render(
                &self.scores[i],
                sample_rate,
                self.noise_seeds[i],
            )),
            Renderer::SoundFont(sf) => sf.render(&self.scores[i], sample_rate),
        }
    }
}
