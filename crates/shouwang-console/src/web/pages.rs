//! The pages everyone with an account sees: dashboard, findings, events,
//! audit log.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{Event, Finding, FindingStatus, Severity};
use shouwang_store::{AuditEntry, DayCount, DayQuery, EventFilter, FindingFilter, NewAuditEntry};

use super::chart::{self, Chart, HBars, Series, Shape};
use super::{AppError, AppState, Auth};
use crate::i18n::tr;

/// A time as the pages show it: Beijing time, whatever the server's zone
/// (the pages' column headers and the footer say so).
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    shouwang_model::beijing_seconds(t)
}

/// A finding as the templates and the API show it.
#[derive(Serialize)]
pub(crate) struct FindingView {
    id: i64,
    severity: &'static str,
    severity_label: &'static str,
    title: String,
    asset: String,
    location: String,
    evidence: String,
    sensor: String,
    check: String,
    version: String,
    input: String,
    observed_at: String,
    first_seen: String,
    last_seen: String,
    status: &'static str,
    status_label: &'static str,
}

/// An asset as a person reads it: 网站 https://… in Chinese (the stored
/// `website:…` form in English).
pub(crate) fn asset_label(a: &shouwang_model::AssetRef, lang: &str) -> String {
    if lang == "en" {
        a.to_string()
    } else {
        format!("{} {}", a.kind.zh(), a.locator)
    }
}

impl FindingView {
    pub fn new(f: &Finding, lang: &str) -> Self {
        FindingView {
            id: f.id,
            severity: f.severity.as_str(),
            severity_label: f.severity.label(lang),
            title: f.title.get(lang).to_string(),
            asset: asset_label(&f.asset, lang),
            location: f.location.clone(),
            evidence: f.evidence.clone(),
            sensor: f.provenance.sensor.clone(),
            check: f.provenance.check.clone(),
            version: f.provenance.version.clone(),
            input: f.provenance.input.clone(),
            observed_at: fmt_time(f.provenance.observed_at),
            first_seen: fmt_time(f.first_seen),
            last_seen: fmt_time(f.last_seen),
            status: f.status.as_str(),
            status_label: f.status.label(lang),
        }
    }

    /// The open findings of one sensor on one asset (at most 1,000), for
    /// the asset's page.
    pub async fn open_on(
        state: &AppState,
        sensor: &'static str,
        asset: shouwang_model::AssetRef,
        lang: &str,
    ) -> Result<Vec<FindingView>, AppError> {
        let open = state
            .db(move |s| {
                s.findings(&FindingFilter {
                    sensor: Some(sensor.into()),
                    asset: Some(asset),
                    status: Some(FindingStatus::Open),
                    limit: 1000,
                    ..FindingFilter::default()
                })
            })
            .await?;
        Ok(open.iter().map(|f| FindingView::new(f, lang)).collect())
    }
}

#[derive(Serialize)]
struct EventView {
    id: i64,
    time: String,
    kind: String,
    sensor: String,
    asset: String,
    severity: &'static str,
    severity_label: &'static str,
    summary: String,
    details: String,
}

impl EventView {
    fn new(e: &Event, lang: &str) -> Self {
        EventView {
            id: e.id,
            time: fmt_time(e.event.time),
            kind: e.event.kind.clone(),
            sensor: e.sensor().to_string(),
            asset: asset_label(&e.event.asset, lang),
            severity: e.event.severity.as_str(),
            severity_label: e.event.severity.label(lang),
            summary: e.event.summary.clone(),
            details: if e.event.details.is_null() {
                String::new()
            } else {
                e.event.details.to_string()
            },
        }
    }
}

#[derive(Serialize)]
struct AuditView {
    seq: i64,
    time: String,
    actor: String,
    action: String,
    /// The stored dotted name, shown as a tooltip beside the label.
    code: String,
    target: String,
    details: String,
    ip: String,
}

