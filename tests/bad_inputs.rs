//! The bad-input corpus (issue #14, "never trust a bad file").
//!
//! Every directory under `tests/bad_inputs/` is one case: the inputs of
//! one bad invocation (a config, a manifest, damaged audio, a directory
//! that is not a cache, …) and an `expect.toml`:
//!
//! ```toml
//! what = "one line: what is wrong with the input"
//! args = ["run", "config.toml", "--quiet"]   # relative to the case directory
//! exit = 2
//! contains = ["words", "stderr must contain"] # case-insensitive
//! ```
//!
//! Each case is copied into a fresh temporary directory and the real binary
//! runs there, with that copy as its working directory, so whatever it
//! writes stays in the copy. A case passes when the exit code is `exit`,
//! stderr holds every `contains` word, and nothing panicked, was killed by
//! a signal or ran past the time limit. All cases run before the one
//! assertion, which lists every failing case with its stderr.
//! `scripts/make_bad_inputs.py` regenerates the binary files of the corpus;
//! `tests/bad_inputs/README.md` lists the cases.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A case still running after this long is killed and fails.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Address-space limit of each run (Unix): a case that tries to allocate
/// without bound (a billion synthetic items) aborts and fails instead of
/// exhausting the machine's memory.
#[cfg(unix)]
const MEMORY_LIMIT_BYTES: u64 = 8 << 30;

/// At least this many cases must be found (guards against a moved corpus).
const MIN_CASES: usize = 30;

/// Most of a failing case's output shown in the report (its end).
const SHOWN_CHARS: usize = 3000;

/// A case's `expect.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// What is wrong with the input (shown when the case fails).
    what: String,
    /// Command-line arguments, paths relative to the case directory.
    args: Vec<String>,
    /// Expected exit code.
    exit: i32,
    /// Words stderr must contain (case-insensitive).
    contains: Vec<String>,
}

/// What one run of the binary gave.
struct Outcome {
    status: Option<ExitStatus>,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

/// The case directories, sorted by name.
fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/bad_inputs/ exists")
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Copies `from` into `to` (files and directories, recursively).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Lowers the child's address-space limit before it starts.
#[cfg(unix)]
fn limit_memory(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec; it only
    // calls getrlimit and setrlimit (async-signal-safe) and allocates
    // nothing.
    unsafe {
        cmd.pre_exec(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_AS, &mut limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let cap = MEMORY_LIMIT_BYTES as libc::rlim_t;
            if limit.rlim_max == libc::RLIM_INFINITY || limit.rlim_max > cap {
                limit.rlim_cur = cap;
            } else {
                limit.rlim_cur = limit.rlim_max;
            }
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_memory(_cmd: &mut Command) {}

/// Runs the binary with `args` in `work`; stdout and stderr go to files in
/// `logs` (no pipes to drain while waiting for the time limit).
fn run_binary(args: &[String], work: &Path, logs: &Path) -> std::io::Result<Outcome> {
    let out_path = logs.join("stdout.txt");
    let err_path = logs.join("stderr.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_repbench"));
    cmd.args(args)
        .current_dir(work)
        // A panic must show as "panicked … RUST_BACKTRACE" whatever the
        // environment of the test run says.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?);
    limit_memory(&mut cmd);
    let mut child = cmd.spawn()?;
    let started = Instant::now();
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (Some(status), false);
        }
        if started.elapsed() > TIME_LIMIT {
            // Already gone between the two calls is fine too.
            let _ = child.kill();
            child.wait()?;
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ok(Outcome {
        status,
        timed_out,
        stdout: read(&out_path),
        stderr: read(&err_path),
    })
}

/// How a run ended, for messages.
fn describe(status: Option<ExitStatus>, timed_out: bool) -> String {
    if timed_out {
        return format!("still running after {} s, killed", TIME_LIMIT.as_secs());
    }
    match status {
        Some(s) => match s.code() {
            Some(code) => format!("exit {code}"),
            None => signal_of(s),
        },
        None => "no status".into(),
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(sig) => format!("killed by signal {sig}"),
        None => format!("ended without an exit code ({status})"),
    }
}

#[cfg(not(unix))]
fn signal_of(status: ExitStatus) -> String {
    format!("ended without an exit code ({status})")
}

/// The last `SHOWN_CHARS` characters of `text`, indented.
fn tail(text: &str) -> String {
    let chars: Vec<char> = text.trim_end().chars().collect();
    let start = chars.len().saturating_sub(SHOWN_CHARS);
    let shown: String = chars[start..].iter().collect();
    let prefix = if start > 0 { "…" } else { "" };
    format!("{prefix}{shown}").replace('\n', "\n      ")
}

/// Runs one case; `Err` describes everything that went wrong.
fn check_case(dir: &Path) -> Result<(), String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(dir.join("expect.toml"))
        .map_err(|e| format!("{name}: cannot read expect.toml: {e}"))?;
    let expect: Expect =
        toml::from_str(&text).map_err(|e| format!("{name}: bad expect.toml: {e}"))?;
    if expect.args.is_empty() || expect.contains.is_empty() {
        return Err(format!(
            "{name}: expect.toml needs non-empty `args` and `contains`"
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| format!("{name}: temp dir: {e}"))?;
    let work = tmp.path().join(&name);
    copy_dir(dir, &work).map_err(|e| format!("{name}: copying the case: {e}"))?;
    let outcome = run_binary(&expect.args, &work, tmp.path())
        .map_err(|e| format!("{name}: cannot run repbench: {e}"))?;

    let mut problems = Vec::new();
    let code = outcome.status.and_then(|s| s.code());
    if outcome.timed_out || code.is_none() {
        problems.push(describe(outcome.status, outcome.timed_out));
    } else if code != Some(expect.exit) {
        problems.push(format!(
            "{} (expected exit {})",
            describe(outcome.status, false),
            expect.exit
        ));
    }
    let stderr_lower = outcome.stderr.to_lowercase();
    let missing: Vec<&str> = expect
        .contains
        .iter()
        .filter(|w| !stderr_lower.contains(&w.to_lowercase()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(format!("stderr lacks {missing:?}"));
    }
    for (stream, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        for word in ["panicked", "RUST_BACKTRACE"] {
            if text.contains(word) {
                problems.push(format!("{stream} contains \"{word}\""));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "{name} ({}): {}\n    command: repbench {}\n    stderr:\n      {}",
        expect.what,
        problems.join("; "),
        expect.args.join(" "),
        tail(&outcome.stderr)
    );
    if !outcome.stdout.trim().is_empty() {
        report.push_str(&format!("\n    stdout:\n      {}", tail(&outcome.stdout)));
    }
    Err(report)
}

#[test]
fn every_bad_input_gets_its_exit_code_and_a_message_naming_the_problem() {
    let cases = case_dirs();
    assert!(
        cases.len() >= MIN_CASES,
        "found {} case directories in {}, expected at least {MIN_CASES}",
        cases.len(),
        corpus_dir().display()
    );
    // Cases are independent (each in its own copy): run a few at a time.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(dir) = cases.get(i) else { break };
                if let Err(report) = check_case(dir) {
                    failures
                        .lock()
                        .expect("no worker panicked")
                        .push((i, report));
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("no worker panicked");
    failures.sort();
    let reports: Vec<String> = failures.into_iter().map(|(_, r)| r).collect();
    assert!(
        reports.is_empty(),
        "{} of {} bad-input cases failed:\n\n{}",
        reports.len(),
        cases.len(),
        reports.join("\n\n")
    );
}
