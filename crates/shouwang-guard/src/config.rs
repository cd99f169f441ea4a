use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::quarantine::Budget;

/// The `[guard]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Web roots `shouwang up` protects in real time. Each must be sealed
    /// first (`shouwang guard seal DIR`); excludes and writable areas are
    /// given when sealing and kept in the baseline.
    pub roots: Vec<PathBuf>,
    /// Deny writes to the roots outright (eBPF LSM) instead of undoing them.
    pub block: bool,
    /// Megabytes each root's quarantine may hold (1 to 1,048,576); the
    /// oldest evidence is dropped first, and an item larger than this is
    /// removed from the web root and only described (hash, first bytes).
    pub quarantine_max_mb: u64,
    /// Items each root's quarantine may hold (1 to 10,000,000).
    pub quarantine_max_items: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        let b = Budget::default();
        GuardConfig {
            roots: Vec::new(),
            block: false,
            quarantine_max_mb: b.max_bytes / (1024 * 1024),
            quarantine_max_items: b.max_items,
        }
    }
}

impl GuardConfig {
    pub fn quarantine_budget(&self) -> Budget {
        Budget {
            max_bytes: self.quarantine_max_mb.saturating_mul(1024 * 1024),
            max_items: self.quarantine_max_items,
        }
    }
}
