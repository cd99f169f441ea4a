//! The JSON API (behind the same accounts; API tokens for scripts) and the
//! Prometheus metrics.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shouwang_model::Severity;

use super::pages::{EventQuery, FindingQuery, change_status, event_filter, parse_filter};
use super::{AppError, AppState, Auth};

/// Errors answered as JSON with the matching status.
pub(crate) struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.0.status(),
            Json(serde_json::json!({ "error": self.0.public_message("en") })),
        )
            .into_response();
        super::with_retry_after(&self.0, &mut res);
        res
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) async fn status(State(state): State<AppState>, _auth: Auth) -> ApiResult {
    let (counts, events, audit, backend, schema) = state
        .db(|s| {
            Ok((
                s.open_finding_counts()?,
                s.event_count()?,
                s.audit_head()?.0,
                s.backend().to_string(),
                s.schema_version()?,
            ))
        })
        .await?;
    Ok(Json(serde_json::json!({
        "version": shouwang_model::VERSION,
        "store": { "backend": backend, "schema_version": schema },
        "open_findings": counts,
        "events": events,
        "audit_entries": audit,
    }))
    .into_response())
}

pub(crate) async fn findings(
    State(state): State<AppState>,
    _auth: Auth,
    Query(q): Query<FindingQuery>,
) -> ApiResult {
    let filter = parse_filter(&q)?;
    let rows = state.db(move |s| s.findings(&filter)).await?;
    Ok(Json(rows).into_response())
}

pub(crate) async fn finding(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult {
    let f = state
        .db(move |s| s.finding(id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(f).into_response())
}

#[derive(Deserialize)]
pub(crate) struct StatusBody {
    status: String,
}

pub(crate) async fn set_finding_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(body): Json<StatusBody>,
) -> ApiResult {
    let f = change_status(&state, &auth, id, &body.status).await?;
    Ok(Json(f).into_response())
}

pub(crate) async fn events(
    State(state): State<AppState>,
    _auth: Auth,
    Query(q): Query<EventQuery>,
) -> ApiResult {
    let filter = event_filter(&q, 1000);
    let rows = state.db(move |s| s.events(&filter)).await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    if auth.user.role == shouwang_store::Role::Operator {
        return Err(AppError::Forbidden.into());
    }
    let limit = q.limit.unwrap_or(1000).min(10_000);
    let rows = state.db(move |s| s.audit_entries(q.after, limit)).await?;
    Ok(Json(rows).into_response())
}

/// Prometheus text exposition of what the store holds and what the console
/// counted since it started.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    auth: Option<axum::Extension<Auth>>,
) -> Response {
    let peer = peer.map(|p| p.0.0);
    if !state.config.metrics.allows(peer, auth.is_some()) {
        return (
            StatusCode::UNAUTHORIZED,
            "/metrics 需要API令牌（Authorization: Bearer …）或来自本机的请求，见配置 [console] metrics\n\
             /metrics needs an API token (Authorization: Bearer …) or a request from this machine; see [console] metrics\n",
        )
            .into_response();
    }
    let data = state
        .db(|s| {
            Ok((
                s.open_finding_counts()?,
                s.event_count()?,
                s.audit_head()?.0,
                s.users()?.len(),
            ))
        })
        .await;
    let (counts, events, audit, users) = match data {
        Ok(d) => d,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.public_message("en")).into_response(),
    };
    let mut out = String::new();
    let m = &state.metrics;
    let _ = writeln!(
        out,
        "# HELP shouwang_build_info Shouwang version.\n# TYPE shouwang_build_info gauge"
    );
    let _ = writeln!(
        out,
        "shouwang_build_info{{version=\"{}\"}} 1",
        shouwang_model::VERSION
    );
    let _ = writeln!(
        out,
        "# HELP shouwang_open_findings Open findings by sensor and severity.\n# TYPE shouwang_open_findings gauge"
    );
    for c in &counts {
        let _ = writeln!(
            out,
            "shouwang_open_findings{{sensor=\"{}\",severity=\"{}\"}} {}",
            escape_label(&c.sensor),
            c.severity,
            c.count
        );
    }
    if counts.is_empty() {
        for sev in Severity::ALL {
            let _ = writeln!(
                out,
                "shouwang_open_findings{{sensor=\"\",severity=\"{sev}\"}} 0"
            );
        }
    }
    let gauges = [
        ("shouwang_events", "Events stored.", events),
        (
            "shouwang_audit_entries",
            "Entries in the audit log.",
            audit as u64,
        ),
        ("shouwang_users", "Console accounts.", users as u64),
    ];
    for (name, help, v) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    }
    let counters = [
        (
            "shouwang_console_logins_total",
            "Successful console logins.",
            m.logins_ok.load(Ordering::Relaxed),
        ),
        (
            "shouwang_console_login_failures_total",
            "Failed console logins.",
            m.logins_failed.load(Ordering::Relaxed),
        ),
        (
            "shouwang_console_csrf_rejected_total",
            "Requests refused for a missing or wrong CSRF token.",
            m.csrf_rejected.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    out.push_str(&super::guard::metrics(&state).await);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

pub(crate) fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
