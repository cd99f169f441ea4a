//! 单位信息: the unit profile reports are issued with (name, operator type,
//! who is responsible, the systems it runs, and the organisational measures
//! a tool cannot measure). Everyone reads it; admins edit it. Saved as the
//! store setting `unit.profile`; until then the config file's `[unit]`.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shouwang_model::{OperatorType, Person, SystemEntry, UnitProfile};
use shouwang_store::NewAuditEntry;

use super::incidents::operator_type_key;
use super::pages::respond;
use super::{AppError, AppState, Auth};
use crate::UNIT_PROFILE_SETTING;
use crate::i18n::tr;

const OPERATOR_TYPES: [OperatorType; 3] = [
    OperatorType::Ordinary,
    OperatorType::CentralOrgan,
    OperatorType::CriticalInfrastructure,
];

fn optype_label(t: OperatorType, lang: &str) -> String {
    if lang == "en" {
        tr(lang, &format!("optype.{}", operator_type_key(t))).to_string()
    } else {
        t.zh().to_string()
    }
}

/// Split a line at ASCII or full-width commas (or 、), trimming each part.
fn fields(line: &str) -> Vec<String> {
    line.split([',', '，', '、'])
        .map(|s| s.trim().to_string())
        .collect()
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn person_of(line: &str) -> Person {
    let mut f = fields(line).into_iter();
    Person {
        name: f.next().unwrap_or_default(),
        title: f.next().unwrap_or_default(),
        phone: f.next().unwrap_or_default(),
    }
}

fn person_line(p: &Person) -> String {
    [p.name.as_str(), p.title.as_str(), p.phone.as_str()]
        .join(",")
        .trim_end_matches(',')
        .to_string()
}

fn system_of(line: &str) -> SystemEntry {
    let mut f = fields(line).into_iter();
    SystemEntry {
        name: f.next().unwrap_or_default(),
        dengbao_level: f.next().unwrap_or_default(),
        address: f.next().unwrap_or_default(),
        note: f.collect::<Vec<_>>().join(","),
    }
}

fn system_line(s: &SystemEntry) -> String {
    [
        s.name.as_str(),
        s.dengbao_level.as_str(),
        s.address.as_str(),
        s.note.as_str(),
    ]
    .join(",")
    .trim_end_matches(',')
    .to_string()
}

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    done: Option<String>,
    /// `saved` or `imported` after a roster change.
    staff: Option<String>,
}

pub(crate) async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageQuery>,
) -> Response {
    let r = async {
        let (stored, profile, staff) = state
            .db({
                let fallback = state.config.unit.clone();
                move |s| {
                    let stored = crate::stored_unit_profile(s);
                    Ok((
                        stored.is_some(),
                        stored.unwrap_or(fallback),
                        super::staff::roster(s),
                    ))
                }
            })
            .await?;
        let lang = auth.lang.as_str();
        let types: Vec<serde_json::Value> = OPERATOR_TYPES
            .iter()
            .map(|t| serde_json::json!({ "value": operator_type_key(*t), "label": optype_label(*t, lang) }))
            .collect();
        Ok(state.renderer.page(
            "unit.html",
            lang,
            Some(&auth),
            serde_json::json!({
                "nav": "unit",
                "unit": profile,
                "stored": stored,
                "operator_type": operator_type_key(profile.operator_type),
                "operator_type_label": optype_label(profile.operator_type, lang),
                "report_to": profile.operator_type.report_to_zh(),
                "types": types,
                "leading_group_text": profile.leading_group.iter().map(person_line).collect::<Vec<_>>().join("\n"),
                "systems_text": profile.systems.iter().map(system_line).collect::<Vec<_>>().join("\n"),
                "done": q.done.is_some(),
                "staff": staff,
                "staff_done": q.staff.as_deref().filter(|s| matches!(*s, "saved" | "imported")),
                "staff_max": shouwang_model::STAFF_MAX,
                "import_max_mb": super::staff::MAX_IMPORT_BYTES >> 20,
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    operator_type: String,
    #[serde(default)]
    officer_name: String,
    #[serde(default)]
    officer_title: String,
    #[serde(default)]
    officer_phone: String,
    #[serde(default)]
    leading_group: String,
    #[serde(default)]
    systems: String,
    #[serde(default)]
    policies: String,
    #[serde(default)]
    training: String,
    #[serde(default)]
    drills: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    next_plan: String,
}

fn profile_of(f: &ProfileForm) -> Result<UnitProfile, AppError> {
    let operator_type = OPERATOR_TYPES
        .into_iter()
        .find(|t| operator_type_key(*t) == f.operator_type)
        .ok_or_else(|| {
            AppError::BadRequest(format!("unknown operator type \"{}\"", f.operator_type))
        })?;
    Ok(UnitProfile {
        name: f.name.trim().to_string(),
        operator_type,
        leading_group: lines(&f.leading_group).map(person_of).collect(),
        security_officer: Person {
            name: f.officer_name.trim().to_string(),
            title: f.officer_title.trim().to_string(),
            phone: f.officer_phone.trim().to_string(),
        },
        systems: lines(&f.systems).map(system_of).collect(),
        policies: f.policies.trim().to_string(),
        training: f.training.trim().to_string(),
        drills: f.drills.trim().to_string(),
        recipient: f.recipient.trim().to_string(),
        next_plan: f.next_plan.trim().to_string(),
    })
}

pub(crate) async fn save(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<ProfileForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let profile = profile_of(&f)?;
        let value =
            serde_json::to_value(&profile).map_err(|e| AppError::Internal(e.to_string()))?;
        let actor = auth.actor();
        state
            .db(move |s| {
                s.audited(|tx| {
                    tx.set_setting(UNIT_PROFILE_SETTING, &value)?;
                    tx.audit(&NewAuditEntry::new(
                        actor,
                        "unit.profile",
                        profile.name.clone(),
                        value.clone(),
                    ))
                })
            })
            .await?;
        Ok(Redirect::to("/unit?done=1").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_either_comma() {
        let p = person_of("张三，副局长, 010-1234");
        assert_eq!(p.name, "张三");
        assert_eq!(p.title, "副局长");
        assert_eq!(p.phone, "010-1234");
        assert_eq!(person_line(&p), "张三,副局长,010-1234");
        let s = system_of("门户网站,二级,https://www.example.gov.cn/");
        assert_eq!(s.dengbao_level, "二级");
        assert_eq!(system_line(&s), "门户网站,二级,https://www.example.gov.cn/");
        assert_eq!(person_line(&person_of("李四")), "李四");
    }
}
