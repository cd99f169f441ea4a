//! Notifications for Shouwang: telling the people on duty, at once, that
//! an incident needs them.
//!
//! Small organisations live in their chat groups, so the channels are the
//! robots of 企业微信 (WeCom), 钉钉 (DingTalk) and 飞书 (Feishu), each
//! signed as its platform requires, plus e-mail over SMTP (STARTTLS or
//! TLS, UTF-8 Chinese subject and body) and a generic HMAC-signed webhook
//! for anything else. Each channel renders a [`Notice`] with a Chinese
//! template of its own (overridable in the config).
//!
//! The [`Notifier`] delivers a notice to every channel concurrently, retries
//! what may pass (network errors, HTTP 5xx/429, platform "too fast" codes)
//! with exponential backoff, never retries what will not (a wrong key), and
//! keeps each channel within its platform's per-minute limit: notices over
//! the limit are counted and named in the next message or a digest, except
//! the first notice of a new incident, which is never held back because it
//! starts the reporting clock.
//!
//! Keys, tokens and passwords are [`Secret`]s: `Debug` and `Display` print
//! `***`, errors never carry a robot URL's query or path, and any echo of a
//! secret in a platform's answer is scrubbed.

pub mod announce;
mod channel;
mod config;
mod notice;
mod notifier;
mod secret;
pub mod sign;
mod template;
pub mod text;

pub use config::{
    ChannelConfig, ChannelKind, ConfigError, DINGTALK_URL, FEISHU_URL, NotifyConfig,
    STORED_CHANNELS_SETTING, SmtpTls, WECOM_URL,
};
pub use notice::{LEVELS, Notice, NoticeKind, china_time, level_rank};
pub use notifier::{ChannelSummary, Delivery, DeliveryStatus, Notifier, NotifyError};
pub use secret::Secret;
pub use template::{MARKDOWN, SUBJECT, TEXT};
