//! The SQL both backends run: one text per statement.
//!
//! Placeholders are written `$1`, `$2`, … as PostgreSQL wants them. SQLite
//! reads `$1` as a named parameter and numbers named parameters in the order
//! they first appear, so a statement here numbers its placeholders in that
//! order and positional binding means the same on both (a test prepares
//! every statement on SQLite and checks it). A statement whose text differs
//! between the backends (SQLite's `INSERT OR IGNORE`, `json_extract`, its
//! catalogue) stays in its backend.

macro_rules! finding_cols {
    () => {
        "id, sensor, check_id, asset_kind, asset_locator, severity, title_zh, title_en, evidence, location, status, first_seen, last_seen, version, observed_at, input"
    };
}
macro_rules! event_cols {
    () => {
        "id, time, kind, sensor, check_id, asset_kind, asset_locator, severity, summary, details, version, observed_at, input"
    };
}
macro_rules! user_cols {
    () => {
        "id, name, role, password_hash, disabled, must_change_password, failed_logins, locked_until, created_at"
    };
}
macro_rules! incident_cols {
    () => {
        "id, title, subclass, level, status, asset_kind, asset_locator, rule, group_key, discovered_at, last_activity, updated_at, handling_ended_at, closed_at, first_reported_at, summary_reported_at, event_count, finding_count, summary"
    };
}

/// The columns each row type is read from, in the order the backends'
/// `*_from_row` read them.
pub(crate) const FINDING_COLS: &str = finding_cols!();
pub(crate) const EVENT_COLS: &str = event_cols!();
pub(crate) const INCIDENT_COLS: &str = incident_cols!();

pub(crate) const MIGRATE: &str =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)";

pub(crate) const ASSETS: &str =
    "SELECT kind, locator, name, details FROM assets ORDER BY kind, locator";

pub(crate) const RECORD_FINDINGS: &str = "INSERT INTO findings (fingerprint, sensor, check_id, asset_kind, asset_locator, severity,
                        title_zh, title_en, evidence, location, status, first_seen, last_seen, version, observed_at, input)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11, $12, $11, $13)
                     ON CONFLICT (fingerprint) DO UPDATE SET
                        severity = excluded.severity, title_zh = excluded.title_zh, title_en = excluded.title_en,
                        evidence = excluded.evidence, last_seen = excluded.last_seen, version = excluded.version,
                        observed_at = excluded.observed_at, input = excluded.input,
                        status = CASE WHEN findings.status = 'resolved' THEN 'open' ELSE findings.status END
                     RETURNING id";

pub(crate) const FINDING: &str =
    concat!("SELECT ", finding_cols!(), " FROM findings WHERE id = $1");

pub(crate) const OPEN_FINDING_COUNTS: &str =
    "SELECT sensor, severity, COUNT(*) FROM findings WHERE status = 'open'
                 GROUP BY sensor, severity ORDER BY sensor, severity DESC";

pub(crate) const EVENT_COUNT: &str = "SELECT COUNT(*) FROM events";

pub(crate) const USER: &str = concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1");

pub(crate) const USER_BY_NAME: &str =
    concat!("SELECT ", user_cols!(), " FROM users WHERE name = $1");

pub(crate) const USERS: &str = concat!("SELECT ", user_cols!(), " FROM users ORDER BY name");

pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at < $1";

pub(crate) const CREATE_SESSION: &str =
    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)";

pub(crate) const SESSION: &str =
    "SELECT id_hash, user_id, csrf_token, created_at, expires_at FROM sessions WHERE id_hash = $1";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

macro_rules! token_cols {
    () => {
        "id, user_id, name, token_hash, created_at, scope, expires_at, last_used_at"
    };
}
pub(crate) const TOKEN_COLS: &str = token_cols!();

pub(crate) const API_TOKEN: &str = concat!(
    "SELECT ",
    token_cols!(),
    " FROM api_tokens WHERE token_hash = $1"
);

