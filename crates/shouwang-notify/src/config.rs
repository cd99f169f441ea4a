//! The `[notify]` section: the channels and how hard to try.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::notice::{LEVELS, level_rank};
use crate::secret::Secret;

/// The official endpoints; each channel's `url` overrides its own.
pub const WECOM_URL: &str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send";
pub const DINGTALK_URL: &str = "https://oapi.dingtalk.com/robot/send";
pub const FEISHU_URL: &str = "https://open.feishu.cn/open-apis/bot/v2/hook/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Attempts per message, the first included.
    pub max_attempts: u32,
    /// The first wait before a retry; each further wait doubles, up to
    /// `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Seconds one attempt may take.
    pub timeout_seconds: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            max_attempts: 4,
            backoff_base_ms: 1000,
            backoff_max_ms: 30_000,
            timeout_seconds: 10,
            channels: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// 企业微信 group robot.
    Wecom,
    /// 钉钉 custom robot, signed.
    Dingtalk,
    /// 飞书 custom bot, signed when a secret is set.
    Feishu,
    Email,
    /// Any HTTP endpoint taking the notice as JSON.
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Wecom => "企业微信",
            ChannelKind::Dingtalk => "钉钉",
            ChannelKind::Feishu => "飞书",
            ChannelKind::Email => "电子邮件",
            ChannelKind::Webhook => "Webhook",
        }
    }

    /// Messages a minute when the channel does not say: the platforms
    /// document 20 a minute for WeCom and DingTalk robots and 100 a minute
    /// for Feishu bots; beyond that they refuse messages.
    pub fn default_per_minute(self) -> u32 {
        match self {
            ChannelKind::Wecom | ChannelKind::Dingtalk => 20,
            ChannelKind::Feishu => 100,
            ChannelKind::Email => 30,
            ChannelKind::Webhook => 60,
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (587).
    #[default]
    Starttls,
    /// TLS from the first byte (465).
    Tls,
    /// No TLS at all: only to a server on this machine.
    Plain,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::Plain => 25,
        }
    }
}

/// One `[[notify.channels]]` entry. The fields a kind does not use must be
/// left out, so that a key put on the wrong channel is reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The endpoint: for the robots, instead of the official one; for a
    /// webhook, required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// WeCom: the robot's key (the part after `key=` of its webhook URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    /// DingTalk: the access_token; Feishu: the hook id (the last part of its
    /// webhook URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// DingTalk and Feishu signing secret; webhook HMAC secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SmtpTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// A PEM file of the CA to trust instead of the system's (SMTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub accept_invalid_certs: bool,
    /// A minijinja template replacing the built-in message text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Only incidents at this level or above (一般, 较大, 重大, 特别重大).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<String>,
    /// Messages a minute at most [default: the platform's limit].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<u32>,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ChannelConfig {
    /// A channel of `kind` with nothing else set.
    pub fn new(name: impl Into<String>, kind: ChannelKind) -> ChannelConfig {
        ChannelConfig {
            name: name.into(),
            kind,
            enabled: true,
            url: None,
            key: None,
            token: None,
            secret: None,
            smtp_host: None,
            smtp_port: None,
            tls: None,
            username: None,
            password: None,
            from: None,
            to: Vec::new(),
            ca_file: None,
            accept_invalid_certs: false,
            template: None,
            min_level: None,
            per_minute: None,
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
            .unwrap_or_else(|| self.kind.default_per_minute())
    }

    /// Every secret of the channel, for scrubbing messages.
    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        [&self.key, &self.token, &self.secret, &self.password]
            .into_iter()
            .flatten()
            .collect()
    }

    /// The fields that are set, by name, for the check that each belongs to
    /// the channel's kind.
    fn set_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                out.push(name)
            }
        };
        add(self.url.is_some(), "url");
        add(self.key.is_some(), "key");
        add(self.token.is_some(), "token");
        add(self.secret.is_some(), "secret");
        add(self.smtp_host.is_some(), "smtp_host");
        add(self.smtp_port.is_some(), "smtp_port");
        add(self.tls.is_some(), "tls");
        add(self.username.is_some(), "username");
        add(self.password.is_some(), "password");
        add(self.from.is_some(), "from");
        add(!self.to.is_empty(), "to");
        add(self.ca_file.is_some(), "ca_file");
        add(self.accept_invalid_certs, "accept_invalid_certs");
        out
    }
}

