use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownName;

/// How bad a finding or event is: 信息 / 低 / 中 / 高 / 严重.
///
/// Ordered from least to most severe so that `max()` and sorting work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The stable name used in the store, the config and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Severity::Info => "信息",
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "严重",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        if lang == "en" { self.en() } else { self.zh() }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownName;

    /// Accepts the English names and the Chinese labels.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| {
                s.eq_ignore_ascii_case(sev.as_str())
                    || s == sev.zh()
                    || (s == "严重" && *sev == Severity::Critical)
            })
            .ok_or_else(|| UnknownName {
                what: "severity",
                value: s.to_string(),
                expected: "info, low, medium, high, critical (信息, 低, 中, 高, 严重)",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_english_and_chinese_names() {
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("严重".parse::<Severity>().unwrap(), Severity::Critical);
        assert_eq!("信息".parse::<Severity>().unwrap(), Severity::Info);
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert!(err.to_string().contains("critical"), "{err}");
    }

    #[test]
    fn orders_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!(Severity::ALL.iter().max(), Some(&Severity::Critical));
    }
}
