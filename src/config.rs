//! The experiment config: one TOML file, parsed strictly (unknown keys are
//! errors naming file, line, column and the valid keys), then checked for
//! ranges and cross-references.

use repbench_datasets::DatasetSpec;
use repbench_framework::encoder::EncoderSpec;
use repbench_framework::perturb::PerturbationSpec;
use repbench_framework::runner::PerturbSplits;
use repbench_tasks::drift::DRIFT_TASK;
use repbench_tasks::TaskSpec;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `[run]`: where results go and the global seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// A short name shown in the report.
    pub name: String,
    /// Global seed; every random choice derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Output directory (relative to the current directory).
    pub out_dir: PathBuf,
    /// Cache directory (default: `<out_dir>/cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// Which items perturbations apply to: `test` (train on clean, test on
    /// perturbed; default) or `all`.
    #[serde(default)]
    pub perturb_splits: PerturbSplits,
    /// Items per extraction checkpoint (default 256): a larger dataset is
    /// embedded in chunks of this many items, each cached when done, so a
    /// killed run loses at most one chunk. Does not change results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_items: Option<usize>,
    /// Memory the run aims to stay within, in GiB (default: no limit).
    /// Extraction holds one checkpoint per shard, embeddings beyond an
    /// eighth of it are read back from the cache one layer per
    /// evaluation, and evaluations run in groups that fit the rest. Does
    /// not change results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_gb: Option<f64>,
}

/// Upper bound of `run.max_memory_gb` (1 PiB).
const MAX_MEMORY_GB: f64 = 1_048_576.0;

/// Upper bound of `run.checkpoint_items`.
const MAX_CHECKPOINT_ITEMS: usize = 1_000_000;

/// The whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Run settings.
    pub run: RunSection,
    /// `[[datasets]]`.
    pub datasets: Vec<DatasetSpec>,
    /// `[[encoders]]`.
    pub encoders: Vec<EncoderSpec>,
    /// `[[tasks]]`.
    pub tasks: Vec<TaskSpec>,
    /// `[[perturbations]]`: sweeps for robustness, invariance and drift.
    #[serde(default)]
    pub perturbations: Vec<PerturbationSpec>,
}

/// A parsed, checked config and where it came from.
pub struct LoadedConfig {
    /// The config.
    pub config: ExperimentConfig,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its text, verbatim (copied into the run directory).
    pub text: String,
    /// blake3 of the canonical form (defaults filled in; comments,
    /// formatting and output locations ignored).
    pub hash: String,
}

impl LoadedConfig {
    /// Directory that relative dataset paths resolve against.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Stable run id: the run name plus 8 hex digits of the config hash.
    pub fn run_id(&self) -> String {
        format!("{}-{}", self.config.run.name, &self.hash[..8])
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

/// For "unknown field `x`" errors inside a tagged table, the parser points
/// at the table header; find the key's own line within that table instead.
fn unknown_key_offset(text: &str, table_start: usize, msg: &str) -> Option<usize> {
    let key = msg.strip_prefix("unknown field `")?.split('`').next()?;
    table_lines(text, table_start).find_map(|(at, line)| {
        let (lhs, _) = line.split_once('=')?;
        (lhs.trim().trim_matches('"') == key).then_some(at)
    })
}

/// The lines of the table that starts at `table_start` (up to the next
/// table header), each with the offset of its first non-blank character.
fn table_lines(text: &str, table_start: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = table_start;
    text.get(table_start..)
        .unwrap_or("")
        .split_inclusive('\n')
        .enumerate()
        .map(move |(i, line)| {
            let trimmed = line.trim_start();
            let at = offset + (line.len() - trimmed.len());
            offset += line.len();
            (i, at, trimmed)
        })
        .take_while(|(i, _, line)| *i == 0 || !line.starts_with('['))
        .map(|(_, at, line)| (at, line))
}

/// How serde describes a TOML value in "invalid type: …" messages.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("string {s:?}"),
        toml::Value::Integer(i) => format!("integer `{i}`"),
        toml::Value::Float(f) => format!("floating point `{f}`"),
        toml::Value::Boolean(b) => format!("boolean `{b}`"),
        toml::Value::Array(_) => "sequence".into(),
        toml::Value::Table(_) => "map".into(),
        toml::Value::Datetime(d) => format!("datetime `{d}`"),
    }
}

/// For "invalid type: string \"1024\", expected …" errors inside a tagged
/// table, the parser points at the table header; find the key whose value
/// is the one described, and return its offset and name.
fn mistyped_key(text: &str, table_start: usize, msg: &str) -> Option<(usize, String)> {
    // Outside tagged tables the span already points at the value.
    if !text.get(table_start..)?.trim_start().starts_with('[') {
        return None;
    }
    let found = msg
        .strip_prefix("invalid type: ")?
        .split(", expected")
        .next()?;
    table_lines(text, table_start).find_map(|(at, line)| {
        // Only `key = value` lines (a header would parse as a table too).
        line.split_once('=')?;
        let parsed = toml::from_str::<toml::Table>(line).ok()?;
        let (key, value) = parsed.iter().next()?;
        (describe(value) == found).then(|| (at, key.clone()))
    })
}

