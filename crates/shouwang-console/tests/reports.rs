//! 报告 over real HTTP: the 自查报告 as DOCX and HTML for an auditor, with
//! the unit's name and a figure Shouwang measured; a unit template filled
//! or refused by name; refusals of bad periods and uploads without a CSRF
//! token; the ledgers as XLSX; incident reports from the incident page;
//! and an audit entry for each report taken.

mod common;

use std::io::{Read, Write};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use common::*;
use reqwest::StatusCode;
use shouwang_console::{ConsoleConfig, UNIT_PROFILE_SETTING};
use shouwang_model::UnitProfile;
use shouwang_store::Store;

const ROOT: &str = "/srv/www/portal";
const UNIT: &str = "某某市档案馆";
/// Restores seeded here; `common` seeds one more.
const RESTORES: usize = 22;
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The unit profile, and restores on one web root run through the engine
/// (one 网页篡改 incident). Returns the incident's id.
fn seed(store: &dyn Store) -> i64 {
    let unit = UnitProfile {
        name: UNIT.into(),
        ..UnitProfile::default()
    };
    store
        .set_setting(UNIT_PROFILE_SETTING, &serde_json::to_value(&unit).unwrap())
        .unwrap();
    seed_restores(store, ROOT, Utc::now() - Duration::minutes(10), RESTORES)
}

async fn console() -> (Console, i64) {
    let c = spawn(ConsoleConfig::default()).await;
    let store = c.store.clone();
    let id = tokio::task::spawn_blocking(move || seed(&*store))
        .await
        .unwrap();
    (c, id)
}

/// This year so far in Beijing time, the form's default.
fn this_year() -> (NaiveDate, NaiveDate) {
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    (NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(), today)
}

