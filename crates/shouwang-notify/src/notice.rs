//! What a notification says, independent of the incident engine's types so
//! that any part of Shouwang can send one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a notice is sent. The first notice of an incident is the one that
/// starts the reporting clock, so it is never held back by a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// A new incident.
    IncidentOpened,
    /// A reporting deadline is near or has passed.
    IncidentEscalated,
    /// The incident's level or status changed.
    IncidentUpdated,
    /// `shouwang notify test`: checks that a channel works.
    Test,
    /// The audit log's anchor, sent once a day, so that a copy of it is
    /// kept where root on this machine cannot rewrite it.
    AuditAnchor,
}

impl NoticeKind {
    /// The heading of the message.
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::IncidentOpened => "新发生网络安全事件",
            NoticeKind::IncidentEscalated => "事件报告时限提醒",
            NoticeKind::IncidentUpdated => "事件状态更新",
            NoticeKind::Test => "测试通知",
            NoticeKind::AuditAnchor => "审计日志锚点",
        }
    }
}

/// The four incident levels of GB/T 20986-2023, lowest first, as the
/// notices name them.
pub const LEVELS: [&str; 4] = ["一般", "较大", "重大", "特别重大"];

/// The rank of a level name in [`LEVELS`] (0 = 一般).
pub fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level.trim())
}

/// What to tell people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    #[serde(default)]
    pub incident_id: Option<i64>,
    pub title: String,
    /// The class (事件类别) and subclass (子类) names, in Chinese.
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub subclass: Option<String>,
    /// 一般, 较大, 重大 or 特别重大.
    #[serde(default)]
    pub level: Option<String>,
    /// The asset affected, e.g. a site's name or a host.
    #[serde(default)]
    pub asset: Option<String>,
    pub discovered_at: DateTime<Utc>,
    /// e.g. "首次报告截止 2026-11-22 16:00（剩余 45 分钟）".
    #[serde(default)]
    pub deadline: Option<String>,
    /// Further lines, each shown as one item.
    #[serde(default)]
    pub summary: Vec<String>,
    /// Where the incident is in the console.
    #[serde(default)]
    pub link: Option<String>,
}

impl Notice {
    /// The notice `shouwang notify test` sends.
    pub fn test(now: DateTime<Utc>) -> Notice {
        Notice {
            kind: NoticeKind::Test,
            incident_id: None,
            title: "守望通知渠道测试".to_string(),
            class: None,
            subclass: None,
            level: None,
            asset: None,
            discovered_at: now,
            deadline: None,
            summary: vec!["收到这条消息，说明本通知渠道配置正确。".to_string()],
            link: None,
        }
    }
}

impl Notice {
    /// The daily notice of the audit log's anchor (`SEQ:HASH`, entry `seq`).
    pub fn audit_anchor(anchor: &str, seq: i64, now: DateTime<Utc>) -> Notice {
        Notice {
            kind: NoticeKind::AuditAnchor,
            incident_id: None,
            title: format!("审计日志已记到第 {seq} 条"),
            class: None,
            subclass: None,
            level: None,
            asset: None,
            discovered_at: now,
            deadline: None,
            summary: vec![
                format!("锚点：{anchor}"),
                "请保留这条消息。日后用 shouwang audit verify --anchor 核对，可证明此前的审计记录未被删除或回滚。"
                    .to_string(),
            ],
            link: None,
        }
    }
}

/// China time (UTC+8, no daylight saving), in which the notices give times.
pub use shouwang_model::beijing_minutes as china_time;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_shown_in_china_time() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(china_time(t), "2026-11-22 12:00");
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 20, 30, 0).unwrap();
        assert_eq!(china_time(t), "2026-11-23 04:30");
    }

    #[test]
    fn kinds_are_kebab_case() {
        let k: NoticeKind = serde_json::from_str("\"incident-opened\"").unwrap();
        assert_eq!(k, NoticeKind::IncidentOpened);
        assert_eq!(level_rank("重大"), Some(2));
        assert_eq!(level_rank("严重"), None);
    }
}
