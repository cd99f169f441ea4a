//! Transactions on PostgreSQL: the audited path and the store's own writes.

use crate::sql;
use crate::sql::TOKEN_COLS;
use postgres::Transaction;
use shouwang_model::{
    Asset, AssetRef, Finding, FindingStatus, Incident, NewTimelineEntry, ReportStage,
};

use crate::postgres::{
    PostgresStore, bind, finding_from_row, params, token_from_row, user_from_row,
};
use crate::postgres_incident::{incident_from_row, insert_timeline, set_setting_tx};
use crate::raw::{Raw, Val};
use crate::tx::{Ledger, Tx};
use crate::{
    ApiToken, AuditEntry, AuditKey, ChangeNote, FindingFilter, IncidentChange, LOGIN_FAILURES_KEPT,
    LOGIN_FAILURES_PRUNED_EVERY, LoginFailures, NewApiToken, NewAuditEntry, NewUser, Result,
    StoreError, User, UserChange, now,
};

fn not_found(what: &'static str, id: i64) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

pub(crate) struct PgTx<'a, 'b> {
    c: &'a mut Transaction<'b>,
    key: &'a AuditKey,
    ledger: Ledger,
}

impl PostgresStore {
    fn transaction<T>(
        &self,
        audited: bool,
        f: impl FnOnce(&mut PgTx<'_, '_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        self.pool.with(|c| {
            let mut tx = c.transaction()?;
            if audited {
                // The row lock on the head, taken first, serialises audited
                // changes even across several Shouwang servers on one
                // database: entries are chained in the order their changes
                // commit, and two never chain onto one predecessor.
                tx.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE", &[])?;
            }
            let mut t = PgTx {
                c: &mut tx,
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

    /// Migration 8, `crate::merge_sites`, in one audited transaction.
    pub(crate) fn merge_duplicate_sites(&self) -> Result<usize> {
        self.transaction(true, |t| {
            Ok((crate::merge_sites::merge_duplicate_sites(t)?, true))
        })
    }

    /// One of the store's own writes, in a transaction of its own.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut PgTx<'_, '_>) -> Result<T>) -> Result<T> {
        self.transaction(false, |t| Ok((f(t)?, true)))
    }

    pub(crate) fn run_audited_impl(&self, f: &mut dyn FnMut(&mut dyn Tx) -> bool) -> Result<()> {
        self.transaction(true, |t| Ok(((), f(t))))
    }
}

crate::terminal::impl_terminals!(PostgresStore);

impl Tx for PgTx<'_, '_> {
    crate::terminal::tx_terminal_methods!();

    fn audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let head = self.c.query_one(
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        let e = self
            .key
            .chain(head.get::<_, i64>(0) + 1, now(), entry, head.get(1));
        self.c.execute(
            sql::APPEND_AUDIT,
            &[
                &e.seq,
                &e.time,
                &e.actor,
                &e.action,
                &e.target,
                &e.details,
                &e.prev_hash,
                &e.hash,
            ],
        )?;
        let mac = self.key.head_mac(e.seq, &e.hash);
        self.c
            .execute(sql::MOVE_AUDIT_HEAD, &[&e.seq, &e.hash, &mac])?;
        self.ledger.audited = true;
        Ok(e)
    }

    fn finding(&mut self, id: i64) -> Result<Option<Finding>> {
        let row = self.c.query_opt(sql::FINDING, &[&id])?;
        row.as_ref().map(finding_from_row).transpose()
    }

    fn findings(&mut self, filter: &FindingFilter) -> Result<Vec<Finding>> {
        let (sql, values) = crate::findings_query(filter, |i| format!("${i}"));
        let values = bind(&values);
        let rows = self.c.query(&sql, &params(&values))?;
        rows.iter().map(finding_from_row).collect()
    }

    fn set_finding_status(&mut self, id: i64, status: FindingStatus) -> Result<Finding> {
        let n = self
            .c
            .execute(sql::SET_FINDING_STATUS, &[&status.as_str(), &id])?;
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
            self.c.execute(sql::DELETE_FINDING_ASSIGNMENT, &[&id])?;
        } else {
            let due = assignment.due.map(|d| d.format("%Y-%m-%d").to_string());
            self.c.execute(
                sql::SET_FINDING_ASSIGNMENT,
                &[&id, &assignment.owner, &due, &now()],
            )?;
        }
        self.ledger.changed = true;
        Ok(())
    }

    fn delete_asset(&mut self, asset: &AssetRef) -> Result<bool> {
        let n = self
            .c
            .execute(sql::DELETE_ASSET, &[&asset.kind.as_str(), &asset.locator])?;
        self.ledger.changed |= n > 0;
        Ok(n > 0)
    }

    fn upsert_asset(&mut self, asset: &Asset) -> Result<()> {
        self.c.execute(
            sql::UPSERT_ASSET,
            &[
                &asset.id.kind.as_str(),
                &asset.id.locator,
                &asset.name,
                &asset.details.to_string(),
                &now(),
            ],
        )?;
        self.ledger.changed = true;
        Ok(())
    }

    fn user_by_name(&mut self, name: &str) -> Result<Option<User>> {
        let row = self.c.query_opt(sql::USER_BY_NAME, &[&name])?;
        row.as_ref().map(user_from_row).transpose()
    }

    fn create_user(&mut self, user: &NewUser) -> Result<User> {
        let res = self.c.query_one(
            sql::CREATE_USER,
            &[
                &user.name,
                &user.role.as_str(),
                &user.password_hash,
                &user.must_change_password,
                &now(),
            ],
        );
        match res {
            Ok(row) => {
                self.ledger.changed = true;
                user_from_row(&row)
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::AlreadyExists {
                    what: "user",
                    id: user.name.clone(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn update_user(&mut self, id: i64, change: &UserChange) -> Result<User> {
        let c = &mut *self.c;
        let n = match change {
            UserChange::Password { hash, must_change } => {
                c.execute(sql::SET_PASSWORD, &[hash, must_change, &id])
            }
            UserChange::Disabled(d) => c.execute(sql::SET_USER_DISABLED, &[d, &id]),
            UserChange::LoginFailed { locked_until } => {
                c.execute(sql::COUNT_FAILED_LOGIN, &[locked_until, &id])
            }
            UserChange::LoginSucceeded => c.execute(sql::CLEAR_FAILED_LOGINS, &[&id]),
        }?;
        if n == 0 {
            return Err(not_found("user", id));
        }
        self.ledger.changed = true;
        let row = self.c.query_one(sql::USER, &[&id])?;
        user_from_row(&row)
    }

    fn delete_user_sessions(&mut self, user_id: i64) -> Result<()> {
        let n = self.c.execute(sql::DELETE_USER_SESSIONS, &[&user_id])?;
        self.ledger.changed |= n > 0;
        Ok(())
    }

    fn create_api_token(&mut self, t: &NewApiToken) -> Result<ApiToken> {
        let row = self.c.query_one(
            sql::CREATE_API_TOKEN,
            &[
                &t.user_id,
                &t.name,
                &t.token_hash,
                &now(),
                &t.scope.as_str(),
                &t.expires_at,
            ],
        )?;
        self.ledger.changed = true;
        token_from_row(&row)
    }

    fn revoke_api_token(&mut self, id: i64) -> Result<Option<ApiToken>> {
        let row = self.c.query_opt(
            &format!("DELETE FROM api_tokens WHERE id = $1 RETURNING {TOKEN_COLS}"),
            &[&id],
        )?;
        let t = row.as_ref().map(token_from_row).transpose()?;
        self.ledger.changed |= t.is_some();
        Ok(t)
    }

    fn revoke_user_tokens(&mut self, user_id: i64) -> Result<u64> {
        let n = self
            .c
            .execute("DELETE FROM api_tokens WHERE user_id = $1", &[&user_id])?;
        self.ledger.changed |= n > 0;
        Ok(n)
    }

    fn login_failures(&mut self, name_hash: &str) -> Result<Option<LoginFailures>> {
        let row = self.c.query_opt(
            "SELECT failures, locked_until, last_failed_at FROM login_failures WHERE name_hash = $1",
            &[&name_hash],
        )?;
        Ok(row.map(|r| LoginFailures {
            failures: r.get(0),
            locked_until: r.get(1),
            last_failed_at: r.get(2),
        }))
    }

    fn set_login_failures(&mut self, name_hash: &str, state: Option<&LoginFailures>) -> Result<()> {
        let n = match state {
            None => self.c.execute(
                "DELETE FROM login_failures WHERE name_hash = $1",
                &[&name_hash],
            )?,
            Some(f) => {
                let id: i64 = self
                    .c
                    .query_one(
                        "INSERT INTO login_failures (name_hash, failures, locked_until, last_failed_at)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (name_hash) DO UPDATE SET failures = EXCLUDED.failures,
                            locked_until = EXCLUDED.locked_until, last_failed_at = EXCLUDED.last_failed_at
                         RETURNING id",
                        &[&name_hash, &f.failures, &f.locked_until, &f.last_failed_at],
                    )?
                    .get(0);
                if id % LOGIN_FAILURES_PRUNED_EVERY == 0 {
                    self.c.execute(
                        "DELETE FROM login_failures WHERE id IN (
                            SELECT id FROM login_failures
                            ORDER BY last_failed_at DESC OFFSET $1)",
                        &[&LOGIN_FAILURES_KEPT],
                    )?;
                }
                1
            }
        };
        self.ledger.changed |= n > 0;
        Ok(())
    }

    fn setting(&mut self, name: &str) -> Result<Option<serde_json::Value>> {
        let row = self.c.query_opt(sql::SETTING, &[&name])?;
        crate::postgres_incident::setting_of(name, row)
    }

    fn set_setting(&mut self, name: &str, value: &serde_json::Value) -> Result<()> {
        set_setting_tx(&mut *self.c, name, value)?;
        self.ledger.changed = true;
        Ok(())
    }

    fn incident(&mut self, id: i64) -> Result<Option<Incident>> {
        let row = self.c.query_opt(sql::INCIDENT, &[&id])?;
        row.as_ref().map(incident_from_row).transpose()
    }

    fn update_incident(
        &mut self,
        id: i64,
        change: &IncidentChange,
        note: &ChangeNote,
    ) -> Result<Incident> {
        let c = &mut *self.c;
        let n = c.execute(sql::TOUCH_INCIDENT, &[&now(), &id])?;
        if n == 0 {
            return Err(not_found("incident", id));
        }
        self.ledger.changed = true;
        let t = note.at;
        if let Some(st) = change.status {
            c.execute(
                sql::SET_INCIDENT_STATUS,
                &[&st.as_str(), &st.handling_ended(), &t, &id],
            )?;
        }
        if let Some(level) = change.level {
            c.execute(sql::SET_INCIDENT_LEVEL, &[&level.as_str(), &id])?;
        }
        if let Some((stage, at)) = change.reported {
            let col = match stage {
                ReportStage::First => Some("first_reported_at"),
                ReportStage::Summary => Some("summary_reported_at"),
                ReportStage::FollowUp => None,
            };
            if let Some(col) = col {
                c.execute(&sql::set_reported(col), &[&at, &id])?;
            }
        }
        let mut note = note.clone();
        note.incident_id = id;
        insert_timeline(c, &note)?;
        self.incident(id)?.ok_or_else(|| not_found("incident", id))
    }

    fn add_timeline(&mut self, entries: &[NewTimelineEntry]) -> Result<()> {
        for e in entries {
            insert_timeline(&mut *self.c, e)?;
        }
        self.ledger.changed |= !entries.is_empty();
        Ok(())
    }
}

/// SQL NULL for a parameter of any type (`None::<T>` accepts only T's).
#[derive(Debug)]
struct AnyNull;

impl postgres::types::ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        Ok(postgres::types::IsNull::Yes)
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_values(values: &[Val]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    values
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Val::Null => Box::new(AnyNull),
                Val::Int(i) => Box::new(*i),
                Val::Text(s) => Box::new(s.clone()),
            }
        })
        .collect()
}

impl Raw for PgTx<'_, '_> {
    fn lock_migrations(&mut self) -> Result<()> {
        self.c.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&crate::postgres::MIGRATION_LOCK],
        )?;
        Ok(())
    }

    fn rows(&mut self, sql: &str, values: &[Val]) -> Result<Vec<Vec<Val>>> {
        let boxed = pg_values(values);
        let rows = self.c.query(sql, &params(&boxed))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        use postgres::types::Type;
                        let ty = r.columns()[i].type_();
                        let v = if *ty == Type::TEXT {
                            r.get::<_, Option<String>>(i).map(Val::Text)
                        } else if *ty == Type::INT4 {
                            r.get::<_, Option<i32>>(i).map(|v| Val::Int(v.into()))
                        } else if *ty == Type::BOOL {
                            r.get::<_, Option<bool>>(i).map(|v| Val::Int(v.into()))
                        } else {
                            r.get::<_, Option<i64>>(i).map(Val::Int)
                        };
                        v.unwrap_or(Val::Null)
                    })
                    .collect()
            })
            .collect())
    }

    fn exec(&mut self, sql: &str, values: &[Val]) -> Result<u64> {
        let boxed = pg_values(values);
        let n = self.c.execute(sql, &params(&boxed))?;
        self.ledger.changed |= n > 0;
        Ok(n)
    }

    fn record_migration(&mut self, version: i64) -> Result<()> {
        self.c.execute(sql::MIGRATE, &[&version, &now()])?;
        Ok(())
    }
}
