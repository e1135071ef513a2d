//! Targets read from item labels, and the scores probes predict for them.

use ndarray::{Array2, Axis};
use repbench_framework::dataset::{Item, Label};
use std::collections::{BTreeMap, BTreeSet};

/// What a task predicts, one entry per item.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class index per item; `names[i]` is class `i` (sorted).
    Classes {
        /// Class index per item.
        y: Vec<usize>,
        /// Class names, sorted.
        names: Vec<String>,
    },
    /// 0/1 per (item, tag); `names[j]` is tag `j` (sorted).
    Tags {
        /// `(items, tags)` indicator matrix.
        y: Array2<f64>,
        /// Tag names, sorted.
        names: Vec<String>,
    },
    /// One number per item.
    Values(Vec<f64>),
}

/// What a probe predicts: class scores `(items, classes)`, tag scores
/// `(items, tags)` or values.
#[derive(Debug, Clone, PartialEq)]
pub enum Scores {
    /// Higher = more likely; the prediction is the argmax.
    Classes(Array2<f64>),
    /// Higher = more likely, per tag.
    Tags(Array2<f64>),
    /// Predicted values.
    Values(Vec<f64>),
}

/// How a task reads its target label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Class names (numbers are treated as names).
    Class,
    /// Tags separated by the given character.
    Tags(char),
    /// Numbers.
    Value,
}

fn label<'a>(item: &'a Item, target: &str) -> Result<&'a Label, String> {
    item.labels.get(target).ok_or_else(|| {
        let available: Vec<&str> = item.labels.keys().map(String::as_str).collect();
        format!(
            "item \"{}\" has no label \"{target}\"; its labels are: {}",
            item.id,
            available.join(", ")
        )
    })
}

