//! 通知渠道: the channels incidents are announced on, a test button per
//! channel, and channels kept in the console (admins add and remove them).
//!
//! The effective channels are the config file's followed by the stored
//! ones, merged by `NotifyConfig::with_stored`. Secrets are write-only: the
//! page shows channels only through the notifier's masked summaries and
//! never puts a submitted secret back into a form.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use shouwang_notify::{
    ChannelConfig, ChannelKind, LEVELS, Notifier, NotifyConfig, STORED_CHANNELS_SETTING, Secret,
    SmtpTls,
};
use shouwang_store::NewAuditEntry;

use super::pages::respond;
use super::{AppError, AppState, Auth, blocking};
use crate::i18n::tr;

const KINDS: [ChannelKind; 5] = [
    ChannelKind::Wecom,
    ChannelKind::Dingtalk,
    ChannelKind::Feishu,
    ChannelKind::Email,
    ChannelKind::Webhook,
];

fn kind_label(k: ChannelKind, lang: &str) -> String {
    if lang == "en" {
        tr(lang, &format!("notify.kind.{}", k.as_str())).to_string()
    } else {
        k.label().to_string()
    }
}

/// The stored channels as they are kept (a JSON array), or none.
async fn stored(state: &AppState) -> Result<Vec<ChannelConfig>, AppError> {
    let v = state.db(|s| s.setting(STORED_CHANNELS_SETTING)).await?;
    decode_stored(v)
}

fn decode_stored(v: Option<serde_json::Value>) -> Result<Vec<ChannelConfig>, AppError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| AppError::Internal(format!("stored notify channels cannot be read: {e}"))),
    }
}

/// How many channels are configured, the config file's and the stored
/// ones (a stored list that cannot be read counts none of its own).
pub(crate) fn channel_count(state: &AppState, s: &dyn shouwang_store::Store) -> usize {
    let stored = s
        .setting(STORED_CHANNELS_SETTING)
        .ok()
        .and_then(|v| decode_stored(v).ok())
        .unwrap_or_default();
    effective(state, &stored).map_or(state.config.notify.channels.len(), |c| c.channels.len())
}

/// The config file's channels plus the stored ones.
fn effective(state: &AppState, stored: &[ChannelConfig]) -> Result<NotifyConfig, String> {
    let v = serde_json::to_value(stored).map_err(|e| e.to_string())?;
    state
        .config
        .notify
        .with_stored(Some(&v))
        .map_err(|e| e.to_string())
}

/// What the page may show after an action.
#[derive(Default)]
struct Outcome {
    /// A test send: channel, ok, error text.
    tested: Option<(String, bool, Option<String>)>,
    error: Option<String>,
    /// The add form as typed, secrets left out.
    form: serde_json::Value,
}

