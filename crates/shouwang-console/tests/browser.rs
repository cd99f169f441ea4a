//! The console in a real browser: headless Debian Chromium driven over
//! WebDriver (chromedriver). A person logs in, sees the dashboard, changes a
//! finding's status; the same change is refused without the CSRF token and
//! for an auditor. Screenshots land in the target dir for a reviewer.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages
//! chromium and chromium-driver; scripts/test installs them). Without them
//! the test says so and passes, unless SHOUWANG_REQUIRE_BROWSER=1.

mod common;

use common::browser::*;
use common::*;
use fantoccini::{Client, Locator};
use shouwang_console::ConsoleConfig;
use shouwang_model::FindingStatus;

async fn login(b: &Client, base: &str, user: &str, pw: &str) {
    b.goto(&format!("{base}/")).await.unwrap();
    let url = b.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/login",
        "an anonymous visitor lands on the login page"
    );
    b.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(pw)
        .await
        .unwrap();
    b.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("whoami")).await.unwrap();
}

/// POST a status change from inside the page with fetch(), as a forged or
/// scripted request would; returns the HTTP status.
async fn post_status_from_page(b: &Client, id: i64, body: &str) -> u64 {
    let script = "const [url, body, done] = arguments; \
        fetch(url, {method: 'POST', credentials: 'same-origin', \
          headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body}) \
        .then(r => done(r.status), e => done(-1));";
    b.execute_async(
        script,
        vec![format!("/findings/{id}/status").into(), body.into()],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap()
}

/// The login page over HTTPS and the 如何信任本证书 page it links to, at
/// 1366 × 768. The browser is told to ignore certificate errors: this is
/// for the pictures; trust itself is tested in `tls.rs` with a client that
/// trusts only the unit CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_over_https_links_to_how_to_trust_the_certificate() {
    if !browser_available() {
        return;
    }
    let config = ConsoleConfig {
        tls: shouwang_console::TlsSetting::On,
        ..ConsoleConfig::default()
    };
    let con = spawn_serving(config, "127.0.0.1:0".parse().unwrap(), true).await;
    assert!(con.base.starts_with("https://"));
    let profile = tempfile::tempdir().unwrap();
    let (_driver, b) = start_browser_with(
        profile.path(),
        &["--window-size=1366,907", "--ignore-certificate-errors"],
    )
    .await;
    b.goto(&format!("{}/login", con.base)).await.unwrap();
    b.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    screenshot(&b, "login-https.png").await;
    b.find(Locator::Id("trust-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = b
        .wait()
        .for_element(Locator::Id("ca-key-sha256"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (id, _) = shouwang_console::tls::UnitCa::identity_in(&con.data.join("tls"))
        .unwrap()
        .unwrap();
    assert_eq!(shown, id.key_sha256);
    let page = b.source().await.unwrap();
    assert!(page.contains("受信任的根证书颁发机构"));
    screenshot(&b, "trust.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_and_changes_a_finding() {
    if !browser_available() {
        return;
    }
    let con = spawn(ConsoleConfig::default()).await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, b) = start_browser(profile.path()).await;

    login(&b, &con.base, "operator", OPERATOR_PW).await;
    let dash = b.source().await.unwrap();
    assert!(dash.contains("安全总览"), "the dashboard in Chinese");
    let total = b
        .find(Locator::Id("open-total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(total, "3", "three open findings seeded");
    assert!(
        b.find(Locator::Css("#severity-tiles"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("严重")
    );
    screenshot(&b, "dashboard.png").await;

    let id = finding_id(&*con.store, "host.ssh.permit-root-login");
    b.goto(&format!("{}/findings", con.base)).await.unwrap();
    let row = b.find(Locator::Id(&format!("finding-{id}"))).await.unwrap();
    assert!(row.text().await.unwrap().contains("SSH 允许 root 直接登录"));
    row.find(Locator::Css("select[name=status] option[value=resolved]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    row.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert_eq!(notice.text().await.unwrap(), "问题状态已更新。");
    assert_eq!(
        con.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Resolved
    );
    screenshot(&b, "findings-operator.png").await;

    // The same kind of request without the token is refused.
    let other = finding_id(&*con.store, "site.broken-link");
    assert_eq!(
        post_status_from_page(&b, other, "status=resolved").await,
        403
    );
    assert_eq!(
        con.store.finding(other).unwrap().unwrap().status,
        FindingStatus::Open
    );

    // Log out, log in as an auditor: no forms, and even a request with a
    // valid CSRF token is refused.
    b.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    login(&b, &con.base, "auditor", AUDITOR_PW).await;
    b.goto(&format!("{}/findings", con.base)).await.unwrap();
    assert!(
        b.find_all(Locator::Css(".status-form"))
            .await
            .unwrap()
            .is_empty()
    );
    let csrf = b
        .find(Locator::Css("form[action='/logout'] input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        post_status_from_page(&b, other, &format!("status=resolved&csrf={csrf}")).await,
        403
    );
    assert_eq!(
        con.store.finding(other).unwrap().unwrap().status,
        FindingStatus::Open
    );
    screenshot(&b, "findings-auditor.png").await;

    b.goto(&format!("{}/audit", con.base)).await.unwrap();
    let verdict = b
        .find(Locator::Id("audit-verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(verdict.contains("哈希链校验通过"), "{verdict}");
    let table = b
        .find(Locator::Id("audit"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("修改问题状态") && table.contains("operator"),
        "{table}"
    );
    assert!(
        !table.contains("finding.status"),
        "the action is shown by its name: {table}"
    );
    screenshot(&b, "audit.png").await;

    // A defaced page restored by the guard, seen on the anti-tamper page.
    let www = con.data.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<h1>某某镇人民政府</h1>\n<p>欢迎访问</p>\n",
    )
    .unwrap();
    let data = con.data.clone();
    let (root, qid) = tokio::task::spawn_blocking(move || {
        let g = shouwang_guard::GuardDir::open(&data).unwrap();
        g.seal(&www, &Default::default()).unwrap();
        std::fs::write(
            www.join("index.html"),
            "<h1>HACKED BY X</h1>\n<p>欢迎访问</p>\n",
        )
        .unwrap();
        let b = g.baseline(&www).unwrap();
        b.repair().unwrap();
        (
            b.root.display().to_string(),
            b.quarantine.list().unwrap()[0].id.clone(),
        )
    })
    .await
    .unwrap();
    let q = serde_urlencoded::to_string([("root", root.as_str()), ("id", qid.as_str())]).unwrap();
    b.goto(&format!("{}/guard/diff?{q}", con.base))
        .await
        .unwrap();
    let diff = b
        .find(Locator::Id("diff"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        diff.contains("- <h1>某某镇人民政府</h1>") && diff.contains("+ <h1>HACKED BY X</h1>"),
        "{diff}"
    );
    screenshot(&b, "guard-diff.png").await;
    b.close().await.unwrap();
}

/// An operator grades a defacement incident in the browser; the page shows
/// the first-report banner and the timeline. Screenshots of the incident
/// pages, the channels and the unit profile for a reviewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_grades_an_incident() {
    if !browser_available() {
        return;
    }
    // A channel from the config file, for the channels page; nothing is sent.
    let mut duty =
        shouwang_notify::ChannelConfig::new("值班群", shouwang_notify::ChannelKind::Wecom);
    duty.key = Some("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa".into());
    duty.min_level = Some("较大".into());
    let mut config = ConsoleConfig::default();
    config.notify.channels.push(duty);
    config.unit.name = "某某县教育局".into();
    let con = spawn(config).await;
    let store = con.store.clone();
    let id = tokio::task::spawn_blocking(move || {
        let root = "/srv/www/portal";
        let t0 = chrono::Utc::now() - chrono::Duration::minutes(210);
        let events: Vec<shouwang_model::NewEvent> = (0..20)
            .map(|i| shouwang_model::NewEvent {
                time: t0 + chrono::Duration::seconds(i),
                kind: "guard.restored".into(),
                asset: shouwang_model::AssetRef::new(shouwang_model::AssetKind::WebRoot, root),
                severity: shouwang_model::Severity::High,
                summary: format!("news/{i}.html 被篡改，已恢复"),
                details: serde_json::json!({ "path": format!("news/{i}.html"), "root": root }),
                provenance: shouwang_model::Provenance::now("guard", "guard.watch", root),
            })
            .collect();
        store.record_events(&events).unwrap();
        shouwang_incident::Engine::new(shouwang_incident::RuleSet::builtin())
            .catch_up(&*store)
            .unwrap();
        store
            .incidents(&Default::default())
            .unwrap()
            .into_iter()
            .find(|i| i.asset.locator == root)
            .unwrap()
            .id
    })
    .await
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_driver, b) = start_browser(profile.path()).await;
    login(&b, &con.base, "operator", OPERATOR_PW).await;

    b.goto(&format!("{}/incidents", con.base)).await.unwrap();
    let row = b
        .find(Locator::Id(&format!("incident-{id}")))
        .await
        .unwrap();
    assert!(
        row.text()
            .await
            .unwrap()
            .contains("网络攻击事件 / 网页篡改事件")
    );
    screenshot(&b, "incidents.png").await;

    b.goto(&format!("{}/incidents/{id}", con.base))
        .await
        .unwrap();
    let form = b.find(Locator::Id("form-level")).await.unwrap();
    form.find(Locator::Css("select[name=level] option[value=large]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    form.find(Locator::Css("input[name=reason]"))
        .await
        .unwrap()
        .send_keys("门户网站首页被篡改超过30分钟")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let banner = b
        .wait()
        .for_element(Locator::Id("report-banner"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("前向属地省级网信部门首次报告"), "{banner}");
    let timeline = b
        .find(Locator::Id("timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("级别由“一般”调整为“较大”"), "{timeline}");
    b.set_window_size(1366, 2600).await.unwrap();
    screenshot(&b, "incident.png").await;

    // An administrator's view of the channels and the unit profile.
    b.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    login(&b, &con.base, "admin", ADMIN_PW).await;
    b.set_window_size(1366, 1500).await.unwrap();
    b.goto(&format!("{}/notify", con.base)).await.unwrap();
    let page = b.source().await.unwrap();
    assert!(page.contains("值班群") && !page.contains("0ec2sifa5aaa"));
    screenshot(&b, "notify.png").await;
    b.goto(&format!("{}/unit", con.base)).await.unwrap();
    let form = b.find(Locator::Id("edit-unit")).await.unwrap();
    form.find(Locator::Css("textarea[name=leading_group]"))
        .await
        .unwrap()
        .send_keys("张三,局长,0000-1111111\n李四,副局长,0000-2222222")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("notice")).await.unwrap();
    screenshot(&b, "unit.png").await;
    // 添加网站目录: what the seal takes in is shown before sealing.
    let portal = tempfile::tempdir().unwrap();
    let new_root = portal.path();
    std::fs::create_dir_all(new_root.join("uploads")).unwrap();
    std::fs::create_dir_all(new_root.join("news")).unwrap();
    std::fs::write(new_root.join("news/1.html"), "<p>通知</p>").unwrap();
    std::fs::write(new_root.join("index.html"), "<h1>门户</h1>").unwrap();
    b.goto(&format!("{}/guard", con.base)).await.unwrap();
    let form = b.find(Locator::Id("add-root")).await.unwrap();
    form.find(Locator::Css("input[name=root]"))
        .await
        .unwrap()
        .send_keys(&new_root.display().to_string())
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("preview")).await.unwrap();
    screenshot(&b, "guard-add.png").await;
    // 报告: the forms every role may use.
    b.goto(&format!("{}/reports", con.base)).await.unwrap();
    b.find(Locator::Id("form-selfcheck")).await.unwrap();
    b.find(Locator::Id("ledger-link")).await.unwrap();
    screenshot(&b, "reports.png").await;
    // The HTML report shown in the tab keeps its own (inline) styles.
    b.goto(&format!(
        "{}/reports/selfcheck?format=html&inline=1",
        con.base
    ))
    .await
    .unwrap();
    assert!(b.source().await.unwrap().contains("网络安全自查报告"));
    screenshot(&b, "report-selfcheck.png").await;
    // 用户管理: an admin makes a read-only token; it is listed with its
    // times in Beijing time.
    b.set_window_size(1366, 768).await.unwrap();
    b.goto(&format!("{}/users", con.base)).await.unwrap();
    let form = b
        .find(Locator::Css("form[action='/users/tokens']"))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=label]"))
        .await
        .unwrap()
        .send_keys("监控脚本")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("secret")).await.unwrap();
    let listed = b
        .find(Locator::Id("tokens"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("监控脚本") && listed.contains("只读") && listed.contains("北京时间"),
        "{listed}"
    );
    screenshot(&b, "users.png").await;
    b.close().await.unwrap();
}

/// The dashboard's charts over 30 days of seeded events, at 1366 × 768:
/// the picture is looked at (labels legible, no overlap, Chinese drawn).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_charts_thirty_days_at_1366_by_768() {
    use shouwang_model::events::{guard, host, site};
    use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};
    if !browser_available() {
        return;
    }
    let con = spawn(ConsoleConfig::default()).await;
    let now = chrono::Utc::now();
    let mut events = Vec::new();
    let ev = |kind: &str, asset: AssetRef, days_ago: i64| NewEvent {
        time: now - chrono::Duration::days(days_ago) - chrono::Duration::minutes(5),
        kind: kind.into(),
        asset: asset.clone(),
        severity: Severity::Medium,
        summary: "测试".into(),
        details: serde_json::json!({}),
        provenance: Provenance::now(kind.split('.').next().unwrap(), kind, &asset.locator),
    };
    let root = || AssetRef::new(AssetKind::WebRoot, "/var/www/html");
    let home = || AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    for d in 0..30 {
        for _ in 0..(d * 7 % 11) {
            events.push(ev(guard::RESTORED, root(), d));
        }
        for _ in 0..(d % 3) {
            events.push(ev(guard::QUARANTINED, root(), d));
        }
        for _ in 0..4 {
            events.push(ev(site::PROBE, home(), d));
        }
        if d % 2 == 0 {
            let mut run = ev(site::INSPECTED, home(), d);
            run.details = serde_json::to_value(site::Inspected {
                broken_on_homepage: (d % 4) as u64,
                broken_elsewhere: (d * 3 % 13) as u64,
                score: (d != 6).then_some(60.0 + (d * 13 % 40) as f64),
                ..Default::default()
            })
            .unwrap();
            events.push(run);
            events.push(ev(
                host::CHECK_COMPLETED,
                AssetRef::new(AssetKind::Host, "pc01"),
                d,
            ));
        }
    }
    con.store.record_events(&events).unwrap();
    let profile = tempfile::tempdir().unwrap();
    // The window is taller than the page by the browser's own bars: 768 shown.
    let (_driver, b) = start_browser_with(profile.path(), &["--window-size=1366,907"]).await;
    login(&b, &con.base, "operator", OPERATOR_PW).await;
    let charts = b.find(Locator::Id("charts")).await.unwrap();
    let text = charts.text().await.unwrap();
    assert!(text.contains("近30天每日监测记录（按类型）"), "{text}");
    assert!(
        text.contains("网页篡改已恢复") && text.contains("可疑文件已隔离"),
        "{text}"
    );
    let today = (now + chrono::Duration::hours(8))
        .format("%m/%d")
        .to_string();
    assert!(text.contains(&today), "today's label on the axis: {text}");
    b.execute("document.getElementById('charts').scrollIntoView()", vec![])
        .await
        .unwrap();
    screenshot(&b, "dashboard-charts.png").await;
    // A site's runs: a line of scores with a gap where one was not scored.
    b.goto(&format!(
        "{}/sites/view?url=https://www.example.gov.cn/",
        con.base
    ))
    .await
    .unwrap();
    let text = b
        .find(Locator::Id("charts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("近30天每次巡查的估计得分") && text.contains("首页死链"),
        "{text}"
    );
    b.execute("document.getElementById('charts').scrollIntoView()", vec![])
        .await
        .unwrap();
    screenshot(&b, "site-charts.png").await;
}
