//! `repbench`: one TOML experiment config → cached embeddings, results with
//! confidence intervals, and an HTML report.

mod commands;
mod config;
mod plan;
mod progress;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure how good an audio representation really is.
#[derive(Parser)]
#[command(name = "repbench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress bars.
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
}

/// Exit status of a failed command: 1 run failed, 2 bad usage or input.
pub enum Failure {
    /// The inputs were fine but the run failed.
    Run(String),
    /// The config or arguments are wrong.
    Usage(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run { config, out } => commands::run(&config, out.as_deref(), cli.quiet),
        Command::Validate { config } => commands::validate(&config),
        Command::Report { dir } => commands::report(&dir),
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
