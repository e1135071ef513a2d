//! The interaction log and its temporal split (Tamm & Aljanaki 2024, §3):
//! interactions before the cut-off train, later ones evaluate; evaluated
//! users are split in half between validation and test; a user is scored
//! on items they had not listened to before the cut-off.

use rand::seq::SliceRandom;
use repbench_framework::seed;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An interaction log as read from its file: one entry per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InteractionLog {
    /// The file, for messages.
    pub source: String,
    /// `user_id` per row.
    pub users: Vec<String>,
    /// `item_id` per row.
    pub items: Vec<String>,
    /// `timestamp` per row, seconds since 1970-01-01 UTC.
    pub times: Vec<i64>,
}

/// One evaluated user: who, and which candidates they went on to hear.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalUser {
    /// Index into [`RecSplit::users`].
    pub user: usize,
    /// Dataset rows of the items they listened to after the cut-off and
    /// not before it (ascending), all among the candidates.
    pub relevant: Vec<usize>,
}

/// The split a recommendation task evaluates on.
#[derive(Debug, Clone)]
pub struct RecSplit {
    /// Dataset item ids, in dataset order (rows of the embeddings).
    pub item_ids: Vec<String>,
    /// Users with a train history, sorted by id.
    pub users: Vec<String>,
    /// Each user's items before the cut-off (dataset rows, ascending).
    pub history: Vec<Vec<usize>>,
    /// Distinct `(user, item row)` pairs before the cut-off, sorted.
    pub train: Vec<(usize, usize)>,
    /// Items someone heard before the cut-off (dataset rows, ascending).
    pub heard: Vec<usize>,
    /// Items every user is ranked over: those heard before the cut-off
    /// (warm), or in cold-start mode those never heard before it.
    pub candidates: Vec<usize>,
    /// Validation users (early stopping, model selection), by user index.
    pub valid: Vec<EvalUser>,
    /// Test users (the reported scores), by user index.
    pub test: Vec<EvalUser>,
    /// What was left out, for the run's warnings.
    pub notes: Vec<String>,
}

/// Why a log cannot be split, by the config key to change.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitFault {
    /// The log itself (no usable interaction, no user left).
    Log(String),
    /// The cut-off (outside the log's time range).
    Cutoff(String),
}

impl SplitFault {
    /// The task key the message is about.
    pub fn key(&self) -> &'static str {
        match self {
            SplitFault::Log(_) => "interactions",
            SplitFault::Cutoff(_) => "cutoff",
        }
    }
}

impl std::fmt::Display for SplitFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitFault::Log(m) | SplitFault::Cutoff(m) => f.write_str(m),
        }
    }
}

