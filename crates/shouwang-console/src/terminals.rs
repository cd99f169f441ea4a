//! The unit server's side of the terminal protocol (`shouwang-terminal`):
//! making enrollment tokens, enrolling a terminal, knowing a terminal by
//! its credential, and taking in its reports. The console's endpoints
//! (`web::terminals`) and the CLI call these.
//!
//! Every decision that changes a record (a token made, used or revoked, a
//! terminal enrolled or revoked) is made inside `Store::audited`, with its
//! audit entry; whether a token may still be used is decided by the
//! database's conditional update (`shouwang_store::Tx::enroll_terminal`),
//! so two agents racing with one token cannot both get a credential.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use shouwang_model::{AssetKind, AssetRef};
use shouwang_store::{
    NewAuditEntry, NewTerminal, NewTerminalReport, NewTerminalToken, Store, StoreError, Terminal,
    TerminalToken,
};
use shouwang_terminal::enroll::{Credential, EnrollRequest, EnrollResponse};
use shouwang_terminal::{Body, EnrollToken, Refusal, Report, TokenRecord};

/// The longest a token may live: a token is typed on one PC, soon.
pub const MAX_TOKEN_TTL: Duration = Duration::days(30);

/// Why the server could not do what was asked (refusals of the protocol
/// are [`Refusal`]s, not errors).
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the unit CA cannot be read or made: {0}")]
    Ca(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Invalid(String),
    #[error("the report's content could not be recorded: {0}")]
    Record(String),
}

/// A token made: the record, and the text shown once.
pub struct MadeToken {
    pub record: TerminalToken,
    pub text: String,
}

/// Make a one-time token named `name`, valid for `ttl`, carrying the key
/// hash of the unit CA in `data_dir` (made now if this is the first use).
pub fn create_token(
    store: &dyn Store,
    data_dir: &Path,
    unit: &str,
    name: &str,
    ttl: Duration,
    actor: &str,
) -> Result<MadeToken, TerminalError> {
    if ttl <= Duration::zero() || ttl > MAX_TOKEN_TTL {
        return Err(TerminalError::Invalid(format!(
            "a token lives from a minute to {} days",
            MAX_TOKEN_TTL.num_days()
        )));
    }
    let name = clean_text(name, 64).ok_or_else(|| {
        TerminalError::Invalid("the token's name must be 1 to 64 printable characters".into())
    })?;
    let (ca, _) = crate::tls::UnitCa::load_or_create(&crate::tls::tls_dir(data_dir), unit)?;
    let key = shouwang_terminal::trust::spki_sha256(ca.cert_der())
        .ok_or_else(|| TerminalError::Invalid("the unit CA certificate cannot be read".into()))?;
    let token = EnrollToken::generate(key);
    let record = store.audited(|tx| {
        let record = tx.create_terminal_token(&NewTerminalToken {
            name: name.clone(),
            secret_hash: token.secret_hash(),
            created_by: actor.to_string(),
            expires_at: Utc::now() + ttl,
        })?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "terminal.token.create",
            format!("terminal-token:{}", record.id),
            json!({ "name": record.name, "expires_at": record.expires_at }),
        ))?;
        Ok::<_, StoreError>(record)
    })?;
    Ok(MadeToken {
        record,
        text: token.encode(),
    })
}

/// Revoke token `id` if it was not used; `None` when there was nothing to
/// revoke (unknown, used or revoked already).
pub fn revoke_token(
    store: &dyn Store,
    id: i64,
    actor: &str,
) -> Result<Option<TerminalToken>, StoreError> {
    store.audited(|tx| {
        let Some(t) = tx.revoke_terminal_token(id)? else {
            return Ok(None);
        };
        tx.audit(&NewAuditEntry::new(
            actor,
            "terminal.token.revoke",
            format!("terminal-token:{id}"),
            json!({ "name": t.name }),
        ))?;
        Ok(Some(t))
    })
}

