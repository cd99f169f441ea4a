//! What the watcher last knew of each root: converged with its baseline,
//! or what is still wrong. The watcher writes it after every
//! reconciliation (`guard/roots/<id>/state.json`); the console's guard page
//! and `/metrics` read it, so they never say "protected" on the strength of
//! a watcher that merely runs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The file in a root's baseline directory.
pub const STATE_FILE: &str = "state.json";

/// How a root stands against its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The last reconciliation found every path as sealed.
    Converged,
    /// Some paths differ still (being restored, or failing to be).
    Differs,
    /// The root's path no longer leads to the directory sealed (moved
    /// away, or a symlink in its place): nothing is restored through it.
    Displaced,
    /// The baseline failed its authentication: nothing is restored from it.
    BaselineBroken,
    /// A maintenance window is open: changes are seen, not undone.
    Paused,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::Converged => "converged",
            Condition::Differs => "differs",
            Condition::Displaced => "displaced",
            Condition::BaselineBroken => "baseline-broken",
            Condition::Paused => "paused",
        }
    }
}

/// The state of one root as the watcher last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootState {
    pub root: String,
    pub condition: Condition,
    /// Paths that differ from the baseline now (0 when converged).
    pub differing: usize,
    /// The path that has differed longest, and since when.
    pub oldest_path: Option<String>,
    pub oldest_since: Option<DateTime<Utc>>,
    /// Why, for a displaced root or a broken baseline.
    pub detail: Option<String>,
    pub checked_at: DateTime<Utc>,
    /// The watcher checks again by then; a state older than that is from a
    /// watcher that no longer runs.
    pub next_check_by: DateTime<Utc>,
}

impl RootState {
    /// Read the state in a baseline directory; `None` if no watcher has
    /// written one (or it cannot be read).
    pub fn read(baseline_dir: &Path) -> Option<RootState> {
        let bytes = fs::read(baseline_dir.join(STATE_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Replace the state atomically: a reader sees the old or the new one.
    pub fn write(&self, baseline_dir: &Path) -> std::io::Result<()> {
        let tmp = baseline_dir.join(".state.json.tmp");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        drop(f);
        fs::rename(&tmp, baseline_dir.join(STATE_FILE))
    }

    /// Is this state older than the watcher's promise to check again (with
    /// some slack for a slow pass)? Then nobody is watching the root.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        now > self.next_check_by + chrono::Duration::seconds(30)
    }

    /// The condition a reader should believe now: the last one written,
    /// unless no watcher has checked since it promised to.
    pub fn converged_now(&self, now: DateTime<Utc>) -> bool {
        self.condition == Condition::Converged && !self.is_stale(now)
    }
}