async fn page(
    state: &AppState,
    auth: &Auth,
    done: Option<String>,
    o: Outcome,
) -> Result<Response, AppError> {
    let lang = auth.lang.as_str();
    let stored = stored(state).await?;
    let stored_names: Vec<String> = stored.iter().map(|c| c.name.clone()).collect();
    let (channels, config_error) = match effective(state, &stored)
        .and_then(|c| Notifier::new(&c).map_err(|e| e.to_string()))
    {
        Ok(n) => (n.channels(), None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let rows: Vec<serde_json::Value> = channels
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "kind": c.kind.as_str(),
                "kind_label": kind_label(c.kind, lang),
                "target": c.target,
                "enabled": c.enabled,
                "min_level": c.min_level,
                "per_minute": c.per_minute,
                "stored": stored_names.contains(&c.name),
            })
        })
        .collect();
    let kinds: Vec<serde_json::Value> = KINDS
        .iter()
        .map(|k| serde_json::json!({ "value": k.as_str(), "label": kind_label(*k, lang) }))
        .collect();
    let status = if o.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let ctx = serde_json::json!({
        "nav": "notify",
        "channels": rows,
        "kinds": kinds,
        "levels": LEVELS,
        "config_error": config_error,
        "tested": o.tested.map(|(name, ok, error)| serde_json::json!({ "name": name, "ok": ok, "error": error })),
        "error": o.error,
        "form": if o.form.is_null() { serde_json::json!({}) } else { o.form },
        "done": done.map(|d| tr(lang, &format!("notify.done.{d}")).to_string()),
    });
    Ok(state
        .renderer
        .page_with_status("notify.html", lang, Some(auth), ctx, status))
}

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    done: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageQuery>,
) -> Response {
    let done = q.done.filter(|d| matches!(d.as_str(), "added" | "removed"));
    let r = page(&state, &auth, done, Outcome::default()).await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct TestForm {
    name: String,
}

/// Send a test notice over one channel and show what became of it.
pub(crate) async fn test(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<TestForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let stored = stored(&state).await?;
        let config = effective(&state, &stored).map_err(AppError::BadRequest)?;
        let notifier = Notifier::new(&config).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let delivery = notifier
            .send_test(&f.name)
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let (ok, error) = (delivery.is_ok(), delivery.error().map(str::to_string));
        let actor = auth.actor();
        let target = f.name.clone();
        let details = serde_json::json!({
            "ok": ok, "error": error, "attempts": delivery.attempts,
            "elapsed_ms": delivery.elapsed.as_millis() as u64,
        });
        state
            .audit(NewAuditEntry::new(actor, "notify.test", target, details))
            .await?;
        page(
            &state,
            &auth,
            None,
            Outcome {
                tested: Some((f.name, ok, error)),
                ..Outcome::default()
            },
        )
        .await
    }
    .await;
    respond(&state, &auth, r)
}

/// The add form. Secret fields are never sent back to the page.
#[derive(Deserialize, Serialize, Default)]
pub(crate) struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default, skip_serializing)]
    token: String,
    #[serde(default, skip_serializing)]
    secret: String,
    #[serde(default)]
    min_level: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    tls: String,
    #[serde(default)]
    username: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn secret(s: &str) -> Option<Secret> {
    opt(s).map(Secret::new)
}

/// The channel the form describes: only the fields its kind uses are kept,
/// so a field left filled in for another kind does no harm.
fn channel_of(f: &AddForm) -> Result<ChannelConfig, String> {
    let kind = KINDS
        .into_iter()
        .find(|k| k.as_str() == f.kind)
        .ok_or_else(|| format!("unknown channel kind \"{}\"", f.kind))?;
    let mut c = ChannelConfig::new(f.name.trim(), kind);
    c.enabled = f.enabled.is_some();
    c.min_level = opt(&f.min_level);
    match kind {
        ChannelKind::Wecom => {
            c.url = opt(&f.url);
            c.key = secret(&f.token);
        }
        ChannelKind::Dingtalk | ChannelKind::Feishu => {
            c.url = opt(&f.url);
            c.token = secret(&f.token);
            c.secret = secret(&f.secret);
        }
        ChannelKind::Webhook => {
            c.url = opt(&f.url);
            c.secret = secret(&f.secret);
        }
        ChannelKind::Email => {
            c.smtp_host = opt(&f.smtp_host);
            c.smtp_port = match opt(&f.smtp_port) {
                Some(p) => Some(
                    p.parse()
                        .map_err(|_| format!("smtp_port \"{p}\" is not a port number"))?,
                ),
                None => None,
            };
            c.tls = match f.tls.trim() {
                "" | "starttls" => None,
                "tls" => Some(SmtpTls::Tls),
                "plain" => Some(SmtpTls::Plain),
                other => return Err(format!("tls \"{other}\": use starttls, tls or plain")),
            };
            c.username = opt(&f.username);
            c.password = secret(&f.password);
            c.from = opt(&f.from);
            c.to = f.to.split([',', '，', ';', '\n']).filter_map(opt).collect();
        }
    }
    Ok(c)
}

/// `https://host:port` of an address: a webhook's path or query may hold
/// a token, and a `user:password@` before the host a password, neither of
/// which the audit log may keep.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    let authority = &url[after_scheme..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{}{host}", &url[..after_scheme])
}

/// A change to the console's channels.
enum Edit {
    Add(Box<ChannelConfig>),
    Remove(String),
}

