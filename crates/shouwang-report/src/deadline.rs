//! Reporting deadlines of an incident as the reports state them: the
//! incident engine's clock (`shouwang_incident::deadline`), so a report
//! and the console never disagree.

use chrono::{DateTime, Utc};
use shouwang_incident::ReportingPolicy;
use shouwang_model::{Incident, UnitProfile};

use crate::facts::DeadlineRow;

/// The policy to use: the one given, else the national rule for the
/// unit's operator type.
pub fn policy(given: Option<&ReportingPolicy>, unit: &UnitProfile) -> ReportingPolicy {
    given.cloned().unwrap_or_else(|| ReportingPolicy {
        operator_type: unit.operator_type,
        ..ReportingPolicy::default()
    })
}

/// The first-report and summary deadlines of `incident`.
pub fn deadlines(
    incident: &Incident,
    policy: &ReportingPolicy,
    now: DateTime<Utc>,
) -> Vec<DeadlineRow> {
    shouwang_incident::deadlines(incident, policy, now)
        .into_iter()
        .map(|d| DeadlineRow {
            stage: d.stage,
            due: d.due,
            met_at: d.met_at,
            state: d.state.as_str().into(),
            state_zh: d.state.zh().into(),
        })
        .collect()
}
