//! The three subcommands.

use crate::config::{self, LoadedConfig};
use crate::plan::DataNotes;
use crate::progress::Bars;
use crate::{plan, summary, Failure};
use repbench_framework::cache::Cache;
use repbench_framework::progress::{Progress, Silent};
use repbench_framework::record::write_jsonl;
use repbench_framework::runner::{self, execute, RunPlan, Share};
use repbench_framework::{fsutil, VERSION};
use repbench_reports::{layout, write_report};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn load_and_build(
    config_path: &Path,
    out_dir: Option<&Path>,
) -> Result<(LoadedConfig, RunPlan, DataNotes), Failure> {
    let loaded = config::load(config_path).map_err(Failure::Usage)?;
    let out = out_dir.map_or_else(|| loaded.config.run.out_dir.clone(), Path::to_path_buf);
    let (plan, notes) = plan::build(&loaded, &out)
        .map_err(|e| Failure::Usage(format!("{}: {e}", config_path.display())))?;
    for w in &notes.warnings {
        eprintln!("warning: {w}");
    }
    if !notes.skipped.is_empty() {
        eprintln!(
            "warning: {} item(s) left out under on_error = \"skip\" (listed in run.json and the report)",
            notes.skipped.len()
        );
    }
    plan::check_targets(&loaded, &plan)
        .map_err(|e| Failure::Usage(format!("{}: {e}", config_path.display())))?;
    Ok((loaded, plan, notes))
}

/// `repbench validate CONFIG`.
pub fn validate(config_path: &Path) -> Result<(), Failure> {
    let (loaded, plan, _notes) = load_and_build(config_path, None)?;
    let items: usize = plan.datasets.iter().map(|d| d.items().len()).sum();
    println!(
        "{}: ok — {} dataset(s) with {items} items, {} encoder(s), {} task(s); run id {}",
        config_path.display(),
        plan.datasets.len(),
        plan.encoders.len(),
        plan.tasks.len(),
        loaded.run_id()
    );
    Ok(())
}

/// The shape of a synthetic log (`repbench interactions`).
#[derive(clap::Args)]
pub struct LogShape {
    /// Labels users have preferences over, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub factors: Vec<String>,
    /// Number of users.
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// Mean listens per user.
    #[arg(long, default_value_t = 20)]
    pub listens: usize,
    /// Share of items released only at the cut-off (cold items).
    #[arg(long, default_value_t = 0.2)]
    pub new_items: f64,
    /// First day of the log (UTC).
    #[arg(long, default_value = "2020-01-01")]
    pub start: String,
    /// Days the log spans.
    #[arg(long, default_value_t = 100)]
    pub days: u32,
    /// The cut-off the log is made for, in days after the start.
    #[arg(long, default_value_t = 70)]
    pub cutoff_day: u32,
}

/// `repbench interactions CONFIG --dataset NAME --factors … --out FILE`.
pub fn interactions(
    config_path: &Path,
    dataset: &str,
    shape: &LogShape,
    seed: u64,
    out: &Path,
) -> Result<(), Failure> {
    let loaded = config::load(config_path).map_err(Failure::Usage)?;
    let Some(spec) = loaded.config.datasets.iter().find(|d| d.name() == dataset) else {
        let names: Vec<&str> = loaded.config.datasets.iter().map(|d| d.name()).collect();
        return Err(Failure::Usage(format!(
            "--dataset: no dataset \"{dataset}\" in {} (datasets: {names:?})",
            config_path.display()
        )));
    };
    if !(0.0..1.0).contains(&shape.new_items)
        || shape.users.saturating_mul(shape.listens) > 10_000_000
        || shape.days > 36_500
    {
        return Err(Failure::Usage(
            "--new-items must be in [0, 1), --users × --listens at most 10000000 and --days at most 36500".into(),
        ));
    }
    // 1900-01-01 .. 2200-01-01: dates a log can hold without overflowing.
    let start = repbench_tasks::recommendation::split::parse_time(&shape.start)
        .filter(|t| (-2_208_988_800..7_258_118_400).contains(t))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--start: \"{}\" is not a date between 1900 and 2200 such as 2020-01-01",
                shape.start
            ))
        })?;
    let opened = repbench_datasets::open_dataset(spec, loaded.base_dir(), loaded.config.run.seed)
        .map_err(|e| Failure::Usage(format!("{}: {e}", config_path.display())))?;
    let log = repbench_tasks::recommendation::synthetic::SyntheticLog {
        users: shape.users,
        listens: shape.listens,
        factors: shape.factors.clone(),
        strength: 2.0,
        new_items: shape.new_items,
        start,
        days: shape.days,
        cutoff_day: shape.cutoff_day,
    }
    .draw(opened.dataset.items(), seed)
    .map_err(|e| Failure::Usage(format!("dataset \"{dataset}\": {e}")))?;
    crate::interactions::write_log(&log, out).map_err(Failure::Run)?;
    println!(
        "{}: {} interactions of {} users over {} items of \"{dataset}\"; cut-off for it: {}",
        out.display(),
        log.items.len(),
        shape.users,
        opened.dataset.items().len(),
        repbench_tasks::recommendation::split::format_time(
            start + i64::from(shape.cutoff_day) * 86_400
        )
    );
    Ok(())
}

