//! One audited path: a state change and its audit entry commit in one
//! store transaction, or neither does.
//!
//! Callers change state only through [`Tx`] inside
//! [`audited`](crate::Store::audited) (on `dyn Store`); the audit log is
//! appended with [`Tx::audit`] in the same transaction, which holds the
//! chain's head from its start, so entries are chained in the order their
//! changes committed even with several writers on one PostgreSQL database.
//! A transaction that changed something but appended no entry is rolled
//! back with [`StoreError::Unaudited`].

use std::collections::{BTreeSet, HashSet};

use serde_json::json;
use shouwang_model::{
    Asset, AssetRef, Finding, FindingStatus, Incident, NewTimelineEntry, fingerprint,
};

use crate::{
    ApiToken, AuditEntry, ChangeNote, FindingFilter, IncidentChange, LoginFailures, NewApiToken,
    NewAuditEntry, NewTerminal, NewTerminalToken, NewUser, Result, Store, StoreError, Terminal,
    TerminalToken, User, UserChange,
};
use chrono::{DateTime, Utc};

/// What can be read and changed inside an audited transaction. Reads see
/// the transaction's own writes.
pub trait Tx {
    /// Append an entry to the audit log, chained to the previous one, in
    /// this transaction.
    fn audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry>;

    fn finding(&mut self, id: i64) -> Result<Option<Finding>>;
    fn findings(&mut self, filter: &FindingFilter) -> Result<Vec<Finding>>;
    fn set_finding_status(&mut self, id: i64, status: FindingStatus) -> Result<Finding>;
    /// Name who answers for a finding and by when; an empty assignment
    /// clears it. A finding that does not exist is `NotFound`.
    fn set_finding_assignment(
        &mut self,
        id: i64,
        assignment: &shouwang_model::FindingAssignment,
    ) -> Result<()>;

    fn upsert_asset(&mut self, asset: &Asset) -> Result<()>;
    /// Take an asset off the list (its findings and events stay, as the
    /// record of what was); whether it was listed.
    fn delete_asset(&mut self, asset: &AssetRef) -> Result<bool>;

    fn user_by_name(&mut self, name: &str) -> Result<Option<User>>;
    fn create_user(&mut self, user: &NewUser) -> Result<User>;
    fn update_user(&mut self, id: i64, change: &UserChange) -> Result<User>;
    /// Log a user out everywhere (password change, disabling).
    fn delete_user_sessions(&mut self, user_id: i64) -> Result<()>;
    fn create_api_token(&mut self, token: &NewApiToken) -> Result<ApiToken>;
    /// Delete a token; the token it was, if there was one.
    fn revoke_api_token(&mut self, id: i64) -> Result<Option<ApiToken>>;
    /// Delete every token of a user (a new password); how many there were.
    fn revoke_user_tokens(&mut self, user_id: i64) -> Result<u64>;

    /// The failed logins counted for a submitted name, by its hash.
    fn login_failures(&mut self, name_hash: &str) -> Result<Option<LoginFailures>>;
    /// Count (`Some`) or forget (`None`) the failed logins of a name; the
    /// store keeps only the [`LOGIN_FAILURES_KEPT`](crate::LOGIN_FAILURES_KEPT)
    /// names that failed last.
    fn set_login_failures(&mut self, name_hash: &str, state: Option<&LoginFailures>) -> Result<()>;

    fn setting(&mut self, name: &str) -> Result<Option<serde_json::Value>>;
    fn set_setting(&mut self, name: &str, value: &serde_json::Value) -> Result<()>;

    fn incident(&mut self, id: i64) -> Result<Option<Incident>>;
    /// Change status, level or reporting marks and record the timeline line
    /// that says who did it and why.
    fn update_incident(
        &mut self,
        id: i64,
        change: &IncidentChange,
        note: &ChangeNote,
    ) -> Result<Incident>;
    fn add_timeline(&mut self, entries: &[NewTimelineEntry]) -> Result<()>;

