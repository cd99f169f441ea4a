//! The 主机自查 pages over real HTTP: hosts from `host.check.completed`
//! events, a host's latest run from its run file, its open findings.

mod common;

use common::*;
use reqwest::StatusCode;
use shouwang_console::ConsoleConfig;
use shouwang_model::{AssetKind, AssetRef, NewEvent, NewFinding, Provenance, Severity, Text};

fn run_json(host: &str) -> serde_json::Value {
    serde_json::json!({
        "host": host, "os": "Kylin V10 (SP1)", "root": "/", "live": true, "profile": "terminal",
        "started_at": "2026-11-22T01:00:00Z", "duration_ms": 80, "version": "0.1.0",
        "results": [
            {"id": "acct.pass-max-days", "title": {"zh": "新账户口令最长使用 90 天", "en": "New accounts' passwords expire within 90 days"},
             "fail_title": {"zh": "新账户口令最长使用期超过 90 天", "en": "New accounts' passwords do not expire within 90 days"},
             "clause": "8.1.4.1 a)", "severity": "medium", "verdict": "fail",
             "summary": "99999 (expected 1..90)", "value": "99999", "expected": "1..90",
             "evidence": [{"file": "/etc/login.defs", "line": 12, "text": "PASS_MAX_DAYS 99999"}],
             "location": "/etc/login.defs PASS_MAX_DAYS",
             "fix": {"zh": "设置 PASS_MAX_DAYS 90。", "en": "Set PASS_MAX_DAYS 90.", "command": "sed -i s/x/y/ /etc/login.defs"}},
            {"id": "kernel.aslr", "title": {"zh": "启用地址空间随机化（ASLR）", "en": "ASLR is on"},
             "clause": "8.1.4.4 b)", "severity": "high", "verdict": "pass", "summary": "2 (expected = 2)",
             "expected": "= 2", "evidence": [], "location": "sysctl kernel.randomize_va_space",
             "fix": {"zh": "x", "en": "x"}}
        ],
        "scores": [{"control": "8.1.4.1", "name": "身份鉴别", "pass": 0, "fail": 1, "cannot_check": 0, "score": 0.0}],
        "overall": {"control": "all", "name": "总体", "pass": 1, "fail": 1, "cannot_check": 0, "score": 66.7}
    })
}

