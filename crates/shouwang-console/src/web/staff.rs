//! 人员名册: the unit's staff roster on the 单位信息 page (name, department,
//! 职务, e-mail, mobile), kept as the store setting `unit.staff`. Admins
//! add, edit and remove people one by one or import an XLSX (first sheet,
//! a header row naming 姓名/部门/职务/邮箱/手机 in any order); an import
//! merges by name: a name on the roster is updated, a new one is added,
//! nobody is removed. Findings name their 责任人 from it.

use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shouwang_model::{STAFF_MAX, StaffMember};
use shouwang_store::{NewAuditEntry, STAFF_SETTING, StoreError, Tx};

use super::pages::respond;
use super::{AppError, AppState, Auth};

/// An uploaded roster workbook is at most this large.
pub(crate) const MAX_IMPORT_BYTES: usize = 2 << 20;

/// The roster as stored, read inside a transaction.
fn roster_in(tx: &mut dyn Tx) -> Result<Vec<StaffMember>, StoreError> {
    match tx.setting(STAFF_SETTING)? {
        Some(v) => serde_json::from_value(v).map_err(|e| StoreError::Invalid {
            what: "staff roster",
            detail: e.to_string(),
        }),
        None => Ok(Vec::new()),
    }
}

/// Write the roster back with its audit entry.
fn save_roster(
    tx: &mut dyn Tx,
    roster: &[StaffMember],
    entry: NewAuditEntry,
) -> Result<(), StoreError> {
    let value = serde_json::to_value(roster).map_err(|e| StoreError::Invalid {
        what: "staff roster",
        detail: e.to_string(),
    })?;
    tx.set_setting(STAFF_SETTING, &value)?;
    tx.audit(&entry)?;
    Ok(())
}

/// The roster for a page; empty (and logged) when it cannot be read.
pub(crate) fn roster(store: &dyn shouwang_store::Store) -> Vec<StaffMember> {
    shouwang_store::staff(store).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the staff roster");
        Vec::new()
    })
}

#[derive(Deserialize)]
pub(crate) struct MemberForm {
    /// The name of the entry being edited; empty to add one.
    #[serde(default)]
    original: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mobile: String,
}

/// Run a roster change: `f` gets the roster and returns the entry to audit,
/// or a refusal in Chinese, which changes nothing.
async fn change(
    state: &AppState,
    f: impl FnOnce(&mut Vec<StaffMember>) -> Result<NewAuditEntry, String> + Send + 'static,
) -> Result<(), AppError> {
    let refused = state
        .db(move |s| {
            s.audited(|tx| {
                let mut roster = roster_in(tx)?;
                match f(&mut roster) {
                    Ok(entry) => save_roster(tx, &roster, entry).map(|()| None),
                    Err(why) => Ok(Some(why)),
                }
            })
        })
        .await?;
    match refused {
        Some(why) => Err(AppError::BadRequest(why)),
        None => Ok(()),
    }
}

/// `POST /unit/staff`: add a person, or edit the one named `original`.
pub(crate) async fn save(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<MemberForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let member = StaffMember {
            name: f.name,
            department: f.department,
            title: f.title,
            email: f.email,
            mobile: f.mobile,
        }
        .trimmed();
        if let Some(why) = member.problem() {
            return Err(AppError::BadRequest(why));
        }
        let original = f.original.trim().to_string();
        let actor = auth.actor();
        change(&state, move |roster| {
            let clash = roster
                .iter()
                .any(|m| m.name == member.name && m.name != original);
            if clash {
                return Err(format!("名册中已有“{}”", member.name));
            }
            let what = if original.is_empty() {
                if roster.len() >= STAFF_MAX {
                    return Err(format!("名册最多 {STAFF_MAX} 人"));
                }
                roster.push(member.clone());
                "add"
            } else {
                let Some(m) = roster.iter_mut().find(|m| m.name == original) else {
                    return Err(format!("名册中没有“{original}”"));
                };
                *m = member.clone();
                "edit"
            };
            Ok(NewAuditEntry::new(
                actor,
                "unit.staff",
                member.name.clone(),
                serde_json::json!({ "change": what, "name": member.name }),
            ))
        })
        .await?;
        Ok(Redirect::to("/unit?staff=saved#staff").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    name: String,
}

/// `POST /unit/staff/remove`: take a person off the roster (findings that
/// name them keep the name as written).
pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<RemoveForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let actor = auth.actor();
        let name = f.name.trim().to_string();
        change(&state, move |roster| {
            let before = roster.len();
            roster.retain(|m| m.name != name);
            if roster.len() == before {
                return Err(format!("名册中没有“{name}”"));
            }
            Ok(NewAuditEntry::new(
                actor,
                "unit.staff",
                name.clone(),
                serde_json::json!({ "change": "remove", "name": name }),
            ))
        })
        .await?;
        Ok(Redirect::to("/unit?staff=saved#staff").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

/// Which column holds which field, found from the header row.
struct Columns {
    name: usize,
    department: Option<usize>,
    title: Option<usize>,
    email: Option<usize>,
    mobile: Option<usize>,
}

fn columns(header: &[String]) -> Result<Columns, String> {
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().trim_end_matches(['*', '＊']).trim()))
    };
    Ok(Columns {
        name: find(&["姓名"]).ok_or("表头中没有“姓名”列")?,
        department: find(&["部门", "所在部门"]),
        title: find(&["职务", "职务/职称"]),
        email: find(&["邮箱", "电子邮箱", "电子邮件"]),
        mobile: find(&["手机", "手机号", "手机号码"]),
    })
}

