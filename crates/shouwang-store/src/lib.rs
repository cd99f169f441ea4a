//! Shouwang's persistence.
//!
//! One trait, [`Store`], with two real implementations: embedded SQLite (the
//! default: one file in the data dir, WAL) and PostgreSQL (a central server
//! for a county or city that watches many units). Both run versioned
//! migrations on open and keep a hash-chained, keyed audit log whose
//! [`Store::verify_audit`] names the first row that was edited, inserted or
//! deleted behind Shouwang's back.
//!
//! The trait is synchronous: SQLite is, and it keeps the libraries testable
//! without a runtime. Async callers go through [`blocking`].

mod audit;
mod blocking;
mod file;
mod incident;
mod merge_sites;
mod pool;
mod postgres;
mod postgres_incident;
mod postgres_report;
mod postgres_tx;
mod raw;
mod report;
mod reserve;
mod sql;
mod sqlite;
mod sqlite_incident;
mod sqlite_report;
mod sqlite_tx;
mod terminal;
mod tx;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{
    Asset, AssetRef, Event, Finding, FindingStatus, NewEvent, NewFinding, Severity,
};

pub use audit::{
    AuditAnchor, AuditHead, AuditKey, AuditVerdict, BadAnchor, GENESIS_HASH, load_or_create_secret,
};
pub use blocking::{Panicked, blocking, try_blocking};
pub use file::replace_file;
pub use incident::{
    ChangeNote, IncidentBatch, IncidentChange, IncidentFilter, Incidents, Members, STAFF_SETTING,
    Settings, UNIT_PROFILE_SETTING, staff, unit_profile,
};
pub use postgres::PostgresStore;
pub use report::{
    Aggregates, AssetCount, AssignmentGroup, DayCount, DayQuery, FindingGroup, FindingGroupQuery,
    KindCount, NumberStats, Rollup, RollupQuery, TimeRange,
};
pub use reserve::RESERVE_BYTES;
pub use sqlite::SqliteStore;
pub use terminal::{
    NewTerminal, NewTerminalReport, NewTerminalToken, Terminal, TerminalToken, Terminals,
};
pub use tx::{RESOLVED_NAMED, RunScope, Tx, resolve_not_seen};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The newest schema version this build knows: the SQL migrations under
/// `migrations/` up to 7, then 8, the merge of a website's spellings into
/// one asset, in Rust (`merge_sites`).
pub const SCHEMA_VERSION: i64 = 9;

/// Everything that can go wrong in the store, phrased for the person who
/// has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {detail}. {hint}")]
    Open {
        path: PathBuf,
        detail: String,
        hint: &'static str,
    },
    #[error(
        "the database {path} is damaged or is not a Shouwang database ({detail}). Nothing was changed. Move the file aside and restore it from a backup, or start with an empty data dir"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "cannot connect to PostgreSQL at {target}: {detail}. Check [store] postgres_url in the config and that the server is running"
    )]
    Connect { target: String, detail: String },
    #[error(
        "the database schema is version {found}, newer than this shouwang supports ({supported}). Upgrade shouwang; nothing was changed"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id:?} already exists")]
    AlreadyExists { what: &'static str, id: String },
    #[error("{what} changed underneath: {detail}; retry")]
    Conflict { what: &'static str, detail: String },
    #[error("the stored {what} is invalid: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error(
        "a change was about to be stored without its audit entry, so nothing was changed; this is a bug in Shouwang, please report it"
    )]
    Unaudited,
    #[error("cannot use the key file {path}: {detail}")]
    AuditKey { path: PathBuf, detail: String },
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL error: {0}")]
    Postgres(#[from] ::postgres::Error),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Embedded SQLite in the data dir: the default for one machine.
    #[default]
    Sqlite,
    /// A PostgreSQL server: for a central server that watches many units.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The `[store]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite` (default) or `postgres`.
    pub backend: Backend,
    /// For `postgres`: a connection string such as
    /// `postgresql://shouwang:secret@127.0.0.1/shouwang`.
    pub postgres_url: Option<String>,
}

