//! Who is asking: sessions and API tokens, CSRF, login, logout, password.

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Deserialize;
use shouwang_store::{
    LoginFailures, NewAuditEntry, Session, Store, StoreError, TokenScope, User, UserChange,
};

use super::{AppError, AppState};
use crate::accounts::{self, AccountError};
use crate::i18n::tr;

pub(crate) const SESSION_COOKIE: &str = "sw_session";
const PRELOGIN_COOKIE: &str = "sw_prelogin";
const LANG_COOKIE: &str = "sw_lang";
/// The form field and header that carry the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
const CSRF_HEADER: &str = "x-csrf-token";
/// Bodies of state-changing requests are read to find the CSRF token; no
/// console form comes near this.
const MAX_FORM_BYTES: usize = 1 << 20;

/// The language of this request: `zh` or `en`.
#[derive(Clone, Debug)]
pub(crate) struct Lang(pub String);

/// An authenticated person.
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    pub user: User,
    /// Set for a console login; `None` for an API token.
    pub session: Option<Session>,
    /// What the API token may do; `None` for a console login.
    pub scope: Option<TokenScope>,
    pub lang: String,
    /// The path and query of this request, to come back to after switching
    /// language.
    pub path: String,
}

impl Auth {
    pub fn csrf(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or("")
    }

    /// May this person change findings and run actions? The role decides,
    /// and a token's scope narrows it.
    pub fn can_operate(&self) -> bool {
        self.user.role.can_operate() && self.scope.is_none_or(|s| s >= TokenScope::Operate)
    }

    /// May this person manage users and tokens?
    pub fn can_admin(&self) -> bool {
        self.user.role.can_admin() && self.scope.is_none_or(|s| s == TokenScope::Admin)
    }

