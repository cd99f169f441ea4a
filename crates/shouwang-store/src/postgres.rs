//! The PostgreSQL store, for a central server that watches many units.

use crate::sql;
use crate::sql::TOKEN_COLS;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row};
use shouwang_model::{
    Asset, AssetKind, AssetRef, Event, Finding, FindingStatus, NewEvent, NewFinding, Provenance,
    Text,
};

use crate::pool::Pool;
use crate::tx::Tx;
use crate::{
    ApiToken, AuditEntry, AuditKey, Backend, EventFilter, FilterValue, FindingCount, FindingFilter,
    Result, SCHEMA_VERSION, Session, Store, StoreError, User, event_where, now, parse_name,
    severity_from_rank, severity_rank,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_incidents.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_events_by_asset.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_login_failures.sql"),
    ),
    (
        5,
        include_str!("../migrations/postgres/0005_audit_head_mac.sql"),
    ),
    (
        6,
        include_str!("../migrations/postgres/0006_api_tokens.sql"),
    ),
    (
        7,
        include_str!("../migrations/postgres/0007_finding_assignments.sql"),
    ),
    // 8 is `merge_sites`, in Rust, run after these.
    (9, include_str!("../migrations/postgres/0009_terminals.sql")),
];

/// An arbitrary constant that names Shouwang's migration lock.
pub(crate) const MIGRATION_LOCK: i64 = 0x5348_4f55_5741_4e47;

pub struct PostgresStore {
    target: String,
    pub(crate) pool: Pool<Client>,
    pub(crate) key: AuditKey,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish()
    }
}

/// `user@host:port/db`, never the password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or("?"),
        host,
        port,
        config.get_dbname().unwrap_or("?")
    )
}

impl PostgresStore {
    /// Connect and bring the schema up to date.
    pub fn connect(url: &str, key: AuditKey) -> Result<Self> {
        let config = Config::from_str(url).map_err(|e| StoreError::Connect {
            target: "(unparsable postgres_url)".into(),
            detail: e.to_string(),
        })?;
        let target = describe(&config);
        let connect = {
            let config = config.clone();
            let target = target.clone();
            move || {
                config.connect(NoTls).map_err(|e| StoreError::Connect {
                    target: target.clone(),
                    detail: e.to_string(),
                })
            }
        };
        let mut first = connect()?;
        migrate(&mut first, &key)?;
        let store = PostgresStore {
            target,
            pool: Pool::new(first, 8, connect, |c| !c.is_closed()),
            key,
        };
        store.merge_duplicate_sites()?;
        Ok(store)
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        self.pool.with(|c| f(c).map_err(StoreError::from))
    }
}

fn migrate(client: &mut Client, key: &AuditKey) -> Result<()> {
    let mut tx = client.transaction()?;
    // Two servers starting at once must not both migrate.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
    )?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(sql::MIGRATE, &[version, &now()])?;
        if *version == crate::audit::HEAD_MAC_VERSION {
            let head = tx.query_one(sql::AUDIT_HEAD, &[])?;
            let mac = key.head_mac(head.get(0), head.get::<_, &str>(1));
            tx.execute(sql::SIGN_AUDIT_HEAD, &[&mac])?;
        }
        tracing::info!(version, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn bind(values: &[FilterValue]) -> Vec<Box<dyn ToSql + Sync>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                FilterValue::Text(s) => Box::new(s.clone()),
                FilterValue::Int(i) => Box::new(*i),
                FilterValue::Time(t) => Box::new(*t),
            }
        })
        .collect()
}

pub(crate) fn params(values: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|b| b.as_ref()).collect()
}

pub(crate) fn asset_ref(kind: &str, locator: String) -> Result<AssetRef> {
    Ok(AssetRef::new(
        parse_name::<AssetKind>("asset kind", kind)?,
        locator,
    ))
}

pub(crate) fn finding_from_row(r: &Row) -> Result<Finding> {
    Ok(Finding {
        id: r.get(0),
        asset: asset_ref(r.get(3), r.get(4))?,
        severity: severity_from_rank(r.get(5))?,
        title: Text::new(r.get::<_, String>(6), r.get::<_, String>(7)),
        evidence: r.get(8),
        location: r.get(9),
        status: parse_name::<FindingStatus>("finding status", r.get(10))?,
        first_seen: r.get(11),
        last_seen: r.get(12),
        provenance: Provenance {
            sensor: r.get(1),
            check: r.get(2),
            version: r.get(13),
            observed_at: r.get(14),
            input: r.get(15),
        },
    })
}

