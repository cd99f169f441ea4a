//! One suite, run against both backends: embedded SQLite, and a real
//! PostgreSQL server named by `SHOUWANG_TEST_PG_URL` (the test script starts
//! one). Without that variable the PostgreSQL half is skipped, loudly,
//! unless `SHOUWANG_REQUIRE_PG=1` says it must run.

use chrono::{Duration, Utc};
use shouwang_model::{
    Asset, AssetKind, AssetRef, FindingStatus, NewEvent, NewFinding, Provenance, Severity, Text,
};
use shouwang_store::{
    AuditKey, AuditVerdict, EventFilter, FindingFilter, LOGIN_FAILURES_KEPT,
    LOGIN_FAILURES_PRUNED_EVERY, LoginFailures, NewApiToken, NewAuditEntry, NewUser, Role, Session,
    Store, StoreError, TokenScope, Tx, UserChange,
};

/// People's changes go through the audited path; tests make them as a
/// person named `tester` would.
trait AsPerson {
    fn as_person<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
}

impl AsPerson for dyn Store + '_ {
    fn as_person<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.audited(|tx| {
            let out = f(tx)?;
            tx.audit(&NewAuditEntry::new(
                "tester",
                "unit.profile",
                "",
                serde_json::Value::Null,
            ))?;
            Ok(out)
        })
    }
}

/// A store under test, and a way to run raw SQL behind its back.
struct Harness {
    store: Box<dyn Store>,
    raw: Box<dyn Fn(&str)>,
    /// The same database opened again, as the next start of Shouwang.
    reopen: Box<dyn Fn() -> Box<dyn Store>>,
    _cleanup: Option<Box<dyn std::any::Any>>,
}

fn sqlite() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = shouwang_store::SqliteStore::open(&path, AuditKey::from_bytes([7; 32])).unwrap();
    let raw_path = path.clone();
    let again = path.clone();
    Harness {
        store: Box::new(store),
        reopen: Box::new(move || {
            Box::new(
                shouwang_store::SqliteStore::open(&again, AuditKey::from_bytes([7; 32])).unwrap(),
            )
        }),
        raw: Box::new(move |sql| {
            rusqlite::Connection::open(&raw_path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }),
        _cleanup: Some(Box::new(dir)),
    }
}

struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn postgres() -> Option<Harness> {
    let Ok(admin_url) = std::env::var("SHOUWANG_TEST_PG_URL") else {
        if std::env::var("SHOUWANG_REQUIRE_PG").as_deref() == Ok("1") {
            panic!("SHOUWANG_REQUIRE_PG=1 but SHOUWANG_TEST_PG_URL is not set");
        }
        eprintln!(
            "SKIPPED: PostgreSQL half of the store suite (set SHOUWANG_TEST_PG_URL; scripts/test does)"
        );
        return None;
    };
    // A fresh database per test keeps tests independent and parallel.
    let name = format!("shouwang_t_{:016x}", rand_u64());
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap_or_else(|e| {
        panic!("cannot reach the test PostgreSQL at SHOUWANG_TEST_PG_URL: {e}")
    });
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut cfg: postgres::Config = admin_url.parse().unwrap();
    cfg.dbname(&name);
    let url = pg_url(&cfg, &name);
    let store =
        shouwang_store::PostgresStore::connect(&url, AuditKey::from_bytes([7; 32])).unwrap();
    let raw_url = url.clone();
    let again = url.clone();
    Some(Harness {
        store: Box::new(store),
        reopen: Box::new(move || {
            Box::new(
                shouwang_store::PostgresStore::connect(&again, AuditKey::from_bytes([7; 32]))
                    .unwrap(),
            )
        }),
        raw: Box::new(move |sql| {
            postgres::Client::connect(&raw_url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap();
        }),
        _cleanup: Some(Box::new(DropDatabase { admin_url, name })),
    })
}

/// The admin URL with its database swapped for `db`, as key=value text.
fn pg_url(cfg: &postgres::Config, db: &str) -> String {
    let host = match cfg.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let mut s = format!("host={host} dbname={db}");
    if let Some(port) = cfg.get_ports().first() {
        s += &format!(" port={port}");
    }
    if let Some(user) = cfg.get_user() {
        s += &format!(" user={user}");
    }
    if let Some(pw) = cfg.get_password() {
        s += &format!(" password={}", String::from_utf8_lossy(pw));
    }
    s
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { let h = super::sqlite(); super::$name(&h); } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { if let Some(h) = super::postgres() { super::$name(&h); } } )*
        }
    };
}

suite!(
    migrates_to_current_schema,
    repeated_observation_updates_one_finding,
    resolved_finding_reopens_but_accepted_risk_stays,
    filters_and_orders_findings,
    counts_open_findings_by_sensor_and_severity,
    unknown_finding_is_not_found,
    records_and_filters_events,
    events_filter_by_asset_in_the_database,
    users_lock_out_and_recover,
    duplicate_user_is_refused,
    sessions_and_tokens_round_trip,
    failed_logins_are_counted_per_name_and_the_table_stays_bounded,
    audit_chain_is_intact_after_appends,
    audit_detects_an_edited_row,
    audit_detects_a_deleted_row,
    audit_detects_truncation,
    audit_detects_a_forged_row,
    audit_detects_a_head_moved_back_over_deleted_entries,
    audit_detects_an_emptied_log,
    an_anchor_catches_an_older_head_put_back,
    concurrent_audited_changes_keep_one_chain,
    a_change_whose_audit_entry_cannot_be_written_is_not_kept,
    a_change_that_fails_after_writing_keeps_neither_change_nor_entry,
    a_change_without_an_audit_entry_is_refused,
    a_run_resolves_what_it_did_not_see_again_with_one_entry,
    assets_upsert,
    incident_batches_link_each_member_once,
    incident_changes_are_recorded_on_the_timeline,
    the_store_finds_the_incidents_whose_reporting_clock_may_run,
    settings_and_feeds_round_trip,
    report_aggregates_count_in_the_database,
    report_finding_groups_name_samples,
    an_assignment_survives_the_next_observation_and_groups_by_check,
    the_staff_roster_is_a_setting_read_back_whole,
    events_are_counted_per_local_day_in_the_database,
    two_spellings_of_one_site_open_as_one_site_keeping_all_its_history,
    a_store_without_duplicate_sites_is_left_as_it_was,
    a_token_enrolls_one_terminal_once_and_a_report_counts_once,
    two_agents_racing_with_one_token_enroll_one_terminal,
);

fn terminal_token(s: &dyn Store, hash: &str, expires: Duration) -> shouwang_store::TerminalToken {
    s.as_person(|tx| {
        tx.create_terminal_token(&shouwang_store::NewTerminalToken {
            name: "办公室-张三".into(),
            secret_hash: hash.into(),
            created_by: "tester".into(),
            expires_at: Utc::now() + expires,
        })
    })
    .unwrap()
}

fn new_terminal(id: &str) -> shouwang_store::NewTerminal {
    shouwang_store::NewTerminal {
        id: id.into(),
        hostname: "PC-ZHANG".into(),
        os: "Debian GNU/Linux 12".into(),
        credential_hash: format!("cred-{id}"),
    }
}

fn a_token_enrolls_one_terminal_once_and_a_report_counts_once(h: &Harness) {
    let s = &*h.store;
    let tok = terminal_token(s, "h1", Duration::hours(24));
    assert_eq!(tok.used_at, None);
    let now = Utc::now();
    let enrolled = s
        .as_person(|tx| {
            let t = tx.terminal_token("h1")?.unwrap();
            tx.enroll_terminal(t.id, &new_terminal("t-0000000000000001"), now)
        })
        .unwrap();
    assert!(enrolled);
    // The same token again: refused, and no second terminal.
    let again = s
        .as_person(|tx| tx.enroll_terminal(tok.id, &new_terminal("t-0000000000000002"), now))
        .unwrap();
    assert!(!again);
    let terms = s.terminals().unwrap();
    assert_eq!(terms.len(), 1);
    assert_eq!(terms[0].hostname, "PC-ZHANG");
    assert_eq!(terms[0].credential_hash, "cred-t-0000000000000001");
    let used = s.terminal_tokens().unwrap();
    assert_eq!(used[0].used_by.as_deref(), Some("t-0000000000000001"));
    assert!(used[0].used_at.is_some());
    // A used token cannot be revoked; an unused one can, and then not used.
    assert!(
        s.as_person(|tx| tx.revoke_terminal_token(tok.id))
            .unwrap()
            .is_none()
    );
    let other = terminal_token(s, "h2", Duration::hours(1));
    assert!(
        s.as_person(|tx| tx.revoke_terminal_token(other.id))
            .unwrap()
            .is_some()
    );
    assert!(
        !s.as_person(|tx| tx.enroll_terminal(other.id, &new_terminal("t-0000000000000003"), now))
            .unwrap()
    );
    // An expired token is not used either.
    let old = terminal_token(s, "h3", Duration::seconds(-1));
    assert!(
        !s.as_person(|tx| tx.enroll_terminal(old.id, &new_terminal("t-0000000000000004"), now))
            .unwrap()
    );
    assert_eq!(s.terminals().unwrap().len(), 1);

    let report = shouwang_store::NewTerminalReport {
        terminal: "t-0000000000000001".into(),
        id: "0123456789abcdef0123456789abcdef".into(),
        seq: 1,
        kind: "inventory".into(),
        created_at: now,
    };
    assert!(s.accept_terminal_report(&report, now).unwrap());
    assert!(
        !s.accept_terminal_report(&report, now).unwrap(),
        "a duplicate is counted once"
    );
    s.forget_terminal_report(&report.terminal, &report.id)
        .unwrap();
    assert!(
        s.accept_terminal_report(&report, now).unwrap(),
        "forgotten, it is taken again"
    );
    s.set_terminal_inventory(
        &report.terminal,
        &serde_json::json!({"cpu": "x86_64", "memory_mb": 8192}),
        now,
    )
    .unwrap();
    let t = s.terminal("t-0000000000000001").unwrap().unwrap();
    assert_eq!(t.inventory.unwrap()["memory_mb"], 8192);
    assert!(t.last_seen.is_some());
    assert_eq!(t.revoked_at, None);
    let revoked = s
        .as_person(|tx| tx.revoke_terminal("t-0000000000000001"))
        .unwrap();
    assert!(revoked.unwrap().revoked_at.is_some());
    assert!(
        s.as_person(|tx| tx.revoke_terminal("t-0000000000000001"))
            .unwrap()
            .is_none()
    );
    // Reopened, all of it is still there.
    let again = (h.reopen)();
    assert!(again.terminals().unwrap()[0].revoked_at.is_some());
    assert_eq!(again.terminal_tokens().unwrap().len(), 3);
}

