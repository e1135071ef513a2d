//! `repbench`: one TOML experiment config → cached embeddings, results with
//! confidence intervals, and an HTML report.

mod commands;
mod config;
mod interactions;
mod plan;
mod progress;
mod summary;

/// Unit tests record each thread's largest allocation (the config fuzz
/// test bounds it).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: repbench_framework::fuzz::PeakAlloc = repbench_framework::fuzz::PeakAlloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure how good an audio representation really is.
#[derive(Parser)]
#[command(name = "repbench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress bars; `run` prints only the paths of its outputs.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment: embed (cached), evaluate, write results and report.
    Run {
        /// The experiment config (TOML).
        config: PathBuf,
        /// Output directory (overrides `run.out_dir`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compute only shard I of N of the embeddings and stop, as
        /// `extract --shard I/N` does; a run without it evaluates.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Fill the embedding cache without evaluating: all of it, or with
    /// `--shard I/N` one of N processes' share (a Slurm array task, a
    /// Kubernetes Indexed Job pod) of a cache on a shared filesystem.
    Extract {
        /// The experiment config (TOML).
        config: PathBuf,
        /// This process's share: shard I of N, numbered from 0.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Check a config without running it.
    Validate {
        /// The experiment config (TOML).
        config: PathBuf,
    },
    /// Re-render DIR/report/index.html from DIR/results.jsonl.
    Report {
        /// A run directory.
        dir: PathBuf,
    },
    /// One ranking across runs: a self-contained HTML page, or the wide
    /// encoder × task table as Markdown or CSV.
    Leaderboard {
        /// Run directories (each with a results.jsonl).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write it (default: leaderboard.html for html, standard
        /// output for markdown and csv).
        #[arg(long)]
        out: Option<PathBuf>,
        /// What to write.
        #[arg(long, value_enum, default_value_t = BoardFormat::Html)]
        format: BoardFormat,
    },
    /// Results of run directories as a table for a paper or a script: the
    /// long table (one row per record) or the wide encoder × task table.
    Export {
        /// Run directories (each with a results.jsonl).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Which table (default: long for csv and parquet, wide for
        /// markdown and latex).
        #[arg(long, value_enum)]
        table: Option<TableKind>,
        /// The file format.
        #[arg(long, value_enum, default_value_t = ExportAs::Csv)]
        format: ExportAs,
        /// Where to write it (default: standard output; parquet needs it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a synthetic listening log over a dataset of CONFIG, for a
    /// recommendation task: users prefer one value of each factor (a label;
    /// a number label is cut into low/middle/high) and hear matching items
    /// more often; `--new-items` of the items appear only at the cut-off.
    Interactions {
        /// The experiment config (TOML) that defines the dataset.
        config: PathBuf,
        /// The dataset's name in the config.
        #[arg(long)]
        dataset: String,
        /// The log's shape.
        #[command(flatten)]
        shape: commands::LogShape,
        /// Seed of the draw.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The CSV file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Inspect or clean an embedding/result cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
}

/// `repbench leaderboard --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum BoardFormat {
    /// The page (wide table, rank intervals, per-task tables).
    Html,
    /// The wide table as Markdown.
    Markdown,
    /// The wide table as CSV.
    Csv,
}

/// `repbench export --table`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum TableKind {
    /// One row per record of results.jsonl, every field a column.
    Long,
    /// One row per leaderboard entry: value, interval and rank per task.
    Wide,
}

/// `repbench export --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportAs {
    /// CSV with a header row.
    Csv,
    /// Apache Parquet (pandas.read_parquet, polars.read_parquet).
    Parquet,
    /// A Markdown table.
    Markdown,
    /// A LaTeX booktabs table; bold marks a significantly best value.
    Latex,
}

#[derive(Subcommand)]
enum CacheAction {
    /// List entries (kind, size, dataset/encoder) with their checksum status.
    List {
        /// The cache directory (default of a run: <out_dir>/cache).
        dir: PathBuf,
    },
    /// Re-hash every entry; exit 1 if any is corrupt.
    Verify {
        /// The cache directory.
        dir: PathBuf,
    },
    /// Remove corrupt entries and leftovers of interrupted writes.
    Gc {
        /// The cache directory.
        dir: PathBuf,
    },
}

/// Exit status of a failed command: 1 run failed, 2 bad usage or input.
pub enum Failure {
    /// The inputs were fine but the run failed.
    Run(String),
    /// The config or arguments are wrong.
    Usage(String),
}

/// Restores the default action of SIGPIPE, which Rust's runtime ignores:
/// `repbench run … | head` then ends quietly when `head` stops reading,
/// as command-line tools do, instead of panicking on the failed write.
/// `run` writes every output file before it prints to stdout, so nothing
/// is lost.
#[cfg(unix)]
fn exit_quietly_on_closed_stdout() {
    // SAFETY: called first in `main`, before any thread exists; setting a
    // signal's disposition to SIG_DFL installs no Rust handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn exit_quietly_on_closed_stdout() {}

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run { config, out, shard } => match shard {
            Some(shard) => commands::extract(&config, out.as_deref(), Some(&shard), cli.quiet),
            None => commands::run(&config, out.as_deref(), cli.quiet),
        },
        Command::Extract { config, shard } => {
            commands::extract(&config, None, shard.as_deref(), cli.quiet)
        }
        Command::Validate { config } => commands::validate(&config),
        Command::Interactions {
            config,
            dataset,
            shape,
            seed,
            out,
        } => commands::interactions(&config, &dataset, &shape, seed, &out),
        Command::Report { dir } => commands::report(&dir),
        Command::Leaderboard { dirs, out, format } => {
            use repbench_reports::LeaderboardFormat as F;
            let format = match format {
                BoardFormat::Html => F::Html,
                BoardFormat::Markdown => F::Markdown,
                BoardFormat::Csv => F::Csv,
            };
            commands::leaderboard(&dirs, out.as_deref(), format)
        }
        Command::Export {
            dirs,
            table,
            format,
            out,
        } => {
            use repbench_reports::export::{ExportFormat as F, ExportTable as T};
            let format = match format {
                ExportAs::Csv => F::Csv,
                ExportAs::Parquet => F::Parquet,
                ExportAs::Markdown => F::Markdown,
                ExportAs::Latex => F::Latex,
            };
            let table = match table {
                Some(TableKind::Long) => T::Long,
                Some(TableKind::Wide) => T::Wide,
                None if matches!(format, F::Csv | F::Parquet) => T::Long,
                None => T::Wide,
            };
            commands::export(&dirs, table, format, out.as_deref())
        }
        Command::Cache { action } => match action {
            CacheAction::List { dir } => commands::cache_list(&dir),
            CacheAction::Verify { dir } => commands::cache_verify(&dir),
            CacheAction::Gc { dir } => commands::cache_gc(&dir),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Run(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
