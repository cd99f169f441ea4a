//! The engine on a real SQLite store: guard, site and host happenings flow
//! into graded incidents with the right class, grouping and deadlines.

use chrono::{DateTime, Duration, Utc};
use shouwang_incident::actions::{self, ChangeRequest};
use shouwang_incident::{DeadlineState, Engine, ReportingPolicy, RuleSet, deadlines};
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{
    AssetKind, AssetRef, IncidentStatus, NewEvent, NewFinding, Provenance, ReportStage, Severity,
    Text, TimelineKind,
};
use shouwang_store::{AuditKey, IncidentFilter, Incidents, SqliteStore, Store};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("t.db"), AuditKey::from_bytes([3; 32])).unwrap();
    (dir, s)
}

fn guard_event(kind: &str, root: &str, path: &str, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        time: at,
        kind: kind.into(),
        asset: AssetRef::new(AssetKind::WebRoot, root),
        severity: Severity::High,
        summary: format!("{path} 被篡改，已恢复"),
        details: serde_json::json!({ "path": path, "root": root, "latency_ms": 0.4 }),
        provenance: Provenance::now("guard", "guard.watch", root),
    }
}

fn probe(site: &str, ok: bool, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        time: at,
        kind: "site.probe".into(),
        asset: AssetRef::new(AssetKind::Website, site),
        severity: if ok { Severity::Info } else { Severity::Medium },
        summary: "首页探测".into(),
        details: serde_json::json!({ "ok": ok, "elapsed_ms": 40 }),
        provenance: Provenance::now("site", "site.probe", site),
    }
}

fn finding(
    sensor: &str,
    check: &str,
    asset: AssetRef,
    severity: Severity,
    loc: &str,
) -> NewFinding {
    NewFinding {
        asset,
        severity,
        title: Text::new("发现", "Found"),
        evidence: "110101199003074514".into(),
        location: loc.into(),
        provenance: Provenance::now(sensor, check, loc),
    }
}

fn engine() -> Engine {
    Engine::new(RuleSet::builtin())
}

fn all(s: &dyn Store) -> Vec<shouwang_model::Incident> {
    let mut v = s.incidents(&IncidentFilter::default()).unwrap();
    v.sort_by_key(|i| i.id);
    v
}

#[test]
fn an_attackers_thousand_writes_make_one_incident_and_a_webshell_another() {
    let (_d, s) = store();
    let t0 = Utc::now() - Duration::minutes(10);
    let mut evs: Vec<NewEvent> = (0..1000)
        .map(|i| {
            guard_event(
                "guard.restored",
                "/srv/www",
                &format!("news/{i}.html"),
                t0 + Duration::milliseconds(i * 3),
            )
        })
        .collect();
    evs.push(guard_event(
        "guard.quarantined",
        "/srv/www",
        "upload/x.php",
        t0 + Duration::seconds(5),
    ));
    evs.push(guard_event(
        "guard.quarantined",
        "/srv/www",
        "news/new.html",
        t0 + Duration::seconds(6),
    ));
    // Benign: a new picture in an upload area is not an incident.
    evs.push(guard_event(
        "guard.writable-new",
        "/srv/www",
        "upload/a.jpg",
        t0 + Duration::seconds(7),
    ));
    s.record_events(&evs).unwrap();
    let report = engine().catch_up(&s).unwrap();
    assert_eq!(report.events_read, 1003);
    assert_eq!(report.matched, 1002);
    let incs = all(&s);
    assert_eq!(incs.len(), 2, "{incs:#?}");
    let tamper = incs.iter().find(|i| i.subclass == "NAWEBMOD").unwrap();
    assert_eq!(tamper.event_count, 1001);
    assert_eq!(tamper.category_zh(), "网络攻击事件 / 网页篡改事件");
    assert_eq!(tamper.level, IncidentLevel::General);
    assert_eq!(tamper.status, IncidentStatus::Discovered);
    assert_eq!(
        tamper.discovered_at.timestamp_micros(),
        t0.timestamp_micros()
    );
    assert!(tamper.title.contains("/srv/www"), "{}", tamper.title);
    let shell = incs.iter().find(|i| i.subclass == "MPTROJ").unwrap();
    assert_eq!(shell.event_count, 1);
    assert_eq!(shell.category().unwrap().0.zh, "恶意程序事件");
    assert_eq!(
        s.incident_events(shell.id, 10).unwrap()[0].event.details["path"],
        "upload/x.php"
    );
}

