//! Local stand-ins for the platforms' robot endpoints. Each checks a
//! request the way its platform documents it (payload shape, key or token,
//! signature recomputed here from the secret, timestamps at most an hour
//! off) and answers with the platform's own error codes, so that a
//! notifier that passes here passes there.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use shouwang_notify::{Notice, NoticeKind};

/// What a stand-in accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The title as the platform shows it (DingTalk and Feishu), or empty.
    pub title: String,
    /// The message text.
    pub text: String,
    /// The whole JSON body.
    pub body: Value,
    pub headers: HeaderMap,
}

#[derive(Default)]
pub struct Log {
    /// Every request, accepted or not.
    pub requests: AtomicU32,
    pub received: Mutex<Vec<Received>>,
}

impl Log {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// How a stand-in misbehaves before it behaves.
#[derive(Clone, Default)]
pub struct Faults {
    /// Answer the first N requests with HTTP 500.
    pub http_500: u32,
    /// Answer the first N requests (after the 500s) with the platform's
    /// "too fast" code.
    pub rate_limited: u32,
}

#[derive(Clone)]
struct Robot {
    secret: String,
    key: String,
    faults: Faults,
    log: Arc<Log>,
}

impl Robot {
    /// Count the request; Some(response) when a fault is due.
    fn fault(&self, too_fast: Value) -> Option<Response> {
        let n = self.log.requests.fetch_add(1, Ordering::SeqCst);
        if n < self.faults.http_500 {
            return Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream busy").into_response());
        }
        if n < self.faults.http_500 + self.faults.rate_limited {
            return Some(Json(too_fast).into_response());
        }
        None
    }

    fn record(&self, title: &str, text: &str, body: &Value, headers: &HeaderMap) {
        self.log.received.lock().unwrap().push(Received {
            title: title.to_string(),
            text: text.to_string(),
            body: body.clone(),
            headers: headers.clone(),
        });
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, message).as_ref().to_vec()
}

/// The platforms refuse timestamps more than an hour from their clock.
fn within_an_hour(ts_ms: i64) -> bool {
    (Utc::now().timestamp_millis() - ts_ms).abs() <= 3_600_000
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// 企业微信 group robot: POST /cgi-bin/webhook/send?key=KEY.
pub async fn wecom(key: &str, faults: Faults) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let robot = Robot {
        secret: String::new(),
        key: key.to_string(),
        faults,
        log: log.clone(),
    };
    let app = Router::new()
        .route("/cgi-bin/webhook/send", post(wecom_send))
        .with_state(robot);
    (serve(app).await, log)
}

async fn wecom_send(
    State(r): State<Robot>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = r.fault(json!({"errcode": 45009, "errmsg": "api freq out of limit"})) {
        return resp;
    }
    if q.get("key") != Some(&r.key) {
        return Json(
            json!({"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"}),
        )
        .into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return Json(json!({"errcode": 40058, "errmsg": "invalid json"})).into_response();
    };
    let text = match v["msgtype"].as_str() {
        Some("markdown") => v["markdown"]["content"].as_str(),
        Some("text") => v["text"]["content"].as_str(),
        _ => None,
    };
    let Some(text) = text else {
        return Json(json!({"errcode": 40008, "errmsg": "invalid message type"})).into_response();
    };
    if text.len() > 4096 {
        return Json(json!({"errcode": 40058, "errmsg": "content exceed max length 4096"}))
            .into_response();
    }
    r.record("", text, &v, &headers);
    Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
}

/// 钉钉 custom robot with 加签: POST
/// /robot/send?access_token=T&timestamp=MS&sign=urlencode(base64(HMAC)).
pub async fn dingtalk(token: &str, secret: &str, faults: Faults) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let robot = Robot {
        secret: secret.to_string(),
        key: token.to_string(),
        faults,
        log: log.clone(),
    };
    let app = Router::new()
        .route("/robot/send", post(dingtalk_send))
        .with_state(robot);
    (serve(app).await, log)
}

async fn dingtalk_send(
    State(r): State<Robot>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) =
        r.fault(json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}))
    {
        return resp;
    }
    if q.get("access_token") != Some(&r.key) {
        return Json(json!({"errcode": 300001, "errmsg": "token is not exist"})).into_response();
    }
    let sign_fail = || {
        Json(json!({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}))
            .into_response()
    };
    // The query parser has already URL-decoded `sign`: what is left is the
    // base64 of the HMAC.
    let (Some(ts), Some(sign)) = (q.get("timestamp"), q.get("sign")) else {
        return sign_fail();
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return sign_fail();
    };
    let want = STANDARD.encode(hmac(
        r.secret.as_bytes(),
        format!("{ts}\n{}", r.secret).as_bytes(),
    ));
    if !within_an_hour(ts_ms) || *sign != want {
        return sign_fail();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return Json(json!({"errcode": 40035, "errmsg": "缺少参数 json"})).into_response();
    };
    let (title, text) = match v["msgtype"].as_str() {
        Some("markdown") => (
            v["markdown"]["title"].as_str(),
            v["markdown"]["text"].as_str(),
        ),
        Some("text") => (Some(""), v["text"]["content"].as_str()),
        _ => (None, None),
    };
    let (Some(title), Some(text)) = (title, text) else {
        return Json(json!({"errcode": 40035, "errmsg": "缺少参数 markdown.title/text"}))
            .into_response();
    };
    r.record(title, text, &v, &headers);
    Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
}

