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