fn two_agents_racing_with_one_token_enroll_one_terminal(h: &Harness) {
    let tok = terminal_token(&*h.store, "race", Duration::hours(1));
    let stores: Vec<Box<dyn Store>> = (0..4).map(|_| (h.reopen)()).collect();
    let won: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                scope.spawn(move || {
                    let id = format!("t-{:016x}", i + 10);
                    s.as_person(|tx| tx.enroll_terminal(tok.id, &new_terminal(&id), Utc::now()))
                        .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(won, 1);
    assert_eq!(h.store.terminals().unwrap().len(), 1);
}

fn host() -> AssetRef {
    AssetRef::new(AssetKind::Host, "office-pc-01")
}

fn finding(check: &str, location: &str, severity: Severity) -> NewFinding {
    NewFinding {
        asset: host(),
        severity,
        title: Text::new("标题", "Title"),
        evidence: format!("evidence of {check}"),
        location: location.into(),
        provenance: Provenance::now("host", check, "/etc/ssh/sshd_config"),
    }
}

fn event(kind: &str, minutes_ago: i64) -> NewEvent {
    NewEvent {
        time: Utc::now() - Duration::minutes(minutes_ago),
        kind: kind.into(),
        asset: AssetRef::new(AssetKind::WebRoot, "/var/www/html"),
        severity: Severity::High,
        summary: "首页被篡改并已恢复".into(),
        details: serde_json::json!({"path": "index.html", "restore_ms": 3.2}),
        provenance: Provenance::now(kind.split('.').next().unwrap(), kind, "/var/www/html"),
    }
}

fn migrates_to_current_schema(h: &Harness) {
    assert_eq!(
        h.store.schema_version().unwrap(),
        shouwang_store::SCHEMA_VERSION
    );
}

fn repeated_observation_updates_one_finding(h: &Harness) {
    let s = &h.store;
    let first = s
        .record_findings(&[finding("ssh.root", "line 3", Severity::High)])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut again = finding("ssh.root", "line 3", Severity::Critical);
    again.evidence = "PermitRootLogin yes".into();
    let second = s.record_findings(&[again]).unwrap();
    assert_eq!(
        first, second,
        "same check, asset and location is the same finding"
    );
    let f = s.finding(first[0]).unwrap().unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.evidence, "PermitRootLogin yes");
    assert!(
        f.last_seen > f.first_seen,
        "{} vs {}",
        f.last_seen,
        f.first_seen
    );
    assert_eq!(f.check_id(), "ssh.root");
    assert_eq!(f.provenance.input, "/etc/ssh/sshd_config");
    let other = s
        .record_findings(&[finding("ssh.root", "line 9", Severity::High)])
        .unwrap();
    assert_ne!(other, first);
}

fn resolved_finding_reopens_but_accepted_risk_stays(h: &Harness) {
    let s = &h.store;
    let a = s
        .record_findings(&[finding("a", "x", Severity::Low)])
        .unwrap()[0];
    let b = s
        .record_findings(&[finding("b", "x", Severity::Low)])
        .unwrap()[0];
    s.as_person(|tx| tx.set_finding_status(a, FindingStatus::Resolved))
        .unwrap();
    s.as_person(|tx| tx.set_finding_status(b, FindingStatus::AcceptedRisk))
        .unwrap();
    s.record_findings(&[
        finding("a", "x", Severity::Low),
        finding("b", "x", Severity::Low),
    ])
    .unwrap();
    assert_eq!(s.finding(a).unwrap().unwrap().status, FindingStatus::Open);
    assert_eq!(
        s.finding(b).unwrap().unwrap().status,
        FindingStatus::AcceptedRisk
    );
}

fn filters_and_orders_findings(h: &Harness) {
    let s = &h.store;
    s.record_findings(&[
        finding("low", "1", Severity::Low),
        finding("crit", "1", Severity::Critical),
        finding("med", "1", Severity::Medium),
    ])
    .unwrap();
    let mut site = finding("site.deadlink", "https://x.gov.cn/a", Severity::Medium);
    site.provenance.sensor = "site".into();
    site.asset = AssetRef::new(AssetKind::Website, "https://x.gov.cn/");
    s.record_findings(&[site]).unwrap();

    let all = s.findings(&FindingFilter::default()).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].severity, Severity::Critical, "most severe first");
    let sevs: Vec<_> = all.iter().map(|f| f.severity).collect();
    let mut sorted = sevs.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sevs, sorted);

    let by_sensor = s
        .findings(&FindingFilter {
            sensor: Some("site".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_sensor.len(), 1);
    assert_eq!(by_sensor[0].asset.kind, AssetKind::Website);

    let medium = s
        .findings(&FindingFilter {
            severity: Some(Severity::Medium),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(medium.len(), 2);

    s.as_person(|tx| tx.set_finding_status(all[0].id, FindingStatus::Resolved))
        .unwrap();
    let open = s
        .findings(&FindingFilter {
            status: Some(FindingStatus::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 3);
    let by_asset = s
        .findings(&FindingFilter {
            asset: Some(host()),
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_asset.len(), 1);
}

fn counts_open_findings_by_sensor_and_severity(h: &Harness) {
    let s = &h.store;
    s.record_findings(&[
        finding("a", "1", Severity::High),
        finding("b", "1", Severity::High),
        finding("c", "1", Severity::Low),
    ])
    .unwrap();
    let ids = s
        .record_findings(&[finding("d", "1", Severity::High)])
        .unwrap();
    s.as_person(|tx| tx.set_finding_status(ids[0], FindingStatus::Resolved))
        .unwrap();
    let counts = s.open_finding_counts().unwrap();
    let high = counts
        .iter()
        .find(|c| c.severity == Severity::High)
        .unwrap();
    assert_eq!((high.sensor.as_str(), high.count), ("host", 2));
    let low = counts.iter().find(|c| c.severity == Severity::Low).unwrap();
    assert_eq!(low.count, 1);
}

fn unknown_finding_is_not_found(h: &Harness) {
    let err = h
        .store
        .as_person(|tx| tx.set_finding_status(4242, FindingStatus::Resolved))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(h.store.finding(4242).unwrap().is_none());
}

fn records_and_filters_events(h: &Harness) {
    let s = &h.store;
    let mut batch: Vec<NewEvent> = (0..1000)
        .map(|i| event("guard.restored", i % 120))
        .collect();
    batch.push(event("site.unreachable", 1));
    batch.push(event("guard_x.other", 1));
    s.record_events(&batch).unwrap();
    s.record_events(&[]).unwrap();
    assert_eq!(s.event_count().unwrap(), 1002);

    let recent = s
        .events(&EventFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(recent.len(), 10);
    assert!(
        recent
            .windows(2)
            .all(|w| w[0].event.time >= w[1].event.time),
        "newest first"
    );
    assert_eq!(recent[0].event.details["path"], "index.html");
    assert_eq!(recent[0].event.summary, "首页被篡改并已恢复");

    let guard = s
        .events(&EventFilter {
            kind_prefix: Some("guard.".into()),
            limit: 5000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        guard.len(),
        1000,
        "the prefix is literal: guard_x is not guard."
    );
    let last_hour = s
        .events(&EventFilter {
            kind_prefix: Some("guard.".into()),
            since: Some(Utc::now() - Duration::minutes(60)),
            limit: 5000,
            ..Default::default()
        })
        .unwrap();
    assert!(
        last_hour.len() > 400 && last_hour.len() < 600,
        "{}",
        last_hour.len()
    );
    let site = s
        .events(&EventFilter {
            sensor: Some("site".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(site.len(), 1);
    assert_eq!(site[0].sensor(), "site");
}

fn events_filter_by_asset_in_the_database(h: &Harness) {
    let s = &h.store;
    let site = |url: &str, minutes_ago: i64| NewEvent {
        asset: AssetRef::new(AssetKind::Website, url),
        ..event("site.inspected", minutes_ago)
    };
    // Another site's runs are newer, so a page that read the newest rows and
    // kept this site's would find none of them.
    let mut batch: Vec<NewEvent> = (0..3)
        .map(|i| site("https://a.example/", 100 + i))
        .collect();
    batch.extend((0..50).map(|i| site("https://b.example/", i)));
    batch.push(NewEvent {
        asset: AssetRef::new(AssetKind::Host, "https://a.example/"),
        ..event("site.inspected", 1)
    });
    s.record_events(&batch).unwrap();

    let a = AssetRef::new(AssetKind::Website, "https://a.example/");
    let mine = s
        .events(&EventFilter {
            kind_prefix: Some("site.".into()),
            asset: Some(a.clone()),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 2, "the limit counts this asset's rows only");
    assert!(mine.iter().all(|e| e.event.asset == a), "{mine:?}");
    assert_eq!(
        mine[0].event.time.timestamp_micros(),
        batch[0].time.timestamp_micros(),
        "newest first"
    );
}

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        name: name.into(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        must_change_password: true,
    }
}

fn users_lock_out_and_recover(h: &Harness) {
    let s = &h.store;
    let u = s
        .as_person(|tx| tx.create_user(&new_user("张三", Role::Operator)))
        .unwrap();
    assert_eq!(u.role, Role::Operator);
    assert!(u.must_change_password);
    assert_eq!(s.user_by_name("张三").unwrap().unwrap().id, u.id);
    s.as_person(|tx| tx.update_user(u.id, &UserChange::LoginFailed { locked_until: None }))
        .unwrap();
    let until = Utc::now() + Duration::minutes(15);
    let locked = s
        .as_person(|tx| {
            tx.update_user(
                u.id,
                &UserChange::LoginFailed {
                    locked_until: Some(until),
                },
            )
        })
        .unwrap();
    assert_eq!(locked.failed_logins, 2);
    assert!(locked.locked_until.unwrap() > Utc::now());
    let ok = s
        .as_person(|tx| tx.update_user(u.id, &UserChange::LoginSucceeded))
        .unwrap();
    assert_eq!((ok.failed_logins, ok.locked_until), (0, None));
    let pw = s
        .as_person(|tx| {
            tx.update_user(
                u.id,
                &UserChange::Password {
                    hash: "new".into(),
                    must_change: false,
                },
            )
        })
        .unwrap();
    assert_eq!(pw.password_hash, "new");
    assert!(!pw.must_change_password);
    assert!(
        s.as_person(|tx| tx.update_user(u.id, &UserChange::Disabled(true)))
            .unwrap()
            .disabled
    );
    assert!(matches!(
        s.as_person(|tx| tx.update_user(999, &UserChange::Disabled(true))),
        Err(StoreError::NotFound { .. })
    ));
    s.as_person(|tx| tx.create_user(&new_user("auditor", Role::Auditor)))
        .unwrap();
    let names: Vec<_> = s.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names.len(), 2);
}

fn duplicate_user_is_refused(h: &Harness) {
    h.store
        .as_person(|tx| tx.create_user(&new_user("admin", Role::Admin)))
        .unwrap();
    let err = h
        .store
        .as_person(|tx| tx.create_user(&new_user("admin", Role::Auditor)))
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(h.store.users().unwrap().len(), 1);
}

fn sessions_and_tokens_round_trip(h: &Harness) {
    let s = &h.store;
    let u = s
        .as_person(|tx| tx.create_user(&new_user("admin", Role::Admin)))
        .unwrap();
    let t = Utc::now();
    let session = |id: &str, expires| Session {
        id_hash: id.into(),
        user_id: u.id,
        csrf_token: format!("csrf-{id}"),
        created_at: t,
        expires_at: expires,
    };
    s.create_session(&session("old", t - Duration::hours(1)))
        .unwrap();
    s.create_session(&session("a", t + Duration::hours(1)))
        .unwrap();
    assert!(
        s.session("old").unwrap().is_none(),
        "expired sessions are swept"
    );
    let got = s.session("a").unwrap().unwrap();
    assert_eq!(got.csrf_token, "csrf-a");
    s.create_session(&session("b", t + Duration::hours(1)))
        .unwrap();
    s.delete_session("a").unwrap();
    assert!(s.session("a").unwrap().is_none());
    assert!(s.session("b").unwrap().is_some());
    s.as_person(|tx| tx.delete_user_sessions(u.id)).unwrap();
    assert!(s.session("b").unwrap().is_none());

    let ends = chrono::DateTime::from_timestamp_micros((t + Duration::days(30)).timestamp_micros())
        .unwrap();
    let token = |hash: &str, scope| NewApiToken {
        user_id: u.id,
        name: "ci".into(),
        token_hash: hash.into(),
        scope,
        expires_at: ends,
    };
    let tok = s
        .as_person(|tx| tx.create_api_token(&token("hash-1", TokenScope::Read)))
        .unwrap();
    let got = s.api_token("hash-1").unwrap().unwrap();
    assert_eq!(got, tok);
    assert_eq!(
        (got.scope, got.expires_at, got.last_used_at),
        (TokenScope::Read, ends, None)
    );
    assert!(s.api_token("hash-2").unwrap().is_none());
    s.touch_api_token(tok.id, ends).unwrap();
    assert_eq!(
        s.api_token("hash-1").unwrap().unwrap().last_used_at,
        Some(ends)
    );
    let second = s
        .as_person(|tx| tx.create_api_token(&token("hash-2", TokenScope::Admin)))
        .unwrap();
    let listed: Vec<i64> = s
        .api_tokens(Some(u.id))
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, vec![tok.id, second.id]);
    assert_eq!(s.api_tokens(None).unwrap().len(), 2);
    assert!(s.api_tokens(Some(u.id + 100)).unwrap().is_empty());
    let revoked = s.as_person(|tx| tx.revoke_api_token(tok.id)).unwrap();
    assert_eq!(revoked.map(|t| t.id), Some(tok.id));
    assert!(s.api_token("hash-1").unwrap().is_none());
    assert_eq!(s.as_person(|tx| tx.revoke_api_token(tok.id)).unwrap(), None);
    assert_eq!(s.as_person(|tx| tx.revoke_user_tokens(u.id)).unwrap(), 1);
    assert!(s.api_tokens(None).unwrap().is_empty());
}

fn failed_logins_are_counted_per_name_and_the_table_stays_bounded(h: &Harness) {
    let s = &h.store;
    let t = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let counted = |n, lock: Option<i64>| LoginFailures {
        failures: n,
        locked_until: lock.map(|m| t + Duration::minutes(m)),
        last_failed_at: t,
    };
    s.as_person(|tx| {
        tx.set_login_failures("name-a", Some(&counted(1, None)))?;
        tx.set_login_failures("name-a", Some(&counted(2, Some(15))))
    })
    .unwrap();
    let got = s.as_person(|tx| tx.login_failures("name-a")).unwrap();
    assert_eq!(got, Some(counted(2, Some(15))));
    s.as_person(|tx| tx.set_login_failures("name-a", None))
        .unwrap();
    assert_eq!(s.as_person(|tx| tx.login_failures("name-a")).unwrap(), None);

    // An attacker's flood of made-up names: the oldest are dropped.
    let flood = LOGIN_FAILURES_KEPT + 2 * LOGIN_FAILURES_PRUNED_EVERY;
    s.as_person(|tx| {
        for i in 0..flood {
            let f = LoginFailures {
                last_failed_at: t + Duration::milliseconds(i),
                ..counted(1, None)
            };
            tx.set_login_failures(&format!("made-up-{i}"), Some(&f))?;
        }
        Ok(())
    })
    .unwrap();
    let kept = s
        .as_person(|tx| {
            let mut kept = 0;
            for i in 0..flood {
                kept += i64::from(tx.login_failures(&format!("made-up-{i}"))?.is_some());
            }
            Ok(kept)
        })
        .unwrap();
    assert!(
        kept <= LOGIN_FAILURES_KEPT + LOGIN_FAILURES_PRUNED_EVERY,
        "{kept} names kept of {flood}"
    );
    let newest = s
        .as_person(|tx| tx.login_failures(&format!("made-up-{}", flood - 1)))
        .unwrap();
    assert!(newest.is_some(), "the newest name is kept");
    let oldest = s.as_person(|tx| tx.login_failures("made-up-0")).unwrap();
    assert!(oldest.is_none(), "the oldest name is dropped");
}

fn append(h: &Harness, n: usize) {
    for i in 0..n {
        h.store
            .audited(|tx| {
                tx.audit(&NewAuditEntry::new(
                    "admin",
                    "finding.status",
                    format!("finding/{i}"),
                    serde_json::json!({"to": "resolved", "n": i}),
                ))
            })
            .unwrap();
    }
}

fn audit_chain_is_intact_after_appends(h: &Harness) {
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 0 }
    );
    append(h, 5);
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 5 }
    );
    let recent = h.store.recent_audit(2).unwrap();
    assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4]);
    assert_eq!(recent[1].hash, recent[0].prev_hash);
    let last = h.store.last_audit_of("finding.status").unwrap().unwrap();
    assert_eq!((last.seq, last.target.as_str()), (5, "finding/4"));
    assert!(h.store.last_audit_of("report.selfcheck").unwrap().is_none());
}

fn audit_detects_an_edited_row(h: &Harness) {
    append(h, 5);
    (h.raw)("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3");
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Edited { seq: 3 }
    );
}

fn audit_detects_a_deleted_row(h: &Harness) {
    append(h, 5);
    (h.raw)("DELETE FROM audit_log WHERE seq = 2");
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Deleted { seq: 2 }
    );
}

fn audit_detects_truncation(h: &Harness) {
    append(h, 5);
    (h.raw)("DELETE FROM audit_log WHERE seq >= 4");
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Truncated {
            last_seq: 3,
            head_seq: 5
        }
    );
}

