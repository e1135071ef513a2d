//! Nested, seeded subsets of a training split for label-efficiency curves.
//!
//! A curve is only a curve of *label count* when each smaller subset lies
//! inside each larger one: otherwise the score at 10 % and at 25 % differ
//! by which items were drawn as well as by how many. Every subset of one
//! draw is therefore a prefix of one seeded ordering (per class, for
//! classes), and sizes never shrink as the fraction grows.

use crate::targets::Targets;
use rand::seq::SliceRandom;
use repbench_framework::seed::Rng;

/// Items kept of `n` at `fraction`: rounded, at least `floor` and at most `n`.
fn kept(n: usize, fraction: f64, floor: usize) -> usize {
    ((fraction * n as f64).round() as usize).max(floor).min(n)
}

/// For each of `fractions` (ascending, each in (0, 1]), the positions in
/// `targets` (the training split's targets, position `i` = i-th train row)
/// of that fraction's subset, ascending.
///
/// * classes: stratified — each class keeps `round(f · n_c)` of its items,
///   at least one, so every class the probe must know is present;
/// * tags: a prefix of `round(f · n)` items (at least two) of a seeded
///   ordering, plus, for each tag with no positive in that prefix, its
///   first positive in the ordering (a tag seen in train stays seen);
/// * values: a prefix of `round(f · n)` items, at least two.
///
/// Each rule takes a prefix of one ordering whose length grows with `f`
/// (a tag's first positive lies inside any longer prefix that holds the
/// tag), so the subsets are nested.
pub fn nested_subsets(targets: &Targets, fractions: &[f64], rng: &mut Rng) -> Vec<Vec<usize>> {
    let n = targets.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    fractions
        .iter()
        .map(|&f| {
            let mut subset = match targets {
                Targets::Classes { y, names } => (0..names.len())
                    .flat_map(|class| {
                        let members: Vec<usize> =
                            order.iter().copied().filter(|&i| y[i] == class).collect();
                        let take = kept(members.len(), f, 1);
                        members.into_iter().take(take)
                    })
                    .collect(),
                Targets::Tags { y, .. } => {
                    let prefix = &order[..kept(n, f, 2)];
                    let mut subset = prefix.to_vec();
                    for tag in 0..y.ncols() {
                        let seen = prefix.iter().any(|&i| y[[i, tag]] > 0.5);
                        if !seen {
                            if let Some(&first) = order.iter().find(|&&i| y[[i, tag]] > 0.5) {
                                if !subset.contains(&first) {
                                    subset.push(first);
                                }
                            }
                        }
                    }
                    subset
                }
                Targets::Values(_) => order[..kept(n, f, 2)].to_vec(),
            };
            subset.sort_unstable();
            subset
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use repbench_framework::seed;
    use std::collections::BTreeSet;

    const FRACTIONS: [f64; 6] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0];

    fn classes(n: usize, k: usize) -> Targets {
        Targets::Classes {
            y: (0..n).map(|i| (i * 7 + i / 3) % k).collect(),
            names: (0..k).map(|c| format!("c{c}")).collect(),
        }
    }

    fn assert_nested(subsets: &[Vec<usize>], n: usize) {
        for w in subsets.windows(2) {
            let larger: BTreeSet<usize> = w[1].iter().copied().collect();
            assert!(
                w[0].iter().all(|i| larger.contains(i)),
                "a smaller subset uses items outside the larger one"
            );
            assert!(w[0].len() <= w[1].len());
        }
        assert_eq!(subsets.last().unwrap().len(), n, "fraction 1 is everything");
    }

    /// The acceptance test: smaller fractions never use items
    /// outside the larger ones, for every target kind and several draws.
    #[test]
    fn smaller_fractions_use_only_items_of_larger_ones() {
        let n = 500;
        let tags = Targets::Tags {
            y: Array2::from_shape_fn((n, 6), |(i, t)| {
                ((i * (t + 3)) % (17 + t) == 0) as u8 as f64
            }),
            names: (0..6).map(|t| format!("t{t}")).collect(),
        };
        let values = Targets::Values((0..n).map(|i| i as f64).collect());
        for targets in [classes(n, 5), tags, values] {
            for draw in 0..4 {
                let mut rng = seed::rng(3, &["draw", &draw.to_string()]);
                assert_nested(&nested_subsets(&targets, &FRACTIONS, &mut rng), n);
            }
        }
    }

    #[test]
    fn class_subsets_are_stratified_and_keep_every_class() {
        let n = 1000;
        let targets = classes(n, 4);
        let Targets::Classes { y, .. } = &targets else {
            unreachable!()
        };
        let count = |rows: &[usize], c: usize| rows.iter().filter(|&&i| y[i] == c).count();
        let mut rng = seed::rng(1, &["s"]);
        let subsets = nested_subsets(&targets, &[0.001, 0.1], &mut rng);
        for c in 0..4 {
            assert_eq!(count(&subsets[0], c), 1, "at least one item per class");
            let all = count(&(0..n).collect::<Vec<_>>(), c);
            let expected = (0.1 * all as f64).round() as usize;
            assert_eq!(count(&subsets[1], c), expected, "class {c} keeps its share");
        }
    }

    #[test]
    fn every_tag_seen_in_train_stays_in_the_smallest_subset() {
        let n = 400;
        let mut y = Array2::zeros((n, 3));
        y[[17, 2]] = 1.0; // a rare tag: one positive
        for i in 0..n {
            y[[i, i % 2]] = 1.0;
        }
        let targets = Targets::Tags {
            y,
            names: vec!["a".into(), "b".into(), "rare".into()],
        };
        let mut rng = seed::rng(5, &["t"]);
        let subsets = nested_subsets(&targets, &[0.01, 0.5], &mut rng);
        assert!(subsets[0].contains(&17) && subsets[1].contains(&17));
    }

    #[test]
    fn draws_differ_and_a_seed_repeats_its_draw() {
        let targets = classes(300, 3);
        let draw = |d: &str| nested_subsets(&targets, &[0.1], &mut seed::rng(0, &["d", d]));
        assert_eq!(draw("0"), draw("0"));
        assert_ne!(draw("0"), draw("1"));
    }
}