impl AuditView {
    fn new(e: &AuditEntry, lang: &str) -> Self {
        let (details, ip) = super::audit_details::readable(&e.details, lang);
        AuditView {
            seq: e.seq,
            time: fmt_time(e.time),
            actor: super::audit_details::actor(&e.actor, lang),
            action: shouwang_model::audit::action_label(&e.action).map_or_else(
                || e.action.clone(),
                |t| if lang == "en" { t.en } else { t.zh },
            ),
            code: e.action.clone(),
            target: e.target.clone(),
            details,
            ip,
        }
    }
}

fn severity_options(lang: &str) -> Vec<serde_json::Value> {
    Severity::ALL
        .iter()
        .map(|s| serde_json::json!({ "value": s.as_str(), "label": s.label(lang) }))
        .collect()
}

fn status_options(lang: &str) -> Vec<serde_json::Value> {
    FindingStatus::ALL
        .iter()
        .map(|s| serde_json::json!({ "value": s.as_str(), "label": s.label(lang) }))
        .collect()
}

/// Render `result`, or the error page in the user's language.
pub(crate) fn respond(
    state: &AppState,
    auth: &Auth,
    result: Result<Response, AppError>,
) -> Response {
    result.unwrap_or_else(|e| state.renderer.error_page(Some(auth), &auth.lang, e))
}

pub(crate) async fn dashboard(State(state): State<AppState>, auth: Auth) -> Response {
    let r =
        async {
            let st = state.clone();
            let (range, days) = chart::last_days(Utc::now());
            let (counts, events, total_events, location, incidents, steps, per_day) = state
                .db(move |s| {
                    let channels = super::notify::channel_count(&st, s);
                    Ok((
                        s.open_finding_counts()?,
                        s.events(&EventFilter {
                            limit: 10,
                            ..Default::default()
                        })?,
                        s.event_count()?,
                        format!("{} · {}", s.backend(), s.location()),
                        super::incidents::dashboard_counts(&st, s)?,
                        super::checklist::steps(&st, s, channels)?,
                        // Counted per day and kind in the database: at most
                        // 30 × kinds rows, however many events there are.
                        s.event_days(&DayQuery {
                            range,
                            utc_offset_secs: chart::day_offset(),
                            ..DayQuery::default()
                        })?,
                    ))
                })
                .await?;
            let lang = &auth.lang;
            let charts = [
                events_chart(&per_day, &days, lang),
                severity_chart(&counts, lang),
            ];
            let by_severity: Vec<_> = Severity::ALL
            .iter()
            .map(|sev| {
                let n: u64 = counts.iter().filter(|c| c.severity == *sev).map(|c| c.count).sum();
                serde_json::json!({ "value": sev.as_str(), "label": sev.label(lang), "count": n })
            })
            .collect();
            let mut sensors: Vec<&str> = counts.iter().map(|c| c.sensor.as_str()).collect();
            sensors.dedup();
            let by_sensor: Vec<_> = sensors
                .iter()
                .map(|sensor| {
                    let cells: Vec<u64> = Severity::ALL
                        .iter()
                        .map(|sev| {
                            counts
                                .iter()
                                .filter(|c| c.sensor == *sensor && c.severity == *sev)
                                .map(|c| c.count)
                                .sum()
                        })
                        .collect();
                    let total: u64 = cells.iter().sum();
                    serde_json::json!({ "sensor": sensor, "cells": cells, "total": total })
                })
                .collect();
            let open_total: u64 = counts.iter().map(|c| c.count).sum();
            let events: Vec<_> = events.iter().map(|e| EventView::new(e, lang)).collect();
            Ok(state.renderer.page(
                "dashboard.html",
                lang,
                Some(&auth),
                serde_json::json!({
                    "nav": "dashboard",
                    // Shown until every step is done.
                    "steps": if steps.iter().all(|s| s.done) { Vec::new() } else { steps },
                    "by_severity": by_severity,
                    "severities": severity_options(lang),
                    "by_sensor": by_sensor,
                    "open_total": open_total,
                    "events": events,
                    "events_total": total_events,
                    "charts": charts,
                    "store": location,
                    "open_incidents": incidents.0,
                    "urgent_incidents": incidents.1,
                }),
            ))
        }
        .await;
    respond(&state, &auth, r)
}