/// `repbench extract CONFIG [--shard I/N]` (and `run --shard I/N`): fills
/// the embedding cache, or one shard's share of it, and stops.
pub fn extract(
    config_path: &Path,
    out_dir: Option<&Path>,
    shard: Option<&str>,
    quiet: bool,
) -> Result<(), Failure> {
    let started = Instant::now();
    let share = shard
        .map(str::parse::<Share>)
        .transpose()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let (_loaded, plan, _notes) = load_and_build(config_path, out_dir)?;
    check_writable(plan.cache.root(), "run.cache_dir")?;
    let progress: &dyn Progress = if quiet { &Silent } else { &Bars };
    let s = runner::extract(&plan, share, progress).map_err(run_failure)?;
    for why in &s.corrupt_entries {
        eprintln!("warning: recomputed a corrupt cache entry: {why}");
    }
    let whose = share.map_or_else(String::new, |s| format!("shard {s}: "));
    println!(
        "{whose}embeddings: {} whole and {} checkpoint(s) stored, {} found in the cache, encoders busy {:.2} s · {:.2} s",
        s.shards_computed,
        s.chunks_computed,
        s.shards_cached + s.chunks_cached,
        s.encoder_seconds,
        started.elapsed().as_secs_f64()
    );
    println!("cache:   {}", plan.cache.root().display());
    if share.is_some() {
        println!(
            "when every shard has finished: repbench run {}",
            config_path.display()
        );
    }
    Ok(())
}

/// `repbench run CONFIG [--out DIR]`.
pub fn run(config_path: &Path, out_dir: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let (loaded, plan, notes) = load_and_build(config_path, out_dir)?;
    let out = out_dir.map_or_else(|| loaded.config.run.out_dir.clone(), Path::to_path_buf);
    check_writable(&out, "run.out_dir (or --out)")?;
    check_writable(plan.cache.root(), "run.cache_dir")?;
    let progress: &dyn Progress = if quiet { &Silent } else { &Bars };
    let outcome = execute(&plan, progress).map_err(run_failure)?;
    let io = |e: repbench_framework::Error| Failure::Run(e.to_string());

    repbench_reports::outputs::begin(&out).map_err(io)?;
    write_jsonl(&out.join(layout::RESULTS), &outcome.records).map_err(io)?;
    write_jsonl(&out.join(layout::COMPARISONS), &outcome.comparisons).map_err(io)?;
    let (clean, perturbed): (Vec<_>, Vec<_>) = outcome
        .predictions
        .iter()
        .partition(|p| p.perturbation == "none");
    write_jsonl(&out.join(layout::PREDICTIONS), &clean).map_err(io)?;
    write_jsonl(&out.join(layout::PREDICTIONS_PERTURBED), &perturbed).map_err(io)?;
    write_jsonl(&out.join(layout::MAPS), &outcome.maps).map_err(io)?;
    write_jsonl(&out.join(layout::MATRICES), &outcome.matrices).map_err(io)?;
    fsutil::write_atomic(&out.join(layout::CONFIG), loaded.text.as_bytes()).map_err(io)?;
    fsutil::write_atomic(&out.join(layout::SPLITS), splits_csv(&plan).as_bytes()).map_err(io)?;
    let finished = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let run_json = serde_json::json!({
        "name": loaded.config.run.name,
        "run_id": loaded.run_id(),
        "config": config_path.display().to_string(),
        "config_hash": loaded.hash,
        "repbench_version": VERSION,
        "cache_dir": plan.cache.root().display().to_string(),
        "finished_unix": finished,
        "elapsed_seconds": started.elapsed().as_secs_f64(),
        "threads": rayon_threads(),
        "perturb_splits": loaded.config.run.perturb_splits,
        "perturbations": perturbation_summary(&plan),
        "skipped_items": notes.skipped,
        "warnings": notes.warnings,
        "synthetic_audio": notes.renderers,
        "stats": outcome.stats,
    });
    let run_text = serde_json::to_string_pretty(&run_json).expect("run.json serialises");
    fsutil::write_atomic(&out.join(layout::RUN), run_text.as_bytes()).map_err(io)?;
    repbench_reports::outputs::seal(&out, &loaded.hash).map_err(io)?;
    let page = write_report(&out).map_err(io)?;

    let s = &outcome.stats;
    for why in &s.corrupt_entries {
        eprintln!("warning: recomputed a corrupt cache entry: {why}");
    }
    if !quiet {
        for line in summary::lines(&outcome.records, &outcome.comparisons) {
            println!("{line}");
        }
        let resumed = if s.chunks_cached > 0 {
            format!(
                " ({} checkpoint(s) of shard processes or an interrupted run reused)",
                s.chunks_cached
            )
        } else {
            String::new()
        };
        // Only a run under `max_memory_gb` reads shards back or runs waves.
        let budget = if s.shards_read_per_unit > 0 || s.evaluation_waves > 1 {
            format!(
                " · memory budget: {} shard(s) held, {} read back per evaluation, {} wave(s) of evaluations, {} over budget (training rows read in blocks)",
                s.shards_held, s.shards_read_per_unit, s.evaluation_waves, s.evaluations_low_memory
            )
        } else {
            String::new()
        };
        println!(
            "\nembeddings: {} computed, {} from cache{resumed}, encoders busy {:.2} s of {:.2} s · evaluations: {} computed, {} from cache{budget} · {:.2} s",
            s.shards_computed,
            s.shards_cached,
            s.encoder_seconds,
            s.embed_seconds,
            s.evaluations_computed,
            s.evaluations_cached,
            started.elapsed().as_secs_f64()
        );
    }
    println!("results: {}", out.join(layout::RESULTS).display());
    println!("report:  {}", page.display());
    Ok(())
}

