//! Shouwang's shared vocabulary.
//!
//! Every sensor speaks in these types: an [`Asset`] is something we guard or
//! inspect, a [`Finding`] is a state we observed on it ("port 3389 is open"),
//! an [`Event`] is something that happened to it ("index.php was modified and
//! restored 4 ms later"). Each finding and event carries its [`Provenance`] so
//! that a report can cite where each figure came from.
//!
//! Plain data and serde only: no IO here.

mod asset;
mod event;
mod finding;
mod incident;
mod severity;
pub mod taxonomy;

pub use asset::{Asset, AssetKind, AssetRef};
pub use event::{Event, NewEvent};
pub use finding::{Finding, FindingStatus, NewFinding};
pub use incident::{
    Incident, IncidentStatus, NewIncident, NewTimelineEntry, OperatorType, Person, ReportStage,
    SystemEntry, TimelineEntry, TimelineKind, UnitProfile,
};
pub use severity::Severity;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of Shouwang that produced a finding or event.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A short text in both of the languages the console and reports speak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `lang` ("zh" or "en"); Chinese is the default.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" && !self.en.is_empty() {
            &self.en
        } else {
            &self.zh
        }
    }
}

/// Where a finding or event came from: which sensor and check, which
/// version of Shouwang, when, and on what input. Reports cite this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The sensor, e.g. `guard`, `site`, `host`.
    pub sensor: String,
    /// The check or rule inside the sensor, e.g. `host.ssh.permit-root-login`.
    pub check: String,
    /// The Shouwang version that ran the check.
    pub version: String,
    /// When the input was observed.
    pub observed_at: DateTime<Utc>,
    /// What was looked at: a URL, a file path, a web root.
    pub input: String,
}

impl Provenance {
    /// Provenance for an observation made now by this build of Shouwang.
    pub fn now(
        sensor: impl Into<String>,
        check: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        Provenance {
            sensor: sensor.into(),
            check: check.into(),
            version: VERSION.to_string(),
            observed_at: Utc::now(),
            input: input.into(),
        }
    }
}

/// A value that was not one of the names a field accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: expected one of {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}
