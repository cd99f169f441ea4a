//! What people do with incidents, and the escalation of deadlines: shared
//! by the CLI and the console so both record the same timeline and audit.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{Incident, IncidentStatus, NewTimelineEntry, ReportStage, TimelineKind};
use shouwang_store::{IncidentChange, IncidentFilter, NewAuditEntry, Store, StoreError, Tx};

use crate::deadline::{Deadline, DeadlineState, ReportingPolicy, deadlines};

/// A change someone asks for.
#[derive(Debug, Clone, Default)]
pub struct ChangeRequest {
    pub status: Option<IncidentStatus>,
    pub level: Option<IncidentLevel>,
    /// Why: required when the level changes.
    pub reason: String,
    /// A report to the authority was sent (at this time).
    pub reported: Option<(ReportStage, DateTime<Utc>)>,
    /// A free note for the timeline.
    pub note: String,
}

/// A change that cannot be made, phrased for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("incident {0} not found")]
    NotFound(i64),
    #[error(
        "changing the level needs a reason (定级调整须说明理由): say what was found, e.g. \"首页违法内容展示超过30分钟\""
    )]
    ReasonRequired,
    #[error("nothing to change: give a status, a level with a reason, a report, or a note")]
    Nothing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Apply `req` to incident `id` as `actor`: one timeline line per aspect
/// and one audit entry, so the timeline reads like a log of what was done.
/// All of it commits in one transaction, or none of it does.
pub fn change(
    store: &dyn Store,
    id: i64,
    actor: &str,
    req: &ChangeRequest,
) -> Result<Incident, ActionError> {
    store.audited(|tx| change_in(tx, id, actor, req))
}

fn change_in(
    tx: &mut dyn Tx,
    id: i64,
    actor: &str,
    req: &ChangeRequest,
) -> Result<Incident, ActionError> {
    let before = tx.incident(id)?.ok_or(ActionError::NotFound(id))?;
    let reason = req.reason.trim();
    let level = req.level.filter(|l| *l != before.level);
    if level.is_some() && reason.is_empty() {
        return Err(ActionError::ReasonRequired);
    }
    let status = req.status.filter(|s| *s != before.status);
    let note = req.note.trim();
    if level.is_none() && status.is_none() && req.reported.is_none() && note.is_empty() {
        return Err(ActionError::Nothing);
    }
    let now = Utc::now();
    let line = |kind, text: String, details| NewTimelineEntry {
        incident_id: id,
        at: now,
        actor: actor.to_string(),
        kind,
        text,
        details,
    };
    let mut current = before.clone();
    if let Some(l) = level {
        current = tx.update_incident(
            id,
            &IncidentChange {
                level: Some(l),
                ..Default::default()
            },
            &line(
                TimelineKind::Level,
                format!("级别由“{}”调整为“{}”：{reason}", before.level.zh(), l.zh()),
                serde_json::json!({ "from": before.level, "to": l, "reason": reason }),
            ),
        )?;
    }
    if let Some(s) = status {
        let text = if reason.is_empty() || level.is_some() {
            format!("状态由“{}”变为“{}”", before.status.zh(), s.zh())
        } else {
            format!("状态由“{}”变为“{}”：{reason}", before.status.zh(), s.zh())
        };
        current = tx.update_incident(
            id,
            &IncidentChange {
                status: Some(s),
                ..Default::default()
            },
            &line(
                TimelineKind::Status,
                text,
                serde_json::json!({ "from": before.status, "to": s }),
            ),
        )?;
    }
    if let Some((stage, at)) = req.reported {
        current = tx.update_incident(
            id,
            &IncidentChange {
                reported: Some((stage, at)),
                ..Default::default()
            },
            &line(
                TimelineKind::Report,
                format!("已报送{}（{}）", stage.zh(), crate::deadline::beijing(at)),
                serde_json::json!({ "stage": stage, "at": at }),
            ),
        )?;
    }
    if !note.is_empty() {
        tx.add_timeline(&[line(
            TimelineKind::Note,
            note.to_string(),
            serde_json::json!({}),
        )])?;
    }
    tx.audit(&NewAuditEntry::new(
        actor,
        "incident.update",
        format!("incident:{id}"),
        serde_json::json!({
            "level": level.map(|l| [before.level, l]),
            "status": status.map(|s| [before.status, s]),
            "reason": reason,
            "reported": req.reported.map(|(s, at)| serde_json::json!({"stage": s, "at": at})),
            "note": (!note.is_empty()).then_some(note),
        }),
    ))?;
    Ok(current)
}

/// A deadline that someone must be told about.
#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub incident: Incident,
    pub deadline: Deadline,
}

/// The open incidents whose reporting clock may still run: at a level that
/// must be reported (or any, where the policy reports 一般 too), with a
/// report not yet recorded. The store finds them; the rest cannot be due.
pub fn reporting_clocks(policy: &ReportingPolicy) -> IncidentFilter {
    IncidentFilter {
        open_only: true,
        unreported: true,
        min_level: (!policy.report_general).then_some(IncidentLevel::Large),
        limit: 10_000,
        ..Default::default()
    }
}

/// Deadlines of open incidents that are near or past and that have not yet
/// been escalated in their current state. Recorded on the timeline by
/// [`record_escalation`], so a restart does not repeat them.
pub fn due_escalations(
    store: &dyn Store,
    policy: &ReportingPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Escalation>, StoreError> {
    let open = store.incidents(&reporting_clocks(policy))?;
    let mut out = Vec::new();
    for inc in open {
        let pending: Vec<Deadline> = deadlines(&inc, policy, now)
            .into_iter()
            .filter(|d| d.state.needs_escalation())
            .collect();
        if pending.is_empty() {
            continue;
        }
        let timeline = store.timeline(inc.id)?;
        for d in pending {
            let done = timeline.iter().any(|t| {
                t.entry.kind == TimelineKind::Escalation
                    && t.entry.details["stage"] == serde_json::json!(d.stage)
                    && t.entry.details["state"] == serde_json::json!(d.state)
            });
            if !done {
                out.push(Escalation {
                    incident: inc.clone(),
                    deadline: d,
                });
            }
        }
    }
    Ok(out)
}

/// Record that an escalation went out (or why it could not); `now` is the
/// time the deadline was judged at, the line is stamped when written.
pub fn record_escalation(
    store: &dyn Store,
    e: &Escalation,
    now: DateTime<Utc>,
    outcome: &str,
) -> Result<(), StoreError> {
    let verb = match e.deadline.state {
        DeadlineState::Overdue => "已超期",
        _ => "即将到期",
    };
    store.add_timeline(&[NewTimelineEntry {
        incident_id: e.incident.id,
        at: Utc::now(),
        actor: "system".into(),
        kind: TimelineKind::Escalation,
        text: format!(
            "{}{verb}：{}。{outcome}",
            e.deadline.stage.zh(),
            e.deadline.describe_zh(now)
        ),
        details: serde_json::json!({ "stage": e.deadline.stage, "state": e.deadline.state }),
    }])
}
