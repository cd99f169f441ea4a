//! The accounts as the command line shows them, on the tables every crate
//! shares.

use shouwang_model::beijing_minutes;
use shouwang_model::text::table;
use shouwang_store::{ApiToken, User};

/// `user list`: name, role, state, creation.
pub fn users_table(users: &[User]) -> String {
    if users.is_empty() {
        return "no users; `shouwang user add NAME --role admin` creates one\n".to_string();
    }
    let now = chrono::Utc::now();
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            let mut state = vec![if u.disabled { "disabled" } else { "enabled" }.to_string()];
            if u.locked_until.is_some_and(|t| t > now) {
                state.push("locked".into());
            }
            if u.must_change_password {
                state.push("must change password".into());
            }
            vec![
                u.name.clone(),
                format!("{} ({})", u.role, u.role.zh()),
                state.join(", "),
                u.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ]
        })
        .collect();
    table(&["NAME", "ROLE", "STATE", "CREATED"], &rows)
}

/// `user token list`: each token's id, owner, purpose, scope and times in
/// Beijing time (never the token).
pub fn tokens_table(tokens: &[ApiToken], users: &[User]) -> String {
    if tokens.is_empty() {
        return "no API tokens; `shouwang user token NAME` creates one\n".to_string();
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let owner = users.iter().find(|u| u.id == t.user_id);
            vec![
                t.id.to_string(),
                owner.map(|u| u.name.clone()).unwrap_or_default(),
                t.name.clone(),
                format!("{} ({})", t.scope, t.scope.zh()),
                beijing_minutes(t.created_at),
                t.last_used_at
                    .map_or_else(|| "never".into(), beijing_minutes),
                beijing_minutes(t.expires_at),
            ]
        })
        .collect();
    let header = [
        "ID",
        "USER",
        "LABEL",
        "SCOPE",
        "CREATED",
        "LAST USED",
        "EXPIRES",
    ];
    format!(
        "{}times in Beijing time (北京时间)\n",
        table(&header, &rows)
    )
}

/// `user token NAME`: the new token, shown this once.
pub fn token_made(name: &str, grant: &crate::accounts::TokenGrant, token: &str) -> String {
    format!(
        "API token for {name} ({}, scope {}, {} days); it is shown only this once:\n{token}\n",
        grant.label, grant.scope, grant.days
    )
}

/// The lines `up` shows once, boxed, when it made the first administrator
/// with a generated password: the password, that it must be changed, how
/// to get a new one, and the unit CA's fingerprints to compare.
pub fn first_admin_lines(
    admin: &str,
    password: &str,
    ca: Option<&crate::tls::CaIdentity>,
) -> Vec<String> {
    let mut lines = vec![
        format!("首次运行：已创建管理员 {admin}，一次性密码：{password}（登录后须修改）"),
        format!("First run: created the administrator \"{admin}\", one-time password: {password}"),
        "It must be changed at the first login and is shown only this once.".to_string(),
        format!("Lost it? `shouwang user passwd {admin}` sets a new one."),
    ];
    if let Some(ca) = ca {
        lines.push(format!(
            "单位 CA 公钥指纹 / unit CA key SHA-256: {}",
            ca.key_sha256
        ));
        lines.push(format!("CA 证书 / certificate SHA-256: {}", ca.cert_sha256));
    }
    lines
}

/// What `user enable` did; enabling does not end a login lock, so a
/// running one is named with the command that ends it.
pub fn enabled(user: &User) -> String {
    let mut text = format!("enabled {}\n", user.name);
    if let Some(until) = user.locked_until.filter(|t| *t > chrono::Utc::now()) {
        text.push_str(&format!(
            "{name} is still locked after failed logins until {} (Beijing time); \
             end the lock with `shouwang user unlock {name}`\n",
            shouwang_model::beijing_seconds(until),
            name = user.name
        ));
    }
    text
}

/// What `user unlock` did, and until when the lock would have lasted.
pub fn unlocked(name: &str, until: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let was = until.map_or("it was not locked".into(), |t| {
        format!(
            "locked until {} Beijing time",
            shouwang_model::beijing_seconds(t)
        )
    });
    format!("unlocked {name} ({was}); the password is unchanged\n")
}
