//! 人员名册 and 责任人/整改时限 over real HTTP: an admin adds, edits and
//! removes people, a bad mobile is refused in Chinese, an XLSX made here is
//! imported (merged by name) and a bad row is named; an operator names a
//! finding's owner from the roster and its due date, which the finding page
//! shows; an auditor can do neither.

mod common;

use common::*;
use reqwest::StatusCode;
use shouwang_console::ConsoleConfig;
use shouwang_store::Store;

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let (status, body) = page(c, url).await;
    (status, unescape(&body))
}

async fn post(c: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = c.post(url).form(form).send().await.unwrap();
    let status = r.status();
    (status, unescape(&r.text().await.unwrap()))
}

async fn upload(c: &reqwest::Client, url: String, csrf: &str, xlsx: &[u8]) -> (StatusCode, String) {
    let boundary = "----shouwang-staff-boundary-41c9";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"名册.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(xlsx);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = c
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, unescape(&r.text().await.unwrap()))
}

/// A workbook whose first sheet holds `rows` (the header first), and a
/// second sheet that must not be read.
fn workbook(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty() {
                // Spreadsheets keep a typed-in mobile as a number.
                ws.write_number(r as u32, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.add_worksheet()
        .write_string(0, 0, "姓名")
        .unwrap()
        .write_string(1, 0, "不该导入")
        .unwrap();
    wb.save_to_buffer().unwrap()
}

fn roster(store: &dyn Store) -> Vec<shouwang_model::StaffMember> {
    shouwang_store::staff(store).unwrap()
}

fn actions(store: &dyn Store) -> Vec<String> {
    store
        .audit_entries(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn an_admin_keeps_the_roster_and_imports_it_from_xlsx() {
    let con = spawn(ConsoleConfig::default()).await;
    let admin = logged_in(&con.base, "admin", ADMIN_PW).await;
    let (status, page) = get(&admin, format!("{}/unit", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("名册中还没有人员"), "{page}");
    let csrf = csrf_of(&page);
    let staff_url = format!("{}/unit/staff", con.base);

    let add = |name: &'static str, mobile: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("department", "办公室".to_string()),
            ("title", "网络安全员".to_string()),
            ("email", "it@example.gov.cn".to_string()),
            ("mobile", mobile.to_string()),
        ]
    };
    let as_refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let form = as_refs(&add("张三", "13800138000"));
    let r = admin.post(&staff_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let form = as_refs(&add("李四", ""));
    admin.post(&staff_url).form(&form).send().await.unwrap();
    let (_, page) = get(&admin, format!("{}/unit?staff=saved", con.base)).await;
    assert!(page.contains("人员名册已保存") && page.contains("value=\"张三\""));

    // A bad mobile is refused, in Chinese, and nothing changes.
    let form = as_refs(&add("王五", "1380013800"));
    let r = admin.post(&staff_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = unescape(&r.text().await.unwrap());
    assert!(
        body.contains("手机号“1380013800”不是以 1 开头的 11 位数字"),
        "{body}"
    );
    // So is a second 张三 and a person without a name.
    let form = as_refs(&add("张三", ""));
    let r = admin.post(&staff_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(unescape(&r.text().await.unwrap()).contains("名册中已有“张三”"));
    let (status, body) = post(&admin, staff_url.clone(), &[("csrf", &csrf), ("name", " ")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("姓名未填写"));
    assert_eq!(roster(&*con.store).len(), 2);

    // Edit 张三 and remove 李四.
    let (status, _) = post(
        &admin,
        staff_url.clone(),
        &[
            ("csrf", &csrf),
            ("original", "张三"),
            ("name", "张三"),
            ("department", "信息中心"),
            ("title", "主任"),
            ("mobile", "13900139000"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post(
        &admin,
        format!("{}/unit/staff/remove", con.base),
        &[("csrf", &csrf), ("name", "李四")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let r = roster(&*con.store);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].department.as_str(), r[0].mobile.as_str()),
        ("信息中心", "13900139000")
    );

    // An import, columns in another order: 张三 is updated, 赵六 and 钱七 added.
    let xlsx = workbook(&[
        &["手机", "姓名", "职务", "部门", "邮箱"],
        &[
            "13700137000",
            "张三",
            "副主任",
            "信息中心",
            "zhang@example.gov.cn",
        ],
        &["", "赵六", "科员", "办公室", ""],
        &["15000150000", "钱七", "", "", "qian@example.gov.cn"],
    ]);
    let import_url = format!("{}/unit/staff/import", con.base);
    let (status, body) = upload(&admin, import_url.clone(), &csrf, &xlsx).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let r = roster(&*con.store);
    let names: Vec<&str> = r.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["张三", "赵六", "钱七"]);
    assert_eq!(r[0].title, "副主任");
    assert_eq!(r[0].mobile, "13700137000");
    assert_eq!(r[2].email, "qian@example.gov.cn");
    let (_, page) = get(&admin, format!("{}/unit?staff=imported", con.base)).await;
    assert!(page.contains("人员名册已导入") && page.contains("value=\"钱七\""));

    // A bad row is named by its number and nothing of the file is kept.
    let bad = workbook(&[
        &["姓名", "邮箱"],
        &["孙八", "sun@example.gov.cn"],
        &["周九", "zhou-at-example"],
    ]);
    let (status, body) = upload(&admin, import_url.clone(), &csrf, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("第 3 行：邮箱“zhou-at-example”格式不对"),
        "{body}"
    );
    let no_name = workbook(&[&["名字", "部门"], &["孙八", "办公室"]]);
    let (status, body) = upload(&admin, import_url.clone(), &csrf, &no_name).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("表头中没有“姓名”列"), "{body}");
    let (status, body) = upload(&admin, import_url.clone(), &csrf, b"not a workbook").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("无法读取上传的文件"), "{body}");
    assert_eq!(roster(&*con.store).len(), 3);

    let a = actions(&*con.store);
    assert_eq!(a.iter().filter(|x| *x == "unit.staff").count(), 4, "{a:?}");
    assert_eq!(a.iter().filter(|x| *x == "unit.staff.import").count(), 1);
    let (_, audit) = get(&admin, format!("{}/audit", con.base)).await;
    assert!(audit.contains("修改人员名册") && audit.contains("导入人员名册"));

    // Others read the roster but do not change it.
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (_, page) = get(&op, format!("{}/unit", con.base)).await;
    assert!(page.contains("钱七") && !page.contains("id=\"staff-import\""));
    let csrf = csrf_of(&page);
    let (status, _) = post(&op, staff_url, &[("csrf", &csrf), ("name", "孙八")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(&op, import_url, &csrf, &xlsx).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(roster(&*con.store).len(), 3);
}

#[tokio::test]
async fn an_operator_names_the_owner_and_due_date_of_a_finding_and_an_auditor_cannot() {
    let con = spawn(ConsoleConfig::default()).await;
    let id = finding_id(&*con.store, "host.ssh.permit-root-login");
    let url = format!("{}/findings/{id}/assign", con.base);
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;

    // With the roster empty, a name may be typed in.
    let (_, page) = get(&op, format!("{}/findings/{id}", con.base)).await;
    assert!(page.contains("id=\"assign-form\"") && page.contains("<input name=\"owner\""));
    let csrf = csrf_of(&page);
    let (status, _) = post(
        &op,
        url.clone(),
        &[("csrf", &csrf), ("owner", "临时人员"), ("due", "")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        con.store.finding_assignment(id).unwrap().unwrap().owner,
        "临时人员"
    );

    // Once there is a roster, the owner is chosen from it.
    con.store
        .audited(|tx| {
            tx.set_setting(
                shouwang_store::STAFF_SETTING,
                &serde_json::json!([{ "name": "张三" }, { "name": "李四" }]),
            )?;
            tx.audit(&shouwang_store::NewAuditEntry::new(
                "test",
                "unit.staff",
                "",
                serde_json::Value::Null,
            ))
        })
        .unwrap();
    let (status, body) = post(
        &op,
        url.clone(),
        &[("csrf", &csrf), ("owner", "王五"), ("due", "2026-12-31")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("“王五”不在人员名册中"), "{body}");
    let (status, body) = post(
        &op,
        url.clone(),
        &[("csrf", &csrf), ("owner", "张三"), ("due", "2026-13-01")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("不是有效日期"), "{body}");
    let (status, _) = post(
        &op,
        url.clone(),
        &[("csrf", &csrf), ("owner", "张三"), ("due", "2026-12-31")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = get(&op, format!("{}/findings/{id}", con.base)).await;
    assert!(page.contains("<option value=\"张三\" selected"), "{page}");
    assert!(page.contains("2026年12月31日"), "{page}");
    let a = con.store.finding_assignment(id).unwrap().unwrap();
    assert_eq!(a.due, chrono::NaiveDate::from_ymd_opt(2026, 12, 31));

    // A date already past reads as overdue.
    let (status, _) = post(
        &op,
        url.clone(),
        &[("csrf", &csrf), ("owner", "李四"), ("due", "2020-01-02")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = get(&op, format!("{}/findings/{id}", con.base)).await;
    assert!(
        page.contains("2020年1月2日") && page.contains("已超期"),
        "{page}"
    );

    let entries = con.store.audit_entries(0, 100_000).unwrap();
    let assigned: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "finding.assign")
        .collect();
    assert_eq!(assigned.len(), 3);
    assert!(assigned[2].details.contains("李四") && assigned[2].details.contains("2020-01-02"));

    // An auditor reads it and cannot change it.
    let aud = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (_, page) = get(&aud, format!("{}/findings/{id}", con.base)).await;
    assert!(page.contains("李四") && !page.contains("id=\"assign-form\""));
    let csrf = csrf_of(&page);
    let (status, _) = post(
        &aud,
        url,
        &[("csrf", &csrf), ("owner", "张三"), ("due", "")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        con.store.finding_assignment(id).unwrap().unwrap().owner,
        "李四"
    );
}
