//! Keys, tokens, secrets and passwords never show: not in `Debug` of the
//! config or the notifier, not in listings, not in `config show`, not in
//! errors, even when a platform echoes them back.

mod common;

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::routing::post;
use serde_json::json;
use shouwang_notify::{ChannelConfig, ChannelKind, Notifier, NotifyConfig, SmtpTls};
use std::collections::HashMap;

const KEY: &str = "wecom-key-7f3a9b2c4d5e";
const TOKEN: &str = "dingtalk-token-0a1b2c3d4e5f";
const SECRET: &str = "SECdingtalk-secret-9z8y7x6w";
const FEISHU_TOKEN: &str = "feishu-hook-6e5d4c3b2a19";
const PASSWORD: &str = "smtp-password-5v4u3t";
const HOOK_SECRET: &str = "webhook-secret-1q2w3e4r";

fn all_secrets() -> [&'static str; 6] {
    [KEY, TOKEN, SECRET, FEISHU_TOKEN, PASSWORD, HOOK_SECRET]
}

fn config(wecom_url: Option<String>) -> NotifyConfig {
    let mut w = ChannelConfig::new("wecom", ChannelKind::Wecom);
    w.key = Some(KEY.into());
    w.url = wecom_url;
    let mut d = ChannelConfig::new("dingtalk", ChannelKind::Dingtalk);
    d.token = Some(TOKEN.into());
    d.secret = Some(SECRET.into());
    let mut f = ChannelConfig::new("feishu", ChannelKind::Feishu);
    f.token = Some(FEISHU_TOKEN.into());
    f.secret = Some(SECRET.into());
    let mut m = ChannelConfig::new("mail", ChannelKind::Email);
    m.smtp_host = Some("smtp.example.gov.cn".into());
    m.tls = Some(SmtpTls::Starttls);
    m.username = Some("duty".into());
    m.password = Some(PASSWORD.into());
    m.from = Some("shouwang@example.gov.cn".into());
    m.to = vec!["duty@example.gov.cn".into()];
    let mut h = ChannelConfig::new("hook", ChannelKind::Webhook);
    h.url = Some("https://soc.example.gov.cn/hook".into());
    h.secret = Some(HOOK_SECRET.into());
    common::fast_config(vec![w, d, f, m, h])
}

fn assert_clean(what: &str, text: &str) {
    for s in all_secrets() {
        assert!(!text.contains(s), "{what} shows {s}:\n{text}");
    }
}

#[test]
fn debug_listings_and_redacted_config_show_no_secret() {
    let c = config(None);
    assert_clean("Debug of the config", &format!("{c:?} {c:#?}"));
    let n = Notifier::new(&c).unwrap();
    assert_clean("Debug of the notifier", &format!("{n:?}"));
    let listing = serde_json::to_string(&n.channels()).unwrap();
    assert_clean("the channel listing", &listing);
    // The listing still tells robots apart by the start of their key.
    assert!(listing.contains("key=weco***"), "{listing}");
    let shown = toml::to_string(&c.redacted()).unwrap();
    assert_clean("the redacted config", &shown);
    assert!(shown.contains("REDACTED"), "{shown}");
    // Unredacted, the config round-trips with its secrets intact.
    let back: NotifyConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn config_errors_show_no_secret() {
    let mut c = config(None);
    // A key pasted into the URL is refused without repeating it.
    c.channels[0].url = Some(format!(
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    ));
    let e = Notifier::new(&c).unwrap_err().to_string();
    assert!(
        e.contains("notify channel \"wecom\": url holds the robot's key"),
        "{e}"
    );
    assert_clean("a config error", &e);
}

#[tokio::test]
async fn a_platform_echoing_the_key_is_scrubbed_from_the_error() {
    // Refuses everything and quotes the key back, as some gateways do.
    let app = Router::new().route(
        "/send",
        post(|Query(q): Query<HashMap<String, String>>| async move {
            Json(json!({
                "errcode": 93000,
                "errmsg": format!("invalid webhook url, key {} not found", q["key"])
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut c = config(Some(format!("http://{addr}/send")));
    c.channels.truncate(1);
    let n = Notifier::new(&c).unwrap();
    let d = n.send_test("wecom").await.unwrap();
    let e = d.error().unwrap();
    assert!(e.contains("key *** not found"), "{e}");
    assert_clean("a delivery error", e);
    assert_clean("Debug of a delivery", &format!("{d:?}"));
}
