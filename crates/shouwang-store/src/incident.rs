//! The store's vocabulary for incidents: filters, the engine's atomic
//! batches and the changes a person makes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{
    Event, Finding, Incident, IncidentStatus, NewIncident, NewTimelineEntry, ReportStage,
    TimelineEntry,
};

/// Which incidents to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    /// Only incidents not yet closed.
    #[serde(default)]
    pub open_only: bool,
    pub level: Option<IncidentLevel>,
    /// Only incidents at this level or above.
    #[serde(default)]
    pub min_level: Option<IncidentLevel>,
    /// Only incidents with a report still to record (the first report or
    /// the summary): those whose reporting clock may still run.
    #[serde(default)]
    pub unreported: bool,
    /// Discovered at or after.
    pub since: Option<DateTime<Utc>>,
    /// Discovered before.
    pub until: Option<DateTime<Utc>>,
    /// Only incidents with a greater id, oldest first (a feed).
    pub after_id: Option<i64>,
    /// At most this many, newest first (oldest first with `after_id`);
    /// 0 means 500.
    pub limit: usize,
}

impl IncidentFilter {
    pub(crate) fn order_sql(&self) -> &'static str {
        if self.after_id.is_some() {
            "ORDER BY id"
        } else {
            "ORDER BY discovered_at DESC, id DESC"
        }
    }

    pub(crate) fn effective_limit(&self) -> i64 {
        if self.limit == 0 {
            500
        } else {
            self.limit as i64
        }
    }
}

/// Events and findings that make up (part of) an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Members {
    pub events: Vec<i64>,
    pub findings: Vec<i64>,
    /// The time of the latest of them.
    pub last_activity: Option<DateTime<Utc>>,
}

impl Members {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.findings.is_empty()
    }
}

/// What one pass of the incident engine decided, applied in one
/// transaction together with the engine's read positions, so a crash
/// neither loses events nor counts them twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentBatch {
    /// New incidents and what they are made of. Each gets an `opened`
    /// timeline line with its summary.
    pub opened: Vec<(NewIncident, Members)>,
    /// Existing incidents that more events or findings joined.
    pub joined: Vec<(i64, Members)>,
    /// Settings to write in the same transaction (the engine's cursors).
    pub settings: Vec<(String, serde_json::Value)>,
    /// Apply only if this setting still has this value (`None`: absent):
    /// two engines reading from the same cursor cannot both apply.
    pub expect: Option<(String, Option<serde_json::Value>)>,
}

/// A change a person (or the engine's escalation) makes to an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentChange {
    pub status: Option<IncidentStatus>,
    pub level: Option<IncidentLevel>,
    /// A report to the authority was sent at this time.
    pub reported: Option<(ReportStage, DateTime<Utc>)>,
}

impl IncidentChange {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.level.is_none() && self.reported.is_none()
    }
}

/// The timeline line that records a change; written in the same
/// transaction as the change.
pub type ChangeNote = NewTimelineEntry;

/// The setting that holds the unit profile entered in the console.
pub const UNIT_PROFILE_SETTING: &str = "unit.profile";

/// The unit profile entered in the console, if any; `fallback` (the
/// config's `[unit]`) otherwise. The one place that decides the source.
pub fn unit_profile(
    store: &dyn crate::Store,
    fallback: &shouwang_model::UnitProfile,
) -> crate::Result<shouwang_model::UnitProfile> {
    match store.setting(UNIT_PROFILE_SETTING)? {
        Some(v) => serde_json::from_value(v).map_err(|e| crate::StoreError::Invalid {
            what: "unit profile",
            detail: e.to_string(),
        }),
        None => Ok(fallback.clone()),
    }
}

/// The setting that holds the unit's staff roster (人员名册), a list of
/// [`StaffMember`](shouwang_model::StaffMember) in the order entered.
pub const STAFF_SETTING: &str = "unit.staff";

/// The staff roster entered in the console; empty when none was.
pub fn staff(store: &dyn crate::Store) -> crate::Result<Vec<shouwang_model::StaffMember>> {
    match store.setting(STAFF_SETTING)? {
        Some(v) => serde_json::from_value(v).map_err(|e| crate::StoreError::Invalid {
            what: "staff roster",
            detail: e.to_string(),
        }),
        None => Ok(Vec::new()),
    }
}

/// The incidents every store keeps, and the feeds the incident engine
/// reads. A part of [`Store`](crate::Store), implemented by each backend in
/// its own file (`sqlite_incident.rs`, `postgres_incident.rs`).
pub trait Incidents {
    /// Apply one pass of the incident engine atomically; returns the ids
    /// of the opened incidents, in order.
    fn apply_incident_batch(&self, batch: &IncidentBatch) -> Result<Vec<i64>>;
    fn incident(&self, id: i64) -> Result<Option<Incident>>;
    /// Incidents, newest discovery first.
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    /// How many incidents the filter matches (its limit aside).
    fn count_incidents(&self, filter: &IncidentFilter) -> Result<u64>;
    /// The most recently active incident with this group key that is not
    /// closed: where a related event joins.
    fn open_incident_for_group(&self, group_key: &str) -> Result<Option<Incident>>;
    fn add_timeline(&self, entries: &[NewTimelineEntry]) -> Result<()>;
    /// An incident's timeline, oldest first.
    fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>>;
    /// The first `limit` events that make up an incident, oldest first.
    fn incident_events(&self, incident_id: i64, limit: usize) -> Result<Vec<Event>>;
    /// The findings that make up an incident.
    fn incident_findings(&self, incident_id: i64) -> Result<Vec<Finding>>;
    /// Events with `id > after`, oldest first: the incident engine's feed.
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>>;
    /// Findings with `id > after`, oldest first.
    fn findings_after(&self, after: i64, limit: usize) -> Result<Vec<Finding>>;
}

/// Named settings: the unit profile, the console's notification channels,
/// the engine's cursors. A part of [`Store`](crate::Store).
pub trait Settings {
    /// A named setting (unit profile, notification channels, engine cursors).
    fn setting(&self, name: &str) -> Result<Option<serde_json::Value>>;
    fn set_setting(&self, name: &str, value: &serde_json::Value) -> Result<()>;
}

/// A batch's compare-and-set on the engine's state: the setting `name` as
/// stored (`have`) must still be what the engine read (`want`), or another
/// engine moved it and this batch must not be applied.
pub(crate) fn unmoved(
    name: &str,
    have: Option<String>,
    want: &Option<serde_json::Value>,
) -> std::result::Result<(), crate::StoreError> {
    let have: Option<serde_json::Value> = have.and_then(|s| serde_json::from_str(&s).ok());
    if have == *want {
        Ok(())
    } else {
        Err(crate::StoreError::Conflict {
            what: "setting",
            detail: format!("{name} was moved by another writer"),
        })
    }
}