/// Creates `dir` if needed and writes (then removes) a probe file in it, so
/// an unwritable output or cache directory is an error before any work,
/// not after the first hour of extraction.
fn check_writable(dir: &Path, key: &str) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::Usage(format!(
            "{key}: cannot write to {} ({e}); choose a directory you can write to",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = fsutil::temp_sibling(&dir.join("write-check"));
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// A failed run: exit 2 when the input is at fault (an item's audio, its
/// labels), with what to do; exit 1 otherwise. Either way every finished
/// extraction checkpoint is already in the cache.
fn run_failure(e: repbench_framework::Error) -> Failure {
    if !e.is_input_fault() {
        return Failure::Run(e.to_string());
    }
    let hint = match e {
        repbench_framework::Error::Item { .. } => {
            " (fix or remove the file, or set on_error = \"skip\" on the dataset to leave such items out; finished embeddings are kept in the cache)"
        }
        _ => "",
    };
    Failure::Usage(format!("{e}{hint}"))
}

/// Each perturbation sweep: its result name, severity parameter and values.
fn perturbation_summary(plan: &RunPlan) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = Vec::new();
    for p in &plan.perturbations {
        match out.iter_mut().find(|v| v["name"] == p.name.as_str()) {
            Some(v) => v["severities"].as_array_mut().expect("array").push(p.severity.into()),
            None => out.push(serde_json::json!({"name": p.name, "severity_name": p.severity_name, "severities": [p.severity]})),
        }
    }
    out
}

fn rayon_threads() -> usize {
    // The pool the run actually used (RAYON_NUM_THREADS or the core count).
    rayon::current_num_threads()
}

fn splits_csv(plan: &RunPlan) -> String {
    let mut out = String::from("dataset,id,split\n");
    for d in &plan.datasets {
        for item in d.items() {
            out.push_str(&format!("{},{},{}\n", d.name(), item.id, item.split));
        }
    }
    out
}

/// `repbench report DIR`.
pub fn report(dir: &Path) -> Result<(), Failure> {
    if !dir.join(layout::RESULTS).is_file() {
        return Err(Failure::Usage(format!(
            "{}: no {} here; pass the directory a `repbench run` wrote",
            dir.display(),
            layout::RESULTS
        )));
    }
    let page = write_report(dir).map_err(|e| Failure::Run(e.to_string()))?;
    println!("report: {}", page.display());
    Ok(())
}

/// `repbench leaderboard DIR... [--out FILE] [--format F]`: the page goes
/// to `FILE` (default `leaderboard.html`); Markdown and CSV to `FILE` or
/// standard output.
pub fn leaderboard(
    dirs: &[std::path::PathBuf],
    out: Option<&Path>,
    format: repbench_reports::LeaderboardFormat,
) -> Result<(), Failure> {
    require_run_dirs(dirs)?;
    let (text, notes) =
        repbench_reports::leaderboard_as(dirs, format).map_err(|e| Failure::Run(e.to_string()))?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let html = format == repbench_reports::LeaderboardFormat::Html;
    match out.or(html.then_some(Path::new("leaderboard.html"))) {
        Some(out) => {
            fsutil::write_atomic(out, text.as_bytes()).map_err(|e| Failure::Run(e.to_string()))?;
            println!("leaderboard: {}", out.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Refuses a directory without a `results.jsonl` before anything is read.
fn require_run_dirs(dirs: &[std::path::PathBuf]) -> Result<(), Failure> {
    for dir in dirs {
        if !dir.join(layout::RESULTS).is_file() {
            return Err(Failure::Usage(format!(
                "{}: no {} here; pass directories a `repbench run` wrote",
                dir.display(),
                layout::RESULTS
            )));
        }
    }
    Ok(())
}

/// `repbench export DIR... [--table long|wide] [--format F] [--out FILE]`:
/// the long or wide table of the runs in `dirs` to `FILE`, or to standard
/// output for the text formats (Parquet, being binary, needs `--out`).
pub fn export(
    dirs: &[std::path::PathBuf],
    table: repbench_reports::export::ExportTable,
    format: repbench_reports::export::ExportFormat,
    out: Option<&Path>,
) -> Result<(), Failure> {
    use repbench_reports::export::ExportFormat;
    if format == ExportFormat::Parquet && out.is_none() {
        return Err(Failure::Usage(
            "--format parquet writes a binary file: give it a path with --out FILE.parquet".into(),
        ));
    }
    require_run_dirs(dirs)?;
    let (bytes, notes) = repbench_reports::export::export(dirs, table, format)
        .map_err(|e| Failure::Run(e.to_string()))?;
    for note in notes {
        eprintln!("note: {note}");
    }
    match out {
        Some(out) => {
            fsutil::write_atomic(out, &bytes).map_err(|e| Failure::Run(e.to_string()))?;
            println!("export: {}", out.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| Failure::Run(format!("writing to standard output: {e}")))?;
        }
    }
    Ok(())
}

fn open_cache(dir: &Path) -> Result<Vec<repbench_framework::cache::EntryInfo>, Failure> {
    if !dir.is_dir() {
        return Err(Failure::Usage(format!(
            "{}: no such cache directory",
            dir.display()
        )));
    }
    let cache = Cache::new(dir);
    if !cache.looks_like_cache() {
        return Err(Failure::Usage(format!(
            "{}: not a repbench cache (no emb/, results/ or tmp/ inside); pass the cache_dir of a run (default <out_dir>/cache)",
            dir.display()
        )));
    }
    cache.entries().map_err(|e| Failure::Run(e.to_string()))
}

/// `repbench cache list DIR`.
pub fn cache_list(dir: &Path) -> Result<(), Failure> {
    let entries = open_cache(dir)?;
    for e in &entries {
        let what = ["dataset", "encoder", "perturbation"]
            .iter()
            .filter_map(|k| {
                e.about
                    .get(*k)
                    .and_then(|v| v.as_str())
                    .map(|v| format!("{k}={v}"))
            })
            .collect::<Vec<_>>()
            .join(" ");
        let status = e.problem.as_deref().unwrap_or("ok");
        println!(
            "{:<10} {} {:>10} B  {status}  {what}",
            e.kind,
            &e.key[..16.min(e.key.len())],
            e.bytes
        );
    }
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    println!("{} entries, {total} bytes", entries.len());
    Ok(())
}

/// `repbench cache verify DIR`: exit 1 when any entry is corrupt.
pub fn cache_verify(dir: &Path) -> Result<(), Failure> {
    let entries = open_cache(dir)?;
    let bad: Vec<_> = entries.iter().filter(|e| e.problem.is_some()).collect();
    for e in &bad {
        eprintln!("corrupt: {}", e.problem.as_deref().unwrap_or_default());
    }
    if bad.is_empty() {
        println!(
            "{}: {} entries, all checksums match",
            dir.display(),
            entries.len()
        );
        Ok(())
    } else {
        Err(Failure::Run(format!(
            "{} of {} entries are corrupt; `repbench cache gc {}` removes them (a run recomputes them anyway)",
            bad.len(),
            entries.len(),
            dir.display()
        )))
    }
}

/// `repbench cache gc DIR`.
pub fn cache_gc(dir: &Path) -> Result<(), Failure> {
    open_cache(dir)?;
    let report = Cache::new(dir)
        .gc()
        .map_err(|e| Failure::Run(e.to_string()))?;
    println!(
        "removed {} corrupt entr(y/ies) and {} staging leftover(s), {} bytes freed; kept {} staging entr(y/ies) of running or recent writes",
        report.corrupt_removed.len(),
        report.staging_removed,
        report.bytes_freed,
        report.staging_kept
    );
    Ok(())
}
