//! The chat robots and the webhook, against local stand-ins that check
//! payloads and signatures as the platforms do.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{Faults, fast_config, notice};
use shouwang_notify::{ChannelConfig, ChannelKind, DeliveryStatus, NoticeKind, Notifier};

const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const DING_TOKEN: &str = "1d5a8a0b6c7f4e2d9b3a1c0e8f7d6c5b4a392817";
const DING_SECRET: &str = "SEC5f3c1a7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3";
const FEISHU_TOKEN: &str = "5e3d587e-d78e-4a07-bd07-265f269f86fd";
const FEISHU_SECRET: &str = "nIMtb7r3N9pkXyXdtAbx6e";

fn wecom(addr: std::net::SocketAddr, key: &str) -> ChannelConfig {
    let mut c = ChannelConfig::new("wecom-duty", ChannelKind::Wecom);
    c.url = Some(format!("http://{addr}/cgi-bin/webhook/send"));
    c.key = Some(key.into());
    c
}

fn dingtalk(addr: std::net::SocketAddr, secret: &str) -> ChannelConfig {
    let mut c = ChannelConfig::new("dingtalk-ops", ChannelKind::Dingtalk);
    c.url = Some(format!("http://{addr}/robot/send"));
    c.token = Some(DING_TOKEN.into());
    c.secret = Some(secret.into());
    c
}

fn feishu(addr: std::net::SocketAddr, secret: &str) -> ChannelConfig {
    let mut c = ChannelConfig::new("feishu-group", ChannelKind::Feishu);
    c.url = Some(format!("http://{addr}/open-apis/bot/v2/hook/"));
    c.token = Some(FEISHU_TOKEN.into());
    c.secret = Some(secret.into());
    c
}

#[tokio::test]
async fn one_notice_reaches_every_robot_signed_and_in_chinese() {
    let (w, wlog) = common::wecom(WECOM_KEY, Faults::default()).await;
    let (d, dlog) = common::dingtalk(DING_TOKEN, DING_SECRET, Faults::default()).await;
    let (f, flog) = common::feishu(FEISHU_TOKEN, FEISHU_SECRET, Faults::default()).await;
    let n = Notifier::new(&fast_config(vec![
        wecom(w, WECOM_KEY),
        dingtalk(d, DING_SECRET),
        feishu(f, FEISHU_SECRET),
    ]))
    .unwrap();
    let deliveries = n
        .send(&notice(
            NoticeKind::IncidentOpened,
            "门户网站首页被篡改",
            "较大",
        ))
        .await;
    let names: Vec<&str> = deliveries.iter().map(|d| d.channel.as_str()).collect();
    assert_eq!(names, ["wecom-duty", "dingtalk-ops", "feishu-group"]);
    for d in &deliveries {
        assert_eq!(d.status, DeliveryStatus::Sent, "{d:?}");
        assert_eq!(d.attempts, 1);
    }
    for (name, log) in [("wecom", &wlog), ("dingtalk", &dlog), ("feishu", &flog)] {
        let got = log.received();
        assert_eq!(got.len(), 1, "{name}");
        let text = &got[0].text;
        assert!(text.contains("门户网站首页被篡改"), "{name}: {text}");
        assert!(
            text.contains("事件级别：") && text.contains("较大"),
            "{name}: {text}"
        );
        assert!(
            text.contains("信息破坏事件 / 信息篡改事件"),
            "{name}: {text}"
        );
        assert!(
            text.contains("发现时间：2026-11-22 12:00"),
            "{name}: {text}"
        );
        assert!(
            text.contains("首次报告截止 2026-11-22 13:00"),
            "{name}: {text}"
        );
    }
    // The markdown robots get markdown; DingTalk and Feishu show a title.
    assert_eq!(wlog.received()[0].body["msgtype"], "markdown");
    assert!(
        wlog.received()[0]
            .text
            .starts_with("### 守望 · 新发生网络安全事件")
    );
    assert_eq!(
        dlog.received()[0].title,
        "【守望】新发生网络安全事件：[较大] 门户网站首页被篡改"
    );
    assert_eq!(flog.received()[0].body["msg_type"], "post");
    assert_eq!(
        flog.received()[0].title,
        "【守望】新发生网络安全事件：[较大] 门户网站首页被篡改"
    );
}

