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
