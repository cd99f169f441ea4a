//! 安全事件 pages: the incidents the engine opened, each with its class and
//! level, the reporting clock of the 2025 rule, the timeline, the events
//! and findings that make it up, and for operators the forms that move it
//! along (status, level with a reason, a report sent, a note).
//!
//! Changes go through `shouwang_incident::actions::change`, which the CLI
//! uses too, so both write the same timeline lines and audit entries.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shouwang_incident::actions::{self, ActionError, ChangeRequest};
use shouwang_incident::{Deadline, DeadlineState, ReportingPolicy, deadlines};
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{Incident, IncidentStatus, ReportStage, beijing_minutes};
use shouwang_store::{IncidentFilter, Store};

use super::pages::{FindingView, respond};
use super::{AppError, AppState, Auth};
use crate::i18n::tr;

/// Events of an incident shown on its page; the rest are counted.
const MEMBER_EVENTS: usize = 50;

/// The reporting policy in force: the config's, with the operator type of
/// the unit profile saved in the console when there is one.
pub(crate) fn policy(state: &AppState, store: &dyn Store) -> ReportingPolicy {
    let mut p = state.config.incident_policy.clone();
    if let Some(unit) = crate::stored_unit_profile(store) {
        p.operator_type = unit.operator_type;
    }
    p
}

/// Beijing time in the page's language: times in reports to the
/// authorities are Beijing time, whatever the server's zone.
fn when(t: DateTime<Utc>) -> String {
    beijing_minutes(t)
}

fn level_label(l: IncidentLevel, lang: &str) -> String {
    if lang == "en" {
        format!(
            "{} ({})",
            tr(lang, &format!("level.{}", l.as_str())),
            l.roman()
        )
    } else {
        format!("{}（{}级）", l.zh(), l.roman())
    }
}

#[derive(Serialize)]
struct DeadlineView {
    stage: &'static str,
    stage_label: String,
    due: Option<String>,
    met_at: Option<String>,
    state: &'static str,
    state_label: String,
    report_to: String,
    /// One line: what is due when, and how long is left.
    describe: String,
    urgent: bool,
}

impl DeadlineView {
    fn new(d: &Deadline, now: DateTime<Utc>, lang: &str) -> Self {
        let stage_label = tr(lang, &format!("stage.{}", d.stage.as_str())).to_string();
        let state_label = tr(lang, &format!("dl.{}", d.state.as_str())).to_string();
        let describe = if lang == "en" {
            match d.due {
                Some(due) => format!("{stage_label} due {} ({state_label})", when(due)),
                None => format!("{stage_label}: {state_label}"),
            }
        } else {
            d.describe_zh(now)
        };
        DeadlineView {
            stage: d.stage.as_str(),
            stage_label,
            due: d.due.map(when),
            met_at: d.met_at.map(when),
            state: d.state.as_str(),
            state_label,
            report_to: d.report_to.clone(),
            describe,
            urgent: d.state.needs_escalation(),
        }
    }
}

/// The deadline a list row shows: the first one that still runs or was
/// missed, else none.
fn nearest(ds: &[Deadline]) -> Option<&Deadline> {
    let running = |d: &&Deadline| {
        matches!(
            d.state,
            DeadlineState::Overdue | DeadlineState::DueSoon | DeadlineState::Pending
        )
    };
    ds.iter().filter(running).min_by_key(|d| d.due)
}

#[derive(Serialize)]
struct IncidentView {
    id: i64,
    title: String,
    category: String,
    subclass: String,
    level: &'static str,
    level_label: String,
    warning_colour: String,
    status: &'static str,
    status_label: &'static str,
    asset: String,
    rule: String,
    discovered_at: String,
    last_activity: String,
    handling_ended_at: Option<String>,
    closed_at: Option<String>,
    event_count: u64,
    finding_count: u64,
    summary: String,
    deadline: Option<DeadlineView>,
}