/// Apply `edit` to the console's channels as they are stored now, with the
/// entry that says who changed what, in one transaction: two admins adding
/// channels at once both keep theirs.
async fn save(state: &AppState, edit: Edit, entry: NewAuditEntry) -> Result<(), AppError> {
    let store = state.store.clone();
    blocking(move || {
            store.audited(|tx| {
                let mut channels = decode_stored(tx.setting(STORED_CHANNELS_SETTING)?)?;
                match edit {
                    Edit::Add(c) => {
                        if channels.iter().any(|s| s.name == c.name) {
                            return Err(AppError::BadRequest(format!(
                                "notify channel \"{}\": name is used by two channels; names must differ",
                                c.name
                            )));
                        }
                        channels.push(*c);
                    }
                    Edit::Remove(name) => channels.retain(|c| c.name != name),
                }
                let v = serde_json::to_value(&channels)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                tx.set_setting(STORED_CHANNELS_SETTING, &v)?;
                tx.audit(&entry)?;
                Ok(())
            })
        })
        .await?
}

pub(crate) async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<AddForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let mut channels = stored(&state).await?;
        let refused = |msg: String| Outcome {
            error: Some(msg),
            form: serde_json::to_value(&f).unwrap_or_default(),
            ..Outcome::default()
        };
        let c = match channel_of(&f) {
            Ok(c) => c,
            Err(msg) => return page(&state, &auth, None, refused(msg)).await,
        };
        if channels.iter().any(|s| s.name == c.name) {
            let msg = format!(
                "notify channel \"{}\": name is used by two channels; names must differ",
                c.name
            );
            return page(&state, &auth, None, refused(msg)).await;
        }
        channels.push(c.clone());
        if let Err(msg) = effective(&state, &channels) {
            return page(&state, &auth, None, refused(msg)).await;
        }
        let details = serde_json::json!({
            "kind": c.kind.as_str(), "enabled": c.enabled, "min_level": c.min_level,
            "url": c.url.as_deref().map(origin), "smtp_host": c.smtp_host, "to": c.to,
        });
        let entry = NewAuditEntry::new(auth.actor(), "notify.channel.add", c.name.clone(), details);
        save(&state, Edit::Add(Box::new(c)), entry).await?;
        Ok(Redirect::to("/notify?done=added").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    name: String,
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<RemoveForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let mut channels = stored(&state).await?;
        let before = channels.len();
        channels.retain(|c| c.name != f.name);
        if channels.len() == before {
            // A config-file channel, or none at all: not the console's to remove.
            return Err(AppError::BadRequest(
                tr(&auth.lang, "notify.err.not_stored").to_string(),
            ));
        }
        let entry = NewAuditEntry::new(
            auth.actor(),
            "notify.channel.remove",
            f.name.clone(),
            serde_json::json!({}),
        );
        save(&state, Edit::Remove(f.name.clone()), entry).await?;
        Ok(Redirect::to("/notify?done=removed").into_response())
    }
    .await;
    respond(&state, &auth, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audited_origin_of_an_address_keeps_no_credentials_or_path() {
        assert_eq!(
            origin("https://bot:s3cret@hooks.example:8443/x/TOKEN?k=v"),
            "https://hooks.example:8443"
        );
        assert_eq!(origin("http://127.0.0.1:9/hook"), "http://127.0.0.1:9");
    }

    #[test]
    fn audited_addresses_keep_only_the_origin() {
        assert_eq!(
            origin("https://hooks.example.com:8443/T0KEN/x?sig=1"),
            "https://hooks.example.com:8443"
        );
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn a_form_keeps_only_its_kinds_fields() {
        let f = AddForm {
            name: "ops".into(),
            kind: "wecom".into(),
            token: "k".into(),
            secret: "stray".into(),
            smtp_host: "smtp.example.com".into(),
            enabled: Some("1".into()),
            ..AddForm::default()
        };
        let c = channel_of(&f).unwrap();
        assert_eq!(c.key.as_ref().map(Secret::expose), Some("k"));
        assert!(c.secret.is_none() && c.smtp_host.is_none() && c.enabled);
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("stray") && !json.contains("\"k\""), "{json}");
    }
}