/// The name of the SQLite database file inside the data dir.
pub const SQLITE_FILE: &str = "shouwang.db";
/// The name of the audit-log key file inside the data dir.
pub const AUDIT_KEY_FILE: &str = "audit.key";

/// Open (and migrate) the store the config names, keeping its files in
/// `data_dir`. The data dir must exist.
pub fn open(config: &StoreConfig, data_dir: &Path) -> Result<Box<dyn Store>> {
    let key_path = data_dir.join(AUDIT_KEY_FILE);
    let key_existed = key_path.exists();
    let store = open_with_key(config, data_dir, &key_path)?;
    // Only a log with no entries may get a new key: one made over a signed
    // log could verify none of it, and would sign new entries that no one
    // could tell from forgeries. The key just made protects nothing: it goes,
    // so every start says the same until the key is restored.
    if !key_existed {
        let (entries, _) = store.audit_head()?;
        if entries > 0 {
            let _ = std::fs::remove_file(&key_path);
            return Err(StoreError::AuditKey {
                path: key_path,
                detail: format!(
                    "it is missing, but the audit log already holds {entries} entries signed with it; restore it from a backup of the data dir (a new key could verify none of them)"
                ),
            });
        }
    }
    Ok(store)
}

fn open_with_key(config: &StoreConfig, data_dir: &Path, key_path: &Path) -> Result<Box<dyn Store>> {
    match config.backend {
        Backend::Sqlite => {
            let db = data_dir.join(SQLITE_FILE);
            // Check an existing database read-only before touching anything,
            // so that a damaged one changes nothing in the data dir.
            SqliteStore::check_existing(&db)?;
            let key = AuditKey::load_or_create(key_path)?;
            Ok(Box::new(SqliteStore::open(&db, key)?))
        }
        Backend::Postgres => {
            let url = config
                .postgres_url
                .as_deref()
                .ok_or_else(|| StoreError::Connect {
                    target: "(none)".into(),
                    detail: "[store] backend is \"postgres\" but postgres_url is not set".into(),
                })?;
            let key = AuditKey::load_or_create(key_path)?;
            Ok(Box::new(PostgresStore::connect(url, key)?))
        }
    }
}

/// Which findings to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FindingFilter {
    pub status: Option<FindingStatus>,
    pub severity: Option<Severity>,
    pub sensor: Option<String>,
    pub asset: Option<AssetRef>,
    /// At most this many, most severe and most recent first; 0 means 500.
    pub limit: usize,
    pub offset: usize,
}

impl FindingFilter {
    pub(crate) fn effective_limit(&self) -> i64 {
        if self.limit == 0 {
            500
        } else {
            self.limit as i64
        }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventFilter {
    pub sensor: Option<String>,
    /// Events whose kind starts with this, e.g. `guard.`.
    pub kind_prefix: Option<String>,
    /// Only the events of this asset.
    pub asset: Option<AssetRef>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// At most this many, newest first; 0 means 500.
    pub limit: usize,
}

impl EventFilter {
    pub(crate) fn effective_limit(&self) -> i64 {
        if self.limit == 0 {
            500
        } else {
            self.limit as i64
        }
    }
}

/// Open findings of one sensor at one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    pub sensor: String,
    pub severity: Severity,
    pub count: u64,
}

/// What a person may do in the console and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 管理员: everything, including users.
    Admin,
    /// 操作员: acts on findings and sensors, not on users.
    Operator,
    /// 审计员: reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Operator => "操作员",
            Role::Auditor => "审计员",
        }
    }

    /// May this role change findings and run actions?
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }

    /// May this role manage users?
    pub fn can_admin(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = shouwang_model::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.zh() == s)
            .ok_or_else(|| shouwang_model::UnknownName {
                what: "role",
                value: s.to_string(),
                expected: "admin, operator, auditor (管理员, 操作员, 审计员)",
            })
    }
}

/// A console account. The password is kept only as an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub disabled: bool,
    /// Set for a generated one-time password: the console asks for a new
    /// one at the next login.
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// A change to a user's account state.
#[derive(Debug, Clone)]
pub enum UserChange {
    Password {
        hash: String,
        must_change: bool,
    },
    Disabled(bool),
    /// A failed login: count it, and lock the account until the given time
    /// when the count reached the limit.
    LoginFailed {
        locked_until: Option<DateTime<Utc>>,
    },
    /// A successful login: forget earlier failures and any lock.
    LoginSucceeded,
}

