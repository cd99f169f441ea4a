//! The 网站巡查 pages over real HTTP: each site's runs from its
//! `site.inspected` events, read through the contract, including rows an
//! older version stored without some of today's fields.

mod common;

use common::*;
use shouwang_console::ConsoleConfig;
use shouwang_model::events::site::{self, HomepageStatus, Inspected};
use shouwang_model::{Asset, AssetKind, AssetRef, NewEvent, Provenance, Severity};

fn inspected(url: &str, minutes_ago: i64, details: serde_json::Value) -> NewEvent {
    NewEvent {
        time: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
        kind: site::INSPECTED.into(),
        asset: AssetRef::new(AssetKind::Website, url),
        severity: Severity::Low,
        summary: "网站巡查".into(),
        details,
        provenance: Provenance::now(site::SENSOR, "site.inspection", url),
    }
}

#[tokio::test]
async fn a_sites_runs_show_their_counts_whether_stored_now_or_by_an_older_version() {
    let con = spawn(ConsoleConfig::default()).await;
    let url = "https://www.example.gov.cn/";
    con.store
        .upsert_asset(&Asset {
            id: AssetRef::new(AssetKind::Website, url),
            name: "示例门户".into(),
            details: serde_json::json!({ "own_site": true }),
        })
        .unwrap();
    let now = Inspected {
        pages: 17,
        refs_checked: 230,
        links_found: 400,
        broken_on_homepage: 2,
        broken_elsewhere: 5,
        homepage: Some(HomepageStatus {
            status: Some(200),
            elapsed_ms: 321,
            final_url: url.into(),
            redirects: Vec::new(),
            error: None,
        }),
        findings_by_check: [
            ("site.broken-link".to_string(), 7),
            ("site.footer.icp".into(), 1),
        ]
        .into_iter()
        .collect(),
        limits_hit: Vec::new(),
        duration_ms: 12_345,
        score: Some(72.0),
    };
    // An older row: no links_found, no limits_hit, a homepage that failed.
    let old = serde_json::json!({
        "pages": 3, "refs_checked": 9, "broken_on_homepage": 0, "broken_elsewhere": 1,
        "homepage": { "status": null, "elapsed_ms": 0, "final_url": url, "redirects": [],
                      "error": "连接超时" },
        "findings_by_check": { "site.unreachable": 1 },
        "duration_ms": 800
    });
    con.store
        .record_events(&[
            inspected(url, 60, old),
            inspected(url, 1, serde_json::to_value(&now).unwrap()),
        ])
        .unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let list = page(&c, format!("{}/sites", con.base)).await.1;
    // The list shows the last run.
    assert!(list.contains("HTTP 200 · 321 ms"), "{list}");
    assert!(list.contains("<td>17</td>"), "{list}");

    let detail = page(&c, format!("{}/sites/view?url={url}", con.base))
        .await
        .1;
    let row = |needle: &str| {
        detail
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle}: {detail}"))
            .to_string()
    };
    let last = row("HTTP 200 · 321 ms");
    for cell in [
        "<td>17</td>",
        "<td>230</td>",
        "<td>2</td>",
        "<td>5</td>",
        "<td>8</td>",
        "<td>12.3</td>",
    ] {
        assert!(last.contains(cell), "{cell} missing in {last}");
    }
    let older = row("连接超时");
    for cell in ["<td>3</td>", "<td>9</td>", "<td>1</td>", "<td>0.8</td>"] {
        assert!(older.contains(cell), "{cell} missing in {older}");
    }
}

#[tokio::test]
async fn a_site_inspected_long_before_thousands_of_other_runs_still_shows_its_last_run() {
    let con = spawn(ConsoleConfig::default()).await;
    let quiet = "https://quiet.example.gov.cn/";
    let busy = "https://busy.example.gov.cn/";
    for url in [quiet, busy] {
        con.store
            .upsert_asset(&Asset {
                id: AssetRef::new(AssetKind::Website, url),
                name: String::new(),
                details: serde_json::json!({}),
            })
            .unwrap();
    }
    let ok = serde_json::json!({
        "pages": 17,
        "homepage": { "status": 200, "elapsed_ms": 321, "final_url": quiet, "redirects": [] },
    });
    let timeout = serde_json::json!({
        "pages": 1,
        "homepage": { "status": null, "elapsed_ms": 0, "final_url": busy, "redirects": [],
                      "error": "连接超时" },
    });
    let mut runs = vec![inspected(quiet, 10_000, ok)];
    runs.extend((0..6000).map(|i| inspected(busy, i, timeout.clone())));
    con.store.record_events(&runs).unwrap();

    let c = logged_in(&con.base, "admin", ADMIN_PW).await;
    let list = page(&c, format!("{}/sites", con.base)).await.1;
    assert!(list.contains("HTTP 200 · 321 ms"), "{list}");
    let detail = page(&c, format!("{}/sites/view?url={quiet}", con.base))
        .await
        .1;
    assert!(detail.contains("HTTP 200 · 321 ms"), "{detail}");
}