/// Events per day by kind: the kinds the sensors emit in their order,
/// then any other kind found, each labelled as the event list labels it.
fn events_chart(rows: &[DayCount], days: &[chrono::NaiveDate], lang: &str) -> String {
    let mut kinds: Vec<String> = shouwang_model::events::all_kinds()
        .filter(|k| rows.iter().any(|r| r.kind == *k))
        .map(str::to_string)
        .collect();
    for r in rows {
        if !kinds.contains(&r.kind) {
            kinds.push(r.kind.clone());
        }
    }
    let series = kinds
        .iter()
        .map(|k| Series {
            label: shouwang_model::events::kind_label(k)
                .map(|t| t.get(lang).to_string())
                .unwrap_or_else(|| k.clone()),
            class: String::new(),
            values: chart::per_day(
                days,
                rows.iter()
                    .filter(|r| r.kind == *k)
                    .map(|r| (r.day, r.count as f64)),
            ),
        })
        .collect();
    Chart {
        title: tr(lang, "chart.events_by_kind").into(),
        labels: days.iter().map(|d| chart::day_label(*d)).collect(),
        series: chart::palette(series, tr(lang, "chart.other")),
        shape: Shape::Stacked,
        min_top: 0.0,
    }
    .render(lang)
}

/// Open findings by severity, most severe first, coloured as the badges.
fn severity_chart(counts: &[shouwang_store::FindingCount], lang: &str) -> String {
    HBars {
        title: tr(lang, "chart.open_by_severity").into(),
        rows: Severity::ALL
            .iter()
            .map(|sev| {
                let n: u64 = counts
                    .iter()
                    .filter(|c| c.severity == *sev)
                    .map(|c| c.count)
                    .sum();
                (
                    sev.label(lang).to_string(),
                    format!("sev-{}", sev.as_str()),
                    n as f64,
                )
            })
            .collect(),
    }
    .render(lang)
}

#[derive(Deserialize, Default)]
pub(crate) struct FindingQuery {
    status: Option<String>,
    severity: Option<String>,
    sensor: Option<String>,
    page: Option<usize>,
    /// A message to show after a redirect.
    done: Option<String>,
}

const PAGE_SIZE: usize = 50;

/// Empty form fields mean "any".
fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) fn parse_filter(q: &FindingQuery) -> Result<FindingFilter, AppError> {
    let bad = |e: shouwang_model::UnknownName| AppError::BadRequest(e.to_string());
    let page = q.page.unwrap_or(1).max(1);
    Ok(FindingFilter {
        status: nonempty(&q.status)
            .map(str::parse)
            .transpose()
            .map_err(bad)?,
        severity: nonempty(&q.severity)
            .map(str::parse)
            .transpose()
            .map_err(bad)?,
        sensor: nonempty(&q.sensor).map(str::to_owned),
        asset: None,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    })
}

