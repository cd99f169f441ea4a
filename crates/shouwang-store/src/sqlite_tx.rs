//! Transactions on SQLite: the audited path and the store's own writes.

use crate::sql;
use crate::sql::TOKEN_COLS;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use shouwang_model::{
    Asset, AssetRef, Finding, FindingStatus, Incident, NewTimelineEntry, ReportStage,
};

use crate::raw::{Raw, Val};
use crate::sqlite::{SqliteStore, bind, finding_from_row, token_from_row, unconv, user_from_row};
use crate::sqlite_incident::{incident_from_row, insert_timeline, set_setting_tx};
use crate::tx::{Ledger, Tx};
use crate::{
    ApiToken, AuditEntry, AuditKey, ChangeNote, FindingFilter, IncidentChange, LOGIN_FAILURES_KEPT,
    LOGIN_FAILURES_PRUNED_EVERY, LoginFailures, NewApiToken, NewAuditEntry, NewUser, Result,
    StoreError, User, UserChange, from_micros, now, to_micros,
};

/// A row-mapping error back into ours.
fn sq<T>(r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(|e| unconv(e.into()))
}

fn not_found(what: &'static str, id: i64) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

pub(crate) struct SqliteTx<'a> {
    c: &'a Connection,
    key: &'a AuditKey,
    ledger: Ledger,
}

impl SqliteStore {
    /// Run `f` in one IMMEDIATE transaction: the write lock is taken before
    /// anything is read, so the audit head read in it cannot be chained onto
    /// by another writer. `f` says whether to commit; `audited` demands an
    /// audit entry for every change.
    fn transaction<T>(
        &self,
        audited: bool,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        self.pool.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut t = SqliteTx {
                c: &tx,
                key: &self.key,
                ledger: Ledger::default(),
            };
            let (out, commit) = f(&mut t)?;
            if commit {
                if audited {
                    t.ledger.check()?;
                }
                tx.commit()?;
            }
            Ok(out)
        })
    }

    /// One of the store's own writes (a sensor's findings, the engine's
    /// cursors), in a transaction of its own.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(false, |t| Ok((f(t)?, true)))
    }

    /// Migration 8, `crate::merge_sites`, in one audited transaction.
    pub(crate) fn merge_duplicate_sites(&self) -> Result<usize> {
        self.transaction(true, |t| {
            Ok((crate::merge_sites::merge_duplicate_sites(t)?, true))
        })
    }

    pub(crate) fn run_audited_impl(&self, f: &mut dyn FnMut(&mut dyn Tx) -> bool) -> Result<()> {
        // Not run twice: `f` may have given its result away already.
        self.reserve.before_write();
        self.transaction(true, |t| Ok(((), f(t))))
    }
}

crate::terminal::impl_terminals!(SqliteStore);

