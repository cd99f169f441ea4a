//! The unit server's side of the terminal protocol: enrollment tokens,
//! enrolled terminals and the reports they sent (for deduplication).
//!
//! Times here are microseconds since the epoch on both backends, so the
//! statements and the row mapping exist once ([`Raw`]); the protocol
//! itself (token and credential formats, what is refused and why) is
//! `shouwang-terminal`'s.
//!
//! Whether a token may be used is decided by the database, not by a read
//! followed by a write: [`enroll`] marks the token used with one
//! conditional `UPDATE` (unused, not revoked, not expired) and inserts the
//! terminal only if that changed one row, inside the audited transaction.
//! Two agents racing with one token cannot both enroll.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::raw::{Raw, Val};
use crate::{Result, from_micros, to_micros};

/// An enrollment token as the server keeps it: only the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalToken {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The terminal enrolled with it.
    pub used_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to keep.
#[derive(Debug, Clone)]
pub struct NewTerminalToken {
    pub name: String,
    pub secret_hash: String,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
}

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Terminal {
    /// `t-` and 16 hex digits, made by the server.
    pub id: String,
    /// As the terminal said at enrollment.
    pub hostname: String,
    pub os: String,
    #[serde(skip_serializing)]
    pub credential_hash: String,
    pub token_id: i64,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last inventory it sent, as sent (validated JSON).
    pub inventory: Option<serde_json::Value>,
    pub inventory_at: Option<DateTime<Utc>>,
}

/// A terminal to enroll.
#[derive(Debug, Clone)]
pub struct NewTerminal {
    pub id: String,
    pub hostname: String,
    pub os: String,
    pub credential_hash: String,
}