#[tokio::test]
async fn hosts_list_and_detail() {
    let con = spawn(ConsoleConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("host-runs/pc01");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("20261122T010000.000Z-terminal.json");
    std::fs::write(&file, run_json("pc01").to_string()).unwrap();
    // A second host whose run file is somewhere the console must not read.
    let stray = tmp.path().join("elsewhere.json");
    std::fs::write(&stray, run_json("pc02").to_string()).unwrap();

    let asset = AssetRef::new(AssetKind::Host, "pc01");
    let event = |host: &str, path: &std::path::Path, score: f64| NewEvent {
        time: chrono::Utc::now(),
        kind: "host.check.completed".into(),
        asset: AssetRef::new(AssetKind::Host, host),
        severity: Severity::Medium,
        summary: "主机自查".into(),
        details: serde_json::json!({"profile": "terminal", "score": score, "pass": 1, "fail": 1,
            "cannot_check": 0, "resolved": 0, "run_file": path.display().to_string()}),
        provenance: Provenance::now("host", "profile:terminal", "/"),
    };
    con.store
        .record_events(&[event("pc01", &file, 66.7), event("pc02", &stray, 50.0)])
        .unwrap();
    con.store
        .record_findings(&[NewFinding {
            asset: asset.clone(),
            severity: Severity::Medium,
            title: Text::new(
                "新账户口令最长使用期超过 90 天",
                "New accounts' passwords do not expire within 90 days",
            ),
            evidence: "/etc/login.defs:12: PASS_MAX_DAYS 99999".into(),
            location: "/etc/login.defs PASS_MAX_DAYS".into(),
            provenance: Provenance::now("host", "acct.pass-max-days", "/"),
        }])
        .unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let list = c.get(format!("{}/hosts", con.base)).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let list = list.text().await.unwrap();
    assert!(
        list.contains("/hosts/pc01") && list.contains("66.7"),
        "{list}"
    );
    assert!(list.contains("/hosts/pc02"));

    let detail = page(&c, format!("{}/hosts/pc01", con.base)).await.1;
    assert!(detail.contains("Kylin V10 (SP1)"), "{detail}");
    assert!(detail.contains("身份鉴别"));
    assert!(
        detail.contains("login.defs:12: <code>PASS_MAX_DAYS 99999</code>"),
        "{detail}"
    );
    assert!(detail.contains("设置 PASS_MAX_DAYS 90。"));
    // The failure is titled with the problem, not with the requirement.
    assert!(
        detail.contains("新账户口令最长使用期超过 90 天"),
        "{detail}"
    );
    assert!(!detail.contains("新账户口令最长使用 90 天"), "{detail}");
    // Passed checks are not listed among the failures.
    assert!(!detail.contains("kernel.aslr"));
    // The open finding links to its page.
    let id = finding_id(con.store.as_ref(), "acct.pass-max-days");
    assert!(detail.contains(&format!("/findings/{id}")));

    let stray_page = page(&c, format!("{}/hosts/pc02", con.base)).await.1;
    assert!(
        stray_page.contains("检查记录文件不在本机"),
        "a file outside host-runs is not read"
    );
    assert!(!stray_page.contains("身份鉴别"));

    let missing = c
        .get(format!("{}/hosts/nobody", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_host_checked_long_before_thousands_of_other_runs_is_still_listed() {
    let con = spawn(ConsoleConfig::default()).await;
    let event = |host: &str, minutes_ago: i64| NewEvent {
        time: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
        kind: "host.check.completed".into(),
        asset: AssetRef::new(AssetKind::Host, host),
        severity: Severity::Medium,
        summary: "主机自查".into(),
        details: serde_json::json!({"profile": "terminal", "score": 50.0}),
        provenance: Provenance::now("host", "profile:terminal", "/"),
    };
    let mut runs = vec![event("quiet-pc", 10_000)];
    runs.extend((0..6000).map(|i| event("busy-pc", i)));
    con.store.record_events(&runs).unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let list = page(&c, format!("{}/hosts", con.base)).await.1;
    assert!(list.contains("/hosts/quiet-pc"), "{list}");
    assert!(list.contains("/hosts/busy-pc"), "{list}");
}

/// `s` without each stretch from `open` to the next `close`.
fn drop_between(s: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = match rest[i..].find(close) {
            Some(j) => &rest[i + j + close.len()..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Runs of two or more English words in a page's visible text, leaving out
/// what is code (`<code>`, `<pre>`, rule ids in `<small>`), tags, and the
/// page's language switch. Paths, ids and numbers are not words.
fn english_runs(html: &str) -> Vec<String> {
    let mut rest = html.to_string();
    for (open, close) in [
        ("<code", "</code>"),
        ("<pre", "</pre>"),
        ("<small", "</small>"),
        // The switch to English is in English on purpose.
        ("<a href=\"/lang/", "</a>"),
        ("<script", "</script>"),
        ("<style", "</style>"),
    ] {
        rest = drop_between(&rest, open, close);
    }
    let mut visible = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                // A tag ends a run: words either side are not one phrase.
                in_tag = false;
                visible.push_str(" | ");
            }
            _ if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let is_word = |t: &str| {
        let t = t.trim_matches(|c: char| ",.;:()（）「」!?'\"".contains(c));
        t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic())
    };
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for token in visible.split_whitespace() {
        if is_word(token) {
            run.push(token);
        } else {
            if run.len() >= 2 {
                runs.push(run.join(" "));
            }
            run.clear();
        }
    }
    if run.len() >= 2 {
        runs.push(run.join(" "));
    }
    runs
}

/// A real run (a crafted host with no antivirus, root allowed over SSH,
/// passwords that never expire) shown in Chinese: severities, summaries,
/// evidence notes and headings are Chinese, failures are titled with the
/// problem.
#[tokio::test]
async fn host_pages_in_chinese_have_no_english() {
    let con = spawn(ConsoleConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("image");
    let write = |p: &str, text: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("etc/hostname", "office-pc-02\n");
    write("etc/ssh/sshd_config", "PermitRootLogin yes\n");
    write("etc/login.defs", "PASS_MAX_DAYS 99999\n");
    write(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
    write(
        "var/lib/dpkg/status",
        "Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n\n",
    );
    let rules = shouwang_host::RuleSet::embedded().unwrap();
    let profile = rules.profile("dengbao2").unwrap();
    let run = shouwang_host::run(&shouwang_host::Root::offline(&root), "dengbao2", &profile);
    assert!(run.count(shouwang_host::Verdict::Fail) > 0);
    assert!(run.count(shouwang_host::Verdict::CannotCheck) > 0);
    let dir = tmp.path().join("host-runs/office-pc-02");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.json");
    std::fs::write(&file, serde_json::to_vec(&run).unwrap()).unwrap();
    con.store.record_findings(&run.findings()).unwrap();
    con.store
        .record_events(&[NewEvent {
            time: chrono::Utc::now(),
            kind: "host.check.completed".into(),
            asset: run.asset(),
            severity: Severity::High,
            summary: "主机自查".into(),
            details: serde_json::json!({"profile": "dengbao2", "score": run.overall.score,
                "pass": 1, "fail": 1, "cannot_check": 1, "resolved": 0,
                "run_file": file.display().to_string()}),
            provenance: Provenance::now("host", "profile:dengbao2", "/"),
        }])
        .unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let list = page(&c, format!("{}/hosts", con.base)).await.1;
    assert!(
        list.contains("主机名") && !list.contains("用户名"),
        "{list}"
    );
    let detail = page(&c, format!("{}/hosts/office-pc-02", con.base)).await.1;
    assert!(detail.contains("未安装防病毒软件"), "{detail}");
    assert!(detail.contains("允许 root 远程登录"), "{detail}");
    assert!(
        detail.contains(r#"sev-high">高<"#) && detail.contains(r#"sev-medium">中<"#),
        "{detail}"
    );
    for leak in [
        ">high<",
        ">medium<",
        ">low<",
        "none found",
        "looked at",
        "expected",
        "could not check",
    ] {
        assert!(!detail.contains(leak), "{leak:?} on the page");
    }
    let findings = page(&c, format!("{}/findings", con.base)).await.1;
    assert!(findings.contains("未安装防病毒软件"), "{findings}");
    for (name, html) in [("hosts", &list), ("host", &detail), ("findings", &findings)] {
        let runs = english_runs(html);
        assert!(runs.is_empty(), "English on the {name} page: {runs:#?}");
    }
}

#[tokio::test]
async fn an_operator_checks_this_machine_now_and_sees_its_page() {
    let con = spawn(shouwang_console::ConsoleConfig::default()).await;
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (_, list) = page(&op, format!("{}/hosts", con.base)).await;
    assert!(
        list.contains("立即自查") && list.contains("value=\"dengbao2\""),
        "{list}"
    );
    let r = op
        .post(format!("{}/hosts/check", con.base))
        .form(&[("csrf", csrf_of(&list).as_str()), ("profile", "dengbao2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/hosts/"), "{to}");
    let (status, host) = page(&op, format!("{}{to}", con.base)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{host}");
    assert!(host.contains("dengbao2") || host.contains("等保"), "{host}");
    // Kept and recorded as `host check` does: the run file and the event.
    let runs = con
        .store
        .events(&shouwang_store::EventFilter {
            kind_prefix: Some(shouwang_model::events::host::CHECK_COMPLETED.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert!(con.data.join("host-runs").is_dir());
    let audit = con.store.recent_audit(20).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "host.check" && e.actor == "operator")
    );

    // An unknown profile is refused, saying so; an auditor may not run one.
    let r = op
        .post(format!("{}/hosts/check", con.base))
        .form(&[("csrf", csrf_of(&list).as_str()), ("profile", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let auditor = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (_, seen) = page(&auditor, format!("{}/hosts", con.base)).await;
    assert!(!seen.contains("立即自查"));
    let r = auditor
        .post(format!("{}/hosts/check", con.base))
        .form(&[("csrf", csrf_of(&seen).as_str()), ("profile", "dengbao2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
}