/// The people of an uploaded workbook, each checked; the first bad row is
/// named (rows are numbered as the spreadsheet shows them).
pub(crate) fn parse_import(bytes: &[u8]) -> Result<Vec<StaffMember>, String> {
    let sheet = shouwang_scan::extract::xlsx_first_sheet(bytes, STAFF_MAX + 1)
        .map_err(|e| format!("无法读取上传的文件：{}", e.zh()))?;
    if sheet.truncated {
        return Err(format!("人员超过 {STAFF_MAX} 人，请分批导入"));
    }
    let Some((header, rows)) = sheet.rows.split_first() else {
        return Err("第一个工作表是空的".into());
    };
    let header_line = sheet.numbers[0];
    let cols = columns(header).map_err(|e| format!("第 {header_line} 行：{e}"))?;
    let cell =
        |row: &[String], c: Option<usize>| c.and_then(|c| row.get(c)).cloned().unwrap_or_default();
    let mut out: Vec<StaffMember> = Vec::new();
    for (row, &line) in rows.iter().zip(&sheet.numbers[1..]) {
        let member = StaffMember {
            name: cell(row, Some(cols.name)),
            department: cell(row, cols.department),
            title: cell(row, cols.title),
            email: cell(row, cols.email),
            mobile: cell(row, cols.mobile),
        }
        .trimmed();
        if let Some(why) = member.problem() {
            return Err(format!("第 {line} 行：{why}"));
        }
        if out.iter().any(|m| m.name == member.name) {
            return Err(format!("第 {line} 行：“{}”在表中出现了两次", member.name));
        }
        out.push(member);
    }
    if out.is_empty() {
        return Err("表中除表头外没有人员".into());
    }
    Ok(out)
}

/// Merge imported people into the roster by name; how many were added and
/// how many updated.
fn merge(roster: &mut Vec<StaffMember>, people: Vec<StaffMember>) -> (usize, usize) {
    let (mut added, mut updated) = (0, 0);
    for p in people {
        match roster.iter_mut().find(|m| m.name == p.name) {
            Some(m) => {
                if *m != p {
                    *m = p;
                    updated += 1;
                }
            }
            None => {
                roster.push(p);
                added += 1;
            }
        }
    }
    (added, updated)
}

/// `POST /unit/staff/import` (multipart, the file in `file`).
pub(crate) async fn import(
    State(state): State<AppState>,
    auth: Auth,
    mut form: Multipart,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let mut file = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| AppError::BadRequest(format!("上传失败（{e}）")))?
        {
            if field.name() != Some("file") {
                continue;
            }
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::BadRequest(format!("上传失败（{e}）")))?;
            file = Some(bytes);
        }
        let bytes = file
            .filter(|b| !b.is_empty())
            .ok_or_else(|| AppError::BadRequest("请选择要导入的 XLSX 文件".into()))?;
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(AppError::BadRequest(format!(
                "文件超过 {} MB",
                MAX_IMPORT_BYTES >> 20
            )));
        }
        let people = tokio::task::spawn_blocking(move || parse_import(&bytes))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(AppError::BadRequest)?;
        let actor = auth.actor();
        change(&state, move |roster| {
            let count = people.len();
            let (added, updated) = merge(roster, people);
            if roster.len() > STAFF_MAX {
                return Err(format!("导入后名册将超过 {STAFF_MAX} 人"));
            }
            Ok(NewAuditEntry::new(
                actor,
                "unit.staff.import",
                "",
                serde_json::json!({ "count": count, "added": added, "updated": updated }),
            ))
        })
        .await?;
        Ok(Redirect::to("/unit?staff=imported#staff").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, title: &str) -> StaffMember {
        StaffMember {
            name: name.into(),
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_import_merges_by_name_and_keeps_everyone_else() {
        let mut roster = vec![m("张三", "科员"), m("李四", "科长")];
        let (added, updated) = merge(
            &mut roster,
            vec![m("张三", "副科长"), m("李四", "科长"), m("王五", "")],
        );
        assert_eq!((added, updated), (1, 1));
        assert_eq!(roster.len(), 3);
        assert_eq!(roster[0].title, "副科长");
    }

    #[test]
    fn the_header_is_found_in_any_order_and_a_missing_name_column_is_named() {
        let h = |cols: &[&str]| cols.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = columns(&h(&["手机", "部门", "姓名*", "邮箱"])).unwrap();
        assert_eq!((c.name, c.mobile, c.title), (2, Some(0), None));
        assert_eq!(
            columns(&h(&["名字", "部门"])).err().unwrap(),
            "表头中没有“姓名”列"
        );
    }
}
