//! How long encoders ran during the embedding stage, so a run can say how
//! much of that stage was the model and how much the framework (reading
//! and resampling audio, perturbing, pooling, the cache).

use std::sync::Mutex;
use std::time::Instant;

/// The intervals during which an encoder call was running, on any thread.
#[derive(Default)]
pub struct EncoderClock {
    spans: Mutex<Vec<(Instant, Instant)>>,
}

impl EncoderClock {
    /// Runs `call` (one encoder call) and records when it ran.
    pub fn time<T>(&self, call: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = call();
        let span = (start, Instant::now());
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(span);
        out
    }

    /// Seconds during which at least one encoder call was running: the
    /// length of the union of the calls' intervals, so calls on parallel
    /// threads count once and the rest of the stage's wall time is the
    /// framework's.
    pub fn busy_seconds(&self) -> f64 {
        let mut spans = self
            .spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        spans.sort();
        let mut busy = 0.0;
        let mut current: Option<(Instant, Instant)> = None;
        for (a, b) in spans {
            current = match current {
                Some((s, e)) if a <= e => Some((s, e.max(b))),
                Some((s, e)) => {
                    busy += (e - s).as_secs_f64();
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        busy + current.map_or(0.0, |(s, e)| (e - s).as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overlapping_calls_count_once_and_gaps_not_at_all() {
        let clock = EncoderClock::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // [0, 100) and [50, 150) overlap: 150 ms; [300, 350): 50 ms more.
        clock.spans.lock().unwrap().extend([
            (at(300), at(350)),
            (at(0), at(100)),
            (at(50), at(150)),
        ]);
        assert!((clock.busy_seconds() - 0.2).abs() < 1e-9);
        assert_eq!(EncoderClock::default().busy_seconds(), 0.0);
        let doubled = clock.time(|| 21 * 2);
        assert_eq!(doubled, 42);
        assert_eq!(clock.spans.lock().unwrap().len(), 4);
    }
}
