//! 报告: the 网络安全自查报告 for a period (built in, as DOCX or HTML, or
//! filled into the unit's own .docx template), the incident reports
//! (首次报告, 续报, 调查评估报告) and the ledgers (台账) as XLSX, all made by
//! `shouwang-report` from the store.
//!
//! Every role may take them: they only read. Each one taken is recorded in
//! the audit log (`report.selfcheck`, `report.incident`, `report.ledger`),
//! since reports leave the building.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use shouwang_model::{ReportStage, UnitProfile};
use shouwang_report::{Options, Period, ReportError};
use shouwang_store::{NewAuditEntry, Store};

use super::pages::respond;
use super::{AppError, AppState, Auth};
use crate::i18n::tr;

/// The largest template accepted; a unit's letterhead .docx is far smaller.
pub(crate) const MAX_TEMPLATE_BYTES: usize = 10 << 20;
/// The largest upload request: the template and a few small fields.
pub(crate) const MAX_UPLOAD_BYTES: usize = MAX_TEMPLATE_BYTES + (64 << 10);

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const HTML: &str = "text/html; charset=utf-8";
/// The report page styles itself inline and runs nothing.
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

fn beijing_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&shouwang_model::beijing_offset())
        .date_naive()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Docx,
    Html,
}

impl Format {
    fn parse(s: Option<&str>) -> Option<Format> {
        match s.map(str::trim).unwrap_or("") {
            "" | "docx" => Some(Format::Docx),
            // `view`: HTML shown in the tab (the form's third choice).
            "html" | "view" => Some(Format::Html),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Html => "html",
        }
    }
}

/// What the 自查报告 form holds, as typed.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct SelfcheckQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    inline: String,
}

/// `filename*=UTF-8''…`: every byte outside RFC 5987's attr-chars encoded.
fn rfc5987(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A document as a download (or, for HTML on request, shown in the tab).
fn download(bytes: Vec<u8>, content_type: &str, name: &str, ascii: &str, inline: bool) -> Response {
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        rfc5987(name)
    );
    let mut res = ([(header::CONTENT_TYPE, content_type.to_string())], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    if content_type == HTML {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(REPORT_CSP),
        );
    }
    res
}

/// A report's failure as the console tells it: a broken or mistyped
/// template is the person's to fix (400), a missing incident is 404, the
/// rest is ours.
fn failure(e: ReportError) -> AppError {
    match e {
        ReportError::IncidentNotFound(_) => AppError::NotFound,
        e @ (ReportError::NotDocx { .. } | ReportError::Template { .. }) => {
            AppError::BadRequest(e.to_string())
        }
        ReportError::Store(e) => e.into(),
        other => AppError::Internal(other.to_string()),
    }
}

/// Run report work on the blocking pool with the unit profile and the
/// reporting policy in force.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store, &UnitProfile, Options) -> Result<T, ReportError> + Send + 'static,
) -> Result<T, AppError> {
    let st = state.clone();
    let store = state.store.clone();
    super::blocking(move || {
        let unit = crate::unit_profile(&*store, &st.config.unit);
        let opts = Options {
            policy: Some(super::incidents::policy(&st, &*store)),
            ..Options::default()
        };
        f(&*store, &unit, opts)
    })
    .await?
    .map_err(failure)
}

fn audit(
    store: &dyn Store,
    actor: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), ReportError> {
    store.record_action(&NewAuditEntry::new(actor, action, target, details))?;
    Ok(())
}

/// The form's values, with today's defaults for what is left empty.
struct FormValues {
    from: String,
    to: String,
    format: &'static str,
}

impl FormValues {
    fn of(q: &SelfcheckQuery) -> Self {
        let today = beijing_today();
        let start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let or = |s: &str, d: NaiveDate| {
            if s.trim().is_empty() {
                d.to_string()
            } else {
                s.trim().to_string()
            }
        };
        FormValues {
            from: or(&q.from, start),
            to: or(&q.to, today),
            format: match q.format.trim() {
                "view" => "view",
                f => Format::parse(Some(f)).unwrap_or(Format::Docx).as_str(),
            },
        }
    }
}

