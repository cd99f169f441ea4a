//! `shouwang user add|passwd|disable|enable|list|token`.
//!
//! The accounts module of the console does the hashing, the password policy
//! and the audit entries, so the console and the command line cannot drift.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use shouwang_console::accounts;
use shouwang_store::{Role, User};

use super::{Access, Ctx, Outcome, cli_actor};
use crate::cli::{PasswordArg, TokenArgs, TokenCommand, UserCommand};
use crate::output;

pub fn run(ctx: &Ctx, command: UserCommand) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let actor = cli_actor();
    // Only `add` may start a store: the others need an existing user, and
    // `list` only reads.
    let access = match command {
        UserCommand::Add { .. } => Access::Create,
        _ => Access::Existing,
    };
    let store = ctx.open_store(&loaded, access)?;
    let store = store.as_ref();
    match command {
        UserCommand::Add {
            name,
            role,
            password,
        } => {
            let role = Role::from(role);
            let (password, generated) = password_for(&password)?;
            accounts::add_user(store, &actor, &name, role, &password, generated)
                .with_context(|| format!("cannot add the user {name}"))?;
            tracing::debug!(user = %name, role = %role, "user added");
            let mut text = format!("added user {name} ({role}, {})\n", role.zh());
            if generated {
                text.push_str(&one_time_password(&password));
            }
            output::print(&text)?;
        }
        UserCommand::Passwd { name, password } => {
            let (password, generated) = password_for(&password)?;
            accounts::set_password(store, &actor, &name, &password, generated)
                .with_context(|| format!("cannot set the password of {name}"))?;
            let mut text = format!("set a new password for {name}; their sessions were ended\n");
            if generated {
                text.push_str(&one_time_password(&password));
            }
            output::print(&text)?;
        }
        UserCommand::Disable { name } => {
            accounts::set_disabled(store, &actor, &name, true)
                .with_context(|| format!("cannot disable {name}"))?;
            output::print(&format!("disabled {name}; their sessions were ended\n"))?;
        }
        UserCommand::Enable { name } => {
            accounts::set_disabled(store, &actor, &name, false)
                .with_context(|| format!("cannot enable {name}"))?;
            output::print(&format!("enabled {name}\n"))?;
        }
        UserCommand::List(args) => {
            let users = store.users().context("cannot list the users")?;
            if args.json {
                output::print_json(&users)?;
            } else {
                output::print(&users_table(&users))?;
            }
        }
        UserCommand::Token(args) => token(store, &actor, args)?,
    }
    Ok(Outcome::Clean)
}

/// The password to set, and whether it was generated (then the user must
/// change it at the first login, since it has been on a screen).
fn password_for(arg: &PasswordArg) -> Result<(String, bool)> {
    if !arg.password_stdin {
        return Ok((accounts::generate_password(), true));
    }
    // One line, so that both a pipe and a person typing (then Enter) work;
    // the newline is not part of the password.
    let mut input = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("--password-stdin: standard input holds no password");
    }
    Ok((password, false))
}

fn token(store: &dyn shouwang_store::Store, actor: &str, args: TokenArgs) -> Result<()> {
    match (args.command, args.name) {
        (Some(TokenCommand::List(json)), _) => {
            let tokens = store
                .api_tokens(None)
                .context("cannot list the API tokens")?;
            if json.json {
                return output::print_json(&tokens);
            }
            let users = store.users().context("cannot list the users")?;
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    let owner = users.iter().find(|u| u.id == t.user_id);
                    let when =
                        |t: chrono::DateTime<chrono::Utc>| shouwang_model::beijing_minutes(t);
                    vec![
                        t.id.to_string(),
                        owner.map(|u| u.name.clone()).unwrap_or_default(),
                        t.name.clone(),
                        format!("{} ({})", t.scope, t.scope.zh()),
                        when(t.created_at),
                        t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
                        when(t.expires_at),
                    ]
                })
                .collect();
            output::print(&output::table(
                &[
                    "ID",
                    "USER",
                    "LABEL",
                    "SCOPE",
                    "CREATED (北京时间)",
                    "LAST USED",
                    "EXPIRES",
                ],
                &rows,
            ))
        }
        (Some(TokenCommand::Revoke { id }), _) => {
            let t = accounts::revoke_api_token(store, actor, id)
                .with_context(|| format!("cannot revoke the API token {id}"))?;
            output::print(&format!("revoked API token {id} ({})\n", t.name))
        }
        (None, Some(name)) => {
            let grant = accounts::TokenGrant {
                label: args.label.clone(),
                scope: args.scope,
                days: args.days,
            };
            let token = accounts::create_api_token(store, actor, &name, &grant)
                .with_context(|| format!("cannot create an API token for {name}"))?;
            output::print(&format!(
                "API token for {name} ({}, scope {}, {} days); it is shown only this once:\n{token}\n",
                args.label, args.scope, args.days
            ))
        }
        (None, None) => bail!("name the user the token is for: shouwang user token NAME"),
    }
}

fn one_time_password(password: &str) -> String {
    format!(
        "one-time password (shown only this once; it must be changed at the first login):\n{password}\n"
    )
}

fn users_table(users: &[User]) -> String {
    if users.is_empty() {
        return "no users; `shouwang user add NAME --role admin` creates one\n".to_string();
    }
    let now = chrono::Utc::now();
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            let mut state = Vec::new();
            state.push(if u.disabled { "disabled" } else { "enabled" }.to_string());
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
    output::table(&["NAME", "ROLE", "STATE", "CREATED"], &rows)
}