/// A mistake in the `[notify]` section, naming the channel and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("notify channel \"{channel}\": {field} {problem}")]
    Field {
        channel: String,
        field: &'static str,
        problem: String,
    },
    #[error("notify: {0}")]
    General(String),
}

fn field_error(c: &ChannelConfig, field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        channel: c.name.clone(),
        field,
        problem: problem.into(),
    }
}

impl NotifyConfig {
    /// Check everything that can be checked without sending.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::General(
                "max_attempts must be at least 1 (the first attempt counts)".into(),
            ));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::General(
                "timeout_seconds must be at least 1".into(),
            ));
        }
        let mut names = HashSet::new();
        for c in &self.channels {
            if c.name.trim().is_empty() {
                return Err(ConfigError::General(format!(
                    "a {} channel has an empty name; give each channel a name, e.g. \"{}-ops\"",
                    c.kind, c.kind
                )));
            }
            if !names.insert(c.name.as_str()) {
                return Err(field_error(
                    c,
                    "name",
                    "is used by two channels; names must differ",
                ));
            }
            validate_channel(c)?;
        }
        Ok(())
    }

    /// The config with every secret replaced, for `config show`.
    pub fn redacted(&self) -> NotifyConfig {
        let mut out = self.clone();
        for c in &mut out.channels {
            for s in [&mut c.key, &mut c.token, &mut c.secret, &mut c.password]
                .into_iter()
                .flatten()
            {
                *s = Secret::new("REDACTED");
            }
        }
        out
    }

    /// The effective config: this one's channels (from the config file)
    /// followed by the channels stored in the console (the store setting
    /// [`STORED_CHANNELS_SETTING`], a JSON array of channel entries).
    /// A stored channel cannot take the name of a config-file channel; the
    /// result is validated as a whole.
    pub fn with_stored(
        &self,
        stored: Option<&serde_json::Value>,
    ) -> Result<NotifyConfig, ConfigError> {
        let mut out = self.clone();
        let stored: Vec<ChannelConfig> = match stored {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                ConfigError::General(format!(
                    "the channels stored in the console ({STORED_CHANNELS_SETTING}) cannot be read: {e}"
                ))
            })?,
        };
        for c in stored {
            if self.channels.iter().any(|f| f.name == c.name) {
                return Err(field_error(
                    &c,
                    "name",
                    "is already used by a channel in the config file; stored channels cannot replace those",
                ));
            }
            out.channels.push(c);
        }
        out.validate()?;
        Ok(out)
    }
}

/// The store setting that holds the channels added in the console.
pub const STORED_CHANNELS_SETTING: &str = "notify.channels";