#[tokio::test]
async fn a_wrong_dingtalk_secret_fails_at_once_and_says_so() {
    let (d, log) = common::dingtalk(DING_TOKEN, DING_SECRET, Faults::default()).await;
    let wrong = "SECnot-the-robots-secret-0123456789abcdef";
    let n = Notifier::new(&fast_config(vec![dingtalk(d, wrong)])).unwrap();
    let r = n.send_test("dingtalk-ops").await.unwrap();
    let e = r.error().expect("a wrong secret must fail");
    assert!(e.contains("钉钉 refused the message: code 310000"), "{e}");
    assert!(e.contains("check secret"), "{e}");
    assert!(!e.contains(wrong) && !e.contains(DING_TOKEN), "{e}");
    assert_eq!(r.attempts, 1, "a signature error is not worth retrying");
    assert_eq!(log.requests(), 1);
    assert!(log.received().is_empty());
}

#[tokio::test]
async fn a_wrong_feishu_secret_fails_at_once_and_says_so() {
    let (f, log) = common::feishu(FEISHU_TOKEN, FEISHU_SECRET, Faults::default()).await;
    let n = Notifier::new(&fast_config(vec![feishu(f, "wrongsecretwrongsecret")])).unwrap();
    let r = n.send_test("feishu-group").await.unwrap();
    let e = r.error().expect("a wrong secret must fail");
    assert!(e.contains("飞书 refused the message: code 19021"), "{e}");
    assert!(e.contains("check secret"), "{e}");
    assert_eq!(r.attempts, 1);
    assert_eq!(log.requests(), 1);
}

#[tokio::test]
async fn a_wrong_wecom_key_fails_at_once_without_showing_the_key() {
    let (w, log) = common::wecom(WECOM_KEY, Faults::default()).await;
    let wrong = "00000000-1111-2222-3333-444444444444";
    let n = Notifier::new(&fast_config(vec![wecom(w, wrong)])).unwrap();
    let r = n.send_test("wecom-duty").await.unwrap();
    let e = r.error().unwrap();
    assert!(e.contains("code 93000"), "{e}");
    assert!(e.contains("the key is wrong"), "{e}");
    assert!(!e.contains(wrong), "{e}");
    assert_eq!((r.attempts, log.requests()), (1, 1));
}

