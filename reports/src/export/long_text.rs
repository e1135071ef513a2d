//! The long table as text for reading (Markdown; LaTeX in
//! [`super::latex`]): one row per record, its identifying columns and its
//! value with the interval. The CSV and Parquet exports carry every field.

use repbench_framework::record::ResultRecord;

/// The identifying columns of a record, then its value.
pub const LONG_HEADER: [&str; 10] = [
    "run",
    "dataset",
    "task",
    "encoder",
    "layer",
    "probe",
    "perturbation",
    "severity",
    "metric",
    "value [95% CI]",
];

/// One record as text.
pub struct LongRow {
    /// The first nine columns of [`LONG_HEADER`].
    pub cells: [String; 9],
    /// The value (3 decimals, "NaN" when undefined).
    pub value: String,
    /// Its 95% interval, when the record has one.
    pub interval: Option<(String, String)>,
}

fn three(x: f64) -> String {
    format!("{x:.3}")
}

/// The rows of every run's records, in file order. A per-seed row of a
/// stochastic probe shows its seed after the probe; a value between two
/// units shows the other unit after the encoder.
pub fn long_rows(runs: &[(&str, &[ResultRecord])]) -> Vec<LongRow> {
    runs.iter()
        .flat_map(|(label, records)| {
            records.iter().map(move |r| {
                let probe = match (&r.probe, r.probe_seed) {
                    (Some(p), Some(s)) => format!("{p} (seed {s})"),
                    (Some(p), None) => p.clone(),
                    (None, _) => "-".into(),
                };
                let encoder = match (&r.versus_encoder, &r.versus_layer) {
                    (Some(e), Some(l)) => format!("{} vs {e}:{l}", r.encoder),
                    _ => r.encoder.clone(),
                };
                LongRow {
                    cells: [
                        (*label).to_string(),
                        r.dataset.clone(),
                        r.task.clone(),
                        encoder,
                        r.layer.clone(),
                        probe,
                        r.perturbation.clone(),
                        r.severity.map_or_else(|| "-".into(), |s| format!("{s}")),
                        r.metric.clone(),
                    ],
                    value: three(r.value),
                    interval: (!r.ci_low.is_nan() || !r.ci_high.is_nan())
                        .then(|| (three(r.ci_low), three(r.ci_high))),
                }
            })
        })
        .collect()
}

/// A Markdown table of the long rows; `|` inside a cell is escaped.
pub fn markdown(runs: &[(&str, &[ResultRecord])]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n", LONG_HEADER.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(LONG_HEADER.len())));
    for row in long_rows(runs) {
        let mut cells: Vec<String> = row.cells.iter().map(|c| cell(c)).collect();
        cells.push(match row.interval {
            Some((l, h)) => format!("{} [{l}, {h}]", row.value),
            None => row.value,
        });
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
