//! Checks every dataset's items pass: unique ids and three non-empty
//! splits (errors), and class coverage across splits (warnings).

use repbench_framework::dataset::{Item, Split};
use repbench_framework::{Error, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Errors on the first id listed twice, naming both places.
pub fn unique_ids<'a>(ids: impl Iterator<Item = (&'a str, &'a str)>) -> Result<()> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (id, origin) in ids {
        if let Some(first) = seen.insert(id, origin) {
            return Err(Error::Other(format!(
                "{origin}: duplicate id \"{id}\" (first at {first}); ids must be unique"
            )));
        }
    }
    Ok(())
}

/// Errors when train, valid or test has no item: a probe could not be
/// trained, selected or scored.
pub fn splits_not_empty(name: &str, items: &[Item]) -> Result<()> {
    let count = |s: Split| items.iter().filter(|i| i.split == s).count();
    let empty: Vec<&str> = Split::ALL
        .into_iter()
        .filter(|s| count(*s) == 0)
        .map(Split::as_str)
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    Err(Error::Other(format!(
        "dataset \"{name}\": split(s) {} have no items (train {}, valid {}, test {}); \
         every split needs items: check the split column or lists, or set a `split` option \
         such as {{ method = \"random\", train = 0.6, valid = 0.2, test = 0.2 }}",
        empty.join(", "),
        count(Split::Train),
        count(Split::Valid),
        count(Split::Test)
    )))
}

/// For each label in `labels` (classes, or tags separated by `;`): values
/// found in valid or test but never in train. A probe cannot learn such a
/// class, so its items are scored as errors; this is a warning, not an
/// error, because official splits sometimes have rare classes like this.
pub fn class_coverage(name: &str, items: &[Item], labels: &[&str]) -> Vec<String> {
    let mut warnings = Vec::new();
    for &label in labels {
        let mut by_split: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        for item in items {
            let Some(value) = item.labels.get(label) else {
                continue;
            };
            let slot = match item.split {
                Split::Train => 0,
                Split::Valid => 1,
                Split::Test => 2,
            };
            let text = value.class_name();
            let classes: BTreeSet<&str> = text
                .split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            for class in classes {
                by_split.entry(class.to_owned()).or_default()[slot] += 1;
            }
        }
        let missing: Vec<String> = by_split
            .iter()
            .filter(|(_, [train, valid, test])| *train == 0 && valid + test > 0)
            .map(|(class, [_, valid, test])| format!("\"{class}\" (valid {valid}, test {test})"))
            .collect();
        if !missing.is_empty() {
            let shown = missing
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if missing.len() > 10 {
                format!(" and {} more", missing.len() - 10)
            } else {
                String::new()
            };
            warnings.push(format!(
                "dataset \"{name}\": label \"{label}\": {} class(es) appear in valid/test but never in train: {shown}{more}",
                missing.len()
            ));
        }
    }
    warnings
}
