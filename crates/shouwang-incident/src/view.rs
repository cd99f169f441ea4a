//! Incidents as `incident list` and `incident show` give them: each with
//! its category and reporting clock, one whole with its timeline, events
//! and findings. The JSON of both commands is these structs; the text is
//! [`crate::text`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use shouwang_model::{Event, Finding, Incident, TimelineEntry};
use shouwang_store::{IncidentFilter, Store, StoreError};

use crate::{Deadline, DeadlineState, ReportingPolicy, deadlines};

/// An incident with its category in words and its reporting clock.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub incident: Incident,
    pub category: String,
    pub deadlines: Vec<Deadline>,
}

/// The incidents `filter` picks, each with its clock at `now`.
pub fn list(
    store: &dyn Store,
    filter: &IncidentFilter,
    policy: &ReportingPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Listed>, StoreError> {
    Ok(store
        .incidents(filter)?
        .into_iter()
        .map(|incident| Listed {
            category: incident.category_zh(),
            deadlines: deadlines(&incident, policy, now),
            incident,
        })
        .collect())
}

/// Has any of them passed a reporting deadline?
pub fn overdue(listed: &[Listed]) -> bool {
    listed.iter().any(|l| {
        l.deadlines
            .iter()
            .any(|d| d.state == DeadlineState::Overdue)
    })
}

/// One incident whole.
#[derive(Debug, Serialize)]
pub struct Shown {
    pub incident: Incident,
    pub category: String,
    pub deadlines: Vec<Deadline>,
    pub timeline: Vec<TimelineEntry>,
    pub events: Vec<Event>,
    pub findings: Vec<Finding>,
}

/// Incident `id` with its clock at `now`, its timeline, its last 50 events
/// and its findings; `None` when there is no such incident.
pub fn show(
    store: &dyn Store,
    id: i64,
    policy: &ReportingPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Shown>, StoreError> {
    let Some(incident) = store.incident(id)? else {
        return Ok(None);
    };
    Ok(Some(Shown {
        category: incident.category_zh(),
        deadlines: deadlines(&incident, policy, now),
        timeline: store.timeline(id)?,
        events: store.incident_events(id, 50)?,
        findings: store.incident_findings(id)?,
        incident,
    }))
}
