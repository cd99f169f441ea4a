//! 网页防篡改: what the watcher reports, one event per path it acted on.

use serde::{Deserialize, Serialize};

pub const SENSOR: &str = "guard";
/// The check every guard event names in its provenance.
pub const WATCH_CHECK: &str = "guard.watch";

/// A sealed path was altered and put back.
pub const RESTORED: &str = "guard.restored";
/// A sealed path was deleted and recreated.
pub const RECREATED: &str = "guard.recreated";
/// A path not in the baseline appeared and was moved to quarantine.
pub const QUARANTINED: &str = "guard.quarantined";
/// A new file in an area declared writable: kept, reported.
pub const WRITABLE_NEW: &str = "guard.writable-new";
/// A sealed path was altered and could not be put back.
pub const RESTORE_FAILED: &str = "guard.restore-failed";
/// A change during a maintenance window: seen, not undone.
pub const CHANGED_IN_MAINTENANCE: &str = "guard.changed-in-maintenance";

/// The root's path no longer leads to the sealed directory (moved away,
/// or a symlink in its place): whatever is there now is served, and
/// nothing is restored through it.
pub const ROOT_DISPLACED: &str = "guard.root-displaced";
/// A root's baseline failed its authentication: nothing is restored from
/// it until it is sealed again.
pub const BASELINE_TAMPERED: &str = "guard.baseline-tampered";
/// The oldest quarantined evidence was dropped to stay within the
/// quarantine's budget; the event is what is left of it.
pub const QUARANTINE_DROPPED: &str = "guard.quarantine-dropped";

pub const KINDS: &[&str] = &[
    RESTORED,
    RECREATED,
    QUARANTINED,
    WRITABLE_NEW,
    RESTORE_FAILED,
    CHANGED_IN_MAINTENANCE,
    ROOT_DISPLACED,
    BASELINE_TAMPERED,
    QUARANTINE_DROPPED,
];

/// The guard records events only, no findings.
pub const CHECK_PREFIXES: &[&str] = &[];

/// The kinds whose latency is a restore (the report's average and maximum).
pub const LATENCY_KINDS: [&str; 2] = [RESTORED, RECREATED];
/// The details field holding the latency, for the store's rollup.
pub const LATENCY_FIELD: &str = "latency_ms";

/// What every guard event says; the whole details of
/// `guard.recreated`, `guard.writable-new` and
/// `guard.changed-in-maintenance`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Change {
    /// The path inside the root.
    pub path: String,
    /// The protected root (also the event's asset).
    pub root: String,
    /// From seeing the change to the action done, in milliseconds.
    pub latency_ms: f64,
    /// The sealed content's BLAKE3, where the baseline has content.
    pub sealed_blake3: Option<String>,
}

/// The details of `guard.recreated`, `guard.writable-new` and
/// `guard.changed-in-maintenance`.
pub type Recreated = Change;
pub type WritableNew = Change;
pub type ChangedInMaintenance = Change;

/// The details of `guard.restored`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Restored {
    #[serde(flatten)]
    pub change: Change,
    /// What differed: `content`, `mode`, `owner`, `type`, `target`.
    pub aspects: Vec<String>,
    /// Where the altered version was kept, if it was worth keeping.
    pub quarantine_id: Option<String>,
}

/// The details of `guard.quarantined`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Quarantined {
    #[serde(flatten)]
    pub change: Change,
    pub quarantine_id: String,
}

/// The details of `guard.restore-failed`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestoreFailed {
    #[serde(flatten)]
    pub change: Change,
    pub error: String,
}

/// The details of `guard.root-displaced` (`path` is `.`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RootDisplaced {
    #[serde(flatten)]
    pub change: Change,
    /// Where the symlink now at the root's path points, if one is there.
    pub symlink_target: Option<String>,
    pub detail: String,
}

/// The details of `guard.baseline-tampered` (`path` is `.`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BaselineTampered {
    #[serde(flatten)]
    pub change: Change,
    /// The manifest that failed its check.
    pub manifest: String,
    pub detail: String,
}

/// The details of `guard.quarantine-dropped`: a summary of the evidence
/// dropped (`path` is where it was found).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuarantineDropped {
    #[serde(flatten)]
    pub change: Change,
    pub quarantine_id: String,
    /// `intruder` or `tampered`.
    pub reason: String,
    pub size: u64,
    pub blake3: Option<String>,
    /// When it was quarantined (RFC 3339).
    pub quarantined_at: String,
    /// How many items this root's quarantine has dropped since the
    /// watcher started, this one included.
    pub dropped_total: u64,
}

/// The quarantine id an event of `kind` names, if its kind has one.
pub fn quarantine_id(kind: &str, details: &serde_json::Value) -> Option<String> {
    match kind {
        RESTORED => super::decode::<Restored>(details).ok()?.quarantine_id,
        QUARANTINED => Some(super::decode::<Quarantined>(details).ok()?.quarantine_id),
        _ => None,
    }
}
