//! The embedded SQLite store: one file in the data dir, WAL mode.

use crate::sql;
use crate::sql::TOKEN_COLS;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, ToSql, params};
use shouwang_model::{
    Asset, AssetKind, AssetRef, Event, Finding, FindingStatus, NewEvent, NewFinding, Provenance,
    Text,
};

use crate::pool::Pool;
use crate::tx::Tx;
use crate::{
    ApiToken, AuditEntry, AuditKey, Backend, EventFilter, FilterValue, FindingCount, FindingFilter,
    Result, SCHEMA_VERSION, Session, Store, StoreError, User, event_where, from_micros, now,
    parse_name, severity_from_rank, severity_rank, to_micros,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_incidents.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_events_by_asset.sql"),
    ),
    (
        4,
        include_str!("../migrations/sqlite/0004_login_failures.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_audit_head_mac.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_api_tokens.sql")),
    (
        7,
        include_str!("../migrations/sqlite/0007_finding_assignments.sql"),
    ),
    // 8 is `merge_sites`, in Rust, run after these.
    (9, include_str!("../migrations/sqlite/0009_terminals.sql")),
];

pub struct SqliteStore {
    path: PathBuf,
    pub(crate) reserve: crate::reserve::Reserve,
    pub(crate) pool: Pool<Connection>,
    pub(crate) key: AuditKey,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => corrupt(path, e),
        Some(CannotOpen | PermissionDenied | ReadOnly) => StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
            hint: "Check that the data dir exists and is writable by this user (run as root, or pass --data-dir DIR)",
        },
        _ => StoreError::Sqlite(e),
    }
}

impl SqliteStore {
    /// Read-only look at an existing database file: is it SQLite, and is it
    /// ours? Changes nothing, so a damaged file stays as it was.
    pub fn check_existing(path: &Path) -> Result<()> {
        if !path.exists() {
            return Ok(());
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(path, e))?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| open_error(path, e))?;
        if !tables.is_empty() && !tables.iter().any(|t| t == "schema_migrations") {
            return Err(corrupt(
                path,
                format!(
                    "it has tables ({}) but none of Shouwang's",
                    tables.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Open or create the database and bring its schema up to date.
    pub fn open(path: &Path, key: AuditKey) -> Result<Self> {
        Self::check_existing(path)?;
        let first = connect(path)?;
        // The database holds password hashes and session hashes: owner
        // only. SQLite gives its WAL and shared-memory files the same mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        migrate(path, &first, &key)?;
        let p = path.to_path_buf();
        let store = SqliteStore {
            path: path.to_path_buf(),
            reserve: crate::reserve::Reserve::beside(path),
            pool: Pool::new(first, 8, move || connect(&p), |_| true),
            key,
        };
        store.merge_duplicate_sites()?;
        Ok(store)
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.pool.with(|c| f(c).map_err(StoreError::from))
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| open_error(path, e))?;
    // WAL lets the console read while a sensor writes; NORMAL sync is
    // durable across process crashes, which is what we need.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .map_err(|e| open_error(path, e))?;
    Ok(conn)
}

fn migrate(path: &Path, conn: &Connection, key: &AuditKey) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(|e| open_error(path, e))?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| open_error(path, e))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        // Each migration and its bookkeeping commit together or not at all.
        let apply = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute_batch(sql)?;
            conn.execute(sql::MIGRATE, params![version, to_micros(now())])?;
            if *version == crate::audit::HEAD_MAC_VERSION {
                let (seq, hash): (i64, String) =
                    conn.query_row(sql::AUDIT_HEAD, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
                conn.execute(sql::SIGN_AUDIT_HEAD, [key.head_mac(seq, &hash)])?;
            }
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = apply() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(open_error(path, e));
        }
        tracing::info!(version, path = %path.display(), "applied database migration");
    }
    Ok(())
}

pub(crate) fn bind(values: &[FilterValue]) -> Vec<Box<dyn ToSql>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql> {
            match v {
                FilterValue::Text(s) => Box::new(s.clone()),
                FilterValue::Int(i) => Box::new(*i),
                FilterValue::Time(t) => Box::new(to_micros(*t)),
            }
        })
        .collect()
}