pub(crate) const AUDIT_ENTRIES: &str =
    "SELECT seq, time, actor, action, target, details, prev_hash, hash FROM audit_log
                 WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const LAST_AUDIT_OF: &str =
    "SELECT seq, time, actor, action, target, details, prev_hash, hash FROM audit_log
                    WHERE action = $1 ORDER BY seq DESC LIMIT 1";

pub(crate) const RECENT_AUDIT: &str =
    "SELECT seq, time, actor, action, target, details, prev_hash, hash FROM audit_log
                 ORDER BY seq DESC LIMIT $1";

pub(crate) const AUDIT_HEAD: &str = "SELECT seq, hash, mac FROM audit_head WHERE id = 1";

pub(crate) const SIGN_AUDIT_HEAD: &str = "UPDATE audit_head SET mac = $1 WHERE id = 1";

pub(crate) const INSERT_TIMELINE: &str =
    "INSERT INTO incident_timeline (incident_id, at, actor, kind, text, details)
         VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const SET_SETTING: &str =
    "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE name = $1";

pub(crate) const CREATE_INCIDENT: &str = "INSERT INTO incidents (title, subclass, level, status, asset_kind, asset_locator, rule,
                        group_key, discovered_at, last_activity, updated_at, summary)
                     VALUES ($1, $2, $3, 'discovered', $4, $5, $6, $7, $8, $8, $9, $10) RETURNING id";

pub(crate) const INCIDENT: &str =
    concat!("SELECT ", incident_cols!(), " FROM incidents WHERE id = $1");

pub(crate) const OPEN_INCIDENT_FOR_GROUP: &str = concat!(
    "SELECT ",
    incident_cols!(),
    " FROM incidents WHERE group_key = $1 AND status <> 'closed'
                     ORDER BY last_activity DESC, id DESC LIMIT 1"
);

pub(crate) const TIMELINE: &str =
    "SELECT id, incident_id, at, actor, kind, text, details FROM incident_timeline
                 WHERE incident_id = $1 ORDER BY at, id";

pub(crate) const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_cols!(),
    " FROM events WHERE id > $1 ORDER BY id LIMIT $2"
);

pub(crate) const FINDINGS_AFTER: &str = concat!(
    "SELECT ",
    finding_cols!(),
    " FROM findings WHERE id > $1 ORDER BY id LIMIT $2"
);

pub(crate) const REPORT_FINDING_ASSET_COUNTS: &str =
    "SELECT asset_kind, asset_locator, COUNT(*) FROM findings
                 WHERE sensor = $1 AND status = $2
                 GROUP BY asset_kind, asset_locator ORDER BY asset_kind, asset_locator";

pub(crate) const APPEND_AUDIT: &str =
    "INSERT INTO audit_log (seq, time, actor, action, target, details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const MOVE_AUDIT_HEAD: &str =
    "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1";

pub(crate) const SET_FINDING_STATUS: &str = "UPDATE findings SET status = $1 WHERE id = $2";

pub(crate) const SET_FINDING_ASSIGNMENT: &str =
    "INSERT INTO finding_assignments (finding_id, owner, due_date, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (finding_id) DO UPDATE
             SET owner = excluded.owner, due_date = excluded.due_date, updated_at = excluded.updated_at";

pub(crate) const DELETE_FINDING_ASSIGNMENT: &str =
    "DELETE FROM finding_assignments WHERE finding_id = $1";

pub(crate) const FINDING_ASSIGNMENT: &str =
    "SELECT owner, due_date FROM finding_assignments WHERE finding_id = $1";

pub(crate) const FINDING_ASSIGNMENTS: &str =
    "SELECT finding_id, owner, due_date FROM finding_assignments ORDER BY finding_id";

/// Per open check group and owner, the earliest due date (dates are
/// `YYYY-MM-DD`, so text order is date order).
pub(crate) const OPEN_ASSIGNMENT_GROUPS: &str =
    "SELECT f.sensor, f.check_id, a.owner, MIN(a.due_date) FROM finding_assignments a
             JOIN findings f ON f.id = a.finding_id
             WHERE f.status = 'open'
             GROUP BY f.sensor, f.check_id, a.owner ORDER BY f.sensor, f.check_id, a.owner";