    pub fn require_operator(&self) -> Result<(), AppError> {
        if self.can_operate() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.can_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The actor name recorded in the audit log.
    pub fn actor(&self) -> String {
        self.user.name.clone()
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are hex or fixed names")
}

/// Compare secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn api_error(status: StatusCode, msg: &str) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

/// An API refusal a person will read: the Chinese beside the English.
fn api_error_zh(status: StatusCode, msg: &str, zh: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": msg, "error_zh": zh })),
    )
        .into_response()
}

/// What an API token presented with a request turned out to be.
enum TokenCheck {
    Valid(User, TokenScope),
    Unknown,
    Expired(DateTime<Utc>),
    MustChangePassword(String),
}

/// The person behind a request: an API token's owner, a live session's
/// user, or nobody; a refusal when the token is unknown or the store fails.
async fn who(
    state: &AppState,
    bearer: Option<String>,
    session_id: Option<String>,
    lang: String,
    path: String,
) -> Result<Option<Auth>, Response> {
    if let Some(token) = bearer {
        let hash = accounts::token_hash(&token);
        let found = state
            .db(move |s| {
                let Some(tok) = s.api_token(&hash)? else {
                    return Ok(TokenCheck::Unknown);
                };
                let now = Utc::now();
                if tok.expires_at <= now {
                    return Ok(TokenCheck::Expired(tok.expires_at));
                }
                let Some(user) = s.user(tok.user_id)?.filter(|u| !u.disabled) else {
                    return Ok(TokenCheck::Unknown);
                };
                if user.must_change_password {
                    return Ok(TokenCheck::MustChangePassword(user.name));
                }
                // Last use is kept to the minute: a write per request is
                // not worth it.
                if tok
                    .last_used_at
                    .is_none_or(|t| now - t > Duration::minutes(1))
                {
                    s.touch_api_token(tok.id, now)?;
                }
                Ok(TokenCheck::Valid(user, tok.scope))
            })
            .await;
        match found {
            Ok(TokenCheck::Valid(user, scope)) => Ok(Some(Auth {
                user,
                session: None,
                scope: Some(scope),
                lang,
                path,
            })),
            Ok(TokenCheck::Unknown) => {
                Err(api_error(StatusCode::UNAUTHORIZED, "invalid API token"))
            }
            Ok(TokenCheck::Expired(at)) => Err(api_error_zh(
                StatusCode::UNAUTHORIZED,
                &format!("the API token expired at {at}; ask an administrator for a new one"),
                &format!(
                    "API令牌已于 {}（北京时间）过期，请管理员重新生成",
                    shouwang_model::beijing_minutes(at)
                ),
            )),
            Ok(TokenCheck::MustChangePassword(name)) => Err(api_error_zh(
                StatusCode::FORBIDDEN,
                &format!(
                    "{name} must change their password in the console before their API tokens work"
                ),
                &format!("用户 {name} 须先在控制台修改密码，其API令牌才能使用"),
            )),
            Err(e) => Err(api_error(e.status(), &e.public_message("en"))),
        }
    } else if let Some(id) = session_id {
        let hash = accounts::token_hash(&id);
        let found = state
            .db(move |s| {
                let Some(session) = s.session(&hash)? else {
                    return Ok(None);
                };
                if session.expires_at <= Utc::now() {
                    s.delete_session(&session.id_hash)?;
                    return Ok(None);
                }
                Ok(s.user(session.user_id)?
                    .filter(|u| !u.disabled)
                    .map(|u| (u, session)))
            })
            .await;
        match found {
            Ok(Some((user, session))) => Ok(Some(Auth {
                user,
                session: Some(session),
                scope: None,
                lang,
                path,
            })),
            Ok(None) => Ok(None),
            Err(e) => Err((e.status(), e.public_message(&lang)).into_response()),
        }
    } else {
        Ok(None)
    }
}

/// A state-changing request of a login session, its body read (within its
/// limit) and given back once the session's CSRF token is found in the
/// `X-CSRF-Token` header or the form; a refusal page otherwise.
async fn with_csrf_checked(
    state: &AppState,
    auth: &Auth,
    session: &Session,
    req: Request,
) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    // An upload (a report template) is multipart and larger.
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let limit = if multipart {
        super::reports::MAX_UPLOAD_BYTES
    } else {
        MAX_FORM_BYTES
    };
    // Read no further than the limit, and say what it is.
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        if is_api(parts.uri.path()) {
            let m = format!("request too large (at most {} MB)", limit >> 20);
            return Err(api_error(StatusCode::PAYLOAD_TOO_LARGE, &m));
        }
        let m = format!("{} {} MB", tr(&auth.lang, "error.too_large"), limit >> 20);
        return Err(state
            .renderer
            .message_page(auth, StatusCode::PAYLOAD_TOO_LARGE, &m));
    };
    let from_header = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_form = if multipart {
        parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| super::reports::multipart_text(ct, &bytes, CSRF_FIELD))
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|fields| {
                fields
                    .into_iter()
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v)
            })
    };
    let presented = from_header.or(from_form).unwrap_or_default();
    if !same_secret(&presented, &session.csrf_token) {
        state
            .metrics
            .csrf_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(user = %auth.user.name, path = %parts.uri.path(), "refused a request without a valid CSRF token");
        if is_api(parts.uri.path()) {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "missing or invalid CSRF token (send X-CSRF-Token)",
            ));
        }
        return Err(state.renderer.message_page(
            auth,
            StatusCode::FORBIDDEN,
            tr(&auth.lang, "error.csrf"),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Resolve the person behind a request, and refuse state-changing requests
/// from a login session that do not carry its CSRF token.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let lang = match cookie(headers, LANG_COOKIE) {
        Some("en") => "en".to_string(),
        Some("zh") => "zh".to_string(),
        _ => state.config.language.clone(),
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let session_id = cookie(headers, SESSION_COOKIE).map(str::to_owned);
    req.extensions_mut().insert(Lang(lang.clone()));
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());

    let auth = match who(&state, bearer, session_id, lang, path).await {
        Ok(auth) => auth,
        Err(refused) => return refused,
    };

    if let Some(auth) = &auth {
        // The login form carries its own double-submit token (checked in
        // `login`), since it is posted before there is a session.
        let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
            && req.uri().path() != "/login";
        if changes_state && auth.scope == Some(TokenScope::Read) {
            return api_error_zh(
                StatusCode::FORBIDDEN,
                "this API token may only read (scope read)",
                "该API令牌只能读取，不能修改",
            );
        }
        if changes_state && let Some(session) = &auth.session {
            req = match with_csrf_checked(&state, auth, session, req).await {
                Ok(req) => req,
                Err(refused) => return refused,
            };
        }
        // Someone with a one-time password sets their own before anything else.
        let path = req.uri().path();
        let allowed = path == "/account/password"
            || path == "/logout"
            || path.starts_with("/static/")
            || path.starts_with("/lang/");
        if auth.user.must_change_password && auth.session.is_some() && !allowed {
            return Redirect::to("/account/password").into_response();
        }
    }
    if let Some(auth) = auth {
        req.extensions_mut().insert(auth);
    }
    next.run(req).await
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let path = parts.uri.path();
        if is_api(path) {
            return Err(api_error(
                StatusCode::UNAUTHORIZED,
                "log in or send Authorization: Bearer <token>",
            ));
        }
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target = format!("/login?next={}", urlencode(next));
        Err(Redirect::to(&target).into_response())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Lang>()
            .cloned()
            .unwrap_or(Lang("zh".into())))
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_string())
        .unwrap_or_default()
}

