//! 主机自查: one event per `shouwang host check` run (written by the CLI,
//! which runs the host sensor); the failed checks are findings.

use serde::{Deserialize, Serialize};

pub const SENSOR: &str = "host";

/// A run of the host checks finished; its whole result is in `run_file`.
pub const CHECK_COMPLETED: &str = "host.check.completed";

pub const KINDS: &[&str] = &[CHECK_COMPLETED];

/// The families of the host rules' ids, which are the findings' check ids
/// (`ssh.permit-root-login`): the rule files name them without a `host.`
/// prefix. A rule file whose id starts otherwise is refused by the host
/// crate's tests.
pub const CHECK_PREFIXES: &[&str] = &[
    "acct.", "audit.", "auth.", "av.", "file.", "kernel.", "mac.", "mod.", "net.", "pkg.", "ssh.",
    "svc.", "usb.", "win.",
];

/// The details of `host.check.completed`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckCompleted {
    pub profile: String,
    /// The overall score, 0 to 100.
    pub score: Option<f64>,
    pub pass: u64,
    pub fail: u64,
    pub cannot_check: u64,
    /// Open findings this run found fixed.
    pub resolved: u64,
    /// The run kept whole under the data dir's `host-runs/`.
    pub run_file: String,
    pub duration_ms: u64,
}