/// The failed logins counted for one submitted user name (an account's
/// or not), in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailures {
    pub failures: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_failed_at: DateTime<Utc>,
}

/// How many names' failed logins the store keeps, so names made up by an
/// attacker cannot grow the table without end: every
/// [`LOGIN_FAILURES_PRUNED_EVERY`]th name counted drops those whose last
/// failure is oldest beyond this (pruning at each failure would read this
/// many rows each time).
pub const LOGIN_FAILURES_KEPT: i64 = 10_000;
/// See [`LOGIN_FAILURES_KEPT`]: the table never holds more than the sum.
pub const LOGIN_FAILURES_PRUNED_EVERY: i64 = 256;

/// A console login session. The store keeps only the hash of the cookie
/// value, so a copy of the database does not let anyone log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An API token. Only its hash is stored; the token is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip_serializing)]
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub scope: TokenScope,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub scope: TokenScope,
    pub expires_at: DateTime<Utc>,
}

/// What an API token may do, within its user's role: each scope includes
/// the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Read pages and the API; change nothing.
    Read,
    /// Also change findings and incidents, as an operator does.
    Operate,
    /// Also manage users and tokens.
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [TokenScope::Read, TokenScope::Operate, TokenScope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Operate => "operate",
            TokenScope::Admin => "admin",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            TokenScope::Read => "只读",
            TokenScope::Operate => "操作",
            TokenScope::Admin => "管理",
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenScope {
    type Err = shouwang_model::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenScope::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.zh() == s)
            .ok_or_else(|| shouwang_model::UnknownName {
                what: "token scope",
                value: s.to_string(),
                expected: "read, operate, admin (只读, 操作, 管理)",
            })
    }
}

/// An action to append to the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Who: a user name, or `system` / a sensor name for automatic actions.
    pub actor: String,
    /// What, dotted: `user.login`, `finding.status`, `guard.restore`.
    pub action: String,
    /// On what: a user, a finding id, a path.
    pub target: String,
    /// More facts as JSON text (kept byte for byte: it is hashed).
    pub details: String,
}

