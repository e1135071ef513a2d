//! Seeded splits: plain fractions, stratified fractions, group-disjoint
//! fractions and k-fold.
//!
//! [`SplitFractions`] is the plain `{ train, valid, test }` table used by
//! `synthetic_tones`. [`SplitSpec`] is the `split = { method = …, … }` option
//! of manifests, corpora and the synthetic music sets:
//!
//! | `method` | other keys | what it does |
//! |---|---|---|
//! | `"random"` (default) | `train`, `valid`, `test` | seeded shuffle, then cut by fractions |
//! | `"stratified"` | `by`, `train`, `valid`, `test` | the same within each class of label `by`, so every split has each class's share |
//! | `"group"` | `by`, `train`, `valid`, `test` | whole groups of label `by` (artist, singer, …) go to one split; fractions are approximate item shares |
//! | `"kfold"` | `k`, `fold`, optional `by` | items dealt into `k` folds (stratified by `by` when given); fold `fold` is test, fold `(fold + 1) % k` valid, the rest train |
//!
//! Fractions default to 0.6 / 0.2 / 0.2 and must sum to 1; `fold` defaults
//! to 0. Assignment depends only on the items' ids (and `by` labels) and the
//! seed, not on the order the items were listed in.

use rand::seq::SliceRandom;
use repbench_framework::dataset::{Label, Split};
use repbench_framework::{seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fractions of items per split; they must sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFractions {
    /// Share of training items.
    pub train: f64,
    /// Share of validation items.
    pub valid: f64,
    /// Share of test items.
    pub test: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        SplitFractions {
            train: 0.6,
            valid: 0.2,
            test: 0.2,
        }
    }
}

impl SplitFractions {
    /// Each fraction in (0, 1) and the three summing to 1.
    pub fn validate(&self, key: &str) -> Result<()> {
        let all = [self.train, self.valid, self.test];
        if all.iter().any(|f| !(f.is_finite() && *f > 0.0 && *f < 1.0)) {
            return Err(Error::config(
                key,
                format!("each fraction must be in (0, 1); got {all:?}"),
            ));
        }
        let sum: f64 = all.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::config(
                key,
                format!(
                    "train + valid + test must be 1 (got {} + {} + {} = {})",
                    self.train,
                    self.valid,
                    self.test,
                    (sum * 1e6).round() / 1e6
                ),
            ));
        }
        Ok(())
    }

    /// Assigns `n` items to splits: a seeded shuffle, then the first
    /// `round(n * train)` go to train, the next `round(n * valid)` to valid,
    /// the rest to test.
    pub fn assign(&self, n: usize, seed_value: u64, stream: &[&str]) -> Vec<Split> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut seed::rng(seed_value, stream));
        let mut splits = vec![Split::Test; n];
        cut(&order, *self, &mut splits);
        splits
    }
}

/// Gives the first `round(len * train)` of `order` train, the next
/// `round(len * valid)` valid, the rest test.
fn cut(order: &[usize], f: SplitFractions, splits: &mut [Split]) {
    let n = order.len();
    let n_train = ((n as f64 * f.train).round() as usize).min(n);
    let n_valid = ((n as f64 * f.valid).round() as usize).min(n - n_train);
    for (rank, &i) in order.iter().enumerate() {
        splits[i] = if rank < n_train {
            Split::Train
        } else if rank < n_train + n_valid {
            Split::Valid
        } else {
            Split::Test
        };
    }
}

/// How a [`SplitSpec`] assigns items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMethod {
    /// Seeded shuffle cut by fractions.
    #[default]
    Random,
    /// Fractions within each class of label `by`.
    Stratified,
    /// Whole groups of label `by` per split.
    Group,
    /// Fold `fold` of `k` is test, the next fold valid.
    Kfold,
}

impl SplitMethod {
    fn as_str(self) -> &'static str {
        match self {
            SplitMethod::Random => "random",
            SplitMethod::Stratified => "stratified",
            SplitMethod::Group => "group",
            SplitMethod::Kfold => "kfold",
        }
    }
}