    // --- terminals (see `terminal.rs`) ---
    fn terminal_token(&mut self, secret_hash: &str) -> Result<Option<TerminalToken>>;
    fn create_terminal_token(&mut self, token: &NewTerminalToken) -> Result<TerminalToken>;
    /// Revoke a token not yet used; `None` if unknown, used or revoked.
    fn revoke_terminal_token(&mut self, id: i64) -> Result<Option<TerminalToken>>;
    /// Use token `token_id` for `terminal`: false, nothing changed, when
    /// the token is used, revoked or expired at `at` (decided in one
    /// conditional update).
    fn enroll_terminal(
        &mut self,
        token_id: i64,
        terminal: &NewTerminal,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Revoke a terminal's credential; `None` if unknown or revoked.
    fn revoke_terminal(&mut self, id: &str) -> Result<Option<Terminal>>;
}

/// Bookkeeping both backends' transactions share: did this transaction
/// change anything, and did it say so in the audit log?
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub changed: bool,
    pub audited: bool,
}

impl Ledger {
    /// The verdict at commit time.
    pub(crate) fn check(&self) -> Result<()> {
        if self.changed && !self.audited {
            return Err(StoreError::Unaudited);
        }
        Ok(())
    }
}

impl<'a> dyn Store + 'a {
    /// Run `f` in one store transaction and commit it only if `f` succeeds
    /// and every change it made is named in the audit log ([`Tx::audit`]);
    /// otherwise nothing `f` did is kept. The one way people and sensors
    /// change state.
    pub fn audited<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut f = Some(f);
        let mut out = None;
        self.run_audited(&mut |tx| {
            let Some(f) = f.take() else { return false };
            let r = f(tx);
            let commit = r.is_ok();
            out = Some(r);
            commit
        })?;
        out.unwrap_or_else(|| {
            Err(StoreError::Invalid {
                what: "transaction",
                detail: "the store never ran the change".into(),
            }
            .into())
        })
    }
}

impl<'a> dyn Store + 'a {
    /// Record an action that changes nothing in the store (files the guard
    /// restored, a report taken, a start or stop) in the audit log. Changes
    /// to the store go through [`audited`](Self::audited).
    pub fn record_action(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        self.audited(|tx| tx.audit(entry))
    }
}

/// How many resolved findings an audit entry names one by one; the count
/// is always exact.
pub const RESOLVED_NAMED: usize = 50;

/// The findings a sensor run speaks for: the open findings of `sensor` on
/// `asset` (only of `checks`, when given).
#[derive(Debug, Clone)]
pub struct RunScope {
    pub sensor: String,
    pub asset: AssetRef,
    /// Only findings of these checks (a host run: the rules that passed);
    /// `None`: every check of the sensor.
    pub checks: Option<BTreeSet<String>>,
}

/// Resolve the findings of `scope` that the run did not see again (whose
/// fingerprints are not in `seen`), in one transaction with ONE audit entry
/// by `actor` that says how many and names the first [`RESOLVED_NAMED`];
/// `context` (the run: a file, a time) goes into that entry. Nothing
/// resolved, nothing written. Returns the resolved findings' ids.
pub fn resolve_not_seen(
    store: &dyn Store,
    actor: &str,
    scope: &RunScope,
    seen: &HashSet<String>,
    context: serde_json::Value,
) -> Result<Vec<i64>> {
    store.audited(|tx| {
        let open = tx.findings(&FindingFilter {
            status: Some(FindingStatus::Open),
            sensor: Some(scope.sensor.clone()),
            asset: Some(scope.asset.clone()),
            limit: 100_000,
            ..FindingFilter::default()
        })?;
        let gone: Vec<Finding> = open
            .into_iter()
            .filter(|f| {
                scope
                    .checks
                    .as_ref()
                    .is_none_or(|c| c.contains(f.check_id()))
                    && !seen.contains(&fingerprint(
                        f.sensor(),
                        f.check_id(),
                        &f.asset,
                        &f.location,
                    ))
            })
            .collect();
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        for f in &gone {
            tx.set_finding_status(f.id, FindingStatus::Resolved)?;
        }
        let named: Vec<_> = gone
            .iter()
            .take(RESOLVED_NAMED)
            .map(|f| json!({ "id": f.id, "check": f.check_id(), "location": f.location }))
            .collect();
        tx.audit(&NewAuditEntry::new(
            actor,
            "finding.resolved",
            format!("{}:{}", scope.asset.kind, scope.asset.locator),
            json!({
                "count": gone.len(),
                "findings": named,
                "more": gone.len().saturating_sub(RESOLVED_NAMED),
                "run": context,
            }),
        ))?;
        Ok(gone.iter().map(|f| f.id).collect())
    })
}