/// Examples for a message: the first three, quoted.
fn examples<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .take(3)
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RecSplit {
    /// Splits `log` at `cutoff` (seconds) over the dataset items
    /// `item_ids`; `cold_start` evaluates only items never heard before
    /// the cut-off. Users are halved between validation and test by a
    /// stream seeded with `(seed_value, task)`. An error says what to
    /// change: no log item is a dataset item, the cut-off leaves one side
    /// empty, no user is left to evaluate.
    pub fn build(
        log: &InteractionLog,
        item_ids: &[String],
        cutoff: i64,
        cold_start: bool,
        seed_value: u64,
        task: &str,
    ) -> Result<RecSplit, SplitFault> {
        let row_of: HashMap<&str, usize> = item_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let matched: Vec<(usize, usize)> = (0..log.items.len())
            .filter_map(|r| row_of.get(log.items[r].as_str()).map(|&row| (r, row)))
            .collect();
        let mut notes = Vec::new();
        if matched.is_empty() {
            return Err(SplitFault::Log(format!(
                "{}: none of its {} interactions names an item of the dataset (log item ids such as {}; dataset ids such as {}); `item_id` must be the dataset's item `id`",
                log.source,
                log.items.len(),
                examples(log.items.iter().map(String::as_str)),
                examples(item_ids.iter().map(String::as_str)),
            )));
        }
        if matched.len() < log.items.len() {
            let unmatched: BTreeSet<&str> = (0..log.items.len())
                .filter(|&r| !row_of.contains_key(log.items[r].as_str()))
                .map(|r| log.items[r].as_str())
                .collect();
            notes.push(format!(
                "{}: {} of {} interactions name items that are not in the dataset (e.g. {}); they are left out",
                log.source,
                log.items.len() - matched.len(),
                log.items.len(),
                examples(unmatched.iter().copied())
            ));
        }
        let (first, last) = matched
            .iter()
            .map(|&(r, _)| log.times[r])
            .fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if cutoff <= first || cutoff > last {
            return Err(SplitFault::Cutoff(format!(
                "the cutoff ({}) must lie after the log's first interaction ({}) and not after its last ({}), so that both train and evaluation interactions exist",
                format_time(cutoff),
                format_time(first),
                format_time(last)
            )));
        }
        let mut history_by_id: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        let mut later_by_id: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for &(r, row) in &matched {
            let side = if log.times[r] < cutoff {
                &mut history_by_id
            } else {
                &mut later_by_id
            };
            side.entry(log.users[r].as_str()).or_default().insert(row);
        }
        let users: Vec<String> = history_by_id.keys().map(|u| u.to_string()).collect();
        let user_index: HashMap<&str, usize> = history_by_id
            .keys()
            .enumerate()
            .map(|(i, u)| (*u, i))
            .collect();
        let history: Vec<Vec<usize>> = history_by_id
            .values()
            .map(|s| s.iter().copied().collect())
            .collect();
        let train: Vec<(usize, usize)> = history
            .iter()
            .enumerate()
            .flat_map(|(u, items)| items.iter().map(move |&i| (u, i)))
            .collect();
        let heard: Vec<usize> = history
            .iter()
            .flatten()
            .copied()
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect();
        let candidates: Vec<usize> = if cold_start {
            (0..item_ids.len())
                .filter(|i| heard.binary_search(i).is_err())
                .collect()
        } else {
            heard.clone()
        };
        let eligible: BTreeSet<usize> = candidates.iter().copied().collect();
        let newcomers: Vec<&str> = later_by_id
            .keys()
            .filter(|u| !user_index.contains_key(*u))
            .copied()
            .collect();
        if !newcomers.is_empty() {
            notes.push(format!(
                "{}: {} users have interactions only after the cutoff (no train history, e.g. {}); a content model cannot place them, so they are left out",
                log.source,
                newcomers.len(),
                examples(newcomers.iter().copied())
            ));
        }
        let mut evaluated: Vec<EvalUser> = later_by_id
            .iter()
            .filter_map(|(u, items)| {
                let user = *user_index.get(u)?;
                let relevant: Vec<usize> = items
                    .iter()
                    .copied()
                    .filter(|i| eligible.contains(i) && history[user].binary_search(i).is_err())
                    .collect();
                (!relevant.is_empty()).then_some(EvalUser { user, relevant })
            })
            .collect();
        let silent = later_by_id
            .keys()
            .filter(|u| user_index.contains_key(*u))
            .count()
            - evaluated.len();
        if silent > 0 {
            notes.push(format!(
                "{}: {silent} users with a history hear nothing after the cutoff that is new to them and {}; they are not evaluated",
                log.source,
                if cold_start {
                    "never heard before it by anyone"
                } else {
                    "heard before it by someone"
                }
            ));
        }
        if evaluated.len() < 2 {
            let what = if cold_start {
                "items never heard before it"
            } else {
                "items heard before it by someone, new to them"
            };
            let newcomers = if newcomers.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} users listen after it but have no train history, e.g. {})",
                    newcomers.len(),
                    examples(newcomers.iter().copied())
                )
            };
            return Err(SplitFault::Log(format!(
                "{}: {} users with a train history listen after the cutoff ({}) to {what}{newcomers}; at least 2 are needed (one validation, one test): move the cutoff earlier or use a longer log",
                log.source,
                evaluated.len(),
                format_time(cutoff)
            )));
        }
        evaluated.shuffle(&mut seed::rng(
            seed_value,
            &["recommendation", task, "users"],
        ));
        let mut test = evaluated.split_off(evaluated.len() / 2);
        let mut valid = evaluated;
        valid.sort_by_key(|e| e.user);
        test.sort_by_key(|e| e.user);
        Ok(RecSplit {
            item_ids: item_ids.to_vec(),
            users,
            history,
            train,
            heard,
            candidates,
            valid,
            test,
            notes,
        })
    }
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ`, for messages.
pub fn format_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// Reads a timestamp to whole seconds (fractions are dropped): seconds
/// since 1970-01-01 UTC (integer or decimal), an RFC 3339
/// date-time (`2021-03-04T05:06:07Z`, any offset), a date-time without
/// an offset (read as UTC), or a date (`2021-03-04`, midnight UTC).
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(s) = text.parse::<i64>() {
        return Some(s);
    }
    // Fractional seconds (a float column): whole seconds, as every other
    // form is read; far-off values are not times.
    if let Ok(s) = text.parse::<f64>() {
        return (s.is_finite() && s.abs() < 1e13).then(|| s.floor() as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn log(rows: &[(&str, &str, i64)]) -> InteractionLog {
        InteractionLog {
            source: "log.csv".into(),
            users: rows.iter().map(|r| r.0.into()).collect(),
            items: rows.iter().map(|r| r.1.into()).collect(),
            times: rows.iter().map(|r| r.2 * DAY).collect(),
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("i{i}")).collect()
    }

    fn sample() -> InteractionLog {
        log(&[
            ("a", "i0", 1),
            ("a", "i1", 2),
            ("a", "i2", 12), // new to a, heard before by b: warm
            ("a", "i0", 13), // heard by a before: never relevant
            ("b", "i2", 3),
            ("b", "i1", 11),
            ("b", "i4", 14), // never heard before the cutoff: cold
            ("c", "i0", 4),
            ("c", "i4", 15),
            ("d", "i1", 16), // no history: left out with a note
            ("a", "zz", 5),  // not a dataset item: left out with a note
        ])
    }

    #[test]
    fn a_temporal_split_keeps_new_items_of_users_with_history() {
        let s = RecSplit::build(&sample(), &ids(5), 10 * DAY, false, 0, "t").unwrap();
        assert_eq!(s.users, ["a", "b", "c"]);
        assert_eq!(s.history, [vec![0, 1], vec![2], vec![0]]);
        assert_eq!(
            s.candidates,
            [0, 1, 2],
            "warm: items heard before the cutoff"
        );
        let mut all: Vec<EvalUser> = s.valid.iter().chain(&s.test).cloned().collect();
        all.sort_by_key(|e| e.user);
        // a: i2 (i0 was heard before); b: i1; c: i4 is cold, so no one.
        assert_eq!(
            all,
            [
                EvalUser {
                    user: 0,
                    relevant: vec![2]
                },
                EvalUser {
                    user: 1,
                    relevant: vec![1]
                }
            ]
        );
        assert_eq!((s.valid.len(), s.test.len()), (1, 1));
        assert!(
            s.notes.iter().any(|n| n.contains("\"zz\"")),
            "{:?}",
            s.notes
        );
        assert!(s
            .notes
            .iter()
            .any(|n| n.contains("\"d\"") && n.contains("no train history")));
    }

    #[test]
    fn cold_start_ranks_only_items_never_heard_before_the_cutoff() {
        let s = RecSplit::build(&sample(), &ids(5), 10 * DAY, true, 0, "t").unwrap();
        assert_eq!(s.candidates, [3, 4]);
        let mut all: Vec<EvalUser> = s.valid.iter().chain(&s.test).cloned().collect();
        all.sort_by_key(|e| e.user);
        assert_eq!(
            all,
            [
                EvalUser {
                    user: 1,
                    relevant: vec![4]
                },
                EvalUser {
                    user: 2,
                    relevant: vec![4]
                }
            ]
        );
    }

    #[test]
    fn bad_logs_and_cutoffs_say_what_to_change() {
        let other = log(&[("a", "x1", 1), ("b", "x2", 20)]);
        let err = RecSplit::build(&other, &ids(3), 10 * DAY, false, 0, "t").unwrap_err();
        assert_eq!(err.key(), "interactions");
        let err = err.to_string();
        assert!(
            err.contains("log.csv") && err.contains("\"x1\"") && err.contains("\"i0\""),
            "{err}"
        );
        for cutoff in [0, 1, 30] {
            let err = RecSplit::build(&sample(), &ids(5), cutoff * DAY, false, 0, "t").unwrap_err();
            assert_eq!(err.key(), "cutoff");
            let err = err.to_string();
            assert!(
                err.contains("cutoff (1970-01-") && err.contains("first interaction"),
                "{err}"
            );
        }
        let err = RecSplit::build(&sample(), &ids(5), 16 * DAY, false, 0, "t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at least 2") && err.contains("cutoff earlier"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_read_as_seconds_dates_and_date_times() {
        assert_eq!(parse_time("86400"), Some(DAY));
        assert_eq!(parse_time("86400.75"), Some(DAY));
        assert_eq!(parse_time("1e300"), None);
        assert_eq!(parse_time("1970-01-02"), Some(DAY));
        assert_eq!(parse_time("1970-01-02T01:00:00Z"), Some(DAY + 3600));
        assert_eq!(parse_time("1970-01-02T02:00:00+01:00"), Some(DAY + 3600));
        assert_eq!(parse_time("1970-01-02 01:00:00"), Some(DAY + 3600));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(format_time(DAY + 3600), "1970-01-02T01:00:00Z");
    }
}
