//! `shouwang host` as a user runs it: a crafted offline root, a temporary
//! data dir, the store, run files and diffs.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shouwang");

struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let s = Sandbox {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::write(s.config(), "# defaults\n").unwrap();
        s
    }
    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }
    fn config(&self) -> PathBuf {
        self.tmp.path().join("shouwang.toml")
    }
    fn root(&self) -> PathBuf {
        self.tmp.path().join("image")
    }
    fn write(&self, path: &str, text: &str) {
        let p = self.root().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(self.data())
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("HOME", self.tmp.path())
            .env_remove("SHOUWANG_DATA_DIR")
            .env_remove("SHOUWANG_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn check_json(&self, profile: &str) -> (i32, serde_json::Value) {
        let root = self.root();
        let (code, out, err) = self.run(&[
            "host",
            "check",
            "--root",
            root.to_str().unwrap(),
            "--profile",
            profile,
            "--json",
        ]);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, v)
    }
}

fn verdict<'a>(run: &'a serde_json::Value, id: &str) -> &'a str {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result {id}"))["verdict"]
        .as_str()
        .unwrap()
}

fn crafted(s: &Sandbox) {
    s.write("/etc/hostname", "xiangzhen-pc01\n");
    s.write("/etc/os-release", "PRETTY_NAME=\"Kylin V10 (SP1)\"\n");
    s.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    s.write("/etc/group", "root:x:0:\n");
    s.write("/etc/shadow", "root:$6$s$h:19000:1:90:7:30::\n");
    s.write("/etc/login.defs", "PASS_MAX_DAYS 99999\n");
}

#[test]
fn check_records_findings_and_later_resolves_them() {
    let s = Sandbox::new();
    crafted(&s);
    let (code, run) = s.check_json("terminal");
    assert_eq!(code, 1, "a failed check exits 1");
    assert_eq!(run["host"], "xiangzhen-pc01");
    assert_eq!(run["os"], "Kylin V10 (SP1)");
    assert_eq!(run["live"], false);
    assert_eq!(verdict(&run, "acct.pass-max-days"), "fail");
    assert_eq!(verdict(&run, "acct.empty-password"), "pass");
    assert_eq!(verdict(&run, "net.listening-allowed"), "cannot-check");
    assert!(run["results"].as_array().unwrap().len() >= 40);

    // The findings are in the store, for this host.
    let (_, status, _) = s.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let open_before = status["open_findings_total"].as_u64().unwrap();
    assert!(open_before > 5, "{status}");

    // The host is an asset with its OS.
    let store = shouwang_store::open(&Default::default(), &s.data()).unwrap();
    let assets = store.assets().unwrap();
    let host = assets
        .iter()
        .find(|a| a.id.locator == "xiangzhen-pc01")
        .unwrap();
    assert_eq!(host.id.kind.as_str(), "host");
    assert_eq!(host.details["os"], "Kylin V10 (SP1)");
    drop(store);

    // Fix one thing and check again: its finding is resolved.
    s.write("/etc/login.defs", "PASS_MAX_DAYS 90\n");
    let (_, run2) = s.check_json("terminal");
    assert_eq!(verdict(&run2, "acct.pass-max-days"), "pass");
    let (_, status, _) = s.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        status["open_findings_total"].as_u64().unwrap(),
        open_before - 1
    );
    // The run says so in the audit log, once, naming what it resolved.
    let store = shouwang_store::open(&Default::default(), &s.data()).unwrap();
    let resolved: Vec<_> = store
        .audit_entries(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "finding.resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].actor, "sensor:host");
    let details: serde_json::Value = serde_json::from_str(&resolved[0].details).unwrap();
    assert_eq!(details["count"], 1, "{details}");
    assert_eq!(details["findings"][0]["check"], "acct.pass-max-days");
    assert!(store.verify_audit().unwrap().is_intact());
    drop(store);

    // Two run files; diff shows the change.
    let runs = s.data().join("host-runs/xiangzhen-pc01");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 2);
    let (code, out, err) = s.run(&["host", "diff", "--host", "xiangzhen-pc01", "--json"]);
    assert_eq!(code, 0, "{err}");
    let diff: serde_json::Value = serde_json::from_str(&out).unwrap();
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff}");
    assert_eq!(changes[0]["id"], "acct.pass-max-days");
    assert_eq!(changes[0]["before"], "fail");
    assert_eq!(changes[0]["after"], "pass");
    let (_, table, _) = s.run(&["host", "diff", "--host", "xiangzhen-pc01"]);
    assert!(table.contains("fail -> pass"), "{table}");
}

#[test]
fn human_output_html_and_no_record() {
    let s = Sandbox::new();
    crafted(&s);
    let html = s.tmp.path().join("report.html");
    let root = s.root();
    let (code, out, err) = s.run(&[
        "host",
        "check",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "dengbao3",
        "--no-record",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("acct.pass-max-days"));
    assert!(
        out.contains("/etc/login.defs:1: PASS_MAX_DAYS 99999"),
        "{out}"
    );
    assert!(out.contains("身份鉴别"));
    assert!(
        !s.data().exists(),
        "--no-record must not create the data dir"
    );
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("xiangzhen-pc01") && page.contains("不符合"));
}

#[test]
fn errors_exit_2_and_say_what_to_do() {
    let s = Sandbox::new();
    let (code, _, err) = s.run(&[
        "host",
        "check",
        "--root",
        "/nonexistent/image",
        "--no-record",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
    let (code, _, err) = s.run(&["host", "check", "--profile", "nope", "--no-record"]);
    assert_eq!(code, 2);
    assert!(err.contains("dengbao3"), "{err}");
    let (code, _, err) = s.run(&["host", "diff", "--host", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("host check"), "{err}");
}

#[test]
fn rules_and_profiles_are_listed() {
    let s = Sandbox::new();
    let (code, out, _) = s.run(&["host", "rules"]);
    assert_eq!(code, 0);
    for p in ["dengbao2", "dengbao3", "terminal", "classified"] {
        assert!(out.contains(p), "{out}");
    }
    let (_, out, _) = s.run(&["host", "rules", "--profile", "dengbao3", "--json"]);
    let rules: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(rules.as_array().unwrap().len() >= 120);
    let dir = s.tmp.path().join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.toml"), "[[rule]]\nid = 1\n").unwrap();
    let (code, _, err) = s.run(&["host", "rules", "--rules", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml"), "{err}");
}