#[test]
fn the_window_splits_incidents_and_a_restart_neither_loses_nor_repeats() {
    let (_d, s) = store();
    let t0 = Utc::now() - Duration::hours(5);
    s.record_events(&[guard_event("guard.restored", "/srv/www", "index.html", t0)])
        .unwrap();
    engine().catch_up(&s).unwrap();
    // Fifty minutes later: within the hour window, joins.
    s.record_events(&[guard_event(
        "guard.recreated",
        "/srv/www",
        "a.html",
        t0 + Duration::minutes(50),
    )])
    .unwrap();
    // A new engine, as after a restart, reads from the stored cursor.
    let again = engine().catch_up(&s).unwrap();
    assert_eq!(again.events_read, 1);
    assert_eq!(again.opened.len(), 0);
    // Three hours after the last: a new incident.
    s.record_events(&[guard_event(
        "guard.restored",
        "/srv/www",
        "index.html",
        t0 + Duration::hours(4),
    )])
    .unwrap();
    let later = engine().catch_up(&s).unwrap();
    assert_eq!(later.opened.len(), 1);
    let incs = all(&s);
    assert_eq!(
        incs.iter().map(|i| i.event_count).collect::<Vec<_>>(),
        [2, 1]
    );
    // Nothing new: nothing happens.
    let idle = engine().catch_up(&s).unwrap();
    assert_eq!((idle.events_read, idle.opened.len()), (0, 0));
    assert_eq!(all(&s).len(), 2);
    // A second rule on another root is another incident, even at once.
    s.record_events(&[guard_event(
        "guard.restored",
        "/srv/other",
        "index.html",
        t0 + Duration::hours(4),
    )])
    .unwrap();
    assert_eq!(engine().catch_up(&s).unwrap().opened.len(), 1);
}

#[test]
fn a_site_down_for_an_hour_is_an_incident_and_a_blip_is_not() {
    let (_d, s) = store();
    let t0 = Utc::now() - Duration::hours(3);
    let site = "https://www.example.gov.cn/";
    let mut evs = Vec::new();
    // A 20-minute blip, then recovery.
    for m in (0..20).step_by(5) {
        evs.push(probe(site, false, t0 + Duration::minutes(m)));
    }
    evs.push(probe(site, true, t0 + Duration::minutes(20)));
    // Then 70 minutes down.
    for m in (30..=100).step_by(5) {
        evs.push(probe(site, false, t0 + Duration::minutes(m)));
    }
    // Half of the probes are read in one pass, half in the next: the
    // sustained condition's start survives between passes.
    s.record_events(&evs[..10]).unwrap();
    engine().catch_up(&s).unwrap();
    assert!(all(&s).is_empty());
    s.record_events(&evs[10..]).unwrap();
    engine().catch_up(&s).unwrap();
    let incs = all(&s);
    assert_eq!(incs.len(), 1, "{incs:#?}");
    let outage = &incs[0];
    assert_eq!(outage.subclass, "DETECH");
    assert_eq!(outage.category().unwrap().0.zh, "设备设施故障事件");
    // Discovered when it had lasted an hour (the probe at 90 minutes).
    assert_eq!(
        outage.discovered_at.timestamp_micros(),
        (t0 + Duration::minutes(90)).timestamp_micros()
    );
    // The failing probes since it went down are its members: 30..=100.
    assert_eq!(outage.event_count, 15);
}

#[test]
fn findings_open_leak_dark_link_and_hazard_incidents_by_class() {
    let (_d, s) = store();
    let site = AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    let host = AssetRef::new(AssetKind::Host, "office-pc-07");
    s.record_findings(&[
        finding(
            "site",
            "site.pii.id-card",
            site.clone(),
            Severity::Critical,
            "https://www.example.gov.cn/a.xls",
        ),
        finding(
            "site",
            "site.pii.id-card",
            site.clone(),
            Severity::Critical,
            "https://www.example.gov.cn/b.html",
        ),
        finding(
            "site",
            "site.dark-link",
            site.clone(),
            Severity::High,
            "https://www.example.gov.cn/",
        ),
        // The ids the host rules give their findings (rules/accounts.toml,
        // rules/auth.toml).
        finding(
            "host",
            "acct.empty-password",
            host.clone(),
            Severity::Critical,
            "/etc/shadow",
        ),
        // Low-severity host findings are not incidents.
        finding(
            "host",
            "auth.session-timeout",
            host.clone(),
            Severity::Low,
            "/etc/profile",
        ),
        // A broken link is a website defect, not an incident.
        finding(
            "site",
            "site.broken-link",
            site.clone(),
            Severity::Medium,
            "https://www.example.gov.cn/x",
        ),
    ])
    .unwrap();
    engine().catch_up(&s).unwrap();
    let mut classes: Vec<(String, u64)> = all(&s)
        .into_iter()
        .map(|i| (i.subclass, i.finding_count))
        .collect();
    classes.sort();
    assert_eq!(
        classes,
        [
            ("DSDATALEAK".to_string(), 2),
            ("NALINK".to_string(), 1),
            ("SHECONFIG".to_string(), 1)
        ]
    );
    let leak = all(&s)
        .into_iter()
        .find(|i| i.subclass == "DSDATALEAK")
        .unwrap();
    assert_eq!(leak.category().unwrap().0.zh, "数据安全事件");
    assert_eq!(s.incident_findings(leak.id).unwrap().len(), 2);
}