impl Tx for SqliteTx<'_> {
    crate::terminal::tx_terminal_methods!();

    fn audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let (head_seq, prev_hash): (i64, String) = self
            .c
            .query_row(sql::AUDIT_HEAD, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let e = self.key.chain(head_seq + 1, now(), entry, prev_hash);
        self.c.execute(
            sql::APPEND_AUDIT,
            params![
                e.seq,
                to_micros(e.time),
                e.actor,
                e.action,
                e.target,
                e.details,
                e.prev_hash,
                e.hash
            ],
        )?;
        self.c.execute(
            sql::MOVE_AUDIT_HEAD,
            params![e.seq, e.hash, self.key.head_mac(e.seq, &e.hash)],
        )?;
        self.ledger.audited = true;
        Ok(e)
    }

    fn finding(&mut self, id: i64) -> Result<Option<Finding>> {
        sq(self
            .c
            .query_row(sql::FINDING, [id], finding_from_row)
            .optional())
    }

    fn findings(&mut self, filter: &FindingFilter) -> Result<Vec<Finding>> {
        let (sql, values) = crate::findings_query(filter, |i| format!("?{i}"));
        let values = bind(&values);
        sq((|| {
            let mut st = self.c.prepare(&sql)?;
            st.query_map(rusqlite::params_from_iter(values.iter()), finding_from_row)?
                .collect()
        })())
    }

    fn set_finding_status(&mut self, id: i64, status: FindingStatus) -> Result<Finding> {
        let n = self
            .c
            .execute(sql::SET_FINDING_STATUS, params![status.as_str(), id])?;
        if n == 0 {
            return Err(not_found("finding", id));
        }
        self.ledger.changed = true;
        self.finding(id)?.ok_or_else(|| not_found("finding", id))
    }

    fn set_finding_assignment(
        &mut self,
        id: i64,
        assignment: &shouwang_model::FindingAssignment,
    ) -> Result<()> {
        if self.finding(id)?.is_none() {
            return Err(not_found("finding", id));
        }
        if assignment.is_empty() {
            self.c.execute(sql::DELETE_FINDING_ASSIGNMENT, [id])?;
        } else {
            let due = assignment.due.map(|d| d.format("%Y-%m-%d").to_string());
            self.c.execute(
                sql::SET_FINDING_ASSIGNMENT,
                params![id, assignment.owner, due, to_micros(now())],
            )?;
        }
        self.ledger.changed = true;
        Ok(())
    }

    fn delete_asset(&mut self, asset: &AssetRef) -> Result<bool> {
        let n = self.c.execute(
            sql::DELETE_ASSET,
            params![asset.kind.as_str(), asset.locator],
        )?;
        self.ledger.changed |= n > 0;
        Ok(n > 0)
    }

    fn upsert_asset(&mut self, asset: &Asset) -> Result<()> {
        self.c.execute(
            sql::UPSERT_ASSET,
            params![
                asset.id.kind.as_str(),
                asset.id.locator,
                asset.name,
                asset.details.to_string(),
                to_micros(now())
            ],
        )?;
        self.ledger.changed = true;
        Ok(())
    }

    fn user_by_name(&mut self, name: &str) -> Result<Option<User>> {
        sq(self
            .c
            .query_row(sql::USER_BY_NAME, [name], user_from_row)
            .optional())
    }

    fn create_user(&mut self, user: &NewUser) -> Result<User> {
        let res = self.c.query_row(
            sql::CREATE_USER,
            params![
                user.name,
                user.role.as_str(),
                user.password_hash,
                user.must_change_password,
                to_micros(now())
            ],
            user_from_row,
        );
        match res {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Err(StoreError::AlreadyExists {
                    what: "user",
                    id: user.name.clone(),
                })
            }
            other => {
                let user = sq(other)?;
                self.ledger.changed = true;
                Ok(user)
            }
        }
    }

    fn update_user(&mut self, id: i64, change: &UserChange) -> Result<User> {
        let c = self.c;
        let n = match change {
            UserChange::Password { hash, must_change } => {
                c.execute(sql::SET_PASSWORD, params![hash, must_change, id])
            }
            UserChange::Disabled(d) => c.execute(sql::SET_USER_DISABLED, params![d, id]),
            UserChange::LoginFailed { locked_until } => c.execute(
                sql::COUNT_FAILED_LOGIN,
                params![locked_until.map(to_micros), id],
            ),
            UserChange::LoginSucceeded => c.execute(sql::CLEAR_FAILED_LOGINS, [id]),
        }?;
        if n == 0 {
            return Err(not_found("user", id));
        }
        self.ledger.changed = true;
        sq(c.query_row(sql::USER, [id], user_from_row))
    }

    fn delete_user_sessions(&mut self, user_id: i64) -> Result<()> {
        let n = self.c.execute(sql::DELETE_USER_SESSIONS, [user_id])?;
        self.ledger.changed |= n > 0;
        Ok(())
    }

    fn create_api_token(&mut self, t: &NewApiToken) -> Result<ApiToken> {
        let t = sq(self.c.query_row(
            sql::CREATE_API_TOKEN,
            params![
                t.user_id,
                t.name,
                t.token_hash,
                to_micros(now()),
                t.scope.as_str(),
                to_micros(t.expires_at)
            ],
            token_from_row,
        ))?;
        self.ledger.changed = true;
        Ok(t)
    }

    fn revoke_api_token(&mut self, id: i64) -> Result<Option<ApiToken>> {
        let t = sq(self
            .c
            .query_row(
                &format!("DELETE FROM api_tokens WHERE id = ?1 RETURNING {TOKEN_COLS}"),
                [id],
                token_from_row,
            )
            .optional())?;
        self.ledger.changed |= t.is_some();
        Ok(t)
    }

    fn revoke_user_tokens(&mut self, user_id: i64) -> Result<u64> {
        let n = self
            .c
            .execute("DELETE FROM api_tokens WHERE user_id = ?1", [user_id])?;
        self.ledger.changed |= n > 0;
        Ok(n as u64)
    }

    fn login_failures(&mut self, name_hash: &str) -> Result<Option<LoginFailures>> {
        sq(self
            .c
            .query_row(
                "SELECT failures, locked_until, last_failed_at FROM login_failures WHERE name_hash = ?1",
                [name_hash],
                |r| {
                    Ok(LoginFailures {
                        failures: r.get(0)?,
                        locked_until: r.get::<_, Option<i64>>(1)?.map(from_micros),
                        last_failed_at: from_micros(r.get(2)?),
                    })
                },
            )
            .optional())
    }

    fn set_login_failures(&mut self, name_hash: &str, state: Option<&LoginFailures>) -> Result<()> {
        let c = self.c;
        let n = match state {
            None => c.execute(
                "DELETE FROM login_failures WHERE name_hash = ?1",
                [name_hash],
            )?,
            Some(f) => {
                let id: i64 = c.query_row(
                    "INSERT INTO login_failures (name_hash, failures, locked_until, last_failed_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name_hash) DO UPDATE SET failures = excluded.failures,
                        locked_until = excluded.locked_until, last_failed_at = excluded.last_failed_at
                     RETURNING id",
                    params![
                        name_hash,
                        f.failures,
                        f.locked_until.map(to_micros),
                        to_micros(f.last_failed_at)
                    ],
                    |r| r.get(0),
                )?;
                if id % LOGIN_FAILURES_PRUNED_EVERY == 0 {
                    c.execute(
                        "DELETE FROM login_failures WHERE id IN (
                            SELECT id FROM login_failures
                            ORDER BY last_failed_at DESC LIMIT -1 OFFSET ?1)",
                        [LOGIN_FAILURES_KEPT],
                    )?;
                }
                1
            }
        };
        self.ledger.changed |= n > 0;
        Ok(())
    }

    fn setting(&mut self, name: &str) -> Result<Option<serde_json::Value>> {
        let raw: Option<String> = self
            .c
            .query_row(sql::SETTING, [name], |r| r.get(0))
            .optional()?;
        raw.map(|s| {
            serde_json::from_str(&s).map_err(|e| StoreError::Invalid {
                what: "setting",
                detail: format!("{name}: {e}"),
            })
        })
        .transpose()
    }

    fn set_setting(&mut self, name: &str, value: &serde_json::Value) -> Result<()> {
        set_setting_tx(self.c, name, value)?;
        self.ledger.changed = true;
        Ok(())
    }

    fn incident(&mut self, id: i64) -> Result<Option<Incident>> {
        sq(self
            .c
            .query_row(sql::INCIDENT, [id], incident_from_row)
            .optional())
    }

    fn update_incident(
        &mut self,
        id: i64,
        change: &IncidentChange,
        note: &ChangeNote,
    ) -> Result<Incident> {
        let c = self.c;
        let t = to_micros(note.at);
        let n = c.execute(sql::TOUCH_INCIDENT, params![to_micros(now()), id])?;
        if n == 0 {
            return Err(not_found("incident", id));
        }
        self.ledger.changed = true;
        if let Some(st) = change.status {
            c.execute(
                sql::SET_INCIDENT_STATUS,
                params![st.as_str(), st.handling_ended(), t, id],
            )?;
        }
        if let Some(level) = change.level {
            c.execute(sql::SET_INCIDENT_LEVEL, params![level.as_str(), id])?;
        }
        if let Some((stage, at)) = change.reported {
            let col = match stage {
                ReportStage::First => Some("first_reported_at"),
                ReportStage::Summary => Some("summary_reported_at"),
                ReportStage::FollowUp => None,
            };
            if let Some(col) = col {
                c.execute(&sql::set_reported(col), params![to_micros(at), id])?;
            }
        }
        let mut note = note.clone();
        note.incident_id = id;
        insert_timeline(c, &note)?;
        self.incident(id)?.ok_or_else(|| not_found("incident", id))
    }

    fn add_timeline(&mut self, entries: &[NewTimelineEntry]) -> Result<()> {
        for e in entries {
            insert_timeline(self.c, e)?;
        }
        self.ledger.changed |= !entries.is_empty();
        Ok(())
    }
}

fn sqlite_values(params: &[Val]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Val::Null => rusqlite::types::Value::Null,
            Val::Int(i) => rusqlite::types::Value::Integer(*i),
            Val::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect()
}

impl Raw for SqliteTx<'_> {
    fn lock_migrations(&mut self) -> Result<()> {
        // The IMMEDIATE transaction holds the write lock already.
        Ok(())
    }

    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        use rusqlite::types::ValueRef;
        let mut st = self.c.prepare(sql)?;
        let n = st.column_count();
        let rows = st.query_map(rusqlite::params_from_iter(sqlite_values(params)), |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Integer(v) => Val::Int(v),
                        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Null => Val::Null,
                        _ => Val::Text(String::new()),
                    })
                })
                .collect()
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let n = self
            .c
            .execute(sql, rusqlite::params_from_iter(sqlite_values(params)))?;
        self.ledger.changed |= n > 0;
        Ok(n as u64)
    }

    fn record_migration(&mut self, version: i64) -> Result<()> {
        self.c
            .execute(sql::MIGRATE, params![version, to_micros(now())])?;
        Ok(())
    }
}
