//! 责任人 and 整改时限 of a finding: an operator names who answers for it
//! (from the staff roster; typed in only while the roster is empty) and by
//! which Beijing date. Kept beside the finding, so the next run that
//! observes it again leaves them; the 自查报告's 整改措施 prints them.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use shouwang_model::{FindingAssignment, STAFF_FIELD_MAX};
use shouwang_store::{NewAuditEntry, StoreError};

use super::pages::respond;
use super::{AppError, AppState, Auth};

/// What the finding page shows: the assignment, whether it is overdue
/// today in Beijing, and the roster to choose from.
pub(crate) fn view(
    s: &dyn shouwang_store::Store,
    id: i64,
) -> Result<serde_json::Value, StoreError> {
    let a = s.finding_assignment(id)?.unwrap_or_default();
    let today = chrono::Utc::now()
        .with_timezone(&shouwang_model::beijing_offset())
        .date_naive();
    let names: Vec<String> = super::staff::roster(s)
        .into_iter()
        .map(|m| m.name)
        .collect();
    // A name set before it left the roster stays selectable as it is.
    let mut choices = names.clone();
    if !a.owner.is_empty() && !names.contains(&a.owner) && !names.is_empty() {
        choices.insert(0, a.owner.clone());
    }
    Ok(serde_json::json!({
        "owner": a.owner,
        "due": a.due.map(|d| d.format("%Y-%m-%d").to_string()),
        "due_zh": a.due.map(|d| format!("{}年{}月{}日", d.year(), d.month(), d.day())),
        "overdue": a.due.is_some_and(|d| d < today),
        "roster": choices,
    }))
}

#[derive(Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    owner: String,
    /// `YYYY-MM-DD` (what a date input sends); empty clears it.
    #[serde(default)]
    due: String,
}

fn assignment_of(f: &AssignForm) -> Result<FindingAssignment, AppError> {
    let owner = f.owner.trim().to_string();
    if owner.chars().count() > STAFF_FIELD_MAX || owner.chars().any(char::is_control) {
        return Err(AppError::BadRequest("责任人姓名不正确".into()));
    }
    let due = match f.due.trim() {
        "" => None,
        d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            AppError::BadRequest(format!("整改时限“{d}”不是有效日期（应为 年-月-日）"))
        })?),
    };
    Ok(FindingAssignment { owner, due })
}

/// `POST /findings/{id}/assign`.
pub(crate) async fn assign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<AssignForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let a = assignment_of(&f)?;
        let actor = auth.actor();
        let refused = state
            .db(move |s| {
                let roster = super::staff::roster(s);
                let known = a.owner.is_empty()
                    || roster.is_empty()
                    || roster.iter().any(|m| m.name == a.owner)
                    || s.finding_assignment(id)?
                        .is_some_and(|old| old.owner == a.owner);
                if !known {
                    return Ok(Some(format!(
                        "“{}”不在人员名册中，请先在单位信息中添加",
                        a.owner
                    )));
                }
                s.audited(|tx| {
                    let f = tx.finding(id)?.ok_or(StoreError::NotFound {
                        what: "finding",
                        id: id.to_string(),
                    })?;
                    tx.set_finding_assignment(id, &a)?;
                    tx.audit(&NewAuditEntry::new(
                        actor,
                        "finding.assign",
                        format!("finding/{id}"),
                        serde_json::json!({
                            "owner": a.owner,
                            "due": a.due.map(|d| d.format("%Y-%m-%d").to_string()),
                            "check": f.provenance.check,
                        }),
                    ))?;
                    Ok(None)
                })
            })
            .await?;
        if let Some(why) = refused {
            return Err(AppError::BadRequest(why));
        }
        Ok(Redirect::to(&format!("/findings/{id}?assigned=1")).into_response())
    }
    .await;
    respond(&state, &auth, r)
}