fn audit_detects_a_forged_row(h: &Harness) {
    append(h, 3);
    let last = h.store.recent_audit(1).unwrap().remove(0);
    // A row that links to the last one but was hashed without the key.
    let forged = blake3::hash(b"forged").to_hex();
    (h.raw)(&format!(
        "INSERT INTO audit_log (seq, time, actor, action, target, details, prev_hash, hash)
         SELECT 4, time, 'attacker', 'user.add', 'x', '{{}}', '{}', '{forged}' FROM audit_log WHERE seq = 3;
         UPDATE audit_head SET seq = 4, hash = '{forged}'",
        last.hash
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Edited { seq: 4 }
    );
    // Without touching the head it is beyond the chain's end: inserted.
    (h.raw)(&format!(
        "UPDATE audit_head SET seq = 3, hash = '{}'",
        last.hash
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Inserted { seq: 4 }
    );
}

fn audit_detects_a_head_moved_back_over_deleted_entries(h: &Harness) {
    append(h, 5);
    let third = h.store.audit_entries(2, 1).unwrap().remove(0);
    // Rows deleted from the end and the head set to the new last row: the
    // head's MAC was over entry 5, and cannot be made without the key.
    (h.raw)(&format!(
        "DELETE FROM audit_log WHERE seq > 3; UPDATE audit_head SET seq = 3, hash = '{}'",
        third.hash
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::HeadForged { head_seq: 3 }
    );
}

fn audit_detects_an_emptied_log(h: &Harness) {
    // The head of the empty log, with its valid MAC, kept by an attacker.
    let empty = h.store.signed_audit_head().unwrap();
    h.store
        .audited(|tx| {
            tx.create_user(&new_user("alice", Role::Admin))?;
            tx.audit(&NewAuditEntry::new(
                "system",
                "user.add",
                "alice",
                serde_json::Value::Null,
            ))
        })
        .unwrap();
    // Everything deleted and the head zeroed: its MAC is wrong.
    (h.raw)(&format!(
        "DELETE FROM audit_log; UPDATE audit_head SET seq = 0, hash = '{}', mac = NULL",
        shouwang_store::GENESIS_HASH
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::HeadForged { head_seq: 0 }
    );
    // The empty log's own head put back: the users were made with entries.
    (h.raw)(&format!(
        "UPDATE audit_head SET mac = '{}'",
        empty.mac.unwrap()
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Emptied { users: 1 }
    );
}

fn an_anchor_catches_an_older_head_put_back(h: &Harness) {
    append(h, 3);
    let old = h.store.signed_audit_head().unwrap();
    append(h, 2);
    let anchor = h.store.audit_anchor().unwrap();
    assert_eq!(anchor.seq, 5);
    assert!(
        h.store.verify_audit_against(&anchor).unwrap().is_intact(),
        "an untouched log reaches its anchor"
    );
    // Entries 4 and 5 deleted and the head of entry 3, MAC and all, put back.
    (h.raw)(&format!(
        "DELETE FROM audit_log WHERE seq > 3; UPDATE audit_head SET seq = 3, hash = '{}', mac = '{}'",
        old.hash,
        old.mac.unwrap()
    ));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 3 },
        "without an anchor a replayed head cannot be told"
    );
    assert_eq!(
        h.store.verify_audit_against(&anchor).unwrap(),
        AuditVerdict::Rewound {
            head_seq: 3,
            anchored_seq: 5
        }
    );
    let wrong: shouwang_store::AuditAnchor = format!("2:{}", "0".repeat(64)).parse().unwrap();
    assert_eq!(
        h.store.verify_audit_against(&wrong).unwrap(),
        AuditVerdict::AnchorMismatch { seq: 2 }
    );
}

#[test]
fn a_token_made_before_scopes_may_operate_and_ends_in_90_days_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(shouwang_store::SQLITE_FILE);
    {
        let store = shouwang_store::open(&Default::default(), dir.path()).unwrap();
        let store: &dyn Store = &*store;
        store
            .as_person(|tx| {
                let u = tx.create_user(&new_user("ops", Role::Admin))?;
                tx.create_api_token(&NewApiToken {
                    user_id: u.id,
                    name: "old script".into(),
                    token_hash: "old-hash".into(),
                    scope: TokenScope::Admin,
                    expires_at: Utc::now() + Duration::days(9999),
                })
            })
            .unwrap();
    }
    // As schema 5 left it: tokens with no scope and no end (and no
    // assignments, which came after).
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "ALTER TABLE api_tokens DROP COLUMN scope;
             ALTER TABLE api_tokens DROP COLUMN expires_at;
             ALTER TABLE api_tokens DROP COLUMN last_used_at;
             DROP TABLE finding_assignments;
             DROP TABLE terminal_reports;
             DROP TABLE terminals;
             DROP TABLE terminal_tokens;
             DELETE FROM schema_migrations WHERE version >= 6",
        )
        .unwrap();
    let store = shouwang_store::open(&Default::default(), dir.path()).unwrap();
    let t = store.api_token("old-hash").unwrap().unwrap();
    assert_eq!(t.scope, TokenScope::Operate);
    let days = (t.expires_at - Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.0..=90.0).contains(&days), "ends in {days} days");
}

