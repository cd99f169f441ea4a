//! One attempt at delivering one message over one channel, and whether a
//! failure is worth another attempt.

use std::time::Duration;

use chrono::Utc;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};
use shouwang_model::text::shorten_bytes;
use url::Url;

use crate::config::{
    ChannelConfig, ChannelKind, ConfigError, DINGTALK_URL, FEISHU_URL, SmtpTls, WECOM_URL,
};
use crate::notice::Notice;
use crate::secret::{Secret, redact_url};
use crate::sign;
use crate::template::Rendered;

/// Why an attempt failed, and whether trying again may help.
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub retry: bool,
    /// The platform said "too fast": its limit counts a minute, so the
    /// next attempt waits longer than after a network error.
    pub slow_down: bool,
}

impl Failure {
    pub fn retry(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry: true,
            slow_down: false,
        }
    }
    fn slow_down(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry: true,
            slow_down: true,
        }
    }
    fn fatal(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry: false,
            slow_down: false,
        }
    }
}

/// A message ready to go out, whatever the channel.
pub(crate) struct Outgoing<'a> {
    pub rendered: &'a Rendered,
    /// The notice itself, for webhooks; none for a digest.
    pub notice: Option<&'a Notice>,
    pub coalesced: u32,
}

/// How a channel reaches its platform, built once from its config.
pub(crate) enum Transport {
    Http { url: Url },
    Email(Box<Mail>),
}

pub(crate) struct Mail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// WeCom refuses markdown content over 4096 bytes; stay below with room
/// for the ellipsis.
const WECOM_MAX_BYTES: usize = 4000;

impl Transport {
    pub fn new(c: &ChannelConfig, timeout: Duration) -> Result<Transport, ConfigError> {
        let url_error = |e: url::ParseError| ConfigError::Field {
            channel: c.name.clone(),
            field: "url",
            problem: format!("is not a URL ({e})"),
        };
        let base = |default: &str| c.url.clone().unwrap_or_else(|| default.to_string());
        Ok(match c.kind {
            ChannelKind::Wecom => Transport::Http {
                url: Url::parse(&base(WECOM_URL)).map_err(url_error)?,
            },
            ChannelKind::Dingtalk => Transport::Http {
                url: Url::parse(&base(DINGTALK_URL)).map_err(url_error)?,
            },
            ChannelKind::Feishu => {
                // The hook URL ends with the token; the token is kept apart
                // so that the URL can be shown.
                let mut b = base(FEISHU_URL);
                if !b.ends_with('/') {
                    b.push('/');
                }
                let token = c.token.as_ref().map(Secret::expose).unwrap_or("");
                let url = Url::parse(&b)
                    .and_then(|u| u.join(token))
                    .map_err(url_error)?;
                Transport::Http { url }
            }
            ChannelKind::Webhook => Transport::Http {
                url: Url::parse(c.url.as_deref().unwrap_or("")).map_err(url_error)?,
            },
            ChannelKind::Email => Transport::Email(Box::new(Mail::new(c, timeout)?)),
        })
    }