/// 飞书 custom bot with 签名校验: POST /open-apis/bot/v2/hook/TOKEN with
/// `timestamp` (seconds, string) and `sign` = base64(HMAC(key =
/// "ts\nsecret", message = empty)) in the body.
pub async fn feishu(token: &str, secret: &str, faults: Faults) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let robot = Robot {
        secret: secret.to_string(),
        key: token.to_string(),
        faults,
        log: log.clone(),
    };
    let app = Router::new()
        .route("/open-apis/bot/v2/hook/{token}", post(feishu_send))
        .with_state(robot);
    (serve(app).await, log)
}

async fn feishu_send(
    State(r): State<Robot>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = r.fault(json!({"code": 11232, "msg": "frequency limited psm", "data": {}}))
    {
        return resp;
    }
    if token != r.key {
        return Json(json!({"code": 19001, "msg": "param invalid: incoming webhook access token invalid", "data": {}}))
            .into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return Json(json!({"code": 9499, "msg": "Bad Request", "data": {}})).into_response();
    };
    let sign_fail = || {
        Json(json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time", "data": {}}))
            .into_response()
    };
    let (Some(ts), Some(sign)) = (v["timestamp"].as_str(), v["sign"].as_str()) else {
        return sign_fail();
    };
    let Ok(ts_s) = ts.parse::<i64>() else {
        return sign_fail();
    };
    let want = STANDARD.encode(hmac(format!("{ts}\n{}", r.secret).as_bytes(), b""));
    if !within_an_hour(ts_s * 1000) || sign != want {
        return sign_fail();
    }
    let (title, text) = match v["msg_type"].as_str() {
        Some("text") => (
            String::new(),
            v["content"]["text"].as_str().map(str::to_string),
        ),
        Some("post") => {
            let post = &v["content"]["post"]["zh_cn"];
            let text = post["content"].as_array().map(|paragraphs| {
                paragraphs
                    .iter()
                    .map(|p| {
                        p.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|el| el["text"].as_str())
                            .collect::<String>()
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            (post["title"].as_str().unwrap_or("").to_string(), text)
        }
        Some("interactive") => (String::new(), Some(v["card"].to_string())),
        _ => (String::new(), None),
    };
    let Some(text) = text else {
        return Json(json!({"code": 9499, "msg": "Bad Request", "data": {}})).into_response();
    };
    r.record(&title, &text, &v, &headers);
    Json(json!({"code": 0, "msg": "success", "data": {}})).into_response()
}

/// Any HTTP endpoint: records the body and headers; the test checks the
/// signature. Answers 500 for the first `faults.http_500` requests.
pub async fn webhook(faults: Faults) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let robot = Robot {
        secret: String::new(),
        key: String::new(),
        faults,
        log: log.clone(),
    };
    let app = Router::new()
        .route("/hook", post(webhook_receive))
        .with_state(robot);
    (serve(app).await, log)
}

async fn webhook_receive(State(r): State<Robot>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(resp) = r.fault(json!({})) {
        return resp;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let text = v["text"].as_str().unwrap_or("").to_string();
    let mut headers = headers;
    // Keep the exact bytes, for the signature check.
    headers.insert("x-raw-body", STANDARD.encode(&body).parse().unwrap());
    r.record("", &text, &v, &headers);
    StatusCode::NO_CONTENT.into_response()
}

/// A notice about a defaced homepage, at `level`.
pub fn notice(kind: NoticeKind, title: &str, level: &str) -> Notice {
    Notice {
        kind,
        incident_id: Some(7),
        title: title.to_string(),
        class: Some("信息破坏事件".to_string()),
        subclass: Some("信息篡改事件".to_string()),
        level: Some(level.to_string()),
        asset: Some("某某镇人民政府门户网站".to_string()),
        discovered_at: Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap(),
        deadline: Some("首次报告截止 2026-11-22 13:00（剩余 45 分钟）".to_string()),
        summary: vec!["首页被替换为博彩广告".to_string()],
        link: Some("http://127.0.0.1:8700/incidents/7".to_string()),
    }
}

/// Retries every few milliseconds, so that tests of retrying are quick.
pub fn fast_config(channels: Vec<shouwang_notify::ChannelConfig>) -> shouwang_notify::NotifyConfig {
    shouwang_notify::NotifyConfig {
        max_attempts: 4,
        backoff_base_ms: 5,
        backoff_max_ms: 20,
        timeout_seconds: 5,
        channels,
    }
}