impl NewAuditEntry {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        let action = action.into();
        // Pages show each action by its label: one without a label would
        // show its dotted name in the Chinese interface.
        debug_assert!(
            shouwang_model::audit::action_label(&action).is_some(),
            "the audit action {action:?} has no label in shouwang_model::audit"
        );
        NewAuditEntry {
            actor: actor.into(),
            action,
            target: target.into(),
            details: details.to_string(),
        }
    }
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The persistence interface every part of Shouwang uses.
pub trait Store:
    Aggregates + Incidents + Settings + Terminals + Send + Sync + std::fmt::Debug
{
    fn backend(&self) -> Backend;
    /// A human description of where the data lives (file path or server),
    /// with no password in it.
    fn location(&self) -> String;
    /// The schema version the database is at.
    fn schema_version(&self) -> Result<i64>;

    // --- assets ---
    fn upsert_asset(&self, asset: &Asset) -> Result<()>;
    fn assets(&self) -> Result<Vec<Asset>>;

    // --- findings ---
    /// Record observations. The same check on the same asset and location
    /// updates one finding (last seen, evidence, severity); a resolved one
    /// is reopened; an accepted risk stays accepted. Returns the ids.
    fn record_findings(&self, findings: &[NewFinding]) -> Result<Vec<i64>>;
    fn finding(&self, id: i64) -> Result<Option<Finding>>;
    fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>>;
    /// Who answers for a finding and by when, if anyone was named; kept
    /// beside the finding, so a run that observes it again leaves it.
    fn finding_assignment(&self, id: i64) -> Result<Option<shouwang_model::FindingAssignment>>;
    /// Open findings counted by sensor and severity.
    fn open_finding_counts(&self) -> Result<Vec<FindingCount>>;

    // --- events ---
    /// Append events in one transaction.
    fn record_events(&self, events: &[NewEvent]) -> Result<()>;
    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>>;
    fn event_count(&self) -> Result<u64>;

    // --- users, sessions, tokens ---
    // People's changes to accounts are made in `audited` (see `Tx`).
    fn user(&self, id: i64) -> Result<Option<User>>;
    fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    fn users(&self) -> Result<Vec<User>>;

    fn create_session(&self, session: &Session) -> Result<()>;
    fn session(&self, id_hash: &str) -> Result<Option<Session>>;
    fn delete_session(&self, id_hash: &str) -> Result<()>;

    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// Every API token, or one user's, oldest first.
    fn api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>>;
    /// Note that a token was used (bookkeeping, not audited).
    fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<()>;

    // --- audit log ---
    /// The object-safe core of [`audited`](trait.Store.html#method.audited)
    /// (call that instead): one transaction that holds the audit chain's
    /// head from its start; `f` returns whether to commit. Commits only if
    /// every change was audited.
    #[doc(hidden)]
    fn run_audited(&self, f: &mut dyn FnMut(&mut dyn Tx) -> bool) -> Result<()>;
    /// Entries with `seq > after`, oldest first.
    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// The newest entries, newest first, for display.
    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>>;
    /// The newest entry of `action`, if any (has a report been taken?).
    fn last_audit_of(&self, action: &str) -> Result<Option<AuditEntry>>;
    /// The recorded head of the chain: the last sequence number and hash.
    fn audit_head(&self) -> Result<(i64, String)> {
        let h = self.signed_audit_head()?;
        Ok((h.seq, h.hash))
    }
    /// The head with its MAC, read in one statement.
    fn signed_audit_head(&self) -> Result<AuditHead>;
    /// The key the chain is computed with.
    fn audit_key(&self) -> &AuditKey;

    /// Walk the whole chain and name the first row that does not fit.
    fn verify_audit(&self) -> Result<AuditVerdict> {
        audit::verify(self)
    }

    /// [`verify_audit`](Self::verify_audit), and that the log still reaches
    /// an anchor written down earlier (which catches a replayed older head).
    fn verify_audit_against(&self, anchor: &AuditAnchor) -> Result<AuditVerdict> {
        audit::verify_against(self, anchor)
    }

    /// The log's anchor now, to be written down outside the box.
    fn audit_anchor(&self) -> Result<AuditAnchor> {
        audit::anchor(self)
    }
}

