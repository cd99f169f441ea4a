//! Events inserted per second into SQLite and PostgreSQL through the
//! `Store` trait, beside the databases' own bulk loaders on the same rows:
//! the `sqlite3` shell's `.import` and psql's `\copy`. Not a test.
//!
//!   cargo bench -p shouwang-store --bench events [-- N]
//!
//! PostgreSQL is measured when SHOUWANG_TEST_PG_URL names a server
//! (scripts/test-postgres.sh starts one). The last line is the ratio of our
//! SQLite rate to the sqlite3 shell's.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use chrono::Utc;
use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};
use shouwang_store::{AuditKey, DayQuery, PostgresStore, SqliteStore, Store, TimeRange};

const BATCH: usize = 1000;

fn events(n: usize) -> Vec<NewEvent> {
    let asset = AssetRef::new(AssetKind::WebRoot, "/var/www/html");
    (0..n)
        .map(|i| NewEvent {
            time: Utc::now(),
            kind: "guard.restored".into(),
            asset: asset.clone(),
            severity: Severity::High,
            summary: format!("文件 page-{i}.html 被篡改，已恢复"),
            details: serde_json::json!({ "path": format!("page-{i}.html"), "restore_us": i % 5000 }),
            provenance: Provenance::now("guard", "guard.watch", "/var/www/html"),
        })
        .collect()
}

fn through_store(store: &dyn Store, evs: &[NewEvent]) -> f64 {
    let t = Instant::now();
    for chunk in evs.chunks(BATCH) {
        store.record_events(chunk).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(store.event_count().unwrap() as usize, evs.len());
    evs.len() as f64 / secs
}

/// The same rows as CSV, in the events table's column order (minus id).
fn write_csv(evs: &[NewEvent], path: &std::path::Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for e in evs {
        let p = &e.provenance;
        writeln!(
            f,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            e.time.timestamp_micros(),
            q(&e.kind),
            q(&p.sensor),
            q(&p.check),
            q(e.asset.kind.as_str()),
            q(&e.asset.locator),
            e.severity as i64,
            q(&e.summary),
            q(&e.details.to_string()),
            q(&p.version),
            p.observed_at.timestamp_micros(),
            q(&p.input)
        )
        .unwrap();
    }
}

fn sqlite3_import(db: &std::path::Path, csv: &std::path::Path, n: usize) -> Option<f64> {
    let script = format!(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nCREATE TEMP TABLE staging AS SELECT time, kind, sensor, check_id, asset_kind, asset_locator, severity, summary, details, version, observed_at, input FROM events WHERE 0;\n.mode csv\n.import {} staging\nINSERT INTO events (time, kind, sensor, check_id, asset_kind, asset_locator, severity, summary, details, version, observed_at, input) SELECT * FROM staging;\n",
        csv.display()
    );
    let t = Instant::now();
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        eprintln!("sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(n as f64 / secs)
}

/// The console dashboard's query: the last 30 days counted per Beijing
/// day and kind, in the database, over every event just inserted.
fn days_chart(store: &dyn Store, backend: &str) {
    let t = Instant::now();
    let rows = store
        .event_days(&DayQuery {
            range: TimeRange {
                since: Some(Utc::now() - chrono::Duration::days(30)),
                until: None,
            },
            utc_offset_secs: 8 * 3600,
            ..DayQuery::default()
        })
        .unwrap();
    let total: u64 = rows.iter().map(|r| r.count).sum();
    println!(
        "{backend} 30-day chart query: {:.0} ms for {total} events ({} rows)",
        t.elapsed().as_secs_f64() * 1000.0,
        rows.len()
    );
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let evs = events(n);
    let dir = tempfile::tempdir().unwrap();
    let key = || AuditKey::from_bytes([1; 32]);

    let ours = {
        let store = SqliteStore::open(&dir.path().join("ours.db"), key()).unwrap();
        let rate = through_store(&store, &evs);
        days_chart(&store, "SQLite");
        rate
    };
    println!("shouwang SQLite  : {ours:>10.0} events/s ({n} events, batches of {BATCH})");

    let csv = dir.path().join("events.csv");
    write_csv(&evs, &csv);
    let peer_db = dir.path().join("peer.db");
    drop(SqliteStore::open(&peer_db, key()).unwrap());
    let peer = sqlite3_import(&peer_db, &csv, n);
    match peer {
        Some(r) => println!("sqlite3 .import  : {r:>10.0} events/s (same rows, same schema)"),
        None => println!("sqlite3 .import  : not measured (install Debian's sqlite3)"),
    }

    if let Ok(url) = std::env::var("SHOUWANG_TEST_PG_URL") {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin
            .batch_execute("DROP DATABASE IF EXISTS shouwang_bench WITH (FORCE)")
            .unwrap();
        admin
            .batch_execute("CREATE DATABASE shouwang_bench")
            .unwrap();
        let mut cfg: postgres::Config = url.parse().unwrap();
        cfg.dbname("shouwang_bench");
        let bench_url = format!("{url} dbname=shouwang_bench");
        let store = PostgresStore::connect(&bench_url, key()).unwrap();
        let pg = through_store(&store, &evs);
        println!("shouwang Postgres: {pg:>10.0} events/s");
        days_chart(&store, "Postgres");
        drop(store);
        let mut c = cfg.connect(postgres::NoTls).unwrap();
        c.batch_execute("TRUNCATE events").unwrap();
        let t = Instant::now();
        let mut w = c
            .copy_in(
                "COPY events (time, kind, sensor, check_id, asset_kind, asset_locator, severity, summary, details, version, observed_at, input) FROM STDIN WITH (FORMAT csv)",
            )
            .unwrap();
        // COPY takes timestamps as text: convert the micros column on the way.
        for line in std::fs::read_to_string(&csv).unwrap().lines() {
            let (first, rest) = line.split_once(',').unwrap();
            let (mid, observed_and_input) = rest.rsplit_once(',').unwrap();
            let (before_obs, obs) = mid.rsplit_once(',').unwrap();
            let ts = |us: &str| {
                chrono::DateTime::from_timestamp_micros(us.parse().unwrap())
                    .unwrap()
                    .to_rfc3339()
            };
            writeln!(
                w,
                "{},{},{},{}",
                ts(first),
                before_obs,
                ts(obs),
                observed_and_input
            )
            .unwrap();
        }
        w.finish().unwrap();
        let copy = n as f64 / t.elapsed().as_secs_f64();
        println!("postgres COPY    : {copy:>10.0} events/s");
        drop(c);
        admin
            .batch_execute("DROP DATABASE IF EXISTS shouwang_bench WITH (FORCE)")
            .unwrap();
    } else {
        println!(
            "shouwang Postgres: not measured (set SHOUWANG_TEST_PG_URL; scripts/test-postgres.sh)"
        );
    }
    match peer {
        Some(p) => println!("ratio: {:.2}", ours / p),
        None => println!("ratio: n/a"),
    }
}