/// The `split = { method = …, … }` option (see the module docs for the
/// keys each method takes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// How items are assigned; default `random`.
    #[serde(default)]
    pub method: SplitMethod,
    /// Label to stratify by (`stratified`, optional for `kfold`) or to group
    /// by (`group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Share of training items (default 0.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<f64>,
    /// Share of validation items (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<f64>,
    /// Share of test items (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<f64>,
    /// Number of folds (`kfold` only; at least 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// The test fold, `0..k` (`kfold` only; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
}

impl SplitSpec {
    /// Seeded random fractions.
    pub fn random(f: SplitFractions) -> Self {
        SplitSpec {
            train: Some(f.train),
            valid: Some(f.valid),
            test: Some(f.test),
            ..SplitSpec::default()
        }
    }

    /// Stratified by label `by` with the default fractions.
    pub fn stratified(by: &str) -> Self {
        SplitSpec {
            method: SplitMethod::Stratified,
            by: Some(by.into()),
            ..SplitSpec::default()
        }
    }

    /// Group-disjoint by label `by` with the default fractions.
    pub fn group(by: &str) -> Self {
        SplitSpec {
            method: SplitMethod::Group,
            by: Some(by.into()),
            ..SplitSpec::default()
        }
    }

    /// The fractions, defaults filled in.
    pub fn fractions(&self) -> SplitFractions {
        let d = SplitFractions::default();
        SplitFractions {
            train: self.train.unwrap_or(d.train),
            valid: self.valid.unwrap_or(d.valid),
            test: self.test.unwrap_or(d.test),
        }
    }

    /// Checks that the keys fit the method; `key` is the option's config path.
    pub fn validate(&self, key: &str) -> Result<()> {
        let method = self.method.as_str();
        let has_fractions = self.train.is_some() || self.valid.is_some() || self.test.is_some();
        let unused = |field: &str| {
            Err(Error::config(
                format!("{key}.{field}"),
                format!("is not used by method \"{method}\"; remove it"),
            ))
        };
        match self.method {
            SplitMethod::Random | SplitMethod::Stratified | SplitMethod::Group => {
                if self.k.is_some() {
                    return unused("k");
                }
                if self.fold.is_some() {
                    return unused("fold");
                }
                self.fractions().validate(key)?;
            }
            SplitMethod::Kfold => {
                if has_fractions {
                    return Err(Error::config(
                        key,
                        "method \"kfold\" takes k and fold, not train/valid/test fractions",
                    ));
                }
                let k = self.k.ok_or_else(|| {
                    Error::config(
                        format!("{key}.k"),
                        "method \"kfold\" needs k, the number of folds (at least 3)",
                    )
                })?;
                if k < 3 {
                    return Err(Error::config(
                        format!("{key}.k"),
                        format!("must be at least 3 (test, valid and train folds); got {k}"),
                    ));
                }
                let fold = self.fold.unwrap_or(0);
                if fold >= k {
                    return Err(Error::config(
                        format!("{key}.fold"),
                        format!("must be in 0..{k} (got {fold})"),
                    ));
                }
            }
        }
        match (self.method, &self.by) {
            (SplitMethod::Random, Some(_)) => unused("by"),
            (SplitMethod::Stratified | SplitMethod::Group, None) => Err(Error::config(
                format!("{key}.by"),
                format!("method \"{method}\" needs `by`, the label to {method} by"),
            )),
            (_, Some(by)) if by.trim().is_empty() => {
                Err(Error::config(format!("{key}.by"), "must name a label"))
            }
            _ => Ok(()),
        }
    }