/// A report accepted from a terminal (its id is the deduplication key).
#[derive(Debug, Clone)]
pub struct NewTerminalReport {
    pub terminal: String,
    pub id: String,
    pub seq: u64,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

/// The server's terminal records, beside the rest of the store.
pub trait Terminals {
    /// Every token, newest first.
    fn terminal_tokens(&self) -> Result<Vec<TerminalToken>>;
    /// Every terminal, by host name.
    fn terminals(&self) -> Result<Vec<Terminal>>;
    fn terminal(&self, id: &str) -> Result<Option<Terminal>>;
    /// Keep `report`'s id; false (and nothing changed) when that terminal
    /// sent a report with this id before. Marks the terminal seen.
    fn accept_terminal_report(&self, report: &NewTerminalReport, at: DateTime<Utc>)
    -> Result<bool>;
    /// Forget an accepted report whose content could not be recorded, so
    /// that the agent's retry is taken.
    fn forget_terminal_report(&self, terminal: &str, id: &str) -> Result<()>;
    /// The terminal's latest inventory.
    fn set_terminal_inventory(
        &self,
        terminal: &str,
        inventory: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()>;
}

const TOKEN_COLS: &str =
    "id, name, secret_hash, created_at, created_by, expires_at, used_at, used_by, revoked_at";
const TERMINAL_COLS: &str = "id, hostname, os, credential_hash, token_id, enrolled_at, last_seen, revoked_at, inventory, inventory_at";

fn time(v: &Val) -> DateTime<Utc> {
    from_micros(v.int())
}

fn opt_time(v: &Val) -> Option<DateTime<Utc>> {
    v.opt_int().map(from_micros)
}

fn token_from(r: &[Val]) -> TerminalToken {
    TerminalToken {
        id: r[0].int(),
        name: r[1].text().to_string(),
        secret_hash: r[2].text().to_string(),
        created_at: time(&r[3]),
        created_by: r[4].text().to_string(),
        expires_at: time(&r[5]),
        used_at: opt_time(&r[6]),
        used_by: r[7].opt_text().map(str::to_string),
        revoked_at: opt_time(&r[8]),
    }
}

fn terminal_from(r: &[Val]) -> Terminal {
    Terminal {
        id: r[0].text().to_string(),
        hostname: r[1].text().to_string(),
        os: r[2].text().to_string(),
        credential_hash: r[3].text().to_string(),
        token_id: r[4].int(),
        enrolled_at: time(&r[5]),
        last_seen: opt_time(&r[6]),
        revoked_at: opt_time(&r[7]),
        // Written by this module from validated JSON; a damaged cell reads
        // as no inventory rather than failing the whole list.
        inventory: r[8].opt_text().and_then(|t| serde_json::from_str(t).ok()),
        inventory_at: opt_time(&r[9]),
    }
}

fn micros(t: DateTime<Utc>) -> Val {
    Val::Int(to_micros(t))
}

pub(crate) fn tokens(t: &mut dyn Raw) -> Result<Vec<TerminalToken>> {
    let rows = t.rows(
        &format!("SELECT {TOKEN_COLS} FROM terminal_tokens ORDER BY id DESC"),
        &[],
    )?;
    Ok(rows.iter().map(|r| token_from(r)).collect())
}

pub(crate) fn token_by_hash(t: &mut dyn Raw, secret_hash: &str) -> Result<Option<TerminalToken>> {
    let rows = t.rows(
        &format!("SELECT {TOKEN_COLS} FROM terminal_tokens WHERE secret_hash = $1"),
        &[secret_hash.into()],
    )?;
    Ok(rows.first().map(|r| token_from(r)))
}

pub(crate) fn create_token(
    t: &mut dyn Raw,
    new: &NewTerminalToken,
    at: DateTime<Utc>,
) -> Result<TerminalToken> {
    t.exec(
        "INSERT INTO terminal_tokens (name, secret_hash, created_at, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            new.name.as_str().into(),
            new.secret_hash.as_str().into(),
            micros(at),
            new.created_by.as_str().into(),
            micros(new.expires_at),
        ],
    )?;
    token_by_hash(t, &new.secret_hash)?.ok_or_else(|| crate::StoreError::NotFound {
        what: "terminal token",
        id: new.name.clone(),
    })
}

/// Revoke a token not yet used. `None` when there is no such token or it
/// was used or revoked already (the caller says which, from the record).
pub(crate) fn revoke_token(
    t: &mut dyn Raw,
    id: i64,
    at: DateTime<Utc>,
) -> Result<Option<TerminalToken>> {
    let n = t.exec(
        "UPDATE terminal_tokens SET revoked_at = $1 \
         WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        &[micros(at), Val::Int(id)],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let rows = t.rows(
        &format!("SELECT {TOKEN_COLS} FROM terminal_tokens WHERE id = $1"),
        &[Val::Int(id)],
    )?;
    Ok(rows.first().map(|r| token_from(r)))
}

/// Use token `token_id` for `terminal` at `at`: false, with nothing
/// changed, when the token is no longer usable (used, revoked, expired).
pub(crate) fn enroll(
    t: &mut dyn Raw,
    token_id: i64,
    terminal: &NewTerminal,
    at: DateTime<Utc>,
) -> Result<bool> {
    let used = t.exec(
        "UPDATE terminal_tokens SET used_at = $1, used_by = $2 \
         WHERE id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        &[micros(at), terminal.id.as_str().into(), Val::Int(token_id)],
    )?;
    if used != 1 {
        return Ok(false);
    }
    t.exec(
        "INSERT INTO terminals (id, hostname, os, credential_hash, token_id, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            terminal.id.as_str().into(),
            terminal.hostname.as_str().into(),
            terminal.os.as_str().into(),
            terminal.credential_hash.as_str().into(),
            Val::Int(token_id),
            micros(at),
        ],
    )?;
    Ok(true)
}

/// Revoke a terminal's credential; `None` when it is unknown or revoked.
pub(crate) fn revoke_terminal(
    t: &mut dyn Raw,
    id: &str,
    at: DateTime<Utc>,
) -> Result<Option<Terminal>> {
    let n = t.exec(
        "UPDATE terminals SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        &[micros(at), id.into()],
    )?;
    if n == 0 {
        return Ok(None);
    }
    terminal(t, id)
}

pub(crate) fn terminals(t: &mut dyn Raw) -> Result<Vec<Terminal>> {
    let rows = t.rows(
        &format!("SELECT {TERMINAL_COLS} FROM terminals ORDER BY hostname, id"),
        &[],
    )?;
    Ok(rows.iter().map(|r| terminal_from(r)).collect())
}

pub(crate) fn terminal(t: &mut dyn Raw, id: &str) -> Result<Option<Terminal>> {
    let rows = t.rows(
        &format!("SELECT {TERMINAL_COLS} FROM terminals WHERE id = $1"),
        &[id.into()],
    )?;
    Ok(rows.first().map(|r| terminal_from(r)))
}