/// Errors from converting a column are reported as SQLite conversion errors
/// so they travel through rusqlite's row mapping.
pub(crate) fn conv(e: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

pub(crate) fn asset_ref(kind: &str, locator: String) -> rusqlite::Result<AssetRef> {
    Ok(AssetRef::new(
        parse_name::<AssetKind>("asset kind", kind).map_err(conv)?,
        locator,
    ))
}

pub(crate) fn finding_from_row(r: &Row<'_>) -> rusqlite::Result<Finding> {
    Ok(Finding {
        id: r.get(0)?,
        asset: asset_ref(&r.get::<_, String>(3)?, r.get(4)?)?,
        severity: severity_from_rank(r.get(5)?).map_err(conv)?,
        title: Text::new(r.get::<_, String>(6)?, r.get::<_, String>(7)?),
        evidence: r.get(8)?,
        location: r.get(9)?,
        status: parse_name::<FindingStatus>("finding status", &r.get::<_, String>(10)?)
            .map_err(conv)?,
        first_seen: from_micros(r.get(11)?),
        last_seen: from_micros(r.get(12)?),
        provenance: Provenance {
            sensor: r.get(1)?,
            check: r.get(2)?,
            version: r.get(13)?,
            observed_at: from_micros(r.get(14)?),
            input: r.get(15)?,
        },
    })
}

pub(crate) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let details: String = r.get(9)?;
    Ok(Event {
        id: r.get(0)?,
        event: NewEvent {
            time: from_micros(r.get(1)?),
            kind: r.get(2)?,
            asset: asset_ref(&r.get::<_, String>(5)?, r.get(6)?)?,
            severity: severity_from_rank(r.get(7)?).map_err(conv)?,
            summary: r.get(8)?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
            provenance: Provenance {
                sensor: r.get(3)?,
                check: r.get(4)?,
                version: r.get(10)?,
                observed_at: from_micros(r.get(11)?),
                input: r.get(12)?,
            },
        },
    })
}

pub(crate) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: parse_name("role", &r.get::<_, String>(2)?).map_err(conv)?,
        password_hash: r.get(3)?,
        disabled: r.get(4)?,
        must_change_password: r.get(5)?,
        failed_logins: r.get(6)?,
        locked_until: r.get::<_, Option<i64>>(7)?.map(from_micros),
        created_at: from_micros(r.get(8)?),
    })
}

