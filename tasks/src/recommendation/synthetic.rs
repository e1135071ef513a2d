//! Synthetic listening logs over a labelled dataset, for tests and the
//! example config: each user prefers one value of every chosen factor
//! (timbre, register, …) and picks items that match more of them more
//! often, so an embedding that captures those factors can predict what
//! a user hears next, and one that does not cannot.

use super::split::InteractionLog;
use rand::seq::SliceRandom;
use rand::Rng as _;
use repbench_framework::dataset::{Item, Label};
use repbench_framework::seed;

/// How the log is drawn.
#[derive(Debug, Clone)]
pub struct SyntheticLog {
    /// Number of users.
    pub users: usize,
    /// Mean listens per user (each draws uniformly in ½× to 1½× of it).
    pub listens: usize,
    /// Labels users have preferences over; a number label is cut into
    /// three equal-count bins (low, middle, high).
    pub factors: Vec<String>,
    /// How strongly a matching factor raises an item's odds (`e^strength`
    /// per match).
    pub strength: f64,
    /// Share of items released only at the cut-off (cold items).
    pub new_items: f64,
    /// First day of the log, in seconds since 1970 (UTC).
    pub start: i64,
    /// Days the log spans.
    pub days: u32,
    /// Day of the cut-off the log is made for: new items appear then.
    pub cutoff_day: u32,
}

/// Each item's value index per factor, or an error naming the first
/// item without the label.
fn factor_values(items: &[Item], factor: &str) -> Result<Vec<usize>, String> {
    let labels: Vec<&Label> = items
        .iter()
        .map(|it| {
            it.labels
                .get(factor)
                .ok_or_else(|| format!("item \"{}\" has no label \"{factor}\"", it.id))
        })
        .collect::<Result<_, _>>()?;
    if labels.iter().all(|l| matches!(l, Label::Number(_))) {
        let mut sorted: Vec<f64> = labels
            .iter()
            .map(|l| match l {
                Label::Number(v) => *v,
                _ => unreachable!("all numbers"),
            })
            .collect();
        sorted.sort_by(f64::total_cmp);
        let edges = [sorted[sorted.len() / 3], sorted[2 * sorted.len() / 3]];
        return Ok(labels
            .iter()
            .map(|l| match l {
                Label::Number(v) => edges.iter().filter(|&&e| *v >= e).count(),
                _ => 0,
            })
            .collect());
    }
    let texts: Vec<String> = labels.iter().map(|l| l.class_name()).collect();
    let mut names = texts.clone();
    names.sort();
    names.dedup();
    Ok(texts
        .iter()
        .map(|t| names.binary_search(t).unwrap_or(0))
        .collect())
}