pub(crate) const DELETE_ASSET: &str = "DELETE FROM assets WHERE kind = $1 AND locator = $2";

pub(crate) const UPSERT_ASSET: &str =
    "INSERT INTO assets (kind, locator, name, details, first_seen, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (kind, locator) DO UPDATE SET
               name = excluded.name, details = excluded.details, last_seen = excluded.last_seen";

pub(crate) const CREATE_USER: &str = concat!(
    "INSERT INTO users (name, role, password_hash, must_change_password, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING ",
    user_cols!()
);

pub(crate) const SET_PASSWORD: &str =
    "UPDATE users SET password_hash = $1, must_change_password = $2,
                    failed_logins = 0, locked_until = NULL WHERE id = $3";

pub(crate) const SET_USER_DISABLED: &str = "UPDATE users SET disabled = $1 WHERE id = $2";

pub(crate) const COUNT_FAILED_LOGIN: &str = "UPDATE users SET failed_logins = failed_logins + 1,
                    locked_until = COALESCE($1, locked_until) WHERE id = $2";

pub(crate) const CLEAR_FAILED_LOGINS: &str =
    "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1";

pub(crate) const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

pub(crate) const CREATE_API_TOKEN: &str = concat!(
    "INSERT INTO api_tokens (user_id, name, token_hash, created_at, scope, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    token_cols!()
);

pub(crate) const TOUCH_INCIDENT: &str = "UPDATE incidents SET updated_at = $1 WHERE id = $2";

pub(crate) const SET_INCIDENT_STATUS: &str = "UPDATE incidents SET status = $1,
                    handling_ended_at = CASE WHEN $2 THEN COALESCE(handling_ended_at, $3) ELSE handling_ended_at END,
                    closed_at = CASE WHEN $1 = 'closed' THEN COALESCE(closed_at, $3) ELSE NULL END
                 WHERE id = $4";

pub(crate) const SET_INCIDENT_LEVEL: &str = "UPDATE incidents SET level = $1 WHERE id = $2";