/// A two-page site on 127.0.0.1: a homepage linking to an article and to a
/// missing page.
async fn tiny_site() -> std::net::SocketAddr {
    use axum::response::Html;
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                Html(
                    "<html><head><title>某某镇人民政府</title></head><body><h1>某某镇人民政府</h1>\
                     <a href=\"/news/1.html\">通知公告</a> <a href=\"/gone.html\">旧栏目</a></body></html>",
                )
            }),
        )
        .route(
            "/news/1.html",
            axum::routing::get(|| async {
                Html(
                    "<html><head><title>关于开展网络安全宣传周活动的通知</title></head><body>\
                     <h1>关于开展网络安全宣传周活动的通知</h1><p>各村（社区）：为提高全镇干部群众的网络安全意识，\
                     定于九月开展网络安全宣传周活动，请各单位认真组织。</p></body></html>",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn a_site_is_added_inspected_now_and_removed_from_the_console() {
    let site_addr = tiny_site().await;
    let mut config = ConsoleConfig::default();
    config.site.per_host_delay_ms = 0;
    config.site.check_external = false;
    let con = spawn(config).await;
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (_, list) = page(&op, format!("{}/sites", con.base)).await;
    assert!(list.contains("添加网站"), "an operator sees the add form");
    let csrf = csrf_of(&list);

    // Typed as a person types it; a second add of the same site in another
    // spelling is the same asset.
    for typed in [format!("{site_addr}"), format!("http://{site_addr}/")] {
        let r = op
            .post(format!("{}/sites/add", con.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("url", typed.as_str()),
                ("name", "某某镇政府网"),
                ("own", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{typed}");
    }
    let url = format!("http://{site_addr}/");
    let sites: Vec<_> = con
        .store
        .assets()
        .unwrap()
        .into_iter()
        .filter(|a| a.id.kind == AssetKind::Website && a.id.locator.contains("127.0.0.1"))
        .collect();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0].id.locator, url);
    assert_eq!(sites[0].name, "某某镇政府网");

    let view = format!(
        "{}/sites/view?{}",
        con.base,
        serde_urlencoded::to_string([("url", url.as_str())]).unwrap()
    );
    let (_, html) = page(&op, view.clone()).await;
    assert!(html.contains("立即巡查"), "{html}");
    let r = op
        .post(format!("{}/sites/inspect", con.base))
        .form(&[("csrf", csrf.as_str()), ("url", url.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    // The page follows the run; it ends with what it found.
    let mut html = String::new();
    for _ in 0..300 {
        html = page(&op, view.clone()).await.1;
        if html.contains("巡查完成") {
            break;
        }
        assert!(
            html.contains("http-equiv=\"refresh\""),
            "a running inspection refreshes its page: {html}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(html.contains("巡查完成：抓取 2 页"), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""));
    // Recorded as a scheduled run is: the event, the broken link found.
    let asset = AssetRef::new(AssetKind::Website, url.clone());
    let runs = con
        .store
        .events(&shouwang_store::EventFilter {
            kind_prefix: Some(site::INSPECTED.into()),
            asset: Some(asset.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(runs.len(), 1);
    let open = con
        .store
        .findings(&shouwang_store::FindingFilter {
            asset: Some(asset),
            ..Default::default()
        })
        .unwrap();
    assert!(
        open.iter().any(|f| f.location.contains("gone.html")),
        "{open:?}"
    );

    // An auditor may look but not change the list.
    let auditor = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (_, seen) = page(&auditor, view.clone()).await;
    assert!(!seen.contains("立即巡查") && !seen.contains("移出巡查列表"));
    let r = auditor
        .post(format!("{}/sites/remove", con.base))
        .form(&[("csrf", csrf_of(&seen).as_str()), ("url", url.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);

    let r = op
        .post(format!("{}/sites/remove", con.base))
        .form(&[("csrf", csrf.as_str()), ("url", url.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, list) = page(&op, format!("{}/sites", con.base)).await;
    assert!(!list.contains(&site_addr.to_string()), "{list}");
    let actions: Vec<String> = con
        .store
        .recent_audit(50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["site.add", "site.inspect", "site.remove"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
}