async fn page_with(
    state: &AppState,
    auth: &Auth,
    q: &SelfcheckQuery,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let fallback = state.config.unit.clone();
    let unit = state
        .db(move |s| Ok(crate::unit_profile(s, &fallback)))
        .await?;
    let v = FormValues::of(q);
    let lang = auth.lang.as_str();
    Ok(state.renderer.page_with_status(
        "reports.html",
        lang,
        Some(auth),
        serde_json::json!({
            "nav": "reports",
            "unit_name": unit.name.trim(),
            "from": v.from,
            "to": v.to,
            "format": v.format,
            "max_template_mb": MAX_TEMPLATE_BYTES >> 20,
            "error": error,
        }),
        status,
    ))
}

/// `GET /reports`: the forms.
pub(crate) async fn page(State(state): State<AppState>, auth: Auth) -> Response {
    let r = page_with(
        &state,
        &auth,
        &SelfcheckQuery::default(),
        None,
        StatusCode::OK,
    )
    .await;
    respond(&state, &auth, r)
}

/// A 自查报告 request after its fields are read.
struct SelfcheckRequest {
    query: SelfcheckQuery,
    /// The template's file name and bytes.
    template: Option<(String, Vec<u8>)>,
}

fn parse_date(s: &str, lang: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{}“{}”", tr(lang, "reports.err.date"), s.trim()))
}

async fn selfcheck(state: &AppState, auth: &Auth, req: SelfcheckRequest) -> Response {
    let lang = auth.lang.clone();
    let v = FormValues::of(&req.query);
    let checked = (|| {
        let from = parse_date(&v.from, &lang)?;
        let to = parse_date(&v.to, &lang)?;
        let period = Period::days(from, to)
            .ok_or_else(|| format!("{} {to} < {from}", tr(&lang, "reports.err.period")))?;
        let format = Format::parse(Some(&req.query.format))
            .ok_or_else(|| tr(&lang, "reports.err.format").to_string())?;
        if req.template.is_some() && format != Format::Docx {
            return Err(tr(&lang, "reports.err.template_html").to_string());
        }
        Ok((period, format))
    })();
    let (period, format) = match checked {
        Ok(x) => x,
        Err(message) => return refuse(state, auth, &req.query, message).await,
    };
    let inline = format == Format::Html
        && (matches!(req.query.inline.as_str(), "1" | "true") || req.query.format.trim() == "view");
    let actor = auth.actor();
    let template = req.template;
    let made = with_store(state, move |s, unit, opts| {
        let facts = shouwang_report::selfcheck_facts(s, unit, period, &opts)?;
        let template_name = template.as_ref().map(|(n, _)| n.clone());
        let bytes = match (&template, format) {
            (Some((name, bytes)), _) => {
                shouwang_report::selfcheck_docx_with_template(&facts, bytes, name)?
            }
            (None, Format::Docx) => shouwang_report::selfcheck_docx(&facts)?,
            (None, Format::Html) => shouwang_report::selfcheck_html(&facts)?.into_bytes(),
        };
        audit(
            s,
            &actor,
            "report.selfcheck",
            &format!("{}..{}", period.from, period.to),
            serde_json::json!({
                "from": period.from.to_string(),
                "to": period.to.to_string(),
                "format": format.as_str(),
                "template": template_name,
            }),
        )?;
        Ok(bytes)
    })
    .await;
    match made {
        Ok(bytes) => {
            let (from, to) = (period.from, period.to);
            let name = format!("网络安全自查报告-{from}至{to}");
            report_file(
                bytes,
                format,
                &name,
                &format!("selfcheck-{from}-{to}"),
                inline,
            )
        }
        Err(AppError::BadRequest(m)) => {
            let message = format!("{}\n{m}", tr(&lang, "reports.err.template"));
            refuse(state, auth, &req.query, message).await
        }
        Err(e) => respond(state, auth, Err(e)),
    }
}

/// The page again with the message, as a 400.
async fn refuse(state: &AppState, auth: &Auth, q: &SelfcheckQuery, message: String) -> Response {
    let r = page_with(state, auth, q, Some(message), StatusCode::BAD_REQUEST).await;
    respond(state, auth, r)
}