    /// What the channel points at, without secrets, for listings.
    pub fn describe(&self, c: &ChannelConfig) -> String {
        match self {
            Transport::Http { url } => {
                let masked =
                    |s: &Option<Secret>| s.as_ref().map(|s| mask(s.expose())).unwrap_or_default();
                match c.kind {
                    ChannelKind::Wecom => format!("{} key={}", redact_url(url), masked(&c.key)),
                    ChannelKind::Dingtalk => {
                        format!("{} access_token={} 加签", redact_url(url), masked(&c.token))
                    }
                    ChannelKind::Feishu => format!(
                        "{} hook={}{}",
                        redact_url(url),
                        masked(&c.token),
                        if c.secret.is_some() {
                            " 签名校验"
                        } else {
                            ""
                        }
                    ),
                    _ => format!(
                        "{}{}",
                        redact_url(url),
                        if c.secret.is_some() { " HMAC" } else { "" }
                    ),
                }
            }
            Transport::Email(m) => {
                let tls = c.tls.unwrap_or_default();
                format!(
                    "{}:{} ({}) → {}",
                    c.smtp_host.as_deref().unwrap_or(""),
                    c.smtp_port.unwrap_or(tls.default_port()),
                    format!("{tls:?}").to_lowercase(),
                    m.to.iter()
                        .map(|t| t.email.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
    }

    pub async fn attempt(
        &self,
        http: &reqwest::Client,
        c: &ChannelConfig,
        out: &Outgoing<'_>,
    ) -> Result<(), Failure> {
        match self {
            Transport::Email(m) => m.send(out.rendered).await,
            Transport::Http { url } => {
                let (url, body, headers) = http_request(url, c, out)?;
                post(http, c.kind, &url, body, headers).await
            }
        }
    }
}

/// The first four characters of a key, to tell robots apart in a listing.
fn mask(s: &str) -> String {
    if s.chars().count() >= 12 {
        format!("{}***", s.chars().take(4).collect::<String>())
    } else {
        "***".to_string()
    }
}

type Headers = Vec<(&'static str, String)>;

/// The URL, body and extra headers of one platform request.
fn http_request(
    base: &Url,
    c: &ChannelConfig,
    out: &Outgoing<'_>,
) -> Result<(Url, Vec<u8>, Headers), Failure> {
    let expose = |s: &Option<Secret>| s.as_ref().map(Secret::expose).unwrap_or("").to_string();
    let mut url = base.clone();
    let mut headers = Vec::new();
    let r = out.rendered;
    let body: Value = match c.kind {
        ChannelKind::Wecom => {
            url.query_pairs_mut().append_pair("key", &expose(&c.key));
            json!({"msgtype": "markdown", "markdown": {"content": shorten_bytes(&r.body, WECOM_MAX_BYTES)}})
        }
        ChannelKind::Dingtalk => {
            let ts = Utc::now().timestamp_millis();
            let secret = expose(&c.secret);
            url.query_pairs_mut()
                .append_pair("access_token", &expose(&c.token))
                .append_pair("timestamp", &ts.to_string())
                .append_pair("sign", &sign::dingtalk(&secret, ts));
            json!({"msgtype": "markdown", "markdown": {"title": r.subject, "text": r.body}})
        }
        ChannelKind::Feishu => {
            // A rich-text post: a title and one paragraph a line.
            // The built-in text starts with the heading, which the post's
            // title already shows; a channel's own template is sent whole.
            let skip = usize::from(c.template.is_none());
            let content: Vec<Value> = r
                .body
                .lines()
                .skip(skip)
                .map(|l| json!([{"tag": "text", "text": l}]))
                .collect();
            let mut body = json!({
                "msg_type": "post",
                "content": {"post": {"zh_cn": {"title": r.subject, "content": content}}}
            });
            if let Some(secret) = &c.secret {
                let ts = Utc::now().timestamp();
                body["timestamp"] = json!(ts.to_string());
                body["sign"] = json!(sign::feishu(secret.expose(), ts));
            }
            body
        }
        ChannelKind::Webhook => {
            let ts = Utc::now().timestamp();
            headers.push(("X-Shouwang-Timestamp", ts.to_string()));
            // The timestamp is in the body too, so that the signature
            // covers it and a captured request cannot be replayed later
            // unnoticed.
            json!({
                "sent_at": ts,
                "subject": r.subject,
                "text": r.body,
                "coalesced": out.coalesced,
                "notice": out.notice,
            })
        }
        ChannelKind::Email => unreachable!("e-mail is not sent over HTTP"),
    };
    let body = serde_json::to_vec(&body).map_err(|e| Failure::fatal(e.to_string()))?;
    if c.kind == ChannelKind::Webhook
        && let Some(secret) = &c.secret
    {
        headers.push((
            "X-Shouwang-Signature",
            sign::webhook(secret.expose(), &body),
        ));
    }
    Ok((url, body, headers))
}

/// Platform error codes that mean "too fast, later": WeCom 45009 (over 20
/// a minute) and -1 (system busy), DingTalk 130101 (send too fast), Feishu
/// 9499 and 11232 (frequency limited).
fn rate_limited(kind: ChannelKind, code: i64) -> bool {
    match kind {
        ChannelKind::Wecom => matches!(code, 45009 | -1),
        ChannelKind::Dingtalk => code == 130101,
        ChannelKind::Feishu => matches!(code, 9499 | 11232),
        _ => false,
    }
}

/// What a platform error code most likely means for the person fixing it.
fn hint(kind: ChannelKind, code: i64) -> &'static str {
    match (kind, code) {
        (ChannelKind::Wecom, 93000) => "; the key is wrong or the robot was removed",
        (ChannelKind::Dingtalk, 310000) => {
            "; the signature, the keywords or the IP allowlist do not match the robot's security settings (check secret)"
        }
        (ChannelKind::Dingtalk, 300001 | 400102) => {
            "; the access_token is wrong or the robot was removed"
        }
        (ChannelKind::Feishu, 19021) => {
            "; the signature does not match (check secret, and that this machine's clock is right)"
        }
        (ChannelKind::Feishu, 19024) => {
            "; the keywords or the IP allowlist do not match the bot's settings"
        }
        _ => "",
    }
}

async fn post(
    http: &reqwest::Client,
    kind: ChannelKind,
    url: &Url,
    body: Vec<u8>,
    headers: Headers,
) -> Result<(), Failure> {
    let shown = redact_url(url);
    let mut req = http
        .post(url.clone())
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // reqwest puts the URL, key included, in its errors: leave it out.
    let resp = req.send().await.map_err(|e| {
        Failure::retry(format!(
            "cannot reach {shown}: {}",
            error_chain(&e.without_url())
        ))
    })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let snippet: String = text.chars().take(200).collect();
    if status.as_u16() == 429 {
        return Err(Failure::slow_down(format!(
            "{shown} answered HTTP {status}: {snippet}"
        )));
    }
    if status.is_server_error() {
        return Err(Failure::retry(format!(
            "{shown} answered HTTP {status}: {snippet}"
        )));
    }
    if !status.is_success() {
        return Err(Failure::fatal(format!(
            "{shown} refused the message: HTTP {status}: {snippet}"
        )));
    }
    if kind == ChannelKind::Webhook {
        return Ok(());
    }
    let v: Value = serde_json::from_str(&text).map_err(|_| {
        Failure::fatal(format!(
            "{shown} did not answer as a {} robot does (HTTP {status}): {snippet}",
            kind.label()
        ))
    })?;
    // WeCom and DingTalk: errcode/errmsg; Feishu: code/msg, formerly
    // StatusCode/StatusMessage.
    let (code, msg) = match kind {
        ChannelKind::Feishu => (
            v.get("code").or_else(|| v.get("StatusCode")),
            v.get("msg").or_else(|| v.get("StatusMessage")),
        ),
        _ => (v.get("errcode"), v.get("errmsg")),
    };
    let Some(code) = code.and_then(Value::as_i64) else {
        return Err(Failure::fatal(format!(
            "{shown} answered without an error code: {snippet}"
        )));
    };
    if code == 0 {
        return Ok(());
    }
    let msg = msg.and_then(Value::as_str).unwrap_or("");
    let text = format!(
        "{} refused the message: code {code} ({msg}){}",
        kind.label(),
        hint(kind, code)
    );
    if rate_limited(kind, code) {
        Err(Failure::slow_down(text))
    } else {
        Err(Failure::fatal(text))
    }
}

/// An error and its causes on one line: reqwest's own text is often just
/// "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        source = s.source();
    }
    // lettre nests errors of one kind ("Connection error: Connection
    // error: …"): say each part once.
    let mut parts: Vec<&str> = out.split(": ").collect();
    parts.dedup();
    parts.join(": ")
}

/// Whether a TLS library error is among the causes: lettre reports a
/// certificate the client does not trust as a connection error, but unlike
/// a dropped connection it will not pass by itself.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        cause = c.source();
    }
    false
}