fn audit_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        time: from_micros(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        details: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

/// Turn a conversion failure raised inside row mapping back into our error.
pub(crate) fn unconv(e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(inner)) => {
            match inner.downcast::<StoreError>() {
                Ok(se) => *se,
                Err(other) => StoreError::Invalid {
                    what: "row",
                    detail: other.to_string(),
                },
            }
        }
        other => other,
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn schema_version(&self) -> Result<i64> {
        self.with(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
        })
    }

    fn upsert_asset(&self, asset: &Asset) -> Result<()> {
        self.write(|t| t.upsert_asset(asset))
    }

    fn assets(&self) -> Result<Vec<Asset>> {
        self.with(|c| {
            let mut st = c.prepare(sql::ASSETS)?;
            st.query_map([], |r| {
                let details: String = r.get(3)?;
                Ok(Asset {
                    id: asset_ref(&r.get::<_, String>(0)?, r.get(1)?)?,
                    name: r.get(2)?,
                    details: serde_json::from_str(&details).unwrap_or_default(),
                })
            })?
            .collect()
        })
        .map_err(unconv)
    }

    fn record_findings(&self, findings: &[NewFinding]) -> Result<Vec<i64>> {
        self.reserve.or_release(|| {
            self.with(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut ids = Vec::with_capacity(findings.len());
                {
                    let mut st = tx.prepare_cached(sql::RECORD_FINDINGS)?;
                    for f in findings {
                        let p = &f.provenance;
                        ids.push(st.query_row(
                            params![
                                f.fingerprint(),
                                p.sensor,
                                p.check,
                                f.asset.kind.as_str(),
                                f.asset.locator,
                                severity_rank(f.severity),
                                f.title.zh,
                                f.title.en,
                                f.evidence,
                                f.location,
                                to_micros(p.observed_at),
                                p.version,
                                p.input
                            ],
                            |r| r.get(0),
                        )?);
                    }
                }
                tx.commit()?;
                Ok(ids)
            })
        })
    }

    fn finding(&self, id: i64) -> Result<Option<Finding>> {
        self.with(|c| c.query_row(sql::FINDING, [id], finding_from_row).optional())
            .map_err(unconv)
    }

    fn finding_assignment(&self, id: i64) -> Result<Option<shouwang_model::FindingAssignment>> {
        let row: Option<(String, Option<String>)> = self
            .with(|c| {
                c.query_row(sql::FINDING_ASSIGNMENT, [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
            })
            .map_err(unconv)?;
        row.map(|(owner, due)| {
            Ok(shouwang_model::FindingAssignment {
                owner,
                due: crate::report::due_of(due)?,
            })
        })
        .transpose()
    }

    fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>> {
        let (sql, values) = crate::findings_query(filter, |i| format!("?{i}"));
        let values = bind(&values);
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(rusqlite::params_from_iter(values.iter()), finding_from_row)?
                .collect()
        })
        .map_err(unconv)
    }

    fn open_finding_counts(&self) -> Result<Vec<FindingCount>> {
        self.with(|c| {
            let mut st = c.prepare(sql::OPEN_FINDING_COUNTS)?;
            st.query_map([], |r| {
                Ok(FindingCount {
                    sensor: r.get(0)?,
                    severity: severity_from_rank(r.get(1)?).map_err(conv)?,
                    count: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect()
        })
        .map_err(unconv)
    }

    fn record_events(&self, events: &[NewEvent]) -> Result<()> {
        self.reserve.or_release(|| {
            self.with(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                {
                    let mut st = tx.prepare_cached(
                        "INSERT INTO events (time, kind, sensor, check_id, asset_kind, asset_locator, severity,
                            summary, details, version, observed_at, input)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    )?;
                    for e in events {
                        let p = &e.provenance;
                        st.execute(params![
                            to_micros(e.time),
                            e.kind,
                            p.sensor,
                            p.check,
                            e.asset.kind.as_str(),
                            e.asset.locator,
                            severity_rank(e.severity),
                            e.summary,
                            e.details.to_string(),
                            p.version,
                            to_micros(p.observed_at),
                            p.input
                        ])?;
                    }
                }
                tx.commit()
            })
        })
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        let (where_sql, values) = event_where(filter, |i| format!("?{i}"));
        let sql = sql::events(&where_sql, filter.effective_limit());
        let values = bind(&values);
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(rusqlite::params_from_iter(values.iter()), event_from_row)?
                .collect()
        })
        .map_err(unconv)
    }

    fn event_count(&self) -> Result<u64> {
        self.with(|c| c.query_row(sql::EVENT_COUNT, [], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        self.with(|c| c.query_row(sql::USER, [id], user_from_row).optional())
            .map_err(unconv)
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.with(|c| {
            c.query_row(sql::USER_BY_NAME, [name], user_from_row)
                .optional()
        })
        .map_err(unconv)
    }

    fn users(&self) -> Result<Vec<User>> {
        self.with(|c| {
            let mut st = c.prepare(sql::USERS)?;
            st.query_map([], user_from_row)?.collect()
        })
        .map_err(unconv)
    }

    fn create_session(&self, s: &Session) -> Result<()> {
        self.with(|c| {
            // Expired sessions are swept whenever a new one starts.
            c.execute(sql::DELETE_EXPIRED_SESSIONS, [to_micros(now())])?;
            c.execute(
                sql::CREATE_SESSION,
                params![
                    s.id_hash,
                    s.user_id,
                    s.csrf_token,
                    to_micros(s.created_at),
                    to_micros(s.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        self.with(|c| {
            c.query_row(sql::SESSION, [id_hash], |r| {
                Ok(Session {
                    id_hash: r.get(0)?,
                    user_id: r.get(1)?,
                    csrf_token: r.get(2)?,
                    created_at: from_micros(r.get(3)?),
                    expires_at: from_micros(r.get(4)?),
                })
            })
            .optional()
        })
    }

    fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.with(|c| c.execute(sql::DELETE_SESSION, [id_hash]).map(drop))
    }

    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.with(|c| {
            c.query_row(sql::API_TOKEN, [token_hash], token_from_row)
                .optional()
        })
        .map_err(unconv)
    }

    fn api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {TOKEN_COLS} FROM api_tokens WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id"
            ))?;
            st.query_map([user_id], token_from_row)?.collect()
        })
        .map_err(unconv)
    }

    fn touch_api_token(&self, id: i64, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2",
                params![to_micros(at), id],
            )
            .map(drop)
        })
    }

    fn run_audited(&self, f: &mut dyn FnMut(&mut dyn crate::Tx) -> bool) -> Result<()> {
        self.run_audited_impl(f)
    }

    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql::AUDIT_ENTRIES)?;
            st.query_map(params![after, limit as i64], audit_from_row)?
                .collect()
        })
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql::RECENT_AUDIT)?;
            st.query_map([limit as i64], audit_from_row)?.collect()
        })
    }

    fn last_audit_of(&self, action: &str) -> Result<Option<AuditEntry>> {
        self.with(|c| {
            c.prepare_cached(sql::LAST_AUDIT_OF)?
                .query_row([action], audit_from_row)
                .optional()
        })
    }

    fn signed_audit_head(&self) -> Result<crate::AuditHead> {
        self.with(|c| {
            c.query_row(sql::AUDIT_HEAD, [], |r| {
                Ok(crate::AuditHead {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    mac: r.get(2)?,
                })
            })
        })
    }

    fn audit_key(&self) -> &AuditKey {
        &self.key
    }
}

pub(crate) fn token_from_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        token_hash: r.get(3)?,
        created_at: from_micros(r.get(4)?),
        scope: parse_name("token scope", &r.get::<_, String>(5)?).map_err(conv)?,
        // A token without an end (none is made so) has ended.
        expires_at: r
            .get::<_, Option<i64>>(6)?
            .map_or_else(Default::default, from_micros),
        last_used_at: r.get::<_, Option<i64>>(7)?.map(from_micros),
    })
}