#[test]
fn raising_the_level_starts_the_reporting_clock_and_escalates_once() {
    let (_d, s) = store();
    let t0 = Utc::now() - Duration::minutes(210);
    s.record_events(&[guard_event("guard.restored", "/srv/www", "index.html", t0)])
        .unwrap();
    engine().catch_up(&s).unwrap();
    let inc = all(&s).remove(0);
    let policy = ReportingPolicy::default();
    let now = Utc::now();
    assert_eq!(
        deadlines(&inc, &policy, now)[0].state,
        DeadlineState::NotRequired
    );
    assert!(
        actions::due_escalations(&s, &policy, now)
            .unwrap()
            .is_empty()
    );

    // A level change needs a reason.
    let no_reason = actions::change(
        &s,
        inc.id,
        "operator1",
        &ChangeRequest {
            level: Some(IncidentLevel::Large),
            ..Default::default()
        },
    );
    assert!(matches!(
        no_reason,
        Err(actions::ActionError::ReasonRequired)
    ));
    let raised = actions::change(
        &s,
        inc.id,
        "operator1",
        &ChangeRequest {
            level: Some(IncidentLevel::Large),
            status: Some(IncidentStatus::Triage),
            reason: "违法内容在首页展示超过30分钟".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (raised.level, raised.status),
        (IncidentLevel::Large, IncidentStatus::Triage)
    );
    // Discovered 3.5 h ago, 4 h to report: due soon, escalated once.
    let first = &deadlines(&raised, &policy, now)[0];
    assert_eq!(first.state, DeadlineState::DueSoon);
    assert_eq!(
        first.due.unwrap(),
        raised.discovered_at + Duration::hours(4)
    );
    let due = actions::due_escalations(&s, &policy, now).unwrap();
    assert_eq!(due.len(), 1);
    actions::record_escalation(&s, &due[0], now, "已通知 1 个渠道").unwrap();
    assert!(
        actions::due_escalations(&s, &policy, now)
            .unwrap()
            .is_empty()
    );
    // Past the deadline it escalates again, once.
    let later = now + Duration::hours(1);
    let overdue = actions::due_escalations(&s, &policy, later).unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].deadline.state, DeadlineState::Overdue);
    actions::record_escalation(&s, &overdue[0], later, "已通知").unwrap();
    assert!(
        actions::due_escalations(&s, &policy, later)
            .unwrap()
            .is_empty()
    );
    // Reporting stops the clock.
    let reported = actions::change(
        &s,
        inc.id,
        "operator1",
        &ChangeRequest {
            reported: Some((ReportStage::First, later)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        deadlines(&reported, &policy, later)[0].state,
        DeadlineState::MetLate
    );
    let kinds: Vec<TimelineKind> = s
        .timeline(inc.id)
        .unwrap()
        .iter()
        .map(|t| t.entry.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            TimelineKind::Opened,
            TimelineKind::Level,
            TimelineKind::Status,
            TimelineKind::Escalation,
            TimelineKind::Escalation,
            TimelineKind::Report
        ]
    );
    // Every change is in the tamper-evident audit log.
    let audit = s.recent_audit(10).unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "incident.update")
            .count(),
        2
    );
    assert!(
        audit
            .iter()
            .any(|a| a.details.contains("违法内容在首页展示超过30分钟"))
    );
}

