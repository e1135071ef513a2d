//! LaTeX tables for papers (booktabs): the wide encoder × task table with
//! each value's interval as `0.912 {\small [0.880, 0.940]}`, bold only
//! where the entry is significantly best in its column, and the long table
//! of records.

use super::long_text::{long_rows, LONG_HEADER};
use crate::leaderboard::{Cell, Leaderboard, Overall};
use repbench_framework::record::ResultRecord;

/// `text` with LaTeX's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '×' => out.push_str("$\\times$"),
            '–' => out.push_str("--"),
            _ => out.push(c),
        }
    }
    out
}

fn cell(c: &Cell) -> String {
    if c.value.is_empty() {
        return "--".into();
    }
    let value = if c.best {
        format!("\\textbf{{{}}}", c.value)
    } else {
        c.value.clone()
    };
    format!("{value} {{\\small [{}, {}]}}", c.low, c.high)
}

fn line(cells: &[String]) -> String {
    format!("{} \\\\\n", cells.join(" & "))
}

/// The wide table as a booktabs `tabular`: a header row of task groups,
/// one of tasks (with their metric), the ranked entries by mean rank, then
/// (after a rule) the entries missing a task, marked with a dagger. The
/// run column is left out when every encoder name is unique.
pub fn wide(board: &Leaderboard) -> String {
    let entries: Vec<(&Overall, bool)> = board
        .overall
        .iter()
        .map(|o| (o, true))
        .chain(board.apart.iter().map(|o| (o, false)))
        .collect();
    let mut encoders: Vec<&str> = entries.iter().map(|(o, _)| o.encoder.as_str()).collect();
    encoders.sort_unstable();
    let with_run = encoders.windows(2).any(|w| w[0] == w[1]);
    let lead = if with_run { 2 } else { 1 };
    let task_name = |i: usize| {
        let c = &board.columns[i];
        let shared = board
            .columns
            .iter()
            .filter(|other| other.task == c.task)
            .count()
            > 1;
        let name = if shared {
            format!("{}/{}", c.dataset, c.task)
        } else {
            c.task.clone()
        };
        format!("{} ({})", escape(&name), escape(&c.metric))
    };
    let mut out = String::new();
    out.push_str(
        "% repbench export --table wide --format latex (needs \\usepackage{booktabs}).\n\
         % Each cell: the task's primary metric on its test items with the 95% bootstrap\n\
         % interval, for the layer and probe chosen on validation. Bold: significantly\n\
         % best in its column (paired bootstrap against every other entry on the same\n\
         % resamples, Holm-adjusted, alpha = 0.05).\n",
    );
    out.push_str(&format!(
        "\\begin{{tabular}}{{{}{}rrr}}\n\\toprule\n",
        "l".repeat(lead),
        "r".repeat(board.columns.len())
    ));
    // Group row with a rule under each group.
    let mut groups = vec![String::new(); lead];
    let mut rules = String::new();
    let mut at = lead + 1;
    for g in &board.groups {
        let span = board.columns.iter().filter(|c| c.group == *g).count();
        groups.push(format!("\\multicolumn{{{span}}}{{c}}{{{}}}", escape(g)));
        rules.push_str(&format!("\\cmidrule(lr){{{}-{}}}", at, at + span - 1));
        at += span;
    }
    groups.extend(["".into(), "".into(), "".into()]);
    out.push_str(&line(&groups));
    out.push_str(&rules);
    out.push('\n');
    let mut header: Vec<String> = Vec::new();
    if with_run {
        header.push("Run".into());
    }
    header.push("Encoder".into());
    header.extend((0..board.columns.len()).map(task_name));
    header.extend(["Mean rank".into(), "Borda".into(), "Score".into()]);
    out.push_str(&line(&header));
    out.push_str("\\midrule\n");
    let mut apart_started = false;
    for (o, ranked) in entries {
        if !ranked && !apart_started {
            apart_started = true;
            if !board.overall.is_empty() {
                out.push_str("\\midrule\n");
            }
        }
        let mut cells = Vec::new();
        if with_run {
            cells.push(escape(&o.run));
        }
        cells.push(if ranked {
            escape(&o.encoder)
        } else {
            format!("{}$^\\dagger$", escape(&o.encoder))
        });
        cells.extend(o.cells.iter().map(cell));
        if ranked {
            let interval = o.interval.map_or_else(String::new, |(l, h)| {
                format!(" {{\\small [{l:.2}, {h:.2}]}}")
            });
            cells.push(format!("{}{interval}", o.mean_rank));
            cells.push(o.borda.clone());
            cells.push(o.mean_score.clone());
        } else {
            cells.extend(["--".into(), "--".into(), "--".into()]);
        }
        out.push_str(&line(&cells));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    if apart_started {
        out.push_str("% $^\\dagger$ missing a task: not ranked overall.\n");
    }
    out
}

/// The long table's main columns as a booktabs `longtable` (one row per
/// record; the CSV and Parquet exports carry every field).
pub fn long(runs: &[(&str, &[ResultRecord])]) -> String {
    let mut out = String::from(
        "% repbench export --table long --format latex (needs \\usepackage{booktabs,longtable}).\n",
    );
    out.push_str(&format!(
        "\\begin{{longtable}}{{{}r}}\n\\toprule\n",
        "l".repeat(LONG_HEADER.len() - 1)
    ));
    out.push_str(&line(
        &LONG_HEADER.iter().map(|h| escape(h)).collect::<Vec<_>>(),
    ));
    out.push_str("\\midrule\n\\endhead\n");
    for row in long_rows(runs) {
        let mut cells: Vec<String> = row.cells.iter().map(|c| escape(c)).collect();
        cells.push(match row.interval {
            Some((l, h)) => format!("{} {{\\small [{l}, {h}]}}", row.value),
            None => row.value,
        });
        out.push_str(&line(&cells));
    }
    out.push_str("\\bottomrule\n\\end{longtable}\n");
    out
}
