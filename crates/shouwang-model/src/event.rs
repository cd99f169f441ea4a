use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AssetRef, Provenance, Severity};

/// What a sensor reports when something happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// When it happened (not when it was stored).
    pub time: DateTime<Utc>,
    /// A dotted kind, sensor first: `guard.restored`, `site.unreachable`.
    pub kind: String,
    pub asset: AssetRef,
    pub severity: Severity,
    /// One line for lists, in Chinese (the console's default language).
    pub summary: String,
    /// Kind-specific facts: hashes before and after, latency, URL, ...
    #[serde(default)]
    pub details: serde_json::Value,
    pub provenance: Provenance,
}

/// A happening, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    #[serde(flatten)]
    pub event: NewEvent,
}

impl Event {
    pub fn sensor(&self) -> &str {
        &self.event.provenance.sensor
    }
}
