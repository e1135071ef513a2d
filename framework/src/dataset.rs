//! What a dataset is to the rest of repbench: a list of [`Item`]s with a
//! split and labels/factors, and a way to load an item's audio.

use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Which part of the evaluation protocol an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Probe training data.
    Train,
    /// Hyper-parameter selection data.
    Valid,
    /// Held-out data, scored once.
    Test,
}

impl Split {
    /// All splits in protocol order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// Parses `train`, `valid` (also `validation`, `val`) or `test`.
    pub fn parse(s: &str) -> Option<Split> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Some(Split::Train),
            "valid" | "validation" | "val" => Some(Split::Valid),
            "test" => Some(Split::Test),
            _ => None,
        }
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label or factor value: a class name or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    /// A numeric value (regression target or ordinal factor).
    Number(f64),
    /// A class name.
    Text(String),
}

impl Label {
    /// The value as a class name (numbers print in their shortest form).
    pub fn class_name(&self) -> String {
        match self {
            Label::Text(s) => s.clone(),
            Label::Number(x) => format!("{x}"),
        }
    }
}

/// One audio example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique within its dataset.
    pub id: String,
    /// Protocol split.
    pub split: Split,
    /// Labels and factors by name.
    pub labels: BTreeMap<String, Label>,
    /// Hash of the item's audio content (file bytes, or synthetic recipe):
    /// the embedding cache keys on it.
    pub content_key: String,
    /// Where the audio comes from, for messages (a path or a recipe).
    pub source: String,
}

/// A set of items and the means to load their audio.
pub trait Dataset: Send + Sync {
    /// The name from the config.
    fn name(&self) -> &str;
    /// All items, in a stable order.
    fn items(&self) -> &[Item];
    /// Mono audio of `item` at `sample_rate`.
    fn load(&self, item: &Item, sample_rate: u32) -> Result<Vec<f32>>;
}

/// Positions of the items in `split`, in item order.
pub fn rows_in(items: &[Item], split: Split) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.split == split)
        .map(|(i, _)| i)
        .collect()
}

/// Fingerprint of the test set a result was scored on: the test items'
/// ids, labels and content keys, in order (not where the audio lives, so
/// the same data under another path matches). Results are comparable
/// across runs only where it matches.
pub fn test_set_fingerprint(items: &[Item]) -> String {
    let mut h = blake3::Hasher::new();
    for item in items.iter().filter(|it| it.split == Split::Test) {
        let line = serde_json::to_string(&(&item.id, &item.labels, &item.content_key))
            .expect("items serialise to JSON");
        h.update(&(line.len() as u64).to_le_bytes());
        h.update(line.as_bytes());
    }
    h.finalize().to_hex()[..16].to_string()
}

/// Hash over every item's id, split, labels and content key: anything that
/// changes what an evaluator sees changes this digest.
pub fn digest(items: &[Item]) -> String {
    let mut h = blake3::Hasher::new();
    for item in items {
        let line = serde_json::to_string(item).expect("items serialise to JSON");
        h.update(&(line.len() as u64).to_le_bytes());
        h.update(line.as_bytes());
    }
    h.finalize().to_hex().to_string()
}
