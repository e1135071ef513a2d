//! Progress reporting, abstracted so the core does not pick a terminal UI.

/// Starts progress stages.
pub trait Progress: Send + Sync {
    /// A stage of `total` steps called `label`.
    fn stage(&self, label: &str, total: u64) -> Box<dyn Stage>;
}

/// One running stage.
pub trait Stage: Send + Sync {
    /// Advances by `n` steps.
    fn inc(&self, n: u64);
    /// Marks the stage done.
    fn finish(&self);
}

/// Reports nothing (`--quiet`, tests).
pub struct Silent;

struct SilentStage;

impl Progress for Silent {
    fn stage(&self, _label: &str, _total: u64) -> Box<dyn Stage> {
        Box::new(SilentStage)
    }
}

impl Stage for SilentStage {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}
