//! `shouwang notify list|test` as a user runs them, against a local
//! stand-in for a 企业微信 group robot that checks the key and the payload.

mod common;

use common::http::Reply;

use std::sync::{Arc, Mutex};

use common::*;

const KEY: &str = "693a91f6-7a2b-4bc4-97a0-0ec2f1fa5aaa";

/// A WeCom robot on 127.0.0.1 accepting `KEY`: records the markdown it was
/// sent, answers errcode 93000 to any other key, as WeCom does.
fn wecom_robot() -> (u16, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let got = received.clone();
    let port = common::http::serve(move |r| {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let keyed = r.method == "POST" && r.target == format!("/cgi-bin/webhook/send?key={KEY}");
        Reply::json(match (keyed, body["markdown"]["content"].as_str()) {
            (true, Some(text)) if body["msgtype"] == "markdown" => {
                got.lock().unwrap().push(text.to_string());
                r#"{"errcode":0,"errmsg":"ok"}"#
            }
            (true, _) => r#"{"errcode":40008,"errmsg":"invalid message type"}"#,
            (false, _) => r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
        })
    })
    .port();
    (port, received)
}

fn config(port: u16, key: &str) -> String {
    format!(
        r#"[notify]
backoff_base_ms = 10

[[notify.channels]]
name = "值班群"
kind = "wecom"
url = "http://127.0.0.1:{port}/cgi-bin/webhook/send"
key = "{key}"

[[notify.channels]]
name = "停用的群"
kind = "wecom"
enabled = false
url = "http://127.0.0.1:{port}/cgi-bin/webhook/send"
key = "{key}"
"#
    )
}

#[test]
fn notify_test_reaches_the_robot_and_exits_0() {
    let (port, received) = wecom_robot();
    let s = Sandbox::new();
    s.write_config(&config(port, KEY));
    let r = s.run(&["notify", "test"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains("值班群") && r.stdout.contains("已发送"),
        "{r}"
    );
    assert!(
        !r.stdout.contains("停用的群"),
        "disabled channels are left out: {r}"
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("测试通知"), "{}", got[0]);
    // Testing does not create a data dir.
    assert!(!s.data.exists());

    // A disabled channel can be tested by name; JSON for scripts.
    let v = s.json(&["notify", "test", "停用的群", "--json"]);
    assert_eq!(v[0]["status"], "sent", "{v}");
    assert_eq!(v[0]["attempts"], 1, "{v}");
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[test]
fn a_wrong_key_exits_1_and_names_the_cause_not_the_key() {
    let (port, received) = wecom_robot();
    let s = Sandbox::new();
    let wrong = "00000000-1111-2222-3333-444444444444";
    s.write_config(&config(port, wrong));
    let r = s.run(&["notify", "test", "值班群"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains("失败") && r.stdout.contains("93000"),
        "{r}"
    );
    assert!(
        !r.stdout.contains(wrong) && !r.stderr.contains(wrong),
        "{r}"
    );
    assert!(received.lock().unwrap().is_empty());
}

#[test]
fn notify_list_masks_the_keys() {
    let s = Sandbox::new();
    s.write_config(&config(9, KEY));
    let r = s.run(&["notify", "list"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains("值班群") && r.stdout.contains("企业微信"),
        "{r}"
    );
    assert!(r.stdout.contains("停用"), "{r}");
    assert!(r.stdout.contains("key=693a***"), "{r}");
    assert!(!r.stdout.contains(KEY), "{r}");
    let shown = s.run(&["config", "show"]);
    assert_eq!(shown.code, 0, "{shown}");
    assert!(!shown.stdout.contains(KEY), "{shown}");
}

#[test]
fn config_mistakes_exit_2_naming_the_channel_and_field() {
    let s = Sandbox::new();
    s.write_config(
        "[[notify.channels]]\nname = \"dingtalk-ops\"\nkind = \"dingtalk\"\ntoken = \"t0ken-abcdef\"\n",
    );
    let r = s.run(&["notify", "test"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("notify channel \"dingtalk-ops\": secret is empty; copy the SEC"),
        "{r}"
    );
    let (port, _) = wecom_robot();
    s.write_config(&config(port, KEY));
    let r = s.run(&["notify", "test", "nope"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("no notify channel is named \"nope\""),
        "{r}"
    );
    s.write_config("# no channels\n");
    let r = s.run(&["notify", "test"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("[[notify.channels]]"), "{r}");
}