/// Revoke a terminal's credential; its reports are refused from now on.
pub fn revoke_terminal(
    store: &dyn Store,
    id: &str,
    actor: &str,
) -> Result<Option<Terminal>, StoreError> {
    store.audited(|tx| {
        let Some(t) = tx.revoke_terminal(id)? else {
            return Ok(None);
        };
        tx.audit(&NewAuditEntry::new(
            actor,
            "terminal.revoke",
            format!("terminal:{id}"),
            json!({ "hostname": t.hostname }),
        ))?;
        Ok(Some(t))
    })
}

fn record_of(t: &TerminalToken) -> TokenRecord {
    TokenRecord {
        name: t.name.clone(),
        secret_hash: t.secret_hash.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        used_at: t.used_at,
        revoked_at: t.revoked_at,
    }
}

/// A token's state in words, for lists.
pub fn token_state_zh(t: &TerminalToken, now: DateTime<Utc>) -> &'static str {
    match shouwang_terminal::judge(Some(&record_of(t)), now) {
        Ok(()) => "可用",
        Err(Refusal::TokenRevoked { .. }) => "已作废",
        Err(Refusal::TokenUsed { .. }) => "已使用",
        Err(_) => "已过期",
    }
}

/// Text from a terminal shown in pages and reports: trimmed, no control
/// characters, at most `max` characters; `None` when empty.
fn clean_text(s: &str, max: usize) -> Option<String> {
    let s: String = s.trim().chars().filter(|c| !c.is_control()).collect();
    (!s.is_empty() && s.chars().count() <= max).then_some(s)
}

/// Enroll the terminal asking with `req`: its credential, or why not.
pub fn enroll(
    store: &dyn Store,
    req: &EnrollRequest,
    now: DateTime<Utc>,
) -> Result<Result<EnrollResponse, Refusal>, TerminalError> {
    let token = EnrollToken::parse(&req.token).map_err(|e| TerminalError::Invalid(e.zh()))?;
    let (Some(hostname), Some(os)) = (clean_text(&req.hostname, 253), clean_text(&req.os, 200))
    else {
        return Err(TerminalError::Invalid(
            "主机名须为 1 至 253 个、操作系统名称须为 1 至 200 个可显示字符".into(),
        ));
    };
    let id = shouwang_terminal::enroll::new_terminal_id();
    let credential = Credential::generate(&id);
    let answer = store.audited(|tx| {
        let found = tx.terminal_token(&token.secret_hash())?;
        if let Err(refusal) = shouwang_terminal::judge(found.as_ref().map(record_of).as_ref(), now)
        {
            return Ok(Err(refusal));
        }
        let found = found.expect("judged usable, so found");
        let new = NewTerminal {
            id: id.clone(),
            hostname: hostname.clone(),
            os: os.clone(),
            credential_hash: credential.hash(),
        };
        if !tx.enroll_terminal(found.id, &new, now)? {
            // Another agent used it between the read and the update.
            return Ok(Err(Refusal::TokenUsed { at: now }));
        }
        tx.audit(&NewAuditEntry::new(
            format!("terminal:{id}"),
            "terminal.enroll",
            format!("terminal:{id}"),
            json!({ "hostname": hostname, "os": os, "token": found.name }),
        ))?;
        Ok::<_, StoreError>(Ok(()))
    })?;
    Ok(answer.map(|()| EnrollResponse {
        terminal: id,
        credential: credential.encode(),
    }))
}

/// The terminal a bearer credential belongs to, or why it is refused.
pub fn authenticate(
    store: &dyn Store,
    bearer: &str,
) -> Result<Result<Terminal, Refusal>, StoreError> {
    let Ok(credential) = Credential::parse(bearer) else {
        return Ok(Err(Refusal::UnknownCredential));
    };
    let Some(t) = store.terminal(credential.terminal())? else {
        return Ok(Err(Refusal::UnknownCredential));
    };
    if !same(t.credential_hash.as_bytes(), credential.hash().as_bytes()) {
        return Ok(Err(Refusal::UnknownCredential));
    }
    if let Some(at) = t.revoked_at {
        return Ok(Err(Refusal::CredentialRevoked { at }));
    }
    Ok(Ok(t))
}