fn part(zip_bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a zip");
    let mut f = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the zip"));
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// The text of a WordprocessingML part, runs joined.
fn docx_text(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<w:t") {
        rest = &rest[i..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        if !(tag.starts_with("<w:t>") || tag.starts_with("<w:t ")) && tag != "<w:t" {
            rest = &rest[open_end..];
            continue;
        }
        if tag.ends_with('/') {
            rest = &rest[open_end..];
            continue;
        }
        let body = &rest[open_end + 1..];
        let end = body.find("</w:t>").unwrap_or(body.len());
        out.push_str(&body[..end]);
        rest = &body[end..];
    }
    out
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// RFC 5987 encoding, as the console should send file names.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A one-paragraph .docx (all the template filler needs).
fn template_docx(text: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
        z.start_file("word/document.xml", opts).unwrap();
        let doc = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"#
        );
        z.write_all(doc.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A template with a picture-sized part of `pad` incompressible bytes.
fn padded_template(text: &str, pad: usize) -> Vec<u8> {
    let small = template_docx(text);
    let mut z = zip::ZipWriter::new_append(std::io::Cursor::new(small)).unwrap();
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("word/media/image1.bin", opts).unwrap();
    let mut x: u32 = 0x2026_1122;
    let noise: Vec<u8> = (0..pad)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    z.write_all(&noise).unwrap();
    z.finish().unwrap().into_inner()
}

/// A multipart/form-data body with text fields and one file, in order.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----shouwang-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"template\"; filename=\"{name}\"\r\nContent-Type: {DOCX}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    c: &reqwest::Client,
    base: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> reqwest::Response {
    let (ct, body) = multipart(fields, file);
    c.post(format!("{base}/reports/selfcheck"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn audits(store: &dyn Store, action: &str) -> Vec<shouwang_store::AuditEntry> {
    store
        .audit_entries(0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn details(e: &shouwang_store::AuditEntry) -> serde_json::Value {
    serde_json::from_str(&e.details).unwrap()
}

#[tokio::test]
async fn an_auditor_takes_the_selfcheck_report_as_docx_and_html() {
    let (con, _) = console().await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (from, to) = this_year();

    let page = c.get(format!("{}/reports", con.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("网络安全自查报告"));
    assert!(page.contains(&format!("value=\"{from}\"")), "default from");
    assert!(page.contains(&format!("value=\"{to}\"")), "default to");
    assert!(page.contains("/reports/ledger.xlsx"));
    assert!(!page.contains("id=\"no-unit-name\""), "the unit has a name");

    let r = c
        .get(format!(
            "{}/reports/selfcheck?from={from}&to={to}&format=docx",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), DOCX);
    let cd = header(&r, "content-disposition");
    let name = format!("网络安全自查报告-{from}至{to}.docx");
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(
        cd.contains(&format!("filename*=UTF-8''{}", pct(&name))),
        "{cd}"
    );
    let bytes = r.bytes().await.unwrap();
    let text = docx_text(&part(&bytes, "word/document.xml"));
    assert!(text.contains(UNIT), "unit name in the report");
    let figure = format!("恢复篡改 {} 次", RESTORES + 1);
    assert!(text.contains(&figure), "{figure} in: {text}");

    let r = c
        .get(format!(
            "{}/reports/selfcheck?from={from}&to={to}&format=html",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert!(header(&r, "content-disposition").starts_with("attachment;"));
    let html = r.text().await.unwrap();
    assert!(html.contains(UNIT));
    assert!(html.contains(&figure), "{figure} in the HTML");

    let r = c
        .get(format!(
            "{}/reports/selfcheck?from={from}&to={to}&format=html&inline=1",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-disposition").starts_with("inline;"));
    let csp = header(&r, "content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // The form's "view in the browser" is the same.
    let r = c
        .get(format!(
            "{}/reports/selfcheck?from={from}&to={to}&format=view",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert!(header(&r, "content-disposition").starts_with("inline;"));

    let store = con.store.clone();
    let taken = tokio::task::spawn_blocking(move || audits(&*store, "report.selfcheck"))
        .await
        .unwrap();
    assert_eq!(taken.len(), 4, "each report taken is audited");
    assert!(taken.iter().all(|e| e.actor == "auditor"));
    assert_eq!(taken[0].target, format!("{from}..{to}"));
}

#[tokio::test]
async fn bad_periods_and_formats_come_back_to_the_form() {
    let (con, _) = console().await;
    let c = logged_in(&con.base, "operator", OPERATOR_PW).await;
    for (query, says) in [
        ("from=2026-03-01&to=2026-02-01", "截止日期早于起始日期"),
        ("from=2026-13-01&to=2026-12-31", "2026-13-01"),
        ("from=yesterday&to=2026-12-31", "yesterday"),
        ("from=2026-01-01&to=2026-02-01&format=pdf", "DOCX"),
    ] {
        let r = c
            .get(format!("{}/reports/selfcheck?{query}", con.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"error\""), "{query}");
        assert!(page.contains(says), "{query}: {says}");
        assert!(page.contains("id=\"form-selfcheck\""), "the form again");
    }
}

#[tokio::test]
async fn a_unit_template_is_filled_or_refused_by_name() {
    let (con, _) = console().await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (from, to) = this_year();
    let (from, to) = (from.to_string(), to.to_string());
    let page = page(&c, format!("{}/reports", con.base)).await.1;
    let csrf = csrf_of(&page);
    let fields = [
        ("csrf", csrf.as_str()),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("format", "docx"),
    ];

    let good = template_docx("本单位：{{unit.name}}");
    let r = upload(&c, &con.base, &fields, Some(("我们的模板.docx", &good))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), DOCX);
    let bytes = r.bytes().await.unwrap();
    let text = docx_text(&part(&bytes, "word/document.xml"));
    assert!(text.contains(&format!("本单位：{UNIT}")), "{text}");

    let unknown = template_docx("见 {{no.such}}");
    let r = upload(&c, &con.base, &fields, Some(("我们的模板.docx", &unknown))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.unwrap();
    assert!(page.contains("no.such"), "the unknown placeholder is named");
    assert!(page.contains("id=\"form-selfcheck\""));

    let r = upload(
        &c,
        &con.base,
        &fields,
        Some(("notes.docx", b"this is not a zip")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("docx"));

    // A template with the HTML format is refused: a template makes a DOCX.
    let html_fields = [
        ("csrf", csrf.as_str()),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("format", "html"),
    ];
    let r = upload(&c, &con.base, &html_fields, Some(("t.docx", &good))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // No file chosen: the built-in report, through the same form.
    let r = upload(&c, &con.base, &fields, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = docx_text(&part(&r.bytes().await.unwrap(), "word/document.xml"));
    assert!(text.contains("网络安全自查报告"));

    // Without the token the upload is refused before anything is made.
    let r = upload(&c, &con.base, &fields[1..], Some(("t.docx", &good))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let wrong = [
        ("csrf", "0000"),
        ("from", from.as_str()),
        ("to", to.as_str()),
    ];
    let r = upload(&c, &con.base, &wrong, Some(("t.docx", &good))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let store = con.store.clone();
    let taken = tokio::task::spawn_blocking(move || audits(&*store, "report.selfcheck"))
        .await
        .unwrap();
    assert_eq!(taken.len(), 2, "the filled template and the built-in one");
    assert_eq!(details(&taken[0])["template"], "我们的模板.docx");
}

#[tokio::test]
async fn large_templates_up_to_the_limit_are_taken() {
    let (con, _) = console().await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let page = page(&c, format!("{}/reports", con.base)).await.1;
    let csrf = csrf_of(&page);
    let (from, to) = this_year();
    let (from, to) = (from.to_string(), to.to_string());

    // 3 MB, with the token after the file: still found, still filled.
    let big = padded_template("{{unit.name}}", 3 << 20);
    let fields = [
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("format", "docx"),
    ];
    let (ct, mut body) = multipart(&fields, Some(("大模板.docx", &big)));
    let tail = b"--\r\n";
    body.truncate(body.len() - tail.len());
    body.extend_from_slice(
        format!("\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
    );
    let boundary = ct.split("boundary=").nth(1).unwrap();
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = c
        .post(format!("{}/reports/selfcheck", con.base))
        .header("content-type", ct.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = docx_text(&part(&r.bytes().await.unwrap(), "word/document.xml"));
    assert!(text.contains(UNIT));

    // Over 10 MB: refused on the page, by its size.
    let huge = vec![0u8; (10 << 20) + 1];
    let with_token = [("csrf", csrf.as_str()), fields[0], fields[1], fields[2]];
    let r = upload(&c, &con.base, &with_token, Some(("huge.docx", &huge))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("10 MB"));

    // Far over: the request itself is too large.
    let enormous = vec![0u8; 12 << 20];
    let r = upload(&c, &con.base, &with_token, Some(("x.docx", &enormous))).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = r.text().await.unwrap();
    assert!(text.contains("提交的内容过大，最大 10 MB"), "{text}");
}

#[tokio::test]
async fn the_ledgers_download_as_xlsx() {
    let (con, _) = console().await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let r = c
        .get(format!("{}/reports/ledger.xlsx", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let cd = header(&r, "content-disposition");
    assert!(cd.contains(&pct("网络安全台账-")), "{cd}");
    let bytes = r.bytes().await.unwrap();
    assert!(part(&bytes, "xl/workbook.xml").contains("<sheet"));
    let store = con.store.clone();
    let taken = tokio::task::spawn_blocking(move || audits(&*store, "report.ledger"))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
}

#[tokio::test]
async fn incident_reports_download_from_the_incident_page() {
    let (con, id) = console().await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let title = con.store.incident(id).unwrap().unwrap().title;

    let page = page(&c, format!("{}/incidents/{id}", con.base)).await.1;
    for stage in ["first", "follow-up", "summary"] {
        for format in ["docx", "html"] {
            assert!(
                page.contains(&format!("id=\"report-{stage}-{format}\"")),
                "{stage} {format} link"
            );
        }
    }

    let r = c
        .get(format!(
            "{}/incidents/{id}/report?stage=first&format=docx",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), DOCX);
    let cd = header(&r, "content-disposition");
    assert!(
        cd.contains(&pct(&format!("网络安全事件首次报告-{id}.docx"))),
        "{cd}"
    );
    let text = docx_text(&part(&r.bytes().await.unwrap(), "word/document.xml"));
    assert!(text.contains("首次报告"));
    assert!(
        text.contains(&title),
        "the report names the incident: {text}"
    );
    assert!(text.contains(UNIT));

    let r = c
        .get(format!(
            "{}/incidents/{id}/report?stage=summary&format=html",
            con.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        header(&r, "content-disposition")
            .contains(&pct(&format!("网络安全事件调查评估报告-{id}.html")))
    );
    // minijinja escapes `/` in the path the title names.
    let html = r.text().await.unwrap().replace("&#x2f;", "/");
    assert!(html.contains("调查评估报告"));
    assert!(html.contains(&title));

    let r = c
        .get(format!("{}/incidents/{id}/report?stage=later", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .get(format!("{}/incidents/99999/report?stage=first", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .get(format!("{}/incidents/{id}/status", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let store = con.store.clone();
    let taken = tokio::task::spawn_blocking(move || audits(&*store, "report.incident"))
        .await
        .unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0].target, id.to_string());
    assert_eq!(details(&taken[0])["stage"], "first");
    assert_eq!(details(&taken[1])["stage"], "summary");
}

#[tokio::test]
async fn the_operators_report_form_still_records_a_report_sent() {
    // The download shares its path with the operators' post.
    let (con, id) = console().await;
    let c = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let page = page(&c, format!("{}/incidents/{id}", con.base)).await.1;
    let csrf = csrf_of(&page);
    let r = c
        .post(format!("{}/incidents/{id}/report", con.base))
        .form(&[("csrf", csrf.as_str()), ("stage", "first"), ("at", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_unit_without_a_name_is_warned_about() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let zh = page(&c, format!("{}/reports", con.base)).await.1;
    assert!(zh.contains("id=\"no-unit-name\""));
    assert!(zh.contains("href=\"&#x2f;unit\"") || zh.contains("href=\"/unit\""));

    // In English, every string of the page is translated.
    c.get(format!("{}/lang/en?next=/reports", con.base))
        .send()
        .await
        .unwrap();
    let en = page(&c, format!("{}/reports", con.base)).await.1;
    assert!(en.contains("Security self-inspection report"), "{en}");
    assert!(!en.contains("reports."), "an untranslated key: {en}");
}