impl SyntheticLog {
    /// The log over `items`, seeded by `seed_value`.
    pub fn draw(&self, items: &[Item], seed_value: u64) -> Result<InteractionLog, String> {
        if items.is_empty() || self.factors.is_empty() || self.users == 0 || self.listens == 0 {
            return Err(
                "a synthetic log needs items, users, listens and at least one factor".into(),
            );
        }
        if self.cutoff_day == 0 || self.cutoff_day >= self.days {
            return Err(format!(
                "the cutoff day ({}) must lie inside the log's {} days",
                self.cutoff_day, self.days
            ));
        }
        let values: Vec<Vec<usize>> = self
            .factors
            .iter()
            .map(|f| factor_values(items, f))
            .collect::<Result<_, _>>()?;
        let counts: Vec<usize> = values
            .iter()
            .map(|v| v.iter().max().map_or(1, |m| m + 1))
            .collect();
        let mut rng = seed::rng(seed_value, &["synthetic_log", "items"]);
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.shuffle(&mut rng);
        let n_new = (self.new_items * items.len() as f64).round() as usize;
        let day = 86_400i64;
        let cutoff = self.start + i64::from(self.cutoff_day) * day;
        let mut release = vec![self.start; items.len()];
        for &i in &order[..n_new.min(items.len())] {
            release[i] = cutoff;
        }
        let mut log = InteractionLog::default();
        for u in 0..self.users {
            let mut rng = seed::rng(seed_value, &["synthetic_log", "user", &u.to_string()]);
            let taste: Vec<usize> = counts.iter().map(|&c| rng.gen_range(0..c)).collect();
            let weight = |i: usize| {
                let matches = values
                    .iter()
                    .zip(&taste)
                    .filter(|(v, t)| v[i] == **t)
                    .count();
                (self.strength * matches as f64).exp()
            };
            let n = rng.gen_range(self.listens.div_ceil(2)..=self.listens * 3 / 2);
            let span = i64::from(self.days) * day;
            let mut times: Vec<i64> = (0..n)
                .map(|_| self.start + rng.gen_range(0..span))
                .collect();
            // Every user starts before the cut-off, so each has a history.
            times[0] = self.start + rng.gen_range(0..cutoff - self.start);
            times.sort_unstable();
            let mut heard = vec![false; items.len()];
            for t in times {
                let open: Vec<usize> = (0..items.len())
                    .filter(|&i| !heard[i] && release[i] <= t)
                    .collect();
                let total: f64 = open.iter().map(|&i| weight(i)).sum();
                if open.is_empty() || total <= 0.0 {
                    break;
                }
                let mut pick = rng.gen_range(0.0..total);
                let chosen = open
                    .iter()
                    .copied()
                    .find(|&i| {
                        pick -= weight(i);
                        pick < 0.0
                    })
                    .unwrap_or(open[open.len() - 1]);
                heard[chosen] = true;
                log.users.push(format!("user-{u:05}"));
                log.items.push(items[chosen].id.clone());
                log.times.push(t);
            }
        }
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repbench_framework::dataset::Split;
    use std::collections::BTreeMap;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: format!("i{i}"),
                split: Split::Train,
                labels: BTreeMap::from([
                    ("timbre".to_string(), Label::Text(["a", "b"][i % 2].into())),
                    ("pitch".to_string(), Label::Number((i % 30) as f64)),
                ]),
                content_key: String::new(),
                source: String::new(),
            })
            .collect()
    }

    fn spec() -> SyntheticLog {
        SyntheticLog {
            users: 40,
            listens: 12,
            factors: vec!["timbre".into(), "pitch".into()],
            strength: 2.0,
            new_items: 0.2,
            start: 1_577_836_800,
            days: 100,
            cutoff_day: 70,
        }
    }

    #[test]
    fn users_favour_their_factor_values_and_new_items_wait_for_the_cutoff() {
        let items = items(120);
        let log = spec().draw(&items, 3).unwrap();
        assert_eq!(log, spec().draw(&items, 3).unwrap(), "seeded");
        let cutoff = 1_577_836_800 + 70 * 86_400;
        let before: std::collections::BTreeSet<&str> = (0..log.items.len())
            .filter(|&r| log.times[r] < cutoff)
            .map(|r| log.items[r].as_str())
            .collect();
        let after_only = (0..log.items.len())
            .filter(|&r| log.times[r] >= cutoff && !before.contains(log.items[r].as_str()))
            .count();
        assert!(after_only > 0, "some items are heard only after the cutoff");
        // Each user's most heard timbre covers well over half their listens.
        let mut dominant = 0.0;
        let users: std::collections::BTreeSet<&String> = log.users.iter().collect();
        for u in &users {
            let mine: Vec<usize> = (0..log.users.len())
                .filter(|&r| &log.users[r] == *u)
                .collect();
            let a = mine
                .iter()
                .filter(|&&r| log.items[r][1..].parse::<usize>().unwrap() % 2 == 0)
                .count();
            dominant += a.max(mine.len() - a) as f64 / mine.len() as f64;
        }
        assert!(
            dominant / users.len() as f64 > 0.7,
            "{}",
            dominant / users.len() as f64
        );
    }

    #[test]
    fn a_missing_factor_names_the_item() {
        let mut spec = spec();
        spec.factors = vec!["register".into()];
        let err = spec.draw(&items(3), 0).unwrap_err();
        assert!(err.contains("\"i0\"") && err.contains("register"), "{err}");
    }
}