pub(crate) fn accept_report(
    t: &mut dyn Raw,
    r: &NewTerminalReport,
    at: DateTime<Utc>,
) -> Result<bool> {
    let seen = t.rows(
        "SELECT 1 FROM terminal_reports WHERE terminal = $1 AND id = $2",
        &[r.terminal.as_str().into(), r.id.as_str().into()],
    )?;
    if !seen.is_empty() {
        return Ok(false);
    }
    t.exec(
        "INSERT INTO terminal_reports (terminal, id, seq, kind, created_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            r.terminal.as_str().into(),
            r.id.as_str().into(),
            // Sequence numbers are counted from 1 by the agent; one beyond
            // i64 is refused by validation long before.
            Val::Int(i64::try_from(r.seq).unwrap_or(i64::MAX)),
            r.kind.as_str().into(),
            micros(r.created_at),
            micros(at),
        ],
    )?;
    t.exec(
        "UPDATE terminals SET last_seen = $1 WHERE id = $2",
        &[micros(at), r.terminal.as_str().into()],
    )?;
    Ok(true)
}

pub(crate) fn forget_report(t: &mut dyn Raw, terminal: &str, id: &str) -> Result<()> {
    t.exec(
        "DELETE FROM terminal_reports WHERE terminal = $1 AND id = $2",
        &[terminal.into(), id.into()],
    )?;
    Ok(())
}

pub(crate) fn set_inventory(
    t: &mut dyn Raw,
    terminal: &str,
    inventory: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    t.exec(
        "UPDATE terminals SET inventory = $1, inventory_at = $2 WHERE id = $3",
        &[inventory.to_string().into(), micros(at), terminal.into()],
    )?;
    Ok(())
}

/// The `Terminals` methods of a backend whose `write` runs a closure on
/// its `Raw` transaction.
macro_rules! impl_terminals {
    ($store:ty) => {
        impl $crate::terminal::Terminals for $store {
            fn terminal_tokens(&self) -> $crate::Result<Vec<$crate::terminal::TerminalToken>> {
                self.write(|t| $crate::terminal::tokens(t))
            }
            fn terminals(&self) -> $crate::Result<Vec<$crate::terminal::Terminal>> {
                self.write(|t| $crate::terminal::terminals(t))
            }
            fn terminal(&self, id: &str) -> $crate::Result<Option<$crate::terminal::Terminal>> {
                self.write(|t| $crate::terminal::terminal(t, id))
            }
            fn accept_terminal_report(
                &self,
                report: &$crate::terminal::NewTerminalReport,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<bool> {
                self.write(|t| $crate::terminal::accept_report(t, report, at))
            }
            fn forget_terminal_report(&self, terminal: &str, id: &str) -> $crate::Result<()> {
                self.write(|t| $crate::terminal::forget_report(t, terminal, id))
            }
            fn set_terminal_inventory(
                &self,
                terminal: &str,
                inventory: &serde_json::Value,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<()> {
                self.write(|t| $crate::terminal::set_inventory(t, terminal, inventory, at))
            }
        }
    };
}
pub(crate) use impl_terminals;

/// The `Tx` methods for terminals, the same on both backends.
macro_rules! tx_terminal_methods {
    () => {
        fn terminal_token(
            &mut self,
            secret_hash: &str,
        ) -> $crate::Result<Option<$crate::terminal::TerminalToken>> {
            $crate::terminal::token_by_hash(self, secret_hash)
        }
        fn create_terminal_token(
            &mut self,
            token: &$crate::terminal::NewTerminalToken,
        ) -> $crate::Result<$crate::terminal::TerminalToken> {
            $crate::terminal::create_token(self, token, $crate::now())
        }
        fn revoke_terminal_token(
            &mut self,
            id: i64,
        ) -> $crate::Result<Option<$crate::terminal::TerminalToken>> {
            $crate::terminal::revoke_token(self, id, $crate::now())
        }
        fn enroll_terminal(
            &mut self,
            token_id: i64,
            terminal: &$crate::terminal::NewTerminal,
            at: chrono::DateTime<chrono::Utc>,
        ) -> $crate::Result<bool> {
            $crate::terminal::enroll(self, token_id, terminal, at)
        }
        fn revoke_terminal(
            &mut self,
            id: &str,
        ) -> $crate::Result<Option<$crate::terminal::Terminal>> {
            $crate::terminal::revoke_terminal(self, id, $crate::now())
        }
    };
}
pub(crate) use tx_terminal_methods;