/// Compare without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The asset a terminal's findings are kept under: its enrolled name and
/// its id, so that no terminal can speak for another host (the unit
/// server's own checks among them) by naming itself after it.
pub fn terminal_asset(t: &Terminal) -> AssetRef {
    AssetRef::new(AssetKind::Host, asset_name(t))
}

fn asset_name(t: &Terminal) -> String {
    format!("{}（{}）", t.hostname, t.id)
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ingested {
    Recorded,
    /// Sent before: counted then, not again.
    Duplicate,
}

/// Take in `report` from terminal `t` (already authenticated). Each
/// report id counts once: it is kept first, and forgotten again if its
/// content cannot be recorded, so the agent's retry is taken.
pub fn ingest(
    store: &dyn Store,
    data_dir: &Path,
    t: &Terminal,
    report: Report,
    now: DateTime<Utc>,
) -> Result<Ingested, TerminalError> {
    report
        .check_sender(&t.id)
        .map_err(|e| TerminalError::Invalid(e.zh()))?;
    let accepted = store.accept_terminal_report(
        &NewTerminalReport {
            terminal: t.id.clone(),
            id: report.id.clone(),
            seq: report.seq,
            kind: report.body.kind().to_string(),
            created_at: report.created_at,
        },
        now,
    )?;
    if !accepted {
        return Ok(Ingested::Duplicate);
    }
    let recorded = record_body(store, data_dir, t, report.body, now);
    if let Err(e) = &recorded {
        tracing::warn!(terminal = %t.id, error = %e, "a terminal report could not be recorded");
        store.forget_terminal_report(&t.id, &report.id)?;
    }
    recorded.map(|()| Ingested::Recorded)
}

fn record_body(
    store: &dyn Store,
    data_dir: &Path,
    t: &Terminal,
    body: Body,
    now: DateTime<Utc>,
) -> Result<(), TerminalError> {
    match body {
        Body::HostCheck { mut run } => {
            // The terminal's own account of itself, kept under the name it
            // enrolled with, not the one it says now.
            run.host = asset_name(t);
            run.live = false;
            run.root = format!("terminal:{}", t.id);
            let file = shouwang_host::runs::save(data_dir, &run)
                .map_err(|e| TerminalError::Record(e.to_string()))?;
            shouwang_host::runs::record(store, &run, &file)
                .map_err(|e| TerminalError::Record(e.to_string()))?;
        }
        Body::Inventory { inventory } => {
            let value = serde_json::to_value(&inventory)
                .map_err(|e| TerminalError::Record(e.to_string()))?;
            store.set_terminal_inventory(&t.id, &value, now)?;
        }
        Body::Usb { events } => {
            let asset = terminal_asset(t);
            let events: Vec<shouwang_model::NewEvent> = events
                .iter()
                .map(|e| {
                    let (kind, verb) = match e.action {
                        shouwang_terminal::UsbAction::Inserted => ("terminal.usb.inserted", "插入"),
                        shouwang_terminal::UsbAction::Removed => ("terminal.usb.removed", "拔出"),
                    };
                    shouwang_model::NewEvent {
                        time: e.at,
                        kind: kind.into(),
                        asset: asset.clone(),
                        severity: shouwang_model::Severity::Info,
                        summary: format!(
                            "{} {verb} U 盘：{} {}（序列号 {}）",
                            t.hostname, e.vendor, e.product, e.serial
                        ),
                        details: serde_json::to_value(e).unwrap_or_default(),
                        provenance: shouwang_model::Provenance::now("terminal", kind, &t.id),
                    }
                })
                .collect();
            store.record_events(&events)?;
        }
    }
    Ok(())
}
