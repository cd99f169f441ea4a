//! The 网页防篡改 pages over real HTTP: a sealed root, a tamper event with
//! its diff, the quarantine, and publishing (operators only, with CSRF).

mod common;

use common::*;
use reqwest::StatusCode;
use shouwang_console::ConsoleConfig;
use shouwang_guard::state::{Condition, RootState};
use shouwang_guard::{GuardDir, SealOptions};

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("root", s)]).unwrap()
}

#[tokio::test]
async fn a_defacement_shows_with_its_diff_and_an_operator_publishes() {
    let con = spawn(ConsoleConfig::default()).await;
    let www = con.data.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<h1>某某镇人民政府</h1>\n<p>欢迎访问</p>\n",
    )
    .unwrap();
    let data = con.data.clone();
    let www2 = www.clone();
    let (root, qid) = tokio::task::spawn_blocking(move || {
        let g = GuardDir::open(&data).unwrap();
        g.seal(&www2, &SealOptions::default()).unwrap();
        std::fs::write(
            www2.join("index.html"),
            "<h1>HACKED BY X</h1>\n<p>欢迎访问</p>\n",
        )
        .unwrap();
        let b = g.baseline(&www2).unwrap();
        b.repair().unwrap();
        let qid = b.quarantine.list().unwrap()[0].id.clone();
        (b.root.display().to_string(), qid)
    })
    .await
    .unwrap();

    let c = browser_like_client();
    log_in(&c, &con.base, "auditor", AUDITOR_PW).await;
    let list = page(&c, format!("{}/guard", con.base)).await.1;
    assert!(
        list.contains(&root.replace('/', "&#x2f;"))
            && list.contains("几秒内开始实时防护")
            && list.contains("http-equiv=\"refresh\""),
        "sealed a moment ago, no watcher has checked it yet; the page follows it: {list}"
    );
    // A watcher checked it once, long ago, and promised to come back.
    let now = chrono::Utc::now();
    let b = GuardDir::open(&con.data).unwrap().baseline(&www).unwrap();
    RootState {
        root: root.clone(),
        condition: Condition::Converged,
        differing: 0,
        oldest_path: None,
        oldest_since: None,
        detail: None,
        checked_at: now - chrono::Duration::minutes(10),
        next_check_by: now - chrono::Duration::minutes(9),
    }
    .write(&b.dir)
    .unwrap();
    let list = page(&c, format!("{}/guard", con.base)).await.1;
    assert!(
        list.contains("未在实时防护") && !list.contains("http-equiv=\"refresh\""),
        "no watcher has checked the root lately: {list}"
    );
    // A watcher's last reconciliation found the root as sealed.
    RootState {
        root: root.clone(),
        condition: Condition::Converged,
        differing: 0,
        oldest_path: None,
        oldest_since: None,
        detail: None,
        checked_at: now,
        next_check_by: now + chrono::Duration::seconds(2),
    }
    .write(&b.dir)
    .unwrap();
    let list = page(&c, format!("{}/guard", con.base)).await.1;
    assert!(list.contains("已与基线一致"), "{list}");
    let metrics = page(&c, format!("{}/metrics", con.base)).await.1;
    assert!(
        metrics.contains(&format!(
            "shouwang_guard_root_converged{{root=\"{root}\",condition=\"converged\"}} 1"
        )),
        "{metrics}"
    );
    let view = page(&c, format!("{}/guard/view?{}", con.base, enc(&root)))
        .await
        .1;
    assert!(view.contains("被篡改的版本"), "{view}");
    assert!(!view.contains("publish-form"), "auditors cannot publish");
    let diff = page(
        &c,
        format!("{}/guard/diff?{}&id={qid}", con.base, enc(&root)),
    )
    .await
    .1;
    assert!(
        diff.contains("class=\"del\">- &lt;h1&gt;某某镇人民政府"),
        "{diff}"
    );
    assert!(
        diff.contains("class=\"ins\">+ &lt;h1&gt;HACKED BY X"),
        "{diff}"
    );
    let csrf = csrf_of(&view);
    let r = c
        .post(format!("{}/guard/publish", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("root", root.as_str()),
            ("path", "index.html"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An operator publishes an approved new page.
    std::fs::write(www.join("notice.html"), "<p>通知</p>").unwrap();
    let op = browser_like_client();
    log_in(&op, &con.base, "operator", OPERATOR_PW).await;
    let view = page(&op, format!("{}/guard/view?{}", con.base, enc(&root)))
        .await
        .1;
    assert!(view.contains("publish-form"));
    let r = op
        .post(format!("{}/guard/publish", con.base))
        .form(&[("root", root.as_str()), ("path", "notice.html")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let csrf = csrf_of(&view);
    let r = op
        .post(format!("{}/guard/publish", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("root", root.as_str()),
            ("path", "notice.html"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let data = con.data.clone();
    let clean = tokio::task::spawn_blocking(move || {
        GuardDir::open(&data)
            .unwrap()
            .baseline(&www)
            .unwrap()
            .check()
            .unwrap()
            .changes
            .is_empty()
    })
    .await
    .unwrap();
    assert!(clean, "the published page is in the baseline");
    let last = con.store.recent_audit(1).unwrap().remove(0);
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("operator", "guard.publish")
    );
}

const HUGE_DIFF_CHILD: &str = "SHOUWANG_TEST_HUGE_DIFF_CHILD";

/// The diff page of a 1 GB quarantined file, in a child process (this test
/// binary re-run for this one test), whose peak resident size the parent
/// measures: the page shows 512 KB at most, so it must not read the file
/// whole.
#[test]
fn the_diff_of_a_huge_quarantined_file_reads_only_what_a_page_shows() {
    if std::env::var_os(HUGE_DIFF_CHILD).is_some() {
        return tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(diff_of_a_huge_quarantined_file());
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_diff_of_a_huge_quarantined_file_reads_only_what_a_page_shows",
            "--test-threads=1",
        ])
        .env(HUGE_DIFF_CHILD, "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut peak_kb = 0u64;
    let status = loop {
        // The last value read before the child exits is its peak.
        if let Some(kb) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        {
            peak_kb = kb;
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "the child failed: {status}");
    assert!(
        peak_kb < 256 * 1024,
        "the diff page of a 1 GB file peaked at {} MB",
        peak_kb / 1024
    );
}

async fn diff_of_a_huge_quarantined_file() {
    let con = spawn(ConsoleConfig::default()).await;
    let www = con.data.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "<h1>某某镇人民政府</h1>\n").unwrap();
    let data = con.data.clone();
    let (root, qid) = tokio::task::spawn_blocking(move || {
        let g = GuardDir::open(&data).unwrap();
        g.seal(&www, &SealOptions::default()).unwrap();
        std::fs::write(www.join("index.html"), "<h1>HACKED BY X</h1>\n").unwrap();
        let b = g.baseline(&www).unwrap();
        b.repair().unwrap();
        let qid = b.quarantine.list().unwrap()[0].id.clone();
        // The tampered version kept is 1 GB (sparse: it costs no disk).
        let item = b.quarantine.item_path(&qid).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&item)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        (b.root.display().to_string(), qid)
    })
    .await
    .unwrap();
    let c = browser_like_client();
    log_in(&c, &con.base, "auditor", AUDITOR_PW).await;
    let (status, diff) = page(
        &c,
        format!("{}/guard/diff?{}&id={qid}", con.base, enc(&root)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert!(diff.contains("文件过大"), "{diff}");
}

#[tokio::test]
async fn an_admin_previews_then_seals_a_web_root_from_the_console() {
    let con = spawn(ConsoleConfig::default()).await;
    let www = con.data.parent().unwrap().join(format!(
        "www-{}",
        con.data.file_name().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(www.join("uploads/2026")).unwrap();
    std::fs::create_dir_all(www.join("news")).unwrap();
    std::fs::write(www.join("index.html"), "<h1>某某镇人民政府</h1>").unwrap();
    std::fs::write(www.join("news/1.html"), "<p>通知</p>").unwrap();
    std::fs::write(www.join("uploads/2026/a.jpg"), "jpg").unwrap();
    let root = www.display().to_string();

    let admin = logged_in(&con.base, "admin", ADMIN_PW).await;
    let (_, list) = page(&admin, format!("{}/guard", con.base)).await;
    assert!(list.contains("添加网站目录"));
    let csrf = csrf_of(&list);
    let r = admin
        .post(format!("{}/guard/preview", con.base))
        .form(&[("csrf", csrf.as_str()), ("root", root.as_str())])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let preview = r.text().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{preview}");
    // Before sealing: what is sealed, and the upload area it should not seal.
    assert!(preview.contains("3 个文件"), "{preview}");
    assert!(
        preview.contains("uploads&#x2f;**") || preview.contains("uploads/**"),
        "{preview}"
    );
    assert!(preview.contains("建立基线并开始防护"));

    let r = admin
        .post(format!("{}/guard/seal", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("root", root.as_str()),
            ("writables", "uploads/**"),
            ("excludes", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let data = con.data.clone();
    let w = www.clone();
    let writables = tokio::task::spawn_blocking(move || {
        GuardDir::open(&data)
            .unwrap()
            .baseline(&w)
            .unwrap()
            .manifest
            .writables
    })
    .await
    .unwrap();
    assert_eq!(writables, ["uploads/**"]);
    let audit = con.store.recent_audit(10).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "guard.seal" && e.actor == "admin")
    );

    // Sealed already; the data dir; an operator: each refused.
    for (who, path, status) in [
        ("admin", root.clone(), reqwest::StatusCode::BAD_REQUEST),
        (
            "admin",
            con.data.display().to_string(),
            reqwest::StatusCode::BAD_REQUEST,
        ),
        ("admin", "/".to_string(), reqwest::StatusCode::BAD_REQUEST),
        (
            "admin",
            "relative/www".to_string(),
            reqwest::StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = admin
            .post(format!("{}/guard/preview", con.base))
            .form(&[("csrf", csrf.as_str()), ("root", path.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{who} {path}");
    }
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (_, seen) = page(&op, format!("{}/guard", con.base)).await;
    assert!(!seen.contains("添加网站目录"));
    let r = op
        .post(format!("{}/guard/seal", con.base))
        .form(&[("csrf", csrf_of(&seen).as_str()), ("root", "/srv")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    std::fs::remove_dir_all(&www).unwrap();
}
