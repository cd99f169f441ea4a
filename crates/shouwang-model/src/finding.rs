use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AssetRef, Provenance, Severity, Text, UnknownName};

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingStatus {
    /// Seen and not dealt with.
    Open,
    /// Fixed: the sensor no longer sees it, or an operator marked it fixed.
    Resolved,
    /// An operator decided to live with it; sensors do not reopen it.
    AcceptedRisk,
}

impl FindingStatus {
    pub const ALL: [FindingStatus; 3] = [
        FindingStatus::Open,
        FindingStatus::Resolved,
        FindingStatus::AcceptedRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Resolved => "resolved",
            FindingStatus::AcceptedRisk => "accepted-risk",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            FindingStatus::Open => "未处理",
            FindingStatus::Resolved => "已整改",
            FindingStatus::AcceptedRisk => "接受风险",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            FindingStatus::Open => "Open",
            FindingStatus::Resolved => "Resolved",
            FindingStatus::AcceptedRisk => "Accepted risk",
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        if lang == "en" { self.en() } else { self.zh() }
    }
}

impl fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FindingStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s || st.zh() == s)
            .ok_or_else(|| UnknownName {
                what: "finding status",
                value: s.to_string(),
                expected: "open, resolved, accepted-risk",
            })
    }
}

/// What a sensor reports when it observes a state. The store turns it into
/// a [`Finding`], merging repeated observations of the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFinding {
    pub asset: AssetRef,
    pub severity: Severity,
    pub title: Text,
    /// What was seen: the offending line, value or snippet.
    pub evidence: String,
    /// Where on the asset: a file and line, a URL and element, a port.
    pub location: String,
    pub provenance: Provenance,
}

impl NewFinding {
    /// The identity of a finding across runs: the same check on the same
    /// asset at the same location is the same finding, seen again.
    pub fn fingerprint(&self) -> String {
        fingerprint(
            &self.provenance.sensor,
            &self.provenance.check,
            &self.asset,
            &self.location,
        )
    }
}

/// The identity of a finding; see [`NewFinding::fingerprint`].
pub fn fingerprint(sensor: &str, check: &str, asset: &AssetRef, location: &str) -> String {
    // Fields are joined with a separator that cannot occur in them unescaped,
    // so two different tuples never produce the same string.
    let esc = |s: &str| s.replace('\\', "\\\\").replace('|', "\\|");
    format!(
        "{}|{}|{}|{}|{}",
        esc(sensor),
        esc(check),
        asset.kind,
        esc(&asset.locator),
        esc(location)
    )
}

/// A state observed on an asset, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: i64,
    pub asset: AssetRef,
    pub severity: Severity,
    pub title: Text,
    pub evidence: String,
    pub location: String,
    pub status: FindingStatus,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The latest observation's provenance.
    pub provenance: Provenance,
}

impl Finding {
    pub fn sensor(&self) -> &str {
        &self.provenance.sensor
    }

    pub fn check_id(&self) -> &str {
        &self.provenance.check
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AssetKind;

    #[test]
    fn fingerprint_does_not_confuse_separators() {
        let a = AssetRef::new(AssetKind::Host, "a|b");
        let b = AssetRef::new(AssetKind::Host, "a");
        assert_ne!(
            fingerprint("s", "c", &a, "x"),
            fingerprint("s", "c", &b, "b|x")
        );
    }

    #[test]
    fn status_round_trips_through_its_name() {
        for st in FindingStatus::ALL {
            assert_eq!(st.as_str().parse::<FindingStatus>().unwrap(), st);
            assert_eq!(st.zh().parse::<FindingStatus>().unwrap(), st);
        }
        assert!("closed".parse::<FindingStatus>().is_err());
    }
}
