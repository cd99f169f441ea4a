use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownName;

/// What kind of thing an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    /// A computer: a server or an office terminal.
    Host,
    /// A public website, identified by its base URL.
    Website,
    /// A directory served by a web server, guarded against tampering.
    WebRoot,
}

impl AssetKind {
    pub const ALL: [AssetKind; 3] = [AssetKind::Host, AssetKind::Website, AssetKind::WebRoot];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Host => "host",
            AssetKind::Website => "website",
            AssetKind::WebRoot => "web-root",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            AssetKind::Host => "主机",
            AssetKind::Website => "网站",
            AssetKind::WebRoot => "网站目录",
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "asset kind",
                value: s.to_string(),
                expected: "host, website, web-root",
            })
    }
}

/// The identity of an asset: its kind and a locator that is unique within
/// the kind (a host name, a base URL, an absolute directory path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssetRef {
    pub kind: AssetKind,
    pub locator: String,
}

impl AssetRef {
    pub fn new(kind: AssetKind, locator: impl Into<String>) -> Self {
        AssetRef {
            kind,
            locator: locator.into(),
        }
    }
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.locator)
    }
}

/// Something Shouwang guards or inspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    #[serde(flatten)]
    pub id: AssetRef,
    /// A human name, e.g. "县政府门户网站".
    pub name: String,
    /// Sensor-specific facts about the asset (OS release, server banner, ...).
    #[serde(default)]
    pub details: serde_json::Value,
}

/// A website's address as a person types it, as one site's one address:
/// `www.example.gov.cn` is `http://www.example.gov.cn/`; the scheme and
/// host are lower-cased and a default port dropped (by `Url`), a
/// `#fragment` dropped, and a default page (`index.html`, `index.php`,
/// `default.aspx` …) without a query is its directory, so
/// `http://host/index.html` and `host` are the same site. A website
/// asset's locator is this URL as text. The error says why, in English.
pub fn website_url(input: &str) -> Result<url::Url, String> {
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let mut url = url::Url::parse(&with_scheme).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    url.set_fragment(None);
    let default_page = url.query().is_none()
        && url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .is_some_and(|last| DEFAULT_PAGES.contains(&last.to_ascii_lowercase().as_str()));
    if default_page {
        let dir = url
            .path()
            .rsplit_once('/')
            .map_or("/", |(d, _)| d)
            .to_string();
        url.set_path(&format!("{dir}/"));
    }
    Ok(url)
}

/// The pages a web server sends for a directory: a site named by one of
/// them is the same site as its directory.
const DEFAULT_PAGES: &[&str] = &[
    "index.html",
    "index.htm",
    "index.shtml",
    "index.php",
    "index.jsp",
    "index.asp",
    "index.aspx",
    "default.htm",
    "default.html",
    "default.asp",
    "default.aspx",
];