/// Reads, parses and checks `path`. Every error message starts with the
/// file name (and line:column where the parser knows it).
pub fn load(path: &Path) -> Result<LoadedConfig, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("{}: cannot read config: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let (line, col) = line_col(&String::from_utf8_lossy(valid), valid.len());
        format!(
            "{}:{line}:{col}: the config is not valid UTF-8 text (line {line}, column {col}); save it as UTF-8",
            path.display()
        )
    })?;
    let config: ExperimentConfig = toml::from_str(&text).map_err(|e| {
        let msg = e.message().trim_end();
        match e.span() {
            Some(span) => {
                let (start, msg) = match mistyped_key(&text, span.start, msg) {
                    Some((at, key)) => (at, format!("`{key}`: {msg}")),
                    None => (
                        unknown_key_offset(&text, span.start, msg).unwrap_or(span.start),
                        msg.to_string(),
                    ),
                };
                let (line, col) = line_col(&text, start);
                let source_line = text.lines().nth(line - 1).unwrap_or("");
                format!(
                    "{}:{line}:{col}: {msg}\n  {line} | {source_line}",
                    path.display()
                )
            }
            None => format!("{}: {msg}", path.display()),
        }
    })?;
    // Hashed as written (relative paths), run with paths resolved.
    let as_written = config.clone();
    let mut config = config;
    let base = path.parent().unwrap_or(Path::new("."));
    config
        .perturbations
        .iter_mut()
        .for_each(|p| p.resolve_paths(base));
    config
        .tasks
        .iter_mut()
        .flat_map(|t| t.transform_specs_mut())
        .for_each(|t| t.resolve_paths(base));
    for task in &mut config.tasks {
        if let Some(log) = &mut task.interactions {
            *log = base.join(&*log);
        }
    }
    // A zoo model's sidecar fills in its rate and training window before
    // the rate-dependent checks below read them.
    for (i, encoder) in config.encoders.iter_mut().enumerate() {
        if let EncoderSpec::Torchscript(s) = encoder {
            s.apply_sidecar(base)
                .map_err(|e| format!("{}: encoders[{i}]: {e}", path.display()))?;
        }
    }
    check(&config).map_err(|e| format!("{}: {e}", path.display()))?;
    // Where outputs go is not part of the experiment: the same config run
    // into another directory gets the same hash and identical results.
    let mut experiment = as_written;
    experiment.run.out_dir = PathBuf::new();
    experiment.run.cache_dir = None;
    experiment.run.checkpoint_items = None;
    experiment.run.max_memory_gb = None;
    let canonical = serde_json::to_string(&experiment).expect("configs serialise");
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        text,
        hash: blake3::hash(canonical.as_bytes()).to_hex().to_string(),
    })
}

/// A name used in file names and results: not empty, no spaces or
/// punctuation beyond `-_.`.
fn check_name(key: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("{key}: must not be empty"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "{key}: \"{name}\" may use only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

fn unique_names<'a>(section: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for (i, name) in names.enumerate() {
        check_name(&format!("{section}[{i}].name"), name)?;
        if !seen.insert(name) {
            return Err(format!(
                "{section}[{i}].name: \"{name}\" is used twice; names must be unique"
            ));
        }
    }
    Ok(())
}

