//! The shipped configs' reports and a leaderboard as a reader's browser
//! shows them, in headless Chromium: no console message, nothing wider
//! than a 1 000 px window except inside its own scrolling box, every chart
//! drawn, the "who wins" table on the first 1 400 × 900 screen, and the
//! same charts with JavaScript disabled. Screenshots are kept under
//! `$CARGO_TARGET_TMPDIR/browser/` for a person to look at.
//!
//! Needs Chromium (`apt-get install chromium`; `.ci/run` installs it);
//! `REPBENCH_CHROMIUM` names another binary, and `REPBENCH_SKIP_BROWSER=1`
//! skips the test on a machine that cannot have one. It takes about 80 s,
//! half the suite's run time, so it is marked slow (ignored) and CI runs
//! it: `scripts/test.sh -- --include-ignored`.

mod common;

use common::{assert_ok, repbench, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CHECK: &str = include_str!("browser/check.js");

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REPBENCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// A page and the heading whose table must be on the first screen.
struct Page {
    name: String,
    html: PathBuf,
    first: &'static str,
}

struct Browser {
    binary: PathBuf,
    profile: PathBuf,
}

impl Browser {
    fn open(&self, page: &Path, (w, h): (u32, u32), action: &[&str]) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", self.profile.display()))
        .arg(format!("--window-size={w},{h}"));
        let out = cmd
            .args(action)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium starts");
        assert!(
            out.status.success(),
            "chromium failed on {}: {:?}",
            page.display(),
            text(&out).1
        );
        out
    }
}

/// The figures `check.js` measured, from the dumped DOM.
fn measured(dom: &str) -> Option<serde_json::Value> {
    let start = dom.rfind("<pre id=\"repbench-check\">")? + "<pre id=\"repbench-check\">".len();
    let end = start + dom[start..].find("</pre>")?;
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&");
    serde_json::from_str(&json).ok()
}

fn check(browser: &Browser, page: &Page, artefacts: &Path) {
    let html = std::fs::read_to_string(&page.html).unwrap();
    assert!(
        !html.contains(" src=") && !html.contains("<link"),
        "{}: the page must load nothing from elsewhere",
        page.name
    );
    let charts = html.matches("<svg").count();
    let probe = page
        .html
        .with_file_name(format!("{}-check.html", page.name));
    let script = format!(
        "<script>{}</script></body>",
        CHECK.replace("FIRST", page.first)
    );
    std::fs::write(&probe, html.replacen("</body>", &script, 1)).unwrap();

    // JavaScript on, a 1 000 px window: nothing sticks out, every chart has a size, no console message.
    let out = browser.open(&probe, (1000, 900), &["--dump-dom"]);
    let (dom, log) = text(&out);
    let m = measured(&dom).unwrap_or_else(|| {
        let tail = &dom[dom.len().saturating_sub(600)..];
        panic!(
            "{}: check.js did not run; the page ends\n{tail}\n{log}",
            page.name
        )
    });
    assert_eq!(
        m["wide"],
        serde_json::json!([]),
        "{}: wider than the window at 1000 px",
        page.name
    );
    assert_eq!(
        m["charts"], charts,
        "{}: every chart in the page is drawn",
        page.name
    );
    assert_eq!(m["empty"], 0, "{}: a chart drawn with no size", page.name);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "{}: console messages {console:?}",
        page.name
    );

    // The first screen at 1 400 × 900 holds the answer.
    let out = browser.open(&probe, (1400, 900), &["--dump-dom"]);
    let m = measured(&text(&out).0).expect("check.js ran");
    let bottom = m["firstBottom"]
        .as_f64()
        .unwrap_or_else(|| panic!("{}: no #{} table", page.name, page.first));
    assert!(
        bottom <= m["height"].as_f64().unwrap(),
        "{}: the #{} table ends at {bottom} px, below the first screen ({})",
        page.name,
        page.first,
        m["height"]
    );

    // JavaScript off: Chromium's own switch for it also stops its
    // --dump-dom and --screenshot, so the page is shown with a policy that
    // forbids every script (check.js included: it must not run).
    let policy =
        "<head><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">";
    let noscript = page
        .html
        .with_file_name(format!("{}-noscript.html", page.name));
    std::fs::write(
        &noscript,
        std::fs::read_to_string(&probe)
            .unwrap()
            .replacen("<head>", policy, 1),
    )
    .unwrap();
    let dom = text(&browser.open(&noscript, (1400, 900), &["--dump-dom"])).0;
    assert!(
        dom.contains("</html>") && measured(&dom).is_none(),
        "{}: scripts were off",
        page.name
    );
    assert_eq!(
        dom.matches("<svg").count(),
        charts,
        "{}: charts without JavaScript",
        page.name
    );

    for (shown, size, suffix) in [
        (&noscript, (1400, 900), "first-screen-no-js"),
        (&page.html, (1000, 900), "1000px"),
    ] {
        let shot = artefacts.join(format!("{}-{suffix}.png", page.name));
        let _ = std::fs::remove_file(&shot);
        browser.open(shown, size, &[&format!("--screenshot={}", shot.display())]);
        let bytes = std::fs::read(&shot).unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "{}: no screenshot {}",
            page.name,
            shot.display()
        );
    }
}

