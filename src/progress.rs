//! Terminal progress bars (indicatif) on stderr.

use indicatif::{ProgressBar, ProgressStyle};
use repbench_framework::progress::{Progress, Stage};

/// Draws one bar per stage; indicatif hides them when stderr is no terminal.
pub struct Bars;

struct Bar(ProgressBar);

impl Progress for Bars {
    fn stage(&self, label: &str, total: u64) -> Box<dyn Stage> {
        let bar = ProgressBar::new(total);
        // indicatif's ETA extrapolates its recent-rate estimate, so long
        // stages say roughly how long is left.
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise}, about {eta} left",
        )
        .expect("static template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_owned());
        Box::new(Bar(bar))
    }
}

impl Stage for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish();
        // Keep the finished bar on its own line: the next stage's bar or
        // the summary on stdout would otherwise start after it.
        if !self.0.is_hidden() {
            eprintln!();
        }
    }
}
