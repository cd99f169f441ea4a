//! What can go wrong with the config file and the data dir, each phrased
//! for the person who can fix it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config says something Shouwang cannot take; the message names
    /// the file, the line and the nearest valid key or value.
    #[error("{0}")]
    Invalid(String),
    /// A path cannot be used as it is; the message says what to pass
    /// instead.
    #[error("{0}")]
    Unusable(String),
    /// Another `shouwang up` holds the data dir.
    #[error(
        "another `shouwang up` (pid {pid}) is using {}; stop it first, or pass another --data-dir",
        dir.display()
    )]
    Busy { pid: String, dir: PathBuf },
    #[error("cannot {doing} {}", path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// `map_err` for a failed file operation on `path`.
pub(crate) fn io(
    doing: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> ConfigError {
    let path = path.to_path_buf();
    move |source| ConfigError::Io {
        doing,
        path,
        source,
    }
}