/// `GET /reports/selfcheck?from=…&to=…&format=docx|html[&inline=1]`: the
/// built-in report (reading only, so no CSRF token).
pub(crate) async fn selfcheck_get(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<SelfcheckQuery>,
) -> Response {
    selfcheck(
        &state,
        &auth,
        SelfcheckRequest {
            query: q,
            template: None,
        },
    )
    .await
}

/// `POST /reports/selfcheck` (multipart): the same fields and optionally
/// the unit's own .docx template (`template`). The CSRF token is checked
/// by the authentication layer like any other post.
pub(crate) async fn selfcheck_post(
    State(state): State<AppState>,
    auth: Auth,
    mut form: Multipart,
) -> Response {
    let lang = auth.lang.clone();
    let mut q = SelfcheckQuery::default();
    let mut template = None;
    let mut problem = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                problem = Some(format!("{} ({e})", tr(&lang, "reports.err.upload")));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                problem = Some(format!("{} ({e})", tr(&lang, "reports.err.upload")));
                break;
            }
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "from" => q.from = text(),
            "to" => q.to = text(),
            "format" => q.format = text(),
            "inline" => q.inline = text(),
            // A file input left empty still sends a part, with no name.
            "template" if !bytes.is_empty() => {
                if bytes.len() > MAX_TEMPLATE_BYTES {
                    problem = Some(format!(
                        "{} {} MB",
                        tr(&lang, "reports.err.too_large"),
                        MAX_TEMPLATE_BYTES >> 20
                    ));
                } else {
                    let name = file_name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| "template.docx".into());
                    template = Some((name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    if let Some(message) = problem {
        return refuse(&state, &auth, &q, message).await;
    }
    selfcheck(&state, &auth, SelfcheckRequest { query: q, template }).await
}

/// `GET /reports/ledger.xlsx`: the ledgers.
pub(crate) async fn ledger(State(state): State<AppState>, auth: Auth) -> Response {
    let actor = auth.actor();
    let made = with_store(&state, move |s, unit, opts| {
        let bytes = shouwang_report::ledger_xlsx(s, unit, &opts)?;
        audit(
            s,
            &actor,
            "report.ledger",
            "ledger",
            serde_json::json!({ "format": "xlsx" }),
        )?;
        Ok(bytes)
    })
    .await;
    match made {
        Ok(bytes) => {
            let today = beijing_today();
            download(
                bytes,
                XLSX,
                &format!("网络安全台账-{today}.xlsx"),
                &format!("ledger-{today}.xlsx"),
                false,
            )
        }
        Err(e) => respond(&state, &auth, Err(e)),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct IncidentQuery {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    inline: String,
}

fn stage_title(stage: ReportStage) -> &'static str {
    match stage {
        ReportStage::First => "网络安全事件首次报告",
        ReportStage::FollowUp => "网络安全事件续报",
        ReportStage::Summary => "网络安全事件调查评估报告",
    }
}

/// `GET /incidents/{id}/report?stage=first|follow-up|summary&format=docx|html`.
/// Shares its path with the operators' posts (`/incidents/{id}/{action}`),
/// so any other action is not found.
pub(crate) async fn incident(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, action)): Path<(i64, String)>,
    Query(q): Query<IncidentQuery>,
) -> Response {
    if action != "report" {
        return respond(&state, &auth, Err(AppError::NotFound));
    }
    let lang = auth.lang.clone();
    let stage = if q.stage.trim().is_empty() {
        Ok(ReportStage::First)
    } else {
        q.stage.trim().parse::<ReportStage>()
    };
    let Ok(stage) = stage else {
        let m = format!("{}“{}”", tr(&lang, "reports.err.stage"), q.stage.trim());
        return respond(&state, &auth, Err(AppError::BadRequest(m)));
    };
    let Some(format) = Format::parse(Some(&q.format)) else {
        let m = tr(&lang, "reports.err.format").to_string();
        return respond(&state, &auth, Err(AppError::BadRequest(m)));
    };
    let actor = auth.actor();
    let made = with_store(&state, move |s, unit, opts| {
        let facts = shouwang_report::incident_facts(s, unit, id, stage, &opts)?;
        let bytes = match format {
            Format::Docx => shouwang_report::incident_docx(&facts)?,
            Format::Html => shouwang_report::incident_html(&facts)?.into_bytes(),
        };
        audit(
            s,
            &actor,
            "report.incident",
            &id.to_string(),
            serde_json::json!({ "id": id, "stage": stage.as_str(), "format": format.as_str() }),
        )?;
        Ok(bytes)
    })
    .await;
    match made {
        Ok(bytes) => {
            let name = format!("{}-{id}", stage_title(stage));
            let ascii = format!("incident-{id}-{}", stage.as_str());
            let inline = format == Format::Html && matches!(q.inline.as_str(), "1" | "true");
            report_file(bytes, format, &name, &ascii, inline)
        }
        Err(e) => respond(&state, &auth, Err(e)),
    }
}

/// A report as a download named `name` (with `ascii` for clients that
/// cannot take a Chinese file name), its extension from its format.
fn report_file(bytes: Vec<u8>, format: Format, name: &str, ascii: &str, inline: bool) -> Response {
    let ext = format.as_str();
    let ct = if format == Format::Docx { DOCX } else { HTML };
    download(
        bytes,
        ct,
        &format!("{name}.{ext}"),
        &format!("{ascii}.{ext}"),
        inline,
    )
}

/// The longest boundary RFC 2046 allows. Every search of a body (up to
/// [`MAX_UPLOAD_BYTES`]) costs up to its length per byte, so a longer one
/// would let a single request keep a core busy.
const MAX_BOUNDARY: usize = 70;

/// The text of the field `name` in a buffered multipart/form-data body,
/// for the CSRF check before the handler parses the rest. Only a field
/// whose Content-Disposition names it exactly counts; anything malformed
/// is `None` (and the request refused).
pub(crate) fn multipart_text(content_type: &str, body: &[u8], name: &str) -> Option<String> {
    let boundary = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })?;
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let closing = format!("\r\n{delimiter}");
    let mut rest = split_at_first(body, delimiter.as_bytes())?.1;
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let (head, after_head) = split_at_first(rest, b"\r\n\r\n")?;
        let (content, after) = split_at_first(after_head, closing.as_bytes())?;
        // A header that is not UTF-8 (a file name in GBK) is some other
        // part's: it neither names the field nor spoils the request.
        let named =
            std::str::from_utf8(head).is_ok_and(|head| head.lines().any(|l| names_field(l, name)));
        if named {
            return String::from_utf8(content.to_vec()).ok();
        }
        rest = after;
    }
}

