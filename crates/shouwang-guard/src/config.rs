use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[guard]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Web roots `shouwang up` protects in real time. Each must be sealed
    /// first (`shouwang guard seal DIR`); excludes and writable areas are
    /// given when sealing and kept in the baseline.
    pub roots: Vec<PathBuf>,
    /// Deny writes to the roots outright (eBPF LSM) instead of undoing them.
    pub block: bool,
}