impl IncidentView {
    fn new(i: &Incident, policy: &ReportingPolicy, now: DateTime<Utc>, lang: &str) -> Self {
        let ds = deadlines(i, policy, now);
        IncidentView {
            id: i.id,
            title: i.title.clone(),
            category: i.category_zh(),
            subclass: i.subclass.clone(),
            level: i.level.as_str(),
            level_label: level_label(i.level, lang),
            warning_colour: if lang == "en" {
                tr(lang, &format!("level.colour.{}", i.level.as_str())).to_string()
            } else {
                i.level.warning_colour_zh().to_string()
            },
            status: i.status.as_str(),
            status_label: i.status.label(lang),
            asset: i.asset.to_string(),
            rule: i.rule.clone(),
            discovered_at: when(i.discovered_at),
            last_activity: when(i.last_activity),
            handling_ended_at: i.handling_ended_at.map(when),
            closed_at: i.closed_at.map(when),
            event_count: i.event_count,
            finding_count: i.finding_count,
            summary: i.summary.clone(),
            deadline: nearest(&ds).map(|d| DeadlineView::new(d, now, lang)),
        }
    }
}

fn level_options(lang: &str) -> Vec<serde_json::Value> {
    IncidentLevel::ALL
        .iter()
        .map(|l| serde_json::json!({ "value": l.as_str(), "label": level_label(*l, lang) }))
        .collect()
}

fn status_options(lang: &str) -> Vec<serde_json::Value> {
    IncidentStatus::ALL
        .iter()
        .map(|s| serde_json::json!({ "value": s.as_str(), "label": s.label(lang) }))
        .collect()
}

