//! 安全事件, 通知渠道 and 单位信息 over real HTTP: incidents made by the real
//! engine from guard events, an operator grading one and the reporting
//! clock that follows, refusals (no reason, no CSRF token, an auditor), a
//! test notice through a local WeCom stand-in, channels kept in the console
//! with write-only secrets, and the unit profile round trip.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use common::*;
use reqwest::StatusCode;
use shouwang_console::ConsoleConfig;
use shouwang_model::OperatorType;
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_notify::{ChannelConfig, ChannelKind, NotifyConfig};
use shouwang_store::Store;

const ROOT: &str = "/srv/www/portal";

/// Twenty restores on one web root, discovered `age` ago, run through the
/// engine: one 网页篡改 incident. Returns its id.
fn seed_tampering(store: &dyn Store, age: Duration) -> i64 {
    seed_restores(store, ROOT, Utc::now() - age, 20)
}

/// The page as a reader sees its text: minijinja escapes `/` and quotes.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let (status, body) = page(c, url).await;
    (status, unescape(&body))
}

async fn post(c: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    c.post(url).form(form).send().await.unwrap()
}

fn audit_actions(store: &dyn Store) -> Vec<(String, String)> {
    store
        .audit_entries(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.target))
        .collect()
}

#[tokio::test]
async fn an_operator_grades_an_incident_and_the_reporting_clock_follows() {
    let con = spawn(ConsoleConfig::default()).await;
    let store = con.store.clone();
    // Found 3½ hours ago: an ordinary operator's 4-hour first-report
    // window closes in half an hour once the incident is graded 较大.
    let id = tokio::task::spawn_blocking(move || seed_tampering(&*store, Duration::minutes(210)))
        .await
        .unwrap();

    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (status, list) = get(&op, format!("{}/incidents", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&format!("/incidents/{id}")), "{list}");
    assert!(list.contains("网络攻击事件 / 网页篡改事件"), "{list}");
    assert!(list.contains("一般（Ⅳ级）"), "{list}");

    let url = format!("{}/incidents/{id}", con.base);
    let (status, page) = get(&op, url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(ROOT) && page.contains("无需报告"), "{page}");
    assert!(
        page.contains("news/0.html 被篡改，已恢复"),
        "member events listed"
    );
    let csrf = csrf_of(&page);

    // A level change without a reason: the message, no change.
    let r = post(
        &op,
        format!("{url}/level"),
        &[("csrf", &csrf), ("level", "large"), ("reason", "  ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = unescape(&r.text().await.unwrap());
    assert!(body.contains("调整级别须说明理由"), "{body}");
    assert!(
        body.contains("id=\"form-level\""),
        "the page, not a bare error"
    );
    assert_eq!(
        con.store.incident(id).unwrap().unwrap().level,
        IncidentLevel::General
    );

    // Without the CSRF token: refused.
    let r = post(
        &op,
        format!("{url}/level"),
        &[("level", "large"), ("reason", "首页被篡改")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        con.store.incident(id).unwrap().unwrap().level,
        IncidentLevel::General
    );

    // With a reason: graded, and the clock runs.
    let reason = "门户网站首页被篡改超过30分钟";
    let r = post(
        &op,
        format!("{url}/level"),
        &[("csrf", &csrf), ("level", "large"), ("reason", reason)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        format!("/incidents/{id}?done=level").as_str()
    );
    assert_eq!(
        con.store.incident(id).unwrap().unwrap().level,
        IncidentLevel::Large
    );
    let (_, page) = get(&op, format!("{url}?done=level")).await;
    assert!(page.contains("级别已调整"), "{page}");
    assert!(
        page.contains("id=\"report-banner\"") && page.contains("前向属地省级网信部门首次报告"),
        "{page}"
    );
    assert!(page.contains("即将到期"), "{page}");
    assert!(
        page.contains(&format!("级别由“一般”调整为“较大”：{reason}")),
        "the timeline line: {page}"
    );
    let (_, list) = get(&op, format!("{}/incidents", con.base)).await;
    assert!(list.contains("首次报告 截止"), "{list}");
    assert!(list.contains("dl-due-soon"), "{list}");

    // Record the first report: the banner goes, the clock says so.
    let r = post(
        &op,
        format!("{url}/report"),
        &[("csrf", &csrf), ("stage", "first"), ("at", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        &op,
        format!("{url}/status"),
        &[("csrf", &csrf), ("status", "response"), ("reason", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        &op,
        format!("{url}/note"),
        &[("csrf", &csrf), ("note", "已联系网站运维单位排查上传接口")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&op, url.clone()).await;
    assert!(!page.contains("id=\"report-banner\""), "{page}");
    assert!(page.contains("已按时报告"), "{page}");
    assert!(page.contains("已报送首次报告"), "{page}");
    assert!(page.contains("状态由“发现”变为“处置”"), "{page}");
    assert!(page.contains("已联系网站运维单位排查上传接口"), "{page}");
    // A report time in the future is refused with a message.
    let r = post(
        &op,
        format!("{url}/report"),
        &[
            ("csrf", &csrf),
            ("stage", "follow-up"),
            ("at", "2999-01-01T00:00"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(unescape(&r.text().await.unwrap()).contains("报送时间不能晚于现在"));

    let audit = audit_actions(&*con.store);
    let target = format!("incident:{id}");
    assert_eq!(
        audit
            .iter()
            .filter(|(a, t)| a == "incident.update" && *t == target)
            .count(),
        4,
        "{audit:?}"
    );

    // An auditor sees the page without forms, and is refused a POST even
    // with a valid token.
    let au = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (status, page) = get(&au, url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("id=\"form-level\""));
    assert!(page.contains(reason));
    let csrf = csrf_of(&page);
    let r = post(
        &au,
        format!("{url}/status"),
        &[("csrf", &csrf), ("status", "closed")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(con.store.incident(id).unwrap().unwrap().status.is_open());

    // The dashboard counts it.
    let (_, dash) = get(&op, format!("{}/", con.base)).await;
    assert!(dash.contains("id=\"open-incidents\""), "{dash}");

    // Closed incidents leave the default list but not the full one.
    let r = post(
        &op,
        format!("{url}/status"),
        &[
            ("csrf", &csrf_of(&get(&op, url.clone()).await.1)),
            ("status", "closed"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, open) = get(&op, format!("{}/incidents", con.base)).await;
    assert!(!open.contains(&format!("id=\"incident-{id}\"")));
    let (_, all) = get(&op, format!("{}/incidents?scope=all", con.base)).await;
    assert!(all.contains(&format!("id=\"incident-{id}\"")));
    let (status, _) = get(&op, format!("{}/incidents/999999", con.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // In English.
    op.get(format!("{}/lang/en", con.base))
        .send()
        .await
        .unwrap();
    let (_, page) = get(&op, url.clone()).await;
    assert!(
        page.contains("Reporting clock")
            && page.contains("Large (Ⅲ)")
            && page.contains("Reported in time"),
        "{page}"
    );
    assert!(!page.contains("inc."), "no untranslated key");
}

/// What the stand-in received: (query, body) per request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A WeCom robot stand-in: records what it is sent, answers as WeCom does.
async fn wecom_stand_in() -> (std::net::SocketAddr, Received) {
    use axum::extract::{RawQuery, State};
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/cgi-bin/webhook/send",
            axum::routing::post(
                |State(got): State<Received>, RawQuery(q): RawQuery, body: String| async move {
                    got.lock().unwrap().push((q.unwrap_or_default(), body));
                    axum::Json(serde_json::json!({ "errcode": 0, "errmsg": "ok" }))
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, got)
}

#[tokio::test]
async fn channels_are_tested_added_and_removed_and_secrets_stay_hidden() {
    let (addr, got) = wecom_stand_in().await;
    let mut ops = ChannelConfig::new("值班群", ChannelKind::Wecom);
    ops.url = Some(format!("http://{addr}/cgi-bin/webhook/send"));
    ops.key = Some("wecom-key-0123456789".into());
    let config = ConsoleConfig {
        notify: NotifyConfig {
            max_attempts: 1,
            channels: vec![ops],
            ..NotifyConfig::default()
        },
        ..ConsoleConfig::default()
    };
    let con = spawn(config).await;

    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (status, page) = get(&op, format!("{}/notify", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("值班群") && page.contains("企业微信"),
        "{page}"
    );
    assert!(!page.contains("wecom-key-0123456789"), "the key is masked");
    assert!(!page.contains("id=\"add-channel\""), "operators do not add");
    let csrf = csrf_of(&page);

    let r = post(
        &op,
        format!("{}/notify/test", con.base),
        &[("csrf", &csrf), ("name", "值班群")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = unescape(&r.text().await.unwrap());
    assert!(
        body.contains("id=\"test-result\"") && body.contains("测试消息已发送"),
        "{body}"
    );
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "key=wecom-key-0123456789");
        assert!(got[0].1.contains("守望通知渠道测试"), "{}", got[0].1);
    }
    // Operators may test but not add.
    let r = post(
        &op,
        format!("{}/notify/channels", con.base),
        &[
            ("csrf", &csrf),
            ("name", "x"),
            ("kind", "wecom"),
            ("token", "k"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An admin adds a DingTalk robot; its secret never comes back.
    let admin = logged_in(&con.base, "admin", ADMIN_PW).await;
    let (_, page) = get(&admin, format!("{}/notify", con.base)).await;
    let csrf = csrf_of(&page);
    let secret = "SECabc123def456ghi789jkl012mno345pqr678stu901vwx234";
    let token = "dingtalk-access-token-5e3d587e";
    let add = |name: &'static str, secret: &'static str| {
        vec![
            ("name", name),
            ("kind", "dingtalk"),
            ("token", token),
            ("secret", secret),
            ("min_level", "较大"),
            ("enabled", "1"),
        ]
    };
    // Without the signing secret: refused, with the message.
    let mut form = add("领导群", "");
    form.push(("csrf", &csrf));
    let r = post(&admin, format!("{}/notify/channels", con.base), &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = unescape(&r.text().await.unwrap());
    assert!(body.contains("secret is empty"), "{body}");
    assert!(
        !body.contains(token),
        "a refused form does not echo secrets"
    );

    let mut form = add("领导群", secret);
    form.push(("csrf", &csrf));
    let r = post(&admin, format!("{}/notify/channels", con.base), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, format!("{}/notify?done=added", con.base)).await;
    assert!(page.contains("领导群") && page.contains("钉钉"), "{page}");
    assert!(page.contains("通知渠道已添加"), "{page}");
    assert!(!page.contains(secret), "the secret is not in the page");
    assert!(!page.contains("SECabc"), "not even its start");
    assert!(!page.contains(token), "the token is masked");
    let stored = con.store.setting("notify.channels").unwrap().unwrap();
    assert_eq!(stored[0]["name"], "领导群");
    assert_eq!(stored[0]["secret"], secret);

    // A stored channel cannot take a config channel's name.
    let r = post(
        &admin,
        format!("{}/notify/channels", con.base),
        &[
            ("csrf", &csrf),
            ("name", "值班群"),
            ("kind", "wecom"),
            ("token", "k2"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(unescape(&r.text().await.unwrap()).contains("config file"));
    // Nor can a config channel be removed here.
    let r = post(
        &admin,
        format!("{}/notify/channels/remove", con.base),
        &[("csrf", &csrf), ("name", "值班群")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = post(
        &admin,
        format!("{}/notify/channels/remove", con.base),
        &[("csrf", &csrf), ("name", "领导群")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, format!("{}/notify", con.base)).await;
    assert!(!page.contains("领导群"));

    let audit = audit_actions(&*con.store);
    for action in ["notify.test", "notify.channel.add", "notify.channel.remove"] {
        assert!(
            audit.iter().any(|(a, _)| a == action),
            "{action}: {audit:?}"
        );
    }
    let details: Vec<String> = con
        .store
        .audit_entries(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.details)
        .collect();
    assert!(
        details
            .iter()
            .all(|d| !d.contains(secret) && !d.contains(token)),
        "no secret in the audit log"
    );
}

#[tokio::test]
async fn the_unit_profile_round_trips() {
    let mut config = ConsoleConfig::default();
    config.unit.name = "某某县教育局（配置文件）".into();
    let con = spawn(config).await;
    let admin = logged_in(&con.base, "admin", ADMIN_PW).await;
    let (status, page) = get(&admin, format!("{}/unit", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("某某县教育局（配置文件）"),
        "the config's [unit] until saved"
    );
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "某某县教育局"),
        ("operator_type", "critical-infrastructure"),
        ("officer_name", "王五"),
        ("officer_title", "网络安全员"),
        ("officer_phone", "0000-1234567"),
        (
            "leading_group",
            "张三,局长,0000-1111111\n李四，副局长，0000-2222222\n",
        ),
        (
            "systems",
            "门户网站,二级,https://www.example.gov.cn/\n办公系统,三级,10.0.0.8",
        ),
        ("policies", "《网络安全管理制度》2026 年修订"),
        ("training", "2026-09 全员网络安全培训"),
        ("drills", "2026-10 网页篡改应急演练"),
    ];
    let r = post(&admin, format!("{}/unit", con.base), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, format!("{}/unit?done=1", con.base)).await;
    assert!(page.contains("单位信息已保存"));
    assert!(
        page.contains("关键信息基础设施运营者") && page.contains("李四 副局长"),
        "{page}"
    );
    assert!(
        page.contains("李四,副局长,0000-2222222"),
        "the edit form is filled in"
    );

    let p = shouwang_console::unit_profile(&*con.store, &Default::default());
    assert_eq!(p.name, "某某县教育局");
    assert_eq!(p.operator_type, OperatorType::CriticalInfrastructure);
    assert_eq!(p.leading_group.len(), 2);
    assert_eq!(p.leading_group[1].title, "副局长");
    assert_eq!(p.security_officer.phone, "0000-1234567");
    assert_eq!(p.systems[1].dengbao_level, "三级");
    assert_eq!(p.systems[1].address, "10.0.0.8");
    assert_eq!(p.drills, "2026-10 网页篡改应急演练");
    assert!(
        audit_actions(&*con.store)
            .iter()
            .any(|(a, t)| a == "unit.profile" && t == "某某县教育局")
    );

    // The operator type now sets the reporting window: 1 hour.
    let store = con.store.clone();
    let id = tokio::task::spawn_blocking(move || seed_tampering(&*store, Duration::minutes(5)))
        .await
        .unwrap();
    let (_, inc) = get(&admin, format!("{}/incidents/{id}", con.base)).await;
    assert!(inc.contains("关键信息基础设施运营者"), "{inc}");
    assert!(inc.contains("保护工作部门和公安机关"), "{inc}");

    // Only admins edit.
    let op = logged_in(&con.base, "operator", OPERATOR_PW).await;
    let (_, page) = get(&op, format!("{}/unit", con.base)).await;
    assert!(!page.contains("id=\"edit-unit\""));
    let csrf = csrf_of(&page);
    let r = post(
        &op,
        format!("{}/unit", con.base),
        &[
            ("csrf", &csrf),
            ("name", "x"),
            ("operator_type", "ordinary"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        shouwang_console::unit_profile(&*con.store, &Default::default()).name,
        "某某县教育局"
    );
}
