//! `shouwang user add|passwd|disable|enable|unlock|list|token`.
//!
//! The accounts module of the console does the hashing, the password policy
//! and the audit entries, so the console and the command line cannot drift.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use shouwang_console::accounts;
use shouwang_store::Role;

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
            let user = accounts::set_disabled(store, &actor, &name, false)
                .with_context(|| format!("cannot enable {name}"))?;
            output::print(&shouwang_console::text::enabled(&user))?;
        }
        UserCommand::Unlock { name } => {
            let (_, until) = accounts::unlock(store, &actor, &name)
                .with_context(|| format!("cannot unlock {name}"))?;
            output::print(&shouwang_console::text::unlocked(&name, until))?;
        }
        UserCommand::List(args) => {
            let users = store.users().context("cannot list the users")?;
            if args.json {
                output::print_json(&users)?;
            } else {
                output::print(&shouwang_console::text::users_table(&users))?;
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
    let (label, scope, days) = (args.label, args.scope, args.days);
    match args.command {
        Some(TokenCommand::List(json)) => {
            let tokens = store
                .api_tokens(None)
                .context("cannot list the API tokens")?;
            if json.json {
                return output::print_json(&tokens);
            }
            let users = store.users().context("cannot list the users")?;
            output::print(&shouwang_console::text::tokens_table(&tokens, &users))
        }
        Some(TokenCommand::Revoke { id }) => {
            let t = accounts::revoke_api_token(store, actor, id)
                .with_context(|| format!("cannot revoke the API token {id}"))?;
            output::print(&format!("revoked API token {id} ({})\n", t.name))
        }
        None => {
            let name = args
                .name
                .context("name the user: shouwang user token NAME")?;
            let grant = accounts::TokenGrant { label, scope, days };
            let token = accounts::create_api_token(store, actor, &name, &grant)
                .with_context(|| format!("cannot create an API token for {name}"))?;
            output::print(&shouwang_console::text::token_made(&name, &grant, &token))
        }
    }
}

fn one_time_password(password: &str) -> String {
    format!(
        "one-time password (shown only this once; it must be changed at the first login):\n{password}\n"
    )
}
