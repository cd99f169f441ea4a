//! Shouwang's shared vocabulary.
//!
//! Every sensor speaks in these types: an [`Asset`] is something we guard or
//! inspect, a [`Finding`] is a state we observed on it ("port 3389 is open"),
//! an [`Event`] is something that happened to it ("index.php was modified and
//! restored 4 ms later"). Each finding and event carries its [`Provenance`] so
//! that a report can cite where each figure came from.
//!
//! Plain data and serde only: no IO here.

mod asset;
pub mod audit;
mod event;
pub mod events;
mod finding;
mod incident;
mod severity;
mod staff;
pub mod taxonomy;
pub mod text;

pub use asset::{Asset, AssetKind, AssetRef, website_url};
pub use event::{Event, NewEvent};
pub use finding::{Finding, FindingStatus, NewFinding, fingerprint};
pub use incident::{
    Incident, IncidentStatus, NewIncident, NewTimelineEntry, OperatorType, Person, ReportStage,
    SystemEntry, TimelineEntry, TimelineKind, UnitProfile,
};
pub use severity::Severity;
pub use staff::{FindingAssignment, STAFF_FIELD_MAX, STAFF_MAX, StaffMember};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of Shouwang that produced a finding or event.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A short text in both of the languages the console and reports speak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `lang` ("zh" or "en"); Chinese is the default.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" && !self.en.is_empty() {
            &self.en
        } else {
            &self.zh
        }
    }
}

/// Where a finding or event came from: which sensor and check, which
/// version of Shouwang, when, and on what input. Reports cite this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The sensor, e.g. `guard`, `site`, `host`.
    pub sensor: String,
    /// The check or rule inside the sensor, e.g. `host.ssh.permit-root-login`.
    pub check: String,
    /// The Shouwang version that ran the check.
    pub version: String,
    /// When the input was observed.
    pub observed_at: DateTime<Utc>,
    /// What was looked at: a URL, a file path, a web root.
    pub input: String,
}

impl Provenance {
    /// Provenance for an observation made now by this build of Shouwang.
    pub fn now(
        sensor: impl Into<String>,
        check: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        Provenance {
            sensor: sensor.into(),
            check: check.into(),
            version: VERSION.to_string(),
            observed_at: Utc::now(),
            input: input.into(),
        }
    }
}

/// A value that was not one of the names a field accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: expected one of {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// A duration written the way people write it in configs and commands:
/// `90s`, `30m`, `2h`, `7d` (a bare number is minutes).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, BadDuration> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let bad = || BadDuration(s.to_string());
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" | "" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86400),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(std::time::Duration::from_secs(secs))
}

/// A value that [`parse_duration`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration: write e.g. 90s, 30m, 2h or 7d")]
pub struct BadDuration(pub String);

/// China Standard Time (UTC+8, no daylight saving): the time zone every
/// report, notice and deadline is written in.
pub fn beijing_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// `2026-11-22 16:00:05` in Beijing time.
pub fn beijing_seconds(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing_offset())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `2026-11-22 16:00` in Beijing time.
pub fn beijing_minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A time a person typed: RFC 3339 (`2026-11-22T07:30:00Z`), or
/// `2026-11-22 15:30` (`T` or a space, seconds optional) read as Beijing
/// time, as the console's forms and the CLI take it.
pub fn parse_beijing(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(|n| n.and_local_timezone(beijing_offset()).single())
    .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod duration_tests {
    use super::{parse_beijing, parse_duration};
    use std::time::Duration;

    #[test]
    fn typed_times_are_read_in_beijing_time_or_rfc3339() {
        let utc = |s: &str| parse_beijing(s).map(|t| t.to_rfc3339());
        let want = Some("2026-11-22T07:30:00+00:00".to_string());
        assert_eq!(utc("2026-11-22 15:30"), want);
        assert_eq!(utc("2026-11-22T15:30"), want);
        assert_eq!(utc(" 2026-11-22 15:30:00 "), want);
        assert_eq!(utc("2026-11-22T07:30:00Z"), want);
        assert_eq!(utc("yesterday"), None);
    }

    #[test]
    fn reads_the_usual_units_and_refuses_the_rest() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration(" 2h ").unwrap(), Duration::from_secs(7200));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        for bad in ["", "h", "1.5h", "2w", "-1m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