/// Range checks and cross-references, after parsing.
fn check(config: &ExperimentConfig) -> Result<(), String> {
    for (section, len) in [
        ("datasets", config.datasets.len()),
        ("encoders", config.encoders.len()),
        ("tasks", config.tasks.len()),
    ] {
        if len == 0 {
            return Err(format!(
                "{section}: at least one [[{section}]] entry is needed"
            ));
        }
    }
    check_name("run.name", &config.run.name)?;
    if config.run.out_dir.as_os_str().is_empty() {
        return Err(
            "run.out_dir: must not be empty; give a directory, e.g. out_dir = \"runs/my-run\" (\".\" for the current directory)".into(),
        );
    }
    if config
        .run
        .cache_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return Err(
            "run.cache_dir: must not be empty; give a directory or leave the key out (default <out_dir>/cache)".into(),
        );
    }
    if let Some(n) = config.run.checkpoint_items {
        if !(1..=MAX_CHECKPOINT_ITEMS).contains(&n) {
            return Err(format!(
                "run.checkpoint_items: {n} is out of range; use 1 to {MAX_CHECKPOINT_ITEMS} (default 256)"
            ));
        }
    }
    if let Some(gb) = config.run.max_memory_gb {
        if !(gb > 0.0 && gb <= MAX_MEMORY_GB) {
            return Err(format!(
                "run.max_memory_gb: {gb} is out of range; give the GiB the evaluation may hold, above 0 and at most {MAX_MEMORY_GB}, or leave the key out (no limit)"
            ));
        }
    }
    unique_names("datasets", config.datasets.iter().map(DatasetSpec::name))?;
    unique_names("encoders", config.encoders.iter().map(EncoderSpec::name))?;
    unique_names("tasks", config.tasks.iter().map(|t| t.name.as_str()))?;
    if let Some(i) = config.tasks.iter().position(|t| t.name == DRIFT_TASK) {
        return Err(format!("tasks[{i}].name: \"{DRIFT_TASK}\" is reserved for the embedding-drift records; choose another name"));
    }
    for (i, d) in config.datasets.iter().enumerate() {
        d.validate(&format!("datasets[{i}]"))
            .map_err(|e| e.to_string())?;
    }
    for (i, e) in config.encoders.iter().enumerate() {
        e.validate(&format!("encoders[{i}]"))
            .map_err(|e| e.to_string())?;
    }
    if !config.perturbations.is_empty() {
        // Sweeps perturb the dataset's test items; a recommendation task
        // ranks the whole catalogue, so a sweep would score a catalogue
        // of which only some items were perturbed.
        if let Some(i) = config
            .tasks
            .iter()
            .position(|t| t.task_type == repbench_tasks::TaskType::Recommendation)
        {
            return Err(format!(
                "tasks[{i}]: recommendation tasks are not evaluated under perturbation sweeps (a sweep perturbs the dataset's test items, a recommendation task ranks every item); run the sweeps in a config without it"
            ));
        }
    }
    for (i, p) in config.perturbations.iter().enumerate() {
        let key = format!("perturbations[{i}]");
        p.validate(&key).map_err(|e| e.to_string())?;
        // Rate-dependent limits (cutoffs below Nyquist) against every encoder.
        for e in &config.encoders {
            if !e.reads_audio() {
                return Err(format!(
                    "{key}: encoder \"{}\" is precomputed (made elsewhere from clean audio) and cannot be perturbed; \
                     run perturbations in a config without it",
                    e.name()
                ));
            }
            p.validate_at(&key, e.sample_rate()).map_err(|err| {
                format!(
                    "{err} (encoder \"{}\" runs at {} Hz)",
                    e.name(),
                    e.sample_rate()
                )
            })?;
        }
    }
    let dataset_names: Vec<&str> = config.datasets.iter().map(DatasetSpec::name).collect();
    for (i, t) in config.tasks.iter().enumerate() {
        t.validate(&format!("tasks[{i}]"))
            .map_err(|e| e.to_string())?;
        for (field, transform) in t.transform_specs() {
            for e in &config.encoders {
                if !e.reads_audio() {
                    return Err(format!(
                        "tasks[{i}].{field}: encoder \"{}\" is precomputed (made elsewhere from clean audio) and cannot be transformed; \
                         run property tasks in a config without it",
                        e.name()
                    ));
                }
                transform
                    .validate_at(&format!("tasks[{i}].{field}"), e.sample_rate())
                    .map_err(|err| {
                        format!(
                            "{err} (encoder \"{}\" runs at {} Hz)",
                            e.name(),
                            e.sample_rate()
                        )
                    })?;
            }
        }
        if !dataset_names.contains(&t.dataset.as_str()) {
            return Err(format!(
                "tasks[{i}].dataset: no dataset named \"{}\"; expected one of: {}",
                t.dataset,
                dataset_names.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutated shipped configs: the loader returns a config or an error,
    /// never panics, never allocates without bound.
    /// `REPBENCH_FUZZ_SECONDS` sets the time (`scripts/fuzz.sh`); inputs
    /// that once failed live in `tests/fuzz_regressions/config/`.
    #[test]
    fn mutated_configs_never_panic_or_allocate_without_bound() {
        use repbench_framework::fuzz::{Campaign, PeakAlloc};
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(root.join("configs"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        seeds.sort();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let campaign = Campaign {
            name: "config",
            seeds,
            regressions: Campaign::regressions(&root.join("tests/fuzz_regressions/config")),
            max_allocation: 64 << 20,
        };
        let failures = campaign.run(&PeakAlloc, |bytes| {
            std::fs::write(&path, bytes).unwrap();
            if let Err(e) = load(&path) {
                assert!(e.contains("config.toml"), "the error names the file: {e}");
            }
        });
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn unknown_key_is_located_inside_its_table_only() {
        let text = "[[a]]\nx = 1\n  typo = 2\n[[b]]\ntypo = 3\n";
        assert_eq!(
            unknown_key_offset(text, 0, "unknown field `typo`, expected `x`"),
            Some(14)
        );
        assert_eq!(unknown_key_offset(text, 0, "unknown field `nope`"), None);
        assert_eq!(unknown_key_offset(text, 0, "invalid type"), None);
    }

    #[test]
    fn a_mistyped_value_is_located_at_its_key() {
        let text = "[[encoders]]\nname = \"m\"\nn_fft = \"1024\"\n[[b]]\nn_fft = 3\n";
        let msg = "invalid type: string \"1024\", expected usize";
        assert_eq!(mistyped_key(text, 0, msg), Some((24, "n_fft".into())));
        let msg = "invalid type: integer `3`, expected a string";
        assert_eq!(mistyped_key(text, 0, msg), None);
        // A span on a value (not a table) is left as the parser gave it.
        assert_eq!(
            mistyped_key(text, 31, "invalid type: string \"1024\", expected usize"),
            None
        );
    }
}
