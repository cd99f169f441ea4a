//! User management, for administrators.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use shouwang_model::beijing_minutes;
use shouwang_store::{Role, TokenScope};

use super::pages::fmt_time;
use super::{AppError, AppState, Auth};
use crate::accounts::{self, AccountError};
use crate::i18n::tr;

async fn render(
    state: &AppState,
    auth: &Auth,
    once: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (users, tokens) = match state.db(|s| Ok((s.users()?, s.api_tokens(None)?))).await {
        Ok(u) => u,
        Err(e) => return state.renderer.error_page(Some(auth), &auth.lang, e),
    };
    let now = Utc::now();
    let owner = |id: i64| users.iter().find(|u| u.id == id).map(|u| u.name.clone());
    let token_rows: Vec<_> = tokens
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "user": owner(t.user_id).unwrap_or_default(),
                "label": t.name,
                "scope": t.scope.as_str(),
                "created_at": beijing_minutes(t.created_at),
                "last_used_at": t.last_used_at.map(beijing_minutes),
                "expires_at": beijing_minutes(t.expires_at),
                "expired": t.expires_at <= now,
            })
        })
        .collect();
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            serde_json::json!({
                "name": u.name,
                "role": u.role.as_str(),
                "disabled": u.disabled,
                "locked": u.locked_until.is_some_and(|t| t > now),
                "locked_until": u.locked_until.filter(|t| *t > now).map(beijing_minutes),
                "must_change": u.must_change_password,
                "created_at": fmt_time(u.created_at),
                "is_self": u.id == auth.user.id,
            })
        })
        .collect();
    let roles: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
    state.renderer.page_with_status(
        "users.html",
        &auth.lang,
        Some(auth),
        serde_json::json!({
            "nav": "users",
            "users": rows,
            "roles": roles,
            "tokens": token_rows,
            "scopes": TokenScope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "token_days": accounts::TOKEN_DAYS_DEFAULT,
            "token_days_max": accounts::TOKEN_DAYS_MAX,
            "once": once.map(|(label, secret)| serde_json::json!({ "label": label, "secret": secret })),
            "error": error,
        }),
        status,
    )
}

pub(crate) async fn list(State(state): State<AppState>, auth: Auth) -> Response {
    if let Err(e) = auth.require_admin() {
        return state.renderer.error_page(Some(&auth), &auth.lang, e);
    }
    render(&state, &auth, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

/// Show the outcome of an account action: a secret to copy once, or why it
/// was refused.
async fn outcome(
    state: &AppState,
    auth: &Auth,
    result: Result<Result<Option<(String, String)>, AccountError>, AppError>,
) -> Response {
    match result {
        Ok(Ok(once)) => render(state, auth, once, None, StatusCode::OK).await,
        Ok(Err(AccountError::Store(e))) => {
            state.renderer.error_page(Some(auth), &auth.lang, e.into())
        }
        Ok(Err(AccountError::WeakPassword(why))) => {
            let message = super::auth::weak_password_message(&auth.lang, why);
            render(state, auth, None, Some(message), StatusCode::BAD_REQUEST).await
        }
        Ok(Err(e)) => {
            render(
                state,
                auth,
                None,
                Some(e.text(&auth.lang)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => state.renderer.error_page(Some(auth), &auth.lang, e),
    }
}

pub(crate) async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<AddForm>,
) -> Response {
    if let Err(e) = auth.require_admin() {
        return state.renderer.error_page(Some(&auth), &auth.lang, e);
    }
    let Ok(role) = form.role.parse::<Role>() else {
        return render(
            &state,
            &auth,
            None,
            Some(format!(
                "{} {:?}",
                tr(&auth.lang, "users.bad_role"),
                form.role
            )),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let actor = auth.actor();
    let lang = auth.lang.clone();
    let result = state
        .accounts(move |s| {
            let generated = form.password.is_empty();
            let password = if generated {
                accounts::generate_password()
            } else {
                form.password
            };
            accounts::add_user(s, &actor, form.name.trim(), role, &password, generated)?;
            Ok(generated.then(|| {
                (
                    format!("{} {}", tr(&lang, "login.password"), form.name.trim()),
                    password,
                )
            }))
        })
        .await;
    outcome(&state, &auth, result).await
}

pub(crate) async fn act(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    if let Err(e) = auth.require_admin() {
        return state.renderer.error_page(Some(&auth), &auth.lang, e);
    }
    if name == auth.user.name && action == "disable" {
        // An administrator who disables themself can lock everyone out.
        return render(
            &state,
            &auth,
            None,
            Some(tr(&auth.lang, "error.forbidden").into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let actor = auth.actor();
    let lang = auth.lang.clone();
    let result = state
        .accounts(move |s| match action.as_str() {
            "disable" => accounts::set_disabled(s, &actor, &name, true).map(|_| None),
            "enable" => accounts::set_disabled(s, &actor, &name, false).map(|_| None),
            "unlock" => accounts::unlock(s, &actor, &name).map(|_| None),
            "passwd" => {
                let password = accounts::generate_password();
                accounts::set_password(s, &actor, &name, &password, true)?;
                Ok(Some((
                    format!("{} {name}", tr(&lang, "login.password")),
                    password,
                )))
            }
            _ => Err(AccountError::NoSuchUser(String::new())),
        })
        .await;
    outcome(&state, &auth, result).await
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    user: String,
    #[serde(default)]
    label: String,
    scope: String,
    days: u32,
}

pub(crate) async fn add_token(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(e) = auth.require_admin() {
        return state.renderer.error_page(Some(&auth), &auth.lang, e);
    }
    let Ok(scope) = form.scope.parse::<TokenScope>() else {
        return render(
            &state,
            &auth,
            None,
            Some(format!(
                "{} {:?}",
                tr(&auth.lang, "tokens.bad_scope"),
                form.scope
            )),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let actor = auth.actor();
    let lang = auth.lang.clone();
    let result = state
        .accounts(move |s| {
            let label = match form.label.trim() {
                "" => "console".to_string(),
                l => l.to_string(),
            };
            let grant = accounts::TokenGrant {
                label,
                scope,
                days: form.days,
            };
            let token = accounts::create_api_token(s, &actor, &form.user, &grant)?;
            Ok(Some((
                format!("{} {}", tr(&lang, "tokens.new_for"), form.user),
                token,
            )))
        })
        .await;
    outcome(&state, &auth, result).await
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    id: i64,
}

pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Err(e) = auth.require_admin() {
        return state.renderer.error_page(Some(&auth), &auth.lang, e);
    }
    let actor = auth.actor();
    let result = state
        .db(move |s| Ok(accounts::revoke_api_token(s, &actor, form.id).map(|_| None)))
        .await;
    outcome(&state, &auth, result).await
}