#[test]
fn a_log_written_before_the_head_was_signed_is_signed_when_the_store_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(shouwang_store::SQLITE_FILE);
    {
        let store = shouwang_store::open(&Default::default(), dir.path()).unwrap();
        store
            .record_action(&NewAuditEntry::new(
                "system",
                "system.start",
                "",
                serde_json::Value::Null,
            ))
            .unwrap();
    }
    // As schema 4 left it: no MAC column, migrations 5 and later not applied.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "ALTER TABLE audit_head DROP COLUMN mac;
             ALTER TABLE api_tokens DROP COLUMN scope;
             ALTER TABLE api_tokens DROP COLUMN expires_at;
             ALTER TABLE api_tokens DROP COLUMN last_used_at;
             DROP TABLE finding_assignments;
             DROP TABLE terminal_reports;
             DROP TABLE terminals;
             DROP TABLE terminal_tokens;
             DELETE FROM schema_migrations WHERE version >= 5",
        )
        .unwrap();
    let store = shouwang_store::open(&Default::default(), dir.path()).unwrap();
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 1 }
    );
    // Only the upgrade signs: a MAC cleared later stays a forged head.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE audit_head SET mac = NULL")
        .unwrap();
    drop(store);
    let store = shouwang_store::open(&Default::default(), dir.path()).unwrap();
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditVerdict::HeadForged { head_seq: 1 }
    );
}

#[test]
fn an_anchor_is_read_as_audit_anchor_prints_it() {
    let hash = "ab".repeat(32);
    let a: shouwang_store::AuditAnchor = format!(" 42:{} ", hash.to_uppercase()).parse().unwrap();
    assert_eq!(a.to_string(), format!("42:{hash}"));
    for bad in ["42", "x:ab", "42:abc", &format!("-1:{hash}")] {
        assert!(bad.parse::<shouwang_store::AuditAnchor>().is_err(), "{bad}");
    }
}

