//! How fast the incident rules keep up with a flood of events.
//!
//! `cargo bench -p shouwang-incident --bench engine [-- EVENTS]` writes
//! EVENTS (default 1,000,000) sensor events to a fresh SQLite store — guard
//! restores across 200 web roots, homepage probes, uploads — then times the
//! engine's catch-up from an empty cursor: reading every event back,
//! matching it against the rules, grouping it into incidents and writing
//! the links. The peer on the same input is the `sqlite3` shell doing the
//! grouping alone (`GROUP BY kind, asset` over the same table), the least
//! any rule engine on this store must do. The goal is 50,000 events/s.

use std::process::Command;
use std::time::Instant;

use chrono::{Duration, Utc};
use shouwang_incident::{Engine, RuleSet};
use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};
use shouwang_store::{AuditKey, IncidentFilter, Incidents, SqliteStore, Store};

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let store = SqliteStore::open(&db, AuditKey::from_bytes([1; 32])).unwrap();
    let t0 = Utc::now() - Duration::hours(2);
    let prov_guard = Provenance::now("guard", "guard.watch", "/srv");
    let prov_site = Provenance::now("site", "site.probe", "https://x.gov.cn/");
    eprintln!("writing {n} events ...");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let at = t0 + Duration::microseconds((i as i64) * 5);
        let e = match i % 10 {
            0..=6 => NewEvent {
                time: at,
                kind: "guard.restored".into(),
                asset: AssetRef::new(AssetKind::WebRoot, format!("/srv/www{}", i % 200)),
                severity: Severity::High,
                summary: "index.html 的内容被篡改，已在 0.4 毫秒内恢复".into(),
                details: serde_json::json!({"path": format!("news/{}.html", i % 5000), "latency_ms": 0.4}),
                provenance: prov_guard.clone(),
            },
            7 | 8 => NewEvent {
                time: at,
                kind: "site.probe".into(),
                asset: AssetRef::new(AssetKind::Website, format!("https://s{}.gov.cn/", i % 20)),
                severity: Severity::Info,
                summary: "首页探测：正常".into(),
                details: serde_json::json!({"ok": true, "elapsed_ms": 40}),
                provenance: prov_site.clone(),
            },
            _ => NewEvent {
                time: at,
                kind: "guard.writable-new".into(),
                asset: AssetRef::new(AssetKind::WebRoot, "/srv/www0"),
                severity: Severity::Info,
                summary: "可写目录新增文件".into(),
                details: serde_json::json!({"path": format!("upload/{i}.jpg")}),
                provenance: prov_guard.clone(),
            },
        };
        batch.push(e);
        if batch.len() == 10_000 {
            store.record_events(&batch).unwrap();
            batch.clear();
        }
    }
    store.record_events(&batch).unwrap();
    eprintln!("written in {:.1}s", started.elapsed().as_secs_f64());

    let engine = Engine::new(RuleSet::builtin());
    let started = Instant::now();
    let report = engine.catch_up(&store).unwrap();
    let ours = started.elapsed().as_secs_f64();
    let incidents = store
        .incidents(&IncidentFilter {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap();
    let linked: u64 = incidents.iter().map(|i| i.event_count).sum();
    assert_eq!(report.events_read, n);
    println!(
        "shouwang engine: {n} events in {ours:.2}s = {:.0} events/s; {} matched, {} incidents, {linked} links",
        n as f64 / ours,
        report.matched,
        incidents.len()
    );

    let started = Instant::now();
    let peer = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT kind, asset_kind, asset_locator, COUNT(*), MIN(time), MAX(time) FROM events GROUP BY kind, asset_kind, asset_locator;")
        .output();
    let theirs = started.elapsed().as_secs_f64();
    match peer {
        Ok(o) if o.status.success() => {
            let groups = String::from_utf8_lossy(&o.stdout).lines().count();
            println!(
                "sqlite3 GROUP BY alone: {n} events in {theirs:.2}s = {:.0} events/s; {groups} groups",
                n as f64 / theirs
            );
            println!(
                "goal: 50000 events/s: {}",
                if n as f64 / ours >= 50_000.0 {
                    "met"
                } else {
                    "NOT met"
                }
            );
            println!("ratio: {:.2}", theirs / ours);
        }
        _ => {
            println!("sqlite3 is not installed (apt-get install sqlite3): no peer run");
            println!("ratio: n/a");
        }
    }
}