/// The stand-ins must refuse what the platforms refuse, or the tests above
/// prove nothing: a correctly computed signature over a timestamp two
/// hours old is turned away.
#[tokio::test]
async fn the_stand_ins_refuse_stale_timestamps() {
    let (d, _) = common::dingtalk(DING_TOKEN, DING_SECRET, Faults::default()).await;
    let (f, _) = common::feishu(FEISHU_TOKEN, FEISHU_SECRET, Faults::default()).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let old_ms = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
    for (ts, want) in [(old_ms, 310000), (chrono::Utc::now().timestamp_millis(), 0)] {
        let sign = shouwang_notify::sign::dingtalk(DING_SECRET, ts);
        let mut url = url::Url::parse(&format!("http://{d}/robot/send")).unwrap();
        url.query_pairs_mut()
            .append_pair("access_token", DING_TOKEN)
            .append_pair("timestamp", &ts.to_string())
            .append_pair("sign", &sign);
        let v: serde_json::Value = http
            .post(url)
            .json(&serde_json::json!({"msgtype": "text", "text": {"content": "x"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["errcode"], want, "{v}");
    }
    let old_s = chrono::Utc::now().timestamp() - 2 * 3600;
    for (ts, want) in [(old_s, 19021), (chrono::Utc::now().timestamp(), 0)] {
        let v: serde_json::Value = http
            .post(format!("http://{f}/open-apis/bot/v2/hook/{FEISHU_TOKEN}"))
            .json(&serde_json::json!({
                "timestamp": ts.to_string(),
                "sign": shouwang_notify::sign::feishu(FEISHU_SECRET, ts),
                "msg_type": "text",
                "content": {"text": "x"}
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["code"], want, "{v}");
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let (w, log) = common::wecom(
        WECOM_KEY,
        Faults {
            http_500: 2,
            rate_limited: 0,
        },
    )
    .await;
    let n = Notifier::new(&fast_config(vec![wecom(w, WECOM_KEY)])).unwrap();
    let d = n
        .send(&notice(NoticeKind::IncidentUpdated, "级别调整", "重大"))
        .await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status, DeliveryStatus::Sent, "{:?}", d[0]);
    assert_eq!(d[0].attempts, 3);
    assert_eq!(log.requests(), 3);
    assert_eq!(log.received().len(), 1);
}

#[tokio::test]
async fn platform_rate_limit_codes_are_retried_and_attempts_are_bounded() {
    // DingTalk's "send too fast" twice, then accepted.
    let (d, log) = common::dingtalk(
        DING_TOKEN,
        DING_SECRET,
        Faults {
            http_500: 0,
            rate_limited: 2,
        },
    )
    .await;
    let n = Notifier::new(&fast_config(vec![dingtalk(d, DING_SECRET)])).unwrap();
    let r = n.send_test("dingtalk-ops").await.unwrap();
    assert_eq!(
        (r.status.clone(), r.attempts),
        (DeliveryStatus::Sent, 3),
        "{r:?}"
    );
    assert_eq!(log.received().len(), 1);
    // Backed off longer than after a network error: two waits at the cap.
    assert!(r.elapsed >= Duration::from_millis(40), "{r:?}");

    // A robot that never recovers: max_attempts, then a failure naming it.
    let (f, log) = common::feishu(
        FEISHU_TOKEN,
        FEISHU_SECRET,
        Faults {
            http_500: 100,
            rate_limited: 0,
        },
    )
    .await;
    let n = Notifier::new(&fast_config(vec![feishu(f, FEISHU_SECRET)])).unwrap();
    let r = n.send_test("feishu-group").await.unwrap();
    let e = r.error().unwrap();
    assert!(
        e.contains("HTTP 500") && e.contains("gave up after 4 attempts"),
        "{e}"
    );
    assert_eq!((r.attempts, log.requests()), (4, 4));
}

#[tokio::test]
async fn a_burst_over_the_limit_is_coalesced_but_new_incidents_all_go_out() {
    let (w, log) = common::wecom(WECOM_KEY, Faults::default()).await;
    let mut c = wecom(w, WECOM_KEY);
    c.per_minute = Some(5);
    let n = Notifier::new(&fast_config(vec![c])).unwrap();

    // 30 notices at once: every third one a new incident.
    let notices: Vec<_> = (0..30)
        .map(|i| {
            let kind = if i % 3 == 0 {
                NoticeKind::IncidentOpened
            } else {
                NoticeKind::IncidentUpdated
            };
            notice(kind, &format!("事件{i:02}"), "一般")
        })
        .collect();
    let mut tasks = Vec::new();
    for x in &notices {
        let n = n.clone();
        let x = x.clone();
        tasks.push(tokio::spawn(async move { n.send(&x).await }));
    }
    let mut coalesced = 0;
    let mut sent_updates = 0;
    for (t, x) in tasks.into_iter().zip(&notices) {
        let d = t.await.unwrap();
        assert_eq!(d.len(), 1);
        match (&d[0].status, x.kind) {
            (DeliveryStatus::Sent, NoticeKind::IncidentUpdated) => sent_updates += 1,
            (DeliveryStatus::Sent, _) => {}
            (DeliveryStatus::Coalesced { .. }, NoticeKind::IncidentOpened) => {
                panic!("a new incident was held back: {}", x.title)
            }
            (DeliveryStatus::Coalesced { .. }, _) => coalesced += 1,
            (DeliveryStatus::Failed { error }, _) => panic!("{error}"),
        }
    }
    assert!(
        sent_updates <= 5,
        "{sent_updates} updates went past a limit of 5"
    );
    assert_eq!(sent_updates + coalesced, 20);

    // The held-back ones are counted in later messages: flush sends the
    // digest of whatever no message carried yet.
    let flushed = n.flush().await;
    assert!(
        flushed.iter().all(|d| d.status == DeliveryStatus::Sent),
        "{flushed:?}"
    );
    let received = log.received();
    for i in (0..30).step_by(3) {
        let title = format!("事件{i:02}");
        assert!(
            received
                .iter()
                .any(|r| r.text.contains(&format!("**{title}**"))),
            "new incident {title} did not arrive"
        );
    }
    let counted: u32 = received
        .iter()
        .filter_map(|r| {
            let at = r.text.find("另有 ")?;
            let rest = &r.text[at + "另有 ".len()..];
            let n = rest.split(' ').next()?.parse::<u32>().ok()?;
            assert!(rest.contains("条通知因限流合并"), "{}", r.text);
            Some(n)
        })
        .sum();
    assert_eq!(counted, coalesced, "every held-back notice is counted once");
    // Nothing left to flush.
    assert!(n.flush().await.is_empty());
}

#[tokio::test]
async fn min_level_filters_but_unknown_levels_pass() {
    let (w, log) = common::wecom(WECOM_KEY, Faults::default()).await;
    let mut c = wecom(w, WECOM_KEY);
    c.min_level = Some("重大".into());
    let n = Notifier::new(&fast_config(vec![c])).unwrap();
    let low = n
        .send(&notice(NoticeKind::IncidentOpened, "一次扫描", "较大"))
        .await;
    assert!(low.is_empty(), "{low:?}");
    let high = n
        .send(&notice(NoticeKind::IncidentOpened, "勒索软件", "特别重大"))
        .await;
    assert_eq!(high[0].status, DeliveryStatus::Sent);
    let mut unknown = notice(NoticeKind::IncidentUpdated, "未定级", "一般");
    unknown.level = None;
    assert_eq!(n.send(&unknown).await.len(), 1);
    let titles: Vec<_> = log.received().iter().map(|r| r.text.clone()).collect();
    assert_eq!(titles.len(), 2);
    assert!(titles[0].contains("勒索软件"));
}

#[tokio::test]
async fn a_disabled_channel_is_skipped_but_can_be_tested() {
    let (w, log) = common::wecom(WECOM_KEY, Faults::default()).await;
    let mut c = wecom(w, WECOM_KEY);
    c.enabled = false;
    let n = Notifier::new(&fast_config(vec![c])).unwrap();
    assert!(
        n.send(&notice(NoticeKind::IncidentOpened, "x", "一般"))
            .await
            .is_empty()
    );
    assert!(n.send_test_all().await.is_empty());
    assert_eq!(
        n.send_test("wecom-duty").await.unwrap().status,
        DeliveryStatus::Sent
    );
    assert!(log.received()[0].text.contains("测试通知"));
    let e = n.send_test("nope").await.unwrap_err().to_string();
    assert_eq!(
        e,
        "no notify channel is named \"nope\"; the channels are: wecom-duty"
    );
}

#[tokio::test]
async fn webhooks_carry_the_notice_and_an_hmac_of_the_body() {
    let (addr, log) = common::webhook(Faults {
        http_500: 1,
        rate_limited: 0,
    })
    .await;
    let secret = "shared-webhook-secret-123";
    let mut c = ChannelConfig::new("soc", ChannelKind::Webhook);
    c.url = Some(format!("http://{addr}/hook"));
    c.secret = Some(secret.into());
    let n = Notifier::new(&fast_config(vec![c])).unwrap();
    let d = n
        .send(&notice(
            NoticeKind::IncidentEscalated,
            "报告时限将至",
            "重大",
        ))
        .await;
    assert_eq!(
        (d[0].status.clone(), d[0].attempts),
        (DeliveryStatus::Sent, 2)
    );
    let r = &log.received()[0];
    let raw = base64::engine::general_purpose::STANDARD
        .decode(r.headers["x-raw-body"].to_str().unwrap())
        .unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let want = format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, &raw).as_ref())
    );
    assert_eq!(r.headers["x-shouwang-signature"].to_str().unwrap(), want);
    let ts = r.headers["x-shouwang-timestamp"].to_str().unwrap();
    assert_eq!(
        r.body["sent_at"].to_string(),
        ts,
        "the signed body holds the timestamp"
    );
    assert_eq!(r.body["notice"]["kind"], "incident-escalated");
    assert_eq!(r.body["notice"]["level"], "重大");
    assert!(r.text.contains("事件报告时限提醒"), "{}", r.text);
}

#[tokio::test]
async fn an_unreachable_robot_is_retried_and_the_error_names_no_key() {
    // A port nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let n = Notifier::new(&fast_config(vec![wecom(addr, WECOM_KEY)])).unwrap();
    let r = n.send_test("wecom-duty").await.unwrap();
    let e = r.error().unwrap();
    assert!(
        e.starts_with(&format!("cannot reach http://{addr}/…")),
        "{e}"
    );
    assert!(!e.contains(WECOM_KEY) && !e.contains("key="), "{e}");
    assert_eq!(r.attempts, 4);
}

#[tokio::test]
async fn a_channel_template_is_sent_whole() {
    let (f, log) = common::feishu(FEISHU_TOKEN, FEISHU_SECRET, Faults::default()).await;
    let mut c = feishu(f, FEISHU_SECRET);
    c.template = Some("{{ level }}级事件：{{ title }}\n资产：{{ asset }}".into());
    let n = Notifier::new(&fast_config(vec![c])).unwrap();
    let d = n
        .send(&notice(NoticeKind::IncidentOpened, "数据泄露", "重大"))
        .await;
    assert_eq!(d[0].status, DeliveryStatus::Sent, "{:?}", d[0]);
    assert_eq!(
        log.received()[0].text,
        "重大级事件：数据泄露\n资产：某某镇人民政府门户网站"
    );
}