#[test]
#[ignore = "slow (about 80 s): CI runs it with scripts/test.sh -- --include-ignored"]
fn shipped_reports_and_a_leaderboard_read_well_in_a_browser() {
    let Some(binary) = chromium() else {
        if std::env::var_os("REPBENCH_SKIP_BROWSER").is_some() {
            eprintln!(
                "REPBENCH_SKIP_BROWSER is set and no Chromium was found: browser check skipped"
            );
            return;
        }
        panic!(
            "the browser check needs Chromium: `apt-get install chromium` (Debian), or set \
             REPBENCH_CHROMIUM to a Chromium/Chrome binary, or REPBENCH_SKIP_BROWSER=1 to skip it"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let artefacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artefacts).unwrap();
    let mut pages = Vec::new();
    for config in ["quickstart", "robustness", "disentanglement", "properties"] {
        let out = dir.path().join(config);
        let out_s = out.to_string_lossy().into_owned();
        let config_path = format!("configs/{config}.toml");
        let mut args = vec!["run", config_path.as_str(), "--out", out_s.as_str()];
        // The robustness run prints its terminal summary: it must fit a
        // screen (issue #13: at most 60 lines, one per perturbation).
        if config != "robustness" {
            args.push("--quiet");
        }
        let ran = repbench(&args);
        assert_ok(&ran);
        if config == "robustness" {
            let printed = String::from_utf8_lossy(&ran.stdout);
            let lines = printed.lines().count();
            assert!(lines <= 60, "{lines} lines:\n{printed}");
            for sweep in ["noise", "mp3"] {
                assert!(printed.contains(sweep), "a line for {sweep}:\n{printed}");
            }
        }
        if config == "disentanglement" {
            // Provenance names the synthesiser that made the audio.
            let page = std::fs::read_to_string(out.join("report/index.html")).unwrap();
            assert!(
                page.contains("<th>synthetic_audio.notes</th><td>built-in synthesiser</td>"),
                "the Run section names the renderer"
            );
        }
        pages.push(Page {
            name: config.into(),
            html: out.join("report/index.html"),
            first: "answer",
        });
    }
    let board = dir.path().join("leaderboard.html");
    let runs: Vec<String> = ["quickstart", "robustness"]
        .iter()
        .map(|c| dir.path().join(c).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["leaderboard", "--out", board.to_str().unwrap()];
    args.extend(runs.iter().map(String::as_str));
    assert_ok(&repbench(&args));
    pages.push(Page {
        name: "leaderboard".into(),
        html: board,
        first: "wide",
    });
    let browser = Browser {
        binary,
        profile: dir.path().join("chromium-profile"),
    };
    // Positive control: this Chromium does report console messages the way
    // the check reads them, or an empty log would prove nothing.
    let control = dir.path().join("console.html");
    std::fs::write(
        &control,
        "<html><body><script>console.error('repbench-control')</script></body></html>",
    )
    .unwrap();
    let log = text(&browser.open(&control, (400, 300), &["--dump-dom"])).1;
    assert!(
        log.lines()
            .any(|l| l.contains(":CONSOLE") && l.contains("repbench-control")),
        "Chromium's console messages are not on stderr as expected:\n{log}"
    );
    for page in &pages {
        check(&browser, page, &artefacts);
    }
}
