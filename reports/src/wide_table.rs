//! The leaderboard's wide table (entries × tasks, MTEB's layout) as text
//! as Markdown (the data exports are in [`crate::export`]).

use crate::leaderboard::{Leaderboard, Overall};

/// The header: who, then one column per main table, then the summary
/// columns.
fn header(board: &Leaderboard) -> Vec<String> {
    let mut h = vec!["run".to_string(), "encoder".into()];
    h.extend(
        board
            .columns
            .iter()
            .map(|c| format!("{} / {} ({}; {})", c.dataset, c.task, c.metric, c.group)),
    );
    h.extend(
        [
            "mean rank",
            "mean rank 95% CI",
            "Borda",
            "mean normalised score",
            "tasks",
        ]
        .map(String::from),
    );
    h
}

fn row(o: &Overall) -> Vec<String> {
    let mut r = vec![o.run.clone(), o.encoder.clone()];
    r.extend(o.cells.iter().map(|c| {
        if c.best {
            format!("**{}** [{}, {}]", c.value, c.low, c.high)
        } else {
            c.text()
        }
    }));
    r.extend([
        o.mean_rank.clone(),
        o.rank_interval.clone(),
        o.borda.clone(),
        o.mean_score.clone(),
        o.tasks.to_string(),
    ]);
    r
}

/// The ranked entries, then those missing a task (marked).
fn rows(board: &Leaderboard) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = board.overall.iter().map(row).collect();
    out.extend(board.apart.iter().map(|o| {
        let mut r = row(o);
        r[1] = format!("{} (not ranked: missing tasks)", r[1]);
        r
    }));
    out
}

/// A Markdown table; `|` inside a cell is escaped.
pub fn markdown(board: &Leaderboard) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let line = |cells: &[String]| {
        format!(
            "| {} |\n",
            cells
                .iter()
                .map(|c| cell(c))
                .collect::<Vec<_>>()
                .join(" | ")
        )
    };
    let h = header(board);
    let mut out = line(&h);
    out.push_str(&format!("|{}\n", "---|".repeat(h.len())));
    for r in rows(board) {
        out.push_str(&line(&r));
    }
    for note in &board.notes {
        out.push_str(&format!("\n> {}\n", note));
    }
    out
}