impl Targets {
    /// Reads `target` from every item. Errors name the item and say what
    /// was expected.
    pub fn from_items(items: &[Item], target: &str, kind: TargetKind) -> Result<Targets, String> {
        match kind {
            TargetKind::Class => {
                let names: Vec<String> = items
                    .iter()
                    .map(|it| label(it, target).map(Label::class_name))
                    .collect::<Result<_, _>>()?;
                let classes: Vec<String> = names.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
                let index: BTreeMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
                let y = names.iter().map(|n| index[n.as_str()]).collect();
                Ok(Targets::Classes { y, names: classes })
            }
            TargetKind::Tags(sep) => {
                let per_item: Vec<BTreeSet<String>> = items
                    .iter()
                    .map(|it| {
                        let text = match it.labels.get(target) {
                            // An item without the column has no tags (a valid multilabel row).
                            None => String::new(),
                            Some(l) => l.class_name(),
                        };
                        text.split(sep).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
                    })
                    .collect();
                let names: Vec<String> = per_item.iter().flatten().cloned().collect::<BTreeSet<_>>().into_iter().collect();
                if names.is_empty() {
                    return Err(format!("no item has any tag in \"{target}\" (tags separated by '{sep}')"));
                }
                let y = Array2::from_shape_fn((items.len(), names.len()), |(i, j)| f64::from(per_item[i].contains(&names[j])));
                Ok(Targets::Tags { y, names })
            }
            TargetKind::Value => items
                .iter()
                .map(|it| match label(it, target)? {
                    Label::Number(x) if x.is_finite() => Ok(*x),
                    other => Err(format!(
                        "item \"{}\": label \"{target}\" is {:?}, expected a finite number for regression",
                        it.id,
                        other.class_name()
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Targets::Values),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { y, .. } => y.len(),
            Targets::Tags { y, .. } => y.nrows(),
            Targets::Values(v) => v.len(),
        }
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes { y, names } => Targets::Classes {
                y: idx.iter().map(|&i| y[i]).collect(),
                names: names.clone(),
            },
            Targets::Tags { y, names } => Targets::Tags {
                y: y.select(Axis(0), idx),
                names: names.clone(),
            },
            Targets::Values(v) => Targets::Values(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Number of output columns a probe must predict.
    pub fn n_outputs(&self) -> usize {
        match self {
            Targets::Classes { names, .. } | Targets::Tags { names, .. } => names.len(),
            Targets::Values(_) => 1,
        }
    }

    /// Targets as a dense `(items, outputs)` matrix: one-hot classes, tag
    /// indicators, or the values as one column (what ridge and the MLP fit).
    pub fn dense(&self) -> Array2<f64> {
        match self {
            Targets::Classes { y, names } => {
                Array2::from_shape_fn((y.len(), names.len()), |(i, c)| f64::from(y[i] == c))
            }
            Targets::Tags { y, .. } => y.clone(),
            Targets::Values(v) => {
                Array2::from_shape_vec((v.len(), 1), v.clone()).expect("length matches")
            }
        }
    }

    /// The targets as `predictions.jsonl` writes them: the kind
    /// (`classes`, `tags`, `values`), the names, and per item the class
    /// index, the 0/1 tag row or the value.
    pub fn to_export(&self) -> (&'static str, Vec<String>, serde_json::Value) {
        match self {
            Targets::Classes { y, names } => ("classes", names.clone(), serde_json::json!(y)),
            Targets::Tags { y, names } => {
                let rows: Vec<Vec<u8>> = y
                    .outer_iter()
                    .map(|r| r.iter().map(|&v| u8::from(v > 0.5)).collect())
                    .collect();
                ("tags", names.clone(), serde_json::json!(rows))
            }
            Targets::Values(v) => ("values", Vec::new(), serde_json::json!(v)),
        }
    }

    /// Inverse of [`Targets::to_export`]; the error says what is wrong.
    pub fn from_export(
        kind: &str,
        names: &[String],
        truth: &serde_json::Value,
    ) -> Result<Targets, String> {
        let bad = |e: serde_json::Error| format!("truth does not match target \"{kind}\": {e}");
        match kind {
            "classes" => {
                let y: Vec<usize> = serde_json::from_value(truth.clone()).map_err(bad)?;
                if let Some(c) = y.iter().find(|&&c| c >= names.len()) {
                    return Err(format!("class index {c} but {} names", names.len()));
                }
                Ok(Targets::Classes {
                    y,
                    names: names.to_vec(),
                })
            }
            "tags" => {
                let rows: Vec<Vec<f64>> = serde_json::from_value(truth.clone()).map_err(bad)?;
                if let Some(r) = rows.iter().find(|r| r.len() != names.len()) {
                    return Err(format!(
                        "a tag row of {} values but {} names",
                        r.len(),
                        names.len()
                    ));
                }
                let y = Array2::from_shape_fn((rows.len(), names.len()), |(i, j)| rows[i][j]);
                Ok(Targets::Tags {
                    y,
                    names: names.to_vec(),
                })
            }
            "values" => Ok(Targets::Values(
                serde_json::from_value(truth.clone()).map_err(bad)?,
            )),
            other => Err(format!(
                "unknown target \"{other}\" (expected classes, tags or values)"
            )),
        }
    }

    /// Wraps a dense `(items, outputs)` prediction in the matching score type.
    pub fn scores_from_dense(&self, m: Array2<f64>) -> Scores {
        match self {
            Targets::Classes { .. } => Scores::Classes(m),
            Targets::Tags { .. } => Scores::Tags(m),
            Targets::Values(_) => Scores::Values(m.column(0).to_vec()),
        }
    }
}

impl Scores {
    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Scores {
        match self {
            Scores::Classes(m) => Scores::Classes(m.select(Axis(0), idx)),
            Scores::Tags(m) => Scores::Tags(m.select(Axis(0), idx)),
            Scores::Values(v) => Scores::Values(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Predicted class per row (argmax; the first of tied maxima).
    pub fn argmax(&self) -> Vec<usize> {
        match self {
            Scores::Classes(m) | Scores::Tags(m) => m
                .outer_iter()
                .map(|row| {
                    row.iter()
                        .enumerate()
                        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                            if v > best.1 {
                                (i, v)
                            } else {
                                best
                            }
                        })
                        .0
                })
                .collect(),
            Scores::Values(_) => Vec::new(),
        }
    }

    /// Rows as plain vectors, for serialisation.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        match self {
            Scores::Classes(m) | Scores::Tags(m) => m.outer_iter().map(|r| r.to_vec()).collect(),
            Scores::Values(v) => v.iter().map(|x| vec![*x]).collect(),
        }
    }

    /// Inverse of [`Scores::to_rows`] for the kind of `targets`.
    pub fn from_rows(targets: &Targets, rows: &[Vec<f64>]) -> Scores {
        let cols = rows.first().map_or(0, Vec::len);
        let m = Array2::from_shape_fn((rows.len(), cols), |(i, j)| rows[i][j]);
        targets.scores_from_dense(m)
    }
}
