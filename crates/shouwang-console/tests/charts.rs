//! The 30-day charts over real HTTP: drawn on the server as inline SVG
//! under the strict CSP, with Beijing day labels, the counts a person
//! would read, and every label escaped.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use shouwang_console::ConsoleConfig;
use shouwang_model::events::{guard, host, site};
use shouwang_model::{AssetKind, AssetRef, NewEvent, NewFinding, Provenance, Severity, Text};

fn event(kind: &str, asset: AssetRef, time: DateTime<Utc>, details: serde_json::Value) -> NewEvent {
    NewEvent {
        time,
        kind: kind.into(),
        asset: asset.clone(),
        severity: Severity::Medium,
        summary: "测试".into(),
        details,
        provenance: Provenance::now(kind.split('.').next().unwrap(), kind, &asset.locator),
    }
}

/// The axis label of `t`'s day in Beijing, computed here apart from the
/// console's own code: 12/01.
fn beijing_day(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8)).format("%m/%d").to_string()
}

/// The console's strict CSP, and a page with no script or style attribute.
fn assert_csp_safe(csp: &str, body: &str) {
    assert!(
        csp.contains("script-src 'none'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(!body.contains("<script"), "{body}");
    assert!(
        !body.contains(" style="),
        "inline style would break the CSP: {body}"
    );
}

#[tokio::test]
async fn the_dashboard_charts_events_per_day_by_kind_and_open_findings_by_severity() {
    let con = spawn(ConsoleConfig::default()).await;
    let now = Utc::now() - Duration::minutes(1);
    let two_days = now - Duration::days(2);
    let long_ago = now - Duration::days(45);
    let root = || AssetRef::new(AssetKind::WebRoot, "/var/www/html");
    let home = || AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(event(
            guard::RESTORED,
            root(),
            now,
            serde_json::json!({"latency_ms": 4}),
        ));
    }
    events.push(event(
        guard::RESTORED,
        root(),
        two_days,
        serde_json::json!({}),
    ));
    events.push(event(
        site::PROBE,
        home(),
        two_days,
        serde_json::json!({"ok": true}),
    ));
    events.push(event(
        site::PROBE,
        home(),
        two_days,
        serde_json::json!({"ok": false}),
    ));
    events.push(event(
        guard::RESTORED,
        root(),
        long_ago,
        serde_json::json!({}),
    ));
    // A kind no sensor emits shows as its code: which must stay text.
    events.push(event(
        "x.<script>alert(1)</script>",
        root(),
        now,
        serde_json::json!({}),
    ));
    con.store.record_events(&events).unwrap();
    let finding = |loc: &str| NewFinding {
        asset: AssetRef::new(AssetKind::Host, "pc01"),
        severity: Severity::High,
        title: Text::new("未安装防病毒软件", "No antivirus"),
        evidence: "无".into(),
        location: loc.into(),
        provenance: Provenance::now("host", "host.av", "/"),
    };
    con.store
        .record_findings(&[finding("a"), finding("b")])
        .unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let r = c.get(format!("{}/", con.base)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let body = r.text().await.unwrap();
    assert_csp_safe(&csp, &body);
    assert!(body.contains("<svg class=\"chart-svg\""), "{body}");
    assert!(body.contains("近30天每日监测记录（按类型）"));
    let (today, earlier) = (beijing_day(now), beijing_day(two_days));
    // Bars and their numbers, labelled in Chinese.
    for title in [
        // Ours and the one every test console starts with.
        format!("<title>{today} 网页篡改已恢复：4</title>"),
        format!("<title>{earlier} 网页篡改已恢复：1</title>"),
        format!("<title>{earlier} 首页可用性探测：2</title>"),
        format!("<title>{today} x.&lt;script&gt;alert(1)&lt;/script&gt;：1</title>"),
        // Ours and the one every test console starts with.
        "<title>高：3</title>".to_string(),
    ] {
        assert!(body.contains(&title), "no {title} in {body}");
    }
    // The same numbers in the table, and the days on the axis.
    assert!(
        body.contains(&format!("<tr><td>{today}</td><td class=\"num\">4</td>")),
        "{body}"
    );
    assert!(body.contains(&format!(">{today}</text>")), "{body}");
    // The legend names each kind once.
    assert!(body.contains("</svg>网页篡改已恢复</li>"));
    // Forty-five days ago is not on a 30-day chart.
    assert!(!body.contains(&format!("<td>{}</td>", beijing_day(long_ago))));
}

#[tokio::test]
async fn a_site_page_charts_each_runs_score_and_broken_links() {
    let con = spawn(ConsoleConfig::default()).await;
    let url = "https://www.example.gov.cn/";
    let asset = || AssetRef::new(AssetKind::Website, url);
    let now = Utc::now() - Duration::minutes(1);
    let yesterday = now - Duration::days(1);
    let run = |score: Option<f64>, home, other| {
        serde_json::to_value(site::Inspected {
            pages: 5,
            broken_on_homepage: home,
            broken_elsewhere: other,
            score,
            ..Default::default()
        })
        .unwrap()
    };
    con.store
        .record_events(&[
            // The homepage did not answer: no score, yet a run.
            event(site::INSPECTED, asset(), yesterday, run(None, 0, 0)),
            event(site::INSPECTED, asset(), now, run(Some(85.5), 2, 5)),
        ])
        .unwrap();
    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let r = c
        .get(format!("{}/sites/view?url={url}", con.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let body = r.text().await.unwrap();
    assert_csp_safe(&csp, &body);
    let (today, before) = (beijing_day(now), beijing_day(yesterday));
    for title in [
        format!("<title>{today} 估计得分：85.5</title>"),
        format!("<title>{today} 首页死链：2</title>"),
        format!("<title>{today} 其他页面死链：5</title>"),
    ] {
        assert!(body.contains(&title), "no {title} in {body}");
    }
    // The unscored run is a gap in the score and zeros in the links.
    assert!(
        body.contains(&format!(
            "<tr><td>{before}</td><td class=\"num\">—</td></tr>"
        )),
        "{body}"
    );
    assert!(body.contains(&format!(
        "<tr><td>{before}</td><td class=\"num\">0</td><td class=\"num\">0</td></tr>"
    )));
}

#[tokio::test]
async fn a_host_page_charts_each_checks_pass_rate() {
    let con = spawn(ConsoleConfig::default()).await;
    let now = Utc::now() - Duration::minutes(1);
    let details = serde_json::to_value(host::CheckCompleted {
        profile: "terminal".into(),
        pass: 8,
        fail: 1,
        cannot_check: 1,
        ..Default::default()
    })
    .unwrap();
    con.store
        .record_events(&[event(
            host::CHECK_COMPLETED,
            AssetRef::new(AssetKind::Host, "pc01"),
            now,
            details,
        )])
        .unwrap();
    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let body = page(&c, format!("{}/hosts/pc01", con.base)).await.1;
    let title = format!("<title>{} 通过率：80</title>", beijing_day(now));
    assert!(body.contains(&title), "no {title} in {body}");
}

#[tokio::test]
async fn a_page_with_nothing_in_30_days_says_so() {
    let con = spawn(ConsoleConfig::default()).await;
    let url = "https://old.example.gov.cn/";
    let asset = AssetRef::new(AssetKind::Website, url);
    con.store
        .record_events(&[event(
            site::INSPECTED,
            asset,
            Utc::now() - Duration::days(40),
            serde_json::to_value(site::Inspected {
                score: Some(90.0),
                ..Default::default()
            })
            .unwrap(),
        )])
        .unwrap();
    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let body = page(&c, format!("{}/sites/view?url={url}", con.base))
        .await
        .1;
    // Both charts, the run itself still listed below them.
    assert_eq!(body.matches("近30天暂无数据").count(), 2, "{body}");
    assert!(!body.contains("chart-svg"));
}