pub(crate) async fn findings(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<FindingQuery>,
) -> Response {
    let r = async {
        let filter = parse_filter(&q)?;
        let page = q.page.unwrap_or(1).max(1);
        let f = filter.clone();
        let (rows, sensors) = state
            .db(move |s| {
                let counts = s.open_finding_counts()?;
                let mut sensors: Vec<String> = counts.into_iter().map(|c| c.sensor).collect();
                sensors.dedup();
                Ok((s.findings(&f)?, sensors))
            })
            .await?;
        let lang = &auth.lang;
        let has_next = rows.len() == PAGE_SIZE;
        let rows: Vec<_> = rows.iter().map(|f| FindingView::new(f, lang)).collect();
        let query_base = serde_urlencoded::to_string([
            ("status", q.status.clone().unwrap_or_default()),
            ("severity", q.severity.clone().unwrap_or_default()),
            ("sensor", q.sensor.clone().unwrap_or_default()),
        ])
        .unwrap_or_default();
        Ok(state.renderer.page(
            "findings.html",
            lang,
            Some(&auth),
            serde_json::json!({
                "nav": "findings",
                "findings": rows,
                "severities": severity_options(lang),
                "statuses": status_options(lang),
                "sensors": sensors,
                "filter": {
                    "status": q.status, "severity": q.severity, "sensor": q.sensor,
                },
                "page": page,
                "has_next": has_next,
                "query_base": query_base,
                "done": q.done.is_some(),
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

pub(crate) async fn finding_detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Response {
    let r = async {
        let (f, assignment) = state
            .db(move |s| {
                Ok(match s.finding(id)? {
                    Some(f) => Some((f, super::assign::view(s, id)?)),
                    None => None,
                })
            })
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(state.renderer.page(
            "finding.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "findings",
                "f": FindingView::new(&f, &auth.lang),
                "statuses": status_options(&auth.lang),
                "a": assignment,
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct StatusForm {
    status: String,
}

/// Change a finding's status and record who did it. Shared by the page and
/// the API.
pub(crate) async fn change_status(
    state: &AppState,
    auth: &Auth,
    id: i64,
    status: &str,
) -> Result<Finding, AppError> {
    auth.require_operator()?;
    let status: FindingStatus = status
        .parse()
        .map_err(|e: shouwang_model::UnknownName| AppError::BadRequest(e.to_string()))?;
    let actor = auth.actor();
    state
        .db(move |s| {
            s.audited(|tx| {
                let before = tx.finding(id)?.ok_or(shouwang_store::StoreError::NotFound {
                    what: "finding",
                    id: id.to_string(),
                })?;
                let after = tx.set_finding_status(id, status)?;
                tx.audit(&NewAuditEntry::new(
                    actor,
                    "finding.status",
                    format!("finding/{id}"),
                    serde_json::json!({ "from": before.status.as_str(), "to": status.as_str(), "check": before.provenance.check }),
                ))?;
                Ok(after)
            })
        })
        .await
}

pub(crate) async fn set_finding_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<StatusForm>,
) -> Response {
    let r = async {
        change_status(&state, &auth, id, &form.status).await?;
        // Back to where the form was, if it was one of ours.
        let back = headers
            .get(axum::http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.find("/findings").map(|i| r[i..].to_string()))
            .filter(|p| !p.starts_with("//"))
            .unwrap_or_else(|| "/findings".into());
        let sep = if back.contains('?') { '&' } else { '?' };
        let target = if back.contains("done=") {
            back
        } else {
            format!("{back}{sep}done=1")
        };
        Ok(Redirect::to(&target).into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize, Default)]
pub(crate) struct EventQuery {
    sensor: Option<String>,
    kind: Option<String>,
}

pub(crate) fn event_filter(q: &EventQuery, limit: usize) -> EventFilter {
    EventFilter {
        sensor: nonempty(&q.sensor).map(str::to_owned),
        kind_prefix: nonempty(&q.kind).map(str::to_owned),
        limit,
        ..Default::default()
    }
}

pub(crate) async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<EventQuery>,
) -> Response {
    let r = async {
        let filter = event_filter(&q, 200);
        let rows = state.db(move |s| s.events(&filter)).await?;
        let rows: Vec<_> = rows.iter().map(|e| EventView::new(e, &auth.lang)).collect();
        Ok(state.renderer.page(
            "events.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({ "nav": "events", "events": rows, "filter": { "sensor": q.sensor, "kind": q.kind } }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

pub(crate) async fn audit(State(state): State<AppState>, auth: Auth) -> Response {
    let r = async {
        let (rows, verdict) = state
            .db(|s| Ok((s.recent_audit(200)?, s.verify_audit()?)))
            .await?;
        let rows: Vec<_> = rows.iter().map(|e| AuditView::new(e, &auth.lang)).collect();
        Ok(state.renderer.page(
            "audit.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "audit",
                "entries": rows,
                "intact": verdict.is_intact(),
                "verdict": if auth.lang == "en" { verdict.to_string() } else { verdict.zh() },
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}
