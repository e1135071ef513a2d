//! A small seeded mutation fuzzer for the parsers that read user files
//! (configs, manifests, audio), usable on stable Rust where `cargo fuzz`
//! is not: tests run a fixed 2000 inputs per target, `scripts/fuzz.sh` minutes.
//!
//! Each input is a seed file mutated by a few stacked byte edits (bit
//! flips, boundary values, 32-bit fields, deletions, insertions,
//! duplications, truncation, splices with another seed), derived from a
//! seed number, so any failure is reproducible from its number alone. A
//! target must never panic, and with [`PeakAlloc`] as the test binary's
//! global allocator, never request one allocation above a bound.
//!
//! Only built for tests (`feature = "fuzzing"`, enabled by the workspace
//! crates' dev-dependencies).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Values at the edges of what parsers handle: zero, sign bits, maxima.
const BYTES: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b'='];
const WORDS: [u32; 8] = [
    0,
    1,
    2,
    1000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// `input` after one to four random edits (`others` supply splices).
pub fn mutate(rng: &mut ChaCha8Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = out.len();
        let at = if len == 0 { 0 } else { rng.gen_range(0..len) };
        match rng.gen_range(0..8) {
            0 if len > 0 => out[at] ^= 1 << rng.gen_range(0..8),
            1 if len > 0 => out[at] = BYTES[rng.gen_range(0..BYTES.len())],
            2 if len >= 4 => {
                let at = rng.gen_range(0..=len - 4);
                let word = WORDS[rng.gen_range(0..WORDS.len())];
                out[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            3 if len > 0 => {
                let end = (at + rng.gen_range(1..=16)).min(len);
                out.drain(at..end);
            }
            4 => {
                let extra: Vec<u8> = (0..rng.gen_range(1..=16)).map(|_| rng.gen()).collect();
                out.splice(at..at, extra);
            }
            5 if len > 0 => {
                let end = (at + rng.gen_range(1..=64)).min(len);
                let copy = out[at..end].to_vec();
                let to = rng.gen_range(0..=len);
                out.splice(to..to, copy);
            }
            6 => out.truncate(at),
            _ if !others.is_empty() => {
                let other = &others[rng.gen_range(0..others.len())];
                let from = if other.is_empty() {
                    0
                } else {
                    rng.gen_range(0..other.len())
                };
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => {}
        }
    }
    out
}

thread_local! {
    /// Largest allocation requested on this thread since the last
    /// [`PeakAlloc::take_largest`]. Per thread, so tests running in
    /// parallel do not see each other's allocations.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    // `try_with`: during thread teardown the slot may be gone.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

/// A global allocator that records the largest single allocation per
/// thread, so a fuzz test can check that no input makes a parser allocate
/// without bound.
pub struct PeakAlloc;

impl PeakAlloc {
    /// The largest allocation on this thread since the last call, then
    /// resets it.
    pub fn take_largest(&self) -> usize {
        LARGEST.with(|l| l.replace(0))
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// wrapper only records sizes in a const-initialised thread-local, which
// never allocates.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How much to fuzz each target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// A fixed number of inputs: the test suite's default (2000), so CI
    /// tries the same inputs on every machine whatever its speed.
    Inputs(u64),
    /// Inputs until this much time has passed (`REPBENCH_FUZZ_SECONDS`,
    /// set by `scripts/fuzz.sh`).
    Time(Duration),
}

/// The budget: `REPBENCH_FUZZ_SECONDS` when set, else 2000 inputs.
pub fn budget() -> Budget {
    std::env::var("REPBENCH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Budget::Inputs(2000), |s| {
            Budget::Time(Duration::from_secs_f64(s))
        })
}

/// A fuzz campaign over one target.
pub struct Campaign<'a> {
    /// Name, used in messages and failure file names.
    pub name: &'a str,
    /// Valid inputs to mutate.
    pub seeds: Vec<Vec<u8>>,
    /// Earlier failures, run as they are before any mutation
    /// (`<dir>/*`, see [`Campaign::regressions`]).
    pub regressions: Vec<(PathBuf, Vec<u8>)>,
    /// Largest single allocation allowed while the target runs (checked
    /// when the test binary's allocator is the `PeakAlloc` given).
    pub max_allocation: usize,
}

impl Campaign<'_> {
    /// Reads every file of `dir` (absent: none) as a regression input.
    pub fn regressions(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("regression inputs are readable");
                (p, bytes)
            })
            .collect()
    }

    /// Runs the regression inputs, then mutated seeds per [`budget`];
    /// returns one line per failing input (a panic, or an allocation over
    /// the bound), after writing each failing input to the system temp
    /// directory so it can be added to the regression inputs.
    pub fn run(&self, alloc: &PeakAlloc, target: impl Fn(&[u8])) -> Vec<String> {
        let mut failures = Vec::new();
        let mut check = |label: String, input: &[u8]| {
            alloc.take_largest();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(input)));
            let largest = alloc.take_largest();
            let problem = match outcome {
                Err(panic) => Some(format!("panicked: {}", panic_text(&panic))),
                Ok(()) if largest > self.max_allocation => Some(format!(
                    "allocated {largest} bytes at once (bound {})",
                    self.max_allocation
                )),
                Ok(()) => None,
            };
            if let Some(problem) = problem {
                let hash = blake3::hash(input).to_hex();
                let saved = std::env::temp_dir().join(format!("{}-{}.bin", self.name, &hash[..16]));
                let _ = std::fs::write(&saved, input);
                failures.push(format!(
                    "{}: {label}: {problem} (input saved as {})",
                    self.name,
                    saved.display()
                ));
            }
        };
        for (path, bytes) in &self.regressions {
            check(format!("regression {}", path.display()), bytes);
        }
        let started = Instant::now();
        let budget = budget();
        let more = |n: u64| match budget {
            Budget::Inputs(total) => n < total,
            Budget::Time(time) => n < 200 || started.elapsed() < time,
        };
        let mut n = 0u64;
        while more(n) {
            let mut rng = ChaCha8Rng::seed_from_u64(n);
            let seed = &self.seeds[(n as usize) % self.seeds.len()];
            let input = mutate(&mut rng, seed, &self.seeds);
            check(format!("input #{n}"), &input);
            n += 1;
        }
        failures
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_from_their_seed_and_change_the_input() {
        let seed = b"[run]\nname = \"x\"\nout_dir = \"out\"\n".to_vec();
        let others = vec![seed.clone()];
        let a = mutate(&mut ChaCha8Rng::seed_from_u64(7), &seed, &others);
        let b = mutate(&mut ChaCha8Rng::seed_from_u64(7), &seed, &others);
        assert_eq!(a, b);
        let changed = (0..50)
            .filter(|&n| mutate(&mut ChaCha8Rng::seed_from_u64(n), &seed, &others) != seed)
            .count();
        assert!(changed > 40, "{changed} of 50 inputs changed");
    }

    #[test]
    fn a_panicking_target_is_reported_with_its_input() {
        static ALLOC: PeakAlloc = PeakAlloc;
        let campaign = Campaign {
            name: "self-test",
            seeds: vec![b"abc".to_vec()],
            regressions: vec![(PathBuf::from("r1"), b"boom".to_vec())],
            max_allocation: 1 << 20,
        };
        let failures = campaign.run(&ALLOC, |input| assert!(input != b"boom", "found it"));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("regression r1") && failures[0].contains("found it"));
    }
}