impl Mail {
    fn new(c: &ChannelConfig, timeout: Duration) -> Result<Mail, ConfigError> {
        let err = |field: &'static str, problem: String| ConfigError::Field {
            channel: c.name.clone(),
            field,
            problem,
        };
        let host = c.smtp_host.clone().unwrap_or_default();
        let mode = c.tls.unwrap_or_default();
        let port = c.smtp_port.unwrap_or(mode.default_port());
        let mut params = TlsParameters::builder(host.clone())
            .dangerous_accept_invalid_certs(c.accept_invalid_certs);
        if let Some(path) = &c.ca_file {
            // A private CA replaces the system's roots, as curl --cacert does.
            let pem = std::fs::read(path)
                .map_err(|e| err("ca_file", format!("cannot read {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                err(
                    "ca_file",
                    format!("{} is not a PEM certificate: {e}", path.display()),
                )
            })?;
            params = params
                .certificate_store(CertificateStore::None)
                .add_root_certificate(cert);
        }
        let tls = || {
            params
                .clone()
                .build_rustls()
                .map_err(|e| err("tls", format!("cannot set up TLS: {}", error_chain(&e))))
        };
        let tls = match mode {
            SmtpTls::Starttls => Tls::Required(tls()?),
            SmtpTls::Tls => Tls::Wrapper(tls()?),
            SmtpTls::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder = builder
                .credentials(Credentials::new(
                    user.clone(),
                    password.expose().to_string(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        let parse = |field: &'static str, s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| err(field, format!("\"{s}\" is not an address ({e})")))
        };
        Ok(Mail {
            transport: builder.build(),
            from: parse("from", c.from.as_deref().unwrap_or(""))?,
            to: c
                .to
                .iter()
                .map(|t| parse("to", t))
                .collect::<Result<_, _>>()?,
        })
    }

    async fn send(&self, r: &Rendered) -> Result<(), Failure> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(&r.subject);
        for t in &self.to {
            b = b.to(t.clone());
        }
        // Base64 keeps Chinese text intact through any relay, 8BITMIME or
        // not; the subject is RFC 2047-encoded by lettre.
        let body = Body::new_with_encoding(r.body.clone(), ContentTransferEncoding::Base64)
            .map_err(|_| Failure::fatal("cannot encode the message body"))?;
        let message = b
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| Failure::fatal(format!("cannot build the message: {e}")))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let text = format!("SMTP: {}", error_chain(&e));
            // 5xx replies (a refused login, an unknown recipient) and
            // certificate problems stay until someone fixes them; 4xx
            // replies, timeouts and dropped connections may pass.
            if e.is_permanent() || e.is_tls() || e.is_client() || is_tls_failure(&e) {
                Failure::fatal(text)
            } else {
                Failure::retry(text)
            }
        })
    }
}