fn stage_options(lang: &str) -> Vec<serde_json::Value> {
    ReportStage::ALL
        .iter()
        .map(|s| {
            serde_json::json!({ "value": s.as_str(), "label": tr(lang, &format!("stage.{}", s.as_str())) })
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    /// `open` (default) or `all`.
    scope: Option<String>,
    level: Option<String>,
    status: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> Response {
    let r = async {
        let level = nonempty(&q.level)
            .map(|l| l.parse::<IncidentLevel>())
            .transpose()
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let status = nonempty(&q.status)
            .map(|s| s.parse::<IncidentStatus>())
            .transpose()
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let all = q.scope.as_deref() == Some("all");
        let filter = IncidentFilter {
            status,
            open_only: !all && status.is_none(),
            level,
            limit: 500,
            ..IncidentFilter::default()
        };
        let st = state.clone();
        let (incidents, policy) = state
            .db(move |s| Ok((s.incidents(&filter)?, policy(&st, s))))
            .await?;
        let now = Utc::now();
        let lang = &auth.lang;
        let rows: Vec<IncidentView> = incidents
            .iter()
            .map(|i| IncidentView::new(i, &policy, now, lang))
            .collect();
        Ok(state.renderer.page(
            "incidents.html",
            lang,
            Some(&auth),
            serde_json::json!({
                "nav": "incidents",
                "incidents": rows,
                "levels": level_options(lang),
                "statuses": status_options(lang),
                "filter": {
                    "scope": if all { "all" } else { "open" },
                    "level": level.map(|l| l.as_str()),
                    "status": status.map(|s| s.as_str()),
                },
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize, Default)]
pub(crate) struct DetailQuery {
    done: Option<String>,
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let done = q.done.filter(|d| !d.is_empty());
    let r = detail_page(&state, &auth, id, done, None, None).await;
    respond(&state, &auth, r)
}

/// What a refused form leaves on the page: the message, and what the
/// person typed (so a missing reason does not cost the rest).
#[derive(Serialize, Default)]
struct Refused {
    message: String,
    form: serde_json::Value,
}

async fn detail_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    done: Option<String>,
    refused: Option<Refused>,
    status: Option<StatusCode>,
) -> Result<Response, AppError> {
    let st = state.clone();
    let (incident, timeline, events, findings, policy) = state
        .db(move |s| {
            let Some(i) = s.incident(id)? else {
                return Ok(None);
            };
            Ok(Some((
                i,
                s.timeline(id)?,
                s.incident_events(id, MEMBER_EVENTS)?,
                s.incident_findings(id)?,
                policy(&st, s),
            )))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let lang = auth.lang.as_str();
    let ds = deadlines(&incident, &policy, now);
    let first = ds.iter().find(|d| d.stage == ReportStage::First);
    // The banner for a first report that is near or missed.
    let banner = first.filter(|d| d.state.needs_escalation()).map(|d| {
        let due = d.due.map(when).unwrap_or_default();
        let text = if lang == "en" {
            format!(
                "A first report to {} is due by {due} (Beijing time).",
                d.report_to
            )
        } else {
            format!("须在 {due} 前向{}首次报告", d.report_to)
        };
        serde_json::json!({
            "text": text,
            "overdue": d.state == DeadlineState::Overdue,
            "describe": DeadlineView::new(d, now, lang).describe,
        })
    });
    let timeline: Vec<serde_json::Value> = timeline
        .iter()
        .map(|t| {
            serde_json::json!({
                "at": when(t.entry.at),
                "actor": t.entry.actor,
                "kind": t.entry.kind.as_str(),
                "kind_label": if lang == "en" {
                    tr(lang, &format!("tl.{}", t.entry.kind.as_str())).to_string()
                } else {
                    t.entry.kind.zh().to_string()
                },
                "text": t.entry.text,
            })
        })
        .collect();
    let events: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "time": shouwang_model::beijing_seconds(e.event.time),
                "kind": e.event.kind,
                "severity": e.event.severity.as_str(),
                "severity_label": e.event.severity.label(lang),
                "asset": e.event.asset.to_string(),
                "summary": e.event.summary,
            })
        })
        .collect();
    let findings: Vec<FindingView> = findings.iter().map(|f| FindingView::new(f, lang)).collect();
    let deadlines: Vec<DeadlineView> = ds.iter().map(|d| DeadlineView::new(d, now, lang)).collect();
    let refused = refused.unwrap_or_default();
    let view = IncidentView::new(&incident, &policy, now, lang);
    let ctx = serde_json::json!({
        "nav": "incidents",
        "inc": view,
        "deadlines": deadlines,
        "banner": banner,
        "timeline": timeline,
        "events": events,
        "events_more": incident.event_count.saturating_sub(events.len() as u64),
        "findings": findings,
        "levels": level_options(lang),
        "statuses": status_options(lang),
        "stages": stage_options(lang),
        "now_local": beijing_input(now),
        "operator_type": if lang == "en" {
            tr(lang, &format!("optype.{}", operator_type_key(policy.operator_type))).to_string()
        } else {
            policy.operator_type.zh().to_string()
        },
        "window_hours": policy.first_report_window().num_hours(),
        "done": done.map(|d| tr(lang, &format!("incident.done.{d}")).to_string()),
        "error": (!refused.message.is_empty()).then_some(refused.message),
        "form": if refused.form.is_null() { serde_json::json!({}) } else { refused.form },
    });
    Ok(match status {
        Some(s) => state
            .renderer
            .page_with_status("incident.html", lang, Some(auth), ctx, s),
        None => state.renderer.page("incident.html", lang, Some(auth), ctx),
    })
}

pub(crate) fn operator_type_key(t: shouwang_model::OperatorType) -> &'static str {
    match t {
        shouwang_model::OperatorType::Ordinary => "ordinary",
        shouwang_model::OperatorType::CentralOrgan => "central-organ",
        shouwang_model::OperatorType::CriticalInfrastructure => "critical-infrastructure",
    }
}

/// `2026-11-22T12:05` in Beijing time, for a `datetime-local` input.
fn beijing_input(t: DateTime<Utc>) -> String {
    t.with_timezone(&shouwang_model::beijing_offset())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[derive(Deserialize, Serialize, Default)]
pub(crate) struct ActForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    note: String,
}

/// One of the operator's forms: `status`, `level`, `report` or `note`.
pub(crate) async fn act(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let lang = auth.lang.clone();
        let refuse = |key: &str| Refused {
            message: tr(&lang, key).to_string(),
            form: serde_json::json!({ "action": action, "fields": &f }),
        };
        let mut req = ChangeRequest::default();
        match action.as_str() {
            "status" => {
                req.status = Some(
                    f.status
                        .parse::<IncidentStatus>()
                        .map_err(|e| AppError::BadRequest(e.to_string()))?,
                );
                req.reason = f.reason.clone();
            }
            "level" => {
                req.level = Some(
                    f.level
                        .parse::<IncidentLevel>()
                        .map_err(|e| AppError::BadRequest(e.to_string()))?,
                );
                req.reason = f.reason.clone();
            }
            "report" => {
                let stage = f
                    .stage
                    .parse::<ReportStage>()
                    .map_err(|e| AppError::BadRequest(e.to_string()))?;
                let at = if f.at.trim().is_empty() {
                    Utc::now()
                } else {
                    match shouwang_model::parse_beijing(&f.at) {
                        Some(t) => t,
                        None => {
                            let r = refuse("incident.err.time");
                            return detail_page(
                                &state,
                                &auth,
                                id,
                                None,
                                Some(r),
                                Some(StatusCode::BAD_REQUEST),
                            )
                            .await;
                        }
                    }
                };
                if at > Utc::now() + Duration::minutes(5) {
                    let r = refuse("incident.err.future");
                    return detail_page(
                        &state,
                        &auth,
                        id,
                        None,
                        Some(r),
                        Some(StatusCode::BAD_REQUEST),
                    )
                    .await;
                }
                req.reported = Some((stage, at));
                req.note = f.note.clone();
            }
            "note" => req.note = f.note.clone(),
            _ => return Err(AppError::NotFound),
        }
        let actor = auth.actor();
        let store = state.store.clone();
        let result = super::blocking(move || actions::change(&*store, id, &actor, &req)).await?;
        match result {
            Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}?done={action}")).into_response()),
            Err(ActionError::NotFound(_)) => Err(AppError::NotFound),
            Err(ActionError::ReasonRequired) => {
                let r = refuse("incident.err.reason");
                detail_page(
                    &state,
                    &auth,
                    id,
                    None,
                    Some(r),
                    Some(StatusCode::BAD_REQUEST),
                )
                .await
            }
            Err(ActionError::Nothing) => {
                let r = refuse("incident.err.nothing");
                detail_page(
                    &state,
                    &auth,
                    id,
                    None,
                    Some(r),
                    Some(StatusCode::BAD_REQUEST),
                )
                .await
            }
            Err(ActionError::Store(e)) => Err(e.into()),
        }
    }
    .await;
    respond(&state, &auth, r)
}

/// Open incidents and missed or near deadlines, for the dashboard.
pub(crate) fn dashboard_counts(
    state: &AppState,
    store: &dyn Store,
) -> Result<(usize, usize), shouwang_store::StoreError> {
    let open = store.count_incidents(&IncidentFilter {
        open_only: true,
        ..IncidentFilter::default()
    })?;
    let policy = policy(state, store);
    let now = Utc::now();
    let urgent = store
        .incidents(&shouwang_incident::actions::reporting_clocks(&policy))?
        .iter()
        .filter(|i| {
            deadlines(i, &policy, now)
                .iter()
                .any(|d| d.state.needs_escalation())
        })
        .count();
    Ok((open as usize, urgent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_are_beijing_time() {
        let t = shouwang_model::parse_beijing("2026-11-22T12:05").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T04:05:00+00:00");
        assert_eq!(beijing_input(t), "2026-11-22T12:05");
        assert!(shouwang_model::parse_beijing("yesterday").is_none());
    }
}