/// Only local paths are followed after login or a change of language, so a
/// crafted link cannot send someone to another site. A path must start
/// with one `/` and hold only visible ASCII: browsers drop tabs and
/// newlines inside a URL (`/\t/host` is `//host` to them) and read a
/// backslash as a slash, and anything else cannot stand in a Location
/// header.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with('/')
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    auth: Option<axum::Extension<Auth>>,
    Query(q): Query<NextQuery>,
) -> Response {
    if auth.is_some() {
        return Redirect::to(safe_next(q.next.as_deref())).into_response();
    }
    login_form(&state, &lang, q.next.as_deref(), None, StatusCode::OK)
}

fn login_form(
    state: &AppState,
    lang: &str,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // Login has no session yet, so its CSRF token is a double-submit cookie.
    let token = random_hex();
    let mut res = state.renderer.page_with_status(
        "login.html",
        lang,
        None,
        serde_json::json!({ "csrf": token, "next": safe_next(next), "error": error }),
        status,
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, PRELOGIN_COOKIE, &token, 1800),
    );
    res
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

enum LoginOutcome {
    Ok(User),
    /// Refused; this many tries are left before the name is locked.
    Failed {
        left: i64,
    },
    Locked {
        until: DateTime<Utc>,
    },
}

/// A count of failures this old, with no lock running, starts afresh.
const FAILURES_FORGOTTEN_AFTER_HOURS: i64 = 24;

/// The failures that still count against a name now, and its lock if one
/// is running: a lock that ran out or failures a day old start the count
/// afresh.
fn standing(counted: Option<&LoginFailures>, now: DateTime<Utc>) -> (i64, Option<DateTime<Utc>>) {
    match counted {
        Some(f) if f.locked_until.is_some_and(|t| t > now) => (f.failures, f.locked_until),
        Some(f)
            if f.locked_until.is_none()
                && f.last_failed_at > now - Duration::hours(FAILURES_FORGOTTEN_AFTER_HOURS) =>
        {
            (f.failures, None)
        }
        _ => (0, None),
    }
}

/// What the login page says to a refusal: tries left, or how long the lock
/// lasts. It depends only on the name's count, never on whether an account
/// of that name exists.
fn refusal_message(lang: &str, outcome: &LoginOutcome, lockout_minutes: i64) -> String {
    match outcome {
        LoginOutcome::Failed { left } => tr(lang, "login.failed_left")
            .replace("{n}", &left.to_string())
            .replace("{m}", &lockout_minutes.to_string()),
        LoginOutcome::Locked { until } => {
            let secs = (*until - Utc::now()).num_seconds().max(1);
            let minutes = (secs + 59) / 60;
            tr(lang, "login.locked").replace("{m}", &minutes.to_string())
        }
        LoginOutcome::Ok(_) => String::new(),
    }
}

