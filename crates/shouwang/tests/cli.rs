//! The `shouwang` binary as a user runs it: real processes, a temporary
//! data dir and config, real signals.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

mod common;
use common::*;

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn config_init_writes_a_file_that_loads() {
    let s = Sandbox::new();
    s.remove_config();
    let run = s.run(&["config", "init"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains(&s.config.display().to_string()),
        "{run}"
    );
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:8700\""), "{text}");

    let run = s.run(&["config", "show"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("listen = \"127.0.0.1:8700\""), "{run}");

    let run = s.run(&["config", "init"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--force"), "{run}");
    assert_eq!(s.run(&["config", "init", "--force"]).code, 0);
}

#[test]
fn config_show_hides_the_database_password() {
    let s = Sandbox::new();
    s.write_config("[store]\npostgres_url = \"postgresql://sw:Hunter2-secret@db/sw\"\n");
    let run = s.run(&["config", "show"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("Hunter2"), "{run}");
    assert!(
        run.stdout.contains("postgresql://sw:REDACTED@db/sw"),
        "{run}"
    );
}

#[test]
fn a_config_file_named_but_missing_is_an_error() {
    let s = Sandbox::new();
    s.remove_config();
    let run = s.run(&["config", "show"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("does not exist"), "{run}");
    assert!(run.stderr.contains("shouwang config init"), "{run}");
}

#[test]
fn a_mistyped_key_names_the_file_the_line_and_the_right_key() {
    let s = Sandbox::new();
    s.write_config("[console]\nlisen = \"127.0.0.1:1\"\n");
    let run = s.run(&["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains(&s.config.display().to_string()),
        "{run}"
    );
    assert!(run.stderr.contains("line 2"), "{run}");
    assert!(run.stderr.contains("did you mean \"listen\""), "{run}");
}

#[test]
fn a_wrong_type_names_the_line() {
    let s = Sandbox::new();
    s.write_config("[unit]\nname = \"某县\"\n\n[console]\nsession_hours = \"eight\"\n");
    let run = s.run(&["up"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("line 5"), "{run}");
    assert!(run.stderr.contains("session_hours"), "{run}");
    assert!(
        !s.data.exists(),
        "a bad config must stop `up` before it makes anything"
    );
}

#[test]
fn user_add_prints_a_generated_password_and_the_user_is_listed() {
    let s = Sandbox::new();
    let run = s.run(&["user", "add", "alice", "--role", "operator"]);
    assert_eq!(run.code, 0, "{run}");
    let password = run
        .stdout
        .lines()
        .find(|l| l.len() == 14 && l.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("no generated password printed:\n{run}"));
    assert!(
        !run.stderr.contains(password),
        "the password leaked into the logs"
    );

    let run = s.run(&["user", "list"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("alice"), "{run}");
    assert!(run.stdout.contains("must change password"), "{run}");

    let users = s.json(&["user", "list", "--json"]);
    let alice = &users.as_array().unwrap()[0];
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["role"], "operator");
    assert_eq!(alice["must_change_password"], true);
    assert!(alice.get("password_hash").is_none());
}

#[test]
fn a_weak_password_from_stdin_is_refused() {
    let s = Sandbox::new();
    let run = s.run_with_stdin(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        "abc\n",
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("too weak"), "{run}");
    let users = s.json(&["user", "list", "--json"]);
    assert_eq!(users, serde_json::json!([]));

    let run = s.run_with_stdin(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        &format!("{STRONG}\n"),
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains(STRONG), "{run}");
    let users = s.json(&["user", "list", "--json"]);
    assert_eq!(users[0]["must_change_password"], false);
}

#[test]
fn the_audit_log_verifies_until_a_row_is_edited_behind_its_back() {
    let s = Sandbox::new();
    for args in [
        &["user", "add", "alice", "--role", "admin"][..],
        &["user", "disable", "alice"],
        &["user", "enable", "alice"],
        &["user", "token", "alice", "--label", "ci"],
    ] {
        let run = s.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run}");
    }
    let run = s.run(&["audit", "verify"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("intact"), "{run}");
    assert_eq!(
        s.json(&["audit", "verify", "--json"]),
        serde_json::json!({"verdict": "intact", "entries": 4})
    );

    let db = rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    db.execute(
        "UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2",
        [],
    )
    .unwrap();
    drop(db);

    let run = s.run(&["audit", "verify"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("TAMPERED"), "{run}");
    assert!(run.stdout.contains("entry 2"), "{run}");
    assert_eq!(
        s.json(&["audit", "verify", "--json"]),
        serde_json::json!({"verdict": "edited", "seq": 2})
    );
}

#[test]
fn an_anchor_kept_outside_catches_entries_deleted_with_an_older_head_put_back() {
    let s = Sandbox::new();
    for name in ["alice", "bob", "carol"] {
        let run = s.run(&["user", "add", name, "--role", "operator"]);
        assert_eq!(run.code, 0, "{run}");
    }
    let db = || rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    let (seq, hash): (i64, String) = db()
        .query_row("SELECT seq, hash FROM audit_log WHERE seq = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let anchor = s.run(&["audit", "anchor"]);
    assert_eq!(anchor.code, 0, "{anchor}");
    let line = anchor.stdout.lines().next().unwrap().to_string();
    assert!(line.starts_with("3:"), "{anchor}");
    assert!(anchor.stdout.contains("审计日志锚点"), "{anchor}");
    assert_eq!(s.run(&["audit", "verify", "--anchor", &line]).code, 0);

    // Entries 2 and 3 deleted and the head moved back to entry 1 (a head
    // put back with its old MAC is caught by the anchor alone: the store
    // suite's an_anchor_catches_an_older_head_put_back).
    db().execute_batch(&format!(
        "DELETE FROM audit_log WHERE seq > 1; UPDATE audit_head SET seq = {seq}, hash = '{hash}'"
    ))
    .unwrap();
    let run = s.run(&["audit", "verify"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains("rewritten without the audit key"),
        "{run}"
    );
    let run = s.run(&["audit", "verify", "--anchor", &line]);
    assert_eq!(run.code, 1, "{run}");
    let run = s.run(&["audit", "verify", "--anchor", "3:nothex"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("SEQ:HASH"), "{run}");
}

#[test]
fn the_cli_is_named_as_the_actor_in_the_audit_log() {
    let s = Sandbox::new();
    assert_eq!(
        s.run(&["user", "add", "carol", "--role", "auditor"]).code,
        0
    );
    let db = rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    let actor: String = db
        .query_row("SELECT actor FROM audit_log WHERE seq = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(actor, "cli:tester");
}

#[test]
fn a_damaged_database_is_reported_and_left_alone() {
    let s = Sandbox::new();
    std::fs::create_dir_all(&s.data).unwrap();
    let db = s.data.join("shouwang.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();

    let run = s.run(&["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains(&db.display().to_string()), "{run}");
    assert!(run.stderr.contains("backup"), "{run}");
    assert_eq!(file_bytes(&db), garbage, "the damaged file was changed");
    assert!(!s.data.join("audit.key").exists());
}

#[test]
fn a_data_dir_that_cannot_be_created_is_explained() {
    let mut s = Sandbox::with_random_port();
    // A path under a regular file: fails for root too, where permissions
    // would not.
    let file = s.tmp.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    s.data = file.join("sub");
    for args in [&["up"][..], &["user", "add", "frank", "--role", "admin"]] {
        let run = s.run(args);
        assert_eq!(run.code, 2, "{run}");
        assert!(run.stderr.contains("cannot create the data dir"), "{run}");
        assert!(run.stderr.contains(&s.data.display().to_string()), "{run}");
        assert!(run.stderr.contains("--data-dir"), "{run}");
    }
}

#[test]
fn commands_that_only_read_do_not_create_the_data_dir() {
    let s = Sandbox::new();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["audit", "verify"],
        &["user", "list"],
        &["user", "disable", "nobody"],
    ] {
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(run.stderr.contains("no Shouwang data in"), "{run}");
        assert!(run.stderr.contains("shouwang up"), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
        assert!(!s.data.exists(), "{args:?} created the data dir");
    }
}

#[test]
fn json_logs_are_json_lines() {
    let s = Sandbox::new();
    for args in [
        &[
            "--log-format",
            "json",
            "user",
            "add",
            "dave",
            "--role",
            "auditor",
        ][..],
        &["--log-format", "json", "user", "disable", "nobody"],
    ] {
        let run = s.run(args);
        assert!(!run.stderr.is_empty(), "{run}");
        for line in run.stderr.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{run}"));
        }
    }
}

#[test]
fn status_shows_an_empty_store() {
    let s = Sandbox::new();
    assert_eq!(s.run(&["user", "add", "erin", "--role", "admin"]).code, 0);
    let run = s.run(&["status"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("not running"), "{run}");
    let status = s.json(&["status", "--json"]);
    assert_eq!(status["users"], 1);
    assert_eq!(status["store"]["backend"], "sqlite");
    assert_eq!(
        status["store"]["schema_version"],
        shouwang_store::SCHEMA_VERSION
    );
    assert_eq!(status["open_findings_total"], 0);
    assert_eq!(status["events"], 0);
    assert_eq!(status["audit_entries"], 1);
    assert_eq!(status["config"]["exists"], true);
    assert_eq!(status["config"]["origin"], "flag");
}

#[test]
fn up_serves_the_console_and_stops_cleanly_on_sigterm() {
    let s = Sandbox::with_random_port();
    let mut up = s.up(Some(STRONG));
    let addr = up.console_addr();
    assert!(
        !up.stdout.iter().any(|l| l.contains("一次性密码")),
        "a password was given, so none is generated"
    );

    let response = http_get(addr, "/healthz");
    assert!(response.starts_with("HTTP/1."), "{response}");
    assert!(
        response.lines().next().unwrap().contains(" 200 "),
        "{response}"
    );
    assert!(response.trim_end().ends_with("ok"), "{response}");

    let status = s.json(&["status", "--json"]);
    assert_eq!(status["up"]["running"], true, "{status}");
    assert_eq!(status["up"]["pid"], up.child.id());

    let second = s.run(&["up"]);
    assert_eq!(second.code, 2, "{second}");
    assert!(second.stderr.contains("another"), "{second}");
    assert!(
        second.stderr.contains(&up.child.id().to_string()),
        "{second}"
    );

    up.signal("TERM");
    assert_eq!(up.wait(Duration::from_secs(10)), 0);
    let logs = up.stderr.lock().unwrap().clone();
    assert!(!logs.contains(STRONG), "the password leaked into the logs");

    assert!(!s.data.join("shouwang.pid").exists());
    let status = s.json(&["status", "--json"]);
    assert_eq!(status["up"]["running"], false, "{status}");
    // user.add (admin), system.start, system.stop
    assert!(status["audit_entries"].as_i64().unwrap() >= 3, "{status}");
    assert_eq!(s.run(&["audit", "verify"]).code, 0);

    let db = rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    let actions: Vec<String> = db
        .prepare("SELECT action FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(actions, ["user.add", "system.start", "system.stop"]);

    let users = s.json(&["user", "list", "--json"]);
    assert_eq!(users[0]["name"], "admin");
    assert_eq!(users[0]["role"], "admin");
    assert_eq!(users[0]["must_change_password"], false);
}

/// `tls = "on"`: `up` serves HTTPS with a certificate of the unit CA it
/// made, which a client trusting only that CA accepts (openssl here, the
/// console's own tests use rustls).
#[test]
fn up_serves_https_with_the_unit_cas_certificate_when_asked() {
    let s = Sandbox::new();
    s.write_config("[console]\nlisten = \"127.0.0.1:0\"\ntls = \"on\"\n");
    let mut up = s.up(Some("Guard-Tower-2026"));
    let addr = up.console_addr();
    assert!(
        up.stdout
            .iter()
            .any(|l| l == &format!("console: https://{addr}/")),
        "{:?}",
        up.stdout
    );
    let trust = up.lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        trust,
        format!("如何信任本证书 / trusting its certificate: https://{addr}/trust")
    );
    if std::path::Path::new("/usr/bin/openssl").exists() {
        let verify = |ca: &std::path::Path| {
            let out = std::process::Command::new("openssl")
                .args([
                    "s_client",
                    "-connect",
                    &addr.to_string(),
                    "-verify_return_error",
                ])
                .args(["-verify_ip", "127.0.0.1", "-CAfile"])
                .arg(ca)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (ok, out) = verify(&s.data.join("tls/ca.crt"));
        assert!(ok && out.contains("Verify return code: 0 (ok)"), "{out}");
        // The public CAs this machine trusts do not vouch for it.
        let public = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
        if public.exists() {
            let (ok, out) = verify(public);
            assert!(!ok, "{out}");
        }
    } else {
        eprintln!("SKIPPED the handshake check: /usr/bin/openssl is missing");
    }
    up.signal("TERM");
    assert_eq!(up.wait(Duration::from_secs(10)), 0);
}

#[test]
fn up_prints_a_one_time_admin_password_once_and_stops_on_sigint() {
    let s = Sandbox::with_random_port();
    let mut up = s.up(None);
    up.console_addr();
    let banner = up.stdout.join("\n");
    assert!(banner.contains("一次性密码"), "{banner}");
    assert!(banner.contains("admin"), "{banner}");
    up.signal("INT");
    assert_eq!(up.wait(Duration::from_secs(10)), 0);
    let users = s.json(&["user", "list", "--json"]);
    assert_eq!(users[0]["must_change_password"], true);
    // The unit CA was made beside the password, and its fingerprint shown
    // there is the one `status` gives.
    let key = s.json(&["status", "--json"])["unit_ca"]["key_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(key.len(), 95, "{key}");
    assert!(
        banner.contains(&format!("unit CA key SHA-256: {key}")),
        "{banner}"
    );
    assert!(s.run(&["status"]).stdout.contains(&key));
    let mode = std::fs::metadata(s.data.join("tls/ca.key"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // A second run finds the administrator and creates nothing.
    let mut again = s.up(None);
    again.console_addr();
    assert!(
        !again.stdout.iter().any(|l| l.contains("一次性密码")),
        "{:?}",
        again.stdout
    );
    again.signal("TERM");
    assert_eq!(again.wait(Duration::from_secs(10)), 0);
    assert_eq!(
        s.json(&["user", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_weak_admin_password_stops_the_first_run() {
    let s = Sandbox::with_random_port();
    let run = Run::from(
        s.command(&["up"])
            .env("SHOUWANG_ADMIN_PASSWORD", "admin123")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("SHOUWANG_ADMIN_PASSWORD"), "{run}");
    assert!(!run.stderr.contains("admin123"), "{run}");
    assert!(!s.data.join("shouwang.pid").exists());
}

#[test]
fn a_port_in_use_fails_the_start_once_and_clearly() {
    let s = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    s.write_config(&format!("[console]\nlisten = \"{addr}\"\n"));
    let run = Run::from(
        s.command(&["up"])
            .env("SHOUWANG_ADMIN_PASSWORD", STRONG)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains(&format!("cannot listen on {addr}")),
        "{run}"
    );
    assert_eq!(run.stderr.matches("in use").count(), 1, "{run}");
    assert!(!s.data.join("shouwang.pid").exists());
}

#[test]
fn api_tokens_are_scoped_listed_and_revoked_from_the_command_line() {
    let s = Sandbox::new();
    let run = s.run(&["user", "add", "eve", "--role", "auditor"]);
    assert_eq!(run.code, 0, "{run}");
    let run = s.run(&["user", "token", "eve", "--scope", "admin"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.stderr.contains("beyond the role"), "{run}");
    let run = s.run(&["user", "token", "eve", "--label", "监控", "--days", "30"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("scope read, 30 days"), "{run}");
    let tokens = s.json(&["user", "token", "list", "--json"]);
    assert_eq!(tokens[0]["scope"], "read");
    assert_eq!(tokens[0]["name"], "监控");
    let id = tokens[0]["id"].to_string();
    let run = s.run(&["user", "token", "revoke", &id]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        s.json(&["user", "token", "list", "--json"]),
        serde_json::json!([])
    );
    let run = s.run(&["user", "token", "revoke", &id]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.stderr.contains("no API token with id"), "{run}");
}

#[test]
fn enabling_a_locked_user_says_it_is_still_locked_and_unlock_ends_the_lock() {
    let s = Sandbox::new();
    let run = s.run(&["user", "add", "alice", "--role", "operator"]);
    assert_eq!(run.code, 0, "{run}");
    let until = chrono::Utc::now() + chrono::Duration::minutes(15);
    let db = rusqlite::Connection::open(s.data.join("shouwang.db")).unwrap();
    db.execute(
        "UPDATE users SET failed_logins = 5, locked_until = ?1 WHERE name = 'alice'",
        [until.timestamp_micros()],
    )
    .unwrap();
    drop(db);

    let run = s.run(&["user", "enable", "alice"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("still locked"), "{run}");
    assert!(run.stdout.contains("Beijing time"), "{run}");
    assert!(run.stdout.contains("shouwang user unlock alice"), "{run}");

    let run = s.run(&["user", "unlock", "alice"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("unlocked alice"), "{run}");
    let users = s.json(&["user", "list", "--json"]);
    assert_eq!(users[0]["locked_until"], serde_json::Value::Null, "{users}");
    let run = s.run(&["user", "enable", "alice"]);
    assert!(!run.stdout.contains("locked"), "{run}");
    let run = s.run(&["user", "unlock", "nobody"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("no user named"), "{run}");
}
