//! The endpoints agents and collectors call (`shouwang_terminal::enroll`'s
//! paths). They sit outside the login layer: an agent proves itself with
//! its enrollment token, then with its own credential, never with a
//! person's session or API token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use shouwang_terminal::Refusal;
use shouwang_terminal::enroll::EnrollRequest;

use super::AppState;
use crate::terminals::{self, TerminalError};

/// An enrollment request is a token and two names.
pub(crate) const ENROLL_BODY_LIMIT: usize = 16 * 1024;

fn refused(r: &Refusal) -> Response {
    let mut body = serde_json::to_value(r).unwrap_or_default();
    body["error"] = r.to_string().into();
    body["error_zh"] = r.zh().into();
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

fn failed(e: TerminalError) -> Response {
    let status = match e {
        TerminalError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => {
            tracing::warn!(error = %e, "a terminal request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    (
        status,
        Json(serde_json::json!({ "error": e.to_string(), "error_zh": e.to_string() })),
    )
        .into_response()
}

pub(crate) async fn enroll(State(state): State<AppState>, body: Bytes) -> Response {
    let req: EnrollRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return failed(TerminalError::Invalid(format!("注册请求格式错误：{e}")));
        }
    };
    let store = state.store.clone();
    let now = chrono::Utc::now();
    match super::blocking(move || terminals::enroll(&*store, &req, now)).await {
        Ok(Ok(Ok(answer))) => (StatusCode::OK, Json(answer)).into_response(),
        Ok(Ok(Err(refusal))) => {
            tracing::info!(refused = %refusal, "a terminal enrollment was refused");
            refused(&refusal)
        }
        Ok(Err(e)) => failed(e),
        Err(e) => failed(TerminalError::Record(e.to_string())),
    }
}

pub(crate) async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let Some(data_dir) = state.config.data_dir.clone() else {
        return failed(TerminalError::Record("the console has no data dir".into()));
    };
    let store = state.store.clone();
    let now = chrono::Utc::now();
    let outcome = super::blocking(move || {
        let t = match terminals::authenticate(&*store, &bearer)? {
            Ok(t) => t,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let report = shouwang_terminal::Report::from_json(&body)
            .map_err(|e| TerminalError::Invalid(e.zh()))?;
        terminals::ingest(&*store, &data_dir, &t, report, now).map(Ok)
    })
    .await;
    match outcome {
        Ok(Ok(Ok(ingested))) => (
            StatusCode::OK,
            Json(serde_json::json!({ "result": ingested })),
        )
            .into_response(),
        Ok(Ok(Err(refusal))) => refused(&refusal),
        Ok(Err(e)) => failed(e),
        Err(e) => failed(TerminalError::Record(e.to_string())),
    }
}
