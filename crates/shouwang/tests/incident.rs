//! Incidents end to end, as a user meets them: sensor events in the store
//! become graded incidents on `shouwang incident list`, a person raises the
//! level and records the report, and `shouwang up` announces a new
//! incident to a (local stand-in) DingTalk robot that checks the signature.

mod common;

use common::http::Reply;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};
use shouwang_store::{Store, StoreConfig};

fn tamper(root: &str, path: &str, minutes_ago: i64) -> NewEvent {
    NewEvent {
        time: Utc::now() - chrono::Duration::minutes(minutes_ago),
        kind: "guard.restored".into(),
        asset: AssetRef::new(AssetKind::WebRoot, root),
        severity: Severity::High,
        summary: format!("{path} 的内容被篡改，已在 0.4 毫秒内恢复"),
        details: serde_json::json!({ "path": path, "root": root, "latency_ms": 0.4 }),
        provenance: Provenance::now("guard", "guard.watch", root),
    }
}

fn open_store(s: &Sandbox) -> Box<dyn Store> {
    std::fs::create_dir_all(&s.data).unwrap();
    shouwang_store::open(&StoreConfig::default(), &s.data).unwrap()
}

#[test]
fn events_become_a_graded_incident_whose_clock_a_person_keeps() {
    let s = Sandbox::new();
    {
        let store = open_store(&s);
        let evs: Vec<NewEvent> = (0..30)
            .map(|i| tamper("/srv/www", &format!("news/{i}.html"), 300 - i))
            .collect();
        store.record_events(&evs).unwrap();
    }
    let list = s.json(&["incident", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    let inc = &list[0]["incident"];
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(list[0]["category"], "网络攻击事件 / 网页篡改事件");
    assert_eq!(inc["level"], "general");
    assert_eq!(inc["event_count"], 30);
    assert_eq!(list[0]["deadlines"][0]["state"], "not-required");

    // Raising the level needs a reason; without one, nothing changes.
    let refused = s.run(&["incident", "update", &id.to_string(), "--level", "较大"]);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(refused.stderr.contains("reason"), "{refused}");
    let raised = s.run(&[
        "incident",
        "update",
        &id.to_string(),
        "--level",
        "较大",
        "--status",
        "处置",
        "--reason",
        "首页违法内容展示超过30分钟",
    ]);
    assert_eq!(raised.code, 0, "{raised}");
    // Found five hours ago and 较大: the 4-hour first report is overdue,
    // and `list` says so with exit 1.
    let overdue = s.run(&["incident", "list"]);
    assert_eq!(overdue.code, 1, "{overdue}");
    assert!(
        overdue.stdout.contains("首次报告") && overdue.stdout.contains("已超期"),
        "{overdue}"
    );
    let shown = s.json(&["incident", "show", &id.to_string(), "--json"]);
    assert_eq!(shown["incident"]["level"], "large");
    assert_eq!(shown["incident"]["status"], "response");
    assert_eq!(shown["deadlines"][0]["state"], "overdue");
    assert_eq!(shown["deadlines"][0]["report_to"], "属地省级网信部门");
    assert_eq!(shown["events"].as_array().unwrap().len(), 30);

    let reported = s.run(&[
        "incident",
        "update",
        &id.to_string(),
        "--reported",
        "首次报告",
        "--note",
        "已电话报告省网信办，并通过邮箱补报",
    ]);
    assert_eq!(reported.code, 0, "{reported}");
    let after = s.run(&["incident", "list"]);
    assert_eq!(after.code, 0, "{after}");
    let shown = s.run(&["incident", "show", &id.to_string()]);
    for line in [
        "级别由“一般”调整为“较大”：首页违法内容展示超过30分钟",
        "已报送首次报告",
        "已电话报告省网信办",
    ] {
        assert!(shown.stdout.contains(line), "missing {line:?}:\n{shown}");
    }
    // And the audit log names the CLI user for each change.
    let verify = s.run(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{verify}");
}

#[test]
fn classes_and_rules_are_printed_and_a_bad_rule_file_is_named() {
    let s = Sandbox::new();
    let classes = s.json(&["incident", "classes", "--json"]);
    assert_eq!(classes.as_array().unwrap().len(), 10);
    let rules = s.run(&["incident", "rules"]);
    assert!(rules.stdout.contains("NAWEBMOD"), "{rules}");
    let bad = s.tmp.path().join("rules.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"x\"\nsource = \"event\"\nkinds = [\"a\"]\nsubclass = \"WEBMOD\"\ntitle = \"t\"\nsummary = \"s\"\n",
    )
    .unwrap();
    s.write_config(&format!(
        "[incident]\nrules_file = {:?}\n",
        bad.display().to_string()
    ));
    let run = s.run(&["incident", "rules"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("rules.toml") && run.stderr.contains("\"x\""),
        "{run}"
    );
}

/// A DingTalk robot stand-in: checks `timestamp` and `sign` the way the
/// platform documents, and keeps the bodies it accepted.
struct Robot {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

fn dingtalk_robot(secret: &'static str) -> Robot {
    let received = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let (ok, bad) = (received.clone(), refused.clone());
    let port = common::http::serve(move |r| {
        let query: std::collections::HashMap<String, String> =
            url_query(r.target.split_once('?').map(|(_, q)| q).unwrap_or(""));
        let ts: i64 = query
            .get("timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let fresh = (Utc::now().timestamp_millis() - ts).abs() < 3_600_000;
        let want = shouwang_notify::sign::dingtalk(secret, ts);
        let signed = query.get("sign").map(String::as_str) == Some(want.as_str());
        let token = query.get("access_token").map(String::as_str) == Some("robot-token-1");
        Reply::json(if fresh && signed && token {
            ok.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&r.body).into_owned());
            r#"{"errcode":0,"errmsg":"ok"}"#
        } else {
            bad.lock().unwrap().push(r.target.clone());
            r#"{"errcode":310000,"errmsg":"sign not match"}"#
        })
    })
    .port();
    Robot {
        port,
        received,
        refused,
    }
}

/// Decode `a=b&c=d%2B` (enough for the robot's query).
fn url_query(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn up_announces_a_new_incident_to_a_signed_dingtalk_robot_once() {
    let secret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
    let robot = dingtalk_robot(secret);
    let s = Sandbox::new();
    s.write_config(&format!(
        r#"[console]
listen = "127.0.0.1:0"

[site]
schedule = []
probe_interval_seconds = 0

[incident]
interval_seconds = 1

[[notify.channels]]
name = "值班群"
kind = "dingtalk"
url = "http://127.0.0.1:{}/robot/send"
token = "robot-token-1"
secret = "{secret}"
"#,
        robot.port
    ));
    let mut up = s.up(Some(STRONG));
    up.console_addr();
    {
        let store = open_store(&s);
        store
            .record_events(&[
                tamper("/srv/www", "index.html", 0),
                tamper("/srv/www", "about.html", 0),
            ])
            .unwrap();
    }
    // The day's audit anchor goes to the group too, once; the incidents'
    // notices are the others.
    let is_anchor = |m: &String| m.contains("审计日志锚点");
    let incident_notices = || -> Vec<String> {
        let got = robot.received.lock().unwrap().clone();
        got.into_iter().filter(|m| !is_anchor(m)).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while incident_notices().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no message reached the robot; refused: {:?}\n--- stderr\n{}",
            robot.refused.lock().unwrap(),
            up.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two more engine passes: the incident is announced once, not again.
    std::thread::sleep(Duration::from_millis(2500));
    let got = incident_notices();
    assert_eq!(got.len(), 1, "{got:#?}");
    let anchors: Vec<String> = robot
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|m| is_anchor(m))
        .cloned()
        .collect();
    assert_eq!(
        anchors.len(),
        1,
        "the anchor goes out once a day: {anchors:#?}"
    );
    // What the group keeps proves the log later.
    let sent = anchors[0]
        .split("锚点：")
        .nth(1)
        .and_then(|rest| rest.split(['\\', '"', ' ']).next())
        .unwrap_or_default()
        .to_string();
    let verified = s.run(&["audit", "verify", "--anchor", &sent]);
    assert_eq!(verified.code, 0, "{sent:?}: {verified}");
    let msg: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(msg["msgtype"], "markdown");
    let text = msg["markdown"]["text"].as_str().unwrap();
    for want in ["网页被篡改", "/srv/www", "一般", "网页篡改事件"] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    assert!(robot.refused.lock().unwrap().is_empty());
    // A person raises the level from the command line while `up` runs:
    // the group hears at once that a report is now due, and by when.
    let raised = s.run(&[
        "incident",
        "update",
        "1",
        "--level",
        "较大",
        "--reason",
        "首页违法内容展示超过30分钟",
    ]);
    assert_eq!(raised.code, 0, "{raised}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while incident_notices().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the level change was not announced\n--- stderr\n{}",
            up.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second: serde_json::Value = serde_json::from_str(&incident_notices()[1]).unwrap();
    let text = second["markdown"]["text"].as_str().unwrap();
    assert!(text.contains("较大") && text.contains("首次报告"), "{text}");
    up.signal("TERM");
    assert_eq!(up.wait(Duration::from_secs(20)), 0);
    // The timeline says who was told.
    let shown = s.json(&["incident", "show", "1", "--json"]);
    let notices: Vec<&serde_json::Value> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "notice")
        .collect();
    assert_eq!(notices.len(), 2, "{shown:#}");
    assert!(
        notices[0]["text"]
            .as_str()
            .unwrap()
            .contains("值班群（成功）"),
        "{notices:?}"
    );
}

#[test]
fn an_unreadable_engine_state_names_the_way_out_and_reset_takes_it() {
    let s = Sandbox::new();
    {
        let store = open_store(&s);
        store
            .record_events(&[tamper("/srv/www", "index.html", 10)])
            .unwrap();
    }
    assert_eq!(s.run(&["incident", "sync"]).code, 0);
    rusqlite::Connection::open(s.data.join("shouwang.db"))
        .unwrap()
        .execute(
            "UPDATE settings SET value = '{\"events\": \"x\"}' WHERE name = 'incident.engine'",
            [],
        )
        .unwrap();
    let broken = s.run(&["incident", "sync"]);
    assert_eq!(broken.code, 2, "{broken}");
    assert!(broken.stderr.contains("--reset"), "{broken}");
    let reset = s.run(&["incident", "sync", "--reset", "--json"]);
    assert_eq!(reset.code, 0, "{reset}");
    // Earlier events are skipped, later ones are read again.
    let report: serde_json::Value = serde_json::from_str(&reset.stdout).unwrap();
    assert_eq!(report["events_read"], 0, "{reset}");
    {
        let store = open_store(&s);
        // Skipping events is a person's decision: it is in the audit log.
        let skipped = store
            .audit_entries(0, 100)
            .unwrap()
            .into_iter()
            .find(|e| e.action == "incident.engine.reset")
            .expect("the reset is audited");
        assert!(
            skipped.details.contains("\"events_after\":1"),
            "{skipped:?}"
        );
        store
            .record_events(&[tamper("/srv/other", "index.html", 0)])
            .unwrap();
    }
    let list = s.json(&["incident", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");
}

#[test]
fn an_incident_change_the_audit_log_cannot_take_changes_nothing() {
    let s = Sandbox::new();
    {
        let store = open_store(&s);
        store
            .record_events(&[tamper("/srv/www", "index.html", 10)])
            .unwrap();
    }
    let list = s.json(&["incident", "list", "--json"]);
    let id = list[0]["incident"]["id"].as_i64().unwrap();
    let before = {
        let store = open_store(&s);
        (
            store.incident(id).unwrap().unwrap(),
            store.timeline(id).unwrap().len(),
        )
    };
    // Someone took the audit log's next row: the entry cannot be written.
    let db = rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    db.execute(
        "INSERT INTO audit_log (seq, time, actor, action, target, details, prev_hash, hash)
         SELECT seq + 1, 0, 'squatter', 'x', 'x', '{}', 'x', 'x' FROM audit_head",
        [],
    )
    .unwrap();
    let update = [
        "incident",
        "update",
        &id.to_string(),
        "--level",
        "较大",
        "--status",
        "处置",
        "--reason",
        "首页违法内容展示超过30分钟",
        "--note",
        "已电话报告",
    ];
    let failed = s.run(&update);
    assert_ne!(failed.code, 0, "{failed}");
    {
        let store = open_store(&s);
        let inc = store.incident(id).unwrap().unwrap();
        assert_eq!(
            (inc.level, inc.status),
            (before.0.level, before.0.status),
            "the incident changed without its audit entry"
        );
        assert_eq!(store.timeline(id).unwrap().len(), before.1);
    }
    db.execute("DELETE FROM audit_log WHERE actor = 'squatter'", [])
        .unwrap();
    let done = s.run(&update);
    assert_eq!(done.code, 0, "{done}");
    let store = open_store(&s);
    assert_eq!(store.timeline(id).unwrap().len(), before.1 + 3);
    assert!(store.verify_audit().unwrap().is_intact());
}
