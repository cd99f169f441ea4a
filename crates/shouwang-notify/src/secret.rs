//! A string that must never be printed: robot keys, signing secrets, SMTP
//! passwords.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret from the config. `Debug` and `Display` print `***`, so that a
/// config or an error logged with `{:?}` cannot leak it; the value is read
/// only through [`Secret::expose`], which makes each use easy to find.
///
/// It serializes as itself so that a config written back keeps working;
/// printing a config for people goes through [`crate::NotifyConfig::redacted`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

/// Replace every occurrence of a secret in `text`: platforms sometimes echo
/// the request (URL, key) back in their error messages.
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Short values would blank out ordinary words; the platforms' keys
        // and secrets are far longer.
        if s.expose().len() >= 6 {
            out = out.replace(s.expose(), "***");
        }
    }
    out
}

/// A URL as it may appear in a message: scheme, host and port only. Robot
/// URLs carry their key in the query (WeCom, DingTalk) or in the path
/// (Feishu), so neither is shown.
pub(crate) fn redact_url(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}/…", url.scheme()),
        None => format!("{}://{host}/…", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("SECabcdef123");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "SECabcdef123");
    }

    #[test]
    fn scrub_removes_secrets_from_text() {
        let s = Secret::new("abcdef123456");
        assert_eq!(
            scrub("invalid key abcdef123456!", &[&s]),
            "invalid key ***!"
        );
    }

    #[test]
    fn urls_lose_path_and_query() {
        let u = url::Url::parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k").unwrap();
        assert_eq!(redact_url(&u), "https://qyapi.weixin.qq.com/…");
        let u = url::Url::parse("http://127.0.0.1:8080/hook/tok").unwrap();
        assert_eq!(redact_url(&u), "http://127.0.0.1:8080/…");
    }
}