/// What is before and what is after the first `needle` in `hay`.
fn split_at_first<'a>(hay: &'a [u8], needle: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = hay.windows(needle.len()).position(|w| w == needle)?;
    let (before, from) = hay.split_at_checked(at)?;
    Some((before, from.strip_prefix(needle)?))
}

/// Whether a part's header line is a Content-Disposition whose `name`
/// parameter is `name`. Parameters are split at `;` outside quotes, so a
/// file called `a; name="csrf"` does not pass for the field.
fn names_field(line: &str, name: &str) -> bool {
    let Some((key, value)) = line.trim().split_once(':') else {
        return false;
    };
    key.eq_ignore_ascii_case("content-disposition")
        && header_params(value).is_some_and(|ps| {
            ps.iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("name") && v == name)
        })
}

/// The `key=value` parameters after a header's first item, quoted values
/// unquoted (`\"` is a quote); `None` when a quote is left open.
fn header_params(value: &str) -> Option<Vec<(String, String)>> {
    let mut items = vec![String::new()];
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let item = items.last_mut()?;
        match c {
            '\\' if quoted => item.push(chars.next()?),
            '"' => {
                quoted = !quoted;
                item.push(c);
            }
            ';' if !quoted => items.push(String::new()),
            _ => item.push(c),
        }
    }
    if quoted {
        return None;
    }
    Some(
        items
            .iter()
            .skip(1)
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = match v.strip_prefix('"') {
                    Some(q) => q.strip_suffix('"')?,
                    None => v,
                };
                Some((k.trim().to_string(), v.to_string()))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_a_multipart_body_wherever_it_is() {
        let ct = "multipart/form-data; boundary=XyZ";
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"template\"; filename=\"t.docx\"\r\nContent-Type: application/octet-stream\r\n\r\nPK\x03\x04 name=\"csrf\"\r\n\r\nfake\r\n--XyZ\r\ncontent-disposition: form-data; name=\"csrf\"\r\n\r\nabc123\r\n--XyZ--\r\n";
        assert_eq!(multipart_text(ct, body, "csrf").as_deref(), Some("abc123"));
        assert_eq!(multipart_text(ct, body, "from"), None);
        let first =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n--XyZ--\r\n";
        assert_eq!(multipart_text(ct, first, "csrf").as_deref(), Some("t0k"));
        // A field merely ending in the name does not count.
        let other =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"xcsrf\"\r\n\r\nt0k\r\n--XyZ--\r\n";
        assert_eq!(multipart_text(ct, other, "csrf"), None);
        assert_eq!(multipart_text("multipart/form-data", first, "csrf"), None);
        assert_eq!(multipart_text(ct, b"garbage", "csrf"), None);
        assert_eq!(multipart_text(ct, b"--XyZ\r\nno end", "csrf"), None);
    }

    #[test]
    fn a_part_header_with_chinese_at_its_twentieth_byte_is_read_not_panicked_on() {
        let ct = "multipart/form-data; boundary=XyZ";
        // 'é' spans bytes 19 and 20 of the first header line; 文 spans
        // 18 to 20 of the second part's.
        let body = "--XyZ\r\nContent-Dispositioné: form-data; name=\"csrf\"\r\n\r\nno\r\n--XyZ\r\nContent-Dispositio文: form-data; name=\"from\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_text(ct, body.as_bytes(), "csrf").as_deref(),
            Some("t0k")
        );
    }

    #[test]
    fn a_semicolon_inside_a_quoted_file_name_does_not_name_the_field() {
        let ct = "multipart/form-data; boundary=XyZ";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"template\"; filename=\"a; name=\\\"csrf\\\"; 报告.docx\"\r\n\r\nPK\r\n--XyZ--\r\n";
        assert_eq!(multipart_text(ct, body.as_bytes(), "csrf"), None);
        // A header that is not UTF-8 is another part's, not a refusal.
        let mut gbk = b"--XyZ\r\nContent-Disposition: form-data; name=\"template\"; filename=\"\xb1\xa8\xb8\xe6.docx\"\r\n\r\nPK\r\n".to_vec();
        gbk.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n--XyZ--\r\n",
        );
        assert_eq!(multipart_text(ct, &gbk, "csrf").as_deref(), Some("t0k"));
    }

    #[test]
    fn a_boundary_longer_than_the_standard_allows_is_refused() {
        let long = "b".repeat(MAX_BOUNDARY + 1);
        let body = format!(
            "--{long}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n--{long}--\r\n"
        );
        let ct = format!("multipart/form-data; boundary={long}");
        assert_eq!(multipart_text(&ct, body.as_bytes(), "csrf"), None);
        let ok = &long[1..];
        let body = body.replace(&long, ok);
        let ct = format!("multipart/form-data; boundary=\"{ok}\"");
        assert_eq!(
            multipart_text(&ct, body.as_bytes(), "csrf").as_deref(),
            Some("t0k")
        );
    }

    mod properties {
        use super::super::multipart_text;
        use proptest::prelude::*;

        /// A part other than the token's: a name that is not `csrf`, a
        /// header that may hold Chinese or be no Content-Disposition at
        /// all, and any bytes as content.
        fn other_part() -> impl Strategy<Value = (String, Vec<u8>)> {
            let name = prop_oneof![
                Just("from"),
                Just("template"),
                Just("xcsrf"),
                Just("csrf2"),
                Just("CSRF"),
            ];
            let header = prop_oneof![
                name.clone()
                    .prop_map(|n| format!("Content-Disposition: form-data; name=\"{n}\"")),
                name.prop_map(|n| format!(
                    "content-disposition: form-data; name=\"{n}\"; filename=\"网站 报告; name=\\\"csrf\\\".docx\"\r\nContent-Type: application/octet-stream"
                )),
                Just("Content-Dispositioné: form-data; name=\"csrf\"".to_string()),
                Just("Content-Dispositio文: form-data; name=\"csrf\"".to_string()),
                Just("X-说明: 名字=\"csrf\"".to_string()),
                "[^\r\n]{0,40}".prop_map(|h| format!("Content-Disposition: form-data; name=\"from\"; x=\"{h}\"")),
            ];
            (header, proptest::collection::vec(any::<u8>(), 0..200))
        }

        /// A body of `others` with the token's part at `at`, and where
        /// that part's closing delimiter ends.
        fn body(
            boundary: &str,
            others: &[(String, Vec<u8>)],
            at: usize,
            token: &str,
        ) -> (Vec<u8>, usize) {
            let mut b = b"preamble\r\n".to_vec();
            let mut token_end = 0;
            for i in 0..=others.len() {
                if i == at {
                    b.extend_from_slice(
                        format!(
                            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
                        )
                        .as_bytes(),
                    );
                    token_end = b.len() + 2 + boundary.len();
                }
                if let Some((head, content)) = others.get(i) {
                    b.extend_from_slice(format!("--{boundary}\r\n{head}\r\n\r\n").as_bytes());
                    b.extend_from_slice(content);
                    b.extend_from_slice(b"\r\n");
                }
            }
            b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            (b, token_end)
        }

        fn contains(hay: &[u8], needle: &[u8]) -> bool {
            hay.windows(needle.len()).any(|w| w == needle)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_bytes_under_any_content_type_never_panic(
                ct in "(multipart/form-data; ?)?(boundary=)?[^\r\n]{0,80}",
                body in proptest::collection::vec(any::<u8>(), 0..600),
            ) {
                let _ = multipart_text(&ct, &body, "csrf");
                let _ = multipart_text("multipart/form-data; boundary=XyZ", &body, "csrf");
            }

            #[test]
            fn the_token_is_found_exactly_when_its_part_is_there_whole(
                boundary in "[A-Za-z0-9_-]{1,70}",
                quote in any::<bool>(),
                others in proptest::collection::vec(other_part(), 0..6),
                at in any::<prop::sample::Index>(),
                token in "[A-Za-z0-9_-]{0,64}",
                cut in any::<prop::sample::Index>(),
                spoil in any::<prop::sample::Index>(),
                how in 0..3u8,
            ) {
                let closing = format!("\r\n--{boundary}");
                prop_assume!(others.iter().all(|(_, c)| !contains(c, closing.as_bytes())));
                let at = at.index(others.len() + 1);
                let ct = if quote {
                    format!("multipart/form-data; boundary=\"{boundary}\"")
                } else {
                    format!("multipart/form-data; charset=utf-8; boundary={boundary}")
                };
                let (whole, token_end) = body(&boundary, &others, at, &token);
                prop_assert_eq!(multipart_text(&ct, &whole, "csrf"), Some(token.clone()));
                match how {
                    // Cut anywhere: found only if the part's end survived.
                    0 => {
                        let n = cut.index(whole.len() + 1);
                        let found = multipart_text(&ct, &whole[..n], "csrf");
                        let expected = (n >= token_end).then(|| token.clone());
                        prop_assert_eq!(found, expected, "cut at {} of {}", n, whole.len());
                    }
                    // One byte of the delimiter that opens the token's part
                    // spoiled: not found; of the one that closes it: the
                    // part runs on to the next, so its text is not the token.
                    1 => {
                        let mut b = whole.clone();
                        let closes = token_end - boundary.len() - 2;
                        let opens = {
                            let needle = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"");
                            b.windows(needle.len()).position(|w| w == needle.as_bytes()).unwrap()
                        };
                        let opening = spoil.index(2) == 0;
                        let i = if opening { opens } else { closes };
                        b[i + spoil.index(boundary.len() + 2)] = b'#';
                        let found = multipart_text(&ct, &b, "csrf");
                        if opening {
                            prop_assert_eq!(found, None);
                        } else {
                            prop_assert_ne!(found, Some(token.clone()));
                        }
                    }
                    // Another content type's boundary: not found.
                    _ => {
                        let other = format!("multipart/form-data; boundary={boundary}x");
                        prop_assert_eq!(multipart_text(&other, &whole, "csrf"), None);
                    }
                }
            }
        }
    }

    #[test]
    fn file_names_are_percent_encoded_utf8() {
        assert_eq!(rfc5987("a b.docx"), "a%20b.docx");
        assert_eq!(rfc5987("报"), "%E6%8A%A5");
        assert_eq!(rfc5987("2026-01-01至"), "2026-01-01%E8%87%B3");
    }
}