pub(crate) async fn login(
    State(state): State<AppState>,
    Lang(lang): Lang,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    // The address the connection came from (never a header a client can
    // write): the audit log names it beside every login and failure.
    let ip = peer.map(|p| p.0.0.ip());
    let expected = cookie(&headers, PRELOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(&form.csrf, expected) {
        state
            .metrics
            .csrf_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return login_form(
            &state,
            &lang,
            form.next.as_deref(),
            Some(tr(&lang, "error.csrf")),
            StatusCode::FORBIDDEN,
        );
    }
    let max_failed = i64::from(state.config.max_failed_logins.max(1));
    let lockout_minutes = i64::from(state.config.lockout_minutes);
    // No account name is longer than 64 characters; a longer one is kept
    // to 65, still unknown, so a megabyte of name does not reach the audit
    // log.
    let name: String = form.username.trim().chars().take(65).collect();
    let password = form.password;
    let store = state.store.clone();
    // The whole check runs in the hashing pool: a burst of logins beyond
    // it is answered 429 at once instead of holding 19 MiB each.
    let outcome = state
        .hashing
        .run(move || judge_login(&*store, &name, &password, ip, max_failed, lockout_minutes))
        .await
        .and_then(|r| r.map_err(AppError::from));
    let user = match outcome {
        Ok(LoginOutcome::Ok(user)) => user,
        Ok(refused) => {
            state
                .metrics
                .logins_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let status = if matches!(refused, LoginOutcome::Locked { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let message = refusal_message(&lang, &refused, lockout_minutes);
            return login_form(&state, &lang, form.next.as_deref(), Some(&message), status);
        }
        Err(AppError::Busy) => {
            let mut res = login_form(
                &state,
                &lang,
                form.next.as_deref(),
                Some(tr(&lang, "error.busy")),
                StatusCode::TOO_MANY_REQUESTS,
            );
            super::with_retry_after(&AppError::Busy, &mut res);
            return res;
        }
        Err(e) => return state.renderer.error_page(None, &lang, e),
    };
    state
        .metrics
        .logins_ok
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A fresh session id at every login: a session id planted before login
    // (session fixation) is worthless afterwards.
    let old = cookie(&headers, SESSION_COOKIE).map(accounts::token_hash);
    match start_session(&state, user.id, old).await {
        Ok(cookie) => {
            let mut res = Redirect::to(safe_next(form.next.as_deref())).into_response();
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, PRELOGIN_COOKIE, "", 0),
            );
            res
        }
        Err(e) => state.renderer.error_page(None, &lang, e),
    }
}

/// Check a login and count it, in the store's audited transaction. Every
/// submitted name, an account's or not, has its own count, countdown and
/// lock, and the password is verified (against a dummy hash for an unknown
/// name) whatever the count says, so neither the answer nor its time tells
/// which accounts exist.
fn judge_login(
    s: &dyn Store,
    name: &str,
    password: &str,
    ip: Option<std::net::IpAddr>,
    max_failed: i64,
    lockout_minutes: i64,
) -> Result<LoginOutcome, StoreError> {
    let user = s.user_by_name(name)?;
    // The password is checked before the transaction: hashing is slow, and
    // an audited transaction holds the audit log's head.
    let password_ok = match &user {
        None => {
            accounts::verify_password(password, accounts::dummy_hash());
            false
        }
        Some(u) => accounts::verify_password(password, &u.password_hash),
    };
    let key = accounts::login_key(name);
    s.audited(|tx| {
        // Judge on the count as it stands now: the audited transaction runs
        // one at a time, so a burst of parallel guesses counts up one by one
        // and locks at the limit, and a password reset or a disabling made
        // during the hash wins.
        let now = Utc::now();
        let counted = tx.login_failures(&key)?;
        let (failures, lock) = standing(counted.as_ref(), now);
        let fresh = tx.user_by_name(name)?;
        let mut audit = |action: &str, facts: serde_json::Value| {
            tx.audit(&NewAuditEntry::new(
                name,
                action,
                name,
                with_address(facts, ip),
            ))
            .map(drop)
        };
        if let Some(until) = lock {
            audit(
                "user.login.locked",
                serde_json::json!({ "locked_until": until }),
            )?;
            return Ok(LoginOutcome::Locked { until });
        }
        let checked = user.map(|u| (u.id, u.password_hash));
        let password_ok = password_ok
            && checked.is_some_and(|(id, hash)| {
                fresh
                    .as_ref()
                    .is_some_and(|u| id == u.id && hash == u.password_hash)
            });
        let fresh = match fresh {
            Some(u) if password_ok && !u.disabled => u,
            fresh => {
                let failures = failures + 1;
                let lock =
                    (failures >= max_failed).then(|| now + Duration::minutes(lockout_minutes));
                let reason = match &fresh {
                    None => "unknown user",
                    Some(u) if u.disabled => "disabled",
                    Some(_) => "wrong password",
                };
                audit(
                    "user.login.failed",
                    serde_json::json!({ "reason": reason, "failures": failures }),
                )?;
                if let Some(until) = lock {
                    audit("user.lockout", serde_json::json!({ "until": until }))?;
                }
                tx.set_login_failures(
                    &key,
                    Some(&LoginFailures {
                        failures,
                        locked_until: lock,
                        last_failed_at: now,
                    }),
                )?;
                if let Some(u) = fresh {
                    // The users page and `user list` show the lock.
                    tx.update_user(u.id, &UserChange::LoginFailed { locked_until: lock })?;
                }
                return Ok(match lock {
                    Some(until) => LoginOutcome::Locked { until },
                    None => LoginOutcome::Failed {
                        left: max_failed - failures,
                    },
                });
            }
        };
        audit("user.login", serde_json::Value::Null)?;
        if counted.is_some() {
            tx.set_login_failures(&key, None)?;
        }
        let user = tx.update_user(fresh.id, &UserChange::LoginSucceeded)?;
        Ok(LoginOutcome::Ok(user))
    })
}

/// An audit entry's facts with the address the login came from, as `ip`.
fn with_address(facts: serde_json::Value, ip: Option<std::net::IpAddr>) -> serde_json::Value {
    let mut map = match facts {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(ip) = ip {
        map.insert("ip".into(), ip.to_string().into());
    }
    serde_json::Value::Object(map)
}

/// Create a session for `user_id`, dropping `replaces` if given; returns the
/// Set-Cookie header that carries it.
async fn start_session(
    state: &AppState,
    user_id: i64,
    replaces: Option<String>,
) -> Result<HeaderValue, AppError> {
    let id = random_hex();
    let hours = i64::from(state.config.session_hours.max(1));
    let now = Utc::now();
    let session = Session {
        id_hash: accounts::token_hash(&id),
        user_id,
        csrf_token: random_hex(),
        created_at: now,
        expires_at: now + Duration::hours(hours),
    };
    state
        .db(move |s| {
            if let Some(old) = replaces {
                s.delete_session(&old)?;
            }
            s.create_session(&session)
        })
        .await?;
    Ok(set_cookie(state, SESSION_COOKIE, &id, hours * 3600))
}

pub(crate) async fn logout(State(state): State<AppState>, auth: Auth) -> Response {
    if let Some(session) = auth.session.clone() {
        let name = auth.actor();
        let _ = state
            .db(move |s| {
                s.delete_session(&session.id_hash)?;
                s.record_action(&NewAuditEntry::new(
                    &name,
                    "user.logout",
                    &name,
                    serde_json::Value::Null,
                ))
            })
            .await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    res
}

pub(crate) async fn set_language(
    State(state): State<AppState>,
    Path(lang): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let mut res = Redirect::to(safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, LANG_COOKIE, lang, 365 * 24 * 3600),
    );
    res
}

pub(crate) async fn password_page(State(state): State<AppState>, auth: Auth) -> Response {
    password_form(&state, &auth, None, StatusCode::OK)
}

fn password_form(
    state: &AppState,
    auth: &Auth,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    state.renderer.page_with_status(
        "password.html",
        &auth.lang,
        Some(auth),
        serde_json::json!({ "error": error, "must": auth.user.must_change_password }),
        status,
    )
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<PasswordForm>,
) -> Response {
    if auth.session.is_none() {
        return state
            .renderer
            .error_page(Some(&auth), &auth.lang, AppError::Forbidden);
    }
    if form.new != form.confirm {
        return password_form(
            &state,
            &auth,
            Some(tr(&auth.lang, "password.mismatch").into()),
            StatusCode::BAD_REQUEST,
        );
    }
    let user = auth.user.clone();
    let result = state
        .accounts(move |s| {
            if !accounts::verify_password(&form.current, &user.password_hash) {
                return Ok(None);
            }
            accounts::set_password(s, &user.name, &user.name, &form.new, false).map(Some)
        })
        .await;
    match result {
        Ok(Ok(Some(user))) => {
            // set_password ended every session of this user; start a new one
            // here so that changing one's password does not log one out.
            match start_session(&state, user.id, None).await {
                Ok(cookie) => {
                    let mut res = Redirect::to("/").into_response();
                    res.headers_mut().append(header::SET_COOKIE, cookie);
                    res
                }
                Err(e) => state.renderer.error_page(Some(&auth), &auth.lang, e),
            }
        }
        Ok(Ok(None)) => password_form(
            &state,
            &auth,
            Some(tr(&auth.lang, "password.wrong").into()),
            StatusCode::BAD_REQUEST,
        ),
        Ok(Err(AccountError::WeakPassword(why))) => password_form(
            &state,
            &auth,
            Some(weak_password_message(&auth.lang, why)),
            StatusCode::BAD_REQUEST,
        ),
        Ok(Err(e)) => {
            state
                .renderer
                .error_page(Some(&auth), &auth.lang, AppError::Internal(e.to_string()))
        }
        Err(e) => state.renderer.error_page(Some(&auth), &auth.lang, e),
    }
}

/// What is wrong with this password, then what the policy asks, in the
/// page's language.
pub(crate) fn weak_password_message(lang: &str, why: accounts::Weakness) -> String {
    if lang == "en" {
        format!(
            "The password is too weak: {}. {}",
            why.en(),
            tr(lang, "password.policy")
        )
    } else {
        format!("{}。{}", why.zh(), tr(lang, "password.policy"))
    }
}