#[test]
fn two_engines_on_one_store_do_not_open_an_incident_twice() {
    let (_d, s) = store();
    let s = std::sync::Arc::new(s);
    let t0 = Utc::now() - Duration::minutes(5);
    let evs: Vec<NewEvent> = (0..20_000)
        .map(|i| {
            guard_event(
                "guard.restored",
                &format!("/srv/www{}", i % 50),
                "index.html",
                t0 + Duration::milliseconds(i),
            )
        })
        .collect();
    s.record_events(&evs).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || engine().catch_up(s.as_ref()).unwrap())
        })
        .collect();
    let read: usize = handles
        .into_iter()
        .map(|h| h.join().unwrap().events_read)
        .sum();
    assert!(read >= 20_000);
    let incs = all(s.as_ref());
    assert_eq!(incs.len(), 50);
    assert_eq!(incs.iter().map(|i| i.event_count).sum::<u64>(), 20_000);
}

#[test]
fn a_custom_rule_file_takes_new_event_kinds_without_code() {
    let (_d, s) = store();
    let rules = RuleSet::parse(
        r#"
[[rule]]
id = "ssh-brute-force"
source = "event"
kinds = ["logs.auth-failure"]
when = [{ field = "details.count", at_least = 50 }]
subclass = "NACRED"
level = "general"
window = "30m"
title = "{asset} 遭受口令暴力破解"
summary = "短时间内大量登录失败。"
"#,
        "test rules",
    )
    .unwrap();
    let host = AssetRef::new(AssetKind::Host, "web-01");
    let ev = |count: u64| NewEvent {
        time: Utc::now(),
        kind: "logs.auth-failure".into(),
        asset: host.clone(),
        severity: Severity::Medium,
        summary: "登录失败".into(),
        details: serde_json::json!({ "count": count }),
        provenance: Provenance::now("logs", "logs.auth", "/var/log/auth.log"),
    };
    s.record_events(&[ev(3), ev(120)]).unwrap();
    let r = Engine::new(rules).catch_up(&s).unwrap();
    assert_eq!(r.matched, 1);
    assert_eq!(r.opened.len(), 1);
    assert_eq!(r.opened[0].subclass, "NACRED");
    assert_eq!(r.opened[0].title, "主机 web-01 遭受口令暴力破解");
}

/// A guard event about a whole root, with its details as the guard writes
/// them (the model's structs).
fn root_alarm(kind: &str, root: &str, at: DateTime<Utc>) -> NewEvent {
    use shouwang_model::events::guard;
    let change = guard::Change {
        path: ".".into(),
        root: root.into(),
        ..Default::default()
    };
    let details = match kind {
        guard::ROOT_DISPLACED => serde_json::to_value(guard::RootDisplaced {
            change,
            symlink_target: Some("/tmp/evilroot".into()),
            detail: "the web root was replaced by a symlink".into(),
        }),
        _ => serde_json::to_value(guard::BaselineTampered {
            change,
            manifest: "/var/lib/shouwang/guard/roots/ab/manifest".into(),
            detail: "its MAC does not match".into(),
        }),
    };
    NewEvent {
        time: at,
        kind: kind.into(),
        asset: AssetRef::new(AssetKind::WebRoot, root),
        severity: Severity::Critical,
        summary: format!("网站目录 {root} 出现严重问题"),
        details: details.unwrap(),
        provenance: Provenance::now("guard", "guard.watch", root),
    }
}

#[test]
fn a_displaced_root_and_a_tampered_baseline_each_open_an_incident() {
    use shouwang_model::events::guard;
    let (_d, s) = store();
    let t0 = Utc::now() - Duration::minutes(5);
    s.record_events(&[
        root_alarm(guard::ROOT_DISPLACED, "/srv/www", t0),
        root_alarm(guard::BASELINE_TAMPERED, "/srv/other", t0),
    ])
    .unwrap();
    let report = engine().catch_up(&s).unwrap();
    assert_eq!(report.matched, 2);
    let incs = all(&s);
    let displaced = incs
        .iter()
        .find(|i| i.rule == "guard-root-displaced")
        .unwrap_or_else(|| panic!("no incident for the displaced root: {incs:#?}"));
    assert!(displaced.title.contains("/srv/www"), "{}", displaced.title);
    assert_eq!(displaced.subclass, "NAWEBMOD");
    let tampered = incs
        .iter()
        .find(|i| i.rule == "guard-baseline-tampered")
        .unwrap_or_else(|| panic!("no incident for the tampered baseline: {incs:#?}"));
    assert!(tampered.title.contains("/srv/other"), "{}", tampered.title);
}