/// Microseconds since the epoch: the precision both backends keep exactly.
/// A value bound to a filter's placeholder.
pub(crate) enum FilterValue {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// The WHERE clause (with `placeholder(n)` for the n-th value) and values
/// that select the findings a filter asks for. Shared by both backends.
pub(crate) fn finding_where(
    f: &FindingFilter,
    placeholder: fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut w = Where::new(placeholder);
    let mut add = |clause: &str, v: FilterValue| w.add(clause, v);
    if let Some(st) = f.status {
        add("status = ?", FilterValue::Text(st.as_str().into()));
    }
    if let Some(sev) = f.severity {
        add("severity = ?", FilterValue::Int(severity_rank(sev)));
    }
    if let Some(s) = &f.sensor {
        add("sensor = ?", FilterValue::Text(s.clone()));
    }
    if let Some(a) = &f.asset {
        add("asset_kind = ?", FilterValue::Text(a.kind.as_str().into()));
        add("asset_locator = ?", FilterValue::Text(a.locator.clone()));
    }
    w.finish()
}

/// Like [`finding_where`], for events.
pub(crate) fn event_where(
    f: &EventFilter,
    placeholder: fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut w = Where::new(placeholder);
    let mut add = |clause: &str, v: FilterValue| w.add(clause, v);
    if let Some(s) = &f.sensor {
        add("sensor = ?", FilterValue::Text(s.clone()));
    }
    if let Some(p) = &f.kind_prefix {
        // substr rather than LIKE, so that `_` and `%` in the prefix are
        // literal; the length is a number we computed, safe to inline.
        let clause = format!("substr(kind, 1, {}) = ?", p.chars().count());
        add(&clause, FilterValue::Text(p.clone()));
    }
    if let Some(a) = &f.asset {
        add("asset_kind = ?", FilterValue::Text(a.kind.as_str().into()));
        add("asset_locator = ?", FilterValue::Text(a.locator.clone()));
    }
    if let Some(t) = f.since {
        add("time >= ?", FilterValue::Time(t));
    }
    if let Some(t) = f.until {
        add("time < ?", FilterValue::Time(t));
    }
    w.finish()
}

/// Like [`finding_where`], for incidents.
pub(crate) fn incident_where(
    f: &IncidentFilter,
    placeholder: fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut w = Where::new(placeholder);
    let mut add = |clause: &str, v: FilterValue| w.add(clause, v);
    if let Some(st) = f.status {
        add("status = ?", FilterValue::Text(st.as_str().into()));
    }
    if let Some(l) = f.level {
        add("level = ?", FilterValue::Text(l.as_str().into()));
    }
    if let Some(t) = f.since {
        add("discovered_at >= ?", FilterValue::Time(t));
    }
    if let Some(t) = f.until {
        add("discovered_at < ?", FilterValue::Time(t));
    }
    if let Some(id) = f.after_id {
        add("id > ?", FilterValue::Int(id));
    }
    if let Some(min) = f.min_level {
        // Levels are names in the database: the ones at or above `min`,
        // listed (they are four, and fixed by the standard).
        let names: Vec<String> = shouwang_model::taxonomy::IncidentLevel::ALL
            .iter()
            .filter(|l| **l >= min)
            .map(|l| format!("'{}'", l.as_str()))
            .collect();
        w.clauses.push(format!("level IN ({})", names.join(", ")));
    }
    if f.unreported {
        w.clauses
            .push("(first_reported_at IS NULL OR summary_reported_at IS NULL)".into());
    }
    if f.open_only {
        w.clauses.push("status <> 'closed'".into());
    }
    w.finish()
}

/// A WHERE clause built one condition at a time, each `?` in a condition
/// replaced by the backend's placeholder for its value.
struct Where {
    placeholder: fn(usize) -> String,
    clauses: Vec<String>,
    values: Vec<FilterValue>,
}

impl Where {
    fn new(placeholder: fn(usize) -> String) -> Self {
        Where {
            placeholder,
            clauses: Vec::new(),
            values: Vec::new(),
        }
    }

    fn add(&mut self, clause: &str, v: FilterValue) {
        self.values.push(v);
        self.clauses
            .push(clause.replace('?', &(self.placeholder)(self.values.len())));
    }

    fn finish(self) -> (String, Vec<FilterValue>) {
        let sql = if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        };
        (sql, self.values)
    }
}

/// The columns of a finding row, in the order both backends read them.
pub(crate) use crate::sql::FINDING_COLS;

/// The whole query of `Store::findings` (and `Tx::findings`) for a filter,
/// with the backend's placeholders.
pub(crate) fn findings_query(
    f: &FindingFilter,
    placeholder: fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let (where_sql, values) = finding_where(f, placeholder);
    let sql = format!(
        "SELECT {FINDING_COLS} FROM findings {where_sql}
         ORDER BY severity DESC, last_seen DESC, id DESC LIMIT {} OFFSET {}",
        f.effective_limit(),
        f.offset
    );
    (sql, values)
}

pub(crate) fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Now, truncated to what the database keeps, so that a value read back
/// equals the value written (the audit chain hashes it).
pub(crate) fn now() -> DateTime<Utc> {
    from_micros(to_micros(Utc::now()))
}

pub(crate) fn parse_name<T: FromStr>(what: &'static str, s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Invalid {
        what,
        detail: format!("unknown value {s:?}"),
    })
}

pub(crate) fn severity_from_rank(rank: i64) -> Result<Severity> {
    usize::try_from(rank)
        .ok()
        .and_then(|r| Severity::ALL.iter().rev().nth(r).copied())
        .ok_or_else(|| StoreError::Invalid {
            what: "severity",
            detail: format!("rank {rank}"),
        })
}

pub(crate) fn severity_rank(s: Severity) -> i64 {
    s as i64
}