fn validate_channel(c: &ChannelConfig) -> Result<(), ConfigError> {
    use ChannelKind::*;
    let allowed: &[&str] = match c.kind {
        Wecom => &["url", "key"],
        Dingtalk => &["url", "token", "secret"],
        Feishu => &["url", "token", "secret"],
        Webhook => &["url", "secret"],
        Email => &[
            "smtp_host",
            "smtp_port",
            "tls",
            "username",
            "password",
            "from",
            "to",
            "ca_file",
            "accept_invalid_certs",
        ],
    };
    if let Some(f) = c.set_fields().into_iter().find(|f| !allowed.contains(f)) {
        return Err(field_error(
            c,
            f,
            format!(
                "is not used by {} channels (kind = \"{}\"); they take: {}",
                c.kind.label(),
                c.kind,
                allowed.join(", ")
            ),
        ));
    }
    if let Some(l) = &c.min_level
        && level_rank(l).is_none()
    {
        return Err(field_error(
            c,
            "min_level",
            format!("\"{l}\" is not a level; use one of {}", LEVELS.join(", ")),
        ));
    }
    if c.per_minute == Some(0) {
        return Err(field_error(
            c,
            "per_minute",
            "must be at least 1; to stop the channel set enabled = false",
        ));
    }
    if let Some(u) = &c.url {
        let parsed = url::Url::parse(u).map_err(|e| {
            field_error(
                c,
                "url",
                format!("is not a URL ({e}); e.g. https://host/path"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(field_error(c, "url", "must start with https:// or http://"));
        }
        // Keys belong in their own (masked) fields, not in a URL that is
        // shown in listings.
        let holds_key = parsed
            .query_pairs()
            .any(|(k, _)| matches!(k.as_ref(), "key" | "access_token" | "sign"));
        if holds_key && c.kind != Webhook {
            let field = if c.kind == Wecom { "key" } else { "token" };
            return Err(field_error(
                c,
                "url",
                format!(
                    "holds the robot's key; set url to the address without it and put the key in `{field}`"
                ),
            ));
        }
    }
    let missing = |field: &'static str, hint: &str| field_error(c, field, hint.to_string());
    let empty = |s: &Option<crate::Secret>| s.as_ref().is_none_or(Secret::is_empty);
    match c.kind {
        Wecom => {
            if empty(&c.key) {
                return Err(missing(
                    "key",
                    "is empty; copy the part after key= of the robot's webhook address (群机器人 → Webhook地址)",
                ));
            }
        }
        Dingtalk => {
            if empty(&c.token) {
                return Err(missing(
                    "token",
                    "is empty; copy the part after access_token= of the robot's webhook address",
                ));
            }
            if empty(&c.secret) {
                return Err(missing(
                    "secret",
                    "is empty; copy the SEC... value from the robot's security settings (安全设置 → 加签)",
                ));
            }
        }
        Feishu => {
            if empty(&c.token) {
                return Err(missing(
                    "token",
                    "is empty; copy the last part of the bot's webhook address (…/bot/v2/hook/TOKEN)",
                ));
            }
            if c.secret.as_ref().is_some_and(Secret::is_empty) {
                return Err(missing(
                    "secret",
                    "is empty; copy it from the bot's security settings (安全设置 → 签名校验), or leave it out when the bot does not check signatures",
                ));
            }
        }
        Webhook => {
            if c.url.is_none() {
                return Err(missing(
                    "url",
                    "is missing; a webhook channel needs the address to POST to",
                ));
            }
            if c.secret.as_ref().is_some_and(Secret::is_empty) {
                return Err(missing("secret", "is empty; leave it out to send unsigned"));
            }
        }
        Email => validate_email(c)?,
    }
    Ok(())
}

fn validate_email(c: &ChannelConfig) -> Result<(), ConfigError> {
    let host = c.smtp_host.as_deref().map(str::trim).unwrap_or("");
    if host.is_empty() {
        return Err(field_error(
            c,
            "smtp_host",
            "is missing; e.g. smtp.exmail.qq.com",
        ));
    }
    if c.tls == Some(SmtpTls::Plain) && !is_loopback(host) {
        return Err(field_error(
            c,
            "tls",
            format!(
                "\"plain\" sends the password unencrypted and is only allowed to a server on this machine, not {host}; use \"starttls\" or \"tls\""
            ),
        ));
    }
    let from = c.from.as_deref().unwrap_or("");
    if from.is_empty() {
        return Err(field_error(
            c,
            "from",
            "is missing; e.g. \"守望 <shouwang@example.gov.cn>\"",
        ));
    }
    from.parse::<lettre::message::Mailbox>()
        .map_err(|e| field_error(c, "from", format!("\"{from}\" is not an address ({e})")))?;
    if c.to.is_empty() {
        return Err(field_error(
            c,
            "to",
            "is empty; list at least one recipient",
        ));
    }
    for t in &c.to {
        t.parse::<lettre::message::Mailbox>()
            .map_err(|e| field_error(c, "to", format!("\"{t}\" is not an address ({e})")))?;
    }
    if c.username.is_some() != c.password.is_some() {
        let field = if c.username.is_some() {
            "password"
        } else {
            "username"
        };
        return Err(field_error(
            c,
            field,
            "is missing; SMTP login needs both username and password",
        ));
    }
    if c.password.as_ref().is_some_and(Secret::is_empty) {
        return Err(field_error(c, "password", "is empty"));
    }
    if let Some(p) = &c.ca_file
        && !p.is_file()
    {
        return Err(field_error(
            c,
            "ca_file",
            format!("{} is not a readable file", p.display()),
        ));
    }
    Ok(())
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(c: ChannelConfig) -> Result<(), ConfigError> {
        NotifyConfig {
            channels: vec![c],
            ..NotifyConfig::default()
        }
        .validate()
    }

    #[test]
    fn a_dingtalk_channel_without_secret_says_where_to_find_it() {
        let mut c = ChannelConfig::new("dingtalk-ops", ChannelKind::Dingtalk);
        c.token = Some("t0ken".into());
        let e = one(c).unwrap_err().to_string();
        assert!(
            e.starts_with("notify channel \"dingtalk-ops\": secret is empty; copy the SEC"),
            "{e}"
        );
    }

    #[test]
    fn a_field_of_another_kind_is_refused() {
        let mut c = ChannelConfig::new("w", ChannelKind::Wecom);
        c.key = Some("k".into());
        c.smtp_host = Some("smtp.example.com".into());
        let e = one(c).unwrap_err().to_string();
        assert!(e.contains("smtp_host is not used by 企业微信"), "{e}");
    }

    #[test]
    fn a_key_in_the_url_is_refused() {
        let mut c = ChannelConfig::new("w", ChannelKind::Wecom);
        c.key = Some("k".into());
        c.url = Some(format!("{WECOM_URL}?key=abc"));
        let e = one(c).unwrap_err().to_string();
        assert!(e.contains("url holds the robot's key"), "{e}");
        assert!(!e.contains("abc"), "{e}");
    }

    #[test]
    fn plain_smtp_only_to_this_machine() {
        let mut c = ChannelConfig::new("mail", ChannelKind::Email);
        c.smtp_host = Some("smtp.example.com".into());
        c.tls = Some(SmtpTls::Plain);
        c.from = Some("a@example.com".into());
        c.to = vec!["b@example.com".into()];
        assert!(
            one(c.clone())
                .unwrap_err()
                .to_string()
                .contains("tls \"plain\"")
        );
        c.smtp_host = Some("127.0.0.1".into());
        one(c).unwrap();
    }

    #[test]
    fn min_level_must_be_a_level() {
        let mut c = ChannelConfig::new("w", ChannelKind::Wecom);
        c.key = Some("k".into());
        c.min_level = Some("严重".into());
        let e = one(c).unwrap_err().to_string();
        assert!(e.contains("min_level \"严重\" is not a level"), "{e}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut c = ChannelConfig::new("w", ChannelKind::Wecom);
        c.key = Some("k".into());
        let e = NotifyConfig {
            channels: vec![c.clone(), c],
            ..NotifyConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("used by two channels"), "{e}");
    }

    #[test]
    fn stored_channels_join_the_config_files_but_cannot_shadow_them() {
        let mut file = ChannelConfig::new("ops", ChannelKind::Wecom);
        file.key = Some("k1".into());
        let base = NotifyConfig {
            channels: vec![file],
            ..NotifyConfig::default()
        };
        assert_eq!(base.with_stored(None).unwrap(), base);
        let stored = serde_json::json!([
            {"name": "leaders", "kind": "dingtalk", "token": "t", "secret": "SECx"}
        ]);
        let merged = base.with_stored(Some(&stored)).unwrap();
        let names: Vec<&str> = merged.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ops", "leaders"]);
        let shadow = serde_json::json!([{"name": "ops", "kind": "wecom", "key": "k2"}]);
        let e = base.with_stored(Some(&shadow)).unwrap_err().to_string();
        assert!(e.contains("\"ops\"") && e.contains("config file"), "{e}");
        let invalid = serde_json::json!([{"name": "d", "kind": "dingtalk", "token": "t"}]);
        assert!(base.with_stored(Some(&invalid)).is_err());
        let garbage = serde_json::json!({"name": "x"});
        assert!(
            base.with_stored(Some(&garbage))
                .unwrap_err()
                .to_string()
                .contains("notify.channels")
        );
    }

    #[test]
    fn toml_with_unknown_keys_is_refused() {
        let e = toml::from_str::<NotifyConfig>(
            "[[channels]]\nname = \"a\"\nkind = \"wecom\"\nkye = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("kye"), "{e}");
    }
}