/// `a, b` → `x.a, x.b`, for joins.
fn prefixed(table: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Store::events`: newest first. `where_sql` is the shared `event_where`.
pub(crate) fn events(where_sql: &str, limit: i64) -> String {
    format!("SELECT {EVENT_COLS} FROM events {where_sql} ORDER BY time DESC, id DESC LIMIT {limit}")
}

/// `Store::incidents`, in the filter's order.
pub(crate) fn incidents(where_sql: &str, order_sql: &str, limit: i64) -> String {
    format!("SELECT {INCIDENT_COLS} FROM incidents {where_sql} {order_sql} LIMIT {limit}")
}

/// How many incidents match.
pub(crate) fn count_incidents(where_sql: &str) -> String {
    format!("SELECT COUNT(*) FROM incidents {where_sql}")
}

/// The events an incident is made of: `$1` the incident, `$2` how many.
pub(crate) fn incident_events() -> String {
    let cols = prefixed("e", EVENT_COLS);
    format!(
        "SELECT {cols} FROM incident_links l JOIN events e ON e.id = l.ref_id
         WHERE l.incident_id = $1 AND l.source = 'event' ORDER BY e.id LIMIT $2"
    )
}

/// The findings an incident is made of (at most 1,000): `$1` the incident.
pub(crate) fn incident_findings() -> String {
    let cols = prefixed("f", FINDING_COLS);
    format!(
        "SELECT {cols} FROM incident_links l JOIN findings f ON f.id = l.ref_id
         WHERE l.incident_id = $1 AND l.source = 'finding' ORDER BY f.id LIMIT 1000"
    )
}

/// Record when a report stage was first made: `$1` the time, `$2` the
/// incident. `col` is one of the incident's report columns, never input.
pub(crate) fn set_reported(col: &str) -> String {
    format!("UPDATE incidents SET {col} = COALESCE({col}, $1) WHERE id = $2")
}

/// Events per kind in a report's period.
pub(crate) fn event_kind_counts(where_sql: &str) -> String {
    format!(
        "SELECT kind, COUNT(*), MIN(time), MAX(time) FROM events {where_sql} GROUP BY kind ORDER BY kind"
    )
}

/// Events per asset and kind; `flagged` is the backend's count of events
/// whose flag field is true.
pub(crate) fn event_asset_counts(flagged: &str, where_sql: &str) -> String {
    format!(
        "SELECT asset_kind, asset_locator, kind, COUNT(*), {flagged}, MAX(time) FROM events {where_sql}
         GROUP BY asset_kind, asset_locator, kind ORDER BY asset_kind, asset_locator, kind"
    )
}

/// The newest matching event of each asset.
pub(crate) fn latest_event_per_asset(where_sql: &str) -> String {
    format!(
        "SELECT {EVENT_COLS} FROM events WHERE id IN
           (SELECT id FROM
              (SELECT id, ROW_NUMBER() OVER
                 (PARTITION BY asset_kind, asset_locator ORDER BY time DESC, id DESC) AS rn
               FROM events {where_sql}) t
            WHERE rn = 1)
         ORDER BY asset_kind, asset_locator"
    )
}

/// The ids of the newest matching events, for a report's samples.
pub(crate) fn event_ids(where_sql: &str, limit: usize) -> String {
    format!("SELECT id FROM events {where_sql} ORDER BY time DESC, id DESC LIMIT {limit}")
}

/// Findings grouped by sensor, check and status, most severe first.
pub(crate) fn finding_groups(where_sql: &str) -> String {
    format!(
        "SELECT sensor, check_id, status, MAX(severity), COUNT(*), MIN(title_zh), MIN(title_en),
                COUNT(DISTINCT asset_kind || ':' || asset_locator), MIN(first_seen), MAX(last_seen)
         FROM findings {where_sql}
         GROUP BY sensor, check_id, status
         ORDER BY MAX(severity) DESC, COUNT(*) DESC, sensor, check_id, status"
    )
}

/// The newest `samples` finding ids of each group of [`finding_groups`].
pub(crate) fn finding_group_samples(where_sql: &str, samples: usize) -> String {
    format!(
        "SELECT sensor, check_id, status, id FROM
           (SELECT sensor, check_id, status, id,
                   ROW_NUMBER() OVER (PARTITION BY sensor, check_id, status ORDER BY id DESC) AS rn
            FROM findings {where_sql}) t
         WHERE rn <= {samples} ORDER BY id DESC"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shared statement, for the test below.
    const ALL: &[(&str, &str)] = &[
        ("MIGRATE", MIGRATE),
        ("ASSETS", ASSETS),
        ("RECORD_FINDINGS", RECORD_FINDINGS),
        ("FINDING", FINDING),
        ("OPEN_FINDING_COUNTS", OPEN_FINDING_COUNTS),
        ("EVENT_COUNT", EVENT_COUNT),
        ("USER", USER),
        ("USER_BY_NAME", USER_BY_NAME),
        ("USERS", USERS),
        ("DELETE_EXPIRED_SESSIONS", DELETE_EXPIRED_SESSIONS),
        ("CREATE_SESSION", CREATE_SESSION),
        ("SESSION", SESSION),
        ("DELETE_SESSION", DELETE_SESSION),
        ("API_TOKEN", API_TOKEN),
        ("AUDIT_ENTRIES", AUDIT_ENTRIES),
        ("RECENT_AUDIT", RECENT_AUDIT),
        ("LAST_AUDIT_OF", LAST_AUDIT_OF),
        ("AUDIT_HEAD", AUDIT_HEAD),
        ("SIGN_AUDIT_HEAD", SIGN_AUDIT_HEAD),
        ("INSERT_TIMELINE", INSERT_TIMELINE),
        ("SET_SETTING", SET_SETTING),
        ("SETTING", SETTING),
        ("CREATE_INCIDENT", CREATE_INCIDENT),
        ("INCIDENT", INCIDENT),
        ("OPEN_INCIDENT_FOR_GROUP", OPEN_INCIDENT_FOR_GROUP),
        ("TIMELINE", TIMELINE),
        ("EVENTS_AFTER", EVENTS_AFTER),
        ("FINDINGS_AFTER", FINDINGS_AFTER),
        ("REPORT_FINDING_ASSET_COUNTS", REPORT_FINDING_ASSET_COUNTS),
        ("APPEND_AUDIT", APPEND_AUDIT),
        ("MOVE_AUDIT_HEAD", MOVE_AUDIT_HEAD),
        ("SET_FINDING_STATUS", SET_FINDING_STATUS),
        ("UPSERT_ASSET", UPSERT_ASSET),
        ("DELETE_ASSET", DELETE_ASSET),
        ("SET_FINDING_ASSIGNMENT", SET_FINDING_ASSIGNMENT),
        ("DELETE_FINDING_ASSIGNMENT", DELETE_FINDING_ASSIGNMENT),
        ("FINDING_ASSIGNMENT", FINDING_ASSIGNMENT),
        ("OPEN_ASSIGNMENT_GROUPS", OPEN_ASSIGNMENT_GROUPS),
        ("FINDING_ASSIGNMENTS", FINDING_ASSIGNMENTS),
        ("CREATE_USER", CREATE_USER),
        ("SET_PASSWORD", SET_PASSWORD),
        ("SET_USER_DISABLED", SET_USER_DISABLED),
        ("COUNT_FAILED_LOGIN", COUNT_FAILED_LOGIN),
        ("CLEAR_FAILED_LOGINS", CLEAR_FAILED_LOGINS),
        ("DELETE_USER_SESSIONS", DELETE_USER_SESSIONS),
        ("CREATE_API_TOKEN", CREATE_API_TOKEN),
        ("TOUCH_INCIDENT", TOUCH_INCIDENT),
        ("SET_INCIDENT_STATUS", SET_INCIDENT_STATUS),
        ("SET_INCIDENT_LEVEL", SET_INCIDENT_LEVEL),
    ];

    #[test]
    fn every_shared_statement_numbers_its_placeholders_in_order_of_appearance() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::AuditKey::from_bytes([7; 32]);
        let store = crate::SqliteStore::open(&dir.path().join("t.db"), key).unwrap();
        // The statements built at run time, with an empty filter.
        let built = [
            ("events", events("", 10)),
            ("incidents", incidents("", "ORDER BY id", 10)),
            ("count_incidents", count_incidents("")),
            ("incident_events", incident_events()),
            ("incident_findings", incident_findings()),
            ("set_reported", set_reported("first_reported_at")),
            ("event_kind_counts", event_kind_counts("")),
            ("event_asset_counts", event_asset_counts("0", "")),
            ("latest_event_per_asset", latest_event_per_asset("")),
            ("event_ids", event_ids("", 5)),
            ("finding_groups", finding_groups("")),
            ("finding_group_samples", finding_group_samples("", 3)),
        ];
        let all = ALL
            .iter()
            .map(|(n, s)| (*n, s.to_string()))
            .chain(built)
            .chain(
                crate::merge_sites::STATEMENTS
                    .iter()
                    .map(|s| ("merge_sites", s.to_string())),
            );
        store
            .pool
            .with(|c| {
                for (name, sql) in all {
                    let st = c.prepare(&sql).unwrap_or_else(|e| panic!("{name}: {e}"));
                    for i in 1..=st.parameter_count() {
                        assert_eq!(
                            st.parameter_index(&format!("${i}")).unwrap(),
                            Some(i),
                            "{name}: ${i} is not the {i}th placeholder to appear"
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
