//! The error type shared by every repbench crate.

use std::path::PathBuf;

/// Result alias with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a run. Each variant names the thing at
/// fault (a path, an item, an encoder) so the message alone tells the user
/// what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// An audio file exists but could not be decoded.
    #[error("{}: cannot decode audio: {reason}", path.display())]
    Decode {
        /// The file at fault.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A dataset item could not be loaded.
    #[error("dataset \"{dataset}\", item \"{item}\": {source}")]
    Item {
        /// Dataset name from the config.
        dataset: String,
        /// Item id.
        item: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// An encoder failed or was misconfigured.
    #[error("encoder \"{encoder}\": {reason}")]
    Encoder {
        /// Encoder name from the config.
        encoder: String,
        /// What went wrong and what was expected.
        reason: String,
    },
    /// A configuration value is invalid (after parsing succeeded).
    #[error("{key}: {reason}")]
    Config {
        /// Dotted path of the offending key, e.g. `encoders[1].n_mels`.
        key: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// Labels, splits or embeddings do not allow an evaluation.
    #[error("task \"{task}\": {reason}")]
    Task {
        /// Task name from the config.
        task: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the input is at fault (a config value, labels, an audio file
    /// that cannot be read or decoded) rather than the program or a model:
    /// the CLI exits 2 for these, as for any invalid input.
    pub fn is_input_fault(&self) -> bool {
        match self {
            Error::Config { .. } | Error::Task { .. } | Error::Decode { .. } => true,
            Error::Item { source, .. } => {
                matches!(**source, Error::Decode { .. } | Error::Io { .. })
            }
            Error::Io { .. } | Error::Encoder { .. } | Error::Other(_) => false,
        }
    }

    /// A configuration error at `key`.
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