    /// Assigns a split to each item, given its id and labels. Errors name
    /// an item that lacks the `by` label and say when there are too few
    /// items or groups for three non-empty splits.
    pub fn assign(
        &self,
        ids: &[&str],
        labels: &[&BTreeMap<String, Label>],
        seed_value: u64,
    ) -> Result<Vec<Split>> {
        self.validate("split")?;
        let n = ids.len();
        let by_values: Option<Vec<String>> = match &self.by {
            None => None,
            Some(by) => Some(
                ids.iter()
                    .zip(labels)
                    .map(|(id, l)| {
                        l.get(by).map(Label::class_name).ok_or_else(|| {
                            Error::Other(format!(
                                "split by \"{by}\": item \"{id}\" has no label \"{by}\""
                            ))
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
        };
        let stream = |extra: &str| {
            seed::rng(
                seed_value,
                &[
                    "split",
                    self.method.as_str(),
                    self.by.as_deref().unwrap_or(""),
                    extra,
                ],
            )
        };
        // Sorting by id first makes the result independent of listing order.
        let mut sorted: Vec<usize> = (0..n).collect();
        sorted.sort_by(|&a, &b| ids[a].cmp(ids[b]));
        let mut splits = vec![Split::Test; n];
        match self.method {
            SplitMethod::Random => {
                sorted.shuffle(&mut stream(""));
                cut(&sorted, self.fractions(), &mut splits);
            }
            SplitMethod::Stratified => {
                let values = by_values.expect("validated: stratified has `by`");
                for (class, mut members) in classes(&sorted, &values) {
                    members.shuffle(&mut stream(&class));
                    cut(&members, self.fractions(), &mut splits);
                }
            }
            SplitMethod::Group => {
                let values = by_values.expect("validated: group has `by`");
                let groups = classes(&sorted, &values);
                if groups.len() < 3 {
                    return Err(Error::Other(format!(
                        "split by groups of \"{}\": only {} group(s) ({}); three are needed for train, valid and test",
                        self.by.as_deref().unwrap_or(""),
                        groups.len(),
                        groups.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                let mut groups: Vec<(String, Vec<usize>)> = groups.into_iter().collect();
                groups.shuffle(&mut stream(""));
                let f = self.fractions();
                assign_groups(&groups, [f.train, f.valid, f.test], n, &mut splits);
            }
            SplitMethod::Kfold => {
                let k = self.k.expect("validated: kfold has k");
                let fold = self.fold.unwrap_or(0);
                if n < k {
                    return Err(Error::Other(format!(
                        "kfold: {n} item(s) cannot fill {k} folds"
                    )));
                }
                // Dealing consecutive items round-robin keeps every fold's
                // class mix (with `by`) and size within one item of the rest.
                let mut dealt: Vec<usize> = Vec::with_capacity(n);
                match by_values {
                    None => {
                        sorted.shuffle(&mut stream(""));
                        dealt = sorted;
                    }
                    Some(values) => {
                        for (class, mut members) in classes(&sorted, &values) {
                            members.shuffle(&mut stream(&class));
                            dealt.extend(members);
                        }
                    }
                }
                for (rank, &i) in dealt.iter().enumerate() {
                    let f = rank % k;
                    splits[i] = if f == fold {
                        Split::Test
                    } else if f == (fold + 1) % k {
                        Split::Valid
                    } else {
                        Split::Train
                    };
                }
            }
        }
        Ok(splits)
    }
}

/// Item indices per class (classes sorted, members in `sorted` order).
fn classes(sorted: &[usize], values: &[String]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in sorted {
        out.entry(values[i].clone()).or_default().push(i);
    }
    out
}

/// Puts each group, in the given order, into the split that is furthest
/// below its target share (relative to the target), ties going to test,
/// then valid, then train, so that the first three groups seed all three
/// splits. Splits with a zero share get nothing.
fn assign_groups(
    groups: &[(String, Vec<usize>)],
    shares: [f64; 3],
    n_items: usize,
    splits: &mut [Split],
) {
    let order = [Split::Test, Split::Valid, Split::Train];
    let share_of = |s: Split| match s {
        Split::Train => shares[0],
        Split::Valid => shares[1],
        Split::Test => shares[2],
    };
    let mut counts = [0usize; 3];
    for (_, members) in groups {
        let mut best: Option<(usize, f64)> = None;
        for (slot, &s) in order.iter().enumerate() {
            let target = share_of(s) * n_items as f64;
            if target <= 0.0 {
                continue;
            }
            let deficit = (target - counts[slot] as f64) / target;
            if best.is_none_or(|(_, d)| deficit > d) {
                best = Some((slot, deficit));
            }
        }
        let slot = best.map_or(2, |(slot, _)| slot);
        counts[slot] += members.len();
        for &i in members {
            splits[i] = order[slot];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn assign_counts_and_is_seeded() {
        let f = SplitFractions::default();
        let a = f.assign(100, 3, &["x"]);
        assert_eq!(a.iter().filter(|s| **s == Split::Train).count(), 60);
        assert_eq!(a.iter().filter(|s| **s == Split::Valid).count(), 20);
        assert_eq!(a.iter().filter(|s| **s == Split::Test).count(), 20);
        assert_eq!(a, f.assign(100, 3, &["x"]));
        assert_ne!(a, f.assign(100, 4, &["x"]));
        let bad = SplitFractions {
            train: 0.5,
            valid: 0.2,
            test: 0.2,
        };
        assert!(bad
            .validate("datasets[0].split")
            .unwrap_err()
            .to_string()
            .contains("must be 1"));
    }

    /// `n` items with ids `item-NNN`, label `genre` cycling through `classes`
    /// and label `artist` = `artist-{i / per_artist}`.
    fn items(
        n: usize,
        classes: &[&str],
        per_artist: usize,
    ) -> Vec<(String, BTreeMap<String, Label>)> {
        (0..n)
            .map(|i| {
                let mut l = BTreeMap::new();
                l.insert(
                    "genre".into(),
                    Label::Text(classes[i % classes.len()].into()),
                );
                l.insert(
                    "artist".into(),
                    Label::Text(format!("artist-{}", i / per_artist)),
                );
                (format!("item-{i:03}"), l)
            })
            .collect()
    }

    fn run(spec: &SplitSpec, data: &[(String, BTreeMap<String, Label>)], seed: u64) -> Vec<Split> {
        spec.validate("split").unwrap();
        let ids: Vec<&str> = data.iter().map(|(id, _)| id.as_str()).collect();
        let labels: Vec<&BTreeMap<String, Label>> = data.iter().map(|(_, l)| l).collect();
        spec.assign(&ids, &labels, seed).unwrap()
    }

    fn count(s: &[Split], which: Split) -> usize {
        s.iter().filter(|x| **x == which).count()
    }

    #[test]
    fn random_counts_deterministic_and_order_independent() {
        let data = items(50, &["a"], 1);
        let spec = SplitSpec::random(SplitFractions {
            train: 0.7,
            valid: 0.1,
            test: 0.2,
        });
        let a = run(&spec, &data, 1);
        assert_eq!(
            (
                count(&a, Split::Train),
                count(&a, Split::Valid),
                count(&a, Split::Test)
            ),
            (35, 5, 10)
        );
        assert_eq!(a, run(&spec, &data, 1));
        assert_ne!(a, run(&spec, &data, 2));
        let mut reversed = data.clone();
        reversed.reverse();
        let mut b = run(&spec, &reversed, 1);
        b.reverse();
        assert_eq!(a, b, "listing order must not change the assignment");
    }

    #[test]
    fn stratified_gives_every_class_its_share() {
        // Unequal classes: 60 rock, 30 jazz, 10 pop (rock jazz rock jazz … pattern aside).
        let mut data = items(60, &["rock"], 1);
        data.extend(
            items(30, &["jazz"], 1)
                .into_iter()
                .map(|(id, l)| (format!("j{id}"), l)),
        );
        data.extend(
            items(10, &["pop"], 1)
                .into_iter()
                .map(|(id, l)| (format!("p{id}"), l)),
        );
        let spec = SplitSpec {
            train: Some(0.7),
            valid: Some(0.1),
            test: Some(0.2),
            ..SplitSpec::stratified("genre")
        };
        let s = run(&spec, &data, 5);
        for (class, n) in [("rock", 60usize), ("jazz", 30), ("pop", 10)] {
            let of: Vec<Split> = data
                .iter()
                .zip(&s)
                .filter(|((_, l), _)| l["genre"] == Label::Text(class.into()))
                .map(|(_, s)| *s)
                .collect();
            let want = |f: f64| (n as f64 * f).round() as usize;
            assert_eq!(count(&of, Split::Train), want(0.7), "{class}");
            assert_eq!(count(&of, Split::Valid), want(0.1), "{class}");
            assert_eq!(
                count(&of, Split::Test),
                n - want(0.7) - want(0.1),
                "{class}"
            );
        }
        assert_eq!(s, run(&spec, &data, 5));
        assert_ne!(s, run(&spec, &data, 6));
    }

    #[test]
    fn group_split_is_disjoint_and_near_the_fractions() {
        let data = items(200, &["a", "b"], 5); // 40 artists of 5 items
        let s = run(&SplitSpec::group("artist"), &data, 9);
        let mut where_: BTreeMap<String, HashSet<Split>> = BTreeMap::new();
        for ((_, l), split) in data.iter().zip(&s) {
            where_
                .entry(l["artist"].class_name())
                .or_default()
                .insert(*split);
        }
        assert!(
            where_.values().all(|set| set.len() == 1),
            "an artist is in two splits"
        );
        assert_eq!(count(&s, Split::Train), 120);
        assert_eq!(count(&s, Split::Valid), 40);
        assert_eq!(count(&s, Split::Test), 40);
        assert_eq!(s, run(&SplitSpec::group("artist"), &data, 9));

        let two_groups = items(10, &["a"], 5);
        let ids: Vec<&str> = two_groups.iter().map(|(id, _)| id.as_str()).collect();
        let labels: Vec<_> = two_groups.iter().map(|(_, l)| l).collect();
        let err = SplitSpec::group("artist")
            .assign(&ids, &labels, 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("only 2 group(s)") && err.contains("artist-1"),
            "{err}"
        );
    }

    #[test]
    fn kfold_rotates_and_covers_every_item_once_as_test() {
        let data = items(50, &["x", "y"], 1);
        let mut test_count = vec![0; 50];
        for fold in 0..5 {
            let spec = SplitSpec {
                method: SplitMethod::Kfold,
                by: Some("genre".into()),
                k: Some(5),
                fold: Some(fold),
                ..SplitSpec::default()
            };
            let s = run(&spec, &data, 2);
            assert_eq!(
                (
                    count(&s, Split::Train),
                    count(&s, Split::Valid),
                    count(&s, Split::Test)
                ),
                (30, 10, 10)
            );
            // Stratified: each fold holds 5 of each genre.
            let x_test = data
                .iter()
                .zip(&s)
                .filter(|((_, l), s)| **s == Split::Test && l["genre"] == Label::Text("x".into()))
                .count();
            assert_eq!(x_test, 5);
            for (i, split) in s.iter().enumerate() {
                test_count[i] += usize::from(*split == Split::Test);
            }
        }
        assert!(test_count.iter().all(|&c| c == 1));
    }

    #[test]
    fn validation_names_the_key_and_the_problem() {
        let err = |toml_like: serde_json::Value| {
            let spec: SplitSpec = serde_json::from_value(toml_like).unwrap();
            spec.validate("datasets[1].split").unwrap_err().to_string()
        };
        assert!(err(serde_json::json!({"method": "stratified"})).contains("datasets[1].split.by"));
        assert!(
            err(serde_json::json!({"method": "kfold", "k": 5, "train": 0.5}))
                .contains("not train/valid/test")
        );
        assert!(
            err(serde_json::json!({"method": "kfold", "k": 5, "fold": 5}))
                .contains("datasets[1].split.fold")
        );
        assert!(err(serde_json::json!({"method": "kfold", "k": 2})).contains("at least 3"));
        assert!(err(serde_json::json!({"by": "genre"})).contains("not used by method \"random\""));
        assert!(err(serde_json::json!({"train": 0.5})).contains("must be 1"));
        assert!(
            serde_json::from_value::<SplitSpec>(serde_json::json!({"method": "folds"})).is_err()
        );
        let missing = items(3, &["a"], 1);
        let ids: Vec<&str> = missing.iter().map(|(id, _)| id.as_str()).collect();
        let labels: Vec<_> = missing.iter().map(|(_, l)| l).collect();
        let e = SplitSpec::stratified("mood")
            .assign(&ids, &labels, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("item-000") && e.contains("\"mood\""), "{e}");
    }
}