fn concurrent_audited_changes_keep_one_chain(h: &Harness) {
    // The store is shared by reference across scoped threads, as the
    // console's blocking pool shares it.
    let store: &dyn Store = &*h.store;
    std::thread::scope(|scope| {
        for t in 0..4 {
            scope.spawn(move || {
                for i in 0..25 {
                    store
                        .audited(|tx| {
                            tx.set_setting(&format!("t{t}"), &serde_json::json!(i))?;
                            tx.audit(&NewAuditEntry::new(
                                format!("t{t}"),
                                "unit.profile",
                                format!("t{t}"),
                                serde_json::json!(i),
                            ))
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 100 }
    );
    for t in 0..4 {
        assert_eq!(
            h.store.setting(&format!("t{t}")).unwrap(),
            Some(serde_json::json!(24))
        );
    }
    // Each writer's entries are in the order its changes were made.
    let entries = h.store.audit_entries(0, 1000).unwrap();
    for t in 0..4 {
        let mine: Vec<String> = entries
            .iter()
            .filter(|e| e.actor == format!("t{t}"))
            .map(|e| e.details.clone())
            .collect();
        let want: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        assert_eq!(mine, want);
    }
}

/// Take the audit log's next sequence number behind the store's back, so
/// that the next append fails after the change before it was written.
fn squat_next_audit_seq(h: &Harness) {
    let (seq, _) = h.store.audit_head().unwrap();
    let time = match h.store.backend() {
        shouwang_store::Backend::Sqlite => "0",
        shouwang_store::Backend::Postgres => "now()",
    };
    (h.raw)(&format!(
        "INSERT INTO audit_log (seq, time, actor, action, target, details, prev_hash, hash)
         VALUES ({}, {time}, 'squatter', 'x', 'x', '{{}}', 'x', 'x')",
        seq + 1
    ));
}

fn status_change(id: i64) -> NewAuditEntry {
    NewAuditEntry::new(
        "operator",
        "finding.status",
        format!("finding/{id}"),
        serde_json::json!({ "to": "accepted" }),
    )
}

fn a_change_whose_audit_entry_cannot_be_written_is_not_kept(h: &Harness) {
    let id = h
        .store
        .record_findings(&[finding(
            "ssh.root_login",
            "/etc/ssh/sshd_config",
            Severity::High,
        )])
        .unwrap()[0];
    squat_next_audit_seq(h);
    let accept = || {
        h.store.audited(|tx| {
            tx.set_finding_status(id, FindingStatus::AcceptedRisk)?;
            tx.audit(&status_change(id))
        })
    };
    assert!(accept().is_err(), "the audit append was made to fail");
    assert_eq!(
        h.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Open,
        "the change was kept without its audit entry"
    );
    assert_eq!(h.store.audit_head().unwrap().0, 0);

    (h.raw)("DELETE FROM audit_log");
    accept().unwrap();
    assert_eq!(
        h.store.finding(id).unwrap().unwrap().status,
        FindingStatus::AcceptedRisk
    );
    let entries = h.store.audit_entries(0, 10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target, format!("finding/{id}"));
    assert_eq!(
        h.store.verify_audit().unwrap(),
        AuditVerdict::Intact { entries: 1 }
    );
}

fn a_change_that_fails_after_writing_keeps_neither_change_nor_entry(h: &Harness) {
    let id = h
        .store
        .record_findings(&[finding(
            "ssh.root_login",
            "/etc/ssh/sshd_config",
            Severity::High,
        )])
        .unwrap()[0];
    let failed: Result<(), StoreError> = h.store.audited(|tx| {
        tx.set_finding_status(id, FindingStatus::AcceptedRisk)?;
        tx.audit(&status_change(id))?;
        tx.set_setting("x", &serde_json::json!(1))?;
        Err(StoreError::Conflict {
            what: "test",
            detail: "failed after writing".into(),
        })
    });
    assert!(
        matches!(failed, Err(StoreError::Conflict { .. })),
        "{failed:?}"
    );
    assert_eq!(
        h.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Open
    );
    assert_eq!(h.store.setting("x").unwrap(), None);
    assert_eq!(h.store.audit_head().unwrap().0, 0);
    assert!(h.store.audit_entries(0, 10).unwrap().is_empty());
}

fn a_change_without_an_audit_entry_is_refused(h: &Harness) {
    let id = h
        .store
        .record_findings(&[finding(
            "ssh.root_login",
            "/etc/ssh/sshd_config",
            Severity::High,
        )])
        .unwrap()[0];
    let unaudited = h
        .store
        .audited(|tx| tx.set_finding_status(id, FindingStatus::AcceptedRisk));
    assert!(
        matches!(unaudited, Err(StoreError::Unaudited)),
        "{unaudited:?}"
    );
    assert_eq!(
        h.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Open
    );
    // Reading alone needs no entry.
    let read = h.store.audited(|tx| tx.finding(id)).unwrap();
    assert_eq!(read.unwrap().status, FindingStatus::Open);
    assert_eq!(h.store.audit_head().unwrap().0, 0);
}

fn a_run_resolves_what_it_did_not_see_again_with_one_entry(h: &Harness) {
    let mut first = Vec::new();
    for i in 0..60 {
        first.push(finding(
            "site.dead_link",
            &format!("/page/{i}"),
            Severity::Low,
        ));
    }
    first.push(finding("site.pii", "/contact", Severity::High));
    h.store.record_findings(&first).unwrap();
    // A finding of another asset is out of the run's scope.
    let mut elsewhere = finding("site.dead_link", "/page/0", Severity::Low);
    elsewhere.asset = AssetRef::new(AssetKind::Host, "other");
    let elsewhere_id = h.store.record_findings(&[elsewhere]).unwrap()[0];

    let seen: std::collections::HashSet<String> =
        [finding("site.dead_link", "/page/0", Severity::Low).fingerprint()].into();
    let scope = shouwang_store::RunScope {
        sensor: "host".into(),
        asset: host(),
        checks: Some(["site.dead_link".to_string()].into()),
    };
    let ids = shouwang_store::resolve_not_seen(
        &*h.store,
        "sensor:test",
        &scope,
        &seen,
        serde_json::json!({ "at": "run 2" }),
    )
    .unwrap();
    assert_eq!(ids.len(), 59);
    let status = |check: &str, location: &str| {
        h.store
            .findings(&FindingFilter {
                asset: Some(host()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .find(|f| f.check_id() == check && f.location == location)
            .unwrap()
            .status
    };
    assert_eq!(status("site.dead_link", "/page/0"), FindingStatus::Open);
    assert_eq!(status("site.dead_link", "/page/1"), FindingStatus::Resolved);
    assert_eq!(
        status("site.pii", "/contact"),
        FindingStatus::Open,
        "another check"
    );
    assert_eq!(
        h.store.finding(elsewhere_id).unwrap().unwrap().status,
        FindingStatus::Open
    );
    let entries = h.store.audit_entries(0, 10).unwrap();
    assert_eq!(entries.len(), 1, "one entry for the whole run");
    let details: serde_json::Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(entries[0].action, "finding.resolved");
    assert_eq!(details["count"], 59);
    assert_eq!(
        details["findings"].as_array().unwrap().len(),
        shouwang_store::RESOLVED_NAMED
    );
    assert_eq!(details["more"], 59 - shouwang_store::RESOLVED_NAMED);
    assert_eq!(details["run"]["at"], "run 2");

    // Nothing more to resolve: nothing is written.
    let again = shouwang_store::resolve_not_seen(
        &*h.store,
        "sensor:test",
        &scope,
        &seen,
        serde_json::json!({}),
    )
    .unwrap();
    assert!(again.is_empty());
    assert_eq!(h.store.audit_head().unwrap().0, 1);
}

fn assets_upsert(h: &Harness) {
    let a = Asset {
        id: AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/"),
        name: "县政府门户网站".into(),
        details: serde_json::json!({"icp": "京ICP备00000000号"}),
    };
    h.store.upsert_asset(&a).unwrap();
    let mut renamed = a.clone();
    renamed.name = "县人民政府网".into();
    h.store.upsert_asset(&renamed).unwrap();
    let all = h.store.assets().unwrap();
    assert_eq!(all, vec![renamed]);
    // Taken off the list, audited; a second removal finds nothing.
    let removed = |h: &Harness| {
        h.store
            .audited(|tx| {
                let was = tx.delete_asset(&a.id)?;
                tx.audit(&NewAuditEntry::new(
                    "admin",
                    "site.remove",
                    a.id.locator.clone(),
                    serde_json::Value::Null,
                ))?;
                Ok::<_, shouwang_store::StoreError>(was)
            })
            .unwrap()
    };
    assert!(removed(h));
    assert!(h.store.assets().unwrap().is_empty());
    assert!(!removed(h));
}

#[test]
fn a_damaged_sqlite_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(shouwang_store::SQLITE_FILE);
    let garbage = b"this is not a database, it is a text file that happens to be here".repeat(100);
    std::fs::write(&db, &garbage).unwrap();
    let err = shouwang_store::open(&Default::default(), dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("shouwang.db") && msg.contains("backup"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        garbage,
        "the file is unchanged"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "nothing else was created: {names:?}");
}

#[test]
fn a_foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(shouwang_store::SQLITE_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE photos (id INTEGER)")
        .unwrap();
    let err = shouwang_store::open(&Default::default(), dir.path()).unwrap_err();
    assert!(err.to_string().contains("photos"), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(shouwang_store::open(&Default::default(), dir.path()).unwrap());
    let db = dir.path().join(shouwang_store::SQLITE_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("INSERT INTO schema_migrations VALUES (99, 0)")
        .unwrap();
    let err = shouwang_store::open(&Default::default(), dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn the_audit_key_persists_and_a_wrong_key_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = shouwang_store::open(&Default::default(), dir.path()).unwrap();
        s.audited(|tx| {
            tx.audit(&NewAuditEntry::new(
                "admin",
                "user.add",
                "bob",
                serde_json::Value::Null,
            ))
        })
        .unwrap();
    }
    let s = shouwang_store::open(&Default::default(), dir.path()).unwrap();
    assert!(s.verify_audit().unwrap().is_intact());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("audit.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    drop(s);
    std::fs::write(dir.path().join("audit.key"), [1u8; 32]).unwrap();
    let s = shouwang_store::open(&Default::default(), dir.path()).unwrap();
    assert_eq!(s.verify_audit().unwrap(), AuditVerdict::Edited { seq: 1 });
}

fn new_incident(key: &str, minutes_ago: i64) -> shouwang_model::NewIncident {
    shouwang_model::NewIncident {
        title: "网站目录 /var/www/html 网页被篡改".into(),
        subclass: "NAWEBMOD".into(),
        level: shouwang_model::taxonomy::IncidentLevel::General,
        asset: AssetRef::new(AssetKind::WebRoot, "/var/www/html"),
        rule: "guard-tamper".into(),
        group_key: key.into(),
        discovered_at: Utc::now() - Duration::minutes(minutes_ago),
        summary: "网页被篡改，已自动恢复".into(),
    }
}

fn the_store_finds_the_incidents_whose_reporting_clock_may_run(h: &Harness) {
    use shouwang_model::taxonomy::IncidentLevel;
    use shouwang_model::{NewTimelineEntry, ReportStage, TimelineKind};
    use shouwang_store::{IncidentBatch, IncidentChange, IncidentFilter, Members};
    let mut large = new_incident("large", 3);
    large.level = IncidentLevel::Large;
    let mut major = new_incident("major", 2);
    major.level = IncidentLevel::Major;
    let ids = h
        .store
        .apply_incident_batch(&IncidentBatch {
            opened: vec![
                (new_incident("general", 4), Members::default()),
                (large, Members::default()),
                (major, Members::default()),
            ],
            ..Default::default()
        })
        .unwrap();
    // Both reports of the major incident recorded: its clock has stopped.
    for stage in [ReportStage::First, ReportStage::Summary] {
        h.store
            .as_person(|tx| {
                tx.update_incident(
                    ids[2],
                    &IncidentChange {
                        reported: Some((stage, Utc::now())),
                        ..Default::default()
                    },
                    &NewTimelineEntry {
                        incident_id: 0,
                        at: Utc::now(),
                        actor: "operator1".into(),
                        kind: TimelineKind::Report,
                        text: "已报送".into(),
                        details: serde_json::json!({}),
                    },
                )
            })
            .unwrap();
    }
    let found = |f: IncidentFilter| -> Vec<i64> {
        let mut v: Vec<i64> = h
            .store
            .incidents(&f)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        v.sort();
        v
    };
    let clocks = IncidentFilter {
        open_only: true,
        unreported: true,
        min_level: Some(IncidentLevel::Large),
        ..Default::default()
    };
    assert_eq!(found(clocks.clone()), [ids[1]]);
    assert_eq!(
        found(IncidentFilter {
            min_level: Some(IncidentLevel::Major),
            ..Default::default()
        }),
        [ids[2]]
    );
    let open = IncidentFilter {
        open_only: true,
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        h.store.count_incidents(&open).unwrap(),
        3,
        "a count ignores the limit"
    );
    assert_eq!(h.store.count_incidents(&clocks).unwrap(), 1);
}

fn incident_batches_link_each_member_once(h: &Harness) {
    use shouwang_store::{IncidentBatch, IncidentFilter, Members};
    h.store
        .record_events(&[
            event("guard.restored", 3),
            event("guard.restored", 2),
            event("guard.quarantined", 1),
        ])
        .unwrap();
    let evs = h.store.events_after(0, 10).unwrap();
    assert_eq!(evs.len(), 3);
    assert!(
        evs.windows(2).all(|w| w[0].id < w[1].id),
        "feed is oldest first"
    );
    let ids: Vec<i64> = evs.iter().map(|e| e.id).collect();
    let batch = IncidentBatch {
        opened: vec![(
            new_incident("guard-tamper|web-root|/var/www/html", 3),
            Members {
                events: ids[..2].to_vec(),
                findings: vec![],
                last_activity: Some(evs[1].event.time),
            },
        )],
        joined: vec![],
        expect: Some(("incident.cursor.events".into(), None)),
        settings: vec![("incident.cursor.events".into(), serde_json::json!(ids[1]))],
    };
    let opened = h.store.apply_incident_batch(&batch).unwrap();
    assert_eq!(opened.len(), 1);
    let id = opened[0];
    // The third event joins, and the second is offered again: counted once.
    let join = IncidentBatch {
        joined: vec![(
            id,
            Members {
                events: ids[1..].to_vec(),
                findings: vec![],
                last_activity: Some(evs[2].event.time),
            },
        )],
        settings: vec![("incident.cursor.events".into(), serde_json::json!(ids[2]))],
        ..Default::default()
    };
    h.store.apply_incident_batch(&join).unwrap();
    let inc = h.store.incident(id).unwrap().unwrap();
    assert_eq!(inc.event_count, 3);
    assert_eq!(inc.status, shouwang_model::IncidentStatus::Discovered);
    assert_eq!(
        inc.last_activity.timestamp_micros(),
        evs[2].event.time.timestamp_micros()
    );
    assert_eq!(h.store.incident_events(id, 10).unwrap().len(), 3);
    assert_eq!(h.store.incident_events(id, 2).unwrap().len(), 2);
    assert_eq!(
        h.store.setting("incident.cursor.events").unwrap(),
        Some(serde_json::json!(ids[2]))
    );
    // A second engine that read the old cursor cannot apply its pass.
    let stale = IncidentBatch {
        opened: vec![(new_incident("dup", 1), Members::default())],
        expect: Some((
            "incident.cursor.events".into(),
            Some(serde_json::json!(ids[1])),
        )),
        ..Default::default()
    };
    assert!(matches!(
        h.store.apply_incident_batch(&stale),
        Err(StoreError::Conflict { .. })
    ));
    assert!(h.store.open_incident_for_group("dup").unwrap().is_none());
    let fresh = IncidentBatch {
        expect: Some((
            "incident.cursor.events".into(),
            Some(serde_json::json!(ids[2])),
        )),
        ..Default::default()
    };
    h.store.apply_incident_batch(&fresh).unwrap();
    let found = h
        .store
        .open_incident_for_group("guard-tamper|web-root|/var/www/html")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert!(h.store.open_incident_for_group("other").unwrap().is_none());
    let tl = h.store.timeline(id).unwrap();
    assert_eq!(tl.len(), 1);
    assert_eq!(tl[0].entry.kind, shouwang_model::TimelineKind::Opened);
    let listed = h
        .store
        .incidents(&IncidentFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
}

fn incident_changes_are_recorded_on_the_timeline(h: &Harness) {
    use shouwang_model::taxonomy::IncidentLevel;
    use shouwang_model::{IncidentStatus, NewTimelineEntry, ReportStage, TimelineKind};
    use shouwang_store::{IncidentBatch, IncidentChange, IncidentFilter, Members};
    let ids = h
        .store
        .apply_incident_batch(&IncidentBatch {
            opened: vec![
                (new_incident("a", 10), Members::default()),
                (new_incident("b", 5), Members::default()),
            ],
            ..Default::default()
        })
        .unwrap();
    let note = |text: &str, kind| NewTimelineEntry {
        incident_id: 0,
        at: Utc::now(),
        actor: "operator1".into(),
        kind,
        text: text.into(),
        details: serde_json::json!({}),
    };
    let raised = h
        .store
        .as_person(|tx| {
            tx.update_incident(
                ids[0],
                &IncidentChange {
                    level: Some(IncidentLevel::Large),
                    ..Default::default()
                },
                &note("首页违法内容展示超过30分钟", TimelineKind::Level),
            )
        })
        .unwrap();
    assert_eq!(raised.level, IncidentLevel::Large);
    let reported = h
        .store
        .as_person(|tx| {
            tx.update_incident(
                ids[0],
                &IncidentChange {
                    reported: Some((ReportStage::First, Utc::now())),
                    ..Default::default()
                },
                &note("已向省网信办首次报告", TimelineKind::Report),
            )
        })
        .unwrap();
    assert!(reported.first_reported_at.is_some());
    let recovered = h
        .store
        .as_person(|tx| {
            tx.update_incident(
                ids[0],
                &IncidentChange {
                    status: Some(IncidentStatus::Recovery),
                    ..Default::default()
                },
                &note("已恢复", TimelineKind::Status),
            )
        })
        .unwrap();
    let ended = recovered.handling_ended_at.expect("recovery ends handling");
    let closed = h
        .store
        .as_person(|tx| {
            tx.update_incident(
                ids[0],
                &IncidentChange {
                    status: Some(IncidentStatus::Closed),
                    ..Default::default()
                },
                &note("总结报告已报送", TimelineKind::Status),
            )
        })
        .unwrap();
    assert_eq!(
        closed.handling_ended_at,
        Some(ended),
        "the 30-day clock does not restart"
    );
    assert!(closed.closed_at.is_some());
    let kinds: Vec<_> = h
        .store
        .timeline(ids[0])
        .unwrap()
        .iter()
        .map(|t| t.entry.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            TimelineKind::Opened,
            TimelineKind::Level,
            TimelineKind::Report,
            TimelineKind::Status,
            TimelineKind::Status
        ]
    );
    let open = h
        .store
        .incidents(&IncidentFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[1]]);
    let large = h
        .store
        .incidents(&IncidentFilter {
            level: Some(IncidentLevel::Large),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(large.len(), 1);
    assert!(
        h.store.open_incident_for_group("a").unwrap().is_none(),
        "closed incidents take no more events"
    );
    assert!(matches!(
        h.store.as_person(|tx| tx.update_incident(
            999_999,
            &IncidentChange::default(),
            &note("x", TimelineKind::Note)
        )),
        Err(StoreError::NotFound { .. })
    ));
}

fn settings_and_feeds_round_trip(h: &Harness) {
    assert_eq!(h.store.setting("unit.profile").unwrap(), None);
    let v = serde_json::json!({"name": "某某县教育局", "systems": [{"name": "门户网站"}]});
    h.store.set_setting("unit.profile", &v).unwrap();
    assert_eq!(h.store.setting("unit.profile").unwrap(), Some(v));
    h.store
        .set_setting("unit.profile", &serde_json::json!({"name": "改"}))
        .unwrap();
    assert_eq!(
        h.store.setting("unit.profile").unwrap().unwrap()["name"],
        "改"
    );
    let ids = h
        .store
        .record_findings(&[
            finding("a", "x", Severity::High),
            finding("b", "y", Severity::Low),
        ])
        .unwrap();
    let after = h.store.findings_after(ids[0], 10).unwrap();
    assert_eq!(after.iter().map(|f| f.id).collect::<Vec<_>>(), [ids[1]]);
}

fn an_assignment_survives_the_next_observation_and_groups_by_check(h: &Harness) {
    use shouwang_model::FindingAssignment;
    let s = &h.store;
    let ids = s
        .record_findings(&[
            finding("ssh.root", "line 3", Severity::High),
            finding("ssh.root", "line 9", Severity::High),
            finding("av.none", "", Severity::Medium),
        ])
        .unwrap();
    assert_eq!(s.finding_assignment(ids[0]).unwrap(), None);
    let day = |d: &str| Some(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
    let zhang = FindingAssignment {
        owner: "张三".into(),
        due: day("2026-12-20"),
    };
    s.as_person(|tx| tx.set_finding_assignment(ids[0], &zhang))
        .unwrap();
    let earlier = FindingAssignment {
        owner: "张三".into(),
        due: day("2026-12-10"),
    };
    s.as_person(|tx| tx.set_finding_assignment(ids[1], &earlier))
        .unwrap();
    s.as_person(|tx| {
        tx.set_finding_assignment(
            ids[2],
            &FindingAssignment {
                owner: "李四".into(),
                due: None,
            },
        )
    })
    .unwrap();
    // The next run observes the same findings again: merged by fingerprint,
    // and the owner and date stay.
    let again = s
        .record_findings(&[finding("ssh.root", "line 3", Severity::Critical)])
        .unwrap();
    assert_eq!(again[0], ids[0]);
    assert_eq!(s.finding_assignment(ids[0]).unwrap(), Some(zhang.clone()));
    let all = s.finding_assignments().unwrap();
    assert_eq!(all.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
    assert_eq!(all[0].1, zhang);

    let groups = s.open_assignment_groups().unwrap();
    let summary: Vec<_> = groups
        .iter()
        .map(|g| (g.check.as_str(), g.owner.as_str(), g.earliest_due))
        .collect();
    assert_eq!(
        summary,
        [
            ("av.none", "李四", None),
            ("ssh.root", "张三", day("2026-12-10"))
        ]
    );
    // A resolved finding answers for nothing open.
    s.as_person(|tx| tx.set_finding_status(ids[1], FindingStatus::Resolved))
        .unwrap();
    let groups = s.open_assignment_groups().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g.check == "ssh.root" && g.earliest_due == day("2026-12-20")),
        "{groups:?}"
    );
    // Cleared back to blank.
    s.as_person(|tx| tx.set_finding_assignment(ids[0], &FindingAssignment::default()))
        .unwrap();
    assert_eq!(s.finding_assignment(ids[0]).unwrap(), None);
    // An unknown finding is refused and nothing is written.
    let err = s
        .as_person(|tx| tx.set_finding_assignment(424242, &zhang))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    // Setting one without an audit entry is refused.
    let err = s
        .audited(|tx| tx.set_finding_assignment(ids[2], &zhang))
        .unwrap_err();
    assert!(matches!(err, StoreError::Unaudited), "{err:?}");
    assert_eq!(s.finding_assignment(ids[2]).unwrap().unwrap().owner, "李四");
}

fn the_staff_roster_is_a_setting_read_back_whole(h: &Harness) {
    let s = &h.store;
    assert!(shouwang_store::staff(&**s).unwrap().is_empty());
    let roster = vec![
        shouwang_model::StaffMember {
            name: "张三".into(),
            department: "办公室".into(),
            title: "网络安全员".into(),
            email: "zhang@example.gov.cn".into(),
            mobile: "13800138000".into(),
        },
        shouwang_model::StaffMember {
            name: "李四".into(),
            ..Default::default()
        },
    ];
    s.as_person(|tx| {
        tx.set_setting(
            shouwang_store::STAFF_SETTING,
            &serde_json::to_value(&roster).unwrap(),
        )
    })
    .unwrap();
    assert_eq!(shouwang_store::staff(&**s).unwrap(), roster);
}

// --- report aggregates ---

fn report_aggregates_count_in_the_database(h: &Harness) {
    use shouwang_store::TimeRange;
    let now = Utc::now();
    let mut evs = Vec::new();
    for (i, latency) in [2.0, 4.0, 9.0].into_iter().enumerate() {
        let mut e = event("guard.restored", 10 + i as i64);
        e.details = serde_json::json!({"path": "index.html", "latency_ms": latency});
        evs.push(e);
    }
    let mut recreated = event("guard.recreated", 5);
    recreated.details = serde_json::json!({"latency_ms": 1});
    evs.push(recreated);
    // Outside the range: must not count.
    let mut old = event("guard.restored", 60 * 24 * 40);
    old.details = serde_json::json!({"latency_ms": 1000.0});
    evs.push(old);
    // No number there: left out of the statistics, still counted.
    let mut odd = event("guard.restored", 3);
    odd.details = serde_json::json!({"latency_ms": "fast"});
    evs.push(odd);
    let site = AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    for (i, ok) in [true, true, false, true].into_iter().enumerate() {
        let mut e = event("site.probe", 20 + i as i64);
        e.asset = site.clone();
        e.details = serde_json::json!({"ok": ok, "elapsed_ms": 120});
        evs.push(e);
    }
    h.store.record_events(&evs).unwrap();
    let range = TimeRange::new(now - Duration::days(30), now + Duration::minutes(1));

    let kinds = h.store.event_kind_counts(&range).unwrap();
    let count = |k: &str| kinds.iter().find(|c| c.kind == k).map(|c| c.count);
    assert_eq!(count("guard.restored"), Some(4));
    assert_eq!(count("guard.recreated"), Some(1));
    assert_eq!(count("site.probe"), Some(4));
    assert!(kinds.iter().all(|c| c.first <= c.last && c.first.is_some()));

    let stats = h
        .store
        .event_number_stats(&["guard.restored", "guard.recreated"], "latency_ms", &range)
        .unwrap();
    assert_eq!(stats.count, 4);
    assert_eq!(stats.min, Some(1.0));
    assert_eq!(stats.max, Some(9.0));
    assert!((stats.avg.unwrap() - 4.0).abs() < 1e-9);
    assert!(
        h.store
            .event_number_stats(&["guard.restored"], "latency_ms') OR 1=1 --", &range)
            .is_err()
    );

    let rollup = h
        .store
        .event_rollup(&shouwang_store::RollupQuery {
            range,
            number_kinds: vec!["guard.restored".into(), "guard.recreated".into()],
            number_field: Some("latency_ms".into()),
            flag_kinds: vec!["site.probe".into()],
            flag_field: Some("ok".into()),
        })
        .unwrap();
    let row = |k: &str| rollup.iter().find(|r| r.kind == k).unwrap();
    assert_eq!(rollup.len(), 3, "{rollup:?}");
    let restored = row("guard.restored");
    assert_eq!((restored.count, restored.numbers), (4, 3));
    assert_eq!(
        (restored.min, restored.max, restored.sum),
        (Some(2.0), Some(9.0), Some(15.0))
    );
    assert_eq!(restored.flagged, 0);
    let recreated = row("guard.recreated");
    assert_eq!((recreated.numbers, recreated.sum), (1, Some(1.0)));
    let probes = row("site.probe");
    assert_eq!((probes.count, probes.flagged, probes.numbers), (4, 3, 0));
    assert_eq!(probes.asset, site);
    assert!(probes.first < probes.last);
    assert!(
        h.store
            .event_rollup(&shouwang_store::RollupQuery {
                range,
                number_field: Some("a'b".into()),
                ..Default::default()
            })
            .is_err()
    );

    let per_asset = h
        .store
        .event_asset_counts(&["site.probe"], Some("ok"), &range)
        .unwrap();
    assert_eq!(per_asset.len(), 1);
    assert_eq!(per_asset[0].asset, site);
    assert_eq!((per_asset[0].count, per_asset[0].flagged), (4, 3));

    let latest = h
        .store
        .latest_event_per_asset("site.probe", &range)
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(
        latest[0].event.time.timestamp(),
        (now - Duration::minutes(20)).timestamp()
    );

    let ids = h
        .store
        .event_sample_ids(&["guard.restored"], &range, 2)
        .unwrap();
    assert_eq!(ids.len(), 2);
    let newest = h
        .store
        .events(&EventFilter {
            kind_prefix: Some("guard.restored".into()),
            limit: 2,
            ..EventFilter::default()
        })
        .unwrap();
    assert_eq!(ids, newest.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(
        h.store
            .event_kind_counts(&TimeRange::new(
                now + Duration::days(1),
                now + Duration::days(2)
            ))
            .unwrap()
            .is_empty()
    );
}

fn report_finding_groups_name_samples(h: &Harness) {
    use shouwang_store::{FindingGroupQuery, TimeRange};
    let mut fs = Vec::new();
    for i in 0..5 {
        fs.push(finding(
            "ssh.root-login",
            &format!("line {i}"),
            Severity::High,
        ));
    }
    fs.push(finding("acct.empty-password", "root", Severity::Critical));
    let ids = h.store.record_findings(&fs).unwrap();
    h.store
        .as_person(|tx| tx.set_finding_status(ids[0], FindingStatus::Resolved))
        .unwrap();
    let groups = h
        .store
        .finding_groups(&FindingGroupQuery {
            samples: 3,
            ..FindingGroupQuery::default()
        })
        .unwrap();
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert_eq!(groups[0].check, "acct.empty-password");
    assert_eq!(groups[0].severity, Severity::Critical);
    let open = groups
        .iter()
        .find(|g| g.check == "ssh.root-login" && g.status == FindingStatus::Open)
        .unwrap();
    assert_eq!(open.count, 4);
    assert_eq!(open.assets, 1);
    assert_eq!(open.sample_ids, vec![ids[4], ids[3], ids[2]]);
    assert_eq!(open.title_zh, "标题");
    let resolved = groups
        .iter()
        .find(|g| g.status == FindingStatus::Resolved)
        .unwrap();
    assert_eq!(
        (resolved.count, resolved.sample_ids.clone()),
        (1, vec![ids[0]])
    );

    let only_open = h
        .store
        .finding_groups(&FindingGroupQuery {
            status: Some(FindingStatus::Open),
            sensor: Some("host".into()),
            ..FindingGroupQuery::default()
        })
        .unwrap();
    assert_eq!(only_open.iter().map(|g| g.count).sum::<u64>(), 5);
    let per_asset = h
        .store
        .finding_asset_counts("host", FindingStatus::Open)
        .unwrap();
    assert_eq!(per_asset, vec![(host(), 5)]);
    assert!(
        h.store
            .finding_asset_counts("site", FindingStatus::Open)
            .unwrap()
            .is_empty()
    );
    assert!(only_open.iter().all(|g| g.sample_ids.is_empty()));
    let later = Utc::now() + Duration::days(1);
    assert!(
        h.store
            .finding_groups(&FindingGroupQuery {
                first_seen: TimeRange::new(later, later + Duration::days(1)),
                ..FindingGroupQuery::default()
            })
            .unwrap()
            .is_empty()
    );
}

/// The data dir on a 32 MB filesystem of its own, filled to the last block
/// by something else: the store still records a burst of events and an
/// audited change, from the space it kept in reserve.
#[test]
fn a_full_data_disk_still_takes_events_and_audit_entries() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("small");
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(dir.clone());
    let store = shouwang_store::open(&Default::default(), &dir).unwrap();
    assert!(dir.join("shouwang.reserve").exists(), "the reserve is made");
    // Something else fills the disk to the last block.
    let mut junk = std::fs::File::create(dir.join("junk")).unwrap();
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512] {
        use std::io::Write;
        while junk.write_all(&vec![b'x'; chunk]).is_ok() && junk.flush().is_ok() {}
    }
    let _ = junk.sync_all();
    // A burst of about 2 MB of events, then an audited change.
    let burst: Vec<NewEvent> = (0..2000)
        .map(|i| {
            let mut e = event("guard.restored", 0);
            e.summary = format!("{i}: {}", "篡改".repeat(150));
            e
        })
        .collect();
    store.record_events(&burst).expect("the events are written");
    store
        .record_action(&NewAuditEntry::new(
            "system",
            "guard.restore",
            "/srv/www",
            serde_json::json!({ "paths": 2000 }),
        ))
        .expect("the audit entry is written");
    assert!(
        !dir.join("shouwang.reserve").exists(),
        "the reserve was released for them"
    );
    assert!(store.verify_audit().unwrap().is_intact());
    assert_eq!(store.event_count().unwrap(), 2000);
}

fn events_are_counted_per_local_day_in_the_database(h: &Harness) {
    use chrono::{NaiveDate, TimeZone};
    let at = |y, m, d, hh, mm| Utc.with_ymd_and_hms(y, m, d, hh, mm, 0).unwrap();
    let ev = |time, kind: &str, root: &str, latency: serde_json::Value| NewEvent {
        time,
        asset: AssetRef::new(AssetKind::WebRoot, root),
        details: serde_json::json!({ "latency_ms": latency }),
        ..event(kind, 0)
    };
    // 15:59 UTC is 23:59 in Beijing, 16:01 UTC already the next day there.
    h.store
        .record_events(&[
            ev(at(2026, 11, 30, 15, 59), "guard.restored", "/a", 4.into()),
            ev(at(2026, 11, 30, 16, 1), "guard.restored", "/a", 10.into()),
            ev(at(2026, 11, 30, 17, 0), "guard.restored", "/a", 2.5.into()),
            ev(
                at(2026, 11, 30, 17, 5),
                "guard.restored",
                "/a",
                "slow".into(),
            ),
            ev(at(2026, 11, 30, 18, 0), "guard.quarantined", "/a", 1.into()),
            ev(at(2026, 11, 30, 18, 0), "guard.restored", "/b", 99.into()),
            // Outside the range.
            ev(at(2026, 10, 1, 0, 0), "guard.restored", "/a", 1.into()),
        ])
        .unwrap();
    let q = shouwang_store::DayQuery {
        range: shouwang_store::TimeRange::new(at(2026, 11, 1, 0, 0), at(2026, 12, 2, 0, 0)),
        kinds: vec!["guard.restored".into()],
        asset: Some(AssetRef::new(AssetKind::WebRoot, "/a")),
        number_field: Some("latency_ms".into()),
        utc_offset_secs: 8 * 3600,
    };
    let days = h.store.event_days(&q).unwrap();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let got: Vec<_> = days
        .iter()
        .map(|d| {
            (
                d.day,
                d.kind.as_str(),
                d.count,
                d.numbers,
                d.min,
                d.max,
                d.sum,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                day(11, 30),
                "guard.restored",
                1,
                1,
                Some(4.0),
                Some(4.0),
                Some(4.0)
            ),
            (
                day(12, 1),
                "guard.restored",
                3,
                2,
                Some(2.5),
                Some(10.0),
                Some(12.5)
            ),
        ]
    );
    // Every kind and asset, days in UTC: the two evening events fall on 11/30.
    let all = h
        .store
        .event_days(&shouwang_store::DayQuery {
            kinds: Vec::new(),
            asset: None,
            number_field: None,
            utc_offset_secs: 0,
            ..q.clone()
        })
        .unwrap();
    let counts: Vec<_> = all
        .iter()
        .map(|d| (d.day, d.kind.as_str(), d.count))
        .collect();
    assert_eq!(
        counts,
        [
            (day(11, 30), "guard.quarantined", 1),
            (day(11, 30), "guard.restored", 5),
        ]
    );
    assert!(all.iter().all(|d| d.numbers == 0 && d.sum.is_none()));
    assert!(
        h.store
            .event_days(&shouwang_store::DayQuery {
                number_field: Some("x') OR 1=1 --".into()),
                ..q
            })
            .is_err()
    );
}

fn website(locator: &str) -> AssetRef {
    AssetRef::new(AssetKind::Website, locator)
}

fn site_finding(site: &str, check: &str, location: &str, evidence: &str) -> NewFinding {
    NewFinding {
        asset: website(site),
        severity: Severity::Medium,
        title: Text::new("有标题无正文的文章", "Article with a title and no body"),
        evidence: evidence.into(),
        location: location.into(),
        provenance: Provenance::now("site", check, location),
    }
}

fn site_event(site: &str) -> NewEvent {
    NewEvent {
        time: Utc::now(),
        kind: "site.inspected".into(),
        asset: website(site),
        severity: Severity::Info,
        summary: "巡查完成".into(),
        details: serde_json::json!({"pages": 3}),
        provenance: Provenance::now("site", "site.inspected", site),
    }
}

fn add_site(h: &Harness, locator: &str, name: &str) {
    h.store
        .as_person(|tx| {
            tx.upsert_asset(&Asset {
                id: website(locator),
                name: name.into(),
                details: serde_json::json!({"own_site": false}),
            })
        })
        .unwrap();
}

/// The store as a build before migration 8 left it.
fn before_the_merge(h: &Harness) {
    (h.raw)("DELETE FROM schema_migrations WHERE version = 8");
}

fn two_spellings_of_one_site_open_as_one_site_keeping_all_its_history(h: &Harness) {
    use shouwang_store::{IncidentBatch, Members};
    let (typed, normal) = ("127.0.0.1:18950", "http://127.0.0.1:18950/");
    let page = "http://127.0.0.1:18950/gzdt/a1.html";
    add_site(h, typed, "某某镇人民政府网站");
    std::thread::sleep(std::time::Duration::from_millis(5));
    add_site(h, normal, "某某镇");
    let s = &h.store;
    let old = s
        .record_findings(&[
            site_finding(typed, "site.blank-article", page, "正文 0 字"),
            site_finding(
                typed,
                "site.stale-column",
                "http://127.0.0.1:18950/tzgg/",
                "已 706 天未更新",
            ),
        ])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let new = s
        .record_findings(&[site_finding(
            normal,
            "site.blank-article",
            page,
            "正文 2 字",
        )])
        .unwrap();
    s.as_person(|tx| {
        tx.set_finding_assignment(
            old[0],
            &shouwang_model::FindingAssignment {
                owner: "张三".into(),
                due: None,
            },
        )
    })
    .unwrap();
    s.record_events(&[site_event(typed), site_event(normal)])
        .unwrap();
    let typed_event = s
        .events(&EventFilter {
            asset: Some(website(typed)),
            ..Default::default()
        })
        .unwrap()[0]
        .id;
    let mut incident = new_incident(&format!("site-content|website|{typed}"), 1);
    incident.asset = website(typed);
    let incident = s
        .apply_incident_batch(&IncidentBatch {
            opened: vec![(
                incident,
                Members {
                    events: vec![typed_event],
                    findings: vec![old[0]],
                    last_activity: None,
                },
            )],
            ..Default::default()
        })
        .unwrap()[0];
    before_the_merge(h);

    let s = (h.reopen)();
    assert_eq!(s.schema_version().unwrap(), shouwang_store::SCHEMA_VERSION);
    let sites: Vec<Asset> = s
        .assets()
        .unwrap()
        .into_iter()
        .filter(|a| a.id.kind == AssetKind::Website)
        .collect();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0].id.locator, normal);
    assert_eq!(sites[0].name, "某某镇人民政府网站", "the oldest is kept");
    let findings = s
        .findings(&FindingFilter {
            asset: Some(website(normal)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let blank = findings
        .iter()
        .find(|f| f.check_id() == "site.blank-article")
        .unwrap();
    assert_eq!(blank.id, new[0]);
    assert_eq!(blank.evidence, "正文 2 字", "the later observation");
    let first = s.finding(new[0]).unwrap().unwrap().first_seen;
    assert!(first < findings.iter().map(|f| f.last_seen).max().unwrap());
    assert_eq!(s.finding(old[0]).unwrap(), None);
    assert_eq!(s.finding_assignment(new[0]).unwrap().unwrap().owner, "张三");
    // The next run of the normalised site is the same finding.
    let again = s
        .record_findings(&[site_finding(
            normal,
            "site.stale-column",
            "http://127.0.0.1:18950/tzgg/",
            "已 707 天未更新",
        )])
        .unwrap();
    assert_eq!(again, [old[1]]);
    let events = s
        .events(&EventFilter {
            asset: Some(website(normal)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 2);
    let i = s.incident(incident).unwrap().unwrap();
    assert_eq!(i.asset, website(normal));
    assert_eq!(i.group_key, format!("site-content|website|{normal}"));
    let members: Vec<i64> = s
        .incident_findings(incident)
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(members, [new[0]]);
    let entry = s.last_audit_of("site.merge").unwrap().unwrap();
    assert_eq!(entry.target, normal);
    assert!(entry.details.contains(typed), "{}", entry.details);
    assert!(matches!(
        s.verify_audit().unwrap(),
        AuditVerdict::Intact { .. }
    ));

    // A rerun does nothing.
    let head = s.audit_head().unwrap();
    drop(s);
    let s = (h.reopen)();
    assert_eq!(s.audit_head().unwrap(), head);
    assert_eq!(
        s.findings(&FindingFilter {
            asset: Some(website(normal)),
            ..Default::default()
        })
        .unwrap()
        .len(),
        2
    );
}

fn a_store_without_duplicate_sites_is_left_as_it_was(h: &Harness) {
    let normal = "https://www.example.gov.cn/";
    add_site(h, normal, "县政府门户网站");
    add_site(h, "http://www.example.gov.cn/xxgk/", "信息公开");
    let s = &h.store;
    s.record_findings(&[
        site_finding(
            normal,
            "site.blank-article",
            "https://www.example.gov.cn/a.html",
            "正文 0 字",
        ),
        finding("ssh.root", "line 3", Severity::High),
    ])
    .unwrap();
    s.record_events(&[site_event(normal)]).unwrap();
    let assets = s.assets().unwrap();
    let findings = s.findings(&FindingFilter::default()).unwrap();
    let head = s.audit_head().unwrap();
    before_the_merge(h);

    let s = (h.reopen)();
    assert_eq!(s.schema_version().unwrap(), shouwang_store::SCHEMA_VERSION);
    assert_eq!(s.audit_head().unwrap(), head, "no merge, no entry");
    assert_eq!(s.assets().unwrap(), assets);
    assert_eq!(s.findings(&FindingFilter::default()).unwrap(), findings);
    assert_eq!(s.event_count().unwrap(), 1);
}