pub(crate) fn event_from_row(r: &Row) -> Result<Event> {
    let details: String = r.get(9);
    Ok(Event {
        id: r.get(0),
        event: NewEvent {
            time: r.get(1),
            kind: r.get(2),
            asset: asset_ref(r.get(5), r.get(6))?,
            severity: severity_from_rank(r.get(7))?,
            summary: r.get(8),
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
            provenance: Provenance {
                sensor: r.get(3),
                check: r.get(4),
                version: r.get(10),
                observed_at: r.get(11),
                input: r.get(12),
            },
        },
    })
}

pub(crate) fn user_from_row(r: &Row) -> Result<User> {
    Ok(User {
        id: r.get(0),
        name: r.get(1),
        role: parse_name("role", r.get(2))?,
        password_hash: r.get(3),
        disabled: r.get(4),
        must_change_password: r.get(5),
        failed_logins: r.get(6),
        locked_until: r.get(7),
        created_at: r.get(8),
    })
}

fn audit_from_row(r: &Row) -> AuditEntry {
    AuditEntry {
        seq: r.get(0),
        time: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        target: r.get(4),
        details: r.get(5),
        prev_hash: r.get(6),
        hash: r.get(7),
    }
}

pub(crate) fn token_from_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0),
        user_id: r.get(1),
        name: r.get(2),
        token_hash: r.get(3),
        created_at: r.get(4),
        scope: parse_name("token scope", r.get(5))?,
        // A token without an end (none is made so) has ended.
        expires_at: r.get::<_, Option<DateTime<Utc>>>(6).unwrap_or_default(),
        last_used_at: r.get(7),
    })
}

impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn location(&self) -> String {
        format!("postgresql://{}", self.target)
    }

    fn schema_version(&self) -> Result<i64> {
        self.with(|c| {
            Ok(c.query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )?
            .get(0))
        })
    }

    fn upsert_asset(&self, asset: &Asset) -> Result<()> {
        self.write(|t| t.upsert_asset(asset))
    }

    fn assets(&self) -> Result<Vec<Asset>> {
        let rows = self.with(|c| c.query(sql::ASSETS, &[]))?;
        rows.iter()
            .map(|r| {
                Ok(Asset {
                    id: asset_ref(r.get(0), r.get(1))?,
                    name: r.get(2),
                    details: serde_json::from_str(r.get(3)).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn record_findings(&self, findings: &[NewFinding]) -> Result<Vec<i64>> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let st = tx.prepare(sql::RECORD_FINDINGS)?;
            let mut ids = Vec::with_capacity(findings.len());
            for f in findings {
                let p = &f.provenance;
                let row = tx.query_one(
                    &st,
                    &[
                        &f.fingerprint(),
                        &p.sensor,
                        &p.check,
                        &f.asset.kind.as_str(),
                        &f.asset.locator,
                        &severity_rank(f.severity),
                        &f.title.zh,
                        &f.title.en,
                        &f.evidence,
                        &f.location,
                        &p.observed_at,
                        &p.version,
                        &p.input,
                    ],
                )?;
                ids.push(row.get(0));
            }
            tx.commit()?;
            Ok(ids)
        })
    }

    fn finding(&self, id: i64) -> Result<Option<Finding>> {
        let row = self.with(|c| c.query_opt(sql::FINDING, &[&id]))?;
        row.as_ref().map(finding_from_row).transpose()
    }

    fn finding_assignment(&self, id: i64) -> Result<Option<shouwang_model::FindingAssignment>> {
        let row = self.with(|c| c.query_opt(sql::FINDING_ASSIGNMENT, &[&id]))?;
        row.map(|r| {
            Ok(shouwang_model::FindingAssignment {
                owner: r.get(0),
                due: crate::report::due_of(r.get(1))?,
            })
        })
        .transpose()
    }

    fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>> {
        let (sql, values) = crate::findings_query(filter, |i| format!("${i}"));
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter().map(finding_from_row).collect()
    }

    fn open_finding_counts(&self) -> Result<Vec<FindingCount>> {
        let rows = self.with(|c| c.query(sql::OPEN_FINDING_COUNTS, &[]))?;
        rows.iter()
            .map(|r| {
                Ok(FindingCount {
                    sensor: r.get(0),
                    severity: severity_from_rank(r.get(1))?,
                    count: r.get::<_, i64>(2) as u64,
                })
            })
            .collect()
    }

    fn record_events(&self, events: &[NewEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement per batch: the columns go over as arrays and UNNEST
        // turns them back into rows, which is many times faster than one
        // INSERT per event.
        let mut time: Vec<DateTime<Utc>> = Vec::with_capacity(events.len());
        let (mut kind, mut sensor, mut check, mut akind, mut aloc) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut sev, mut summary, mut details, mut version, mut observed, mut input) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for e in events {
            let p = &e.provenance;
            time.push(e.time);
            kind.push(e.kind.as_str());
            sensor.push(p.sensor.as_str());
            check.push(p.check.as_str());
            akind.push(e.asset.kind.as_str());
            aloc.push(e.asset.locator.as_str());
            sev.push(severity_rank(e.severity));
            summary.push(e.summary.as_str());
            details.push(e.details.to_string());
            version.push(p.version.as_str());
            observed.push(p.observed_at);
            input.push(p.input.as_str());
        }
        self.with(|c| {
            c.execute(
                "INSERT INTO events (time, kind, sensor, check_id, asset_kind, asset_locator, severity,
                    summary, details, version, observed_at, input)
                 SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[])",
                &[
                    &time, &kind, &sensor, &check, &akind, &aloc, &sev, &summary, &details, &version,
                    &observed, &input,
                ],
            )
            .map(drop)
        })
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        let (where_sql, values) = event_where(filter, |i| format!("${i}"));
        let sql = sql::events(&where_sql, filter.effective_limit());
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter().map(event_from_row).collect()
    }

    fn event_count(&self) -> Result<u64> {
        self.with(|c| Ok(c.query_one(sql::EVENT_COUNT, &[])?.get::<_, i64>(0) as u64))
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        let row = self.with(|c| c.query_opt(sql::USER, &[&id]))?;
        row.as_ref().map(user_from_row).transpose()
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = self.with(|c| c.query_opt(sql::USER_BY_NAME, &[&name]))?;
        row.as_ref().map(user_from_row).transpose()
    }

    fn users(&self) -> Result<Vec<User>> {
        let rows = self.with(|c| c.query(sql::USERS, &[]))?;
        rows.iter().map(user_from_row).collect()
    }

    fn create_session(&self, s: &Session) -> Result<()> {
        self.with(|c| {
            c.execute(sql::DELETE_EXPIRED_SESSIONS, &[&now()])?;
            c.execute(
                sql::CREATE_SESSION,
                &[
                    &s.id_hash,
                    &s.user_id,
                    &s.csrf_token,
                    &s.created_at,
                    &s.expires_at,
                ],
            )
            .map(drop)
        })
    }

    fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        let row = self.with(|c| c.query_opt(sql::SESSION, &[&id_hash]))?;
        Ok(row.map(|r| Session {
            id_hash: r.get(0),
            user_id: r.get(1),
            csrf_token: r.get(2),
            created_at: r.get(3),
            expires_at: r.get(4),
        }))
    }

    fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.with(|c| c.execute(sql::DELETE_SESSION, &[&id_hash]).map(drop))
    }

    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = self.with(|c| c.query_opt(sql::API_TOKEN, &[&token_hash]))?;
        row.as_ref().map(token_from_row).transpose()
    }

    fn api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
        let rows = self.with(|c| {
            c.query(
                &format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens WHERE $1::BIGINT IS NULL OR user_id = $1 ORDER BY id"
                ),
                &[&user_id],
            )
        })?;
        rows.iter().map(token_from_row).collect()
    }

    fn touch_api_token(&self, id: i64, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
                &[&at, &id],
            )
            .map(drop)
        })
    }

    fn run_audited(&self, f: &mut dyn FnMut(&mut dyn crate::Tx) -> bool) -> Result<()> {
        self.run_audited_impl(f)
    }

    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows = self.with(|c| c.query(sql::AUDIT_ENTRIES, &[&after, &(limit as i64)]))?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows = self.with(|c| c.query(sql::RECENT_AUDIT, &[&(limit as i64)]))?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    fn last_audit_of(&self, action: &str) -> Result<Option<AuditEntry>> {
        let row = self.with(|c| c.query_opt(sql::LAST_AUDIT_OF, &[&action]))?;
        Ok(row.as_ref().map(audit_from_row))
    }

    fn signed_audit_head(&self) -> Result<crate::AuditHead> {
        self.with(|c| {
            let r = c.query_one(sql::AUDIT_HEAD, &[])?;
            Ok(crate::AuditHead {
                seq: r.get(0),
                hash: r.get(1),
                mac: r.get(2),
            })
        })
    }

    fn audit_key(&self) -> &AuditKey {
        &self.key
    }
}
