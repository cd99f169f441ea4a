//! The audit entries that bracket a run of `shouwang up`: `system.start`
//! (version, process, console address) and `system.stop` (the signal that
//! stopped it, or the error it ended with), so the log says when the
//! protection was on.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::json;
use shouwang_store::{NewAuditEntry, Store, StoreError};

/// Record that `up` started on `data_dir`.
pub fn record_start(
    store: &dyn Store,
    data_dir: &Path,
    version: &str,
    console: Option<SocketAddr>,
) -> Result<(), StoreError> {
    store
        .record_action(&NewAuditEntry::new(
            "system",
            "system.start",
            data_dir.display().to_string(),
            json!({
                "version": version,
                "pid": std::process::id(),
                "console": console.map(|addr| addr.to_string()),
            }),
        ))
        .map(drop)
}

/// Record that `up` stopped: on `Ok(signal)`, or with the error it failed
/// with.
pub fn record_stop(
    store: &dyn Store,
    data_dir: &Path,
    version: &str,
    ended: Result<&str, String>,
) -> Result<(), StoreError> {
    let details = match ended {
        Ok(signal) => json!({ "version": version, "signal": signal }),
        Err(error) => json!({ "version": version, "error": error }),
    };
    store
        .record_action(&NewAuditEntry::new(
            "system",
            "system.stop",
            data_dir.display().to_string(),
            details,
        ))
        .map(drop)
}
